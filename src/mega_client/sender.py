"""The legacy 1104 client (``MegaClient``, ``MegaTool``), in Python 3 and without ``eval``.

Usage, as in the 2014 seed test case::

    from mega_client import sender
    from mega_client.setting import MEGA_HOST

    c = sender.MegaClient(host=MEGA_HOST, cmd='stat_failover_record')
    r = c.run(func_args="32,'Y'")   # -> True
    c.close()

``run`` returns the server's reply **already decoded** into Python values (with
``ast.literal_eval``; old code that still ``eval``'s a string should drop the ``eval``).

Failures raise instead of returning the 2014 sentinels (``0`` for "cannot connect" read as the
success code of an ``add_*``, so a script would carry on as if it had worked):

* :class:`MegaUnavailable` when the connection cannot be made;
* :class:`MegaRequestFailed` when sending or receiving fails (timeout, connection reset, bad reply);
* :class:`MegaRemoteError` (``.code``, ``.message``) when the server answers with an error
  (unknown function, bad arguments, bad token...);
* ``ValueError`` when no command is given.

Command line::

    python -m mega_client.sender list                 # n name args, one line per function
    python -m mega_client.sender call FUNC "'1.1.1.1',3306"

``MEGA_HOST``, ``MEGA_PORT`` and ``MEGA_TOKEN`` (see :mod:`mega_client.setting`) choose the server.
"""

from __future__ import annotations

import argparse
import ast
import logging
import socket
import sys
import time
from typing import Any

from mega.rpc import codec
from mega_client import setting

log = logging.getLogger("mega_client")

#: Largest reply frame the client accepts (replies can list a whole fleet).
MAX_REPLY_FRAME = 256 * 1024 * 1024
_DEFAULT_FIELDS = ("TYPE", "TIME", "CYCLE", "TARGET")


class MegaClientError(Exception):
    """The call produced no result; the message says why."""


class MegaUnavailable(MegaClientError, ConnectionError):
    """The Mega server could not be reached."""


class MegaRequestFailed(MegaClientError):
    """Sending the request or receiving the reply failed."""


