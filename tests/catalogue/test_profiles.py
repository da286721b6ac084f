"""Flavour detection and the profiles' shape."""

from __future__ import annotations

import pytest

from ils_bridge.catalogue import (
    CNMARC_PROFILE,
    MARC21_PROFILE,
    UNIMARC_PROFILE,
    Flavour,
    detect_flavour,
    profile_for,
)

CNMARC_VIEW = [
    ("001", {"": "1"}),
    ("100", {"a": "20020204d1994    em y0chiy0120    ea"}),
    ("200", {"a": "红楼梦"}),
    ("801", {"a": "CN"}),
]
UNIMARC_VIEW = [("100", {"a": "19961119d1996    ||||0itac50      ba"}), ("200", {"a": "Titolo"})]
MARC21_VIEW = [
    ("008", {"": "921022s1992"}),
    ("100", {"a": "Chabon, Michael."}),
    ("245", {"a": "Summerland"}),
]


@pytest.mark.parametrize(
    ("view", "hint", "expected"),
    [
        (CNMARC_VIEW, None, Flavour.CNMARC),
        (CNMARC_VIEW, Flavour.MARC21, Flavour.CNMARC),  # fields beat the MARC21 namespace
        (UNIMARC_VIEW, None, Flavour.UNIMARC),
        (UNIMARC_VIEW, Flavour.CNMARC, Flavour.CNMARC),
        (MARC21_VIEW, None, Flavour.MARC21),
        (MARC21_VIEW, Flavour.CNMARC, Flavour.MARC21),
        ([("001", {"": "x"})], Flavour.UNIMARC, Flavour.UNIMARC),  # no evidence: the hint
        ([("001", {"": "x"})], None, Flavour.MARC21),
        ([("905", {"a": "BNU"}), ("200", {"a": "x"})], None, Flavour.CNMARC),
    ],
)
def test_detect_flavour(
    view: list[tuple[str, dict[str, str]]], hint: Flavour | None, expected: Flavour
) -> None:
    assert detect_flavour("00000nam  2200000   4500", view, hint=hint) is expected


def test_profiles_are_explicit_and_distinct() -> None:
    assert profile_for(Flavour.CNMARC) is CNMARC_PROFILE
    assert profile_for(Flavour.UNIMARC) is UNIMARC_PROFILE
    assert profile_for(Flavour.MARC21) is MARC21_PROFILE
    assert CNMARC_PROFILE.title.tag == "200" and MARC21_PROFILE.title.tag == "245"
    assert [r.tag for r in CNMARC_PROFILE.isbn] == ["010"]
    assert [r.tag for r in MARC21_PROFILE.clc] == ["084"] and MARC21_PROFILE.clc[0].require == (
        "2",
        "clc",
    )
    assert [h.tag for h in CNMARC_PROFILE.holdings] == ["905", "906"]
    assert [h.tag for h in MARC21_PROFILE.holdings] == ["852", "952"]
    # pinyin subfields ($A/$9) are never part of a CNMARC title
    assert "A" not in CNMARC_PROFILE.title.codes and "9" not in CNMARC_PROFILE.title.codes
