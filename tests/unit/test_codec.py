"""The 1104 codec: frames, literal-only request parsing, reply encoding."""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import enum
import io
import math
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mega.rpc import codec
from mega.rpc.codec import (
    BadEncoding,
    BadHeader,
    BadLength,
    ConnectionClosed,
    MissingEndSign,
    RequestError,
    TruncatedFrame,
    decode_reply,
    encode_error,
    encode_frame,
    encode_reply,
    format_args,
    parse_args,
    parse_request,
    read_frame,
)

# ------------------------------------------------------------------ strategies

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
literals = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=5).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=10), st.integers()), children, max_size=5),
    ),
    max_leaves=25,
)


def frame_reader(data: bytes, max_frame: int = codec.DEFAULT_MAX_FRAME) -> str:
    return read_frame(io.BytesIO(data), max_frame)


# ------------------------------------------------------------------ frames


def test_frame_layout_matches_2014() -> None:
    payload = "{'HEAD': 'MEGA'}"
    frame = encode_frame(payload)
    assert frame[:10] == b"%010d" % (len(payload) + 10)
    assert frame.endswith(b"EOF")
    assert frame[10:-3] == payload.encode()


def test_length_counts_utf8_bytes() -> None:
    frame = encode_frame("é")
    assert frame[:10] == b"0000000012"
    assert frame_reader(frame) == "é"


@given(st.text(max_size=300))
def test_frame_round_trip(text: str) -> None:
    assert frame_reader(encode_frame(text)) == text


@given(st.lists(st.text(max_size=50), min_size=1, max_size=5))
def test_sequential_frames_on_one_stream(texts: list[str]) -> None:
    stream = io.BytesIO(b"".join(encode_frame(t) for t in texts))
    assert [read_frame(stream) for _ in texts] == texts
    with pytest.raises(ConnectionClosed):
        read_frame(stream)


def test_eof_inside_data_survives() -> None:
    text = "EOF at start, EOFEOF in the middle and at the end EOF"
    assert frame_reader(encode_frame(text)) == text


@pytest.mark.parametrize("header", [b"00000000x5", b"         5", b"-000000015", b"+000000015", b"\xd9\xa1" * 5])
def test_non_digit_header(header: bytes) -> None:
    with pytest.raises(BadHeader, match="10-digit"):
        frame_reader(header + b"xxxxxEOF")


def test_length_below_header_size() -> None:
    with pytest.raises(BadLength, match=">= 10"):
        frame_reader(b"0000000009EOF")


def test_empty_payload_is_a_valid_frame() -> None:
    assert frame_reader(b"0000000010EOF") == ""


def test_length_over_cap_refused_before_reading_body() -> None:
    with pytest.raises(BadLength, match="over the limit of 1024"):
        frame_reader(b"0000001025", max_frame=1024)


def test_cap_is_inclusive() -> None:
    payload = "x" * (1024 - 10)
    assert frame_reader(encode_frame(payload), max_frame=1024) == payload


@pytest.mark.parametrize("data", [b"00000", b"0000000020abc", b"0000000013abcEO"])
def test_truncated(data: bytes) -> None:
    with pytest.raises(TruncatedFrame, match="closed in the middle"):
        frame_reader(data)


def test_clean_close_between_frames() -> None:
    with pytest.raises(ConnectionClosed):
        frame_reader(b"")


def test_header_that_lies_short_is_detected() -> None:
    frame = encode_frame("{'HEAD': 'MEGA', 'VALUE': 'x'}")
    lying = b"%010d" % (int(frame[:10]) - 4) + frame[10:]
    with pytest.raises(MissingEndSign, match="not followed by 'EOF'"):
        frame_reader(lying)


def test_missing_end_sign() -> None:
    with pytest.raises(MissingEndSign):
        frame_reader(b"0000000013abcXYZ")


