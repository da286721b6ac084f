"""Access points, holdings and match keys of a record, read through its flavour's profile.

* :func:`extract_access_points` → :class:`AccessPoints` (titles, authors, ISBN-13s, …);
* :func:`extract_holdings` → list of :class:`HoldingInfo` (CNMARC 905/906, MARC21 852/952);
* :func:`match_keys` → :class:`MatchKeys` for deduplication in the unified catalogue.

Key normalisation is an ordered stack of small steps (:data:`KEY_STEPS`), each a plain
``str -> str`` function tested alone, so a branch plugin can add one without forking.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
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

_NSB_NSE = re.compile("[\u0088\u0089\u0098\u009c]")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")
_LANG = re.compile(r"^[a-z]{3}$")


# Whatever _clean would change: a marker, blank or ISBD mark at either end, a closing full stop
_CLEAN_WORK = re.compile(r"[\u0088\u0089\u0098\u009c]|^[\s/:;,=]|[\s/:;,=.]\Z")
_needs_trim = _CLEAN_WORK.search
_has_marker = _NSB_NSE.search


_ISBD_MARKS = "/:;,="
_ISBD_MARK_SET = frozenset(_ISBD_MARKS)


def _trim(value: str, marc21: bool, keep_markers: bool) -> str:
    """What :func:`_clean` does once its shortcut does not apply."""
    if not keep_markers and _has_marker(value) is not None:
        value = _NSB_NSE.sub("", value)
    value = value.strip()
    # the runs of blanks (str.isspace, as re's \s) and ISBD marks at either end, one kind at
    # a time (UNIMARC 700$b ", Isaac" carries its separator); the outer blanks are gone
    if value[:1] in _ISBD_MARK_SET:
        while True:
            shorter = value.lstrip(_ISBD_MARKS).lstrip()
            if len(shorter) == len(value):
                break
            value = shorter
    if value[-1:] in _ISBD_MARK_SET:
        while True:
            shorter = value.rstrip(_ISBD_MARKS).rstrip()
            if len(shorter) == len(value):
                break
            value = shorter
    # ISBD full stop that closes a MARC21 field; keep initials like "J." after a space
    if (
        marc21
        and value.endswith(".")
        and not value.endswith("..")
        and (len(value) < 3 or value[-3] != " ")
    ):
        value = value[:-1]
    return value.strip()


def _clean(value: str, flavour: Flavour, keep_markers: bool = False) -> str:
    """Trim ISBD punctuation at both ends; drop UNIMARC NSB/NSE markers (not their text)
    unless ``keep_markers``."""
    if _needs_trim(value) is None:
        return value  # the common case: nothing to trim
    return _trim(value, flavour is Flavour.MARC21, keep_markers)


def _unique(values: list[str]) -> tuple[str, ...]:
    """The values (none empty), first occurrences in order."""
    return tuple(values) if len(values) < 2 else tuple(dict.fromkeys(values))


# ---------------------------------------------------------------------------------------
# a profile's rules, compiled

_Rule = tuple[str, str, str | None, tuple[str, str] | None]  # FieldRule's fields
_Rules = tuple[_Rule, ...]
_Groups = tuple[_Rules, ...]  # one per access point, in _rule_groups order


def _rule_groups(profile: Profile) -> tuple[Sequence[FieldRule], ...]:
    """The profile's rules, one group per access point, in the order :func:`access_points`
    unpacks them."""
    return (
        (profile.title,),
        profile.variant_titles,
        profile.responsibility,
        profile.authors,
        profile.isbn,
        profile.invalid_isbn,
        profile.issn,
        profile.invalid_issn,
        profile.clc,
        profile.publishers,
        profile.dates,
        profile.subjects,
        profile.language,
    )


class _Plan:
    """One profile's rules as plain tuples, and for each set of tags a record holds, the
    rules that can match one of its fields (rule order kept), so a record looks up only the
    tags it has. Profiles are constants (a plugin adds its own objects), so this is derived
    once per profile object."""

    __slots__ = ("by_tags", "groups", "profile")

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.groups: _Groups = tuple(
            tuple((r.tag, r.codes, r.ind2, r.require) for r in rules)
            for rules in _rule_groups(profile)
        )
        self.by_tags: dict[tuple[str, ...], _Groups] = {}

    def present(self, data: dict[str, list[DataField]]) -> _Groups:
        """The rule groups, each cut to the rules whose tag is in ``data``."""
        key = tuple(data)
        hit = self.by_tags.get(key)
        if hit is None:
            hit = tuple(tuple(rule for rule in group if rule[0] in data) for group in self.groups)
            if len(self.by_tags) >= 4096:
                self.by_tags.clear()
            self.by_tags[key] = hit
        return hit


_PLANS: dict[int, _Plan] = {}


def _plan_for(profile: Profile) -> _Plan:
    plan = _PLANS.get(id(profile))
    if plan is None or plan.profile is not profile:
        plan = _Plan(profile)
        if len(_PLANS) < 64:  # the entry holds the profile, so its id stays its own
            _PLANS[id(profile)] = plan
    return plan


def _required(subs: list[tuple[str, str]], require: tuple[str, str]) -> bool:
    want_code, want = require
    return any(code == want_code and value.strip().casefold() == want for code, value in subs)


def _matching(
    data: dict[str, list[DataField]], rules: _Rules
) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """``(codes, subfields)`` of every data field a rule matches (rule order, then record
    order), for rules whose tags the record has: :func:`~ils_bridge.catalogue.profiles.
    rule_values` before the subfields are picked."""
    for tag, codes, ind2, require in rules:
        for _ind1, field_ind2, subs in data[tag]:
            if ind2 is not None and field_ind2 != ind2:
                continue
            if require is not None and not _required(subs, require):
                continue
            yield codes, subs


def _picked(data: dict[str, list[DataField]], rules: _Rules) -> list[list[tuple[str, str]]]:
    """For every field :func:`_matching` gives, its selected pairs (when it has any)."""
    out: list[list[tuple[str, str]]] = []
    for codes, subs in _matching(data, rules):
        picked = [pair for pair in subs if pair[0] in codes]
        if picked:
            out.append(picked)
    return out


def _first_picked(data: dict[str, list[DataField]], rules: _Rules) -> list[tuple[str, str]] | None:
    """The first of :func:`_picked`, or None."""
    for codes, subs in _matching(data, rules):
        picked = [pair for pair in subs if pair[0] in codes]
        if picked:
            return picked
    return None


def _raw_values(data: dict[str, list[DataField]], rules: _Rules) -> list[str]:
    """Every selected value of :func:`_picked`, as catalogued."""
    return [value for codes, subs in _matching(data, rules) for code, value in subs if code in codes]


def _cleaned(subs: list[tuple[str, str]], codes: str, marc21: bool) -> list[str]:
    """The selected values of one field, cleaned, but the empty ones."""
    out: list[str] = []
    for code, value in subs:
        if code in codes:
            if _needs_trim(value) is not None:
                value = _trim(value, marc21, False)
            if value:
                out.append(value)
    return out


def _values(data: dict[str, list[DataField]], rules: _Rules, marc21: bool) -> list[str]:
    """Every selected value of :func:`_picked`, cleaned, but the empty ones."""
    return [v for codes, subs in _matching(data, rules) for v in _cleaned(subs, codes, marc21)]


def _joined_values(
    data: dict[str, list[DataField]], rules: _Rules, marc21: bool, sep: str
) -> list[str]:
    """For each field of :func:`_picked`, its cleaned values joined by ``sep`` (the empty ones
    left out), but the empty joins: names, subject headings."""
    out: list[str] = []
    for codes, subs in _matching(data, rules):
        parts = _cleaned(subs, codes, marc21)
        if parts:
            out.append(parts[0] if len(parts) == 1 else sep.join(parts))
    return out


def _subfield_a(fields: FieldMap, tag: str) -> str | None:
    for _i1, _i2, subs in fields.data.get(tag, ()):
        for code, value in subs:
            if code == "a":
                return value
    return None


# ---------------------------------------------------------------------------------------
# access points


def _title(
    picked: list[tuple[str, str]], profile: Profile, marc21: bool
) -> tuple[str | None, str | None]:
    """(title with other title info and part, title proper with part) of the first title
    field's selected pairs."""
    if len(picked) == 1 and picked[0][0] in profile.title_main_codes:  # title proper alone
        raw = picked[0][1]
        if _needs_trim(raw) is None:
            title = raw.strip(" :.;") or None
            return title, title
        value = _trim(raw, marc21, False)
        if _has_marker(raw) is None:
            title = value.strip(" :.;") or None
            return title, title
        return (value.strip(" :.;") or None), (
            (_trim(raw, marc21, True).strip(" :.;") or None) if value else None
        )
    full: list[str] = []
    proper: list[str] = []
    main_codes = profile.title_main_codes
    other_codes = profile.title_other_codes
    part_codes = profile.title_part_codes
    for code, raw in picked:
        if _needs_trim(raw) is None:
            value = marked = raw
        else:
            value = _trim(raw, marc21, False)
            # without markers, keeping them changes nothing
            marked = _trim(raw, marc21, True) if _has_marker(raw) is not None else value
        if not value:
            continue
        if code in main_codes:
            sep = " ; " if full else ""
            full.append(sep + value)
            proper.append(sep + marked)
        elif code in other_codes:
            full.append(" : " + value)
        elif code in part_codes:
            full.append(". " + value)
            proper.append(". " + marked)
    return ("".join(full).strip(" :.;") or None), ("".join(proper).strip(" :.;") or None)


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
_plain_isbn = _PLAIN_ISBN.match


