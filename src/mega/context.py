"""Who is calling: the actor and request id that every change-log row carries.

Transports set them per request (RPC peer and ``model``, CLI user, HTTP client); the service
layer reads them.  Context variables, so concurrent requests never see each other's values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_actor: ContextVar[str] = ContextVar("mega_actor", default="api")
_request_id: ContextVar[str] = ContextVar("mega_request_id", default="")


def actor() -> str:
    return _actor.get()


def request_id() -> str:
    rid = _request_id.get()
    if not rid:
        rid = uuid.uuid4().hex
        _request_id.set(rid)
    return rid


@contextmanager
def acting_as(who: str, rid: str | None = None) -> Iterator[str]:
    """Run the block as ``who`` under one request id (new unless given)."""
    rid = rid or uuid.uuid4().hex
    t1, t2 = _actor.set(who), _request_id.set(rid)
    try:
        yield rid
    finally:
        _actor.reset(t1)
        _request_id.reset(t2)
