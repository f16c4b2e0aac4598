"""Planned switchover on MariaDB: the old primary is alive and hands over without losing a write.

Steps (ha-notes 9.6): choose and check the candidate; pre-sync; demote the old primary (read_only,
kill sessions that write through it, stable GTID position); catch up; promote (the point of no
return); re-point the old primary (``MASTER_DEMOTE_TO_SLAVE=1``) and every other replica; verify;
record the new roles in the inventory.  Anything failing before the promotion is undone.
"""

from __future__ import annotations

import time

from mega.domain.address import Endpoint, parse_endpoint
from mega.domain.candidates import rank
from mega.domain.gtid import GtidPosition
from mega.errors import LiveServerError
from mega.ha import live
from mega.ha.engine import Abort, Context, Failed, RolledBack
from mega.ha.topology import Member, replica_facts


def run_switchover(ctx: Context) -> str:
    old = ctx.view.inventory_master
    primary = _check_primary(ctx, old)
    candidate = _choose(ctx, primary)
    ctx.new_primary = str(candidate)
    ctx.run_hooks("pre")
    rec, conns, s = ctx.rec, ctx.conns, ctx.settings
    with rec.step("pre-sync", target=str(candidate)) as step:
        pos = primary.snap.gtid_binlog_pos or GtidPosition()  # type: ignore[union-attr]
        if not live.wait_applied(conns, candidate, pos, rec, step, s.catchup_timeout):
            raise Abort(f"candidate {candidate} did not reach {pos} within {s.catchup_timeout:g}s (too much lag)")
    outage_start = time.monotonic()
    final = _demote(ctx, old)
    _catch_up(ctx, old, candidate, final)
    _promote(ctx, old, candidate)
    ctx.metrics["write_block_seconds"] = time.monotonic() - outage_start
    _repoint_all(ctx, old, candidate, final)
    _verify(ctx, candidate)
    _record_inventory(ctx, old, candidate)
    return f"{candidate} is the primary; {old} replicates from it" + (
        f"; lost: {', '.join(x['endpoint'] for x in ctx.lost)}" if ctx.lost else "")


def _check_primary(ctx: Context, old: Endpoint) -> Member:
    with ctx.rec.step("check primary", target=str(old)) as step:
        member = ctx.view.member(old)
        if member is None or member.snap is None:
            raise Abort(f"the primary {old} does not answer ({member.error if member else 'not a member'}); "
                        "use failover for a dead primary")
        if member.link is not None:
            raise Abort(f"{old} replicates from {member.link.source_host}:{member.link.source_port}; the "
                        "inventory's primary is not the live one")
        if not member.snap.writable:
            raise Abort(f"the primary {old} is read-only; fix or fail over first")
        if not member.snap.log_bin:
            raise Abort(f"the primary {old} has no binary log")
        others = [m for m in ctx.view.live_primaries() if m.endpoint != old]
        if others:
            raise Abort(f"more than one writable primary: {old} and {', '.join(m.key for m in others)}")
        step.say(f"{old} is writable, gtid_binlog_pos={member.snap.gtid_binlog_pos}")
        return member


