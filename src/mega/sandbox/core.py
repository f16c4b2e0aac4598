"""Local MariaDB topologies for tests and demos: N ``mariadbd`` processes on 127.0.0.1.

Node 1 is the primary (``read_only=0`` at runtime); the others replicate from it with GTID
(``MASTER_USE_GTID=slave_pos``).  Mega's admin and replication accounts are created on the primary
and replicate everywhere.  A JSON state file (no secrets) in the directory lets :func:`status`
and :func:`down` work from another process.  Root is reached through each node's unix socket
(password-less, loopback only); the Mega accounts go over TCP like in production.

Registering nodes in the inventory is not done here: see :meth:`Sandbox.topology`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mega.domain.address import Endpoint
from mega.errors import Conflict, InvalidArgument, LiveServerError, NotFound
from mega.mysql.conn import Connection, connect, run
from mega.mysql.probe import change_master, current_gtid, snapshot, start_replica, wait_for_gtid
from mega.sandbox.process import (
    Binaries,
    NodeSpec,
    SandboxError,
    error_tail,
    find_binaries,
    init_datadir,
    is_ours,
    launch,
    signal_node,
)
from mega.settings import Settings, load_settings

__all__ = ["NodeStatus", "Sandbox", "SandboxError", "default_directory", "down", "load", "status", "up"]

log = logging.getLogger(__name__)

STATE_FILE = "sandbox.json"
Progress = Callable[[str], None]
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")

ADMIN_PRIVILEGES = (
    "SUPER, RELOAD, PROCESS, SHUTDOWN, SHOW DATABASES, EVENT, SELECT, REPLICATION SLAVE, "
    "BINLOG MONITOR, BINLOG ADMIN, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, "
    "REPLICA MONITOR, READ_ONLY ADMIN, CONNECTION ADMIN"
)
"""ha-notes 9.4 (MaxScale's list) plus SUPER, which on 10.11 still implies most of them."""


def default_directory(name: str) -> Path:
    """``$MEGA_SANDBOX_ROOT`` (default: the temp dir) ``/mega-sandbox-<name>``; short for sockets."""
    root = Path(os.environ.get("MEGA_SANDBOX_ROOT") or tempfile.gettempdir())
    return root / f"mega-sandbox-{name}"


@dataclass(frozen=True)
class NodeStatus:
    """One node as observed now.  ``role`` is primary, replica, standalone or down."""

    index: int
    port: int
    pid: int | None
    alive: bool
    reachable: bool
    role: str
    read_only: bool | None = None
    source: str | None = None
    io_running: bool | None = None
    sql_running: bool | None = None
    gtid_binlog_pos: str | None = None
    gtid_slave_pos: str | None = None
    gtid_current_pos: str | None = None
    error: str | None = None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick_ports(name: str, nodes: int, base_port: int | None) -> list[int]:
    if base_port is not None:
        ports = list(range(base_port, base_port + nodes))
        busy = [p for p in ports if not _port_free(p)]
        if busy:
            raise Conflict(f"sandbox ports busy on 127.0.0.1: {busy}")
        return ports
    start = 20000 + (zlib.crc32(name.encode()) % 1000) * 16
    for attempt in range(200):
        base = 20000 + (start - 20000 + attempt * 16) % 16000
        ports = list(range(base, base + nodes))
        if all(_port_free(p) for p in ports):
            return ports
    raise Conflict("no free block of sandbox ports found on 127.0.0.1")


class Sandbox:
    """A set of local mariadbd nodes described by ``<directory>/sandbox.json``.

    Build one with :func:`up` (new) or :func:`load` (existing).  Methods are safe to call from a
    process other than the one that started the nodes.
    """

    def __init__(self, name: str, directory: Path, specs: list[NodeSpec], pids: dict[int, int | None]) -> None:
        self.name = name
        self.directory = directory
        self.specs = specs
        self.pids = pids
        self.primary_index = 1
        self.timings: dict[str, float] = {}
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._binaries: Binaries | None = None

    # ---- state -----------------------------------------------------------------------------

    def save(self) -> None:
        """Write the state file atomically."""
        state = {
            "name": self.name,
            "directory": str(self.directory),
            "primary": self.primary_index,
            "nodes": [dict(spec.to_json(), pid=self.pids.get(spec.index)) for spec in self.specs],
        }
        tmp = self.directory / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.directory / STATE_FILE)

    @classmethod
    def load(cls, directory: str | Path) -> Sandbox:
        """Read a sandbox from its state file.

        :raises NotFound: when there is no state file in ``directory``.
        """
        path = Path(directory) / STATE_FILE
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            raise NotFound(f"no sandbox state file at {path}") from None
        specs = [NodeSpec(n["index"], n["port"], n["directory"]) for n in state["nodes"]]
        box = cls(state["name"], Path(state["directory"]), specs, {n["index"]: n.get("pid") for n in state["nodes"]})
        box.primary_index = int(state.get("primary", 1))
        return box

    def spec(self, index: int) -> NodeSpec:
        """The node numbered ``index`` (1-based).

        :raises NotFound: for an unknown index.
        """
        for spec in self.specs:
            if spec.index == index:
                return spec
        raise NotFound(f"sandbox {self.name} has no node {index}")

    def endpoint(self, index: int) -> Endpoint:
        """``127.0.0.1:<port>`` of node ``index``."""
        return self.spec(index).endpoint

    def topology(self) -> tuple[Endpoint, list[Endpoint]]:
        """(primary endpoint, replica endpoints) as set up by :func:`up`."""
        primary = self.endpoint(self.primary_index)
        return primary, [s.endpoint for s in self.specs if s.index != self.primary_index]

    # ---- processes -------------------------------------------------------------------------

    def alive(self, index: int) -> bool:
        """True when node ``index``'s mariadbd process exists (not a zombie)."""
        proc = self._procs.get(index)
        if proc is not None and proc.poll() is not None:
            return False
        pid = self.pids.get(index)
        return pid is not None and is_ours(pid, self.spec(index))

    def root(self, index: int, *, connect_timeout: float = 2.0, read_timeout: float = 10.0) -> Connection:
        """A root connection to node ``index`` over its unix socket (autocommit, DictCursor).

        :raises LiveServerError: when it cannot connect.
        """
        spec = self.spec(index)
        return connect(spec.endpoint, "root", "", connect_timeout, read_timeout, unix_socket=str(spec.socket))

    def _binaries_or_fail(self) -> Binaries:
        if self._binaries is None:
            self._binaries = find_binaries()
        if self._binaries is None:
            raise SandboxError("mariadbd / mariadb-install-db not found (set MEGA_MARIADBD / MEGA_INSTALL_DB)")
        return self._binaries

    def _wait_ready(self, index: int, timeout: float, progress: Progress) -> float:
        spec, started = self.spec(index), time.monotonic()
        deadline = started + timeout
        last_error = ""
        while time.monotonic() < deadline:
            if not self.alive(index):
                raise SandboxError(f"{spec.name}: mariadbd exited during startup:\n{error_tail(spec)}")
            try:
                self.root(index, connect_timeout=1.0, read_timeout=2.0).close()
            except LiveServerError as exc:
                last_error = str(exc)
                time.sleep(0.05)
                continue
            took = time.monotonic() - started
            progress(f"{spec.name}: accepting connections on {spec.endpoint} (pid {self.pids[index]}, {took:.2f}s)")
            return took
        raise SandboxError(f"{spec.name}: not accepting connections after {timeout:g}s ({last_error})")

    def start(self, index: int, *, timeout: float = 30.0, progress: Progress | None = None) -> None:
        """(Re)start node ``index`` on its existing datadir and wait until it accepts connections.

        It comes up read-only (my.cnf); a replica resumes replicating by itself.

        :raises Conflict: when it is already running.
        :raises SandboxError: when it does not come up within ``timeout``.
        """
        if self.alive(index):
            raise Conflict(f"sandbox node {index} is already running")
        proc = launch(self._binaries_or_fail(), self.spec(index))
        self._procs[index] = proc
        self.pids[index] = proc.pid
        self.save()
        self._wait_ready(index, timeout, progress or log.info)

    def _wait_gone(self, index: int, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if not self.alive(index):
                return True
            time.sleep(0.05)
        return not self.alive(index)

    def kill(self, index: int, *, timeout: float = 10.0) -> None:
        """SIGKILL node ``index`` (a crash) and wait until the process is gone.

        :raises SandboxError: when it does not disappear within ``timeout``.
        """
        pid = self.pids.get(index)
        if pid is not None:
            signal_node(pid, self.spec(index), signal.SIGKILL)
        if not self._wait_gone(index, time.monotonic() + timeout):
            raise SandboxError(f"node {index} (pid {pid}) survived SIGKILL for {timeout:g}s")

    def stop(self, index: int, *, timeout: float = 30.0) -> None:
        """Clean shutdown of node ``index`` (SIGTERM), SIGKILL if it exceeds ``timeout``."""
        self._stop_many([index], timeout)

    def _stop_many(self, indexes: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for index in indexes:
            pid = self.pids.get(index)
            if pid is not None:
                signal_node(pid, self.spec(index), signal.SIGTERM)
        for index in indexes:
            if not self._wait_gone(index, deadline):
                log.warning("sandbox node %s ignored SIGTERM for %.0fs; sending SIGKILL", index, timeout)
                self.kill(index)

    # ---- observation -----------------------------------------------------------------------

    def node_status(self, index: int, *, timeout: float = 3.0) -> NodeStatus:
        """Observe node ``index`` (process, reachability, role, GTID positions)."""
        spec, pid = self.spec(index), self.pids.get(index)
        alive = self.alive(index)
        base: dict[str, Any] = {"index": index, "port": spec.port, "pid": pid, "alive": alive}
        if not alive:
            return NodeStatus(**base, reachable=False, role="down")
        try:
            conn = self.root(index, connect_timeout=min(timeout, 2.0), read_timeout=timeout)
            try:
                snap = snapshot(conn, spec.endpoint)
            finally:
                conn.close()
        except LiveServerError as exc:
            return NodeStatus(**base, reachable=False, role="down", error=str(exc))
        repl = snap.replication.get("") or next(iter(snap.replication.values()), None)
        role = "replica" if repl else ("standalone" if snap.read_only else "primary")
        return NodeStatus(
            **base,
            reachable=True,
            role=role,
            read_only=snap.read_only,
            source=str(repl.source or f"{repl.source_host}:{repl.source_port}") if repl else None,
            io_running=repl.io_running if repl else None,
            sql_running=repl.sql_running if repl else None,
            gtid_binlog_pos=str(snap.gtid_binlog_pos),
            gtid_slave_pos=str(snap.gtid_slave_pos),
            gtid_current_pos=str(snap.gtid_current_pos),
        )

    def status(self) -> list[NodeStatus]:
        """:meth:`node_status` of every node, observed in parallel."""
        with ThreadPoolExecutor(max_workers=len(self.specs)) as pool:
            return list(pool.map(self.node_status, [s.index for s in self.specs]))

    def observed_topology(self) -> tuple[Endpoint | None, list[Endpoint]]:
        """Like :meth:`topology` but from the live servers (after a switchover or failover).

        :returns: (the single writable node without a source, or None when there is not exactly
            one; the nodes that replicate from somebody).
        """
        nodes = self.status()
        primaries = [self.endpoint(n.index) for n in nodes if n.role == "primary"]
        replicas = [self.endpoint(n.index) for n in nodes if n.role == "replica"]
        return (primaries[0] if len(primaries) == 1 else None), replicas

    # ---- teardown --------------------------------------------------------------------------

    def down(self, *, timeout: float = 20.0, remove: bool = True) -> None:
        """Stop every node (SIGTERM, SIGKILL after ``timeout``) and remove the directory."""
        started = time.monotonic()
        self._stop_many([s.index for s in self.specs], timeout)
        for proc in self._procs.values():
            proc.poll()
        if remove and (self.directory / STATE_FILE).exists():
            shutil.rmtree(self.directory, ignore_errors=True)
        self.timings["down"] = time.monotonic() - started
        log.info("sandbox %s down in %.2fs", self.name, self.timings["down"])

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def __repr__(self) -> str:
        return f"Sandbox({self.name!r}, {self.directory}, ports={[s.port for s in self.specs]})"


# ---- setup -----------------------------------------------------------------------------------


def _create_accounts(conn: Connection, settings: Settings) -> None:
    admin, repl = settings.mysql_user, settings.repl_user
    for host in ("127.0.0.1", "localhost"):
        run(conn, "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (admin, host, settings.mysql_password))
        run(conn, f"GRANT {ADMIN_PRIVILEGES} ON *.* TO %s@%s", (admin, host))
        run(conn, "GRANT ALL PRIVILEGES ON `mega`.* TO %s@%s", (admin, host))
        run(conn, "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (repl, host, settings.repl_password))
        run(conn, "GRANT REPLICATION SLAVE ON *.* TO %s@%s", (repl, host))


def _wire(box: Sandbox, settings: Settings, timeout: float, progress: Progress) -> None:
    primary = box.spec(box.primary_index)
    conn = box.root(primary.index)
    try:
        _create_accounts(conn, settings)
        run(conn, "SET GLOBAL read_only = 0")
        target = current_gtid(conn)
    finally:
        conn.close()
    progress(f"{primary.name}: primary, accounts {settings.mysql_user!r} and {settings.repl_user!r} created")
    for spec in box.specs:
        if spec.index == primary.index:
            continue
        rconn = box.root(spec.index, read_timeout=timeout)
        try:
            change_master(rconn, primary.endpoint, settings.repl_user, settings.repl_password, connect_retry=1)
            start_replica(rconn)
            if not wait_for_gtid(rconn, str(target), timeout):
                raise SandboxError(f"{spec.name}: did not reach {target} within {timeout:g}s")
        finally:
            rconn.close()
        progress(f"{spec.name}: replicating from {primary.endpoint} (gtid {target})")


def up(
    name: str,
    nodes: int = 3,
    base_port: int | None = None,
    directory: str | Path | None = None,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> Sandbox:
    """Create and start a sandbox: node 1 primary, the others GTID replicas of node 1.

    :param name: ``[a-z0-9][a-z0-9_-]*``, at most 32 characters.
    :param nodes: 1-9 nodes.
    :param base_port: first port (node i gets ``base_port + i - 1``); default: a free block derived
        from the name.
    :param directory: where everything lives; default :func:`default_directory`.
    :param settings: accounts to create (``mysql_user``/``repl_user``); default :func:`load_settings`.
    :param progress: called with one line per step (default: ``logging.info``).
    :param timeout: deadline for each phase (install, start, catch-up).
    :returns: the running sandbox; ``timings`` holds seconds per phase.
    :raises InvalidArgument: on a bad name or node count.
    :raises Conflict: when the sandbox is already running or the ports are busy.
    :raises SandboxError: when a node fails to install, start or replicate (everything is stopped).
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidArgument(f"sandbox name must match {_NAME_RE.pattern}, got {name!r}")
    if not 1 <= nodes <= 9:
        raise InvalidArgument(f"nodes must be between 1 and 9, got {nodes}")
    say = progress or log.info
    settings = settings or load_settings()
    where = Path(directory) if directory is not None else default_directory(name)
    _clear_stale(where)
    binaries = find_binaries()
    if binaries is None:
        raise SandboxError("mariadbd / mariadb-install-db not found (set MEGA_MARIADBD / MEGA_INSTALL_DB)")
    ports = _pick_ports(name, nodes, base_port)
    where.mkdir(parents=True, exist_ok=True)
    specs = [NodeSpec(i + 1, port, str(where)) for i, port in enumerate(ports)]
    box = Sandbox(name, where, specs, {s.index: None for s in specs})
    box._binaries = binaries
    box.save()
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=nodes) as pool:
            list(pool.map(lambda s: init_datadir(binaries, s, timeout), specs))
        box.timings["install"] = time.monotonic() - started
        plural = "s" if nodes != 1 else ""
        say(f"sandbox {name}: {nodes} datadir{plural} initialised in {box.timings['install']:.2f}s under {where}")
        for spec in specs:
            proc = launch(binaries, spec)
            box._procs[spec.index], box.pids[spec.index] = proc, proc.pid
        box.save()
        for spec in specs:
            box._wait_ready(spec.index, timeout, say)
        box.timings["start"] = time.monotonic() - started - box.timings["install"]
        _wire(box, settings, timeout, say)
    except BaseException:
        say(f"sandbox {name}: setup failed, stopping what was started")
        box.down(timeout=10.0, remove=False)
        raise
    box.timings["up"] = time.monotonic() - started
    plural = "s" if nodes != 1 else ""
    say(f"sandbox {name}: up, {nodes} node{plural} in {box.timings['up']:.2f}s; primary {box.topology()[0]}")
    return box


def _clear_stale(where: Path) -> None:
    if not (where / STATE_FILE).exists():
        if where.exists() and any(where.iterdir()):
            raise Conflict(f"{where} exists, is not empty and holds no sandbox state file")
        return
    old = Sandbox.load(where)
    running = [s.index for s in old.specs if old.alive(s.index)]
    if running:
        raise Conflict(f"sandbox {old.name} in {where} is running (nodes {running}); run down first")
    shutil.rmtree(where)


def load(name: str | None = None, directory: str | Path | None = None) -> Sandbox:
    """The sandbox named ``name`` (in its default directory) or stored in ``directory``.

    :raises NotFound: when there is no state file.
    """
    if directory is None:
        if name is None:
            raise InvalidArgument("give a sandbox name or directory")
        directory = default_directory(name)
    return Sandbox.load(directory)


def status(name: str | None = None, directory: str | Path | None = None) -> list[NodeStatus]:
    """Observe every node of a sandbox (see :meth:`Sandbox.status`).

    :raises NotFound: when there is no such sandbox.
    """
    return load(name, directory).status()


def down(name: str | None = None, directory: str | Path | None = None, *, timeout: float = 20.0) -> None:
    """Stop a sandbox's nodes and remove its directory.

    :raises NotFound: when there is no such sandbox.
    """
    load(name, directory).down(timeout=timeout)
