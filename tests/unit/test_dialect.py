"""Dialect per flavour and version, status-row normalisation (MySQL fixture rows), errno table."""

from __future__ import annotations

import doctest
from typing import Any

import pymysql
import pytest
from pydantic import SecretStr

import mega.mysql.conn as conn_module
import mega.mysql.dialect as dialect_module
from mega.domain.address import Endpoint
from mega.domain.gtid import GtidPosition, GtidSet
from mega.errors import InvalidArgument, LiveServerError
from mega.mysql.conn import (
    AccessDenied,
    ErrorKind,
    Flavour,
    GtidError,
    ServerOverloaded,
    ServerTimeout,
    ServerUnreachable,
    classify,
    translate,
)
from mega.mysql.dialect import Dialect, ReplicationStatus, ServerVersion, Statement, ThreadState, UnsupportedServer

U1 = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
U2 = "8a94f357-aab4-11df-86ab-c80aa9429562"
SRC = Endpoint("10.0.0.5", 3306)

MARIADB = Dialect.detect("10.11.19-MariaDB-0+deb12u1-log")
MARIADB_106 = Dialect.of("mariadb", "10.6.16")
MYSQL_8021 = Dialect.of("mysql", "8.0.21")
MYSQL_8022 = Dialect.of("mysql", "8.0.22")
MYSQL_8036 = Dialect.detect("8.0.36-28")
MYSQL_84 = Dialect.detect("8.4.0")


def test_doctests() -> None:
    for module in (dialect_module, conn_module):
        assert doctest.testmod(module).failed == 0


# ---- versions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "flavour", "version"),
    [
        ("10.11.19-MariaDB-0+deb12u1-log", Flavour.MARIADB, (10, 11, 19)),
        ("5.5.5-10.6.16-MariaDB", Flavour.MARIADB, (10, 6, 16)),
        ("8.0.36", Flavour.MYSQL, (8, 0, 36)),
        ("8.0.36-28", Flavour.MYSQL, (8, 0, 36)),
        ("8.4.2-log", Flavour.MYSQL, (8, 4, 2)),
    ],
)
def test_detect(text: str, flavour: Flavour, version: tuple[int, int, int]) -> None:
    d = Dialect.detect(text)
    assert d.flavour is flavour
    assert d.version == ServerVersion(*version)


@pytest.mark.parametrize("text", ["10.5.22-MariaDB", "5.7.44", "10.3.1-MariaDB-log"])
def test_too_old(text: str) -> None:
    with pytest.raises(UnsupportedServer):
        Dialect.detect(text)


def test_no_version() -> None:
    with pytest.raises(InvalidArgument):
        Dialect.detect("banana")


# ---- statements ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        (MARIADB, "SHOW ALL SLAVES STATUS"),
        (MYSQL_8021, "SHOW SLAVE STATUS"),
        (MYSQL_8022, "SHOW REPLICA STATUS"),
        (MYSQL_84, "SHOW REPLICA STATUS"),
    ],
)
def test_show_status(dialect: Dialect, sql: str) -> None:
    assert dialect.show_replication_status() == Statement(sql)


def test_change_source_mariadb() -> None:
    stmt = MARIADB.change_source(SRC, "repl", SecretStr("s3cr'et"), connection="east", connect_retry=1)
    assert stmt.sql == (
        "CHANGE MASTER %s TO MASTER_HOST = %s, MASTER_PORT = %s, MASTER_USER = %s, MASTER_PASSWORD = %s, "
        "MASTER_CONNECT_RETRY = %s, MASTER_USE_GTID = slave_pos"
    )
    assert stmt.params[:4] == ("east", "10.0.0.5", 3306, "repl")
    assert isinstance(stmt.params[4], SecretStr)
    assert "s3cr" not in repr(stmt), "the password never shows in a repr or log line"


