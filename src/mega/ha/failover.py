"""Failover: the primary is dead; promote the most advanced eligible replica without losing what
any replica received.

Steps: confirm the primary is dead (Mega cannot reach it **and** no replica still receives from it;
``--force`` overrides); rank the replicas with a reason for every exclusion; let the chosen one apply
its whole relay log; promote it; re-point every other replica after it applied its own relay log
(those holding transactions the new primary lacks are lost, with the GTIDs named); fence the old
primary when it answers; record the new roles.
"""

from __future__ import annotations

from mega.domain.address import Endpoint, parse_endpoint
from mega.domain.candidates import rank
from mega.domain.gtid import Gtid, GtidPosition, GtidState, contains, errant
from mega.errors import LiveServerError
from mega.ha import live
from mega.ha.engine import Abort, Context, Failed
from mega.ha.topology import Member, replica_facts


def run_failover(ctx: Context) -> str:
    old = ctx.view.inventory_master
    old_member = _confirm_dead(ctx, old)
    replicas = [m for m in ctx.view.others(old)]
    chosen = _choose(ctx, old, replicas)
    ctx.new_primary = str(chosen)
    ctx.run_hooks("pre")
    rec, conns, s = ctx.rec, ctx.conns, ctx.settings
    if old_member is not None and old_member.snap is not None:
        _fence(ctx, old)
    member = ctx.view.member(chosen)
    assert member is not None and member.snap is not None
    with rec.step("apply relay log", target=str(chosen)) as step:
        link = member.link
        received = link.gtid_io_pos if link and link.gtid_io_pos else GtidPosition()
        if not live.wait_applied(conns, chosen, received, rec, step, s.catchup_timeout):
            raise Abort(f"{chosen} did not apply its relay log up to {received} within {s.catchup_timeout:g}s")
        step.say(f"applied everything it received ({received or 'nothing'})")
    with rec.step("promote", target=str(chosen)) as step:
        try:
            live.promote(conns, chosen, rec, step, s)
        except LiveServerError as exc:
            raise Failed(f"promotion of {chosen} failed: {live.describe(exc)}; the group has NO writable primary; "
                         f"check {chosen} (RESET SLAVE ALL, SET GLOBAL read_only=0) or fail over to another") from exc
    new_pos = live.gtid(conns, chosen)
    for m in replicas:
        if m.endpoint != chosen:
            _repoint(ctx, m, chosen, new_pos)
    ctx.lose(old, "the old primary: it must rejoin (mega ha rejoin) after a divergence check")
    with rec.step("inventory") as step:
        lost = {x["endpoint"] for x in ctx.lost}
        followers = [m.key for m in replicas if m.endpoint != chosen and m.key not in lost]
        ctx.inventory.set_topology(ctx.view.name, str(chosen), followers)
        step.say(f"update_ha_info('{chosen}', '{old}'): {chosen} masters {ctx.view.name!r}; "
                 f"replicas: {', '.join(followers) or 'none'}; {old} left as it was (needs rejoin)")
    lost_replicas = [x for x in ctx.lost if x["endpoint"] != str(old)]
    # The dead old primary is reported for rejoin, but only lost replicas make the outcome partial.
    if not lost_replicas:
        ctx.lost = [x for x in ctx.lost if x["endpoint"] != str(old)]
        ctx.rec.note("old primary", f"{old} needs `mega ha rejoin {ctx.view.name} {old}` once it is back")
    how = "fenced" if old_member is not None and old_member.snap is not None else "dead"
    return (f"{chosen} is the primary (was {old}, {how})"
            + (f"; lost: {', '.join(x['endpoint'] for x in lost_replicas)}" if lost_replicas else ""))


