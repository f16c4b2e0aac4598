"""Connections an operation holds to the group's servers, and the small live moves it composes.

Each helper is one statement (or a short wait) with a deadline taken from the operation's budget,
and says what it did on the current step, so the record shows the SQL and its target.
"""

from __future__ import annotations

import time

from pymysql.connections import Connection

from mega.domain.address import Endpoint
from mega.domain.gtid import GtidPosition
from mega.errors import LiveServerError
from mega.ha.record import Recorder, Step
from mega.mysql import probe as live
from mega.mysql.conn import run
from mega.mysql.probe import GtidView, InstanceSnapshot
from mega.settings import Settings


class Conns:
    """Admin connections by endpoint, opened on first use and all closed at the end."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._open: dict[str, Connection] = {}

    def get(self, ep: Endpoint) -> Connection:
        key = str(ep)
        conn = self._open.get(key)
        if conn is None or not conn.open:
            conn = live.open_admin(ep, self.settings)
            self._open[key] = conn
        return conn

    def thread_ids(self, ep: Endpoint) -> list[int]:
        conn = self._open.get(str(ep))
        return [int(conn.thread_id())] if conn is not None and conn.open else []

    def snapshot(self, ep: Endpoint) -> InstanceSnapshot:
        return live.snapshot(self.get(ep), ep)

    def close(self) -> None:
        for conn in self._open.values():
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a dead socket
                pass
        self._open.clear()


def gtid(conns: Conns, ep: Endpoint, view: GtidView = GtidView.BINLOG) -> GtidPosition:
    pos = live.current_gtid(conns.get(ep), view)
    assert isinstance(pos, GtidPosition), "MariaDB positions only here"
    return pos


def stable_binlog_pos(conns: Conns, ep: Endpoint, step: Step, tries: int = 20, pause: float = 0.02) -> GtidPosition:
    """Read ``gtid_binlog_pos`` until two reads agree (no commit slipped through read_only)."""
    last = gtid(conns, ep)
    for _ in range(tries):
        time.sleep(pause)
        now = gtid(conns, ep)
        if now == last:
            step.say(f"gtid_binlog_pos stable at {now or '(empty)'}")
            return now
        last = now
    raise LiveServerError(f"{ep}: gtid_binlog_pos still moving after read_only=1 ({last}); "
                          "a session with SUPER or READ_ONLY ADMIN keeps writing", target=str(ep))


def wait_applied(conns: Conns, ep: Endpoint, pos: GtidPosition, rec: Recorder, step: Step, wanted: float) -> bool:
    if pos.is_empty:
        step.say("nothing to wait for (empty position)")
        return True
    start_sql_thread(conns, ep, rec, step)
    budget = rec.budget(wanted)
    step.say(f"SELECT MASTER_GTID_WAIT('{pos}', {budget:g})")
    return live.wait_for_gtid(conns.get(ep), pos, budget)


def start_sql_thread(conns: Conns, ep: Endpoint, rec: Recorder, step: Step) -> None:
    """Start the SQL thread of ``ep`` when it was stopped without an error, so that it applies its
    relay log (MASTER_GTID_WAIT would wait in vain otherwise).  The IO thread is left alone:
    restarting it would discard the unapplied relay log (ha-notes 9.1)."""
    conn = conns.get(ep)
    link = live.replication_status(conn).get("")
    if link is None or link.sql_running or link.last_sql_errno:
        return
    stmt = live.dialect_of(conn).start_replica("")
    step.say(f"{stmt.sql} SQL_THREAD (it was stopped: its relay log must be applied)")
    run(conn, f"{stmt.sql} SQL_THREAD", timeout=rec.budget(30))


def read_only(conns: Conns, ep: Endpoint, on: bool, rec: Recorder, step: Step, wanted: float) -> None:
    budget = rec.budget(wanted)
    step.say(f"SET GLOBAL read_only={int(on)} (within {budget:g}s)")
    live.set_read_only(conns.get(ep), on, budget)


def promote(conns: Conns, ep: Endpoint, rec: Recorder, step: Step, settings: Settings) -> None:
    """Make ``ep`` a primary: forget its source, then take writes."""
    conn = conns.get(ep)
    step.say("STOP SLAVE; RESET SLAVE ALL")
    live.stop_replica(conn, timeout=rec.budget(30))
    live.reset_replica(conn, timeout=rec.budget(30))
    read_only(conns, ep, False, rec, step, settings.read_only_timeout)


def point_to(conns: Conns, ep: Endpoint, source: Endpoint, rec: Recorder, step: Step, settings: Settings,
             *, demote: bool = False) -> None:
    """``ep`` replicates from ``source`` with GTID (slave_pos; DEMOTE_TO_SLAVE for a former primary)."""
    conn = conns.get(ep)
    live.stop_replica(conn, timeout=rec.budget(30))
    step.say(f"CHANGE MASTER TO MASTER_HOST='{source.host}', MASTER_PORT={source.port}, "
             f"MASTER_USER='{settings.repl_user}', MASTER_USE_GTID=slave_pos"
             + (", MASTER_DEMOTE_TO_SLAVE=1" if demote else "") + "; START SLAVE")
    live.change_master(conn, source, settings.repl_user, settings.repl_password, demote=demote, connect_retry=1,
                       heartbeat=1.0, timeout=rec.budget(30))
    live.start_replica(conn, timeout=rec.budget(30))


def wait_io_running(conns: Conns, ep: Endpoint, rec: Recorder, wanted: float = 5.0) -> tuple[bool, str]:
    """Wait for the IO and SQL threads of ``ep`` to run without error; returns (ok, what was seen)."""
    until = time.monotonic() + rec.budget(wanted)
    seen = "no replication connection"
    while True:
        snap = conns.snapshot(ep)
        link = snap.replication.get("")
        if link is not None:
            seen = (f"IO={link.io_state.value} SQL={link.sql_state.value}"
                    + (f" IO error {link.last_io_errno}: {link.last_io_error[:160]}" if link.last_io_errno else "")
                    + (f" SQL error {link.last_sql_errno}: {link.last_sql_error[:160]}" if link.last_sql_errno else ""))
            if link.io_running and link.sql_running:
                return True, seen
            if link.last_io_errno or link.last_sql_errno:
                return False, seen
        if time.monotonic() >= until:
            return False, seen
        time.sleep(0.05)


def describe(exc: BaseException) -> str:
    errno = getattr(exc, "errno", None)
    return f"{exc}" + (f" (errno {errno})" if errno and f"{errno}" not in str(exc) else "")
