"""Explicit field profiles for CNMARC/UNIMARC and MARC21, and flavour detection.

CNMARC is not MARC21 (style.md item 13): every access point is read through a profile
naming its tags and subfield codes; nothing here calls pymarc's MARC21 conveniences
(``Record.title`` reads 245, ``Record.isbn`` reads 020).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import pymarc

from ils_bridge.catalogue.model import Flavour

__all__ = [
    "CNMARC_PROFILE",
    "MARC21_PROFILE",
    "UNIMARC_PROFILE",
    "FieldRule",
    "HoldingRule",
    "Profile",
    "detect_flavour",
    "detect_flavour_of",
    "flavour_signals",
    "profile_for",
    "record_view",
    "rule_values",
]


@dataclass(frozen=True)
class FieldRule:
    """Take subfields ``codes`` (in record order) from fields tagged ``tag``.

    ``require`` optionally names a subfield that must have a given value (case-insensitive),
    e.g. MARC21 084 only when ``$2 clc``; ``ind2`` restricts the second indicator.
    """

    tag: str
    codes: str
    require: tuple[str, str] | None = None
    ind2: str | None = None


@dataclass(frozen=True)
class HoldingRule:
    """Where each holdings element lives in a holdings field (None = not carried)."""

    tag: str
    library: str | None = None
    holding_library: str | None = None
    location: str | None = None
    barcode: str | None = None
    call_number: str | None = None
    class_number: str | None = None
    book_number: str | None = None
    item_type: str | None = None
    volume: str | None = None
    price: str | None = None
    inherits_library_from: str | None = None  # CNMARC 906 items: library of the record's 905


@dataclass(frozen=True)
class Profile:
    """Where the access points live in one MARC flavour."""

    name: str
    title: FieldRule  # title proper: first $a plus other title information / part
    title_main_codes: str  # codes that start a new title element (joined with " ")
    title_other_codes: str  # codes appended with " : "
    title_part_codes: str  # codes appended with ". "
    variant_titles: tuple[FieldRule, ...]
    responsibility: tuple[FieldRule, ...]
    authors: tuple[FieldRule, ...]
    isbn: tuple[FieldRule, ...]
    invalid_isbn: tuple[FieldRule, ...]
    issn: tuple[FieldRule, ...]
    invalid_issn: tuple[FieldRule, ...]
    clc: tuple[FieldRule, ...]
    publishers: tuple[FieldRule, ...]
    dates: tuple[FieldRule, ...]
    subjects: tuple[FieldRule, ...]
    language: tuple[FieldRule, ...]
    holdings: tuple[HoldingRule, ...]


_UNIMARC_SUBJECT_TAGS = ("600", "601", "602", "604", "605", "606", "607", "608", "610")

CNMARC_PROFILE = Profile(
    name="cnmarc",
    # 200 $a title proper (repeatable), $e other title info, $h/$i part number/name.
    # Pinyin subfields $A/$9/$E/$F are ignored.
    title=FieldRule("200", "aehi"),
    title_main_codes="a",
    title_other_codes="e",
    title_part_codes="hi",
    variant_titles=(
        FieldRule("200", "d"),  # parallel title
        FieldRule("500", "a"),
        FieldRule("510", "a"),
        FieldRule("512", "a"),
        FieldRule("517", "a"),
        FieldRule("225", "a"),
    ),
    responsibility=(FieldRule("200", "fg"),),
    authors=(
        FieldRule("700", "ab"),
        FieldRule("701", "ab"),
        FieldRule("702", "ab"),
        FieldRule("710", "a"),
        FieldRule("711", "a"),
        FieldRule("712", "a"),
    ),
    isbn=(FieldRule("010", "a"),),
    invalid_isbn=(FieldRule("010", "z"),),
    issn=(FieldRule("011", "a"),),
    invalid_issn=(FieldRule("011", "yz"),),
    clc=(FieldRule("690", "a"),),
    publishers=(FieldRule("210", "c"), FieldRule("214", "c")),
    dates=(FieldRule("210", "d"), FieldRule("214", "d")),
    subjects=tuple(FieldRule(tag, "abxyz") for tag in _UNIMARC_SUBJECT_TAGS),
    language=(FieldRule("101", "a"),),
    holdings=(
        # dp2/DT1000 layout (domain.md §3.2; BNU sample: 905 $aBNU $cbk $dF124 $e26 $sF124/26)
        HoldingRule(
            "905",
            library="a",
            barcode="b",
            location="c",
            class_number="d",
            book_number="e",
            volume="f",
            call_number="s",
        ),
        # item fields (BNU sample: 906 $a211260 $b1683011 $dF124 $e26 $rCNY $x912)
        HoldingRule(
            "906",
            location="a",
            barcode="b",
            class_number="d",
            book_number="e",
            price="r",
            inherits_library_from="905",
        ),
    ),
)

UNIMARC_PROFILE = dataclasses.replace(CNMARC_PROFILE, name="unimarc")

MARC21_PROFILE = Profile(
    name="marc21",
    title=FieldRule("245", "abnp"),
    title_main_codes="a",
    title_other_codes="b",
    title_part_codes="np",
    variant_titles=(FieldRule("246", "a"), FieldRule("240", "a"), FieldRule("130", "a")),
    responsibility=(FieldRule("245", "c"),),
    authors=(
        FieldRule("100", "a"),
        FieldRule("700", "a"),
        FieldRule("110", "a"),
        FieldRule("710", "a"),
        FieldRule("111", "a"),
        FieldRule("711", "a"),
    ),
    isbn=(FieldRule("020", "a"),),
    invalid_isbn=(FieldRule("020", "z"),),
    issn=(FieldRule("022", "a"),),
    invalid_issn=(FieldRule("022", "yz"),),
    clc=(FieldRule("084", "a", require=("2", "clc")),),
    publishers=(FieldRule("260", "b"), FieldRule("264", "b", ind2="1")),
    dates=(FieldRule("260", "c"), FieldRule("264", "c", ind2="1")),
    subjects=tuple(
        FieldRule(tag, "abcdvxyz")
        for tag in ("600", "610", "611", "630", "648", "650", "651", "653")
    ),
    language=(FieldRule("041", "a"),),
    holdings=(
        # MARC21 holdings (MFHD-style 852 as embedded by Evergreen and others)
        HoldingRule(
            "852",
            library="a",
            location="c",
            class_number="h",
            book_number="i",
            barcode="p",
            volume="t",
        ),
        # Koha items
        HoldingRule(
            "952",
            library="a",
            holding_library="b",
            location="c",
            call_number="o",
            barcode="p",
            item_type="y",
            volume="h",
            price="g",
        ),
    ),
)

_PROFILES = {
    Flavour.CNMARC: CNMARC_PROFILE,
    Flavour.UNIMARC: UNIMARC_PROFILE,
    Flavour.MARC21: MARC21_PROFILE,
}


def profile_for(flavour: Flavour) -> Profile:
    return _PROFILES[flavour]


# ---------------------------------------------------------------------------------------
# Flavour detection

_UNIMARC_100A = re.compile(r"^\d{8}[a-kux]")  # entry date + type of publication date
_CN_HINT_TAGS = frozenset({"690", "905", "906", "092", "091"})

FieldView = tuple[
    str, dict[str, str]
]  # tag, first value of each subfield code (control: {"": data})


def flavour_signals(leader: str, fields: Sequence[FieldView]) -> tuple[int, int, bool]:
    """Score a record: ``(unimarc_points, marc21_points, chinese_profile)``."""
    tags = {tag for tag, _ in fields}
    first: dict[str, dict[str, str]] = {}
    for tag, subs in fields:
        first.setdefault(tag, subs)
    return _signals(
        leader,
        tags,
        first.get("100", {}).get("a", ""),
        first.get("101", {}).get("a", ""),
        first.get("801", {}).get("a", ""),
    )


_UNIMARC_TAGS = frozenset({"101", "210", "215", "606", "690", "701", "702", "711", "801"})
_MARC21_TAGS = frozenset({"040", "260", "264", "300", "650", "852", "952"})


def _signals(
    leader: str, tags: AbstractSet[str], f100a: str, f101a: str, f801a: str
) -> tuple[int, int, bool]:
    """:func:`flavour_signals` from what it reads: the tags present and the first $a of the
    first 100, 101 and 801 fields ("" when absent)."""
    uni = marc = 0
    if len(f100a) >= 22 and _UNIMARC_100A.match(f100a):
        uni += 3
    if "200" in tags:
        uni += 3
    uni += len(_UNIMARC_TAGS.intersection(tags))  # a point per tag present
    if "245" in tags:
        marc += 3
    if "008" in tags:
        marc += 2
    marc += len(_MARC21_TAGS.intersection(tags))
    if leader[9:10] == "a":
        marc += 1
    chinese = (
        not _CN_HINT_TAGS.isdisjoint(tags)
        or f100a[22:25] == "chi"
        or f101a == "chi"
        or f801a == "CN"
        or (f100a[26:28] == "01" and f100a[28:30] in ("20", "21"))
    )
    return uni, marc, chinese


def detect_flavour(
    leader: str, fields: Sequence[FieldView], hint: Flavour | None = None
) -> Flavour:
    """Decide CNMARC / UNIMARC / MARC21 from the fields present.

    UNIMARC-family signals: 100$a starting with an 8-digit entry date, a 200 field, 2xx/6xx/7xx
    UNIMARC tags, 801. MARC21 signals: 245, 008, 040, 260/264, 650. A tie goes to ``hint``
    (e.g. the XML namespace), then to MARC21. A UNIMARC record is CNMARC when it carries a
    Chinese signal (100$a/22-24 ``chi``, 101$a ``chi``, 801$a ``CN``, 690/905/906, a GB charset
    code) — or when the hint says so.
    """
    return _decide(*flavour_signals(leader, fields), hint)


def detect_flavour_of(
    leader: str,
    tags: AbstractSet[str],
    f100a: str,
    f101a: str,
    f801a: str,
    hint: Flavour | None = None,
) -> Flavour:
    """:func:`detect_flavour` given the tags present and the first $a of the first 100, 101
    and 801 fields ("" when absent): all that it reads, for callers without field views."""
    return _decide(*_signals(leader, tags, f100a, f101a, f801a), hint)


def _decide(uni: int, marc: int, chinese: bool, hint: Flavour | None) -> Flavour:
    if uni > marc or (uni == marc and hint is not None and hint.is_unimarc_family):
        if chinese or hint is Flavour.CNMARC:
            return Flavour.CNMARC
        return Flavour.UNIMARC
    if uni == marc and uni == 0 and hint is not None:
        return hint
    return Flavour.MARC21


def record_view(record: pymarc.Record) -> list[FieldView]:
    """The :data:`FieldView` list of a parsed record (for :func:`detect_flavour`)."""
    out: list[FieldView] = []
    for f in record.fields:
        if f.is_control_field():
            out.append((f.tag, {"": f.data or ""}))
        else:
            subs: dict[str, str] = {}
            for sf in f.subfields:
                subs.setdefault(sf.code, sf.value)
            out.append((f.tag, subs))
    return out


def rule_values(record: pymarc.Record, rules: Iterable[FieldRule]) -> list[list[tuple[str, str]]]:
    """For every field matching a rule (in rule order, then record order), the selected
    ``(code, value)`` pairs in record order."""
    out: list[list[tuple[str, str]]] = []
    for rule in rules:
        for f in record.get_fields(rule.tag):
            if f.is_control_field():
                continue
            if rule.ind2 is not None and f.indicator2 != rule.ind2:
                continue
            if rule.require is not None:
                code, want = rule.require
                if not any(v.strip().casefold() == want for v in f.get_subfields(code)):
                    continue
            picked = [(sf.code, sf.value) for sf in f.subfields if sf.code in rule.codes]
            if picked:
                out.append(picked)
    return out