def test_change_source_mariadb_demote_by_version() -> None:
    assert MARIADB.change_source(SRC, "r", "p", demote=True).sql.endswith(
        "MASTER_USE_GTID = slave_pos, MASTER_DEMOTE_TO_SLAVE = 1"
    )
    assert MARIADB_106.change_source(SRC, "r", "p", demote=True).sql.endswith("MASTER_USE_GTID = current_pos")
    assert MARIADB.change_source(SRC, "r", "p").sql.startswith("CHANGE MASTER TO ")


def test_change_source_mysql_by_version() -> None:
    new = MYSQL_84.change_source(SRC, "r", "p", connection="ch1", get_public_key=True)
    assert new.sql == (
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST = %s, SOURCE_PORT = %s, SOURCE_USER = %s, SOURCE_PASSWORD = %s, "
        "SOURCE_AUTO_POSITION = 1, GET_SOURCE_PUBLIC_KEY = 1 FOR CHANNEL %s"
    )
    assert new.params[-1] == "ch1"
    old = MYSQL_8022.change_source(SRC, "r", "p")
    assert old.sql.startswith("CHANGE MASTER TO MASTER_HOST = %s")
    assert old.sql.endswith("MASTER_AUTO_POSITION = 1")
    assert "DEMOTE" not in MYSQL_8036.change_source(SRC, "r", "p", demote=True).sql


@pytest.mark.parametrize(
    "kwargs",
    [
        {"source": Endpoint("bad host", 3306)},
        {"source": Endpoint("10.0.0.1", 0)},
        {"source": Endpoint("10.0.0.1", 70000)},
        {"user": "x'; DROP TABLE t; --"},
        {"user": ""},
        {"connection": "a'b"},
        {"password": "nul\x00byte"},
    ],
)
def test_change_source_validates(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"source": SRC, "user": "repl", "password": "p"}
    connection = kwargs.pop("connection", "")
    args.update(kwargs)
    with pytest.raises(InvalidArgument):
        MARIADB.change_source(args["source"], args["user"], args["password"], connection=connection)


def test_quoting_is_pymysql_escape() -> None:
    # PyMySQL renders %s parameters client-side with its escaper: hostile text stays one literal.
    stmt = MARIADB.change_source(SRC, "repl", "p'w\\d")
    values = tuple(v.get_secret_value() if isinstance(v, SecretStr) else v for v in stmt.params)
    rendered = stmt.sql % tuple(pymysql.converters.escape_item(v, "utf8mb4") for v in values)
    assert "MASTER_PASSWORD = 'p\\'w\\\\d'" in rendered


@pytest.mark.parametrize(
    ("dialect", "start", "stop", "reset"),
    [
        (MARIADB, "START SLAVE", "STOP SLAVE", "RESET SLAVE ALL"),
        (MYSQL_8021, "START SLAVE", "STOP SLAVE", "RESET SLAVE ALL"),
        (MYSQL_8036, "START REPLICA", "STOP REPLICA", "RESET REPLICA ALL"),
        (MYSQL_84, "START REPLICA", "STOP REPLICA", "RESET REPLICA ALL"),
    ],
)
def test_replica_verbs(dialect: Dialect, start: str, stop: str, reset: str) -> None:
    assert dialect.start_replica().sql == start
    assert dialect.stop_replica().sql == stop
    assert dialect.reset_replica().sql == reset


def test_named_connections() -> None:
    assert MARIADB.stop_replica("east") == Statement("STOP SLAVE %s", ("east",))
    assert MARIADB.reset_replica("east") == Statement("RESET SLAVE %s ALL", ("east",))
    assert MYSQL_84.start_replica("east") == Statement("START REPLICA FOR CHANNEL %s", ("east",))
    assert MYSQL_84.reset_replica("east", all_=False) == Statement("RESET REPLICA FOR CHANNEL %s", ("east",))


def test_read_only() -> None:
    assert [s.sql for s in MARIADB.set_read_only(True)] == ["SET GLOBAL read_only = %s"]
    assert [s.sql for s in MYSQL_84.set_read_only(True)] == [
        "SET GLOBAL read_only = 1",
        "SET GLOBAL super_read_only = 1",
    ]
    assert [s.sql for s in MYSQL_84.set_read_only(False)] == [
        "SET GLOBAL super_read_only = 0",
        "SET GLOBAL read_only = 0",
    ]
    assert not MARIADB.has_super_read_only and MYSQL_8021.has_super_read_only


