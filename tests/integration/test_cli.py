"""The ``mega`` command line, run as a user would (a real subprocess on a SQLite store)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MEGA = str(Path(sys.executable).with_name("mega"))


@pytest.fixture
def mega(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {**os.environ, "MEGA_DB_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([MEGA, *args], env=env, capture_output=True, text=True, timeout=60)
        if ok:
            assert out.returncode == 0, out.stderr
        return out

    return run


def test_db_upgrade(mega) -> None:  # type: ignore[no-untyped-def]
    assert "revision 0001" in mega("db", "upgrade").stdout


def test_inventory_round_trip(mega) -> None:  # type: ignore[no-untyped-def]
    mega("server", "add", "10.0.0.1", "--name", "db01", "--os", "Debian")
    mega("instance", "add", "10.0.0.1", "3306", "--name", "primary")
    mega("instance", "add", "10.0.0.2", "3306", "--master", "10.0.0.1:3306")
    mega("database", "add", "10.0.0.1", "3306", "orders")
    mega("group", "add", "g1", "10.0.0.1:3306", "--members", "10.0.0.2:3306", "--wvip", "10.0.0.100")
    servers = json.loads(mega("server", "list", "--json").stdout)
    assert [(s["ip"], s["name"], s["os"]) for s in servers] == [("10.0.0.1", "db01", "Debian"),
                                                                ("10.0.0.2", "10.0.0.2", "Linux")]
    table = mega("instance", "list").stdout.splitlines()
    assert table[0].split()[:6] == ["ID", "IP", "PORT", "NAME", "ROLE", "MASTER"]
    assert "10.0.0.1:3306" in table[2]
    group = json.loads(mega("group", "show", "g1", "--json").stdout)
    assert group["members"] == ["10.0.0.1:3306", "10.0.0.2:3306"] and group["wvip"] == "10.0.0.100"
    mega("instance", "mod", "10.0.0.2", "3306", "--level", "3")
    assert json.loads(mega("instance", "show", "10.0.0.2", "3306", "--json").stdout)["level"] == 3
    mega("database", "del", "10.0.0.1", "3306", "orders")
    assert json.loads(mega("database", "list", "--stat", "2", "--json").stdout)[0]["name"] == "orders"
    changes = json.loads(mega("changes", "--json").stdout)
    assert changes[0]["actor"].startswith("cli:")


def test_errors_exit_codes_and_messages(mega) -> None:  # type: ignore[no-untyped-def]
    mega("server", "add", "10.0.0.1")
    dup = mega("server", "add", "10.0.0.1", ok=False)
    assert dup.returncode == 4 and "already exists" in dup.stderr
    bad = mega("server", "add", "10.0.0.256", ok=False)
    assert bad.returncode == 2 and "not a valid IPv4 address" in bad.stderr
    missing = mega("instance", "show", "10.0.0.9", "3306", ok=False)
    assert missing.returncode == 3 and "no instance 10.0.0.9:3306" in missing.stderr
    assert "Traceback" not in dup.stderr + bad.stderr + missing.stderr


def test_call_and_funcs(mega, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert mega("call", "add_instance", "'10.0.0.5',3307,instance_name='x'").stdout.strip() == "0"
    row, code = json.loads(mega("call", "get_instance", "ip='10.0.0.5',port=3307", "--json").stdout)
    assert code == 0 and row["name"] == "x"
    marker = tmp_path / "pwned"
    evil = mega("call", "add_server", f"__import__('os').system('touch {marker}')", ok=False)
    assert evil.returncode == 2 and not marker.exists()
    assert mega("call", "no_such_function", ok=False).returncode == 2
    names = mega("funcs").stdout
    assert "add_database(db, ip, port, **args)" in names and "update_ha_info(new_master, old_master)" in names


def test_call_explains_a_failure_on_stderr(mega) -> None:  # type: ignore[no-untyped-def]
    out = mega("call", "add_server", "'10.0.0.256'", ok=False)
    assert out.returncode == 2 and out.stdout.strip() == "2" and "not a valid IPv4 address" in out.stderr
    assert mega("call", "get_server", "ip='10.9.9.9'", ok=False).returncode == 3
    assert mega("call", "update_ha_info", "'1.1.1.1:1','2.2.2.2:2'", ok=False).returncode == 1


def test_bad_settings_are_one_line(mega, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "MEGA_DB_URL": "sqlite:////nonexistent-dir/x.db"}
    out = subprocess.run([MEGA, "server", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "folder /nonexistent-dir does not exist" in out.stderr
    assert not Path("/nonexistent-dir").exists() and "Traceback" not in out.stderr
    env = {**os.environ, "MEGA_RPC_ADDR": "nonsense"}
    out = subprocess.run([MEGA, "server", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "rpc_addr" in out.stderr and "Traceback" not in out.stderr


def test_instance_commands_take_host_port(mega) -> None:  # type: ignore[no-untyped-def]
    mega("instance", "add", "10.0.0.4:3307")
    assert json.loads(mega("instance", "show", "10.0.0.4:3307", "--json").stdout)["port"] == 3307
    assert json.loads(mega("instance", "show", "10.0.0.4", "3307", "--json").stdout)["port"] == 3307