def _choose(ctx: Context, primary: Member) -> Endpoint:
    snap = primary.snap
    assert snap is not None
    replicas = ctx.view.replicas_of(primary.endpoint)
    with ctx.rec.step("choose candidate") as step:
        facts = [replica_facts(m, n, snap.gtid_binlog_pos, snap.gtid_binlog_state, ctx.settings.max_failover_lag)
                 for n, m in enumerate(replicas)]
        ranking = rank(facts, ctx.settings.max_failover_lag)
        ctx.candidates = ranking.as_list()
        for c in ranking.candidates:
            step.say(f"#{c.rank} {c.endpoint} {'eligible' if c.eligible else 'excluded'}"
                     + (f" ({'; '.join(c.reasons)})" if c.reasons else ""))
            if any(r.startswith("errant") for r in c.reasons):
                # It cannot follow any primary (strict mode stops it at the next conflicting GTID):
                # leave it as it was and report it, as failover does.
                ctx.lose(c.endpoint, "; ".join(c.reasons))
        if ctx.target == primary.endpoint:
            raise Abort(f"{ctx.target} is already the primary of {ctx.view.name!r}")
        if ctx.target is not None:
            reasons = ranking.why_not(str(ctx.target))
            chosen = next((c for c in ranking.candidates if c.endpoint == str(ctx.target)), None)
            if chosen is None or not chosen.eligible:
                raise Abort(f"{ctx.target} cannot become the primary: {'; '.join(reasons)}")
        elif ranking.chosen is None:
            raise Abort("no replica can become the primary: "
                        + "; ".join(f"{c.endpoint}: {', '.join(c.reasons)}" for c in ranking.candidates)
                        if ranking.candidates else f"{primary.key} has no replicas")
        target = ctx.target or parse_endpoint(ranking.chosen.endpoint)  # type: ignore[union-attr]
        member = ctx.view.member(target)
        assert member is not None and member.link is not None
        if not member.link.io_running:
            raise Abort(f"{target} is not receiving from the primary (IO thread {member.link.io_state.value})")
        step.say(f"chosen: {target}")
        for m in ctx.view.others(primary.endpoint, target):
            if m.snap is None:
                step.say(f"{m.key} is unreachable: it will be lost")
        return target


def _demote(ctx: Context, old: Endpoint) -> GtidPosition:
    rec, conns, s = ctx.rec, ctx.conns, ctx.settings
    with rec.step("demote: read_only", target=str(old)) as step:
        try:
            live.read_only(conns, old, True, rec, step, s.read_only_timeout)
        except LiveServerError as exc:
            _undo_read_only(ctx, old)
            raise RolledBack(f"could not make {old} read-only: {live.describe(exc)}") from exc
    with rec.step("demote: fence sessions", target=str(old)) as step:
        try:
            from mega.mysql.probe import kill_sessions

            killed = kill_sessions(conns.get(old), except_ids=conns.thread_ids(old), timeout=rec.budget(10))
            step.say(f"killed {len(killed)} session(s) of accounts that write through read_only: {killed}"
                     if killed else "no session of an account that writes through read_only")
            final = live.stable_binlog_pos(conns, old, step)
        except LiveServerError as exc:
            _undo_read_only(ctx, old)
            raise RolledBack(f"could not fence {old}: {live.describe(exc)}") from exc
    return final


def _undo_read_only(ctx: Context, old: Endpoint) -> None:
    with ctx.rec.step("undo: read_only=0", target=str(old)) as step:
        try:
            live.read_only(ctx.conns, old, False, ctx.rec, step, ctx.settings.read_only_timeout)
        except LiveServerError as exc:
            raise Failed(f"could not make {old} writable again after a failed switchover: {live.describe(exc)}; "
                         f"it is READ-ONLY now: run SET GLOBAL read_only=0 on it") from exc


def _catch_up(ctx: Context, old: Endpoint, candidate: Endpoint, final: GtidPosition) -> None:
    with ctx.rec.step("catch up", target=str(candidate)) as step:
        try:
            reached = live.wait_applied(ctx.conns, candidate, final, ctx.rec, step, ctx.settings.catchup_timeout)
        except LiveServerError as exc:
            reached, step_error = False, live.describe(exc)
        else:
            step_error = f"did not reach {final} within {ctx.settings.catchup_timeout:g}s"
        if not reached:
            step.result = "N"
            step.say(step_error)
    if not reached:
        _undo_read_only(ctx, old)
        raise RolledBack(f"{candidate} {step_error}")


def _promote(ctx: Context, old: Endpoint, candidate: Endpoint) -> None:
    with ctx.rec.step("promote", target=str(candidate)) as step:
        try:
            live.promote(ctx.conns, candidate, ctx.rec, step, ctx.settings)
            return
        except LiveServerError as exc:
            error = live.describe(exc)
            step.result = "N"
            step.say(f"failed: {error}")
    with ctx.rec.step("undo: re-point candidate", target=str(candidate)) as step:
        try:
            live.read_only(ctx.conns, candidate, True, ctx.rec, step, ctx.settings.read_only_timeout)
            live.point_to(ctx.conns, candidate, old, ctx.rec, step, ctx.settings)
        except LiveServerError as exc:
            _undo_read_only(ctx, old)
            raise Failed(f"promotion of {candidate} failed ({error}) and it could not be re-pointed to {old} "
                         f"({live.describe(exc)}); {old} is writable again, {candidate} needs a look") from exc
    _undo_read_only(ctx, old)
    raise RolledBack(f"promotion of {candidate} failed: {error}")


