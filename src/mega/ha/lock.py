"""One HA operation per group at a time, across every ``mega`` process sharing the store.

Contract: :func:`acquire` inserts the group's row in ``operation_lock`` atomically (primary key on the
group) and never overwrites a live holder; a row past its ``expires_at`` (its holder died) is taken
over.  :func:`release` deletes the row only when the caller still holds it.  A second caller gets
:class:`~mega.errors.OperationRefused` naming the operation that holds the group.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mega.errors import OperationRefused
from mega.inventory.db import Store
from mega.inventory.models import FailoverRecord, OperationLock


def holder_id() -> str:
    """``host:pid:thread:random``: unique per attempt, readable in messages."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


def acquire(store: Store, *, group_id: int, group_name: str, operation: str, holder: str, ttl: float,
            record_id: int | None = None) -> None:
    """Take the group's lock for ``ttl`` seconds.

    An expired lock means its process died mid-operation: its record is closed as failed
    (``N``, "abandoned") so that no record stays ``running``.

    :raises OperationRefused: another live operation holds it (the message names it).
    """
    now = datetime.now()
    try:
        with store.write() as s:
            stale = s.scalars(select(OperationLock).where(OperationLock.group_id == group_id,
                                                          OperationLock.expires_at < now)).all()
            for row in stale:
                if row.record_id is not None:
                    _abandon(s, row)
                s.delete(row)
            s.flush()
            s.add(OperationLock(group_id=group_id, holder=holder, operation=operation, acquired_at=now,
                                expires_at=now + timedelta(seconds=ttl), record_id=record_id))
    except IntegrityError:
        with store.read() as s:
            row = s.get(OperationLock, group_id)
        if row is None:  # released in between: one more try is fair
            return acquire(store, group_id=group_id, group_name=group_name, operation=operation, holder=holder,
                           ttl=ttl, record_id=record_id)
        record = f", record {row.record_id}" if row.record_id else ""
        raise OperationRefused(
            f"HA group {group_name!r} is busy: a {row.operation} started at "
            f"{row.acquired_at:%Y-%m-%d %H:%M:%S} by {row.holder}{record} is still running; try again when it ends"
        ) from None


def _abandon(session: Session, row: OperationLock) -> None:
    record = session.get(FailoverRecord, row.record_id)
    if record is not None and record.result == "running":
        record.result, record.end_time = "N", datetime.now().replace(microsecond=0)
        record.message = (f"abandoned: the process running this {row.operation} ({row.holder}) stopped before it "
                          f"ended; its lock expired at {row.expires_at:%Y-%m-%d %H:%M:%S}. Check the topology.")


def release(store: Store, *, group_id: int, holder: str) -> None:
    with store.write() as s:
        s.execute(delete(OperationLock).where(OperationLock.group_id == group_id, OperationLock.holder == holder))


@contextmanager
def group_lock(store: Store, *, group_id: int, group_name: str, operation: str, ttl: float,
               record_id: int | None = None) -> Iterator[str]:
    """Hold the group's lock for the block (naming ``record_id`` to whoever is refused); yields the holder."""
    holder = holder_id()
    acquire(store, group_id=group_id, group_name=group_name, operation=operation, holder=holder, ttl=ttl,
            record_id=record_id)
    try:
        yield holder
    finally:
        release(store, group_id=group_id, holder=holder)


def current(store: Store, group_id: int) -> OperationLock | None:
    with store.read() as s:
        return s.scalars(select(OperationLock).where(OperationLock.group_id == group_id)).one_or_none()
