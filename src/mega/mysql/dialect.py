"""Statements per server flavour **and** version, and one typed replication status for all of them.

Supported: MariaDB 10.6+ and MySQL 8.0 / 8.4 (see ha-notes 9.5 for the renames):

=========================  ===========================  ===============================  ====================
                           MariaDB 10.6+                MySQL 8.0.0-8.0.21 / 8.0.22      MySQL 8.0.23+ / 8.4
=========================  ===========================  ===============================  ====================
status                     SHOW ALL SLAVES STATUS       SHOW SLAVE / SHOW REPLICA STATUS  SHOW REPLICA STATUS
repoint                    CHANGE MASTER 'c' TO ...     CHANGE MASTER TO ...              CHANGE REPLICATION
                           MASTER_USE_GTID=slave_pos    MASTER_AUTO_POSITION=1            SOURCE TO ...
start / stop / reset       START SLAVE 'c' ...          START SLAVE / START REPLICA       START REPLICA
binlog status              SHOW MASTER STATUS           SHOW MASTER STATUS                8.2+: SHOW BINARY
                                                                                          LOG STATUS
wait for GTID              MASTER_GTID_WAIT             WAIT_FOR_EXECUTED_GTID_SET        (same)
=========================  ===========================  ===============================  ====================

Quoting.  Every value travels as a ``%s`` parameter of :class:`Statement`.  PyMySQL interpolates
parameters on the client with ``Connection.escape`` (which honours ``NO_BACKSLASH_ESCAPES``), so
``%s`` also works where the server takes only literals (``CHANGE MASTER TO MASTER_HOST='...'``,
``CHANGE MASTER 'conn'``, ``FOR CHANNEL '...'``): that escaping function is the vetted one.  On top
of it, inputs are validated (host via :func:`canonical_host`, port via :func:`canonical_port`,
names against a strict pattern) so nothing unexpected reaches a statement.  Passwords may be
:class:`SecretStr`; :func:`mega.mysql.conn.run` unwraps them only for the driver, and
``repr(Statement)`` never shows them.

>>> d = Dialect.detect("8.0.36")
>>> d.show_replication_status().sql
'SHOW REPLICA STATUS'
>>> Dialect.detect("10.11.19-MariaDB-0+deb12u1-log").start_replica("east").sql
'START SLAVE %s'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import SecretStr

from mega.domain.address import Endpoint, canonical_host, canonical_port
from mega.domain.gtid import GtidPosition, GtidSet, contains
from mega.errors import InvalidArgument
from mega.mysql.conn import Flavour

__all__ = [
    "Dialect",
    "Flavour",
    "ReplicationStatus",
    "ServerVersion",
    "Statement",
    "ThreadState",
    "UnsupportedServer",
]

_VERSION_RE = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{0,64}$")
_USER_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")


class UnsupportedServer(InvalidArgument):
    """The server's flavour/version is older than what Mega supports."""


@dataclass(frozen=True, order=True)
class ServerVersion:
    """``major.minor.patch``, comparable.

    >>> ServerVersion.parse("5.5.5-10.11.19-MariaDB-0+deb12u1-log")
    ServerVersion(major=10, minor=11, patch=19)
    >>> ServerVersion.parse("8.0.36-28") >= ServerVersion(8, 0, 22)
    True
    """

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> ServerVersion:
        """Parse ``@@version`` (MariaDB's handshake ``5.5.5-`` prefix is skipped).

        :raises InvalidArgument: when no ``x.y.z`` is found.
        """
        if not isinstance(text, str):
            raise InvalidArgument(f"version must be a string, got {type(text).__name__}")
        body = text[6:] if text.startswith("5.5.5-") else text
        match = _VERSION_RE.search(body)
        if match is None:
            raise InvalidArgument(f"cannot read a version from {text!r}")
        return cls(int(match[1]), int(match[2]), int(match[3]))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class Statement:
    """SQL with ``%s`` placeholders and its parameters (SecretStr values are shown masked)."""

    sql: str
    params: tuple[Any, ...] = ()