def test_session_timeouts() -> None:
    assert MARIADB.session_timeouts(1.5) == (
        Statement("SET SESSION lock_wait_timeout = %s", (2,)),
        Statement("SET SESSION max_statement_time = %s", (1.5,)),
    )
    assert MYSQL_84.session_timeouts(0.2)[1] == Statement("SET SESSION max_execution_time = %s", (200,))
    with pytest.raises(InvalidArgument):
        MARIADB.session_timeouts(0)


def test_wait_and_binlog_status() -> None:
    assert MARIADB.wait_for_gtid("0-1-5", 3) == Statement("SELECT MASTER_GTID_WAIT(%s, %s) AS result", ("0-1-5", 3))
    stmt = MYSQL_8036.wait_for_gtid(f"{U1.upper()}:1-5", 3)
    assert stmt.sql == "SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, %s) AS result"
    assert stmt.params == (f"{U1}:1-5", 3)
    with pytest.raises(InvalidArgument):
        MARIADB.wait_for_gtid("0-1-5'); DROP", 1)
    assert MARIADB.wait_reached(0) and not MARIADB.wait_reached(-1)
    assert MYSQL_84.wait_reached(0) and not MYSQL_84.wait_reached(1)
    assert MARIADB.binary_log_status().sql == "SHOW MASTER STATUS"
    assert MYSQL_8036.binary_log_status().sql == "SHOW MASTER STATUS"
    assert MYSQL_84.binary_log_status().sql == "SHOW BINARY LOG STATUS"


def test_kill_validates() -> None:
    assert MARIADB.kill(12) == Statement("KILL CONNECTION %s", (12,))
    for bad in (0, -1, True, "12; DROP"):
        with pytest.raises(InvalidArgument):
            MARIADB.kill(bad)  # type: ignore[arg-type]


def test_identity_query_by_version() -> None:
    assert "log_replica_updates" in MYSQL_84.server_identity_query().sql
    assert "log_slave_updates" in MYSQL_8022.server_identity_query().sql
    assert "NULL AS server_uuid" in MARIADB.server_identity_query().sql


# ---- status rows ---------------------------------------------------------------------------

MYSQL_8036_ROW: dict[str, Any] = {
    "Replica_IO_State": "Waiting for source to send event",
    "Source_Host": "10.0.0.5",
    "Source_User": "repl",
    "Source_Port": 3306,
    "Connect_Retry": 60,
    "Source_Log_File": "binlog.000042",
    "Read_Source_Log_Pos": 1234,
    "Relay_Log_File": "relay.000007",
    "Relay_Log_Pos": 900,
    "Relay_Source_Log_File": "binlog.000042",
    "Replica_IO_Running": "Yes",
    "Replica_SQL_Running": "Yes",
    "Last_Errno": 0,
    "Last_Error": "",
    "Skip_Counter": 0,
    "Exec_Source_Log_Pos": 1200,
    "Seconds_Behind_Source": 3,
    "Last_IO_Errno": 0,
    "Last_IO_Error": "",
    "Last_SQL_Errno": 0,
    "Last_SQL_Error": "",
    "Source_Server_Id": 1,
    "Source_UUID": U1,
    "SQL_Delay": 0,
    "SQL_Remaining_Delay": None,
    "Replica_SQL_Running_State": "Replica has read all relay log; waiting for more updates",
    "Source_Retry_Count": 86400,
    "Retrieved_Gtid_Set": f"{U1}:1-100",
    "Executed_Gtid_Set": f"{U1}:1-98,\n{U2}:1-2",
    "Auto_Position": 1,
    "Channel_Name": "",
    "Get_Source_public_key": 0,
}

