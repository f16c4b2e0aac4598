"""Rejoin: make a former primary (or any stray member) a replica of the current primary, but only
after checking it holds no transaction the primary lacks (it would diverge silently otherwise)."""

from __future__ import annotations

from mega.domain.gtid import GtidState
from mega.errors import LiveServerError
from mega.ha import live
from mega.ha.engine import Abort, Context, Failed


def divergent(mine: GtidState, primary: GtidState) -> list[str]:
    """The GTIDs in ``mine`` that ``primary`` never had, per (domain, server).

    ``gtid_binlog_state`` keeps only the last GTID of each server in each domain, and a domain's
    sequence numbers are shared by all servers, so the exact list is not known: what is named is
    the bound, ``d-s-a..d-s-b`` (server s's GTIDs numbered a to b, those that exist) when the
    primary has some of server s's, or the last one when it has none.

    >>> divergent(GtidState.parse("0-1-45,0-2-10"), GtidState.parse("0-1-40,0-2-12"))
    ['0-1-41..0-1-45']
    >>> divergent(GtidState.parse("0-1-10,0-3-11"), GtidState.parse("0-1-10"))
    ['0-3-11 (and any earlier GTID of server 3 in domain 0)']
    >>> divergent(GtidState.parse("0-1-40"), GtidState.parse("0-1-40,0-2-50"))
    []
    """
    out = []
    for g in mine.gtids:
        seen = primary.seq(g.domain, g.server)
        if seen is None:
            out.append(f"{g} (and any earlier GTID of server {g.server} in domain {g.domain})")
        elif seen < g.seq:
            last = f"..{g}" if seen + 1 != g.seq else ""
            out.append(f"{g.domain}-{g.server}-{seen + 1}{last}")
    return out


def run_rejoin(ctx: Context) -> str:
    target, primary = ctx.target, ctx.view.inventory_master
    if target is None:
        raise Abort("name the instance to rejoin")
    if target == primary:
        raise Abort(f"{target} is the group's primary already")
    rec, conns, s = ctx.rec, ctx.conns, ctx.settings
    p, t = ctx.view.member(primary), ctx.view.member(target)
    if p is None or p.snap is None or not p.looks_primary:
        raise Abort(f"the group's primary {primary} is not a reachable writable primary "
                    f"({p.error if p and p.error else 'read-only or replicating'})")
    if t is None or t.snap is None:
        raise Abort(f"{target} does not answer: {t.error if t else 'not a member'}")
    ctx.new_primary = str(primary)
    ctx.run_hooks("pre")
    with rec.step("divergence check", target=str(target)) as step:
        mine, theirs = t.snap.gtid_binlog_state or GtidState(), p.snap.gtid_binlog_state or GtidState()
        extra = divergent(mine, theirs)
        step.say(f"{target} gtid_binlog_state={mine}; primary {primary} gtid_binlog_state={theirs}")
        if extra:
            raise Abort(f"{target} holds transactions the primary {primary} does not have: {', '.join(extra)}; "
                        "it cannot rejoin without losing or replaying them (rebuild it from a backup of the "
                        "primary, or apply them on the primary by hand first)")
        step.say("no divergent transaction")
    with rec.step("re-point", target=str(target)) as step:
        try:
            live.read_only(conns, target, True, rec, step, s.read_only_timeout)
            live.point_to(conns, target, primary, rec, step, s, demote=t.link is None)
        except LiveServerError as exc:
            raise Failed(f"could not re-point {target} to {primary}: {live.describe(exc)}; it is read-only and "
                         "not replicating") from exc
    with rec.step("verify", target=str(target)) as step:
        ok, seen = live.wait_io_running(conns, target, rec, 10)
        step.say(seen)
        if not ok:
            raise Failed(f"{target} points at {primary} but does not replicate: {seen}")
        pos = live.gtid(conns, primary)
        caught_up = live.wait_applied(conns, target, pos, rec, step, s.catchup_timeout)
        ok, seen = live.wait_io_running(conns, target, rec, 1)
        if not ok:
            raise Failed(f"{target} started replicating from {primary}, then stopped: {seen}")
        step.say(f"caught up to {pos}" if caught_up else f"replicating, still catching up to {pos}")
    with rec.step("inventory") as step:
        ctx.inventory.set_topology(ctx.view.name, str(primary), [str(target)])
        step.say(f"{target} replicates from {primary}")
    return f"{target} rejoined as a replica of {primary}"