def _name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise InvalidArgument(f"{what} must match {_NAME_RE.pattern}, got {value!r}")
    return value


def _user(value: str) -> str:
    if not isinstance(value, str) or not _USER_RE.match(value):
        raise InvalidArgument(f"user name must match {_USER_RE.pattern}, got {value!r}")
    return value


def _secret(value: SecretStr | str) -> SecretStr:
    secret = value if isinstance(value, SecretStr) else SecretStr(value)
    if "\x00" in secret.get_secret_value():
        raise InvalidArgument("password contains a NUL byte")
    return secret


@dataclass(frozen=True)
class Dialect:
    """Statement builder for one flavour and version; build it with :meth:`detect` or :meth:`of`."""

    flavour: Flavour
    version: ServerVersion

    def __post_init__(self) -> None:
        minimum = ServerVersion(10, 6, 0) if self.flavour is Flavour.MARIADB else ServerVersion(8, 0, 0)
        if self.version < minimum:
            raise UnsupportedServer(f"{self.flavour} {self.version} is not supported (minimum {minimum})")

    @classmethod
    def detect(cls, version_text: str) -> Dialect:
        """The dialect for a ``@@version`` string (``...-MariaDB...`` means MariaDB).

        :raises UnsupportedServer: for versions below MariaDB 10.6 / MySQL 8.0.
        :raises InvalidArgument: when no version can be read.
        """
        flavour = Flavour.MARIADB if "mariadb" in version_text.lower() else Flavour.MYSQL
        return cls(flavour, ServerVersion.parse(version_text))

    @classmethod
    def of(cls, flavour: Flavour | str, version: str | ServerVersion) -> Dialect:
        """The dialect for an explicit flavour and version (``Dialect.of("mysql", "8.4.0")``)."""
        ver = version if isinstance(version, ServerVersion) else ServerVersion.parse(version)
        return cls(Flavour(flavour), ver)

    # ---- capabilities ----------------------------------------------------------------------

    @property
    def is_mariadb(self) -> bool:
        """True for MariaDB."""
        return self.flavour is Flavour.MARIADB

    @property
    def has_super_read_only(self) -> bool:
        """MySQL has ``super_read_only``; MariaDB does not (ha-notes 9.3)."""
        return not self.is_mariadb

    @property
    def _replica_words(self) -> bool:
        return not self.is_mariadb and self.version >= ServerVersion(8, 0, 22)

    @property
    def _source_words(self) -> bool:
        return not self.is_mariadb and self.version >= ServerVersion(8, 0, 23)

    def _channel(self, connection: str) -> tuple[str, tuple[Any, ...]]:
        """MySQL's ``FOR CHANNEL`` suffix (empty for the default channel)."""
        _name(connection, "channel name")
        return (" FOR CHANNEL %s", (connection,)) if connection else ("", ())

    def _mariadb_conn(self, connection: str) -> tuple[str, tuple[Any, ...]]:
        _name(connection, "connection name")
        return (" %s", (connection,)) if connection else ("", ())

    # ---- replication -----------------------------------------------------------------------

    def show_replication_status(self) -> Statement:
        """All replication connections/channels, one row each (MariaDB includes the '' one)."""
        if self.is_mariadb:
            return Statement("SHOW ALL SLAVES STATUS")
        return Statement("SHOW REPLICA STATUS" if self._replica_words else "SHOW SLAVE STATUS")

    def change_source(
        self,
        source: Endpoint,
        user: str,
        password: SecretStr | str,
        *,
        connection: str = "",
        demote: bool = False,
        connect_retry: int | None = None,
        heartbeat: float | None = None,
        get_public_key: bool = False,
    ) -> Statement:
        """Point a replica at ``source`` with GTID auto-positioning.

        :param source: the new source's endpoint (validated again here).
        :param user: the replication account.
        :param password: its password (kept as SecretStr inside the statement).
        :param connection: MariaDB connection name / MySQL channel ('' = default).
        :param demote: the target was a primary: MariaDB 10.10+ adds ``MASTER_DEMOTE_TO_SLAVE=1``
            (older MariaDB uses ``MASTER_USE_GTID=current_pos``); MySQL needs nothing extra.
        :param connect_retry: seconds between reconnection attempts.
        :param heartbeat: MariaDB/MySQL heartbeat period in seconds.
        :param get_public_key: MySQL only, ``GET_SOURCE_PUBLIC_KEY=1`` (caching_sha2 without TLS).
        :returns: the statement (the replica must be stopped first).
        :raises InvalidArgument: on an invalid host, port, user or name.
        """
        host, port = canonical_host(source.host), canonical_port(source.port)
        prefix = "SOURCE" if self._source_words else "MASTER"
        opts = [f"{prefix}_HOST = %s", f"{prefix}_PORT = %s", f"{prefix}_USER = %s", f"{prefix}_PASSWORD = %s"]
        params: list[Any] = [host, port, _user(user), _secret(password)]
        if connect_retry is not None:
            opts.append(f"{prefix}_CONNECT_RETRY = %s")
            params.append(int(connect_retry))
        if heartbeat is not None:
            opts.append(f"{prefix}_HEARTBEAT_PERIOD = %s")
            params.append(float(heartbeat))
        if self.is_mariadb:
            if demote and self.version >= ServerVersion(10, 10, 0):
                opts += ["MASTER_USE_GTID = slave_pos", "MASTER_DEMOTE_TO_SLAVE = 1"]
            else:
                opts.append("MASTER_USE_GTID = current_pos" if demote else "MASTER_USE_GTID = slave_pos")
            name_sql, name_params = self._mariadb_conn(connection)
            return Statement(f"CHANGE MASTER{name_sql} TO " + ", ".join(opts), (*name_params, *params))
        opts.append(f"{prefix}_AUTO_POSITION = 1")
        if get_public_key:
            opts.append(f"GET_{prefix}_PUBLIC_KEY = 1")
        channel_sql, channel_params = self._channel(connection)
        head = "CHANGE REPLICATION SOURCE TO " if self._source_words else "CHANGE MASTER TO "
        return Statement(head + ", ".join(opts) + channel_sql, (*params, *channel_params))

    def _replica_verb(self, verb: str, connection: str) -> Statement:
        if self.is_mariadb:
            name_sql, name_params = self._mariadb_conn(connection)
            return Statement(f"{verb} SLAVE{name_sql}", name_params)
        word = "REPLICA" if self._replica_words else "SLAVE"
        channel_sql, channel_params = self._channel(connection)
        return Statement(f"{verb} {word}{channel_sql}", channel_params)

    def start_replica(self, connection: str = "") -> Statement:
        """Start both replication threads of ``connection`` ('' = default)."""
        return self._replica_verb("START", connection)

    def stop_replica(self, connection: str = "") -> Statement:
        """Stop both replication threads of ``connection`` ('' = default)."""
        return self._replica_verb("STOP", connection)

    def reset_replica(self, connection: str = "", *, all_: bool = True) -> Statement:
        """Forget the replication configuration (``ALL``) or only the relay logs.

        MariaDB: ``RESET SLAVE 'c' ALL``; MySQL: ``RESET REPLICA ALL FOR CHANNEL 'c'``.
        """
        suffix = " ALL" if all_ else ""
        if self.is_mariadb:
            name_sql, name_params = self._mariadb_conn(connection)
            return Statement(f"RESET SLAVE{name_sql}{suffix}", name_params)
        word = "REPLICA" if self._replica_words else "SLAVE"
        channel_sql, channel_params = self._channel(connection)
        return Statement(f"RESET {word}{suffix}{channel_sql}", channel_params)

    # ---- read_only, timeouts, sessions -----------------------------------------------------

    def set_read_only(self, on: bool) -> tuple[Statement, ...]:
        """Statements to turn read-only on or off (MySQL: ``super_read_only`` too, in safe order)."""
        if self.is_mariadb:
            return (Statement("SET GLOBAL read_only = %s", (1 if on else 0,)),)
        if on:
            return (Statement("SET GLOBAL read_only = 1"), Statement("SET GLOBAL super_read_only = 1"))
        return (Statement("SET GLOBAL super_read_only = 0"), Statement("SET GLOBAL read_only = 0"))

    def read_only_query(self) -> Statement:
        """``read_only`` and (MySQL) ``super_read_only`` as columns of the same names."""
        if self.is_mariadb:
            return Statement("SELECT @@GLOBAL.read_only AS read_only, NULL AS super_read_only")
        return Statement("SELECT @@GLOBAL.read_only AS read_only, @@GLOBAL.super_read_only AS super_read_only")

    def session_timeouts(self, seconds: float) -> tuple[Statement, ...]:
        """Server-side limits for the following statements of this session.

        ``lock_wait_timeout`` (whole seconds, at least 1) bounds metadata/global-lock waits such as
        ``SET GLOBAL read_only`` behind ``LOCK TABLES``; MariaDB's ``max_statement_time`` (seconds)
        and MySQL's ``max_execution_time`` (ms, SELECT only) bound the rest.
        """
        if seconds <= 0:
            raise InvalidArgument("timeout must be positive")
        whole = max(1, int(seconds + 0.999))
        out = [Statement("SET SESSION lock_wait_timeout = %s", (whole,))]
        if self.is_mariadb:
            out.append(Statement("SET SESSION max_statement_time = %s", (float(seconds),)))
        else:
            out.append(Statement("SET SESSION max_execution_time = %s", (int(seconds * 1000),)))
        return tuple(out)

    def clear_session_timeouts(self) -> tuple[Statement, ...]:
        """Undo :meth:`session_timeouts` (back to the global defaults)."""
        var = "max_statement_time" if self.is_mariadb else "max_execution_time"
        return (
            Statement("SET SESSION lock_wait_timeout = @@GLOBAL.lock_wait_timeout"),
            Statement(f"SET SESSION {var} = @@GLOBAL.{var}"),
        )

    def kill(self, thread_id: int) -> Statement:
        """Kill a session by id (``KILL CONNECTION``)."""
        if isinstance(thread_id, bool) or not isinstance(thread_id, int) or thread_id <= 0:
            raise InvalidArgument(f"thread id must be a positive int, got {thread_id!r}")
        return Statement("KILL CONNECTION %s", (thread_id,))

    def sessions_query(self) -> Statement:
        """Client sessions (not system threads) with their user, host, command and time."""
        return Statement(
            "SELECT ID AS id, USER AS user, HOST AS host, DB AS db, COMMAND AS command, TIME AS time "
            "FROM information_schema.PROCESSLIST WHERE COMMAND NOT IN ('Daemon', 'Binlog Dump', "
            "'Binlog Dump GTID', 'Slave_IO', 'Slave_SQL', 'Slave_worker') AND USER <> 'system user'"
        )

    def privileged_users_query(self) -> Statement:
        """Accounts that write through ``read_only``: SUPER, and READ_ONLY ADMIN on MariaDB.

        MariaDB 10.11 SUPER includes READ_ONLY ADMIN; MySQL's super_read_only blocks everybody, so
        there it lists the SUPER/CONNECTION_ADMIN holders worth killing after a demotion.
        """
        if self.is_mariadb:
            return Statement(
                "SELECT DISTINCT GRANTEE AS grantee FROM information_schema.USER_PRIVILEGES "
                "WHERE PRIVILEGE_TYPE IN ('SUPER', 'READ_ONLY ADMIN')"
            )
        return Statement(
            "SELECT DISTINCT GRANTEE AS grantee FROM information_schema.USER_PRIVILEGES "
            "WHERE PRIVILEGE_TYPE IN ('SUPER', 'CONNECTION_ADMIN')"
        )

    # ---- GTID and binlog -------------------------------------------------------------------

    def wait_for_gtid(self, position: str, timeout: float) -> Statement:
        """Wait until this server has applied ``position``; one column ``result``.

        Interpret the value with :meth:`wait_reached`.
        """
        if timeout < 0:
            raise InvalidArgument("timeout must not be negative")
        if self.is_mariadb:
            return Statement("SELECT MASTER_GTID_WAIT(%s, %s) AS result", (str(GtidPosition.parse(position)), timeout))
        return Statement("SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, %s) AS result", (str(GtidSet.parse(position)), timeout))

    def wait_reached(self, result: Any) -> bool:
        """True when :meth:`wait_for_gtid` returned "reached" (MariaDB 0, MySQL 0; timeout -1 / 1)."""
        return result is not None and int(result) == 0

    def gtid_positions(self) -> Statement:
        """The GTID variables, as columns named like the :class:`InstanceSnapshot` fields."""
        if self.is_mariadb:
            return Statement(
                "SELECT @@GLOBAL.gtid_binlog_pos AS gtid_binlog_pos, @@GLOBAL.gtid_slave_pos AS gtid_slave_pos, "
                "@@GLOBAL.gtid_current_pos AS gtid_current_pos, @@GLOBAL.gtid_binlog_state AS gtid_binlog_state, "
                "@@GLOBAL.gtid_strict_mode AS gtid_strict_mode, @@GLOBAL.gtid_domain_id AS gtid_domain_id"
            )
        return Statement(
            "SELECT @@GLOBAL.gtid_executed AS gtid_executed, @@GLOBAL.gtid_purged AS gtid_purged, "
            "@@GLOBAL.gtid_mode AS gtid_mode, @@GLOBAL.enforce_gtid_consistency AS enforce_gtid_consistency"
        )

    def binary_log_status(self) -> Statement:
        """Current binlog file and position (MySQL 8.2+ renamed it; 8.4 removed the old form)."""
        if not self.is_mariadb and self.version >= ServerVersion(8, 2, 0):
            return Statement("SHOW BINARY LOG STATUS")
        return Statement("SHOW MASTER STATUS")

    def flush_binary_logs(self) -> Statement:
        """Rotate the binlog (``FLUSH BINARY LOGS``, same on both)."""
        return Statement("FLUSH BINARY LOGS")

    def server_identity_query(self) -> Statement:
        """Version, ids and replication-relevant switches in one row."""
        uuid = "NULL" if self.is_mariadb else "@@GLOBAL.server_uuid"
        updates = "@@GLOBAL.log_slave_updates" if self.is_mariadb else "@@GLOBAL.log_replica_updates"
        if not self.is_mariadb and self.version < ServerVersion(8, 0, 26):
            updates = "@@GLOBAL.log_slave_updates"
        return Statement(
            f"SELECT @@GLOBAL.version AS version, @@GLOBAL.server_id AS server_id, {uuid} AS server_uuid, "
            "@@GLOBAL.hostname AS hostname, @@GLOBAL.port AS port, @@GLOBAL.report_host AS report_host, "
            f"@@GLOBAL.log_bin AS log_bin, {updates} AS log_slave_updates, "
            "@@GLOBAL.binlog_format AS binlog_format"
        )

    # ---- status rows -----------------------------------------------------------------------

    def parse_status(self, row: Mapping[str, Any]) -> ReplicationStatus:
        """Normalise one row of :meth:`show_replication_status` output (see :class:`ReplicationStatus`)."""
        return ReplicationStatus.from_row(row, self.flavour)


