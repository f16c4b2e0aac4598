"""GTID positions (MariaDB) and sets (MySQL): examples, doctests and hypothesis properties."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mega.domain.gtid as gtid_module
from mega.domain.gtid import Gtid, GtidPosition, GtidSet, GtidState, behind, contains, errant
from mega.errors import InvalidArgument

U1 = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
U2 = "8a94f357-aab4-11df-86ab-c80aa9429562"


def test_doctests() -> None:
    result = doctest.testmod(gtid_module)
    assert result.attempted > 10
    assert result.failed == 0


# ---- MariaDB -------------------------------------------------------------------------------


def test_position_parse_and_format() -> None:
    pos = GtidPosition.parse(" 1-2-7,\n0-1-100 ")
    assert str(pos) == "0-1-100,1-2-7"
    assert pos.domains == frozenset({0, 1})
    assert pos.get(1) == Gtid(1, 2, 7)
    assert pos.get(9) is None
    assert GtidPosition.parse("").is_empty
    assert GtidPosition.parse(None) == GtidPosition()


@pytest.mark.parametrize(
    "text", ["0-1", "a-1-2", "0-1-2,,1-1-1", "0-1-2,0-2-3", "-1-1-1", "0-1-2,", "4294967296-1-1"]
)
def test_position_rejects(text: str) -> None:
    with pytest.raises(InvalidArgument):
        GtidPosition.parse(text)


def test_contains_per_domain() -> None:
    a = GtidPosition.parse("0-1-10,1-5-3")
    assert contains(a, GtidPosition.parse("0-1-10"))
    assert contains(a, GtidPosition.parse("0-2-9,1-5-3"))
    assert not contains(a, GtidPosition.parse("0-1-11"))
    assert not contains(a, GtidPosition.parse("2-1-1"))
    assert not contains(a, GtidPosition.parse("0-2-10")), "same seq, other server: divergent"
    assert contains(a, GtidPosition())


def test_errant_cases() -> None:
    primary = GtidPosition.parse("0-1-100")
    assert errant(GtidPosition.parse("0-1-100"), primary) == ()
    assert errant(GtidPosition.parse("0-1-50"), primary) == ()
    assert errant(GtidPosition.parse("0-1-101"), primary) == (Gtid(0, 1, 101),)
    assert errant(GtidPosition.parse("0-3-100"), primary) == (Gtid(0, 3, 100),)
    assert errant(GtidPosition.parse("0-1-50,7-3-1"), primary) == (Gtid(7, 3, 1),)
    state = GtidState.parse("0-1-100,0-2-40")
    assert errant(GtidPosition.parse("0-2-40"), primary, primary_state=state) == ()
    assert errant(GtidPosition.parse("0-2-41"), primary, primary_state=state) == (Gtid(0, 2, 41),)
    assert errant(GtidPosition.parse("0-3-5"), primary, primary_state=state) == (Gtid(0, 3, 5),)


def test_behind_and_merge() -> None:
    assert behind(GtidPosition.parse("0-1-10"), GtidPosition.parse("0-1-10")) == {}
    assert behind(GtidPosition(), GtidPosition.parse("0-1-3")) == {0: 3}
    merged = GtidPosition.parse("0-1-5").merge(GtidPosition.parse("0-2-9,3-3-3"))
    assert str(merged) == "0-2-9,3-3-3"


def test_state_rejects_duplicates() -> None:
    with pytest.raises(InvalidArgument):
        GtidState.parse("0-1-1,0-1-2")


uint32 = st.integers(min_value=0, max_value=2**32 - 1)
seqs = st.integers(min_value=0, max_value=2**64 - 1)
gtids = st.builds(Gtid, uint32, uint32, seqs)
positions = st.dictionaries(st.integers(0, 5), st.tuples(st.integers(1, 4), st.integers(0, 30))).map(
    lambda d: GtidPosition.of(Gtid(dom, srv, seq) for dom, (srv, seq) in d.items())
)


@given(st.dictionaries(uint32, st.tuples(uint32, seqs)))
def test_position_roundtrip(d: dict[int, tuple[int, int]]) -> None:
    pos = GtidPosition.of(Gtid(dom, srv, seq) for dom, (srv, seq) in d.items())
    assert GtidPosition.parse(str(pos)) == pos
    assert GtidPosition.parse(", ".join(reversed(str(pos).split(",")))) == pos, "order-insensitive"


@given(positions)
def test_contains_reflexive_and_no_self_errant(p: GtidPosition) -> None:
    assert contains(p, p)
    assert errant(p, p) == ()
    assert behind(p, p) == {}


@given(positions, positions)
def test_errant_empty_iff_contains(a: GtidPosition, b: GtidPosition) -> None:
    # Without a binlog state, "b has nothing a lacks" is exactly "a contains b".
    assert (errant(b, a) == ()) == contains(a, b)


@given(positions, positions)
def test_merge_contains_both(a: GtidPosition, b: GtidPosition) -> None:
    m = a.merge(b)
    assert m.domains == a.domains | b.domains
    for dom in m.domains:
        assert m.seq(dom) == max(a.seq(dom), b.seq(dom))
    assert contains(m, a)


@given(positions, positions, positions)
def test_contains_transitive(a: GtidPosition, b: GtidPosition, c: GtidPosition) -> None:
    if contains(a, b) and contains(b, c):
        assert contains(a, c)


# ---- MySQL ---------------------------------------------------------------------------------


def test_set_parse_format_normalise() -> None:
    s = GtidSet.parse(f"{U2.upper()}:5-7:1-3:4,\n{U1}:9:1-2")
    assert str(s) == f"{U1}:1-2:9,{U2}:1-7"
    assert len(s) == 3 + 7
    assert GtidSet.parse(str(s)) == s


def test_set_subtract_contains() -> None:
    executed = GtidSet.parse(f"{U1}:1-100,{U2}:1-5")
    primary = GtidSet.parse(f"{U1}:1-100")
    assert str(executed - primary) == f"{U2}:1-5", "errant = replica - primary"
    assert (primary - executed).is_empty
    assert executed.contains(primary)
    assert not primary.contains(executed)
    assert f"{U1}:50-60" in executed
    assert str(GtidSet.parse(f"{U1}:1-10") - GtidSet.parse(f"{U1}:3:5-6:10")) == f"{U1}:1-2:4:7-9"


def test_set_tags() -> None:
    s = GtidSet.parse(f"{U1}:1-3:Domain_1:1-2:5")
    assert str(s) == f"{U1}:1-3:domain_1:1-2:5"
    assert len(s - GtidSet.parse(f"{U1}:1-3")) == 3


@pytest.mark.parametrize("text", ["nope:1-2", f"{U1}", f"{U1}:3-1", f"{U1}:0", f"{U1}:1-2:-bad", f"{U1}:x-y"])
def test_set_rejects(text: str) -> None:
    with pytest.raises(InvalidArgument):
        GtidSet.parse(text)


uuids = st.sampled_from([U1, U2, "00000000-0000-0000-0000-000000000001"])
intervals = st.lists(st.tuples(st.integers(1, 60), st.integers(0, 8)).map(lambda t: (t[0], t[0] + t[1])), max_size=5)
gtid_sets = st.dictionaries(st.tuples(uuids, st.sampled_from(["", "tg"])), intervals, max_size=4).map(GtidSet.of)


def _expand(s: GtidSet) -> set[tuple[str, str, int]]:
    return {(u, t, n) for (u, t), iv in s.sources for a, b in iv for n in range(a, b + 1)}


@given(gtid_sets)
def test_set_roundtrip(s: GtidSet) -> None:
    assert GtidSet.parse(str(s)) == s


@given(gtid_sets, gtid_sets)
def test_set_algebra_matches_python_sets(a: GtidSet, b: GtidSet) -> None:
    assert _expand(a - b) == _expand(a) - _expand(b)
    assert _expand(a | b) == _expand(a) | _expand(b)
    assert _expand(a & b) == _expand(a) & _expand(b)
    assert a.contains(b) == (_expand(b) <= _expand(a))
    assert len(a) == len(_expand(a))


@given(gtid_sets, gtid_sets)
def test_set_subtract_laws(a: GtidSet, b: GtidSet) -> None:
    assert (a - b) & b == GtidSet()
    assert (a - b) | (a & b) == a
    assert a.contains(a - b)
    assert (a | b).contains(a) and (a | b).contains(b)
