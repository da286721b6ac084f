"""Property tests for the code normalisers (research/domain.md §2.7).

Every kind: total on any text, a projection (idempotent, so canonical values never collide),
and blind to full-width forms, case and scanner/IME noise.  Check digits: MOD 11-2 catches
every single substitution and adjacent transposition; Luhn misses ``09``↔``90``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from hypothesis import assume, given
from hypothesis import strategies as st

from ils_bridge import codes
from ils_bridge.codes import (
    Code,
    CodeError,
    CodeKind,
    Normalisers,
    extract_isbn,
    isbn10_to_isbn13,
    isbn13_to_isbn10,
    normalise,
    resident_id_check_char,
)

DIGITS = "0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
TODAY = datetime.date.today() - datetime.timedelta(days=1)  # safe whatever the time zone

# --- strategies: raw values each kind should accept ----------------------------------------


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(DIGITS, min_size=n, max_size=n)


birth_dates = st.dates(min_value=codes.RESIDENT_ID_MIN_BIRTH, max_value=TODAY)


@st.composite
def resident_ids(draw: st.DrawFn, dates: st.SearchStrategy[datetime.date] = birth_dates) -> str:
    first17 = draw(digits(6)) + draw(dates).strftime("%Y%m%d") + draw(digits(3))
    return first17 + resident_id_check_char(first17)


@st.composite
def legacy_ids(draw: st.DrawFn) -> str:
    born = draw(st.dates(datetime.date(1900, 1, 1), datetime.date(1999, 12, 31)))
    return draw(digits(6)) + born.strftime("%y%m%d") + draw(digits(3))


@st.composite
def isbn10s(draw: st.DrawFn) -> str:
    body = draw(digits(9))
    return body + codes.isbn10_check_digit(body)


@st.composite
def isbn13s(draw: st.DrawFn) -> str:
    body = draw(st.sampled_from(["978", "979"])) + draw(digits(9))
    return body + codes.ean13_check_digit(body)


@st.composite
def issns(draw: st.DrawFn) -> str:
    body = draw(digits(7))
    return f"{body[:4]}-{body[4:]}{codes.issn_check_digit(body)}"


def hyphenated(alphabet: str, max_parts: int, max_size: int) -> st.SearchStrategy[str]:
    part = st.text(alphabet, min_size=1, max_size=8)
    return (
        st.lists(part, min_size=1, max_size=max_parts)
        .map("-".join)
        .filter(lambda s: len(s) <= max_size)
    )


HAN = "流通库少儿室阅览外借书刊报典藏特藏总分馆𠀀𪚥"

# Candidate raw values; a few (e.g. an ISBN-shaped barcode) are refused and filtered out.
CANDIDATES: dict[CodeKind, st.SearchStrategy[str]] = {
    CodeKind.BARCODE: hyphenated(UPPER + DIGITS, 3, 32),
    CodeKind.CARD: st.one_of(hyphenated(UPPER + DIGITS, 3, 32), resident_ids(), legacy_ids()),
    CodeKind.RESIDENT_ID: st.one_of(resident_ids(), legacy_ids()),
    CodeKind.ISBN: st.one_of(isbn10s(), isbn13s()),
    CodeKind.ISSN: issns(),
    CodeKind.LIBRARY: st.text(UPPER + DIGITS + "_", min_size=1, max_size=16),
    CodeKind.LOCATION: hyphenated(UPPER + DIGITS + "_" + HAN, 3, 32),
    CodeKind.OWNER_CODE: st.builds(
        lambda region, kind, custom: f"CN-{region}-{kind}-{custom}",
        digits(6),
        st.sampled_from("1BF"),
        st.text(UPPER + DIGITS, min_size=1, max_size=4),
    ),
}


@st.composite
def valid(draw: st.DrawFn, kind: CodeKind) -> tuple[str, Code]:
    raw = draw(CANDIDATES[kind])
    result = normalise(kind, raw)
    assume(isinstance(result, Code))
    assert isinstance(result, Code)
    return raw, result


kinds = st.sampled_from(list(CodeKind))
any_text = st.text(st.characters(exclude_categories=()))  # surrogates, NUL, controls included
# Characters that exercise the cleaning steps: full-width forms, noise, framing, NFKC
# expansions and compositions (① Ⅳ ﷽ ‾ ¨ combining marks, Hangul jamo), odd case mappings.
TRICKY = (
    "0123456789AXBCDabcdxz*-_ ０９ＡＸａｘ－＊\u3000\u200b\ufeff\u00ad\r\n\t\u00a0"
    "①Ⅳ﷽\u203e\u00a8\u00b4\u0301\u0308\u1100\u1161각流通库𠀀\uf900\u2010\u2013\u2212"
    "ßİı\ud800\x00ｶﾞ㍿"
)
tricky_text = st.one_of(any_text, st.text(st.sampled_from(TRICKY), max_size=40))


# --- totality -------------------------------------------------------------------------------


def check_total(result: Code | CodeError, kind: CodeKind) -> None:
    assert isinstance(result, (Code, CodeError))
    if isinstance(result, CodeError):
        assert result.kind is kind
        assert result.reason and result.code
        result.reason.encode("utf-8")  # reasons are always loggable (no lone surrogates)
    else:
        assert result.value and result.value.isprintable()


@given(kinds, tricky_text)
def test_every_normaliser_is_total(kind: CodeKind, raw: str) -> None:
    check_total(normalise(kind, raw), kind)


@given(
    kinds,
    st.integers(codes.MAX_RAW_LENGTH - 2, 200_000),
    st.sampled_from(["1", "\u3000", "﷽", "\ud800", "Ａ"]),
)
def test_huge_input_is_total(kind: CodeKind, size: int, char: str) -> None:
    check_total(normalise(kind, char * size), kind)


@given(tricky_text)
def test_extract_isbn_is_total(text: str) -> None:
    check_total(extract_isbn(text), CodeKind.ISBN)


@given(st.text(), any_text)
def test_unknown_kind_is_an_error(kind: str, raw: str) -> None:
    assume(kind not in {k.value for k in CodeKind})
    result = normalise(kind, raw)
    assert isinstance(result, CodeError)
    assert result.code == "unknown-kind"


# --- a projection ---------------------------------------------------------------------------


@given(kinds, tricky_text)
def test_idempotent_on_any_text(kind: CodeKind, raw: str) -> None:
    result = normalise(kind, raw)
    if isinstance(result, Code):
        assert normalise(kind, result.value) == Code(kind, result.value, result.value)


@given(st.data())
def test_idempotent_on_valid_values(data: st.DataObject) -> None:
    kind = data.draw(kinds)
    _, code = data.draw(valid(kind))
    assert normalise(kind, code.value) == Code(kind, code.value, code.value)


@given(st.data())
def test_distinct_canonical_values_never_collide(data: st.DataObject) -> None:
    kind = data.draw(kinds)
    (_, a), (_, b) = data.draw(valid(kind)), data.draw(valid(kind))
    again_a, again_b = normalise(kind, a.value), normalise(kind, b.value)
    assert isinstance(again_a, Code) and isinstance(again_b, Code)
    assert (again_a.value == again_b.value) == (a.value == b.value)


@given(st.text(UPPER + DIGITS, min_size=1, max_size=20), st.integers(1, 10))
def test_leading_zeros_are_significant(body: str, zeros: int) -> None:
    padded = "0" * zeros + body
    assume(len(padded) <= 32)
    short, long = normalise(CodeKind.BARCODE, body), normalise(CodeKind.BARCODE, padded)
    assume(isinstance(short, Code) and isinstance(long, Code))
    assert isinstance(short, Code) and isinstance(long, Code)
    assert short.value != long.value


@given(st.data())
def test_lib_loc_splits_back(data: st.DataObject) -> None:
    _, library = data.draw(valid(CodeKind.LIBRARY))
    _, location = data.draw(valid(CodeKind.LOCATION))
    assert f"{library.value}-{location.value}".split("-", 1) == [library.value, location.value]


# --- blind to full width, case and noise ----------------------------------------------------

NOISE = ["\u3000", "\u200b", "\ufeff", "\r", "\n", "\t", " ", "\u00a0", "\u00ad"]


def full_width(char: str) -> str:
    return chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char


@st.composite
def disguised(draw: st.DrawFn, text: str) -> str:
    chars = [
        draw(st.sampled_from([c, c.lower(), full_width(c), full_width(c.lower())])) for c in text
    ]
    for _ in range(draw(st.integers(0, 6))):
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from(NOISE)))
    return "".join(chars)


@given(st.data())
def test_full_width_case_and_noise_give_the_same_code(data: st.DataObject) -> None:
    kind = data.draw(kinds)
    raw, code = data.draw(valid(kind))
    for text in (raw, code.value):
        result = normalise(kind, data.draw(disguised(text)))
        assert isinstance(result, Code), result
        assert result.value == code.value


@given(st.data())
def test_scanner_framing_is_ignored_by_scanned_kinds(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from([CodeKind.BARCODE, CodeKind.CARD]))
    body = data.draw(digits(8)) if kind is CodeKind.BARCODE else data.draw(digits(14))
    start, stop = data.draw(st.sampled_from("ABCDabcd")), data.draw(st.sampled_from("ABCDabcd"))
    framed = data.draw(
        st.sampled_from([f"{start}{body}{stop}", f"*{body}*", f"*{start}{body}{stop}*"])
    )
    assert normalise(kind, framed + "\r\n") == Code(kind, body, framed + "\r\n")


# --- check digits ---------------------------------------------------------------------------


@given(resident_ids())
def test_valid_resident_ids_validate(rid: str) -> None:
    assert normalise(CodeKind.RESIDENT_ID, rid) == Code(CodeKind.RESIDENT_ID, rid, rid)
    assert normalise(CodeKind.CARD, rid) == Code(CodeKind.CARD, rid, rid)


@given(resident_ids(), st.integers(0, 17), st.sampled_from(DIGITS + "X"))
def test_mod_11_2_catches_every_single_substitution(rid: str, at: int, char: str) -> None:
    assume(rid[at] != char)
    wrong = rid[:at] + char + rid[at + 1 :]
    assert isinstance(normalise(CodeKind.RESIDENT_ID, wrong), CodeError)
    if char != "X" or at == 17:  # still ID-shaped, so a card is checked as an ID too
        assert isinstance(normalise(CodeKind.CARD, wrong), CodeError)


@given(resident_ids(), st.integers(0, 16))
def test_mod_11_2_catches_every_adjacent_transposition(rid: str, at: int) -> None:
    assume(rid[at] != rid[at + 1])
    swapped = rid[:at] + rid[at + 1] + rid[at] + rid[at + 2 :]
    assert isinstance(normalise(CodeKind.RESIDENT_ID, swapped), CodeError)


@given(legacy_ids())
def test_legacy_upgrade_keeps_the_birth_date(legacy: str) -> None:
    result = normalise(CodeKind.RESIDENT_ID, legacy)
    assert isinstance(result, Code)
    assert result.value[:6] == legacy[:6]
    assert result.value[6:14] == "19" + legacy[6:12]
    assert result.value[14:17] == legacy[12:]
    assert result.value[17] == resident_id_check_char(result.value[:17])


@given(st.dates(datetime.date(1880, 1, 1), datetime.date(2030, 12, 31)), digits(6), digits(3))
def test_birth_dates_in_range_are_exactly_the_valid_ones(
    born: datetime.date, region: str, seq: str
) -> None:
    first17 = region + born.strftime("%Y%m%d") + seq
    result = normalise(CodeKind.RESIDENT_ID, first17 + resident_id_check_char(first17))
    china_today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date()
    assert isinstance(result, Code) == (born <= china_today)


@given(digits(6), digits(8), digits(3))
def test_impossible_birth_dates_are_refused(region: str, yyyymmdd: str, seq: str) -> None:
    try:
        datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        first17 = region + yyyymmdd + seq
        result = normalise(CodeKind.RESIDENT_ID, first17 + resident_id_check_char(first17))
        assert isinstance(result, CodeError)
        assert result.code == "bad-date"


@given(isbn10s())
def test_isbn_10_13_10_round_trip(isbn10: str) -> None:
    isbn13 = isbn10_to_isbn13(isbn10)
    assert isbn13.startswith("978") and len(isbn13) == 13
    assert isbn13_to_isbn10(isbn13) == isbn10
    assert normalise(CodeKind.ISBN, isbn10) == Code(CodeKind.ISBN, isbn13, isbn10)


@given(digits(9))
def test_979_has_no_isbn_10(body: str) -> None:
    isbn13 = "979" + body + codes.ean13_check_digit("979" + body)
    assert isbn13_to_isbn10(isbn13) is None


@given(isbn10s(), st.integers(0, 8))
def test_isbn_x_only_last(isbn10: str, at: int) -> None:
    assert isinstance(normalise(CodeKind.ISBN, isbn10[:at] + "X" + isbn10[at + 1 :]), CodeError)


@given(isbn13s())
def test_isbn_13_check_is_never_x(isbn13: str) -> None:
    assert isinstance(normalise(CodeKind.ISBN, isbn13[:12] + "X"), CodeError)
    # and the book's EAN-13 is never taken for an item barcode
    refused = normalise(CodeKind.BARCODE, isbn13)
    assert isinstance(refused, CodeError)
    assert refused.code == "looks-like-isbn"


@given(isbn13s(), st.integers(0, 12), st.sampled_from(DIGITS))
def test_isbn_13_catches_single_substitution(isbn13: str, at: int, char: str) -> None:
    assume(isbn13[at] != char)
    assert isinstance(normalise(CodeKind.ISBN, isbn13[:at] + char + isbn13[at + 1 :]), CodeError)


@given(digits(13), st.integers(0, 11))
def test_luhn_misses_only_09_90_among_adjacent_transpositions(body: str, at: int) -> None:
    assume(body[at] != body[at + 1])
    swapped = body[:at] + body[at + 1] + body[at] + body[at + 2 :]
    same = codes.luhn_check_digit(body) == codes.luhn_check_digit(swapped)
    assert same == ({body[at], body[at + 1]} == {"0", "9"})


# --- plugin steps ---------------------------------------------------------------------------


@given(kinds, st.lists(st.sampled_from(["clean", "validate"]), min_size=1, max_size=6), st.data())
def test_plugin_steps_run_in_the_order_added(
    kind: CodeKind, stages: list[str], data: st.DataObject
) -> None:
    normalisers = Normalisers.default()
    ran: list[str] = []

    def recorder(name: str) -> Callable[[str], str]:
        def step(text: str) -> str:
            ran.append(name)
            return text

        return step

    names = [f"step-{i}" for i in range(len(stages))]
    for name, stage in zip(names, stages, strict=True):
        normalisers.add_step(kind, recorder(name), name=name, stage=stage)  # type: ignore[arg-type]
    _, code = data.draw(valid(kind))
    assert normalisers.normalise(kind, code.value) == Code(kind, code.value, code.value)
    expected = [n for n, s in zip(names, stages, strict=True) if s == "clean"] + [
        n for n, s in zip(names, stages, strict=True) if s == "validate"
    ]
    assert ran == expected
    listed = [name for name, _ in normalisers.steps(kind) if name.startswith("step-")]
    assert listed == expected
