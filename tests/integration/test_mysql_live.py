"""Live tests of mega.mysql and mega.sandbox against real mariadbd processes (one sandbox per module).

Order matters only at the end: the last test kills and restarts the primary.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from mega.domain.address import Endpoint
from mega.domain.gtid import Gtid, GtidPosition, contains, errant
from mega.errors import Conflict, InvalidArgument
from mega.mysql import probe as P
from mega.mysql.conn import (
    AccessDenied,
    Connection,
    ErrorKind,
    Flavour,
    ServerOverloaded,
    ServerReadOnly,
    ServerTimeout,
    ServerUnreachable,
    connect,
    fetch,
    fetch_one,
    run,
)
from mega.sandbox import Sandbox, up
from mega.sandbox.process import NodeSpec, render_config
from mega.settings import Settings
from tests.live_fixtures import live_settings, sandbox

__all__ = ["live_settings", "sandbox"]  # fixtures, imported on purpose

pytestmark = pytest.mark.live


@pytest.fixture()
def admin(sandbox: Sandbox, live_settings: Settings) -> Iterator[Connection]:
    """Mega's admin account on the primary, over TCP."""
    conn = P.open_admin(sandbox.topology()[0], live_settings)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def app_user(sandbox: Sandbox, live_settings: Settings) -> str:
    """An ordinary application account (no SUPER, one connection at most), on every node."""
    root = sandbox.root(sandbox.primary_index)
    try:
        run(root, "CREATE DATABASE IF NOT EXISTS live")
        run(root, "CREATE TABLE IF NOT EXISTS live.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))")
        run(root, "CREATE USER IF NOT EXISTS 'app'@'127.0.0.1' IDENTIFIED BY 'app-pw' WITH MAX_USER_CONNECTIONS 1")
        run(root, "GRANT SELECT, INSERT ON live.* TO 'app'@'127.0.0.1'")
        pos = P.current_gtid(root)
    finally:
        root.close()
    assert isinstance(pos, GtidPosition)
    _sync(sandbox, live_settings, pos)
    return "app"


def _write(box: Sandbox, n: int = 1) -> GtidPosition:
    """Commit ``n`` rows on the primary (as root) and return its gtid_binlog_pos."""
    conn = box.root(box.primary_index)
    try:
        run(conn, "CREATE DATABASE IF NOT EXISTS live")
        run(conn, "CREATE TABLE IF NOT EXISTS live.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))")
        for _ in range(n):
            run(conn, "INSERT INTO live.t (v) VALUES (%s)", ("x",))
        pos = P.current_gtid(conn)
        assert isinstance(pos, GtidPosition)
        return pos
    finally:
        conn.close()


def _sync(box: Sandbox, settings: Settings, pos: GtidPosition, timeout: float = 10.0) -> None:
    for replica in box.topology()[1]:
        conn = P.open_admin(replica, settings)
        try:
            assert P.wait_for_gtid(conn, pos, timeout), f"{replica} did not reach {pos}: {P.replication_status(conn)}"
        finally:
            conn.close()


def test_probe_primary_and_replicas(sandbox: Sandbox, live_settings: Settings) -> None:
    pos = _write(sandbox)
    _sync(sandbox, live_settings, pos)
    primary, replicas = sandbox.topology()
    snap = P.probe(primary, live_settings)
    assert snap.flavour is Flavour.MARIADB
    assert snap.server_version.major == 10 and snap.server_version >= snap.server_version.parse("10.6.0")
    assert snap.server_id == 1
    assert snap.server_uuid is None and snap.identity == f"mariadb:127.0.0.1:{primary.port}/1"
    assert snap.read_only is False and snap.super_read_only is None and snap.writable
    assert snap.log_bin and snap.log_slave_updates and snap.binlog_format == "ROW"
    assert snap.gtid_strict_mode is True and snap.gtid_domain_id == 0
    assert snap.gtid_binlog_pos == pos and snap.gtid_executed is None
    assert snap.replication == {} and not snap.is_replica
    assert snap.elapsed < 1.0

    for index, endpoint in enumerate(replicas, start=2):
        rsnap = P.probe(endpoint, live_settings)
        assert rsnap.server_id == index
        assert rsnap.read_only is True, "read_only=ON comes from my.cnf"
        assert rsnap.gtid_slave_pos == pos and rsnap.gtid_current_pos == pos
        assert rsnap.gtid_binlog_pos == pos, "log_slave_updates writes replicated GTIDs"
        assert list(rsnap.replication) == [""]
        status = rsnap.replication[""]
        assert status.source == primary and status.source_user == live_settings.repl_user
        assert status.io_running and status.sql_running and status.healthy and status.using_gtid
        assert status.gtid_io_pos == pos and status.relay_log_applied
        assert status.source_server_id == 1


