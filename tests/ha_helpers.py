"""Helpers for the live HA tests and the HA bench: a sandbox registered as an HA group, a client
that writes every 10 ms and follows the writable primary, and checks of data and topology.

The writer uses an ordinary application account (no SUPER, no READ_ONLY ADMIN), so ``read_only=1``
really stops it (error 1290), as it would stop an application.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
from pydantic import SecretStr

from mega.domain.address import Endpoint
from mega.sandbox import Sandbox, up
from mega.service import Service
from mega.settings import Settings, load_settings

DB = "hatest"
TABLE = f"{DB}.t"
APP_USER, APP_PASSWORD = "app", "app-Pw'3"

LOST_CONNECTION = {2003, 2006, 2013, 2055, 1927, 1053}  # can't connect, gone away, lost, shutdown, killed
READ_ONLY = 1290
_CID_BLOCKS = itertools.count(1)  # each Writer gets its own block of client ids


def base_settings(db_url: str, **overrides: Any) -> Settings:
    """Mega's accounts on the sandbox, with short timeouts (everything is on loopback)."""
    values: dict[str, Any] = dict(
        db_url=db_url, mysql_user="mega", mysql_password=SecretStr("live-Admin-pw'1"), repl_user="mega_repl",
        repl_password=SecretStr("live-Repl-pw\\2"), connect_timeout=1.0, read_timeout=10.0,
        catchup_timeout=10.0, read_only_timeout=5.0, operation_timeout=60.0,
    )
    values.update(overrides)
    return load_settings(**values)


