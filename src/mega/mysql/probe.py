"""What a live server says: one immutable :class:`InstanceSnapshot`, plus the plain operations the HA
engine runs on a connection (read_only, GTID wait, replica control, session kills, binlog flush).

Every function has a deadline: server-side (``lock_wait_timeout``, ``max_statement_time``,
``MASTER_GTID_WAIT``'s own timeout) and, as a backstop, the client read timeout (see
:func:`mega.mysql.conn.deadline`).  Errors are :class:`LiveServerError` subclasses from
:mod:`mega.mysql.conn`, chosen by errno.

Server identity (decision)
    MySQL has ``@@server_uuid``.  MariaDB has none (its ``server_uid`` is only printed in the error
    log, not queryable), so ``server_uuid`` is None there and :attr:`InstanceSnapshot.identity` is
    ``mariadb:<report_host or hostname>:<port>/<server_id>`` -- stable across restarts, unique as
    long as server ids are unique within a replication topology, which replication requires anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import SecretStr

from mega.domain.address import Endpoint
from mega.domain.gtid import GtidPosition, GtidSet, GtidState
from mega.errors import LiveServerError
from mega.mysql.conn import (
    ClassifiedError,
    Connection,
    ErrorKind,
    Flavour,
    ServerTimeout,
    connect,
    fetch,
    fetch_one,
    run,
    translate,
)
from mega.mysql.dialect import Dialect, ReplicationStatus, ServerVersion, Statement
from mega.settings import Settings

__all__ = [
    "GtidView",
    "InstanceSnapshot",
    "binary_log_status",
    "change_master",
    "current_gtid",
    "dialect_of",
    "flush_binary_logs",
    "is_timeout",
    "kill_sessions",
    "open_admin",
    "probe",
    "replication_status",
    "reset_replica",
    "set_read_only",
    "snapshot",
    "start_replica",
    "stop_replica",
    "wait_for_gtid",
]

log = logging.getLogger(__name__)

#: Seconds added to a server-side deadline for the client-side one, so the server's answer wins.
GRACE = 2.0


@dataclass(frozen=True)
class InstanceSnapshot:
    """One server, observed once.  MariaDB fills the ``gtid_*_pos`` fields, MySQL ``gtid_executed``.

    :ivar identity: ``server_uuid`` on MySQL; ``mariadb:<host>:<port>/<server_id>`` on MariaDB.
    :ivar replication: replication connections (MariaDB) / channels (MySQL) keyed by name; ``''``
        is the default one.  Empty on a server that replicates from nobody.
    """

    endpoint: Endpoint
    flavour: Flavour
    version: str
    server_version: ServerVersion
    server_id: int
    server_uuid: str | None
    identity: str
    hostname: str
    read_only: bool
    super_read_only: bool | None
    log_bin: bool
    log_slave_updates: bool
    binlog_format: str
    gtid_binlog_pos: GtidPosition | None = None
    gtid_slave_pos: GtidPosition | None = None
    gtid_current_pos: GtidPosition | None = None
    gtid_binlog_state: GtidState | None = None
    gtid_strict_mode: bool | None = None
    gtid_domain_id: int | None = None
    gtid_executed: GtidSet | None = None
    gtid_purged: GtidSet | None = None
    replication: dict[str, ReplicationStatus] = field(default_factory=dict)
    probed_at: float = 0.0
    elapsed: float = 0.0

    @property
    def dialect(self) -> Dialect:
        """The statement dialect for this server."""
        return Dialect(self.flavour, self.server_version)

    @property
    def is_replica(self) -> bool:
        """True when at least one replication connection/channel is configured."""
        return bool(self.replication)

    @property
    def writable(self) -> bool:
        """True when ordinary accounts can write (read_only and super_read_only off)."""
        return not self.read_only and not self.super_read_only


class GtidView(StrEnum):
    """Which MariaDB GTID variable :func:`current_gtid` reads (MySQL always has gtid_executed)."""

    BINLOG = "gtid_binlog_pos"
    CURRENT = "gtid_current_pos"
    SLAVE = "gtid_slave_pos"


def open_admin(endpoint: Endpoint, settings: Settings, *, read_timeout: float | None = None) -> Connection:
    """Connect with Mega's admin account (``settings.mysql_user``) and the configured timeouts.

    :param endpoint: the server.
    :param settings: credentials and ``connect_timeout`` / ``read_timeout``.
    :param read_timeout: override of ``settings.read_timeout``.
    :returns: an open connection.
    :raises LiveServerError: subclass by errno (unreachable, access denied, overloaded...).
    """
    timeout = read_timeout or settings.read_timeout
    return connect(endpoint, settings.mysql_user, settings.mysql_password, settings.connect_timeout, timeout, timeout)


def dialect_of(conn: Connection) -> Dialect:
    """The dialect of the server behind ``conn`` (from the handshake version; cached on ``conn``).

    :raises UnsupportedServer: for versions Mega does not support.
    """
    cached = getattr(conn, "mega_dialect", None)
    if isinstance(cached, Dialect):
        return cached
    dialect = Dialect.detect(str(conn.server_version))
    conn.mega_dialect = dialect
    return dialect


def _exec(conn: Connection, stmt: Statement, *, timeout: float | None = None) -> int:
    return run(conn, stmt.sql, stmt.params, timeout=timeout)


def _rows(conn: Connection, stmt: Statement, *, timeout: float | None = None) -> list[dict[str, Any]]:
    return fetch(conn, stmt.sql, stmt.params, timeout=timeout)


def _bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().upper() in ("1", "ON", "YES", "TRUE")
    return bool(int(value))


def replication_status(conn: Connection) -> dict[str, ReplicationStatus]:
    """Every replication connection/channel, keyed by name (``''`` = default).

    :raises LiveServerError: by errno.
    """
    dialect = dialect_of(conn)
    rows = _rows(conn, dialect.show_replication_status())
    statuses = (dialect.parse_status(row) for row in rows)
    return {status.connection_name: status for status in statuses}


def snapshot(conn: Connection, endpoint: Endpoint | None = None) -> InstanceSnapshot:
    """Read everything :class:`InstanceSnapshot` holds over an open connection.

    :param conn: an admin connection.
    :param endpoint: how the caller reaches the server (default: the connection's host/port).
    :returns: the snapshot.
    :raises LiveServerError: by errno.
    """
    started = time.monotonic()
    dialect = dialect_of(conn)
    ident = _rows(conn, dialect.server_identity_query())[0]
    ro = _rows(conn, dialect.read_only_query())[0]
    gtid = _rows(conn, dialect.gtid_positions())[0]
    replication = replication_status(conn)
    where = endpoint or Endpoint(conn.host, conn.port)
    server_id = int(ident["server_id"])
    host = str(ident.get("report_host") or ident["hostname"])
    uuid = str(ident["server_uuid"]) if ident.get("server_uuid") else None
    identity = uuid or f"mariadb:{host}:{ident['port']}/{server_id}"
    common: dict[str, Any] = {
        "endpoint": where,
        "flavour": dialect.flavour,
        "version": str(ident["version"]),
        "server_version": dialect.version,
        "server_id": server_id,
        "server_uuid": uuid,
        "identity": identity,
        "hostname": str(ident["hostname"]),
        "read_only": bool(_bool(ro["read_only"])),
        "super_read_only": _bool(ro["super_read_only"]),
        "log_bin": bool(_bool(ident["log_bin"])),
        "log_slave_updates": bool(_bool(ident["log_slave_updates"])),
        "binlog_format": str(ident["binlog_format"]),
        "replication": replication,
        "probed_at": time.time(),
    }
    if dialect.is_mariadb:
        common.update(
            gtid_binlog_pos=GtidPosition.parse(gtid["gtid_binlog_pos"]),
            gtid_slave_pos=GtidPosition.parse(gtid["gtid_slave_pos"]),
            gtid_current_pos=GtidPosition.parse(gtid["gtid_current_pos"]),
            gtid_binlog_state=GtidState.parse(gtid["gtid_binlog_state"]),
            gtid_strict_mode=_bool(gtid["gtid_strict_mode"]),
            gtid_domain_id=int(gtid["gtid_domain_id"]),
        )
    else:
        common.update(
            gtid_executed=GtidSet.parse(gtid["gtid_executed"]), gtid_purged=GtidSet.parse(gtid["gtid_purged"])
        )
    common["elapsed"] = time.monotonic() - started
    return InstanceSnapshot(**common)


def probe(endpoint: Endpoint, settings: Settings) -> InstanceSnapshot:
    """Connect with the admin account, take a :class:`InstanceSnapshot`, disconnect.

    The whole probe is bounded by ``settings.connect_timeout`` plus ``settings.read_timeout`` per
    statement; statements also get ``max_statement_time`` / ``max_execution_time`` server-side.

    :param endpoint: the server.
    :param settings: credentials and timeouts.
    :returns: the snapshot.
    :raises LiveServerError: subclass by errno (ServerUnreachable, AccessDenied, ServerOverloaded...).
    """
    conn = open_admin(endpoint, settings)
    try:
        for stmt in dialect_of(conn).session_timeouts(settings.read_timeout):
            _exec(conn, stmt)
        return snapshot(conn, endpoint)
    finally:
        conn.close()


def set_read_only(conn: Connection, on: bool, timeout: float) -> None:
    """Set ``read_only`` (and ``super_read_only`` on MySQL) within ``timeout`` seconds, or fail.

    ``SET GLOBAL read_only=1`` waits for sessions holding ``LOCK TABLES`` or a global read lock.
    The session gets ``lock_wait_timeout`` and (MariaDB) ``max_statement_time`` first, so the server
    gives up by itself; the client deadline is ``timeout`` + :data:`GRACE` as a backstop.

    :param conn: an admin connection (READ_ONLY ADMIN or SUPER).
    :param on: True to make the server read-only, False to make it writable.
    :param timeout: seconds the change may wait for locks.
    :raises ServerTimeout: when the change did not complete in time (nothing was changed).
    :raises LiveServerError: for any other failure, by errno.
    """
    dialect = dialect_of(conn)
    for stmt in dialect.session_timeouts(timeout):
        _exec(conn, stmt)
    try:
        for stmt in dialect.set_read_only(on):
            _exec(conn, stmt, timeout=timeout + GRACE)
    except ClassifiedError as exc:
        if exc.kind is ErrorKind.TIMEOUT:
            raise ServerTimeout(
                f"{exc.target}: SET GLOBAL read_only={int(on)} did not finish within {timeout:g}s "
                f"(another session holds a table or global read lock?): {exc}",
                errno=exc.errno,
                target=exc.target,
            ) from exc
        raise
    finally:
        if conn.open:
            for stmt in dialect.clear_session_timeouts():
                _exec(conn, stmt)


def wait_for_gtid(conn: Connection, position: str | GtidPosition | GtidSet, timeout: float) -> bool:
    """Wait until the server has applied ``position`` (MASTER_GTID_WAIT / WAIT_FOR_EXECUTED_GTID_SET).

    :param conn: a connection to the replica.
    :param position: a MariaDB position or a MySQL GTID set (object or text).
    :param timeout: seconds to wait, server-side; the client allows :data:`GRACE` more.
    :returns: True when reached, False on timeout.
    :raises LiveServerError: by errno (e.g. the connection was lost).
    """
    dialect = dialect_of(conn)
    row = fetch_one(conn, *_sql(dialect.wait_for_gtid(str(position), timeout)), timeout=timeout + GRACE)
    return dialect.wait_reached(row["result"] if row else None)


def _sql(stmt: Statement) -> tuple[str, tuple[Any, ...]]:
    return stmt.sql, stmt.params


def stop_replica(conn: Connection, connection: str = "", *, timeout: float = 30.0) -> None:
    """``STOP SLAVE ['c']`` / ``STOP REPLICA [FOR CHANNEL 'c']``; a no-op when already stopped.

    :raises LiveServerError: by errno.
    """
    _exec(conn, dialect_of(conn).stop_replica(connection), timeout=timeout)


def start_replica(conn: Connection, connection: str = "", *, timeout: float = 30.0) -> None:
    """``START SLAVE ['c']`` / ``START REPLICA [FOR CHANNEL 'c']``.

    :raises LiveServerError: by errno (ReplicationStateError when not configured).
    """
    _exec(conn, dialect_of(conn).start_replica(connection), timeout=timeout)


def reset_replica(conn: Connection, connection: str = "", *, all_: bool = True, timeout: float = 30.0) -> None:
    """``RESET SLAVE ['c'] ALL`` / ``RESET REPLICA ALL``: forget the source (stop it first).

    :raises LiveServerError: by errno.
    """
    _exec(conn, dialect_of(conn).reset_replica(connection, all_=all_), timeout=timeout)


def change_master(
    conn: Connection,
    source: Endpoint,
    user: str,
    password: SecretStr | str,
    *,
    connection: str = "",
    demote: bool = False,
    connect_retry: int | None = None,
    heartbeat: float | None = None,
    timeout: float = 30.0,
) -> None:
    """Point the replica at ``source`` with GTID positioning (see :meth:`Dialect.change_source`).

    The replica must be stopped; on MariaDB this discards the unapplied relay log, so wait for the
    SQL thread first (ha-notes 9.1).  The password is never logged.

    :raises LiveServerError: by errno (ReplicationStateError when the replica is running).
    """
    stmt = dialect_of(conn).change_source(
        source, user, password, connection=connection, demote=demote, connect_retry=connect_retry, heartbeat=heartbeat
    )
    log.info("%s: change source of %r to %s as %s (demote=%s)", _where(conn), connection, source, user, demote)
    _exec(conn, stmt, timeout=timeout)


def _where(conn: Connection) -> str:
    return str(getattr(conn, "mega_target", f"{conn.host}:{conn.port}"))


def _grantee_users(rows: Iterable[dict[str, Any]]) -> set[str]:
    users: set[str] = set()
    for row in rows:
        grantee = str(row["grantee"])  # 'user'@'host'
        if grantee.startswith("'") and "'@'" in grantee:
            users.add(grantee[1 : grantee.index("'@'")].replace("''", "'"))
    return users


def kill_sessions(
    conn: Connection,
    except_ids: Iterable[int] = (),
    only_users_with_super: bool = True,
    *,
    timeout: float = 10.0,
) -> list[int]:
    """Kill client sessions (never replication or system threads, never this connection).

    With ``only_users_with_super`` only sessions of accounts holding SUPER (or READ_ONLY ADMIN on
    MariaDB, CONNECTION_ADMIN on MySQL) are killed: those are the ones that write through
    ``read_only``.  Matching is by user name, on purpose conservative: a name that holds the
    privilege on any host counts.

    :param conn: an admin connection (CONNECTION ADMIN / SUPER).
    :param except_ids: session ids to spare (e.g. Mega's other connections).
    :param only_users_with_super: False kills every client session.
    :param timeout: client deadline per statement.
    :returns: the ids that were killed (sessions that ended meanwhile are skipped).
    :raises LiveServerError: by errno.
    """
    dialect = dialect_of(conn)
    spare = {int(i) for i in except_ids} | {int(conn.thread_id())}
    sessions = _rows(conn, dialect.sessions_query(), timeout=timeout)
    allowed: set[str] | None = None
    if only_users_with_super:
        allowed = _grantee_users(_rows(conn, dialect.privileged_users_query(), timeout=timeout))
    killed: list[int] = []
    for session in sessions:
        sid = int(session["id"])
        if sid in spare or (allowed is not None and str(session["user"]) not in allowed):
            continue
        try:
            _exec(conn, dialect.kill(sid), timeout=timeout)
        except LiveServerError as exc:
            if exc.errno == 1094:  # ER_NO_SUCH_THREAD: it ended by itself
                continue
            raise
        killed.append(sid)
    if killed:
        log.info("%s: killed sessions %s", _where(conn), killed)
    return killed


def flush_binary_logs(conn: Connection, *, timeout: float = 30.0) -> None:
    """``FLUSH BINARY LOGS`` (needs RELOAD / BINLOG ADMIN).

    :raises LiveServerError: by errno.
    """
    _exec(conn, dialect_of(conn).flush_binary_logs(), timeout=timeout)


def current_gtid(conn: Connection, view: GtidView = GtidView.BINLOG) -> GtidPosition | GtidSet:
    """The server's GTID state: MariaDB ``@@gtid_binlog_pos`` (or ``view``), MySQL ``@@gtid_executed``.

    :param conn: any admin connection.
    :param view: which MariaDB variable; ignored on MySQL.
    :returns: a :class:`GtidPosition` (MariaDB) or :class:`GtidSet` (MySQL).
    :raises LiveServerError: by errno.
    """
    dialect = dialect_of(conn)
    if dialect.is_mariadb:
        row = fetch_one(conn, f"SELECT @@GLOBAL.{GtidView(view).value} AS pos")
        return GtidPosition.parse(row["pos"] if row else "")
    row = fetch_one(conn, "SELECT @@GLOBAL.gtid_executed AS pos")
    return GtidSet.parse(row["pos"] if row else "")


def binary_log_status(conn: Connection) -> dict[str, Any] | None:
    """``SHOW MASTER STATUS`` / ``SHOW BINARY LOG STATUS`` row (None when binlog is off).

    :raises LiveServerError: by errno.
    """
    rows = _rows(conn, dialect_of(conn).binary_log_status())
    return rows[0] if rows else None


def is_timeout(exc: BaseException) -> bool:
    """True when ``exc`` (a driver error or a :class:`LiveServerError`) means "did not finish in time"."""
    return translate(exc).kind is ErrorKind.TIMEOUT