MYSQL_8021_ROW: dict[str, Any] = {
    "Slave_IO_State": "",
    "Master_Host": "db1.example.com",
    "Master_User": "repl",
    "Master_Port": 3307,
    "Master_Log_File": "mysql-bin.000003",
    "Read_Master_Log_Pos": 155,
    "Relay_Master_Log_File": "mysql-bin.000003",
    "Slave_IO_Running": "Connecting",
    "Slave_SQL_Running": "No",
    "Exec_Master_Log_Pos": 155,
    "Seconds_Behind_Master": None,
    "Last_IO_Errno": 13114,
    "Last_IO_Error": "Got fatal error 1236 from source when reading data from binary log",
    "Last_SQL_Errno": 0,
    "Last_SQL_Error": "",
    "Master_Server_Id": 0,
    "Master_UUID": "",
    "SQL_Delay": 3600,
    "SQL_Remaining_Delay": None,
    "Slave_SQL_Running_State": "",
    "Retrieved_Gtid_Set": "",
    "Executed_Gtid_Set": f"{U2}:1-10",
    "Auto_Position": 1,
    "Channel_Name": "east",
}

MARIADB_ROW: dict[str, Any] = {  # captured from a sandbox replica (10.11.19), trimmed
    "Connection_name": "",
    "Slave_SQL_State": "Slave has read all relay log; waiting for more updates",
    "Slave_IO_State": "Waiting for master to send event",
    "Master_Host": "127.0.0.1",
    "Master_User": "mega_repl",
    "Master_Port": 32320,
    "Master_Log_File": "mysql-bin.000001",
    "Read_Master_Log_Pos": 2476,
    "Relay_Master_Log_File": "mysql-bin.000001",
    "Slave_IO_Running": "Yes",
    "Slave_SQL_Running": "Yes",
    "Exec_Master_Log_Pos": 2476,
    "Seconds_Behind_Master": 0,
    "Last_IO_Errno": 0,
    "Last_IO_Error": "",
    "Last_SQL_Errno": 0,
    "Last_SQL_Error": "",
    "Master_Server_Id": 1,
    "Using_Gtid": "Slave_Pos",
    "Gtid_IO_Pos": "0-1-12",
    "SQL_Delay": 0,
    "SQL_Remaining_Delay": None,
    "Slave_SQL_Running_State": "Slave has read all relay log; waiting for more updates",
    "Retried_transactions": 0,
    "Gtid_Slave_Pos": "0-1-10",
    "Slave_heartbeat_period": 2.0,
    "Slave_received_heartbeats": 4,
}


def test_mysql_8036_row() -> None:
    st = MYSQL_8036.parse_status(MYSQL_8036_ROW)
    assert st.flavour is Flavour.MYSQL
    assert st.connection_name == ""
    assert st.source == Endpoint("10.0.0.5", 3306)
    assert st.io_running and st.sql_running and st.healthy
    assert st.seconds_behind == 3
    assert st.source_uuid == U1 and st.source_server_id == 1
    assert st.using_gtid
    assert st.retrieved_gtid_set == GtidSet.parse(f"{U1}:1-100")
    assert st.executed_gtid_set == GtidSet.parse(f"{U2}:1-2,{U1}:1-98")
    assert st.gtid_io_pos is None and st.gtid_slave_pos is None
    assert st.relay_log_applied is False, "98 of 100 applied"
    assert (st.source_log_file, st.read_source_log_pos, st.exec_source_log_pos) == ("binlog.000042", 1234, 1200)
    assert st.heartbeat_period is None


def test_mysql_8021_row() -> None:
    st = MYSQL_8021.parse_status(MYSQL_8021_ROW)
    assert st.connection_name == "east"
    assert st.io_state is ThreadState.CONNECTING and not st.io_running
    assert not st.sql_running and not st.healthy
    assert st.seconds_behind is None
    assert st.sql_delay == 3600
    assert st.last_io_errno == 13114
    assert classify(st.last_io_errno, Flavour.MYSQL) is ErrorKind.GTID
    assert st.source == Endpoint("db1.example.com", 3307)
    assert st.source_uuid is None
    assert st.relay_log_applied is True, "nothing retrieved, nothing to apply"


