"""The fast literal path must agree with the authoritative ast path wherever it answers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mega.rpc import codec, fastlit


def same(a: Any, b: Any) -> bool:
    """Equal values with equal types all the way down (1 == True, but not here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(k1, k2) and same(a[k1], b[k2]) for k1, k2 in zip(a, b))
    return bool(a == b)


def slow_value(text: str) -> Any:
    return codec._parse_literal_ast(text)


def slow_args(text: str) -> Any:
    return codec._parse_args_ast(text)


simple = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.text(st.characters(blacklist_characters="'\\\n\r\x00", blacklist_categories=("Cs",)), max_size=20),
    ),
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.lists(kids, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), kids, max_size=4),
    ),
    max_leaves=15,
)


@given(simple)
@settings(max_examples=400)
def test_fast_path_reads_reprs_of_simple_values(value: Any) -> None:
    text = repr(value)
    try:
        fast = fastlit.parse_value(text)
    except fastlit.NotSimple:
        return  # e.g. a repr that chose escapes; the ast path handles it
    assert same(fast, value)
    assert same(fast, slow_value(text))


def test_common_payload_takes_the_fast_path() -> None:
    payload = repr({"HEAD": "MEGA", "TYPE": 0, "TIME": 0, "CYCLE": 0, "TARGET": 0, "VALUE": "get_instance",
                    "ARGS": "model='backup',ip='10.0.0.1',port=3306", "TOOL": True, "TOKEN": None})
    assert same(fastlit.parse_value(payload), slow_value(payload))
    assert fastlit.parse_call_args("model='backup',ip='10.0.0.1',port=3306") == (
        (), {"model": "backup", "ip": "10.0.0.1", "port": 3306})
    assert fastlit.parse_call_args("'1.1.1.112:23', '1.1.1.111:3306'") == (("1.1.1.112:23", "1.1.1.111:3306"), {})


ALPHABET = "'\"{}[](),:-=_ \t\n\\#.0123456789abxNoneTrueFals*@é\x00"


@given(st.text(ALPHABET, max_size=30))
@settings(max_examples=3000)
@example("(1)")
@example("(1,)")
@example("()")
@example("{'a': 1, 'a': 2}")
@example("[1, 2,]")
@example("'a' 'b'")
@example("-0")
@example("012")
@example("{(1, 2): 3}")
@example("{[1]: 2}")
@example("{1}")
def test_value_differential(text: str) -> None:
    try:
        fast = fastlit.parse_value(text)
    except fastlit.NotSimple:
        return
    assert same(fast, slow_value(text)), text


@given(st.text(ALPHABET + "=", max_size=30))
@settings(max_examples=3000)
@example("a=1, a=2")
@example("a=1, 2")
@example("1,")
@example("a=1,")
@example("None=1")
@example("__debug__=1")
@example("class=1")
@example("match=1")
@example("1),(2")
@example("x ==1")
def test_args_differential(text: str) -> None:
    try:
        fast = fastlit.parse_call_args(text)
    except fastlit.NotSimple:
        return
    assert same(fast[0], slow_args(text)[0]) and same(fast[1], slow_args(text)[1]), text


@pytest.mark.parametrize(
    "text",
    ["x", "'a\\'b'", "1.5", "1e3", "0x10", "1_000", "u'x'", "b'x'", "[1,\n2]", "-(1)", "- 1",
     "{**a}", "[" * 40 + "]" * 40, "9" * 200, "'\x00'", "(,)", "[,]", "{,}", "{1}"],
)
def test_outside_the_subset_falls_back(text: str) -> None:
    with pytest.raises(fastlit.NotSimple):
        fastlit.parse_value(text)


@pytest.mark.parametrize("text", ["1),(2", "a=1, 2", "a=1, a=2", "__debug__=1", "for=1", "*x", "**x", "f(1)"])
def test_args_outside_the_subset_falls_back(text: str) -> None:
    with pytest.raises(fastlit.NotSimple):
        fastlit.parse_call_args(text)
