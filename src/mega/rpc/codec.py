"""The 1104 wire format: frames, requests and replies, shared by the server and ``mega_client``.

Standard library only, and nothing received is ever evaluated as code: the payload and the
``ARGS`` call text are parsed with :func:`ast.parse` and only literal nodes (constants, tuples,
lists, dicts, a sign before a number) are turned into values; nothing is ever ``eval``'d.

**Frame.** A 10-digit zero-padded decimal length, the payload (UTF-8), then the three bytes
``EOF``. The length counts the payload bytes plus the 10 header bytes, not ``EOF``:

>>> encode_frame("{'HEAD': 'MEGA'}")
b"0000000026{'HEAD': 'MEGA'}EOF"

Unlike the 2014 reader, exactly the announced number of bytes is read and must be followed by
exactly ``EOF``; an ``EOF`` inside the data is data.

**Request.** The payload is a dict literal: ``HEAD`` (``'MEGA'``), ``VALUE`` (function name),
``ARGS`` (call text such as ``"'1.1.1.112:23','1.1.1.111:3306'"`` or ``"model='backup',stat=1"``;
``0``/``None``/``''`` mean no arguments), ``TOKEN`` (optional shared secret); ``TYPE`` and
``TIME`` must be 0; ``CYCLE``, ``TARGET``, ``TOOL``, ``NAME``, ``SCRIPT``... are accepted and ignored.

>>> parse_request("{'HEAD': 'mega', 'VALUE': 'get_instance', 'ARGS': \\"model='backup',port=3306\\"}")
Request(function='get_instance', args=(), kwargs={'model': 'backup', 'port': 3306}, tool=False)

**Reply.** The ``repr`` of a result made only of ``str``, ``int``, ``float``, ``bool``, ``None``,
``list``, ``tuple`` and ``dict``, so ``ast.literal_eval`` (or an old caller's ``eval``) reads it
back. An error is ``{'ERROR': <code>, 'MESSAGE': '<text>'}``:

>>> encode_error(1, "unknown function foo")
"{'ERROR': 1, 'MESSAGE': 'unknown function foo'}"
"""

from __future__ import annotations

import ast
import dataclasses
import math
import socket
import time
from typing import Any, BinaryIO, Final, Union

from mega.rpc.literals import SAFE_SCALARS as _SAFE_SCALARS
from mega.rpc.literals import ReplyError, check_literal, to_literal

__all__ = [
    "DEFAULT_MAX_FRAME", "END_SIGN", "HEADER_LENGTH", "BadEncoding", "BadHeader", "BadLength",
    "ConnectionClosed", "FrameError", "FrameReader", "FrameTimeout", "MissingEndSign", "ReplyError",
    "Request", "RequestError", "TruncatedFrame", "build_request", "check_literal", "decode_reply",
    "encode_error", "encode_frame", "encode_reply", "format_args", "is_error_reply", "parse_args",
    "parse_request", "read_frame", "to_literal",
]

HEADER_LENGTH: Final = 10
END_SIGN: Final = b"EOF"
DEFAULT_MAX_FRAME: Final = 4 * 1024 * 1024
MAX_ENCODABLE: Final = 10**HEADER_LENGTH - 1

# Error codes carried in ``{'ERROR': code, ...}`` replies (the seed's codes).
CODE_NOT_FOUND: Final = 1
CODE_INVALID: Final = 2
CODE_INTERNAL: Final = -1

#: Values of TYPE / TIME meaning "an internal call, run once now" (old clients send 0).
_ZERO_VALUES: Final = (0, "0", None, "", False)
_ARGS_PREFIX: Final = "f("

Source = Union[socket.socket, BinaryIO]


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class FrameError(Exception):
    """A frame could not be read; the connection must be closed. ``code`` is the reply code."""

    code: int = CODE_INVALID


class ConnectionClosed(FrameError):
    """The peer closed the connection cleanly between frames (not an error on the wire)."""


class BadHeader(FrameError):
    """The 10-byte length header is not 10 decimal digits."""


class BadLength(FrameError):
    """The announced length is below 10 (the header itself) or above the size cap."""


class TruncatedFrame(FrameError):
    """The connection closed before the announced number of bytes (or ``EOF``) arrived."""


