"""``mega serve``: one process running the RPC listener (and later the HTTP server and monitor)."""

from __future__ import annotations

import functools
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from mega import api, context
from mega.rpc.server import RpcServer
from mega.service import Service
from mega.settings import Settings

log = logging.getLogger("mega.serve")


def _as_rpc_caller(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` with the change-log actor set to ``rpc:<model>``."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        model = kwargs.get("model")
        with context.acting_as(f"rpc:{model}" if isinstance(model, str) else "rpc"):
            return fn(*args, **kwargs)

    return call


def rpc_server(settings: Settings) -> RpcServer:
    functions = {name: _as_rpc_caller(fn) for name, fn in api.public_functions().items()}
    return RpcServer.from_settings(settings, functions, describe=api.describe_functions,
                                   logger=logging.getLogger("mega.rpc"))


def serve(settings: Settings, ready: Callable[[str], None] | None = None) -> None:
    """Upgrade the store, bind the API, serve until SIGINT/SIGTERM."""
    service = Service(settings)
    service.store.upgrade()
    api.bind(service)
    rpc = rpc_server(settings)
    port = rpc.start()
    where = f"{rpc.host}:{port}"
    log.info("mega serving RPC on %s, inventory %s", where, _safe_url(settings.db_url))
    if ready:
        ready(where)
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        stop.wait()
    finally:
        rpc.shutdown()
        service.store.dispose()
        log.info("mega stopped")


def _safe_url(url: str) -> str:
    """The store URL without its password, for logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
