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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pymarc

from ils_bridge.catalogue.model import Flavour
from ils_bridge.catalogue.profiles import FieldRule, HoldingRule, Profile, profile_for
from ils_bridge.codes import MAX_RAW_LENGTH, Code, check_isbn, extract_isbn, normalise_issn

__all__ = [
    "KEY_STEPS",
    "AccessPoints",
    "DataField",
    "FieldMap",
    "HoldingInfo",
    "MatchKeys",
    "access_points",
    "casefold",
    "extract_access_points",
    "extract_holdings",
    "field_map",
    "holdings_of",
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
# a record's fields as plain values

DataField = tuple[str, str, list[tuple[str, str]]]
"""A data field as plain values: ``(indicator 1, indicator 2, [(code, value), …])``."""


@dataclass(slots=True)
class FieldMap:
    """What access points and holdings read of a record: its data fields by tag (record order
    within a tag) and the first non-empty value of each control field. Built from a pymarc
    record (:func:`field_map`) or straight from ISO 2709 bytes by the bulk reader."""

    data: dict[str, list[DataField]]
    control: dict[str, str]


def field_map(record: pymarc.Record) -> FieldMap:
    """The :class:`FieldMap` of a pymarc record (control fields are the ones pymarc says)."""
    data: dict[str, list[DataField]] = {}
    control: dict[str, str] = {}
    for f in record.fields:
        if f.is_control_field():
            if f.data and f.tag not in control:
                control[f.tag] = str(f.data)
        else:
            subs = [(sf.code, sf.value) for sf in f.subfields]
            data.setdefault(f.tag, []).append((f.indicator1, f.indicator2, subs))
    return FieldMap(data, control)


# ---------------------------------------------------------------------------------------
# small text helpers

_TRAILING_ISBD = re.compile(r"[\s/:;,=]+$")
_LEADING_ISBD = re.compile(r"^[\s/:;,=]+")  # UNIMARC 700$b ", Isaac" carries its separator
_NSB_NSE = re.compile("[\u0088\u0089\u0098\u009c]")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")
_LANG = re.compile(r"^[a-z]{3}$")


# Whatever _clean would change: a marker, blank or ISBD mark at either end, a closing full stop
_CLEAN_WORK = re.compile(r"[\u0088\u0089\u0098\u009c]|^[\s/:;,=]|[\s/:;,=.]\Z")


def _clean(value: str, flavour: Flavour, keep_markers: bool = False) -> str:
    """Trim ISBD punctuation at both ends; drop UNIMARC NSB/NSE markers (not their text)
    unless ``keep_markers``."""
    if _CLEAN_WORK.search(value) is None:
        return value  # the common case: nothing to trim
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
    """The non-empty values, first occurrences in order."""
    return tuple(dict.fromkeys(v for v in values if v))


_Rule = tuple[str, str, str | None, tuple[str, str] | None]  # FieldRule's fields
_COMPILED: dict[int, tuple[Sequence[FieldRule], tuple[_Rule, ...]]] = {}


def _compiled(rules: Sequence[FieldRule]) -> tuple[_Rule, ...]:
    """The rules as plain tuples, kept per rules object (profiles are constants, so this is
    a handful of entries; the entry holds the object, so its id stays its own)."""
    hit = _COMPILED.get(id(rules))
    if hit is not None and hit[0] is rules:
        return hit[1]
    plain = tuple((r.tag, r.codes, r.ind2, r.require) for r in rules)
    if len(_COMPILED) < 4096:
        _COMPILED[id(rules)] = (rules, plain)
    return plain


def _rule_values(fields: FieldMap, rules: Sequence[FieldRule]) -> list[list[tuple[str, str]]]:
    """:func:`~ils_bridge.catalogue.profiles.rule_values` over a :class:`FieldMap`: for every
    data field matching a rule (rule order, then record order), its selected pairs."""
    return _select(fields, _compiled(rules))


def _select(fields: FieldMap, rules: Iterable[_Rule]) -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    data = fields.data
    for tag, codes, ind2, require in rules:
        found = data.get(tag)
        if not found:
            continue
        for _ind1, field_ind2, subs in found:
            if ind2 is not None and field_ind2 != ind2:
                continue
            if require is not None:
                want_code, want = require
                if not any(c == want_code and v.strip().casefold() == want for c, v in subs):
                    continue
            picked = [pair for pair in subs if pair[0] in codes]
            if picked:
                out.append(picked)
    return out


_TITLE_RULES: dict[int, tuple[Profile, tuple[FieldRule]]] = {}


def _title_rule(profile: Profile) -> tuple[FieldRule]:
    """``(profile.title,)``, the same object every time (so :func:`_compiled` keeps it)."""
    hit = _TITLE_RULES.get(id(profile))
    if hit is not None and hit[0] is profile:
        return hit[1]
    rules = (profile.title,)
    if len(_TITLE_RULES) < 64:
        _TITLE_RULES[id(profile)] = (profile, rules)
    return rules


def _first_values(fields: FieldMap, rules: Sequence[FieldRule], flavour: Flavour) -> list[str]:
    return [
        cleaned
        for picked in _rule_values(fields, rules)
        for _, value in picked
        if (cleaned := _clean(value, flavour))
    ]


def _subfield_a(fields: FieldMap, tag: str) -> str | None:
    for _i1, _i2, subs in fields.data.get(tag, ()):
        for code, value in subs:
            if code == "a":
                return value
    return None


# ---------------------------------------------------------------------------------------
# access points


def _title(fields: FieldMap, profile: Profile, flavour: Flavour) -> tuple[str | None, str | None]:
    """(title with other title info and part, title proper with part) of the first title field."""
    picked_fields = _rule_values(fields, _title_rule(profile))
    if not picked_fields:
        return None, None
    full: list[str] = []
    proper: list[str] = []
    for code, raw in picked_fields[0]:
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


def _names(fields: FieldMap, profile: Profile, flavour: Flavour) -> list[str]:
    names: list[str] = []
    for picked in _rule_values(fields, profile.authors):
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


# An ISBN as catalogued nearly always: ASCII digits (and hyphens, a final X), alone or followed
# by a blank or "(" and a qualifier. For such text extract_isbn's NFKC, label and token steps
# change nothing but drop the hyphens, so check_isbn alone decides (a property test holds
# _isbn13 to extract_isbn).
_PLAIN_ISBN = re.compile(r"([0-9][0-9\-]{0,30}[0-9X]?)(?:[ (]|\Z)")


def _isbn13(raw: str) -> str | None:
    """The canonical ISBN-13 that :func:`~ils_bridge.codes.extract_isbn` finds in ``raw``,
    or None when it finds none."""
    m = _PLAIN_ISBN.match(raw) if len(raw) <= MAX_RAW_LENGTH else None
    if m is not None:
        checked = check_isbn(m.group(1).replace("-", ""))
        return checked if isinstance(checked, str) else None
    result = extract_isbn(raw)
    return result.value if isinstance(result, Code) else None


def _isbns(fields: FieldMap, profile: Profile) -> tuple[frozenset[str], frozenset[str]]:
    valid: set[str] = set()
    weak: set[str] = set()
    for picked in _rule_values(fields, profile.isbn):
        for _, raw in picked:
            value = _isbn13(raw)
            if value is not None:
                valid.add(value)
            elif (w := _weak_code(raw)) is not None:
                weak.add(w)
    for picked in _rule_values(fields, profile.invalid_isbn):
        for _, raw in picked:
            value = _isbn13(raw)
            if value is not None:
                weak.add(value)
            elif (w := _weak_code(raw)) is not None:
                weak.add(w)
    return frozenset(valid), frozenset(weak - valid)


def _issns(fields: FieldMap, profile: Profile) -> tuple[frozenset[str], frozenset[str]]:
    valid: set[str] = set()
    weak: set[str] = set()
    for rules, strong in ((profile.issn, True), (profile.invalid_issn, False)):
        for picked in _rule_values(fields, rules):
            for _, raw in picked:
                token = raw.strip().split(" ")[0] if raw.strip() else ""
                result = normalise_issn(token)
                if isinstance(result, Code):
                    (valid if strong else weak).add(result.value)
                elif (w := _weak_code(raw)) is not None:
                    weak.add(w)
    return frozenset(valid), frozenset(weak - valid)


def _year(fields: FieldMap, profile: Profile, flavour: Flavour) -> int | None:
    for value in _first_values(fields, profile.dates, flavour):
        m = _YEAR.search(value)
        if m:
            return int(m.group(1))
    if flavour is Flavour.MARC21:
        f008 = fields.control.get("008") or ""
        candidate = f008[7:11]
    else:
        candidate = (_subfield_a(fields, "100") or "")[9:13]
    return int(candidate) if _YEAR.fullmatch(candidate) else None


def _language(fields: FieldMap, profile: Profile, flavour: Flavour) -> str | None:
    if flavour is Flavour.MARC21:
        candidates = [(fields.control.get("008") or "")[35:38]]
        candidates += _first_values(fields, profile.language, flavour)
    else:
        candidates = _first_values(fields, profile.language, flavour)
        candidates.append((_subfield_a(fields, "100") or "")[22:25])
    for c in candidates:
        c = c.strip().lower()[:3]
        if _LANG.match(c):
            return c
    return None


def _subjects(fields: FieldMap, profile: Profile, flavour: Flavour) -> list[str]:
    out = []
    for picked in _rule_values(fields, profile.subjects):
        parts = [_clean(v, flavour) for _, v in picked]
        heading = "--".join(p for p in parts if p)
        if heading:
            out.append(heading)
    return out


def extract_access_points(record: pymarc.Record, flavour: Flavour) -> AccessPoints:
    """Read the access points of ``record`` through the profile of ``flavour``."""
    return access_points(field_map(record), flavour)


def access_points(fields: FieldMap, flavour: Flavour) -> AccessPoints:
    """:func:`extract_access_points` of a record given as a :class:`FieldMap`."""
    profile = profile_for(flavour)
    title, title_proper = _title(fields, profile, flavour)
    variants = _first_values(fields, profile.variant_titles, flavour)
    responsibility = [
        " ; ".join(_clean(v, flavour) for _, v in picked)
        for picked in _rule_values(fields, profile.responsibility)
    ]
    isbns, invalid_isbns = _isbns(fields, profile)
    issns, invalid_issns = _issns(fields, profile)
    local = fields.control.get("001")
    return AccessPoints(
        flavour=flavour,
        titles=_dedup([title or "", *variants]),
        title_proper=title_proper,
        responsibility=responsibility[0] if responsibility and responsibility[0] else None,
        authors=_dedup(_names(fields, profile, flavour)),
        isbns=isbns,
        invalid_isbns=invalid_isbns,
        issns=issns,
        invalid_issns=invalid_issns,
        clc=_dedup(v.replace(" ", "") for v in _first_values(fields, profile.clc, flavour)),
        publishers=_dedup(_first_values(fields, profile.publishers, flavour)),
        year=_year(fields, profile, flavour),
        subjects=_dedup(_subjects(fields, profile, flavour)),
        local_number=local.strip() if local else None,
        language=_language(fields, profile, flavour),
    )


# ---------------------------------------------------------------------------------------
# holdings


def _holding(
    tag: str, subs: list[tuple[str, str]], rule: HoldingRule, inherited: str | None
) -> HoldingInfo:
    def get(code: str | None) -> str | None:
        if code is None:
            return None
        for c, value in subs:
            if c == code and value and value.strip():
                return str(value).strip()
        return None

    class_number, book_number = get(rule.class_number), get(rule.book_number)
    call_number = get(rule.call_number)
    if call_number is None and class_number:
        joiner = " " if rule.tag == "852" else "/"
        call_number = class_number + (joiner + book_number if book_number else "")
    library = get(rule.library)
    return HoldingInfo(
        source_tag=tag,
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
    return holdings_of(field_map(record), flavour)


def holdings_of(fields: FieldMap, flavour: Flavour) -> list[HoldingInfo]:
    """:func:`extract_holdings` of a record given as a :class:`FieldMap` (only its holdings
    tags are read)."""
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
                for _i1, _i2, subs in fields.data.get(parent.tag, ()):
                    values = [v for c, v in subs if c == parent.library and v.strip()]
                    if values:
                        inherited = str(values[0]).strip()
                        break
        for _i1, _i2, subs in fields.data.get(rule.tag, ()):
            out.append(_holding(rule.tag, subs, rule, inherited))
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
