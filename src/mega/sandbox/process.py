"""mariadbd processes for the sandbox: binaries, configuration, datadir init, start, signals.

Only loopback: every node binds 127.0.0.1 and its own socket; the shared server on 3306 is never
used or touched (ports below 1024 and 3306 itself are refused).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mega.domain.address import Endpoint
from mega.errors import InvalidArgument, MegaError

__all__ = ["Binaries", "NodeSpec", "SandboxError", "find_binaries", "init_datadir", "launch", "render_config"]

RESERVED_PORTS = frozenset({3306})


class SandboxError(MegaError):
    """A sandbox node could not be created, started or stopped (the message says which and why)."""


@dataclass(frozen=True)
class Binaries:
    """Paths of the MariaDB programs the sandbox runs."""

    mariadbd: str
    install_db: str


def find_binaries() -> Binaries | None:
    """Locate ``mariadbd`` and ``mariadb-install-db`` (env ``MEGA_MARIADBD`` / ``MEGA_INSTALL_DB`` win).

    :returns: the paths, or None when either is missing or not executable.
    """
    mariadbd = _pick("MEGA_MARIADBD", "mariadbd", "/usr/sbin/mariadbd")
    install = _pick("MEGA_INSTALL_DB", "mariadb-install-db", "/usr/bin/mariadb-install-db")
    if not mariadbd or not install:
        return None
    return Binaries(mariadbd, install)


def _pick(env: str, name: str, fallback: str) -> str | None:
    override = os.environ.get(env)
    if override:
        return _existing(override)
    return shutil.which(name) or _existing(fallback)


def _existing(path: str) -> str | None:
    return path if os.access(path, os.X_OK) else None


@dataclass(frozen=True)
class NodeSpec:
    """Where one node lives.  ``index`` is 1-based; ``server_id == index``."""

    index: int
    port: int
    directory: str

    def __post_init__(self) -> None:
        if not 1024 <= self.port <= 65535 or self.port in RESERVED_PORTS:
            raise InvalidArgument(f"sandbox port {self.port} is reserved or out of range 1024-65535")

    @property
    def server_id(self) -> int:
        return self.index

    @property
    def name(self) -> str:
        return f"node{self.index}"

    @property
    def home(self) -> Path:
        return Path(self.directory) / self.name

    @property
    def datadir(self) -> Path:
        return self.home / "data"

    @property
    def socket(self) -> Path:
        return self.home / "mysqld.sock"

    @property
    def pid_file(self) -> Path:
        return self.home / "mysqld.pid"

    @property
    def defaults_file(self) -> Path:
        return self.home / "my.cnf"

    @property
    def error_log(self) -> Path:
        return self.home / "error.log"

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint("127.0.0.1", self.port)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def render_config(spec: NodeSpec) -> str:
    """The node's ``my.cnf``: GTID replication-ready, read_only=ON, small and fast to start.

    ``read_only`` is ON for every node (a restarted old primary must come up read-only); the
    sandbox clears it on the primary at runtime.
    """
    lines = [
        "[mariadbd]",
        f"datadir = {spec.datadir}",
        f"socket = {spec.socket}",
        f"pid-file = {spec.pid_file}",
        f"log-error = {spec.error_log}",
        f"tmpdir = {spec.home / 'tmp'}",
        f"port = {spec.port}",
        "bind-address = 127.0.0.1",
        "skip-name-resolve",
        f"server-id = {spec.server_id}",
        "gtid-domain-id = 0",
        "log-bin = mysql-bin",
        "relay-log = relay-bin",
        "log-slave-updates = ON",
        "gtid-strict-mode = ON",
        "binlog-format = ROW",
        "read-only = ON",
        "slave-net-timeout = 4",
        "report-host = 127.0.0.1",
        f"report-port = {spec.port}",
        "max-connections = 100",
        "performance-schema = OFF",
        "innodb-buffer-pool-size = 32M",
        "innodb-log-file-size = 8M",
        "innodb-log-buffer-size = 1M",
        "innodb-data-file-path = ibdata1:10M:autoextend",
        "innodb-flush-log-at-trx-commit = 2",
        "sync-binlog = 0",
        "key-buffer-size = 1M",
        "loose-feedback = OFF",
    ]
    if os.geteuid() == 0:
        lines.append("user = root")
    return "\n".join(lines) + "\n"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def init_datadir(binaries: Binaries, spec: NodeSpec, timeout: float = 60.0) -> float:
    """Write ``my.cnf`` and run ``mariadb-install-db`` for the node.

    :returns: seconds it took.
    :raises SandboxError: when the installer fails or exceeds ``timeout``.
    """
    started = time.monotonic()
    (spec.home / "tmp").mkdir(parents=True, exist_ok=True)
    spec.defaults_file.write_text(render_config(spec))
    cmd = [
        binaries.install_db,
        f"--defaults-file={spec.defaults_file}",
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
    ]
    log_path = spec.home / "install.log"
    with log_path.open("wb") as out:
        try:
            done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise SandboxError(f"{spec.name}: mariadb-install-db exceeded {timeout:g}s") from None
    if done.returncode != 0:
        raise SandboxError(f"{spec.name}: mariadb-install-db failed ({done.returncode}):\n{_tail(log_path)}")
    return time.monotonic() - started


def launch(binaries: Binaries, spec: NodeSpec) -> subprocess.Popen[bytes]:
    """Start ``mariadbd`` for the node in its own session (it outlives this process).

    :returns: the process handle (its pid is mariadbd's).
    """
    out = (spec.home / "mariadbd.out").open("ab")
    try:
        return subprocess.Popen(
            [binaries.mariadbd, f"--defaults-file={spec.defaults_file}"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        out.close()


def error_tail(spec: NodeSpec) -> str:
    """The last lines of the node's error log (for failure messages)."""
    return _tail(spec.error_log)


def is_ours(pid: int, spec: NodeSpec) -> bool:
    """True when ``pid`` is a live (non-zombie) mariadbd started with this node's ``my.cnf``.

    Guards every signal against pid reuse.
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
    if state in ("Z", "X"):
        return False
    return f"--defaults-file={spec.defaults_file}".encode() in cmdline


def signal_node(pid: int, spec: NodeSpec, sig: signal.Signals) -> bool:
    """Send ``sig`` to the node's process if it is still ours.

    :returns: True when the signal was delivered.
    """
    if not is_ours(pid, spec):
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True
