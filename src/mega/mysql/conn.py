"""Connections to live MySQL/MariaDB servers, with deadlines, and the errno table.

Every connection gets connect/read/write timeouts; :func:`deadline` widens the read timeout for one
call that legitimately waits (``MASTER_GTID_WAIT``) and restores it after.  Driver errors are
translated **by errno, never by message text** into :class:`LiveServerError` subclasses at this
boundary (:func:`translate`, :func:`guard`, :func:`run`, :func:`fetch`).

>>> classify(2013), classify(1040), classify(1969), classify(4031, Flavour.MYSQL)
(<ErrorKind.UNREACHABLE: 'unreachable'>, <ErrorKind.OVERLOADED: 'overloaded'>, \
<ErrorKind.TIMEOUT: 'timeout'>, <ErrorKind.UNREACHABLE: 'unreachable'>)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, TypeAlias

import pymysql
import pymysql.cursors
from pydantic import SecretStr

from mega.domain.address import Endpoint
from mega.errors import InvalidArgument, LiveServerError

__all__ = [
    "ERRNO_TABLE",
    "AccessDenied",
    "ClassifiedError",
    "Connection",
    "ErrorKind",
    "Flavour",
    "GtidError",
    "ReplicationStateError",
    "ServerInterrupted",
    "ServerOverloaded",
    "ServerReadOnly",
    "ServerTimeout",
    "ServerUnreachable",
    "StatementRejected",
    "classify",
    "connect",
    "deadline",
    "fetch",
    "fetch_one",
    "flavour_of",
    "guard",
    "run",
    "translate",
]

log = logging.getLogger(__name__)

Connection: TypeAlias = pymysql.connections.Connection
Params: TypeAlias = Sequence[Any] | Mapping[str, Any] | None


class Flavour(StrEnum):
    """Server family; decides dialect and a few errno meanings."""

    MARIADB = "mariadb"
    MYSQL = "mysql"


class ErrorKind(StrEnum):
    """What a server error means for the HA engine."""

    UNREACHABLE = "unreachable"  # cannot connect / connection lost: maybe dead, check holistically
    ACCESS_DENIED = "access_denied"  # credentials or privileges are wrong: an operator problem
    OVERLOADED = "overloaded"  # too many connections / threads: alive, NOT dead
    TIMEOUT = "timeout"  # lock wait / statement timeout / client read deadline: the operation did not finish
    INTERRUPTED = "interrupted"  # query or connection killed, server shutting down
    GTID = "gtid"  # GTID position cannot be served or conflicts (divergence, purged binlogs)
    READ_ONLY = "read_only"  # write refused by read_only / super_read_only
    REPLICATION_STATE = "replication_state"  # replica running/not running/not configured
    DEADLOCK = "deadlock"  # retryable
    UNSUPPORTED = "unsupported"  # syntax or variable not known: the dialect picked is wrong
    OTHER = "other"


# errno -> kind.  Client-side (CR_*) errors first, then server (ER_*) errors common to both flavours.
ERRNO_TABLE: dict[int, ErrorKind] = {
    2002: ErrorKind.UNREACHABLE,  # CR_CONNECTION_ERROR (socket)
    2003: ErrorKind.UNREACHABLE,  # CR_CONN_HOST_ERROR (TCP refused / connect timeout)
    2005: ErrorKind.UNREACHABLE,  # CR_UNKNOWN_HOST
    2006: ErrorKind.UNREACHABLE,  # CR_SERVER_GONE_ERROR
    2013: ErrorKind.UNREACHABLE,  # CR_SERVER_LOST (also the client read timeout)
    2055: ErrorKind.UNREACHABLE,  # CR_SERVER_LOST_EXTENDED
    1053: ErrorKind.INTERRUPTED,  # ER_SERVER_SHUTDOWN
    1077: ErrorKind.INTERRUPTED,  # ER_NORMAL_SHUTDOWN
    1317: ErrorKind.INTERRUPTED,  # ER_QUERY_INTERRUPTED
    1045: ErrorKind.ACCESS_DENIED,  # ER_ACCESS_DENIED_ERROR
    1044: ErrorKind.ACCESS_DENIED,  # ER_DBACCESS_DENIED_ERROR
    1142: ErrorKind.ACCESS_DENIED,  # ER_TABLEACCESS_DENIED_ERROR
    1227: ErrorKind.ACCESS_DENIED,  # ER_SPECIFIC_ACCESS_DENIED_ERROR (needs SUPER / ... ADMIN)
    1040: ErrorKind.OVERLOADED,  # ER_CON_COUNT_ERROR (max_connections)
    1203: ErrorKind.OVERLOADED,  # ER_TOO_MANY_USER_CONNECTIONS
    1226: ErrorKind.OVERLOADED,  # ER_USER_LIMIT_REACHED
    1135: ErrorKind.OVERLOADED,  # ER_CANT_CREATE_THREAD
    1205: ErrorKind.TIMEOUT,  # ER_LOCK_WAIT_TIMEOUT (lock_wait_timeout / innodb_lock_wait_timeout)
    1213: ErrorKind.DEADLOCK,  # ER_LOCK_DEADLOCK
    1236: ErrorKind.GTID,  # ER_MASTER_FATAL_ERROR_READING_BINLOG (purged or diverged)
    1789: ErrorKind.GTID,  # ER_MASTER_HAS_PURGED_REQUIRED_GTIDS
    1290: ErrorKind.READ_ONLY,  # ER_OPTION_PREVENTS_STATEMENT (--read-only / --super-read-only)
    1836: ErrorKind.READ_ONLY,  # ER_READ_ONLY_MODE
    1198: ErrorKind.REPLICATION_STATE,  # ER_SLAVE_MUST_STOP
    1199: ErrorKind.REPLICATION_STATE,  # ER_SLAVE_NOT_RUNNING
    1200: ErrorKind.REPLICATION_STATE,  # ER_BAD_SLAVE (not configured)
    1064: ErrorKind.UNSUPPORTED,  # ER_PARSE_ERROR
    1193: ErrorKind.UNSUPPORTED,  # ER_UNKNOWN_SYSTEM_VARIABLE
    1238: ErrorKind.UNSUPPORTED,  # ER_INCORRECT_GLOBAL_LOCAL_VAR
}

# Numbers whose meaning differs between the flavours (the 19xx-4xxx ranges diverged).
_FLAVOUR_TABLE: dict[Flavour, dict[int, ErrorKind]] = {
    Flavour.MARIADB: {
        1927: ErrorKind.INTERRUPTED,  # ER_CONNECTION_KILLED
        1945: ErrorKind.GTID,  # ER_GTID_POSITION_NOT_FOUND_IN_BINLOG
        1946: ErrorKind.GTID,  # ER_CANNOT_LOAD_SLAVE_GTID_STATE
        1947: ErrorKind.GTID,  # ER_MASTER_GTID_POS_CONFLICTS_WITH_BINLOG
        1948: ErrorKind.GTID,  # ER_MASTER_GTID_POS_MISSING_DOMAIN
        1950: ErrorKind.GTID,  # ER_GTID_STRICT_OUT_OF_ORDER
        1951: ErrorKind.GTID,  # ER_GTID_START_FROM_BINLOG_HOLE
        1969: ErrorKind.TIMEOUT,  # ER_STATEMENT_TIMEOUT (max_statement_time)
        4192: ErrorKind.TIMEOUT,  # ER_SLAVE_STATEMENT_TIMEOUT
    },
    Flavour.MYSQL: {
        3024: ErrorKind.TIMEOUT,  # ER_QUERY_TIMEOUT (max_execution_time)
        4031: ErrorKind.UNREACHABLE,  # ER_CLIENT_INTERACTION_TIMEOUT (server closed idle session)
        13114: ErrorKind.GTID,  # ER_SERVER_SOURCE_FATAL_ERROR_READING_BINLOG (Last_IO_Errno)
    },
}


def classify(errno: int | None, flavour: Flavour | None = None) -> ErrorKind:
    """Map an error number to its :class:`ErrorKind`.

    :param errno: the server or client error number (None for errors that carry none).
    :param flavour: the server family; without it, numbers are looked up in MariaDB's table first
        (MySQL-only numbers do not collide with MariaDB's, except 4031, which then needs it).
    :returns: the kind, ``OTHER`` when unknown.
    """
    if errno is None:
        return ErrorKind.OTHER
    if errno in ERRNO_TABLE:
        return ERRNO_TABLE[errno]
    tables = [_FLAVOUR_TABLE[flavour]] if flavour else [_FLAVOUR_TABLE[Flavour.MARIADB], _FLAVOUR_TABLE[Flavour.MYSQL]]
    for table in tables:
        if errno in table:
            return table[errno]
    return ErrorKind.OTHER


class ClassifiedError(LiveServerError):
    """A :class:`LiveServerError` that knows its :class:`ErrorKind` (every error this module raises)."""

    kind: ErrorKind = ErrorKind.OTHER


class ServerUnreachable(ClassifiedError):
    """Cannot connect (refused, connect timeout) or the connection was lost.

    A client *read* deadline that fires is a :class:`ServerTimeout` instead (errno 2013 caused by a
    socket timeout): the server accepted us but did not answer in time.  Either way the
    connection is closed afterwards.
    """

    kind = ErrorKind.UNREACHABLE


class AccessDenied(ClassifiedError):
    """Login or privilege refused."""

    kind = ErrorKind.ACCESS_DENIED


class ServerOverloaded(ClassifiedError):
    """The server is alive but refuses connections or threads (max_connections...)."""

    kind = ErrorKind.OVERLOADED


class ServerTimeout(ClassifiedError):
    """A server-side deadline fired (lock wait, max_statement_time) or a wait timed out."""

    kind = ErrorKind.TIMEOUT


class ServerInterrupted(ClassifiedError):
    """The statement or session was killed, or the server is shutting down."""

    kind = ErrorKind.INTERRUPTED


class GtidError(ClassifiedError):
    """The GTID position cannot be served or conflicts (purged binlogs, divergence)."""

    kind = ErrorKind.GTID


class ServerReadOnly(ClassifiedError):
    """A write was refused by read_only / super_read_only."""

    kind = ErrorKind.READ_ONLY


class ReplicationStateError(ClassifiedError):
    """The replica is in the wrong state for the statement (running, stopped, not configured)."""

    kind = ErrorKind.REPLICATION_STATE


class StatementRejected(ClassifiedError):
    """Any other server error (syntax, unsupported, deadlock, ...); see ``kind`` and ``errno``."""


_CLASS_BY_KIND: dict[ErrorKind, type[ClassifiedError]] = {
    ErrorKind.UNREACHABLE: ServerUnreachable,
    ErrorKind.ACCESS_DENIED: AccessDenied,
    ErrorKind.OVERLOADED: ServerOverloaded,
    ErrorKind.TIMEOUT: ServerTimeout,
    ErrorKind.INTERRUPTED: ServerInterrupted,
    ErrorKind.GTID: GtidError,
    ErrorKind.READ_ONLY: ServerReadOnly,
    ErrorKind.REPLICATION_STATE: ReplicationStateError,
}


def translate(exc: BaseException, target: str | None = None, flavour: Flavour | None = None) -> ClassifiedError:
    """Turn a driver or socket error into the matching :class:`LiveServerError` subclass.

    :param exc: a :class:`pymysql.err.Error`, :class:`OSError` or anything else.
    :param target: ``host:port`` of the server, for the message and ``.target``.
    :param flavour: the server family, for the few flavour-specific numbers.
    :returns: the translated error (raise it ``from exc``).
    """
    if isinstance(exc, ClassifiedError):
        return exc
    errno: int | None = None
    text = str(exc)
    if isinstance(exc, LiveServerError):
        errno, target = exc.errno, exc.target or target
    elif isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
        errno = exc.args[0]
        text = str(exc.args[1]) if len(exc.args) > 1 else text
    elif isinstance(exc, OSError):
        errno = 2013
    kind = classify(errno, flavour)
    if errno == 2013 and isinstance(exc.__cause__ or exc.__context__ or exc, TimeoutError):
        # The client read deadline fired: the server is connected but did not answer in time.
        # (Decided by exception type, not message text.)  The connection is closed afterwards.
        kind = ErrorKind.TIMEOUT
    cls = _CLASS_BY_KIND.get(kind, StatementRejected)
    error = cls(f"{target or 'server'}: [{kind}] {text}", errno=errno, target=target)
    error.kind = kind
    return error


@contextmanager
def guard(target: str | None = None, flavour: Flavour | None = None) -> Iterator[None]:
    """Translate driver errors raised inside the block (see :func:`translate`).

    :raises LiveServerError: a subclass, by errno.
    """
    try:
        yield
    except (pymysql.err.MySQLError, OSError) as exc:
        raise translate(exc, target, flavour) from exc


def _target(conn: Connection) -> str:
    return str(getattr(conn, "mega_target", None) or f"{conn.host}:{conn.port}")


def flavour_of(conn: Connection) -> Flavour:
    """The flavour announced in the handshake (MariaDB says so in its version string)."""
    return Flavour.MARIADB if "mariadb" in str(conn.server_version).lower() else Flavour.MYSQL


def connect(
    endpoint: Endpoint,
    user: str,
    password: SecretStr | str,
    connect_timeout: float,
    read_timeout: float,
    write_timeout: float | None = None,
    *,
    unix_socket: str | None = None,
    database: str | None = None,
) -> Connection:
    """Open an autocommit, DictCursor connection with deadlines on every socket operation.

    :param endpoint: ``host:port`` of the server (the host is connected to as given).
    :param user: login name.
    :param password: a :class:`SecretStr` (unwrapped only here) or a plain string.
    :param connect_timeout: seconds to establish the connection and log in.
    :param read_timeout: seconds any single read may take; widen per call with :func:`deadline`.
    :param write_timeout: seconds any single write may take (default: ``read_timeout``).
    :param unix_socket: connect through this socket instead of TCP (sandbox root access).
    :param database: default schema.
    :returns: an open PyMySQL connection; ``conn.mega_target`` is the endpoint text.
    :raises ServerUnreachable, AccessDenied, ServerOverloaded: by errno (see :data:`ERRNO_TABLE`).
    """
    if connect_timeout <= 0 or read_timeout <= 0:
        raise InvalidArgument("connect_timeout and read_timeout must be positive")
    secret = password.get_secret_value() if isinstance(password, SecretStr) else password
    target = str(endpoint)
    with guard(target):
        conn = pymysql.connect(
            host=endpoint.host,
            port=endpoint.port,
            user=user,
            password=secret,
            database=database,
            unix_socket=unix_socket,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            write_timeout=write_timeout or read_timeout,
            autocommit=True,
            cursorclass=pymysql.cursors.DictCursor,
            charset="utf8mb4",
            client_flag=0,
        )
    conn.mega_target = target
    conn.mega_flavour = flavour_of(conn)
    return conn


@contextmanager
def deadline(conn: Connection, seconds: float) -> Iterator[None]:
    """Let reads on ``conn`` take up to ``seconds`` inside the block, then restore the old limit.

    Used around statements that wait on purpose (``MASTER_GTID_WAIT(pos, t)``): the client
    deadline must exceed the server-side one so the server's answer, not a socket error, wins.
    PyMySQL re-applies ``_read_timeout`` before each read, so changing it is enough.
    """
    if seconds <= 0:
        raise InvalidArgument("deadline must be positive")
    previous = conn._read_timeout
    conn._read_timeout = seconds
    try:
        yield
    finally:
        conn._read_timeout = previous


def _unwrap(params: Params) -> Params:
    if params is None:
        return None
    if isinstance(params, Mapping):
        return {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in params.items()}
    return tuple(v.get_secret_value() if isinstance(v, SecretStr) else v for v in params)


def run(conn: Connection, sql: str, params: Params = None, *, timeout: float | None = None) -> int:
    """Execute one statement; :class:`SecretStr` params are unwrapped only for the driver.

    :param conn: an open connection.
    :param sql: the statement, with ``%s`` placeholders (PyMySQL escapes values client-side).
    :param params: the values.
    :param timeout: client-side read deadline for this statement (default: the connection's).
    :returns: the affected row count.
    :raises LiveServerError: translated by errno.
    """
    with guard(_target(conn), getattr(conn, "mega_flavour", None)), conn.cursor() as cur:
        if timeout is None:
            return int(cur.execute(sql, _unwrap(params)))
        with deadline(conn, timeout):
            return int(cur.execute(sql, _unwrap(params)))


def fetch(conn: Connection, sql: str, params: Params = None, *, timeout: float | None = None) -> list[dict[str, Any]]:
    """Execute a query and return all rows as dicts (see :func:`run` for the parameters).

    :raises LiveServerError: translated by errno.
    """
    with guard(_target(conn), getattr(conn, "mega_flavour", None)), conn.cursor() as cur:
        if timeout is None:
            cur.execute(sql, _unwrap(params))
            return list(cur.fetchall())
        with deadline(conn, timeout):
            cur.execute(sql, _unwrap(params))
            return list(cur.fetchall())


def fetch_one(
    conn: Connection, sql: str, params: Params = None, *, timeout: float | None = None
) -> dict[str, Any] | None:
    """Execute a query and return its first row, or None (see :func:`run`).

    :raises LiveServerError: translated by errno.
    """
    rows = fetch(conn, sql, params, timeout=timeout)
    return rows[0] if rows else None