def _repoint_all(ctx: Context, old: Endpoint, candidate: Endpoint, final: GtidPosition) -> None:
    rec, conns, s = ctx.rec, ctx.conns, ctx.settings
    with rec.step("re-point old primary", target=str(old)) as step:
        try:
            live.point_to(conns, old, candidate, rec, step, s, demote=True)
        except LiveServerError as exc:
            ctx.lose(old, f"could not re-point to {candidate}: {live.describe(exc)}", step)
    for m in ctx.view.others(old, candidate):
        with rec.step("re-point replica", target=m.key) as step:
            reason = ctx.lost_reason(m.endpoint)
            if reason is not None:
                step.result = "N"
                step.say(f"left as it was: {reason}")
                continue
            if m.snap is None:
                ctx.lose(m.endpoint, f"unreachable: {m.error}", step, "unreachable, left as it was")
                continue
            if m.source != old:
                # Not one of the old primary's replicas (e.g. a former primary that never rejoined):
                # moving it could attach a diverged server; only `mega ha rejoin` does that, after
                # its divergence check.
                where = f"replicates from {m.source}" if m.source else "replicates from nobody"
                ctx.lose(m.endpoint, f"not a replica of {old} ({where}): left as it was; "
                                     f"use `mega ha rejoin {ctx.view.name} {m.key}`",
                         step, f"{where}: left as it was (rejoin it after a divergence check)")
                continue
            try:
                if _delayed(m):
                    # It would not apply `final` for hours; the candidate's binlog has everything it
                    # has not applied yet, so it resumes there (its MASTER_DELAY is kept).
                    step.say(f"delayed replica (MASTER_DELAY={m.link.sql_delay}s): re-pointed without "  # type: ignore[union-attr]
                             "waiting for it to apply")
                elif not live.wait_applied(conns, m.endpoint, final, rec, step, s.catchup_timeout):
                    raise LiveServerError(f"{m.key} did not apply up to {final} in time")
                live.point_to(conns, m.endpoint, candidate, rec, step, s)
            except LiveServerError as exc:
                ctx.lose(m.endpoint, f"could not re-point to {candidate}: {live.describe(exc)}", step)


def _verify(ctx: Context, candidate: Endpoint) -> None:
    rec, conns = ctx.rec, ctx.conns
    lost = {x["endpoint"] for x in ctx.lost}
    with rec.step("verify", target=str(candidate)) as step:
        pos = live.gtid(conns, candidate)
        step.say(f"new primary writable, gtid_binlog_pos={pos}")
        for m in ctx.view.others(candidate):
            if m.key in lost:
                continue
            ok, seen = live.wait_io_running(conns, m.endpoint, rec)
            if ok and _delayed(m):
                step.say(f"{m.key}: {seen}, delayed by {m.link.sql_delay}s")  # type: ignore[union-attr]
            elif ok and live.wait_applied(conns, m.endpoint, pos, rec, step, 5):
                step.say(f"{m.key}: {seen}, caught up")
            else:
                ctx.lose(m.endpoint, f"not replicating from {candidate} after the switch: {seen}")
                step.say(f"{m.key}: NOT replicating ({seen})")


def _delayed(m: Member) -> bool:
    return m.link is not None and m.link.sql_delay > 0


def _record_inventory(ctx: Context, old: Endpoint, candidate: Endpoint) -> None:
    lost = {x["endpoint"] for x in ctx.lost}
    replicas = [m.key for m in ctx.view.others(candidate) if m.key not in lost]
    with ctx.rec.step("inventory") as step:
        ctx.inventory.set_topology(ctx.view.name, str(candidate), replicas)
        step.say(f"update_ha_info('{candidate}', '{old}'): {candidate} is the master of "
                 f"{ctx.view.name!r}; replicas: {', '.join(replicas) or 'none'}")
