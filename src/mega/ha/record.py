"""The audit trail of one HA operation: a failover record and one detail row per step.

Every step runs under a deadline and writes its row whatever happens (``Y`` done, ``N`` failed,
``skip`` not needed); the operation ends with exactly one final status.  The record sink is the
service (see :class:`RecordSink`), so this module never imports a transport or the service.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from mega.errors import MegaError

log = logging.getLogger("mega.ha")


class Status(StrEnum):
    """Final statuses of a record (``Y``/``N`` keep the seed's meaning)."""

    SUCCEEDED = "Y"
    FAILED = "N"
    ABORTED = "aborted"
    ROLLED_BACK = "rolled_back"
    PARTIAL = "partial"


class RecordSink(Protocol):
    """Where records go (implemented by :class:`mega.service.Service`)."""

    def add_record(self, group_id: Any, method: Any, old_master: Any, new_master: Any, group_name: Any = None, *,
                   kind: str = ..., trigger: str = ..., requested_by: str = ...) -> int: ...

    def add_record_detail(self, record_id: Any, module: Any, re_time: Any, time_used: Any, result: Any,
                          content: Any, *, target: str = ...) -> int: ...

    def finish_record(self, record_id: Any, result: Any, *, message: str | None = ...,
                      candidates: list[Any] | None = ..., lost: list[Any] | None = ...,
                      new_master: str | None = ...) -> None: ...


class DeadlineExceeded(MegaError):
    """The operation ran out of time before this step."""


class StepFailed(MegaError):
    """A step failed; ``step`` names it."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step


@dataclass
class Step:
    """A running step: collect what it did with :meth:`say` (SQL, observations)."""

    module: str
    target: str = ""
    notes: list[str] = field(default_factory=list)
    result: str = "Y"

    def say(self, text: str) -> None:
        self.notes.append(text)

    def skip(self, text: str) -> None:
        self.notes.append(text)
        self.result = "skip"


class Recorder:
    """Writes one record's steps; created by :meth:`open`.

    :param deadline: ``time.monotonic()`` value by which the whole operation must end.
    :param progress: called with one line per finished step (CLI progress output).
    """

    def __init__(self, sink: RecordSink, record_id: int, deadline: float,
                 progress: Callable[[str], None] | None = None) -> None:
        self.sink = sink
        self.record_id = record_id
        self.deadline = deadline
        self.progress = progress
        self.finished: Status | None = None
        self.steps: list[tuple[str, str, str]] = []

    @classmethod
    def open(cls, sink: RecordSink, *, group_name: str, kind: str, old: str, new: str, trigger: str,
             requested_by: str, timeout: float, progress: Callable[[str], None] | None = None) -> Recorder:
        rid = sink.add_record(None, kind, old, new, group_name, kind=kind, trigger=trigger,
                              requested_by=requested_by)
        return cls(sink, rid, time.monotonic() + timeout, progress)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def budget(self, wanted: float) -> float:
        """``wanted`` seconds, capped by what is left of the operation's deadline (at least 1 s)."""
        left = self.remaining()
        if left <= 0:
            raise DeadlineExceeded("the operation's deadline has passed")
        return max(1.0, min(wanted, left))

    @contextmanager
    def step(self, module: str, target: str = "") -> Iterator[Step]:
        """Run one step; its detail row is written on exit, success or failure."""
        if self.remaining() <= 0:
            self._write(Step(module, target, ["not started: the operation's deadline has passed"], "N"), 0.0)
            raise DeadlineExceeded(f"{module}: the operation's deadline has passed")
        current = Step(module, target)
        started = time.monotonic()
        try:
            yield current
        except Exception as exc:
            current.result = "N"
            current.say(f"failed: {exc}")
            self._write(current, time.monotonic() - started)
            if isinstance(exc, MegaError):
                raise
            raise StepFailed(module, str(exc)) from exc
        self._write(current, time.monotonic() - started)

    def note(self, module: str, text: str, result: str = "Y", target: str = "") -> None:
        """A one-line step with nothing to time (a decision, a summary)."""
        self._write(Step(module, target, [text], result), 0.0)

    def _write(self, step: Step, elapsed: float) -> None:
        content = "; ".join(step.notes) or "done"
        self.steps.append((step.module, step.result, content))
        try:
            self.sink.add_record_detail(self.record_id, step.module, datetime.now(), round(elapsed, 4),
                                        step.result, content, target=step.target)
        except Exception:  # noqa: BLE001 - the store failing must not stop a half-done switch
            log.exception("record %s: could not write step %s", self.record_id, step.module)
        line = f"[{step.result:>4}] {step.module}{' ' + step.target if step.target else ''}: {content} ({elapsed:.3f}s)"
        log.info("record %s %s", self.record_id, line)
        if self.progress:
            self.progress(line)

    def finish(self, status: Status, message: str, **fields: Any) -> None:
        """Write the final status (once)."""
        if self.finished is not None:
            return
        self.finished = status
        try:
            self.sink.finish_record(self.record_id, status.value, message=message, **fields)
        except Exception:  # noqa: BLE001
            log.exception("record %s: could not write its final status %s", self.record_id, status)
        if self.progress:
            self.progress(f"==> {status.name.lower().replace('_', ' ')}: {message}")
