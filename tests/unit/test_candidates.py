"""Candidate ranking on synthetic replicas (orchestrator-style golden cases, no server needed)."""

from __future__ import annotations

from mega.domain.candidates import ReplicaFacts, rank


def r(name: str, received: int, applied: int | None = None, **kw: object) -> ReplicaFacts:
    return ReplicaFacts(name, received=(received,), applied=(applied if applied is not None else received,), **kw)


def order(*facts: ReplicaFacts, max_lag: float | None = None) -> list[str]:
    return [c.endpoint for c in rank(list(facts), max_lag).candidates]


def test_most_received_wins_then_most_applied() -> None:
    assert order(r("a", 10), r("b", 12, 5), r("c", 12, 9)) == ["c", "b", "a"]


def test_log_slave_updates_breaks_a_tie() -> None:
    assert order(r("a", 10, log_slave_updates=False), r("b", 10)) == ["b", "a"]
    ranking = rank([r("a", 11, log_slave_updates=False), r("b", 10)])
    assert ranking.chosen.endpoint == "a" and "log_slave_updates" in ranking.chosen.reasons[0]


def test_promotion_rules() -> None:
    assert order(r("a", 10), r("b", 10, promotion_rule="prefer")) == ["b", "a"]
    assert order(r("a", 10, promotion_rule="prefer_not"), r("b", 10)) == ["b", "a"]
    # data first: a preferred replica that received less does not win
    assert order(r("a", 11), r("b", 10, promotion_rule="prefer")) == ["a", "b"]
    ranking = rank([r("a", 99, promotion_rule="must_not"), r("b", 1)])
    assert ranking.chosen.endpoint == "b" and ranking.why_not("a") == ("promotion rule must_not",)


def test_every_exclusion_has_its_reason() -> None:
    ranking = rank([
        r("delayed", 99, sql_delay=3600),
        r("errant", 98, errant=("0-3-7",)),
        r("nobinlog", 97, log_bin=False),
        r("lagging", 96, seconds_behind=500),
        r("broken", 95, problem="replication broken: SQL error 1062"),
        r("ok", 1),
    ], max_lag=60)
    assert ranking.chosen.endpoint == "ok"
    reasons = {c.endpoint: " ".join(c.reasons) for c in ranking.candidates if not c.eligible}
    assert "MASTER_DELAY=3600" in reasons["delayed"]
    assert "0-3-7" in reasons["errant"]
    assert "binary log is off" in reasons["nobinlog"]
    assert "lag 500s is over the limit of 60s" in reasons["lagging"]
    assert "SQL error 1062" in reasons["broken"]


def test_nobody_eligible_means_no_choice_and_all_reasons() -> None:
    ranking = rank([r("a", 5, sql_delay=10), r("b", 5, promotion_rule="must_not")])
    assert ranking.chosen is None
    assert all(c.reasons for c in ranking.candidates)


def test_ties_are_broken_by_position_deterministically() -> None:
    assert order(r("x", 10, order=2), r("y", 10, order=1)) == ["y", "x"]
    assert order(r("y", 10, order=1), r("x", 10, order=2)) == ["y", "x"]


def test_unknown_lag_is_not_an_exclusion() -> None:
    assert rank([r("a", 10, seconds_behind=None)], max_lag=1).chosen.endpoint == "a"