def test_non_utf8() -> None:
    with pytest.raises(BadEncoding, match="UTF-8"):
        frame_reader(b"0000000012\xff\xfeEOF")


def test_frame_errors_carry_code_2() -> None:
    for cls in (BadHeader, BadLength, TruncatedFrame, MissingEndSign, BadEncoding):
        assert issubclass(cls, codec.FrameError) and cls.code == 2


# ------------------------------------------------------------------ ARGS


@pytest.mark.parametrize(
    ("text", "args", "kwargs"),
    [
        ("'1.1.1.112:23','1.1.1.111:3306'", ("1.1.1.112:23", "1.1.1.111:3306"), {}),
        ("model='backup',stat=1", (), {"model": "backup", "stat": 1}),
        ("None,'ONLINE','1.1.1.112:23','1.1.1.111:3306','jjjj'", (None, "ONLINE", "1.1.1.112:23", "1.1.1.111:3306", "jjjj"), {}),
        ("31,'mega','2014-10-14 14:05:25','10','y','test the api'", (31, "mega", "2014-10-14 14:05:25", "10", "y", "test the api"), {}),
        ("[1, (2, 3)], {'a': -1.5}, x=True", ([1, (2, 3)], {"a": -1.5}), {"x": True}),
        ("'a',\n 'b',", ("a", "b"), {}),
        ("u'py2 unicode'", ("py2 unicode",), {}),
        ("'EOF'", ("EOF",), {}),
    ],
)
def test_parse_args_legacy_texts(text: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    assert parse_args(text) == (args, kwargs)


HOSTILE_ARGS = [
    "__import__('os').system('touch /tmp/x')",
    "os.system('id')",
    "x",
    "open('/etc/passwd')",
    "(1).__class__",
    "[i for i in range(3)]",
    "{i: i for i in ()}",
    "(i for i in ())",
    "lambda: 1",
    "f'{1}'",
    "1 + 1",
    "1 if True else 2",
    "*[1, 2]",
    "**{'a': 1}",
    "1),(2",
    "1)(2",
    "1).real + (2",
    "1) # comment",
    "1), __import__('os').system('id'",
    "a=1, a=2",
    "set()",
    "{1, 2}",
    "b'bytes'",
    "1j",
    "...",
    "(yield)",
    "x := 1",
    "not 1",
    ")",
    "(" * 500,
    "[" * 100_000,
    "1" * 5000,
    "'unterminated",
]


@pytest.mark.parametrize("text", HOSTILE_ARGS)
def test_parse_args_refuses_non_literals(text: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_args(text)
    assert info.value.code == 2
    assert str(info.value)


@given(st.lists(literals, max_size=4), st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), literals, max_size=4))
@settings(max_examples=200)
def test_format_then_parse_args_round_trip(args: list[Any], kwargs: dict[str, Any]) -> None:
    import keyword

    kwargs = {k: v for k, v in kwargs.items() if not keyword.iskeyword(k)}
    assert parse_args(format_args(*args, **kwargs)) == (tuple(args), kwargs)


@given(st.text(max_size=60))
@settings(max_examples=500)
def test_parse_args_never_crashes(text: str) -> None:
    try:
        parse_args(text)
    except RequestError:
        pass


# ------------------------------------------------------------------ requests


def req(**fields: Any) -> str:
    return repr({"HEAD": "MEGA", **fields})


def test_parse_request_legacy_fields() -> None:
    payload = req(TYPE=0, TIME=0, CYCLE=0, TARGET=0, VALUE="update_ha_info", ARGS="'1.1.1.112:23','1.1.1.111:3306'")
    request = parse_request(payload)
    assert request.function == "update_ha_info"
    assert request.args == ("1.1.1.112:23", "1.1.1.111:3306")
    assert request.kwargs == {} and request.token is None and not request.tool