def _check_plain_isbn(digits: str) -> str | None:
    """:func:`~ils_bridge.codes.check_isbn`'s value, None for a refusal."""
    checked = check_isbn(digits)
    return checked if isinstance(checked, str) else None


def _isbn13(raw: str) -> str | None:
    """The canonical ISBN-13 that :func:`~ils_bridge.codes.extract_isbn` finds in ``raw``,
    or None when it finds none."""
    digits = raw.replace("-", "")
    if digits.isdigit() and raw.isascii() and raw[0] != "-" and len(raw) <= 32:
        return _check_plain_isbn(digits)  # what _PLAIN_ISBN takes: all of raw
    m = _plain_isbn(raw) if len(raw) <= MAX_RAW_LENGTH else None
    if m is not None:
        return _check_plain_isbn(m.group(1).replace("-", ""))
    result = extract_isbn(raw)
    return result.value if isinstance(result, Code) else None


_NONE: frozenset[str] = frozenset()


def _isbns(
    data: dict[str, list[DataField]], strong_rules: _Rules, weak_rules: _Rules
) -> tuple[frozenset[str], frozenset[str]]:
    valid: list[str] = []
    weak: list[str] = []
    for raw in _raw_values(data, strong_rules) if strong_rules else ():
        if (value := _isbn13(raw)) is not None:
            valid.append(value)
        elif (w := _weak_code(raw)) is not None:
            weak.append(w)
    for raw in _raw_values(data, weak_rules) if weak_rules else ():
        if (value := _isbn13(raw)) is not None or (value := _weak_code(raw)) is not None:
            weak.append(value)
    strong = frozenset(valid) if valid else _NONE
    return strong, frozenset(weak).difference(strong) if weak else _NONE


