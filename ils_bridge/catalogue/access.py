"""Access points, holdings and match keys of a record, read through its flavour's profile.

* :func:`extract_access_points` → :class:`AccessPoints` (titles, authors, ISBN-13s, …);
* :func:`extract_holdings` → list of :class:`HoldingInfo` (CNMARC 905/906, MARC21 852/952);
* :func:`match_keys` → :class:`MatchKeys` for deduplication in the unified catalogue.

Key normalisation is an ordered stack of small steps (:data:`KEY_STEPS`), each a plain
``str -> str`` function tested alone, so a branch plugin can add one without forking.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast

import pymarc

from ils_bridge.catalogue.model import Flavour
from ils_bridge.catalogue.profiles import FieldRule, HoldingRule, Profile, profile_for, rule_values
from ils_bridge.codes import Code, extract_isbn, normalise_issn

__all__ = [
    "KEY_STEPS",
    "AccessPoints",
    "HoldingInfo",
    "MatchKeys",
    "casefold",
    "extract_access_points",
    "extract_holdings",
    "match_keys",
    "nfkc",
    "normalise_key_text",
    "strip_non_sorting",
    "strip_punctuation_and_spaces",
]


@dataclass(frozen=True)
class HoldingInfo:
    """One holdings/item field, mapped through the profile. Values are as catalogued
    (trimmed, not normalised: the store runs them through ``ils_bridge.codes``)."""

    source_tag: str
    library: str | None = None  # owning/home library (905$a, 852$a, Koha 952$a homebranch)
    holding_library: str | None = None  # where it is now (Koha 952$b holdingbranch)
    location: str | None = None  # 馆藏地 (906$a, 905$c, 852$c, 952$c)
    barcode: str | None = None  # 册条码号 (905$b, 906$b, 852$p, 952$p)
    call_number: str | None = None  # 索书号 (905$s, else class/book number; 952$o)
    class_number: str | None = None  # 分类号 (905$d, 906$d, 852$h)
    book_number: str | None = None  # 书次号 (905$e, 906$e, 852$i)
    item_type: str | None = None  # Koha 952$y
    volume: str | None = None  # 905$f, 952$h, 852$t
    price: str | None = None  # 906$r, 952$g
    library_inherited: bool = False  # CNMARC 906 takes its library from the record's 905$a


@dataclass(frozen=True)
class AccessPoints:
    """The access points of one bibliographic record."""

    flavour: Flavour
    titles: tuple[str, ...]  # [0] = title proper with other title info/part; then variants
    # 200$a/245$a (+ part number/name), without other title information; keeps UNIMARC
    # NSB/NSE markers (U+0088/U+0089) so match keys can drop the non-sorting text
    title_proper: str | None
    responsibility: str | None
    authors: tuple[str, ...]  # personal names first in record order, then corporate
    isbns: frozenset[str]  # canonical ISBN-13 of every valid 010$a / 020$a
    invalid_isbns: frozenset[
        str
    ]  # weak keys: 010$z/020$z and invalid $a (ISBN-13 if checksum-valid)
    issns: frozenset[str]  # NNNN-NNNC
    invalid_issns: frozenset[str]
    clc: tuple[str, ...]  # 中图法 class numbers (690$a / 084$a $2 clc)
    publishers: tuple[str, ...]
    year: int | None
    subjects: tuple[str, ...]  # headings, subdivisions joined with "--"
    local_number: str | None  # 001
    language: str | None  # ISO 639-2/B code, lower case

    @property
    def title(self) -> str | None:
        return self.titles[0] if self.titles else None


# ---------------------------------------------------------------------------------------
# small text helpers

_TRAILING_ISBD = re.compile(r"[\s/:;,=]+$")
_LEADING_ISBD = re.compile(r"^[\s/:;,=]+")  # UNIMARC 700$b ", Isaac" carries its separator
_NSB_NSE = re.compile("[\u0088\u0089\u0098\u009c]")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")
_LANG = re.compile(r"^[a-z]{3}$")


def _clean(value: str, flavour: Flavour, keep_markers: bool = False) -> str:
    """Trim ISBD punctuation at both ends; drop UNIMARC NSB/NSE markers (not their text)
    unless ``keep_markers``."""
    if not keep_markers:
        value = _NSB_NSE.sub("", value)
    value = _TRAILING_ISBD.sub("", _LEADING_ISBD.sub("", value.strip()))
    # ISBD full stop that closes a MARC21 field; keep initials like "J." after a space
    if (
        flavour is Flavour.MARC21
        and value.endswith(".")
        and not value.endswith("..")
        and (len(value) < 3 or value[-3] != " ")
    ):
        value = value[:-1]
    return value.strip()


def _dedup(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in values:
        if v and v not in seen:
            seen[v] = None
    return tuple(seen)


def _first_values(record: pymarc.Record, rules: Iterable[FieldRule], flavour: Flavour) -> list[str]:
    return [
        cleaned
        for picked in rule_values(record, rules)
        for _, value in picked
        if (cleaned := _clean(value, flavour))
    ]


def _control(record: pymarc.Record, tag: str) -> str | None:
    for f in record.get_fields(tag):
        if f.is_control_field() and f.data:
            return str(f.data)
    return None


def _subfield_a(record: pymarc.Record, tag: str) -> str | None:
    for f in record.get_fields(tag):
        if not f.is_control_field():
            values = f.get_subfields("a")
            if values:
                return str(values[0])
    return None


# ---------------------------------------------------------------------------------------
# access points


def _title(
    record: pymarc.Record, profile: Profile, flavour: Flavour
) -> tuple[str | None, str | None]:
    """(title with other title info and part, title proper with part) of the first title field."""
    fields = rule_values(record, (profile.title,))
    if not fields:
        return None, None
    full: list[str] = []
    proper: list[str] = []
    for code, raw in fields[0]:
        value, marked = _clean(raw, flavour), _clean(raw, flavour, keep_markers=True)
        if not value:
            continue
        if code in profile.title_main_codes:
            sep = " ; " if full else ""
            full.append(sep + value)
            proper.append(sep + marked)
        elif code in profile.title_other_codes:
            full.append(" : " + value)
        elif code in profile.title_part_codes:
            full.append(". " + value)
            proper.append(". " + marked)
    return ("".join(full).strip(" :.;") or None), ("".join(proper).strip(" :.;") or None)


def _names(record: pymarc.Record, profile: Profile, flavour: Flavour) -> list[str]:
    names: list[str] = []
    for picked in rule_values(record, profile.authors):
        parts = [_clean(v, flavour) for _, v in picked]
        name = ", ".join(p for p in parts if p)
        if name:
            names.append(name)
    return names


_ISBN_LEAD = re.compile(r"[0-9Xx\-\s]+")


def _weak_code(raw: str) -> str | None:
    lead = _ISBN_LEAD.match(unicodedata.normalize("NFKC", raw).strip())
    if lead is None:
        return None
    digits = re.sub(r"[^0-9X]", "", lead.group().upper())
    return digits or None


def _isbns(record: pymarc.Record, profile: Profile) -> tuple[frozenset[str], frozenset[str]]:
    valid: set[str] = set()
    weak: set[str] = set()
    for picked in rule_values(record, profile.isbn):
        for _, raw in picked:
            result = extract_isbn(raw)
            if isinstance(result, Code):
                valid.add(result.value)
            elif (w := _weak_code(raw)) is not None:
                weak.add(w)
    for picked in rule_values(record, profile.invalid_isbn):
        for _, raw in picked:
            result = extract_isbn(raw)
            if isinstance(result, Code):
                weak.add(result.value)
            elif (w := _weak_code(raw)) is not None:
                weak.add(w)
    return frozenset(valid), frozenset(weak - valid)


def _issns(record: pymarc.Record, profile: Profile) -> tuple[frozenset[str], frozenset[str]]:
    valid: set[str] = set()
    weak: set[str] = set()
    for rules, strong in ((profile.issn, True), (profile.invalid_issn, False)):
        for picked in rule_values(record, rules):
            for _, raw in picked:
                token = raw.strip().split(" ")[0] if raw.strip() else ""
                result = normalise_issn(token)
                if isinstance(result, Code):
                    (valid if strong else weak).add(result.value)
                elif (w := _weak_code(raw)) is not None:
                    weak.add(w)
    return frozenset(valid), frozenset(weak - valid)


def _year(record: pymarc.Record, profile: Profile, flavour: Flavour) -> int | None:
    for value in _first_values(record, profile.dates, flavour):
        m = _YEAR.search(value)
        if m:
            return int(m.group(1))
    if flavour is Flavour.MARC21:
        f008 = _control(record, "008") or ""
        candidate = f008[7:11]
    else:
        candidate = (_subfield_a(record, "100") or "")[9:13]
    return int(candidate) if _YEAR.fullmatch(candidate) else None


def _language(record: pymarc.Record, profile: Profile, flavour: Flavour) -> str | None:
    if flavour is Flavour.MARC21:
        candidates = [(_control(record, "008") or "")[35:38]]
        candidates += _first_values(record, profile.language, flavour)
    else:
        candidates = _first_values(record, profile.language, flavour)
        candidates.append((_subfield_a(record, "100") or "")[22:25])
    for c in candidates:
        c = c.strip().lower()[:3]
        if _LANG.match(c):
            return c
    return None


def _subjects(record: pymarc.Record, profile: Profile, flavour: Flavour) -> list[str]:
    out = []
    for picked in rule_values(record, profile.subjects):
        parts = [_clean(v, flavour) for _, v in picked]
        heading = "--".join(p for p in parts if p)
        if heading:
            out.append(heading)
    return out


class _TagIndex:
    """A record's fields by tag, answering ``get_fields(tag)`` without scanning every field
    (pymarc's does, and the profiles ask for a dozen tags per record)."""

    __slots__ = ("_by_tag", "fields")

    def __init__(self, record: pymarc.Record) -> None:
        self.fields = record.fields
        by_tag: dict[str, list[pymarc.Field]] = {}
        for f in record.fields:
            by_tag.setdefault(f.tag, []).append(f)
        self._by_tag = by_tag

    def get_fields(self, *tags: str) -> list[pymarc.Field]:
        if len(tags) == 1:
            return list(self._by_tag.get(tags[0], ()))
        if not tags:
            return list(self.fields)
        return [f for f in self.fields if f.tag in tags]


def extract_access_points(record: pymarc.Record, flavour: Flavour) -> AccessPoints:
    """Read the access points of ``record`` through the profile of ``flavour``."""
    profile = profile_for(flavour)
    record = cast(pymarc.Record, _TagIndex(record))
    title, title_proper = _title(record, profile, flavour)
    variants = _first_values(record, profile.variant_titles, flavour)
    responsibility = [
        " ; ".join(_clean(v, flavour) for _, v in picked)
        for picked in rule_values(record, profile.responsibility)
    ]
    isbns, invalid_isbns = _isbns(record, profile)
    issns, invalid_issns = _issns(record, profile)
    local = _control(record, "001")
    return AccessPoints(
        flavour=flavour,
        titles=_dedup([title or "", *variants]),
        title_proper=title_proper,
        responsibility=responsibility[0] if responsibility and responsibility[0] else None,
        authors=_dedup(_names(record, profile, flavour)),
        isbns=isbns,
        invalid_isbns=invalid_isbns,
        issns=issns,
        invalid_issns=invalid_issns,
        clc=_dedup(v.replace(" ", "") for v in _first_values(record, profile.clc, flavour)),
        publishers=_dedup(_first_values(record, profile.publishers, flavour)),
        year=_year(record, profile, flavour),
        subjects=_dedup(_subjects(record, profile, flavour)),
        local_number=local.strip() if local else None,
        language=_language(record, profile, flavour),
    )


# ---------------------------------------------------------------------------------------
# holdings


def _holding(field: pymarc.Field, rule: HoldingRule, inherited: str | None) -> HoldingInfo:
    def get(code: str | None) -> str | None:
        if code is None:
            return None
        for value in field.get_subfields(code):
            if value and value.strip():
                return str(value).strip()
        return None

    class_number, book_number = get(rule.class_number), get(rule.book_number)
    call_number = get(rule.call_number)
    if call_number is None and class_number:
        joiner = " " if rule.tag == "852" else "/"
        call_number = class_number + (joiner + book_number if book_number else "")
    library = get(rule.library)
    return HoldingInfo(
        source_tag=field.tag,
        library=library if library is not None else inherited,
        holding_library=get(rule.holding_library),
        location=get(rule.location),
        barcode=get(rule.barcode),
        call_number=call_number,
        class_number=class_number,
        book_number=book_number,
        item_type=get(rule.item_type),
        volume=get(rule.volume),
        price=get(rule.price),
        library_inherited=library is None and inherited is not None,
    )


def extract_holdings(record: pymarc.Record, flavour: Flavour) -> list[HoldingInfo]:
    """Holdings and item fields of ``record`` (CNMARC 905/906; MARC21 852/952), in profile
    order then record order."""
    profile = profile_for(flavour)
    out: list[HoldingInfo] = []
    for rule in profile.holdings:
        inherited = None
        if rule.inherits_library_from:
            parent = next(
                (r for r in profile.holdings if r.tag == rule.inherits_library_from and r.library),
                None,
            )
            if parent is not None and parent.library is not None:
                for f in record.get_fields(parent.tag):
                    values = [v for v in f.get_subfields(parent.library) if v.strip()]
                    if values:
                        inherited = str(values[0]).strip()
                        break
        for f in record.get_fields(rule.tag):
            if not f.is_control_field():
                out.append(_holding(f, rule, inherited))
    return out


# ---------------------------------------------------------------------------------------
# match keys

_NON_SORTING = re.compile("[\u0088\u0098].*?[\u0089\u009c]", re.DOTALL)


def strip_non_sorting(text: str) -> str:
    """Drop UNIMARC non-sorting text (between NSB U+0088/U+0098 and NSE U+0089/U+009C)
    and any unpaired marker."""
    return re.sub("[\u0088\u0089\u0098\u009c]", "", _NON_SORTING.sub("", text))


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def casefold(text: str) -> str:
    return text.casefold()


def strip_punctuation_and_spaces(text: str) -> str:
    """Remove punctuation (P*), symbols (S*: backtick, ^), separators (Z*) and controls (C*):
    unifies ' ’ ` ＇ by removing them all."""
    return "".join(c for c in text if unicodedata.category(c)[0] not in "PSZC")


KEY_STEPS: tuple[Callable[[str], str], ...] = (
    strip_non_sorting,
    nfkc,
    casefold,
    strip_punctuation_and_spaces,
)
"""Match-key normalisation, in order. Traditional/simplified characters are left as is."""


def normalise_key_text(text: str, steps: Iterable[Callable[[str], str]] = KEY_STEPS) -> str:
    for step in steps:
        text = step(text)
    return text


@dataclass(frozen=True)
class MatchKeys:
    """Dedup keys of a record, strongest first.

    Two records that both carry ISBN/ISSNs are the same edition exactly when they share one;
    otherwise (one or both lack them) when their ``title_key`` is equal. ``weak`` (cancelled/invalid ISBNs and ISSNs) only supports
    a match, it never makes one alone.
    """

    isbns: frozenset[str]
    issns: frozenset[str]
    weak: frozenset[str]
    title_key: str | None  # "title|author|year", each part normalised by KEY_STEPS

    @property
    def strong(self) -> frozenset[str]:
        return frozenset({f"isbn:{v}" for v in self.isbns} | {f"issn:{v}" for v in self.issns})

    def matches(self, other: MatchKeys) -> bool:
        if self.strong and other.strong:
            return bool(self.strong & other.strong)
        return self.title_key is not None and self.title_key == other.title_key


def match_keys(
    access: AccessPoints, steps: Iterable[Callable[[str], str]] = KEY_STEPS
) -> MatchKeys:
    steps = tuple(steps)
    title = normalise_key_text(access.title_proper or "", steps)
    author = normalise_key_text(access.authors[0], steps) if access.authors else ""
    year = str(access.year) if access.year is not None else ""
    return MatchKeys(
        isbns=access.isbns,
        issns=access.issns,
        weak=access.invalid_isbns | access.invalid_issns,
        title_key=f"{title}|{author}|{year}" if title else None,
    )