def test_mariadb_row() -> None:
    st = MARIADB.parse_status(MARIADB_ROW)
    assert st.flavour is Flavour.MARIADB
    assert st.using_gtid
    assert st.gtid_io_pos == GtidPosition.parse("0-1-12")
    assert st.gtid_slave_pos == GtidPosition.parse("0-1-10")
    assert st.relay_log_applied is False
    assert st.retrieved_gtid_set is None
    assert st.heartbeat_period == 2.0 and st.received_heartbeats == 4
    assert st.sql_state_text.startswith("Slave has read all")
    no_gtid = MARIADB.parse_status({**MARIADB_ROW, "Using_Gtid": "No", "Connection_name": "west"})
    assert not no_gtid.using_gtid and no_gtid.connection_name == "west"


def test_status_is_frozen_and_rejects_non_status_rows() -> None:
    st = ReplicationStatus.from_row(MYSQL_8036_ROW, Flavour.MYSQL)
    with pytest.raises(AttributeError):
        st.source_port = 1  # type: ignore[misc]
    with pytest.raises(InvalidArgument):
        ReplicationStatus.from_row({"Variable_name": "x"}, Flavour.MYSQL)
    with pytest.raises(InvalidArgument):
        ReplicationStatus.from_row({**MYSQL_8036_ROW, "Executed_Gtid_Set": "garbage"}, Flavour.MYSQL)


# ---- errno table ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errno", "flavour", "kind"),
    [
        (2002, None, ErrorKind.UNREACHABLE),
        (2003, None, ErrorKind.UNREACHABLE),
        (2006, None, ErrorKind.UNREACHABLE),
        (2013, None, ErrorKind.UNREACHABLE),
        (1045, None, ErrorKind.ACCESS_DENIED),
        (1227, None, ErrorKind.ACCESS_DENIED),
        (1040, None, ErrorKind.OVERLOADED),
        (1205, None, ErrorKind.TIMEOUT),
        (1969, Flavour.MARIADB, ErrorKind.TIMEOUT),
        (3024, Flavour.MYSQL, ErrorKind.TIMEOUT),
        (1236, None, ErrorKind.GTID),
        (1947, Flavour.MARIADB, ErrorKind.GTID),
        (1948, None, ErrorKind.GTID),
        (1290, None, ErrorKind.READ_ONLY),
        (1198, None, ErrorKind.REPLICATION_STATE),
        (4031, Flavour.MYSQL, ErrorKind.UNREACHABLE),
        (4031, Flavour.MARIADB, ErrorKind.OTHER),
        (9999, None, ErrorKind.OTHER),
        (None, None, ErrorKind.OTHER),
    ],
)
def test_classify(errno: int | None, flavour: Flavour | None, kind: ErrorKind) -> None:
    assert classify(errno, flavour) is kind


def test_translate_by_errno_not_text() -> None:
    err = translate(pymysql.err.OperationalError(1040, "Too many connections"), "h:1")
    assert isinstance(err, ServerOverloaded) and err.errno == 1040 and err.target == "h:1"
    # Same text, different number: the number decides.
    err = translate(pymysql.err.OperationalError(1045, "Too many connections"), "h:1")
    assert isinstance(err, AccessDenied)
    assert isinstance(translate(pymysql.err.OperationalError(1948, "x"), flavour=Flavour.MARIADB), GtidError)
    assert isinstance(translate(ConnectionRefusedError(111, "refused")), ServerUnreachable)
    timed_out = pymysql.err.OperationalError(2013, "Lost connection")
    timed_out.__cause__ = TimeoutError("timed out")
    assert isinstance(translate(timed_out), ServerTimeout), "client read deadline = timeout, by type"
    other = translate(pymysql.err.ProgrammingError(1064, "syntax"))
    assert isinstance(other, LiveServerError) and other.kind is ErrorKind.UNSUPPORTED