def test_named_connection_is_keyed_by_name(sandbox: Sandbox, live_settings: Settings) -> None:
    replica = sandbox.topology()[1][1]
    other = sandbox.topology()[1][0]
    conn = P.open_admin(replica, live_settings)
    try:
        P.change_master(conn, other, live_settings.repl_user, live_settings.repl_password, connection="aux-1")
        status = P.replication_status(conn)
        assert set(status) == {"", "aux-1"}
        assert status["aux-1"].source == other and not status["aux-1"].io_running
        assert status[""].io_running
        P.reset_replica(conn, "aux-1")
        assert set(P.replication_status(conn)) == {""}
    finally:
        conn.close()


def test_replica_stop_start_and_demote_syntax(sandbox: Sandbox, live_settings: Settings) -> None:
    primary, replicas = sandbox.topology()
    conn = P.open_admin(replicas[0], live_settings)
    try:
        P.stop_replica(conn)
        stopped = P.replication_status(conn)[""]
        assert not stopped.io_running and not stopped.sql_running
        # MASTER_DEMOTE_TO_SLAVE=1 is accepted on 10.11 and keeps GTID positioning.
        user, password = live_settings.repl_user, live_settings.repl_password
        P.change_master(conn, primary, user, password, demote=True, connect_retry=1)
        P.start_replica(conn)
        pos = _write(sandbox)
        assert P.wait_for_gtid(conn, pos, 10)
        assert P.replication_status(conn)[""].healthy
    finally:
        conn.close()


def test_set_read_only_times_out_behind_lock_tables(sandbox: Sandbox, admin: Connection) -> None:
    _write(sandbox)
    holder = sandbox.root(sandbox.primary_index)
    try:
        run(holder, "LOCK TABLES live.t WRITE")
        started = time.monotonic()
        with pytest.raises(ServerTimeout) as caught:
            P.set_read_only(admin, True, timeout=1.0)
        took = time.monotonic() - started
        assert 0.9 <= took < 2.5, f"took {took:.2f}s"
        assert caught.value.errno in (1205, 1969) and "did not finish within 1s" in str(caught.value)
        assert fetch_one(admin, "SELECT @@GLOBAL.read_only AS ro") == {"ro": 0}, "nothing changed"
        run(holder, "UNLOCK TABLES")
        P.set_read_only(admin, True, timeout=1.0)
        assert fetch_one(admin, "SELECT @@GLOBAL.read_only AS ro") == {"ro": 1}
        row = fetch_one(admin, "SELECT @@SESSION.max_statement_time AS m, @@SESSION.lock_wait_timeout AS l")
        assert row is not None and float(row["m"]) == 0.0 and int(row["l"]) > 1, "session limits restored"
    finally:
        holder.close()
        P.set_read_only(admin, False, timeout=5.0)


def test_read_only_is_not_blocked_by_ftwrl_or_open_transactions(
    sandbox: Sandbox, admin: Connection, app_user: str
) -> None:
    """MariaDB 10.11 facts the HA engine relies on: only LOCK TABLES ... WRITE (above) blocks it.

    A global read lock held elsewhere is compatible, and an open write transaction does not hold
    anything read_only waits for (its COMMIT is what fails afterwards, with 1290).
    """
    holder = sandbox.root(sandbox.primary_index)
    writer = connect(sandbox.topology()[0], "app", "app-pw", 2.0, 5.0)
    try:
        run(holder, "FLUSH TABLES WITH READ LOCK")
        started = time.monotonic()
        P.set_read_only(admin, True, timeout=1.0)
        assert time.monotonic() - started < 0.5
        run(holder, "UNLOCK TABLES")
        P.set_read_only(admin, False, timeout=1.0)

        run(writer, "BEGIN")
        run(writer, "INSERT INTO live.t (v) VALUES ('open')")
        P.set_read_only(admin, True, timeout=1.0)
        with pytest.raises(ServerReadOnly):
            run(writer, "COMMIT")
    finally:
        holder.close()
        writer.close()
        P.set_read_only(admin, False, timeout=5.0)
    assert fetch_one(admin, "SELECT @@GLOBAL.read_only AS ro") == {"ro": 0}


