"""RpcServer on 127.0.0.1 (port 0) against raw sockets: framing abuse, injection, tokens, load."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mega.errors import NotFound
from mega.rpc import codec
from mega.rpc.server import RpcServer

TIMEOUT = 1.0
MAX_FRAME = 64 * 1024


class Calls:
    """Thread-safe record of what the test functions were called with."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[Any] = []

    def add(self, item: Any) -> None:
        with self.lock:
            self.items.append(item)


def make_functions(calls: Calls) -> dict[str, Any]:
    def add(a: int, b: int = 0) -> int:
        calls.add((a, b))
        return a + b

    def echo(value: Any) -> Any:
        return value

    def get_instance(model: str | None = None, ip: str | None = None, port: int = 3306) -> dict[str, Any]:
        return {"model": model, "ip": ip, "port": port}

    def boom() -> None:
        raise TypeError("a bug inside the function")

    def missing(name: str) -> None:
        raise NotFound(f"instance {name} not found")

    def weird() -> object:
        return object()

    def slow(seconds: float) -> str:
        time.sleep(seconds)
        return "done"

    return {f.__name__: f for f in (add, echo, get_instance, boom, missing, weird, slow)}


@pytest.fixture
def calls() -> Calls:
    return Calls()


def start_server(calls: Calls, **options: Any) -> RpcServer:
    settings = {"host": "127.0.0.1", "port": 0, "timeout": TIMEOUT, "max_frame": MAX_FRAME, "max_clients": 64}
    settings.update(options)
    server = RpcServer(make_functions(calls), **settings)
    server.start()
    return server


@pytest.fixture
def server(calls: Calls) -> Iterator[RpcServer]:
    srv = start_server(calls)
    yield srv
    srv.shutdown()