class MissingEndSign(FrameError):
    """The announced payload was not followed by exactly ``EOF`` (the length header lies)."""


class BadEncoding(FrameError):
    """The payload is not valid UTF-8."""


class FrameTimeout(FrameError):
    """The frame did not arrive before the deadline; ``received`` bytes had arrived by then."""

    def __init__(self, message: str, received: int = 0) -> None:
        super().__init__(message)
        self.received = received


class RequestError(ValueError):
    """The payload is a well-formed frame but not an acceptable request (code 2)."""

    code: int = CODE_INVALID


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def encode_frame(payload: str) -> bytes:
    """Frame ``payload``: 10-digit length (payload bytes + 10), UTF-8 payload, ``EOF``.

    :raises ValueError: if the payload is too large for a 10-digit header.
    """
    data = payload.encode("utf-8")
    length = len(data) + HEADER_LENGTH
    if length > MAX_ENCODABLE:
        raise ValueError(f"payload of {len(data)} bytes is too large for a 10-digit header")
    return b"%010d" % length + data + END_SIGN


def _timed_out(what: str, received: int) -> FrameTimeout:
    return FrameTimeout(f"timed out waiting for the {what}: got {received} bytes of the frame", received)


def _read_exact(source: Source, count: int, deadline: float | None, what: str, offset: int) -> bytes:
    """Read exactly ``count`` bytes or raise; ``offset`` is how many frame bytes came before.

    A socket with a Python timeout gets ``settimeout(remaining)`` before each ``recv``. A
    blocking socket is left alone (its ``SO_RCVTIMEO``, if set, bounds each ``recv``, which then
    fails with ``EAGAIN``) and the deadline is checked before each ``recv``: that saves two
    system calls per read, which matters to a threaded server.
    """
    chunks: list[bytes] = []
    got = 0
    is_socket = isinstance(source, socket.socket)
    managed = is_socket and source.gettimeout() is not None  # type: ignore[union-attr]
    while got < count:
        if is_socket:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _timed_out(what, offset + got)
                if managed:
                    source.settimeout(remaining)  # type: ignore[union-attr]
            try:
                chunk = source.recv(min(count - got, 1 << 20))  # type: ignore[union-attr]
            except (TimeoutError, BlockingIOError):
                raise _timed_out(what, offset + got) from None
        else:
            chunk = source.read(count - got)  # type: ignore[union-attr]
        if not chunk:
            if offset + got == 0:
                raise ConnectionClosed("connection closed by the peer")
            raise TruncatedFrame(
                f"connection closed in the middle of the {what}: "
                f"got {got} of {count} bytes ({offset + got} bytes of the frame in all)"
            )
        chunks.append(chunk)
        got += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_frame(source: Source, max_frame: int = DEFAULT_MAX_FRAME, deadline: float | None = None) -> str:
    """Read one frame and return its payload text.

    :param source: a connected socket (``recv``) or a binary file object (``read``).
    :param max_frame: the largest acceptable announced length (header + payload bytes).
    :param deadline: a :func:`time.monotonic` instant by which the whole frame must have arrived
        (sockets only; ``None`` waits forever). On a blocking socket the deadline is checked
        between reads and each read is bounded by the socket's ``SO_RCVTIMEO``.
    :returns: the decoded payload.
    :raises ConnectionClosed: the peer closed before sending any byte of a frame.
    :raises BadHeader: the header is not 10 ASCII digits.
    :raises BadLength: the length is < 10 or > ``max_frame``.
    :raises TruncatedFrame: the connection closed before the frame was complete.
    :raises MissingEndSign: the 3 bytes after the announced payload are not ``EOF``.
    :raises BadEncoding: the payload is not UTF-8.
    :raises FrameTimeout: the deadline passed.
    """
    header = _read_exact(source, HEADER_LENGTH, deadline, "length header", 0)
    length = _frame_length(header, max_frame)
    body = _read_exact(source, length - HEADER_LENGTH + len(END_SIGN), deadline, "payload", HEADER_LENGTH)
    return _payload_text(body[: -len(END_SIGN)], body[-len(END_SIGN) :], length)