class ThreadState(StrEnum):
    """``Slave_IO_Running`` / ``Replica_IO_Running`` values."""

    YES = "Yes"
    NO = "No"
    CONNECTING = "Connecting"
    PREPARING = "Preparing"
    UNKNOWN = "Unknown"

    @classmethod
    def parse(cls, value: Any) -> ThreadState:
        """Case-insensitive; anything unexpected is ``UNKNOWN``."""
        text = str(value or "").strip().lower()
        for member in cls:
            if member.value.lower() == text:
                return member
        return cls.NO if text == "" else cls.UNKNOWN


# canonical field -> candidate column names, newest spelling first.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "source_host": ("Source_Host", "Master_Host"),
    "source_port": ("Source_Port", "Master_Port"),
    "source_user": ("Source_User", "Master_User"),
    "io_state": ("Replica_IO_Running", "Slave_IO_Running"),
    "sql_state": ("Replica_SQL_Running", "Slave_SQL_Running"),
    "io_state_text": ("Replica_IO_State", "Slave_IO_State"),
    "sql_state_text": ("Replica_SQL_Running_State", "Slave_SQL_Running_State", "Slave_SQL_State"),
    "seconds_behind": ("Seconds_Behind_Source", "Seconds_Behind_Master"),
    "sql_delay": ("SQL_Delay",),
    "sql_remaining_delay": ("SQL_Remaining_Delay",),
    "last_io_errno": ("Last_IO_Errno",),
    "last_io_error": ("Last_IO_Error",),
    "last_sql_errno": ("Last_SQL_Errno",),
    "last_sql_error": ("Last_SQL_Error",),
    "source_server_id": ("Source_Server_Id", "Master_Server_Id"),
    "source_uuid": ("Source_UUID", "Master_UUID"),
    "source_log_file": ("Source_Log_File", "Master_Log_File"),
    "read_source_log_pos": ("Read_Source_Log_Pos", "Read_Master_Log_Pos"),
    "relay_source_log_file": ("Relay_Source_Log_File", "Relay_Master_Log_File"),
    "exec_source_log_pos": ("Exec_Source_Log_Pos", "Exec_Master_Log_Pos"),
    "connection_name": ("Connection_name", "Channel_Name", "Channel_name"),
    "using_gtid": ("Using_Gtid",),
    "auto_position": ("Auto_Position",),
    "gtid_io_pos": ("Gtid_IO_Pos",),
    "gtid_slave_pos": ("Gtid_Slave_Pos",),
    "retrieved_gtid_set": ("Retrieved_Gtid_Set",),
    "executed_gtid_set": ("Executed_Gtid_Set",),
    "retried_transactions": ("Retried_transactions",),
    "heartbeat_period": ("Slave_heartbeat_period",),
    "received_heartbeats": ("Slave_received_heartbeats",),
}