def _issns(
    data: dict[str, list[DataField]], strong_rules: _Rules, weak_rules: _Rules
) -> tuple[frozenset[str], frozenset[str]]:
    if not strong_rules and not weak_rules:
        return _NONE, _NONE
    valid: set[str] = set()
    weak: set[str] = set()
    for rules, strong in ((strong_rules, True), (weak_rules, False)):
        for picked in _picked(data, rules):
            for _, raw in picked:
                token = raw.strip().split(" ")[0] if raw.strip() else ""
                result = normalise_issn(token)
                if isinstance(result, Code):
                    (valid if strong else weak).add(result.value)
                elif (w := _weak_code(raw)) is not None:
                    weak.add(w)
    return frozenset(valid), frozenset(weak - valid)


def _year(fields: FieldMap, rules: _Rules, marc21: bool) -> int | None:
    # The first year in the rules' cleaned values. Cleaning drops markers, and blanks, ISBD
    # marks or a full stop at the ends: never a digit, and an end it cuts back to looks to a
    # year like the non-digit cut. So a value without markers has its cleaned form's years.
    for value in _raw_values(fields.data, rules) if rules else ():
        if _has_marker(value) is not None:
            value = _trim(value, marc21, False)
        m = _YEAR.search(value)
        if m:
            return int(m.group(1))
    if marc21:
        f008 = fields.control.get("008") or ""
        candidate = f008[7:11]
    else:
        candidate = (_subfield_a(fields, "100") or "")[9:13]
    return int(candidate) if _YEAR.fullmatch(candidate) else None