class MegaRemoteError(MegaClientError):
    """The server refused the request: ``code`` (2 invalid, 1 unknown function, -1 internal...)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Mega error {code}: {message}")
        self.code = code
        self.message = message


class MegaClient:
    """One connection to a Mega server; several ``run`` calls may share it.

    :param host: server address (default :data:`mega_client.setting.MEGA_HOST`).
    :param port: server port (default :data:`mega_client.setting.MEGA_PORT`).
    :param cmd: the function name, or a dict of request fields (the legacy dict form, e.g.
        ``{'VALUE': 'get_instance', 'ARGS': "model='backup'"}``).
    :param timeout: seconds allowed for connecting and for each reply.
    :param token: shared secret (default :data:`mega_client.setting.MEGA_TOKEN`).
    """

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        cmd: str | dict[str, Any] | None = None,
        timeout: float = 10,
        token: str | None = None,
    ) -> None:
        self.host = host if host is not None else setting.MEGA_HOST
        self.port = int(port) if port is not None else setting.MEGA_PORT
        self.cmd = cmd
        self.timeout = timeout
        self.token = token if token is not None else setting.MEGA_TOKEN
        self._sock: socket.socket | None = None

    def _fields(self, func_args: Any, extra: dict[str, Any]) -> dict[str, Any] | None:
        """The request dict, legacy style: defaults 0, ``ARGS=func_args or 0``, extra fields."""
        cmd = self.cmd
        if isinstance(cmd, str) and cmd.lstrip().startswith("{"):
            try:
                cmd = ast.literal_eval(cmd)
            except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
                return None
        if isinstance(cmd, dict):
            fields: dict[str, Any] = {"HEAD": "MEGA", **cmd}
            if func_args is not None:
                fields["ARGS"] = func_args
        elif isinstance(cmd, str) and cmd:
            fields = {"HEAD": "MEGA", "VALUE": cmd, "ARGS": func_args}
        else:
            return None
        fields.update(extra)
        for key in (*_DEFAULT_FIELDS, "ARGS"):
            if not fields.get(key):
                fields[key] = 0
        if self.token and "TOKEN" not in fields:
            fields["TOKEN"] = self.token
        return fields

    def _connect(self) -> socket.socket:
        if self._sock is None:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
        return self._sock

    def run(self, func_args: Any = None, **fields: Any) -> Any:
        """Send the command and return the decoded reply.

        :param func_args: the ``ARGS`` call text, e.g. ``"'1.1.1.112:23','1.1.1.111:3306'"``.
        :param fields: extra request fields (``TOOL=True``, ``CYCLE=1``...).
        :returns: the decoded reply.
        :raises MegaUnavailable: the server cannot be reached.
        :raises MegaRequestFailed: sending or receiving failed.
        :raises MegaRemoteError: the server answered with an error.
        :raises ValueError: no command was given, or the request cannot be encoded.
        """
        message = self._fields(func_args, fields)
        if message is None:
            raise ValueError(f"MegaClient: no command given (cmd={self.cmd!r})")
        try:
            frame = codec.encode_frame(repr(codec.to_literal(message)))
        except codec.ReplyError as exc:
            raise ValueError(f"MegaClient: cannot encode the request: {exc}") from None
        try:
            sock = self._connect()
        except OSError as exc:
            raise MegaUnavailable(f"cannot connect to the Mega server at {self.host}:{self.port}: {exc}") from None
        try:
            sock.settimeout(self.timeout)
            sock.sendall(frame)
            text = codec.read_frame(sock, MAX_REPLY_FRAME, time.monotonic() + self.timeout)
            reply = codec.decode_reply(text)
        except (OSError, codec.FrameError, codec.ReplyError) as exc:
            self.close()
            raise MegaRequestFailed(f"request to the Mega server at {self.host}:{self.port} failed: {exc}") from None
        if codec.is_error_reply(reply):
            raise MegaRemoteError(int(reply["ERROR"]), str(reply["MESSAGE"]))
        return reply

    def close(self) -> None:
        """Close the connection (a later ``run`` reconnects)."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def __enter__(self) -> MegaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MegaTool:
    """Internal tool calls (``TOOL=True``), as in 2014."""

    def __init__(self, host: str | None = None, port: int | None = None, timeout: float = 10) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    def get_all_funcs(self) -> Any:
        """The server's function list ``[{'name': ..., 'args': '(...)'}, ...]``."""
        client = MegaClient(self.host, self.port, cmd="get_all_funcs", timeout=self.timeout)
        try:
            return client.run(TOOL=True)
        finally:
            client.close()


def main(argv: list[str] | None = None) -> int:
    """``list`` or ``call FUNC [ARGS]``; exit status 0 on success, 1 on a failure or error reply."""
    parser = argparse.ArgumentParser(prog="python -m mega_client.sender", description="Mega 1104 RPC client")
    parser.add_argument("--host", default=None, help=f"server (default MEGA_HOST={setting.MEGA_HOST})")
    parser.add_argument("--port", type=int, default=None, help=f"port (default MEGA_PORT={setting.MEGA_PORT})")
    parser.add_argument("--timeout", type=float, default=10.0)
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="list the callable functions")
    call = sub.add_parser("call", help="call a function")
    call.add_argument("function")
    call.add_argument("args", nargs="?", default="", help="argument text, e.g. \"'1.1.1.1',3306\"")
    opts = parser.parse_args(argv)

    try:
        if opts.action == "list":
            reply = MegaTool(opts.host, opts.port, opts.timeout).get_all_funcs()
        else:
            with MegaClient(opts.host, opts.port, cmd=opts.function, timeout=opts.timeout) as client:
                reply = client.run(func_args=opts.args or None)
    except MegaClientError as exc:
        print(exc, file=sys.stderr)
        return 1
    if opts.action == "list":
        for n, item in enumerate(reply, start=1):
            print(n, item.get("name"), item.get("args"))
    else:
        print(repr(reply))
    return 0


if __name__ == "__main__":
    sys.exit(main())