def _pick(row: Mapping[str, Any], field: str) -> Any:
    for column in _COLUMNS[field]:
        if column in row:
            return row[column]
    return None


def _int(value: Any, default: int | None = 0) -> int | None:
    if value is None or value == "":
        return default
    return int(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class ReplicationStatus:
    """One replication connection (MariaDB) or channel (MySQL), whatever the column spelling.

    Heartbeat fields exist on MariaDB only (MySQL keeps them in performance_schema).
    GTID fields: MariaDB fills ``gtid_io_pos`` (received into the relay log) and ``gtid_slave_pos``
    (applied); MySQL fills ``retrieved_gtid_set`` and ``executed_gtid_set``.  The others are None.
    """

    flavour: Flavour
    connection_name: str
    source_host: str
    source_port: int
    source_user: str
    io_state: ThreadState
    sql_state: ThreadState
    seconds_behind: int | None
    sql_delay: int
    last_io_errno: int
    last_io_error: str
    last_sql_errno: int
    last_sql_error: str
    source_server_id: int | None = None
    source_uuid: str | None = None
    source_log_file: str = ""
    read_source_log_pos: int = 0
    relay_source_log_file: str = ""
    exec_source_log_pos: int = 0
    io_state_text: str = ""
    sql_state_text: str = ""
    using_gtid: bool = False
    gtid_io_pos: GtidPosition | None = None
    gtid_slave_pos: GtidPosition | None = None
    retrieved_gtid_set: GtidSet | None = None
    executed_gtid_set: GtidSet | None = None
    sql_remaining_delay: int | None = None
    retried_transactions: int = 0
    heartbeat_period: float | None = None
    received_heartbeats: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any], flavour: Flavour) -> ReplicationStatus:
        """Build from a status row (DictCursor) of either flavour and any supported version.

        :param row: column name -> value, as the server returned it.
        :param flavour: which GTID columns to read.
        :returns: the normalised status.
        :raises InvalidArgument: when a GTID column is malformed or host/port columns are missing.
        """
        host = _pick(row, "source_host")
        if host is None or _pick(row, "source_port") is None:
            raise InvalidArgument("not a replication status row: no source host/port column")
        mariadb = flavour is Flavour.MARIADB
        using = _text(_pick(row, "using_gtid")).lower()
        uuid = _text(_pick(row, "source_uuid")) or None
        return cls(
            flavour=flavour,
            connection_name=_text(_pick(row, "connection_name")),
            source_host=_text(host),
            source_port=int(_pick(row, "source_port") or 0),
            source_user=_text(_pick(row, "source_user")),
            io_state=ThreadState.parse(_pick(row, "io_state")),
            sql_state=ThreadState.parse(_pick(row, "sql_state")),
            seconds_behind=_int(_pick(row, "seconds_behind"), None),
            sql_delay=_int(_pick(row, "sql_delay")) or 0,
            last_io_errno=_int(_pick(row, "last_io_errno")) or 0,
            last_io_error=_text(_pick(row, "last_io_error")),
            last_sql_errno=_int(_pick(row, "last_sql_errno")) or 0,
            last_sql_error=_text(_pick(row, "last_sql_error")),
            source_server_id=_int(_pick(row, "source_server_id"), None),
            source_uuid=uuid,
            source_log_file=_text(_pick(row, "source_log_file")),
            read_source_log_pos=_int(_pick(row, "read_source_log_pos")) or 0,
            relay_source_log_file=_text(_pick(row, "relay_source_log_file")),
            exec_source_log_pos=_int(_pick(row, "exec_source_log_pos")) or 0,
            io_state_text=_text(_pick(row, "io_state_text")),
            sql_state_text=_text(_pick(row, "sql_state_text")),
            using_gtid=(using not in ("", "no")) if mariadb else bool(_int(_pick(row, "auto_position"))),
            gtid_io_pos=GtidPosition.parse(_text(_pick(row, "gtid_io_pos"))) if mariadb else None,
            gtid_slave_pos=GtidPosition.parse(_text(_pick(row, "gtid_slave_pos"))) if mariadb else None,
            retrieved_gtid_set=None if mariadb else GtidSet.parse(_text(_pick(row, "retrieved_gtid_set"))),
            executed_gtid_set=None if mariadb else GtidSet.parse(_text(_pick(row, "executed_gtid_set"))),
            sql_remaining_delay=_int(_pick(row, "sql_remaining_delay"), None),
            retried_transactions=_int(_pick(row, "retried_transactions")) or 0,
            heartbeat_period=float(hb) if (hb := _pick(row, "heartbeat_period")) is not None else None,
            received_heartbeats=_int(_pick(row, "received_heartbeats"), None),
        )

    @property
    def io_running(self) -> bool:
        """The IO (receiver) thread is connected and running."""
        return self.io_state is ThreadState.YES

    @property
    def sql_running(self) -> bool:
        """The SQL (applier) thread is running."""
        return self.sql_state is ThreadState.YES

    @property
    def healthy(self) -> bool:
        """Both threads run and neither reports an error."""
        return self.io_running and self.sql_running and not self.last_io_errno and not self.last_sql_errno

    @property
    def source(self) -> Endpoint | None:
        """The source as a canonical :class:`Endpoint`, or None when host/port are not usable."""
        try:
            return Endpoint(canonical_host(self.source_host), canonical_port(self.source_port))
        except InvalidArgument:
            return None

    @property
    def relay_log_applied(self) -> bool | None:
        """MariaDB: Gtid_Slave_Pos has reached Gtid_IO_Pos; MySQL: Executed covers Retrieved."""
        if self.gtid_io_pos is not None and self.gtid_slave_pos is not None:
            return contains(self.gtid_slave_pos, self.gtid_io_pos)
        if self.retrieved_gtid_set is not None and self.executed_gtid_set is not None:
            return self.executed_gtid_set.contains(self.retrieved_gtid_set)
        return None