def test_client_deadline_turns_a_hung_read_into_a_timeout(admin: Connection) -> None:
    started = time.monotonic()
    with pytest.raises(ServerTimeout) as caught:
        fetch(admin, "SELECT SLEEP(5)", timeout=0.5)
    assert time.monotonic() - started < 2.0
    assert caught.value.errno == 2013 and caught.value.kind is ErrorKind.TIMEOUT


def test_wait_for_gtid(sandbox: Sandbox, live_settings: Settings) -> None:
    pos = _write(sandbox, 3)
    replica = sandbox.topology()[1][0]
    conn = P.open_admin(replica, live_settings)
    try:
        assert P.wait_for_gtid(conn, pos, 10)
        applied = P.current_gtid(conn, P.GtidView.SLAVE)
        assert isinstance(applied, GtidPosition) and contains(applied, pos)
        future = GtidPosition.of([Gtid(0, 1, pos.seq(0) + 1000)])
        started = time.monotonic()
        assert P.wait_for_gtid(conn, future, 0.5) is False
        assert 0.4 <= time.monotonic() - started < 2.0
        assert P.wait_for_gtid(conn, str(pos), 1) is True, "text positions work too"
    finally:
        conn.close()


def test_errors_are_classified_by_errno(sandbox: Sandbox, live_settings: Settings, app_user: str) -> None:
    primary, replicas = sandbox.topology()
    with pytest.raises(AccessDenied) as denied:
        connect(primary, live_settings.mysql_user, "wrong", 2.0, 2.0)
    assert denied.value.errno == 1045 and "wrong" not in str(denied.value)
    closed = Endpoint("127.0.0.1", max(s.port for s in sandbox.specs) + 50)
    started = time.monotonic()
    with pytest.raises(ServerUnreachable) as unreachable:
        P.probe(closed, live_settings)
    assert unreachable.value.errno == 2003 and time.monotonic() - started < 3.0

    first = connect(replicas[0], "app", "app-pw", 2.0, 2.0)
    try:
        with pytest.raises(ServerReadOnly) as ro:
            run(first, "INSERT INTO live.t (v) VALUES ('no')")
        assert ro.value.errno == 1290
        with pytest.raises(ServerOverloaded) as overloaded:
            connect(replicas[0], "app", "app-pw", 2.0, 2.0)
        assert overloaded.value.errno == 1226, "a limit reached is 'overloaded', not 'dead'"
    finally:
        first.close()


def test_kill_sessions_only_super_users(sandbox: Sandbox, admin: Connection, app_user: str) -> None:
    super_session = sandbox.root(sandbox.primary_index)
    app_session = connect(sandbox.topology()[0], "app", "app-pw", 2.0, 2.0)
    try:
        killed = P.kill_sessions(admin, except_ids=[], only_users_with_super=True)
        assert super_session.thread_id() in killed
        assert app_session.thread_id() not in killed
        assert admin.thread_id() not in killed, "never kills itself"
        assert fetch_one(app_session, "SELECT 1 AS one") == {"one": 1}
        with pytest.raises(ServerUnreachable):
            fetch(super_session, "SELECT 1")
    finally:
        app_session.close()
        super_session.close()


def test_flush_binary_logs(admin: Connection) -> None:
    before = P.binary_log_status(admin)
    P.flush_binary_logs(admin)
    after = P.binary_log_status(admin)
    assert before is not None and after is not None and after["File"] != before["File"]


def test_status_from_another_process(sandbox: Sandbox) -> None:
    code = (
        "import json, sys, dataclasses; from mega import sandbox; "
        "print(json.dumps([dataclasses.asdict(s) for s in sandbox.status(directory=sys.argv[1])]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(sandbox.directory)], capture_output=True, text=True, timeout=30, check=True
    )
    nodes = json.loads(done.stdout)
    assert [n["role"] for n in nodes] == ["primary", "replica", "replica"]
    assert all(n["alive"] and n["reachable"] for n in nodes)
    assert nodes[1]["source"] == str(sandbox.topology()[0]) and nodes[1]["io_running"]
    assert len({n["gtid_current_pos"] for n in nodes}) == 1
    assert sandbox.observed_topology() == sandbox.topology()