@dataclass
class Cluster:
    """A running sandbox registered in an inventory as the HA group ``group``."""

    box: Sandbox
    svc: Service
    group: str
    directory: Path
    primary: int = 1

    @property
    def nodes(self) -> list[int]:
        return [s.index for s in self.box.specs]

    def ep(self, index: int) -> Endpoint:
        return self.box.endpoint(index)

    def key(self, index: int) -> str:
        return str(self.box.endpoint(index))

    def index_of(self, endpoint: str | None) -> int:
        for i in self.nodes:
            if self.key(i) == endpoint:
                return i
        raise AssertionError(f"{endpoint!r} is not a node of {self.box}")

    def replicas(self) -> list[int]:
        return [i for i in self.nodes if i != self.primary]

    def service(self, **overrides: Any) -> Service:
        """Another service on the same store, with some settings changed (hooks_dir, timeouts...)."""
        return Service(self.svc.settings.model_copy(update=overrides), store=self.svc.store)

    def sql(self, index: int, statement: str, args: Any = None) -> list[dict[str, Any]]:
        """Run one statement as root on node ``index``; returns its rows."""
        return root_sql(self.box, index, statement, args)

    def down(self) -> None:
        try:
            self.box.down(timeout=10.0)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def make_cluster(name: str, nodes: int = 3, *, store_url: str | None = None,
                 progress: Callable[[str], None] | None = None, **overrides: Any) -> Cluster:
    """Start ``nodes`` mariadbd (node 1 primary), create the test table and the app account, register
    the topology as HA group ``name`` in a SQLite inventory (a new one unless ``store_url``)."""
    directory = Path(tempfile.mkdtemp(prefix=f"mega-{name}-"))  # short: unix socket paths are limited
    settings = base_settings(store_url or f"sqlite:///{directory}/mega.db", **overrides)
    box = up(name, nodes=nodes, directory=directory / "sb", settings=settings,
             progress=progress or (lambda _line: None), timeout=60.0)
    try:
        svc = Service(settings)
        svc.store.upgrade()
        primary, replicas = box.topology()
        svc.register_topology(name, str(primary), [str(r) for r in replicas])
        cluster = Cluster(box, svc, name, directory)
        cluster.sql(1, f"CREATE DATABASE IF NOT EXISTS {DB}")
        cluster.sql(1, f"CREATE TABLE {TABLE} (pk BIGINT AUTO_INCREMENT PRIMARY KEY, cid BIGINT NOT NULL, "
                       "payload VARCHAR(64) NOT NULL, KEY (cid)) ENGINE=InnoDB")
        for host in ("127.0.0.1", "localhost"):
            cluster.sql(1, "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (APP_USER, host, APP_PASSWORD))
            cluster.sql(1, f"GRANT SELECT, INSERT ON {DB}.* TO %s@%s", (APP_USER, host))
        wait_converged(cluster)
        return cluster
    except BaseException:
        box.down(timeout=10.0)
        shutil.rmtree(directory, ignore_errors=True)
        raise


# ---- SQL as root (unix socket) ---------------------------------------------------------------


def root_sql(box: Sandbox, index: int, statement: str, args: Any = None, *,
             read_timeout: float = 30.0) -> list[dict[str, Any]]:
    conn = box.root(index, read_timeout=read_timeout)
    try:
        with conn.cursor() as cur:
            cur.execute(statement, args)
            return list(cur.fetchall() or [])
    finally:
        conn.close()


def slave_status(box: Sandbox, index: int) -> dict[str, Any] | None:
    """The default ('') connection's row of SHOW ALL SLAVES STATUS, or None."""
    rows = root_sql(box, index, "SHOW ALL SLAVES STATUS")
    return next((r for r in rows if r["Connection_name"] == ""), None)


def read_only(box: Sandbox, index: int) -> bool:
    return bool(int(root_sql(box, index, "SELECT @@GLOBAL.read_only AS ro")[0]["ro"]))


def gtid(box: Sandbox, index: int, var: str = "gtid_binlog_pos") -> str:
    return str(root_sql(box, index, f"SELECT @@GLOBAL.{var} AS p")[0]["p"])


def wait_gtid(box: Sandbox, index: int, pos: str, timeout: float = 10.0) -> bool:
    if not pos:
        return True
    row = root_sql(box, index, "SELECT MASTER_GTID_WAIT(%s, %s) AS r", (pos, timeout), read_timeout=timeout + 5)[0]
    return int(row["r"]) == 0


def wait_converged(cluster: Cluster, timeout: float = 15.0, nodes: list[int] | None = None) -> str:
    """Wait until every replica (or ``nodes``) applied the primary's gtid_binlog_pos; returns it."""
    pos = gtid(cluster.box, cluster.primary)
    for i in nodes or cluster.replicas():
        assert wait_gtid(cluster.box, i, pos, timeout), (
            f"node {i} did not reach the primary's {pos} in {timeout}s: {slave_status(cluster.box, i)}")
    return pos


def cids(box: Sandbox, index: int) -> list[int]:
    """Every client id in the test table of node ``index`` (duplicates kept)."""
    return [int(r["cid"]) for r in root_sql(box, index, f"SELECT cid FROM {TABLE} ORDER BY pk")]


def checksum(box: Sandbox, index: int) -> int:
    return int(root_sql(box, index, f"CHECKSUM TABLE {TABLE}")[0]["Checksum"])


def row_count(box: Sandbox, index: int) -> int:
    return int(root_sql(box, index, f"SELECT COUNT(*) AS n FROM {TABLE}")[0]["n"])


def insert_rows(cluster: Cluster, index: int, first_cid: int, n: int) -> list[int]:
    """Insert ``n`` rows as root on node ``index`` (one transaction each); returns their cids."""
    conn = cluster.box.root(index)
    try:
        with conn.cursor() as cur:
            for c in range(first_cid, first_cid + n):
                cur.execute(f"INSERT INTO {TABLE} (cid, payload) VALUES (%s, %s)", (c, f"direct-{c}"))
    finally:
        conn.close()
    return list(range(first_cid, first_cid + n))


# ---- assertions ------------------------------------------------------------------------------


def assert_topology(cluster: Cluster, primary: int, nodes: list[int] | None = None, timeout: float = 10.0) -> None:
    """Exactly one writable primary (``primary``, no replication), the others read_only=1 and
    replicating from it with IO and SQL threads running."""
    box = cluster.box
    members = nodes or cluster.nodes
    deadline = time.monotonic() + timeout
    while True:
        problems = []
        writable = [i for i in members if not read_only(box, i)]
        if writable != [primary]:
            problems.append(f"writable nodes {writable}, expected [{primary}]")
        if slave_status(box, primary) is not None:
            problems.append(f"primary {primary} still has a replication connection")
        for i in members:
            if i == primary:
                continue
            st = slave_status(box, i)
            if st is None:
                problems.append(f"node {i} does not replicate")
                continue
            where = (st["Master_Host"], int(st["Master_Port"]))
            if where != (box.endpoint(primary).host, box.endpoint(primary).port):
                problems.append(f"node {i} replicates from {where}, not node {primary}")
            if (st["Slave_IO_Running"], st["Slave_SQL_Running"]) != ("Yes", "Yes"):
                problems.append(f"node {i}: IO={st['Slave_IO_Running']} SQL={st['Slave_SQL_Running']} "
                                f"{st['Last_IO_Error']} {st['Last_SQL_Error']}")
        if not problems:
            return
        if time.monotonic() > deadline:
            raise AssertionError("; ".join(problems))
        time.sleep(0.05)


def assert_inventory(cluster: Cluster, primary: int, replicas: list[int] | None = None) -> None:
    """The group's master is ``primary`` (role 1, no master); ``replicas`` are role 2 under it."""
    svc = cluster.svc
    group = svc.get_group(cluster.group)
    assert group["master"] == cluster.key(primary), group
    inst = svc.get_instance(cluster.ep(primary).host, cluster.ep(primary).port)
    assert (inst["role"], inst["master"]) == (1, None), inst
    for i in replicas if replicas is not None else [n for n in cluster.nodes if n != primary]:
        inst = svc.get_instance(cluster.ep(i).host, cluster.ep(i).port)
        assert (inst["role"], inst["master"]) == (2, cluster.key(primary)), inst


def assert_same_data(cluster: Cluster, nodes: list[int] | None = None) -> list[int]:
    """After the replicas caught up: same rows, count and CHECKSUM TABLE on every node; no duplicate
    client id anywhere.  Returns the primary's client ids."""
    box = cluster.box
    members = nodes or cluster.nodes
    wait_converged(cluster, nodes=[i for i in members if i != cluster.primary])
    reference = cids(box, cluster.primary)
    dups = [c for c, n in Counter(reference).items() if n > 1]
    assert not dups, f"client ids present more than once on the primary: {dups[:20]}"
    sums = {i: checksum(box, i) for i in members}
    counts = {i: row_count(box, i) for i in members}
    assert len(set(sums.values())) == 1, f"CHECKSUM TABLE differs: {sums}"
    assert len(set(counts.values())) == 1, f"row counts differ: {counts}"
    for i in members:
        assert cids(box, i) == reference, f"node {i} has other rows than the primary {cluster.primary}"
    return reference


def assert_record(svc: Service, record_id: int, status: str, *modules: str) -> dict[str, Any]:
    """The record ended with ``status``, has an end time and detail rows, including ``modules``."""
    rec = svc.get_record(record_id)
    assert rec["result"] == status, (rec["result"], rec["message"], steps(rec))
    assert rec["result"] != "running" and rec["end_time"], rec
    assert rec["details"], f"record {record_id} has no steps"
    assert rec["message"], rec
    names = [d["module"] for d in rec["details"]]
    for m in modules:
        assert m in names, f"record {record_id} lacks step {m!r}: {names}"
    return rec


def steps(rec: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(d["module"], d["target"], d["result"]) for d in rec.get("details", [])]


def step(rec: dict[str, Any], module: str) -> dict[str, Any]:
    return next(d for d in rec["details"] if d["module"] == module)


# ---- the writer ------------------------------------------------------------------------------


@dataclass
class WriterReport:
    acked: list[int]
    unknown: list[int]
    ack_times: list[float]
    errors: Counter[int]
    primaries: list[str]
    cid_range: range = range(0)

    @property
    def max_gap(self) -> float:
        """The longest time between two acknowledged inserts (the write outage the client saw)."""
        t = self.ack_times
        return max((b - a for a, b in zip(t, t[1:], strict=False)), default=0.0)

    def gap_after(self, moment: float) -> float:
        """Time from ``moment`` (monotonic) to the first acknowledged insert after it."""
        return next((t - moment for t in self.ack_times if t >= moment), float("inf"))


@dataclass
class Writer:
    """A thread inserting one row every ``period`` seconds into the writable primary.

    Each attempt uses a new client id.  An insert that raised is recorded as *unknown* (it may or
    may not have committed); after error 1290 (read-only) or a lost connection the writer looks for
    the node with read_only=0 and carries on there.
    """

    endpoints: list[Endpoint]
    period: float = 0.01
    start_cid: int = 0
    acked: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    ack_times: list[float] = field(default_factory=list)
    errors: Counter[int] = field(default_factory=Counter)
    primaries: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ha-writer", daemon=True)
        self._conn: pymysql.connections.Connection | None = None
        if not self.start_cid:
            self.start_cid = next(_CID_BLOCKS) * 1_000_000
        self._next = self.start_cid
        self.failure: BaseException | None = None

    def __enter__(self) -> Writer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, wait_first: float = 5.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + wait_first
        while not self.acked and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.005)
        assert self.acked, f"the writer could not write within {wait_first}s (errors {dict(self.errors)})"

    def stop(self) -> WriterReport:
        self._stop.set()
        self._thread.join(30)
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001
                pass
            self._conn = None
        if self.failure is not None:
            raise AssertionError(f"the writer crashed: {self.failure!r}") from self.failure
        return self.report()

    def report(self) -> WriterReport:
        return WriterReport(list(self.acked), list(self.unknown), list(self.ack_times), Counter(self.errors),
                            list(self.primaries), range(self.start_cid, self._next))

    def wait_acks(self, n: int, timeout: float = 10.0) -> None:
        """Wait until ``n`` more inserts were acknowledged."""
        target, deadline = len(self.acked) + n, time.monotonic() + timeout
        while len(self.acked) < target:
            assert time.monotonic() < deadline, f"the writer made no progress in {timeout}s ({dict(self.errors)})"
            time.sleep(0.005)

    def _connect(self, ep: Endpoint, timeout: float = 0.5) -> pymysql.connections.Connection:
        return pymysql.connect(host=ep.host, port=ep.port, user=APP_USER, password=APP_PASSWORD,
                               connect_timeout=timeout, read_timeout=5, write_timeout=5, autocommit=True)

    def _find_primary(self) -> None:
        """Ask every node until one says read_only=0; keep that connection."""
        while not self._stop.is_set():
            for ep in self.endpoints:
                try:
                    conn = self._connect(ep)
                except pymysql.MySQLError:
                    continue
                try:
                    with conn.cursor() as cur:
                        cur.execute("SELECT @@GLOBAL.read_only")
                        (ro,) = cur.fetchone()
                    if not int(ro):
                        self._conn = conn
                        self.primaries.append(str(ep))
                        return
                except pymysql.MySQLError:
                    pass
                conn.close()
            time.sleep(0.005)

    def _run(self) -> None:
        try:
            next_at = time.monotonic()
            while not self._stop.is_set():
                if self._conn is None:
                    self._find_primary()
                    if self._conn is None:
                        return
                cid = self._next
                self._next += 1
                try:
                    with self._conn.cursor() as cur:
                        cur.execute(f"INSERT INTO {TABLE} (cid, payload) VALUES (%s, %s)", (cid, f"w{cid}"))
                    self.acked.append(cid)
                    self.ack_times.append(time.monotonic())
                except pymysql.MySQLError as exc:
                    self.unknown.append(cid)
                    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else -1
                    self.errors[code] += 1
                    try:
                        self._conn.close()
                    except Exception:  # noqa: BLE001
                        pass
                    self._conn = None  # re-find the writable primary (1290, lost connection, anything else)
                    continue
                next_at += self.period
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                else:
                    next_at = time.monotonic()
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self.failure = exc


def assert_writes_kept(report: WriterReport, rows: list[int]) -> None:
    """Every acknowledged client id is in ``rows`` exactly once; nothing else but unknown ids is."""
    counts = Counter(rows)
    missing = [c for c in report.acked if counts[c] == 0]
    dups = [c for c in report.acked + report.unknown if counts[c] > 1]
    assert not missing, f"{len(missing)} acknowledged insert(s) lost: {missing[:20]}"
    assert not dups, f"client ids present more than once: {dups[:20]}"
    block = range(report.cid_range.start, report.cid_range.start + 1_000_000)  # this writer's block of ids
    writer_rows = {c for c in counts if c in block}
    strangers = writer_rows - set(report.acked) - set(report.unknown)
    assert not strangers, f"rows the writer never attempted: {sorted(strangers)[:20]}"