def _frame_length(header: bytes, max_frame: int) -> int:
    """Check the 10-byte header and return the announced length."""
    if not header.isdigit():
        raise BadHeader(f"bad frame header {header!r}: expected a 10-digit decimal length")
    length = int(header)
    if length < HEADER_LENGTH:
        raise BadLength(f"bad frame length {length}: it must count the 10 header bytes, so be >= 10")
    if length > max_frame:
        raise BadLength(f"frame of {length} bytes is over the limit of {max_frame} bytes")
    return length


def _payload_text(data: bytes, end: bytes, length: int) -> str:
    """Check the end sign and decode the payload."""
    if end != END_SIGN:
        raise MissingEndSign(
            f"frame announced {length} bytes but they are not followed by 'EOF' (got {end!r}): "
            "the length header does not match the data"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadEncoding(f"payload is not valid UTF-8 (bad byte at offset {exc.start})") from None


class FrameReader:
    """Read successive frames from one socket with one ``recv`` per frame in the common case.

    Same checks and errors as :func:`read_frame`, but it may read ahead (bytes of the next
    frame are kept for the next call), so use one reader per connection and nothing else.

    :param sock: a connected socket (Python timeout or blocking with ``SO_RCVTIMEO``).
    :param max_frame: the largest acceptable announced length.
    """

    _CHUNK: Final = 65536

    def __init__(self, sock: socket.socket, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.sock = sock
        self.max_frame = max_frame
        self._buf = bytearray()

    def _fill(self, want: int, deadline: float | None, what: str) -> None:
        """Receive until the buffer holds ``want`` bytes."""
        managed = self.sock.gettimeout() is not None
        while len(self._buf) < want:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _timed_out(what, len(self._buf))
                if managed:
                    self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(max(self._CHUNK, min(want - len(self._buf), 1 << 20)))
            except (TimeoutError, BlockingIOError):
                raise _timed_out(what, len(self._buf)) from None
            if not chunk:
                if not self._buf:
                    raise ConnectionClosed("connection closed by the peer")
                raise TruncatedFrame(
                    f"connection closed in the middle of the {what}: "
                    f"got {len(self._buf)} of {want} bytes of the frame"
                )
            self._buf += chunk

    def read_frame(self, deadline: float | None = None) -> str:
        """Read the next frame's payload (see :func:`read_frame` for the errors)."""
        if len(self._buf) < HEADER_LENGTH:
            self._fill(HEADER_LENGTH, deadline, "length header")
        length = _frame_length(bytes(self._buf[:HEADER_LENGTH]), self.max_frame)
        total = length + len(END_SIGN)
        if len(self._buf) < total:
            self._fill(total, deadline, "payload")
        buf = self._buf
        data, end = bytes(buf[HEADER_LENGTH:length]), bytes(buf[length:total])
        del buf[:total]
        return _payload_text(data, end, length)


# --------------------------------------------------------------------------------------------
# Literal values
# --------------------------------------------------------------------------------------------

def encode_reply(value: Any) -> str:
    """The reply text for a result: ``repr`` of its literal-safe form.

    :raises ReplyError: if the result holds a value that cannot be made literal-safe.
    """
    try:
        check_literal(value)  # the common case: already plain data, so no converted copy
    except ReplyError:
        value = to_literal(value)
    try:
        return repr(value)
    except RecursionError:
        raise ReplyError("result is nested too deeply") from None


def encode_error(code: int, message: str) -> str:
    """The reply text for an error: ``{'ERROR': code, 'MESSAGE': message}``."""
    return repr({"ERROR": int(code), "MESSAGE": str(message)})


def decode_reply(text: str) -> Any:
    """Read a reply back into Python values, literals only (never ``eval``).

    :raises ReplyError: if the text is not a literal.
    """
    try:
        return _parse_literal(text)
    except _NotLiteral as exc:
        raise ReplyError(f"reply is not a Python literal ({exc}): {text[:80]!r}") from None


def is_error_reply(value: Any) -> bool:
    """True for a decoded ``{'ERROR': code, 'MESSAGE': text}`` reply."""
    return type(value) is dict and set(value) == {"ERROR", "MESSAGE"} and type(value["ERROR"]) is int


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Request:
    """One parsed RPC request.

    :ivar function: the ``VALUE`` field, a Python identifier.
    :ivar args: positional arguments parsed from ``ARGS``.
    :ivar kwargs: keyword arguments parsed from ``ARGS``.
    :ivar token: the ``TOKEN`` field, if any.
    :ivar tool: whether the old ``TOOL`` flag was set (informational only).
    """

    function: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    token: str | None = dataclasses.field(default=None, repr=False)
    tool: bool = False


_NUMBERS: Final = (int, float)


def _convert(node: ast.AST, depth: int = 0) -> Any:
    """Build the value of a literal node, allowing only the literal-safe types.

    One pass instead of ``ast.literal_eval`` + :func:`check_literal`: ``Constant`` (``str``,
    ``int``, finite ``float``, ``bool``, ``None``), ``Tuple``, ``List``, ``Dict`` and a sign
    in front of a number. Anything else raises :class:`_NotLiteral`.
    """
    kind = type(node)
    if kind is ast.Constant:
        value = node.value  # type: ignore[attr-defined]
        vtype = type(value)
        if vtype in _SAFE_SCALARS and (vtype is not float or math.isfinite(value)):
            return value
        raise _NotLiteral(f"values of type {vtype.__name__} are not allowed")
    if depth > 200:
        raise _NotLiteral("value is nested too deeply")
    if kind is ast.Tuple:
        return tuple([_convert(item, depth + 1) for item in node.elts])  # type: ignore[attr-defined]
    if kind is ast.List:
        return [_convert(item, depth + 1) for item in node.elts]  # type: ignore[attr-defined]
    if kind is ast.Dict:
        result = {}
        for key, item in zip(node.keys, node.values, strict=True):  # type: ignore[attr-defined]
            if key is None:
                raise _NotLiteral("**unpacking is not allowed")
            try:
                result[_convert(key, depth + 1)] = _convert(item, depth + 1)
            except TypeError:
                raise _NotLiteral("dict keys must be strings, numbers or tuples") from None
        return result
    if kind is ast.UnaryOp and type(node.op) in (ast.USub, ast.UAdd):  # type: ignore[attr-defined]
        operand = node.operand  # type: ignore[attr-defined]
        if type(operand) is ast.Constant and type(operand.value) in _NUMBERS:
            return -operand.value if type(node.op) is ast.USub else operand.value  # type: ignore[attr-defined]
    raise _NotLiteral(f"{kind.__name__} is not a literal")


class _NotLiteral(Exception):
    """Internal: a node that :func:`_convert` refuses."""


def _literal(node: ast.AST, what: str) -> Any:
    """The value of one argument node, or :class:`RequestError` naming the argument."""
    try:
        return _convert(node)
    except _NotLiteral as exc:
        raise RequestError(
            f"{what} is not allowed ({exc}): only strings, numbers, True/False/None, lists, "
            "tuples and dicts are accepted; names, calls and expressions are refused"
        ) from None
    except (RecursionError, MemoryError):
        raise RequestError(f"{what} is nested too deeply") from None


def _parse_literal(text: str) -> Any:
    """Parse ``text`` as one literal expression (parsed by ``ast``, never evaluated)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
        raise _NotLiteral(f"syntax error: {detail}") from None
    try:
        return _convert(tree.body)
    except (RecursionError, MemoryError):
        raise _NotLiteral("nested too deeply") from None


def parse_args(text: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Parse ``ARGS`` call text like ``"'1.1.1.1',3306,model='backup'"`` into values.

    The text is parsed as ``f(<text>)``; it must be exactly one call whose parentheses contain the
    whole text, and every argument must be a literal.

    :raises RequestError: on a syntax error, ``*args``/``**kwargs``, a repeated keyword, text
        escaping the parentheses, or any non-literal argument.
    """
    source = _ARGS_PREFIX + text + ")"
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
        raise RequestError(f"ARGS is not valid argument text ({detail}): {text[:120]!r}") from None
    call = tree.body
    if (
        not isinstance(call, ast.Call)
        or not isinstance(call.func, ast.Name)
        or call.func.id != "f"
        or (call.func.lineno, call.func.col_offset) != (1, 0)
        or ast.get_source_segment(source, call) != source
    ):
        raise RequestError(f"ARGS must be plain argument text that stays inside the call: {text[:120]!r}")
    args: list[Any] = []
    for position, node in enumerate(call.args, start=1):
        if isinstance(node, ast.Starred):
            raise RequestError("ARGS may not use *args unpacking")
        args.append(_literal(node, f"argument {position}"))
    kwargs: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise RequestError("ARGS may not use **kwargs unpacking")
        if keyword.arg in kwargs:
            raise RequestError(f"keyword argument {keyword.arg!r} is repeated")
        kwargs[keyword.arg] = _literal(keyword.value, f"argument {keyword.arg}=")
    return tuple(args), kwargs


def _parse_payload(payload: str) -> dict[str, Any]:
    """Parse the payload text into a dict with string keys (literals only)."""
    try:
        fields = _parse_literal(payload)
    except _NotLiteral as exc:
        raise RequestError(
            f"payload is not a Python dict literal like {{'HEAD': 'MEGA', 'VALUE': 'name', 'ARGS': 0}} "
            f"({exc}); names, calls and expressions are refused"
        ) from None
    if type(fields) is not dict:
        raise RequestError(f"payload must be a dict literal, got {type(fields).__name__}")
    for key in fields:
        if type(key) is not str:
            raise RequestError(f"payload keys must be strings, got {key!r}")
    return fields


def parse_request(payload: str) -> Request:
    """Parse a request payload (literals only) into a :class:`Request`.

    :raises RequestError: with a message fit for the caller: not a dict literal, ``HEAD`` is not
        ``MEGA``, ``VALUE`` missing or not a name, ``TYPE``/``TIME`` not 0 (remote tasks and
        scheduled jobs are not supported), bad ``TOKEN`` type, or bad ``ARGS``.
    """
    fields = _parse_payload(payload)
    head = fields.get("HEAD")
    if not isinstance(head, str) or head.upper() != "MEGA":
        raise RequestError(f"HEAD must be 'MEGA', got {head!r}")
    if fields.get("TYPE", 0) not in _ZERO_VALUES:
        raise RequestError(
            f"TYPE={fields['TYPE']!r} is not supported: remote tasks (TYPE=1) were removed; send TYPE=0"
        )
    if fields.get("TIME", 0) not in _ZERO_VALUES:
        raise RequestError(
            f"TIME={fields['TIME']!r} is not supported: scheduled jobs were never implemented; "
            "send TIME=0 to run the call now"
        )
    function = fields.get("VALUE")
    if not isinstance(function, str) or not function.isidentifier():
        raise RequestError(f"VALUE must be a function name, got {function!r}")
    token = fields.get("TOKEN")
    if token is not None and not isinstance(token, str):
        raise RequestError("TOKEN must be a string")
    raw_args = fields.get("ARGS", 0)
    if isinstance(raw_args, str):
        args, kwargs = parse_args(raw_args) if raw_args.strip() else ((), {})
    elif not raw_args:
        args, kwargs = (), {}  # old clients send 0 for "no arguments"
    else:
        # The 2014 server formatted a non-text ARGS into the call with %s: one positional argument.
        try:
            check_literal(raw_args)
        except ReplyError as exc:
            raise RequestError(f"ARGS is not allowed: {exc}") from None
        args, kwargs = (raw_args,), {}
    return Request(function=function, args=args, kwargs=kwargs, token=token, tool=bool(fields.get("TOOL")))


def format_args(*args: Any, **kwargs: Any) -> str:
    """Build ``ARGS`` call text from Python values (the inverse of :func:`parse_args`).

    >>> format_args('1.1.1.1', 3306, model='backup')
    "'1.1.1.1', 3306, model='backup'"

    :raises ReplyError: if a value is not literal-safe.
    """
    parts = [repr(to_literal(a)) for a in args]
    for key, value in kwargs.items():
        if not key.isidentifier():
            raise ReplyError(f"{key!r} is not a valid keyword name")
        parts.append(f"{key}={to_literal(value)!r}")
    return ", ".join(parts)


def build_request(function: str, func_args: Any = None, **fields: Any) -> str:
    """The payload text the legacy client sends (``HEAD``, ``TYPE``... ``ARGS``, extra fields)."""
    message: dict[str, Any] = {"HEAD": "MEGA", "TYPE": 0, "TIME": 0, "CYCLE": 0, "TARGET": 0,
                               "VALUE": function, "ARGS": func_args or 0}
    message.update(fields)
    return repr(to_literal(message))