@pytest.mark.parametrize("no_args", [0, None, "", "   ", False])
def test_no_arguments_forms(no_args: Any) -> None:
    request = parse_request(req(VALUE="get_all_backup", ARGS=no_args))
    assert (request.args, request.kwargs) == ((), {})


def test_missing_args_means_none() -> None:
    assert parse_request(req(VALUE="f")).args == ()


def test_non_text_args_is_one_argument_like_2014() -> None:
    assert parse_request(req(VALUE="f", ARGS=32)).args == (32,)


def test_head_case_insensitive_and_token_tool() -> None:
    request = parse_request(repr({"HEAD": "mega", "VALUE": "f", "TOKEN": "s3cret", "TOOL": True, "NAME": "n", "SCRIPT": "s"}))
    assert request.token == "s3cret" and request.tool
    assert "s3cret" not in repr(request)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{'VALUE': 'f'}", "HEAD must be 'MEGA'"),
        ("{'HEAD': 'MAGE', 'VALUE': 'f'}", "HEAD must be 'MEGA'"),
        ("{'HEAD': 1, 'VALUE': 'f'}", "HEAD must be 'MEGA'"),
        ("{'HEAD': 'MEGA'}", "VALUE must be a function name"),
        ("{'HEAD': 'MEGA', 'VALUE': 'os.system'}", "VALUE must be a function name"),
        ("{'HEAD': 'MEGA', 'VALUE': 'f', 'TYPE': 1}", "remote tasks"),
        ("{'HEAD': 'MEGA', 'VALUE': 'f', 'TIME': 60}", "scheduled jobs"),
        ("{'HEAD': 'MEGA', 'VALUE': 'f', 'TOKEN': 5}", "TOKEN must be a string"),
        ("{'HEAD': 'MEGA', 'VALUE': 'f', 'ARGS': 'x'}", "not a literal"),
        ("{'HEAD': 'MEGA', 'VALUE': 'f', 'ARGS': {1, 2}}", "Set is not a literal"),
        ("['HEAD', 'MEGA']", "must be a dict literal"),
        ("{1: 'MEGA'}", "keys must be strings"),
        ("{'HEAD': __import__('os').getcwd()}", "not a Python dict literal"),
        ("dict(HEAD='MEGA')", "not a Python dict literal"),
        ("{'HEAD': 'MEGA', 'VALUE': 'f', **x}", "not a Python dict literal"),
        ("", "not a Python dict literal"),
        ("{" * 200_000, "not a Python dict literal"),
    ],
)
def test_parse_request_refusals(payload: str, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        parse_request(payload)


@pytest.mark.parametrize("ok", [0, "0", None, ""])
def test_type_and_time_zero_forms(ok: Any) -> None:
    parse_request(req(VALUE="f", TYPE=ok, TIME=ok))


@given(st.text(max_size=80))
@settings(max_examples=500)
def test_parse_request_never_crashes(text: str) -> None:
    try:
        parse_request(text)
    except RequestError:
        pass


# ------------------------------------------------------------------ replies


@given(literals)
@settings(max_examples=300)
def test_reply_round_trip(value: Any) -> None:
    assert decode_reply(encode_reply(value)) == value


class Color(enum.IntEnum):
    RED = 1


class Point(NamedTuple):
    x: int
    y: int


def test_reply_converts_non_literal_types() -> None:
    value = {
        "when": dt.datetime(2014, 10, 14, 14, 5, 25),
        "day": dt.date(2014, 10, 14),
        "lag": dt.timedelta(seconds=1.5),
        "n": decimal.Decimal("3"),
        "ratio": decimal.Decimal("0.5"),
        "color": Color.RED,
        "point": Point(1, 2),
        "tags": {"b", "a"},
        "raw": b"abc",
        "nan": math.nan,
    }
    text = encode_reply(value)
    assert ast.literal_eval(text) == {
        "when": "2014-10-14 14:05:25", "day": "2014-10-14", "lag": 1.5, "n": 3, "ratio": 0.5,
        "color": 1, "point": (1, 2), "tags": ["a", "b"], "raw": "abc", "nan": None,
    }


def test_reply_refuses_unknown_objects() -> None:
    with pytest.raises(codec.ReplyError, match="object"):
        encode_reply({"x": object()})


def test_error_reply_format() -> None:
    text = encode_error(2, "bad or missing token")
    assert text == "{'ERROR': 2, 'MESSAGE': 'bad or missing token'}"
    assert codec.is_error_reply(decode_reply(text))


@pytest.mark.parametrize("text", ["__import__('os').getcwd()", "x", "Decimal('1')", "datetime.datetime(2014, 1, 1)", "("])
def test_decode_reply_refuses_code(text: str) -> None:
    with pytest.raises(codec.ReplyError):
        decode_reply(text)


def test_build_request_is_parseable() -> None:
    payload = codec.build_request("get_instance", "model='backup'", TOOL=True, TOKEN="t")
    request = parse_request(payload)
    assert request.function == "get_instance" and request.kwargs == {"model": "backup"} and request.token == "t"


def test_codec_is_stdlib_only() -> None:
    import sys

    from mega.rpc import literals

    for module in (codec, literals):
        tree = ast.parse(open(module.__file__, encoding="utf-8").read())  # type: ignore[arg-type]
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        outside = {name for name in imported if name.split(".")[0] not in sys.stdlib_module_names}
        assert outside <= {"__future__", "mega.rpc", "mega.rpc.literals"}, outside


def test_no_eval_or_exec_in_rpc_code() -> None:
    import mega.rpc.server
    import mega_client.sender
    from mega.rpc import literals

    for module in (codec, literals, mega.rpc.server, mega_client.sender):
        tree = ast.parse(open(module.__file__, encoding="utf-8").read())  # type: ignore[arg-type]
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert not names & {"eval", "exec", "compile", "__import__"}, module.__name__


# ------------------------------------------------------------------ FrameReader (per-connection, reads ahead)


def reader_pair() -> tuple[codec.FrameReader, Any]:
    import socket

    left, right = socket.socketpair()
    left.settimeout(2)
    return codec.FrameReader(left, max_frame=1024), right


def test_frame_reader_pipelined_and_split_frames() -> None:
    reader, peer = reader_pair()
    texts = ["first EOF", "", "second é", "x" * 900]
    data = b"".join(encode_frame(t) for t in texts)
    peer.sendall(data[:7])  # part of the header now, the rest 50 ms later
    _send_later(peer, data[7:])
    assert reader.read_frame(time_after(2)) == texts[0]
    assert [reader.read_frame(time_after(2)) for _ in texts[1:]] == texts[1:]
    peer.close()
    with pytest.raises(ConnectionClosed):
        reader.read_frame(time_after(2))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"00000000x5abcEOF", BadHeader),
        (b"0000000009EOF", BadLength),
        (b"0000001025", BadLength),
        (b"0000000013abcXYZ", MissingEndSign),
        (b"0000000012\xff\xfeEOF", BadEncoding),
        (b"0000000020abc", TruncatedFrame),
    ],
)
def test_frame_reader_errors(data: bytes, error: type[Exception]) -> None:
    reader, peer = reader_pair()
    peer.sendall(data)
    peer.shutdown(2)
    with pytest.raises(error):
        reader.read_frame(time_after(2))


def test_frame_reader_deadline() -> None:
    reader, peer = reader_pair()
    peer.sendall(b"0000000020abc")
    with pytest.raises(codec.FrameTimeout) as info:
        reader.read_frame(time_after(0.2))
    assert info.value.received == 13


def time_after(seconds: float) -> float:
    import time

    return time.monotonic() + seconds


def _send_later(peer: Any, data: bytes) -> None:
    import threading
    import time

    def send() -> None:
        time.sleep(0.05)
        peer.sendall(data)

    threading.Thread(target=send).start()