def _confirm_dead(ctx: Context, old: Endpoint) -> Member | None:
    with ctx.rec.step("confirm primary is dead", target=str(old)) as step:
        member = ctx.view.member(old)
        if member is not None and member.snap is not None:
            if not ctx.force:
                raise Abort(f"the primary {old} answers (read_only={int(member.snap.read_only)}); use switchover, "
                            "or failover --force to replace it anyway")
            step.say(f"{old} answers, but --force was given: it will be fenced")
        else:
            step.say(f"Mega cannot reach {old}: {member.error if member else 'not a member'}")
        receiving = [m for m in ctx.view.replicas_of(old) if m.link is not None and m.link.io_running]
        still = [m.key for m in receiving]
        if still and member is not None and member.snap is None:
            still = _still_receiving(ctx, receiving)
        if still and member is not None and member.snap is None:
            if not ctx.force:
                raise Abort(f"Mega cannot reach {old}, but {', '.join(still)} still receive from it: the primary "
                            "is probably alive (network trouble between Mega and it); not failing over "
                            "(use --force to override)")
            step.say(f"{', '.join(still)} still receive from {old}; --force given")
        elif member is None or member.snap is None:
            step.say("no replica receives from it any more: confirmed dead")
        return member


def _still_receiving(ctx: Context, members: list[Member], grace: float = 2.0) -> list[str]:
    """Replicas whose IO thread still runs after ``grace`` seconds (a replica notices a crashed
    primary within tens of milliseconds, a partition only after ``slave_net_timeout``)."""
    import time

    until = time.monotonic() + grace
    pending = list(members)
    while pending:
        left = []
        for m in pending:
            try:
                link = ctx.conns.snapshot(m.endpoint).replication.get("")
            except LiveServerError:
                continue
            if link is not None and link.io_running:
                left.append(m)
        pending = left
        if not pending or time.monotonic() >= until:
            break
        time.sleep(0.05)
    return [m.key for m in pending]


def _merged_state(members: list[Member]) -> GtidState:
    best: dict[tuple[int, int], Gtid] = {}
    for m in members:
        state = m.snap.gtid_binlog_state if m.snap else None
        for g in (state.gtids if state else ()):
            key = (g.domain, g.server)
            if key not in best or g.seq > best[key].seq:
                best[key] = g
    return GtidState(tuple(best.values()))


def _choose(ctx: Context, old: Endpoint, replicas: list[Member]) -> Endpoint:
    with ctx.rec.step("rank candidates") as step:
        facts = []
        for n, m in enumerate(replicas):
            peers = [p for p in replicas if p is not m and p.snap is not None]
            ref_state = _merged_state(peers)
            reference = ref_state.position() if peers else None
            f = replica_facts(m, n, reference, ref_state if peers else None, ctx.settings.max_failover_lag)
            if f.errant and reference is not None:
                f = type(f)(**{**f.__dict__, "errant": _vouched_errant(f.errant, reference, peers)})
            if m.snap is not None and m.source is not None and m.source != old:
                f = type(f)(**{**f.__dict__, "problem": f"replicates from {m.source}, not from the old primary"})
            facts.append(f)
        ranking = rank(facts, ctx.settings.max_failover_lag)
        ctx.candidates = ranking.as_list()
        for c in ranking.candidates:
            step.say(f"#{c.rank} {c.endpoint} {'eligible' if c.eligible else 'excluded'}"
                     + (f" ({'; '.join(c.reasons)})" if c.reasons else ""))
        for c in ranking.candidates:
            if not c.eligible and any(r.startswith(("errant", "binary log")) for r in c.reasons):
                ctx.lose(c.endpoint, "; ".join(c.reasons))
        best = ranking.chosen
        if best is None:
            raise Abort("no replica can become the primary: "
                        + "; ".join(f"{c.endpoint}: {', '.join(c.reasons)}" for c in ranking.candidates))
        if ctx.target is None:
            step.say(f"chosen: {best.endpoint}")
            return parse_endpoint(best.endpoint)
        mine = next((c for c in ranking.candidates if c.endpoint == str(ctx.target)), None)
        if mine is None or not mine.eligible:
            raise Abort(f"{ctx.target} cannot become the primary: {'; '.join(ranking.why_not(str(ctx.target)))}")
        facts_by = {f.endpoint: f for f in facts}
        if facts_by[str(ctx.target)].received < facts_by[best.endpoint].received and not ctx.force:
            raise Abort(f"{ctx.target} received less than {best.endpoint}; promoting it would lose transactions "
                        f"(choose {best.endpoint}, or --force)")
        step.say(f"chosen (requested): {ctx.target}")
        return ctx.target


