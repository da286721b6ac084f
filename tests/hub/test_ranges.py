"""Code ranges: overlap detection agrees with brute force, parsing round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ils_bridge.ranges import CodeRange, RangeError, overlaps, parse_range

prefixes = st.sampled_from(["", "1", "12", "X", "X1", "BY", "B"])


@st.composite
def small_ranges(draw: st.DrawFn) -> CodeRange:
    prefix = draw(prefixes)
    width = draw(st.integers(1, 3))
    first = draw(st.integers(0, 10**width - 1))
    last = draw(st.integers(first, 10**width - 1))
    return CodeRange("item", prefix, width, first, last)


def members(r: CodeRange) -> set[str]:
    return {r.format(n) for n in range(r.first, r.last + 1)}


@given(small_ranges(), small_ranges())
def test_overlap_matches_brute_force(a: CodeRange, b: CodeRange) -> None:
    assert overlaps(a, b) == bool(members(a) & members(b))
    assert overlaps(a, b) == overlaps(b, a)


@given(small_ranges(), st.text(alphabet="0123456789XBY", max_size=6))
def test_contains_matches_members(r: CodeRange, code: str) -> None:
    assert r.contains(code) == (code in members(r))


@given(small_ranges())
def test_parse_round_trip(r: CodeRange) -> None:
    parsed = parse_range("item", r.format(r.first), r.format(r.last))
    assert members(parsed) == members(r)


def test_parse_refusals() -> None:
    with pytest.raises(RangeError, match="differ in length"):
        parse_range("item", "X1", "X100")
    with pytest.raises(RangeError, match="backwards"):
        parse_range("item", "X9", "X1")
    with pytest.raises(RangeError, match="share a prefix"):
        parse_range("item", "A1", "B9")
    with pytest.raises(RangeError, match="end in digits"):
        parse_range("item", "ABC", "ABD")


def test_worked_example_across_prefixes() -> None:
    six_digits = CodeRange("patron", "", 6, 0, 999999)
    one_prefix = CodeRange("item", "1", 5, 0, 99999)
    assert overlaps(six_digits, one_prefix)
    assert not overlaps(CodeRange("item", "BY", 9, 200000000, 999999999), CodeRange("patron", "B", 10, 0, 10**10 - 1))
