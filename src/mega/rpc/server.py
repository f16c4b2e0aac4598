"""The 1104 RPC listener: a threaded TCP server speaking the 2014 framing, safely.

Guarantees (see ``docs/product.md``, "The RPC wire format"):

* nothing received is evaluated as code (:mod:`mega.rpc.codec` parses literals only);
* only the names in ``functions`` (plus ``get_all_funcs``) can be called;
* each request runs exactly once, in the connection's own thread;
* frames are size-capped, every frame must arrive within ``timeout`` seconds of the server
  starting to wait for it (so idle and slow clients are disconnected), and a bad frame costs
  only its own connection;
* at most ``max_clients`` connections are served at once; beyond that, new connections get a
  "server busy" reply and are closed at once;
* when a token is configured, every request must carry it in ``TOKEN`` (constant-time compare).

The functions are called concurrently from several threads, so they must be thread-safe.
"""

from __future__ import annotations

import hmac
import inspect
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from mega.errors import MegaError
from mega.rpc import codec

LIST_FUNCTION = "get_all_funcs"
_DRAIN_LIMIT = 1 << 20
_DRAIN_SECONDS = 0.5

Describe = Callable[[], list[dict[str, str]]]


def plain_signature(func: Callable[..., Any]) -> str:
    """The signature without annotations, the way the 2014 list showed it: ``(ip, port, **args)``."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return "(...)"
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


def describe_functions(functions: Mapping[str, Callable[..., Any]]) -> list[dict[str, str]]:
    """``get_all_funcs`` data: ``[{'name': ..., 'args': '(ip, port, **args)'}, ...]`` sorted by name."""
    return [{"name": name, "args": plain_signature(functions[name])} for name in sorted(functions)]


class RpcServer:
    """Serve ``functions`` over the 1104 protocol.

    :param functions: the callable names and their implementations.
    :param describe: returns the ``get_all_funcs`` list; built from ``functions`` when omitted.
    :param host: address to bind (loopback by default).
    :param port: port to bind; ``0`` picks a free one (see :meth:`start`).
    :param token: when set, every request must carry it in ``TOKEN``.
    :param max_frame: largest accepted frame (announced length) in bytes.
    :param timeout: seconds a connection may take to deliver each frame (and to accept a reply).
    :param max_clients: connections served at once; more are refused immediately.
    :param logger: where requests are logged (one line each; never the token nor argument values).
    """

    def __init__(
        self,
        functions: Mapping[str, Callable[..., Any]],
        describe: Describe | None = None,
        host: str = "127.0.0.1",
        port: int = 1104,
        token: str | None = None,
        max_frame: int = codec.DEFAULT_MAX_FRAME,
        timeout: float = 10.0,
        max_clients: int = 256,
        logger: logging.Logger | None = None,
    ) -> None:
        for name in functions:
            if not name.isidentifier():
                raise ValueError(f"RPC function name {name!r} is not an identifier")
        self._functions = dict(functions)
        self._signatures: dict[str, inspect.Signature | None] = {}
        for name, func in self._functions.items():
            try:
                self._signatures[name] = inspect.signature(func)
            except (TypeError, ValueError):
                self._signatures[name] = None
        self._describe: Describe = describe or (lambda: describe_functions(self._functions))
        self.host = host
        self.port = port
        self._token = token.encode("utf-8") if token else None
        self.max_frame = max_frame
        self.timeout = timeout
        self.max_clients = max_clients
        self.log = logger or logging.getLogger("mega.rpc")
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._clients: dict[int, tuple[socket.socket, threading.Thread]] = {}
        self._stopping = threading.Event()
        self._next_id = 0

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        functions: Mapping[str, Callable[..., Any]],
        describe: Describe | None = None,
        logger: logging.Logger | None = None,
    ) -> RpcServer:
        """Build a server from :class:`mega.settings.Settings` (``rpc_addr``, ``token``, ``rpc_*``)."""
        from mega.domain.address import parse_endpoint

        endpoint = parse_endpoint(settings.rpc_addr)
        token = settings.token.get_secret_value() if settings.token is not None else None
        return cls(
            functions,
            describe,
            host=endpoint.host,
            port=endpoint.port,
            token=token,
            max_frame=settings.rpc_max_frame,
            timeout=settings.rpc_timeout,
            max_clients=settings.rpc_max_clients,
            logger=logger,
        )

    # ---------------------------------------------------------------- lifecycle

    def bind(self) -> int:
        """Bind and listen (idempotent); returns the actual port."""
        if self._listener is None:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            listener = socket.create_server(
                (self.host, self.port), family=family, backlog=max(128, self.max_clients)
            )
            listener.settimeout(0.5)  # lets the accept loop notice shutdown()
            self._listener = listener
            self.port = listener.getsockname()[1]
            self.log.info("rpc listening on %s:%d (token %s)", self.host, self.port,
                          "required" if self._token else "not required")
        return self.port

    def start(self) -> int:
        """Bind and serve in a background thread; returns the actual port."""
        port = self.bind()
        if self._accept_thread is None:
            self._accept_thread = threading.Thread(target=self.serve_forever, name="rpc-accept", daemon=True)
            self._accept_thread.start()
        return port

    def serve_forever(self) -> None:
        """Accept connections until :meth:`shutdown` (binds first if needed)."""
        self.bind()
        listener = self._listener
        assert listener is not None
        while not self._stopping.is_set():
            try:
                conn, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    break
                self.log.exception("rpc accept failed")
                time.sleep(0.1)
                continue
            self._admit(conn, peer)

    def shutdown(self, wait: float = 5.0) -> None:
        """Stop accepting, let requests in flight finish and reply, then close every connection."""
        self._stopping.set()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() on Linux
            except OSError:
                pass
            self._listener.close()
        if self._accept_thread is not None and self._accept_thread is not threading.current_thread():
            self._accept_thread.join(wait)
        with self._lock:
            clients = list(self._clients.values())
        for conn, _thread in clients:
            try:
                conn.shutdown(socket.SHUT_RD)  # wakes a blocked recv; a reply can still be sent
            except OSError:
                pass
        deadline = time.monotonic() + wait
        for _conn, thread in clients:
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> RpcServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    @property
    def active_clients(self) -> int:
        """Connections being served now."""
        with self._lock:
            return len(self._clients)

    # ---------------------------------------------------------------- connections

    def _admit(self, conn: socket.socket, peer: Any) -> None:
        """Start a thread for ``conn``, or refuse it when ``max_clients`` are already served."""
        with self._lock:
            busy = len(self._clients) >= self.max_clients
            if not busy:
                self._next_id += 1
                client_id = self._next_id
                thread = threading.Thread(
                    target=self._serve_connection, args=(client_id, conn, _peer_text(peer)),
                    name=f"rpc-conn-{client_id}", daemon=True,
                )
                self._clients[client_id] = (conn, thread)
        if busy:
            self.log.warning("rpc %s refused: %d connections already (max_clients)",
                             _peer_text(peer), self.max_clients)
            message = f"server busy: {self.max_clients} connections already open; retry later"
            self._send_quietly(conn, codec.encode_error(codec.CODE_INTERNAL, message), timeout=0.5)
            self._close(conn, drain=False)
            return
        thread.start()

    def _serve_connection(self, client_id: int, conn: socket.socket, peer: str) -> None:
        """Read frames and answer each until the peer closes, times out or sends a bad frame."""
        try:
            configure_connection(conn, self.timeout)
            reader = codec.FrameReader(conn, self.max_frame)
            while not self._stopping.is_set():
                try:
                    payload = reader.read_frame(time.monotonic() + self.timeout)
                except codec.ConnectionClosed:
                    break
                except codec.FrameTimeout as exc:
                    if exc.received:
                        self.log.warning("rpc %s bad frame: %s", peer, exc)
                        self._send_quietly(conn, codec.encode_error(codec.CODE_INVALID, f"bad frame: {exc}"))
                    else:
                        self.log.info("rpc %s idle for %.1fs, closing", peer, self.timeout)
                    break
                except codec.FrameError as exc:
                    self.log.warning("rpc %s bad frame: %s", peer, exc)
                    self._send_quietly(conn, codec.encode_error(exc.code, f"bad frame: {exc}"))
                    self._close(conn, drain=True)
                    return
                except OSError as exc:
                    self.log.info("rpc %s connection error: %s", peer, exc)
                    break
                reply = self.handle(payload, peer)
                if not self._send_quietly(conn, reply):
                    break
        finally:
            self._close(conn, drain=False)
            with self._lock:
                self._clients.pop(client_id, None)

    def _send_quietly(self, conn: socket.socket, reply: str, timeout: float | None = None) -> bool:
        """Send one reply frame; False when the peer is gone or too slow to take it."""
        try:
            if timeout is not None:
                conn.settimeout(timeout)
            conn.sendall(codec.encode_frame(reply))  # bounded by SO_SNDTIMEO otherwise
            return True
        except (OSError, ValueError) as exc:
            self.log.info("rpc reply not delivered: %s", exc)
            return False

    @staticmethod
    def _close(conn: socket.socket, drain: bool) -> None:
        """Close ``conn``; with ``drain``, first read what the peer still sends (briefly) so the
        error reply is not lost to a TCP reset caused by unread data."""
        if drain:
            try:
                conn.shutdown(socket.SHUT_WR)
                end = time.monotonic() + _DRAIN_SECONDS
                drained = 0
                while drained < _DRAIN_LIMIT and (left := end - time.monotonic()) > 0:
                    conn.settimeout(left)
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    drained += len(chunk)
            except OSError:
                pass
        try:
            conn.close()
        except OSError:
            pass

    # ---------------------------------------------------------------- requests

    def handle(self, payload: str, peer: str = "-") -> str:
        """Answer one request payload with reply text (never raises).

        Order: parse (literals only) → token → ``get_all_funcs`` / known function → bind the
        arguments to the signature → call once → encode the result.
        """
        started = time.perf_counter()
        function = "?"
        model: Any = None
        try:
            request = codec.parse_request(payload)
            function = request.function
            model = request.kwargs.get("model")
            reply, outcome = self._dispatch(request)
        except codec.RequestError as exc:
            reply, outcome = codec.encode_error(exc.code, str(exc)), f"error {exc.code}: {exc}"
        except Exception:  # noqa: BLE001 - the loop edge: never let a request kill the connection
            self.log.exception("rpc %s %s: unexpected failure", peer, function)
            reply, outcome = codec.encode_error(codec.CODE_INTERNAL, "internal error (see the Mega log)"), "error -1"
        elapsed = (time.perf_counter() - started) * 1000
        suffix = f" model={str(model)[:64]!r}" if isinstance(model, str) else ""
        self.log.info("rpc %s %s%s %s %.1fms", peer, function, suffix, outcome, elapsed)
        return reply

    def _check_token(self, request: codec.Request) -> bool:
        if self._token is None:
            return True
        given = (request.token or "").encode("utf-8")
        return hmac.compare_digest(given, self._token)

    def _dispatch(self, request: codec.Request) -> tuple[str, str]:
        """Run the request; returns (reply text, outcome for the log)."""
        if not self._check_token(request):
            return codec.encode_error(codec.CODE_INVALID, "bad or missing token"), "error 2: bad or missing token"
        name = request.function
        if name == LIST_FUNCTION:
            return codec.encode_reply(self._describe()), "ok"
        func = self._functions.get(name)
        if func is None:
            message = f"unknown function {name}; call {LIST_FUNCTION} for the list"
            return codec.encode_error(codec.CODE_NOT_FOUND, message), "error 1: unknown function"
        sig = self._signatures.get(name)
        if sig is not None:
            try:
                bound = sig.bind(*request.args, **request.kwargs)
            except TypeError as exc:
                message = f"bad arguments for {name}: {exc}; expected {name}{plain_signature(func)}"
                return codec.encode_error(codec.CODE_INVALID, message), "error 2: bad arguments"
            args, kwargs = bound.args, bound.kwargs
        else:
            args, kwargs = request.args, request.kwargs
        try:
            result = func(*args, **kwargs)
        except MegaError as exc:
            code = int(exc.code)
            return codec.encode_error(code, str(exc) or type(exc).__name__), f"error {code}: {type(exc).__name__}"
        except Exception as exc:  # noqa: BLE001 - reported to the caller as an internal error
            self.log.exception("rpc %s failed", name)
            message = f"internal error in {name}: {type(exc).__name__} (see the Mega log)"
            return codec.encode_error(codec.CODE_INTERNAL, message), f"error -1: {type(exc).__name__}"
        try:
            return codec.encode_reply(result), "ok"
        except codec.ReplyError as exc:
            self.log.error("rpc %s returned a value that cannot be sent: %s", name, exc)
            return codec.encode_error(codec.CODE_INTERNAL, f"internal error: {name} returned {exc}"), "error -1"


def configure_connection(conn: socket.socket, timeout: float) -> None:
    """Blocking mode with kernel timeouts (``SO_RCVTIMEO``/``SO_SNDTIMEO``) and ``TCP_NODELAY``.

    Each ``recv``/``send`` then costs one system call instead of ``poll`` + call (+ ``ioctl``
    for every ``settimeout``), which keeps GIL hand-offs down with many connections; a stalled
    peer makes the call fail with ``EAGAIN`` after ``timeout`` seconds, and
    :func:`mega.rpc.codec.read_frame` still enforces the whole-frame deadline between reads.
    """
    seconds = int(timeout)
    timeval = struct.pack("ll", seconds, int((timeout - seconds) * 1_000_000))
    conn.settimeout(None)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _peer_text(peer: Any) -> str:
    """``host:port`` for a socket peer address."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = str(peer[0])
        return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
    return str(peer)