def _vouched_errant(found: tuple[str, ...], applied: GtidPosition, peers: list[Member]) -> tuple[str, ...]:
    """Keep the errant GTIDs the peers can vouch for: those at or below what the peers applied in
    their domain (they applied past it without it), or beyond anything a peer even received.  A GTID
    in between may still sit in a peer's unapplied (or delayed) relay log: e.g. what a former primary
    wrote before a switchover, when the only other replica is delayed; that is not errant."""
    received = GtidPosition()
    for p in peers:
        if p.link is not None and p.link.gtid_io_pos is not None:
            received = received.merge(p.link.gtid_io_pos)
    kept = []
    for text in found:
        g = Gtid.parse(text)
        if g.seq <= applied.seq(g.domain) or g.seq > max(applied.seq(g.domain), received.seq(g.domain)):
            kept.append(text)
    return tuple(kept)


def _fence(ctx: Context, old: Endpoint) -> None:
    with ctx.rec.step("fence old primary", target=str(old)) as step:
        try:
            live.read_only(ctx.conns, old, True, ctx.rec, step, ctx.settings.read_only_timeout)
            from mega.mysql.probe import kill_sessions

            killed = kill_sessions(ctx.conns.get(old), except_ids=ctx.conns.thread_ids(old))
            step.say(f"killed sessions {killed}" if killed else "no writing session left")
        except LiveServerError as exc:
            step.result = "N"
            step.say(f"could not fence it: {live.describe(exc)}; stop it by other means")


def _repoint(ctx: Context, m: Member, chosen: Endpoint, new_pos: GtidPosition) -> None:
    rec, conns, s = ctx.rec, ctx.conns, ctx.settings
    if ctx.lost_reason(m.endpoint) is not None:
        return
    with rec.step("re-point replica", target=m.key) as step:
        if m.snap is None:
            ctx.lose(m.endpoint, f"unreachable: {m.error}", step, "unreachable, left as it was")
            return
        try:
            link = m.link
            received = link.gtid_io_pos if link and link.gtid_io_pos else GtidPosition()
            mine = live.gtid(conns, m.endpoint, live.GtidView.CURRENT).merge(received)
            if contains(new_pos, mine):
                # The new primary has everything this replica holds or received: re-point it now;
                # what its relay log still held is fetched again from the new primary (a delayed
                # replica keeps its delay).
                step.say(f"{chosen} has everything it received ({mine or 'nothing'})")
            elif link is not None and link.sql_delay > 0:
                extra = ", ".join(map(str, errant(mine, new_pos)))
                ctx.lose(m.endpoint, f"delayed replica (MASTER_DELAY={link.sql_delay}s) whose relay log holds "
                                     f"transactions the new primary lacks: {extra}",
                         step, f"cannot follow {chosen} before applying {extra} (delayed); left as it was")
                return
            else:
                if not live.wait_applied(conns, m.endpoint, received, rec, step, s.catchup_timeout):
                    raise LiveServerError(f"did not apply its relay log up to {received} in time")
                mine = live.gtid(conns, m.endpoint, live.GtidView.CURRENT)
                if not contains(new_pos, mine):
                    extra = ", ".join(map(str, errant(mine, new_pos)))
                    ctx.lose(m.endpoint, f"holds transactions the new primary lacks: {extra}",
                             step, f"cannot follow {chosen}: it has {extra}; left as it was")
                    return
            live.point_to(conns, m.endpoint, chosen, rec, step, s)
            ok, seen = live.wait_io_running(conns, m.endpoint, rec)
            if not ok:
                ctx.lose(m.endpoint, f"re-pointed but not replicating: {seen}", step)
            else:
                step.say(seen)
        except LiveServerError as exc:
            ctx.lose(m.endpoint, f"could not re-point to {chosen}: {live.describe(exc)}", step)
