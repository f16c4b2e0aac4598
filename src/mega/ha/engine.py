"""The HA engine's entry points: switchover, failover and rejoin of one HA group.

Every call opens a failover record first, then takes the group's lock, runs its step list under one
deadline, runs the hooks, and ends the record with exactly one final status:

* ``Y`` succeeded; ``partial`` the primary moved but some replicas could not follow (listed as lost);
* ``aborted`` refused or stopped before anything changed;
* ``rolled_back`` something failed before the point of no return and every change was undone;
* ``N`` failed, and the message says what state the topology was left in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mega.domain.address import Endpoint, parse_endpoint
from mega.errors import MegaError, OperationRefused
from mega.ha import hooks as hookmod
from mega.ha import lock as lockmod
from mega.ha.live import Conns
from mega.ha.record import Recorder, RecordSink, Status, Step
from mega.ha.topology import GroupView, observe
from mega.inventory.db import Store
from mega.settings import Settings

log = logging.getLogger("mega.ha")


class Inventory(RecordSink, Protocol):
    """What the engine needs from the service (implemented by :class:`mega.service.Service`)."""

    store: Store

    def get_group(self, name: Any) -> dict[str, Any]: ...

    def update_ha_info(self, new_master: Any, old_master: Any) -> dict[str, Any]: ...

    def set_topology(self, group_name: str, primary: str, replicas: list[str]) -> None: ...


class Abort(MegaError):
    """Stopped before anything changed on the servers."""


class RolledBack(MegaError):
    """Failed before the point of no return; every change was undone."""


class Failed(MegaError):
    """Failed and could not be fully undone; the message says what is left."""


@dataclass
class Outcome:
    """The result of one operation (also written to its record)."""

    record_id: int
    kind: str
    group: str
    status: Status
    message: str
    old_primary: str
    new_primary: str | None = None
    lost: list[dict[str, str]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    elapsed: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is Status.SUCCEEDED

    def as_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "kind": self.kind, "group": self.group, "status": self.status.value,
                "message": self.message, "old_primary": self.old_primary, "new_primary": self.new_primary,
                "lost": self.lost, "candidates": self.candidates, "elapsed": round(self.elapsed, 3),
                "metrics": {k: round(v, 4) for k, v in self.metrics.items()}}


@dataclass
class Context:
    """Everything a step list needs; ``result`` collects what the outcome reports."""

    settings: Settings
    inventory: Inventory
    rec: Recorder
    conns: Conns
    view: GroupView
    group: dict[str, Any]
    target: Endpoint | None
    force: bool = False
    new_primary: str | None = None
    lost: list[dict[str, str]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    hook_env: dict[str, str] = field(default_factory=dict)

    def lose(self, endpoint: Endpoint | str, reason: str, step: Step | None = None, note: str | None = None) -> None:
        """Report ``endpoint`` as lost; with ``step``, that step failed and says ``note`` (or the reason)."""
        self.lost.append({"endpoint": str(endpoint), "reason": reason})
        if step is not None:
            step.result = "N"
            step.say(note or reason)

    def lost_reason(self, endpoint: Endpoint | str) -> str | None:
        """Why ``endpoint`` was reported lost, or None."""
        return next((x["reason"] for x in self.lost if x["endpoint"] == str(endpoint)), None)

    def run_hooks(self, stage: str, extra: dict[str, str] | None = None) -> None:
        """Run ``stage`` hooks; a failing ``pre`` hook vetoes (raises :class:`Abort`)."""
        found = hookmod.find_hooks(self.settings.hooks_dir, self.view.name, stage)
        if not found:
            return
        env = {**self.hook_env, "MEGA_HOOK_STAGE": stage, "MEGA_RECORD_ID": str(self.rec.record_id),
               "MEGA_NEW_PRIMARY": self.new_primary or "",
               "MEGA_LOST_REPLICAS": ",".join(x["endpoint"] for x in self.lost), **(extra or {})}
        for path in found:
            with self.rec.step(f"hook {stage}", target=path.name) as step:
                result = hookmod.run_hook(path, env, self.settings.hook_timeout)
                output = " | ".join(line for line in result.output.splitlines() if line.strip())
                step.say(f"{path} exit {result.returncode}: {output or '(no output)'}")
                if not result.ok:
                    if stage == "pre":
                        raise Abort(f"pre hook {path} vetoed the operation: {result.output or result.returncode}")
                    step.result = "N"


Body = Callable[[Context], str]


class HaEngine:
    """Switchover, failover and rejoin over the inventory (``service``) and the live servers."""

    def __init__(self, inventory: Inventory, settings: Settings,
                 progress: Callable[[str], None] | None = None) -> None:
        self.inventory = inventory
        self.settings = settings
        self.progress = progress

    def switchover(self, group: str, to: str | None = None, *, requested_by: str = "",
                   trigger: str = "manual") -> Outcome:
        from mega.ha.switchover import run_switchover

        return self._operate("switchover", group, to, False, requested_by, trigger, run_switchover)

    def failover(self, group: str, to: str | None = None, *, force: bool = False, requested_by: str = "",
                 trigger: str = "manual") -> Outcome:
        from mega.ha.failover import run_failover

        return self._operate("failover", group, to, force, requested_by, trigger, run_failover)

    def rejoin(self, group: str, instance: str, *, requested_by: str = "") -> Outcome:
        from mega.ha.rejoin import run_rejoin

        return self._operate("rejoin", group, instance, False, requested_by, "manual", run_rejoin)

    def _operate(self, kind: str, group_name: str, target: str | None, force: bool, requested_by: str,
                 trigger: str, body: Body) -> Outcome:
        group = self.inventory.get_group(group_name)
        target_ep = parse_endpoint(target, default_port=3306) if target else None
        if target_ep is not None and str(target_ep) not in group["members"]:
            raise OperationRefused(f"{target_ep} is not a member of HA group {group['name']!r} "
                                   f"(members: {', '.join(group['members'])})")
        started = time.monotonic()
        old = str(target_ep) if kind == "rejoin" else group["master"]
        rec = Recorder.open(self.inventory, group_name=group["name"], kind=kind, old=old,
                            new=str(target_ep or ""), trigger=trigger, requested_by=requested_by,
                            timeout=self.settings.operation_timeout, progress=self.progress)
        conns = Conns(self.settings)
        ctx: Context | None = None
        status, message = Status.FAILED, "did not finish"
        try:
            with lockmod.group_lock(self.inventory.store, group_id=group["id"], group_name=group["name"],
                                    operation=kind, ttl=self.settings.operation_timeout + 30,
                                    record_id=rec.record_id):
                rec.note("lock", f"HA group {group['name']!r} locked for this {kind}")
                with rec.step("observe") as step:
                    view = observe(self.settings, group)
                    for m in view.members:
                        step.say(_member_line(m))
                mysql = [m.key for m in view.members if m.snap is not None and not m.snap.dialect.is_mariadb]
                if mysql:
                    raise Abort(f"{', '.join(mysql)} run MySQL: live {kind} is implemented for MariaDB 10.6+ only "
                                "(MySQL statements exist in mega.mysql.dialect, the engine does not use them yet)")
                ctx = Context(self.settings, self.inventory, rec, conns, view, group, target_ep, force)
                ctx.hook_env = {"MEGA_GROUP": group["name"], "MEGA_OPERATION": kind,
                                "MEGA_OLD_PRIMARY": group["master"], "MEGA_REQUESTED_BY": requested_by,
                                "MEGA_TRIGGER": trigger}
                message = body(ctx)  # runs the pre hooks once it knows the new primary
                status = Status.PARTIAL if ctx.lost else Status.SUCCEEDED
        except OperationRefused as exc:
            status, message = Status.ABORTED, str(exc)
            rec.note("lock", message, "N")
        except Abort as exc:
            status, message = Status.ABORTED, f"{exc}; nothing was changed"
        except RolledBack as exc:
            status, message = Status.ROLLED_BACK, f"{exc}; every change was undone, the old primary still serves"
        except Failed as exc:
            status, message = Status.FAILED, str(exc)
        except Exception as exc:  # noqa: BLE001 - the operation's edge: always end the record
            log.exception("%s of %s failed unexpectedly", kind, group_name)
            status, message = Status.FAILED, f"unexpected error: {exc}"
        finally:
            conns.close()
        if ctx is not None:
            stage = "post-success" if status in (Status.SUCCEEDED, Status.PARTIAL) else "post-failure"
            try:
                ctx.run_hooks(stage, {"MEGA_STATUS": status.value, "MEGA_MESSAGE": message})
            except Exception:  # noqa: BLE001 - a post hook never changes the outcome
                log.exception("post hook failed")
        new_primary = ctx.new_primary if ctx else None
        lost = ctx.lost if ctx else []
        candidates = ctx.candidates if ctx else []
        rec.finish(status, message, candidates=candidates, lost=lost, new_master=new_primary)
        return Outcome(rec.record_id, kind, group["name"], status, message, group["master"], new_primary, lost,
                       candidates, time.monotonic() - started, ctx.metrics if ctx else {})


def _member_line(m: Any) -> str:
    if m.snap is None:
        return f"{m.key}: unreachable ({m.error})"
    link = m.link
    role = (f"replica of {link.source_host}:{link.source_port} IO={link.io_state.value} SQL={link.sql_state.value}"
            if link else ("writable, no source" if m.snap.writable else "read-only, no source"))
    return f"{m.key}: {role}, gtid_binlog_pos={m.snap.gtid_binlog_pos}"