def _language_code(candidate: str) -> str | None:
    code = candidate.strip().lower()[:3]
    return code if _LANG.match(code) else None


def _language(fields: FieldMap, rules: _Rules, marc21: bool) -> str | None:
    # the first candidate that is a code: MARC21 008/35-37 then the rules' values; UNIMARC
    # the rules' values then 100$a/22-24
    if marc21 and (code := _language_code((fields.control.get("008") or "")[35:38])):
        return code
    for value in _values(fields.data, rules, marc21) if rules else ():
        if code := _language_code(value):
            return code
    if marc21:
        return None
    return _language_code((_subfield_a(fields, "100") or "")[22:25])


def extract_access_points(record: pymarc.Record, flavour: Flavour) -> AccessPoints:
    """Read the access points of ``record`` through the profile of ``flavour``."""
    return access_points(field_map(record), flavour)


def access_points(fields: FieldMap, flavour: Flavour) -> AccessPoints:
    """:func:`extract_access_points` of a record given as a :class:`FieldMap`."""
    return AccessPoints(*_point_values(fields, flavour, True))


_PointValues = tuple[
    Flavour,
    tuple[str, ...],  # titles
    str | None,  # title_proper
    str | None,  # responsibility
    tuple[str, ...],  # authors
    frozenset[str],  # isbns
    frozenset[str],  # invalid_isbns
    frozenset[str],  # issns
    frozenset[str],  # invalid_issns
    tuple[str, ...],  # clc
    tuple[str, ...],  # publishers
    int | None,  # year
    tuple[str, ...],  # subjects
    str | None,  # local_number
    str | None,  # language
]
"""The fields of :class:`AccessPoints`, in its order."""


def _point_values(fields: FieldMap, flavour: Flavour, language: bool) -> _PointValues:
    """The values of :func:`access_points` (its language None unless ``language``)."""
    profile = profile_for(flavour)
    data = fields.data
    (
        title_rules,
        variant_rules,
        responsibility_rules,
        author_rules,
        isbn_rules,
        invalid_isbn_rules,
        issn_rules,
        invalid_issn_rules,
        clc_rules,
        publisher_rules,
        date_rules,
        subject_rules,
        language_rules,
    ) = _plan_for(profile).present(data)
    marc21 = flavour is Flavour.MARC21
    title = title_proper = None
    if title_rules and (picked := _first_picked(data, title_rules)):
        title, title_proper = _title(picked, profile, marc21)
    titles = [title] if title else []
    if variant_rules:
        titles += _values(data, variant_rules, marc21)
    responsibility = None
    if responsibility_rules and (picked := _first_picked(data, responsibility_rules)):
        if len(picked) == 1:
            responsibility = _clean(picked[0][1], flavour) or None
        else:
            responsibility = " ; ".join([_clean(v, flavour) for _, v in picked]) or None
    authors = _joined_values(data, author_rules, marc21, ", ") if author_rules else []
    isbns, invalid_isbns = _isbns(data, isbn_rules, invalid_isbn_rules)
    issns, invalid_issns = _issns(data, issn_rules, invalid_issn_rules)
    clc = (
        [code for v in _values(data, clc_rules, marc21) if (code := v.replace(" ", ""))]
        if clc_rules
        else []
    )
    subjects = _joined_values(data, subject_rules, marc21, "--") if subject_rules else []
    local = fields.control.get("001")
    return (
        flavour,
        _unique(titles),
        title_proper,
        responsibility,
        _unique(authors),
        isbns,
        invalid_isbns,
        issns,
        invalid_issns,
        _unique(clc),
        _unique(_values(data, publisher_rules, marc21)) if publisher_rules else (),
        _year(fields, date_rules, marc21),
        _unique(subjects),
        local.strip() if local else None,
        _language(fields, language_rules, marc21) if language else None,
    )


