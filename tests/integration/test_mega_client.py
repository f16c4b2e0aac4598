"""The legacy mega_client against a real RpcServer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mega.rpc import codec
from mega.rpc.server import RpcServer
from mega_client import sender, setting
from mega_client.sender import MegaClient, MegaRemoteError, MegaRequestFailed, MegaTool, MegaUnavailable


def update_ha_info(old: str, new: str) -> bool:
    return False


def add_failover_record(record_id: Any, kind: str, old: str, new: str, name: str = "") -> int:
    return 32


def stat_failover_record(record_id: int, stat: str = "Y") -> bool:
    return True


def add_failover_record_detail(record_id: int, module: str, re_time: str, time_used: str, result: str, content: str) -> bool:
    return True


def get_all_backup() -> list[dict[str, Any]]:
    return [{"id": 1, "note": "contains EOF"}]


def get_instance(model: str | None = None, ip: str | None = None, port: int = 3306) -> dict[str, Any]:
    return {"model": model, "ip": ip, "port": port}


FUNCTIONS = {f.__name__: f for f in (update_ha_info, add_failover_record, stat_failover_record,
                                     add_failover_record_detail, get_all_backup, get_instance)}


@pytest.fixture
def server() -> Iterator[RpcServer]:
    srv = RpcServer(FUNCTIONS, host="127.0.0.1", port=0, timeout=2.0)
    srv.start()
    yield srv
    srv.shutdown()


def test_seed_test_case(server: RpcServer) -> None:
    now = time.strftime("%Y-%m-%d %X", time.localtime())
    cmd = {
        "update_ha_info": ("'1.1.1.112:23','1.1.1.111:3306'", False),
        "add_failover_record": ("None,'ONLINE','1.1.1.112:23','1.1.1.111:3306','jjjj'", 32),
        "stat_failover_record": ("32,'Y'", True),
        "add_failover_record_detail": (f"31,'mega','{now}','10','y','test the api'", True),
    }
    for name, (args, expected) in cmd.items():
        c = MegaClient(host=setting.MEGA_HOST, port=server.port, cmd=name)
        r = c.run(func_args=args)
        c.close()
        assert r == expected and type(r) is type(expected), (name, r)


def test_no_args_call_and_connection_reuse(server: RpcServer) -> None:
    c = MegaClient(port=server.port, cmd="get_all_backup")
    assert c.run() == [{"id": 1, "note": "contains EOF"}]
    assert c.run() == [{"id": 1, "note": "contains EOF"}]
    c.close()


def test_dict_form_and_keywords(server: RpcServer) -> None:
    c = MegaClient(port=server.port, cmd={"VALUE": "get_instance", "ARGS": "model='backup'"})
    assert c.run() == {"model": "backup", "ip": None, "port": 3306}
    assert c.run("ip='10.0.0.1',port=3307") == {"model": None, "ip": "10.0.0.1", "port": 3307}
    c.close()


def test_error_reply_raises_with_code_and_message(server: RpcServer) -> None:
    with pytest.raises(MegaRemoteError, match="unknown function drop_everything") as caught:
        MegaClient(port=server.port, cmd="drop_everything").run()
    assert caught.value.code == 1


def test_failures_raise_instead_of_looking_like_success(server: RpcServer) -> None:
    """2014 returned 0 for "cannot connect", which reads as the success code of an add_*."""
    with pytest.raises(ValueError, match="no command"):
        MegaClient(port=server.port).run()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    with pytest.raises(MegaUnavailable, match=f"cannot connect to the Mega server at 127.0.0.1:{free_port}"):
        MegaClient(port=free_port, cmd="get_instance").run()


def test_receive_failure_raises() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept_and_hang_up() -> None:
        conn, _ = listener.accept()
        codec.read_frame(conn, 1 << 20)
        conn.close()

    thread = threading.Thread(target=accept_and_hang_up)
    thread.start()
    try:
        with pytest.raises(MegaRequestFailed, match="connection closed"):
            MegaClient(port=port, cmd="get_instance", timeout=2).run()
    finally:
        thread.join(5)
        listener.close()


def test_non_literal_reply_is_not_evaluated(tmp_path: Any) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    target = tmp_path / "pwned"

    def evil_server() -> None:
        conn, _ = listener.accept()
        codec.read_frame(conn, 1 << 20)
        conn.sendall(codec.encode_frame(f"__import__('os').system('touch {target}')"))
        conn.close()

    thread = threading.Thread(target=evil_server)
    thread.start()
    try:
        with pytest.raises(MegaRequestFailed, match="not a Python literal"):
            MegaClient(port=port, cmd="get_instance", timeout=2).run()
    finally:
        thread.join(5)
        listener.close()
    assert not target.exists()


def test_token_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    srv = RpcServer(FUNCTIONS, host="127.0.0.1", port=0, token="tok")
    srv.start()
    try:
        with pytest.raises(MegaRemoteError, match="bad or missing token"):
            MegaClient(port=srv.port, cmd="stat_failover_record").run("1")
        monkeypatch.setattr(setting, "MEGA_TOKEN", "tok")
        assert MegaClient(port=srv.port, cmd="stat_failover_record").run("1") is True
    finally:
        srv.shutdown()


def test_get_all_funcs(server: RpcServer) -> None:
    listing = MegaTool(port=server.port).get_all_funcs()
    assert {"name": "get_instance", "args": "(model=None, ip=None, port=3306)"} in listing


def run_cli(port: int, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEGA_HOST": "127.0.0.1", "MEGA_PORT": str(port)}
    env.pop("MEGA_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "mega_client.sender", *argv], env=env,
                          capture_output=True, text=True, timeout=30)


def test_cli_list_uses_env_port(server: RpcServer) -> None:
    result = run_cli(server.port, "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(FUNCTIONS)
    assert "1 add_failover_record (record_id, kind, old, new, name='')" in lines
    assert any(line.endswith("get_instance (model=None, ip=None, port=3306)") for line in lines)


def test_cli_call(server: RpcServer) -> None:
    result = run_cli(server.port, "call", "get_instance", "ip='1.1.1.1'")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'model': None, 'ip': '1.1.1.1', 'port': 3306}"
    bad = run_cli(server.port, "call", "get_instance", "__import__('os')")
    assert bad.returncode == 1 and "error 2" in bad.stderr


def test_cli_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    result = run_cli(free_port, "list")
    assert result.returncode == 1 and "cannot connect" in result.stderr


def test_setting_defaults() -> None:
    code = "from mega_client import setting as s; print(s.MEGA_HOST, s.MEGA_PORT, s.MEGA_TOKEN)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA_")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["127.0.0.1", "1104", "None"]
    assert sender.MegaClient().port == setting.MEGA_PORT
