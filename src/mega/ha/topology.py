"""The live state of an HA group, observed once per decision (one immutable view).

Every member of the group (from the inventory) is probed in parallel with Mega's timeouts; a member
that does not answer is kept with the error that says why.  Only the default replication
connection (``''``) describes the group's topology.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mega.domain.address import Endpoint, parse_endpoint
from mega.domain.candidates import ReplicaFacts
from mega.domain.gtid import GtidPosition, errant
from mega.errors import LiveServerError
from mega.mysql.dialect import ReplicationStatus
from mega.mysql.probe import InstanceSnapshot, probe
from mega.settings import Settings


@dataclass(frozen=True)
class Member:
    endpoint: Endpoint
    snap: InstanceSnapshot | None
    error: str | None = None
    errno: int | None = None
    promotion_rule: str = "neutral"

    @property
    def key(self) -> str:
        return str(self.endpoint)

    @property
    def reachable(self) -> bool:
        return self.snap is not None

    @property
    def link(self) -> ReplicationStatus | None:
        """The default replication connection, when configured."""
        return self.snap.replication.get("") if self.snap else None

    @property
    def source(self) -> Endpoint | None:
        link = self.link
        return link.source if link else None

    @property
    def looks_primary(self) -> bool:
        """Reachable, writable and replicating from nobody."""
        return self.snap is not None and self.link is None and self.snap.writable


@dataclass(frozen=True)
class GroupView:
    name: str
    group_id: int
    inventory_master: Endpoint
    members: tuple[Member, ...]

    def member(self, endpoint: Endpoint | str) -> Member | None:
        key = str(endpoint)
        return next((m for m in self.members if m.key == key), None)

    def replicas_of(self, primary: Endpoint) -> list[Member]:
        return [m for m in self.members if m.endpoint != primary and m.source == primary]

    def others(self, *skip: Endpoint) -> list[Member]:
        return [m for m in self.members if m.endpoint not in skip]

    def live_primaries(self) -> list[Member]:
        return [m for m in self.members if m.looks_primary]


def observe(settings: Settings, group: dict, timeout: float | None = None) -> GroupView:
    """Probe every member of ``group`` (a :meth:`Service.get_group` dict) in parallel."""
    endpoints = [parse_endpoint(m) for m in group["members"]]
    rules = group.get("promotion_rules", {})

    def one(ep: Endpoint) -> Member:
        try:
            return Member(ep, probe(ep, settings), promotion_rule=rules.get(str(ep), "neutral"))
        except LiveServerError as exc:
            return Member(ep, None, str(exc), exc.errno, rules.get(str(ep), "neutral"))

    with ThreadPoolExecutor(max_workers=max(1, len(endpoints))) as pool:
        members = tuple(pool.map(one, endpoints))
    return GroupView(group["name"], group["id"], parse_endpoint(group["master"]), members)


def _seq_key(pos: GtidPosition | None) -> tuple[int, ...]:
    if pos is None:
        return (-1,)
    return (sum(g.seq for g in pos),)


def replica_facts(member: Member, order: int, reference: GtidPosition | None = None,
                  reference_state: object | None = None, max_lag: float | None = None) -> ReplicaFacts:
    """What the ranking needs about ``member`` (see :mod:`mega.domain.candidates`).

    :param reference: a position every transaction of the candidate must appear in (the primary's
        binlog position, or for a dead primary the best replica's received position), for the
        errant-transaction check.
    """
    snap = member.snap
    if snap is None:
        return ReplicaFacts(member.key, problem=f"unreachable: {member.error}", order=order,
                            promotion_rule=member.promotion_rule)
    link = member.link
    problem = None
    if link is None:
        problem = "not replicating (no replication connection)"
    elif link.last_sql_errno:
        problem = f"replication broken: SQL error {link.last_sql_errno} {link.last_sql_error[:120]}"
    # A SQL thread stopped without an error is no reason to exclude: the engine starts it to apply
    # the relay log (live.wait_applied) before it promotes or re-points the replica.
    received = link.gtid_io_pos if link else None
    applied = snap.gtid_slave_pos
    # Transactions the replica wrote itself (its own server_id in its binlog) that the reference lacks.
    errant_gtids: tuple[str, ...] = ()
    if reference is not None and snap.gtid_binlog_state is not None:
        own = GtidPosition.of(g for g in snap.gtid_binlog_state.gtids if g.server == snap.server_id)
        errant_gtids = tuple(str(g) for g in errant(own, reference, primary_state=reference_state))  # type: ignore[arg-type]
    return ReplicaFacts(
        endpoint=member.key,
        received=_seq_key(received if received is not None and not received.is_empty else applied),
        applied=_seq_key(applied),
        log_bin=snap.log_bin,
        log_slave_updates=snap.log_slave_updates,
        sql_delay=link.sql_delay if link else 0,
        seconds_behind=link.seconds_behind if link else None,
        errant=errant_gtids,
        promotion_rule=member.promotion_rule,
        problem=problem,
        order=order,
    )