def _import_points(fields: FieldMap, flavour: Flavour) -> tuple[_PointValues, MatchKeys]:
    """What the catalogue import stores of a record: the values of :func:`access_points`
    but the language (None), and :func:`match_keys` with the built-in steps — without
    building the :class:`AccessPoints`."""
    values = _point_values(fields, flavour, False)
    _, _, title_proper, _, authors, isbns, invalid_isbns, issns, invalid_issns = values[:9]
    year = values[11]
    keys = _match_keys(
        title_proper, authors, year, isbns, issns, invalid_isbns, invalid_issns, _default_key_text
    )
    return values, keys


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
_BUILT_IN_STEPS = KEY_STEPS  # what _default_key_text does (KEY_STEPS may be rebound)


def normalise_key_text(text: str, steps: Iterable[Callable[[str], str]] = KEY_STEPS) -> str:
    if steps is _BUILT_IN_STEPS:
        return _default_key_text(text)
    for step in steps:
        text = step(text)
    return text


_HAN_TEXT = re.compile("[\u4e00-\u9fff]+")


class _KeyCharacters(dict[int, int | None]):
    """The :meth:`str.translate` table of :func:`strip_punctuation_and_spaces` (None drops
    the character), filled in as characters are met."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.category(chr(code))[0] in "PSZC" else code
        if len(self) < 1 << 16:
            self[code] = kept
        return kept


_KEY_CHARACTERS = _KeyCharacters()


def _default_key_text(text: str) -> str:
    """``normalise_key_text(text, _BUILT_IN_STEPS)``, the steps' work skipped where it would
    change nothing: no marker, no non-sorting text; letters and digits (never P*, S*, Z*
    or C*: a test checks every code point) are all kept, and CJK Unified Ideographs are
    letters that NFKC and casefold leave alone (a test checks each)."""
    if _HAN_TEXT.fullmatch(text) is not None:  # a Chinese name or title without digits
        return text
    if _has_marker(text) is not None:
        text = strip_non_sorting(text)
    text = unicodedata.normalize("NFKC", text).casefold()
    if text.isalnum():
        return text
    return text.translate(_KEY_CHARACTERS)


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
    if steps == _BUILT_IN_STEPS:
        normalise: Callable[[str], str] = _default_key_text
    else:
        normalise = functools.partial(normalise_key_text, steps=steps)
    return _match_keys(
        access.title_proper,
        access.authors,
        access.year,
        access.isbns,
        access.issns,
        access.invalid_isbns,
        access.invalid_issns,
        normalise,
    )


def _match_keys(
    title_proper: str | None,
    authors: tuple[str, ...],
    year: int | None,
    isbns: frozenset[str],
    issns: frozenset[str],
    invalid_isbns: frozenset[str],
    invalid_issns: frozenset[str],
    normalise: Callable[[str], str],
) -> MatchKeys:
    title = normalise(title_proper or "")
    author = normalise(authors[0]) if authors else ""
    return MatchKeys(
        isbns=isbns,
        issns=issns,
        weak=invalid_isbns | invalid_issns if invalid_issns else invalid_isbns,
        title_key=f"{title}|{author}|{year if year is not None else ''}" if title else None,
    )
