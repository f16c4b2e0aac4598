"""Choosing the new primary: a deterministic ranking with a reason for every exclusion.

Pure code: the HA engine turns live snapshots into :class:`ReplicaFacts`, this module ranks them.
Order (most important first): eligible; most received (relay log); most applied; log_slave_updates;
promotion rule (prefer > neutral > prefer_not); lowest position in the group (stable tie-break).

>>> a = ReplicaFacts("10.0.0.2:3306", received=(0, 10), applied=(0, 10))
>>> b = ReplicaFacts("10.0.0.3:3306", received=(0, 12), applied=(0, 9))
>>> rank([a, b]).chosen.endpoint
'10.0.0.3:3306'
>>> c = ReplicaFacts("10.0.0.4:3306", received=(0, 99), applied=(0, 99), sql_delay=3600)
>>> [x.reasons for x in rank([a, c]).candidates if not x.eligible]
[('delayed replica (MASTER_DELAY=3600s)',)]
"""

from __future__ import annotations

from dataclasses import dataclass, field

RULE_WEIGHT = {"prefer": 2, "neutral": 1, "prefer_not": 0}


@dataclass(frozen=True)
class ReplicaFacts:
    """What the ranking needs to know about one replica.

    :ivar received: comparable key of what reached the relay log (e.g. ``(domains, seq sum)``).
    :ivar applied: comparable key of what the SQL thread applied.
    :ivar errant: GTIDs the replica holds that the primary (or the best replica) lacks.
    :ivar problem: why it cannot replicate at all (unreachable, SQL thread error...), or None.
    """

    endpoint: str
    received: tuple[int, ...] = ()
    applied: tuple[int, ...] = ()
    log_bin: bool = True
    log_slave_updates: bool = True
    sql_delay: int = 0
    seconds_behind: int | None = 0
    errant: tuple[str, ...] = ()
    promotion_rule: str = "neutral"
    problem: str | None = None
    order: int = 0


@dataclass(frozen=True)
class Candidate:
    endpoint: str
    eligible: bool
    reasons: tuple[str, ...]
    rank: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"endpoint": self.endpoint, "eligible": self.eligible, "rank": self.rank,
                "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Ranking:
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    @property
    def chosen(self) -> Candidate | None:
        """The best eligible candidate, or None when nobody can be promoted."""
        return next((c for c in self.candidates if c.eligible), None)

    def why_not(self, endpoint: str) -> tuple[str, ...]:
        for c in self.candidates:
            if c.endpoint == endpoint:
                return c.reasons
        return ("not a replica of this group",)

    def as_list(self) -> list[dict[str, object]]:
        return [c.as_dict() for c in self.candidates]


def exclusions(facts: ReplicaFacts, max_lag: float | None) -> tuple[str, ...]:
    """Every reason ``facts`` cannot be promoted (empty when it can)."""
    reasons = []
    if facts.problem:
        reasons.append(facts.problem)
    if facts.sql_delay > 0:
        reasons.append(f"delayed replica (MASTER_DELAY={facts.sql_delay}s)")
    if not facts.log_bin:
        reasons.append("binary log is off (its replicas could not follow it)")
    if facts.errant:
        reasons.append(f"errant transactions: {', '.join(facts.errant)}")
    if max_lag is not None and facts.seconds_behind is not None and facts.seconds_behind > max_lag:
        reasons.append(f"lag {facts.seconds_behind}s is over the limit of {max_lag:g}s")
    if facts.promotion_rule == "must_not":
        reasons.append("promotion rule must_not")
    return tuple(reasons)


def rank(replicas: list[ReplicaFacts], max_lag: float | None = None) -> Ranking:
    """Rank ``replicas`` for promotion; ineligible ones come last with their reasons.

    :param replicas: facts about each replica of the (old) primary.
    :param max_lag: exclude replicas whose known lag is over this many seconds (None: no limit).
    :returns: the ranking; :attr:`Ranking.chosen` is the one to promote.
    """
    scored = []
    for facts in replicas:
        reasons = exclusions(facts, max_lag)
        key = (
            0 if not reasons else 1,
            tuple(-x for x in facts.received),
            tuple(-x for x in facts.applied),
            0 if facts.log_slave_updates else 1,
            -RULE_WEIGHT.get(facts.promotion_rule, 1),
            facts.order,
        )
        scored.append((key, facts, reasons))
    scored.sort(key=lambda item: item[0])
    out = []
    for n, (_, facts, reasons) in enumerate(scored, 1):
        notes = reasons
        if not reasons and not facts.log_slave_updates:
            notes = ("log_slave_updates is off (it loses what it replicated from its binlog)",)
        out.append(Candidate(facts.endpoint, not reasons, notes, n))
    return Ranking(tuple(out))