class Conn:
    """A raw client socket speaking frames by hand."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, payload: str) -> Any:
        self.send(codec.encode_frame(payload))
        return self.reply()

    def reply(self) -> Any:
        return codec.decode_reply(codec.read_frame(self.sock, 1 << 24, time.monotonic() + 5))

    def closed_by_server(self, within: float = 5.0) -> bool:
        """True when the server closes the connection within ``within`` seconds."""
        self.sock.settimeout(within)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


def req(function: str, args: Any = 0, **fields: Any) -> str:
    return repr({"HEAD": "MEGA", "TYPE": 0, "TIME": 0, "CYCLE": 0, "TARGET": 0, "VALUE": function, "ARGS": args, **fields})


def call(port: int, function: str, args: Any = 0, **fields: Any) -> Any:
    conn = Conn(port)
    try:
        return conn.call(req(function, args, **fields))
    finally:
        conn.close()


def assert_error(reply: Any, code: int, text: str) -> None:
    assert codec.is_error_reply(reply), reply
    assert reply["ERROR"] == code, reply
    assert text in reply["MESSAGE"], reply


def assert_alive(port: int) -> None:
    assert call(port, "add", "20,22") == 42


# ------------------------------------------------------------------ normal calls


def test_calls_and_sequential_frames(server: RpcServer, calls: Calls) -> None:
    conn = Conn(server.port)
    assert conn.call(req("add", "1,2")) == 3
    assert conn.call(req("add", "a=5,b=6")) == 11
    assert conn.call(req("get_instance", "model='backup',port=3307")) == {"model": "backup", "ip": None, "port": 3307}
    assert conn.call(req("echo", "('a', [1, 2.5], {'k': None})")) == ("a", [1, 2.5], {"k": None})
    conn.close()
    assert calls.items == [(1, 2), (5, 6)]


def test_each_request_runs_exactly_once(server: RpcServer, calls: Calls) -> None:
    for i in range(5):
        conn = Conn(server.port)
        for j in range(4):
            assert conn.call(req("add", f"{i},{j}")) == i + j
        conn.close()
    time.sleep(0.2)
    assert sorted(calls.items) == sorted((i, j) for i in range(5) for j in range(4))


def test_eof_inside_a_string_argument_survives(server: RpcServer) -> None:
    text = "EOF at start, EOFEOF inside, SELECT 'EOF' at the end EOF"
    assert call(server.port, "echo", repr(text)) == text


def test_get_all_funcs_with_or_without_tool(server: RpcServer) -> None:
    for fields in ({}, {"TOOL": True}):
        listing = call(server.port, "get_all_funcs", **fields)
        by_name = {item["name"]: item["args"] for item in listing}
        assert by_name["add"] == "(a, b=0)"
        assert by_name["get_instance"] == "(model=None, ip=None, port=3306)"
        assert "get_all_funcs" not in by_name


def test_unknown_function(server: RpcServer) -> None:
    assert_error(call(server.port, "os_system"), 1, "unknown function os_system; call get_all_funcs for the list")


def test_wrong_arguments_name_the_signature(server: RpcServer, calls: Calls) -> None:
    assert_error(call(server.port, "add", "1,2,3"), 2, "expected add(a, b=0)")
    assert_error(call(server.port, "add", "c=1"), 2, "expected add(a, b=0)")
    assert calls.items == []


def test_type_error_inside_function_is_internal_not_bad_call(server: RpcServer) -> None:
    assert_error(call(server.port, "boom"), -1, "internal error in boom: TypeError")


def test_mega_error_keeps_its_code(server: RpcServer) -> None:
    assert_error(call(server.port, "missing", "'db1'"), 1, "instance db1 not found")


def test_unencodable_result_is_internal_error(server: RpcServer) -> None:
    assert_error(call(server.port, "weird"), -1, "cannot be sent")


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        ("{'VALUE': 'add', 'ARGS': '1'}", "HEAD must be 'MEGA'"),
        ("{'HEAD': 'NOPE', 'VALUE': 'add', 'ARGS': '1'}", "HEAD must be 'MEGA'"),
        (req("add", "1", TYPE=1), "remote tasks"),
        (req("add", "1", TIME=3600), "scheduled jobs"),
    ],
)
def test_envelope_refusals(server: RpcServer, calls: Calls, payload: str, text: str) -> None:
    conn = Conn(server.port)
    assert_error(conn.call(payload), 2, text)
    assert conn.call(req("add", "1,1")) == 2  # a refused request does not cost the connection
    conn.close()
    assert calls.items == [(1, 1)]


def test_head_is_case_insensitive(server: RpcServer) -> None:
    conn = Conn(server.port)
    assert conn.call("{'HEAD': 'mega', 'VALUE': 'add', 'ARGS': '2'}") == 2
    conn.close()


# ------------------------------------------------------------------ hostile payloads


NON_LITERAL_ARGS = [
    "x",
    "os.system('id')",
    "(1).__class__",
    "[i for i in range(3)]",
    "lambda: 1",
    "f'{1}'",
    "__import__('os').system('id')",
    "1),(2",
    "1), __import__('os').system('id'",
    "*[1, 2]",
    "**{'a': 1}",
]


@pytest.mark.parametrize("args", NON_LITERAL_ARGS)
def test_non_literal_args_are_refused(server: RpcServer, calls: Calls, args: str) -> None:
    assert_error(call(server.port, "add", args), 2, "")
    assert calls.items == []
    assert_alive(server.port)


@pytest.mark.parametrize(
    "payload",
    [
        "__import__('os').system('id')",
        "{'HEAD': 'MEGA', 'VALUE': 'add', 'ARGS': str(1)}",
        "dict(HEAD='MEGA', VALUE='add', ARGS='1')",
        "{'HEAD': 'MEGA', 'VALUE': 'add', 'ARGS': '1'} if True else 0",
        "{'HEAD': 'MEGA', 'VALUE': [x for x in 'add'], 'ARGS': '1'}",
        "{'HEAD': 'MEGA', 'VALUE': 'add.__globals__', 'ARGS': '1'}",
    ],
)
def test_non_literal_payloads_are_refused(server: RpcServer, calls: Calls, payload: str) -> None:
    assert_error(Conn(server.port).call(payload), 2, "")
    assert calls.items == []


def test_injection_attempts_create_nothing(server: RpcServer, calls: Calls, tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    cmd = f"__import__('os').system('touch {target}')"
    attempts = [
        req("add", cmd),
        req("add", f"1), {cmd}, (2"),
        req("add", f"1,b={cmd}"),
        req(f"add({cmd})"),
        req("echo", f"[{cmd} for _ in (1,)]"),
        "{'HEAD': 'MEGA', 'VALUE': 'add', 'ARGS': " + cmd + "}",
        cmd,
    ]
    for payload in attempts:
        reply = Conn(server.port).call(payload)
        assert_error(reply, 2, "")
    time.sleep(0.2)
    assert not target.exists()
    assert calls.items == []
    assert_alive(server.port)


# ------------------------------------------------------------------ bad frames


def test_length_header_longer_than_data_times_out(server: RpcServer, calls: Calls) -> None:
    payload = req("add", "1,2").encode()
    conn = Conn(server.port)
    conn.send(b"%010d" % (len(payload) + 10 + 100) + payload + b"EOF")
    assert_error(conn.reply(), 2, "timed out waiting for the payload")
    assert conn.closed_by_server()
    assert calls.items == []
    assert_alive(server.port)


def test_length_header_longer_then_close_is_truncated(server: RpcServer, calls: Calls) -> None:
    payload = req("add", "1,2").encode()
    conn = Conn(server.port)
    conn.send(b"%010d" % (len(payload) + 10 + 100) + payload + b"EOF")
    conn.sock.shutdown(socket.SHUT_WR)
    assert_error(conn.reply(), 2, "closed in the middle of the payload")
    assert calls.items == []


def test_length_header_shorter_than_data(server: RpcServer, calls: Calls) -> None:
    payload = req("add", "1,2").encode()
    conn = Conn(server.port)
    conn.send(b"%010d" % (len(payload) + 10 - 5) + payload + b"EOF")
    assert_error(conn.reply(), 2, "not followed by 'EOF'")
    assert conn.closed_by_server()
    assert calls.items == []
    assert_alive(server.port)


def test_frame_over_the_cap(server: RpcServer, calls: Calls) -> None:
    conn = Conn(server.port)
    conn.send(b"%010d" % (MAX_FRAME + 1) + b"{'HEAD': 'MEGA'")
    assert_error(conn.reply(), 2, f"over the limit of {MAX_FRAME} bytes")
    assert conn.closed_by_server()
    assert_alive(server.port)


def test_frame_over_the_cap_with_the_whole_body_sent(server: RpcServer) -> None:
    payload = req("echo", repr("x" * MAX_FRAME))
    conn = Conn(server.port)
    try:
        conn.send(codec.encode_frame(payload))
        assert_error(conn.reply(), 2, "over the limit")
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server may reset a peer still pushing data; what matters is that it survives
    assert_alive(server.port)


def test_truncated_frame(server: RpcServer, calls: Calls) -> None:
    frame = codec.encode_frame(req("add", "1,2"))
    conn = Conn(server.port)
    conn.send(frame[: len(frame) // 2])
    conn.sock.shutdown(socket.SHUT_WR)
    assert_error(conn.reply(), 2, "closed in the middle")
    assert calls.items == []
    assert_alive(server.port)


def test_missing_eof(server: RpcServer, calls: Calls) -> None:
    frame = codec.encode_frame(req("add", "1,2"))
    conn = Conn(server.port)
    conn.send(frame[:-3] + b"XYZ")
    assert_error(conn.reply(), 2, "not followed by 'EOF'")
    assert calls.items == []


def test_non_utf8_payload(server: RpcServer, calls: Calls) -> None:
    body = b"{'HEAD': 'MEGA', 'VALUE': 'echo', 'ARGS': '\xff\xfe'}"
    conn = Conn(server.port)
    conn.send(b"%010d" % (len(body) + 10) + body + b"EOF")
    assert_error(conn.reply(), 2, "not valid UTF-8")
    assert conn.closed_by_server()
    assert_alive(server.port)


@pytest.mark.parametrize("header", [b"abcdefghij", b"-000000020", b"0x00000020", b"0000000005"])
def test_bad_headers(server: RpcServer, header: bytes) -> None:
    conn = Conn(server.port)
    conn.send(header + b"0123456789EOF")
    assert_error(conn.reply(), 2, "bad frame")
    assert conn.closed_by_server()
    assert_alive(server.port)


def test_utf8_arguments_round_trip(server: RpcServer) -> None:
    text = "数据库 – café"
    assert call(server.port, "echo", repr(text)) == text


def test_silent_client_is_closed_while_others_are_served(server: RpcServer) -> None:
    idle = Conn(server.port)
    started = time.monotonic()
    for i in range(3):
        assert call(server.port, "add", f"{i}") == i
    assert time.monotonic() - started < TIMEOUT
    assert idle.closed_by_server(within=TIMEOUT + 3)
    assert time.monotonic() - started >= TIMEOUT * 0.9
    assert_alive(server.port)


def test_slow_trickle_client_is_closed(server: RpcServer) -> None:
    frame = codec.encode_frame(req("add", "1,2"))
    conn = Conn(server.port)
    started = time.monotonic()
    try:
        for byte in frame:
            conn.send(bytes([byte]))
            time.sleep(0.1)
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert time.monotonic() - started < TIMEOUT + 2.5
    assert conn.closed_by_server(within=1)


# ------------------------------------------------------------------ token


@pytest.fixture
def token_server(calls: Calls) -> Iterator[RpcServer]:
    srv = start_server(calls, token="s3cret-token")
    yield srv
    srv.shutdown()


@pytest.mark.parametrize("fields", [{}, {"TOKEN": "wrong"}, {"TOKEN": ""}, {"TOKEN": "s3cret-token-longer"}])
def test_bad_or_missing_token(token_server: RpcServer, calls: Calls, fields: dict[str, Any]) -> None:
    assert_error(call(token_server.port, "add", "1,2", **fields), 2, "bad or missing token")
    assert_error(call(token_server.port, "get_all_funcs", **fields), 2, "bad or missing token")
    assert_error(call(token_server.port, "no_such_function", **fields), 2, "bad or missing token")
    assert calls.items == []


def test_good_token(token_server: RpcServer, calls: Calls) -> None:
    assert call(token_server.port, "add", "1,2", TOKEN="s3cret-token") == 3
    assert calls.items == [(1, 2)]


def test_token_never_logged(calls: Calls, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="mega.rpc")
    srv = start_server(calls, token="s3cret-token")
    try:
        call(srv.port, "get_instance", "model='backup',ip='10.0.0.1'", TOKEN="s3cret-token")
        call(srv.port, "add", "1,2", TOKEN="wrong-one")
    finally:
        srv.shutdown()
    assert "model='backup'" in caplog.text and "get_instance" in caplog.text
    assert "s3cret-token" not in caplog.text and "wrong-one" not in caplog.text
    assert "10.0.0.1" not in caplog.text


# ------------------------------------------------------------------ concurrency


def test_32_concurrent_clients(server: RpcServer, calls: Calls) -> None:
    results: dict[int, list[Any]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(32)

    def client(n: int) -> None:
        try:
            conn = Conn(server.port)
            barrier.wait(5)
            results[n] = [conn.call(req("add", f"{n},{i}")) for i in range(10)]
            conn.close()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert results == {n: [n + i for i in range(10)] for n in range(32)}
    assert len(calls.items) == 320


def test_over_the_client_cap(calls: Calls) -> None:
    srv = start_server(calls, max_clients=2, timeout=5.0)
    try:
        first, second = Conn(srv.port), Conn(srv.port)
        assert first.call(req("add", "1")) == 1
        assert second.call(req("add", "2")) == 2
        third = Conn(srv.port)
        assert_error(third.reply(), -1, "server busy")
        assert third.closed_by_server()
        assert first.call(req("add", "3")) == 3  # admitted clients are unaffected
        first.close()
        deadline = time.monotonic() + 5
        while srv.active_clients > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        fourth = Conn(srv.port)
        assert fourth.call(req("add", "4")) == 4
        fourth.close()
        second.close()
    finally:
        srv.shutdown()
    assert sorted(calls.items) == [(1, 0), (2, 0), (3, 0), (4, 0)]


def test_shutdown_lets_a_request_in_flight_reply(calls: Calls) -> None:
    srv = start_server(calls)
    conn = Conn(srv.port)
    conn.send(codec.encode_frame(req("slow", "0.5")))
    time.sleep(0.1)
    srv.shutdown()
    assert conn.reply() == "done"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