def test_errant_transaction_on_a_replica_is_detected(sandbox: Sandbox, live_settings: Settings) -> None:
    # A direct write on a replica (SUPER bypasses read_only), in its own domain and on its own
    # table so replication goes on.  (A row in live.t would take the primary's next auto-increment
    # id and stop the SQL thread with a duplicate key: a real errant transaction's usual effect.)
    root = sandbox.root(3)
    try:
        run(root, "SET SESSION gtid_domain_id = 9")
        run(root, "CREATE TABLE live.errant_only (id INT PRIMARY KEY)")
    finally:
        root.close()
    primary = P.probe(sandbox.topology()[0], live_settings)
    replica = P.probe(sandbox.endpoint(3), live_settings)
    assert replica.gtid_current_pos is not None and primary.gtid_binlog_pos is not None
    found = errant(replica.gtid_current_pos, primary.gtid_binlog_pos, primary_state=primary.gtid_binlog_state)
    assert [(g.domain, g.server) for g in found] == [(9, 3)]
    clean = P.probe(sandbox.endpoint(2), live_settings)
    assert clean.gtid_current_pos is not None
    assert errant(clean.gtid_current_pos, primary.gtid_binlog_pos, primary_state=primary.gtid_binlog_state) == ()
    assert replica.replication[""].healthy, "replication of domain 0 is unaffected"


def test_kill_and_restart_replica(sandbox: Sandbox, live_settings: Settings) -> None:
    replica = sandbox.topology()[1][1]
    sandbox.kill(3)
    assert not sandbox.alive(3)
    assert sandbox.node_status(3).role == "down"
    with pytest.raises(ServerUnreachable):
        P.probe(replica, live_settings)
    pos = _write(sandbox, 2)
    started = time.monotonic()
    sandbox.start(3)
    restart = time.monotonic() - started
    assert restart < 10.0
    conn = P.open_admin(replica, live_settings)
    try:
        assert P.wait_for_gtid(conn, pos, 10), f"replication did not resume: {P.replication_status(conn)}"
        snap = P.snapshot(conn)
        assert snap.read_only and snap.replication[""].healthy
    finally:
        conn.close()


def test_restarted_primary_comes_up_read_only(sandbox: Sandbox, live_settings: Settings) -> None:
    primary = sandbox.topology()[0]
    sandbox.stop(1)
    assert sandbox.node_status(1).role == "down"
    sandbox.start(1)
    snap = P.probe(primary, live_settings)
    assert snap.read_only is True, "read_only=ON in my.cnf fences a restarted old primary"
    conn = P.open_admin(primary, live_settings)
    try:
        P.set_read_only(conn, False, timeout=2.0)
    finally:
        conn.close()
    pos = _write(sandbox)
    _sync(sandbox, live_settings, pos, timeout=15.0)


def test_concurrent_probes_are_independent(sandbox: Sandbox, live_settings: Settings) -> None:
    results: list[object] = []

    def work(endpoint: Endpoint) -> None:
        try:
            results.append(P.probe(endpoint, live_settings).server_id)
        except Exception as exc:  # pragma: no cover - reported by the assert below
            results.append(exc)

    endpoints = [sandbox.endpoint(s.index) for s in sandbox.specs] * 3
    threads = [threading.Thread(target=work, args=(e,)) for e in endpoints]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == sorted([1, 2, 3] * 3)  # type: ignore[type-var]


def test_sandbox_guards(sandbox: Sandbox, live_settings: Settings) -> None:
    with pytest.raises(Conflict):
        up("live", directory=sandbox.directory, settings=live_settings)
    with pytest.raises(Conflict):
        up("other", base_port=sandbox.specs[0].port, directory=sandbox.directory.parent / "unused-dir")
    with pytest.raises(InvalidArgument):
        NodeSpec(1, 3306, "/tmp/x")
    with pytest.raises(InvalidArgument):
        up("Bad Name")
    config = render_config(sandbox.specs[0])
    for line in ("read-only = ON", "bind-address = 127.0.0.1", "gtid-strict-mode = ON", "log-slave-updates = ON"):
        assert line in config
