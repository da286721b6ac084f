"""Worked examples for the code normalisers (research/domain.md §2), one step at a time."""

from __future__ import annotations

import datetime
import pickle
from collections.abc import Callable

import pytest

from ils_bridge import codes
from ils_bridge.codes import (
    Code,
    CodeError,
    CodeKind,
    InvalidCode,
    Normalisers,
    extract_isbn,
    isbn10_to_isbn13,
    isbn13_to_isbn10,
    normalise,
    reject,
    resident_id_check_char,
)


def value(kind: CodeKind | str, raw: str) -> str:
    result = normalise(kind, raw)
    assert isinstance(result, Code), result
    return result.value


def error(kind: CodeKind | str, raw: str) -> CodeError:
    result = normalise(kind, raw)
    assert isinstance(result, CodeError), result
    return result


# --- the cleaning steps, each alone ---------------------------------------------------------


def test_nfkc_maps_full_width_and_ideographic_space() -> None:
    assert codes.nfkc("０１９ＡＺａｚ－～\u3000") == "019AZaz-~ "
    assert codes.nfkc("①Ⅳ") == "1IV"
    assert codes.nfkc("\u301c") == "\u301c"  # WAVE DASH is left alone (domain.md §2.1)


def test_remove_invisible_drops_controls_format_and_whitespace() -> None:
    noisy = " 1\t2\r\n3\x00 4\u200b5\u200c6\ufeff7\u00ad8\u00a09\u3000\u2028"
    assert codes.remove_invisible(noisy) == "123456789"


def test_unify_dashes() -> None:
    assert codes.unify_dashes("1\u20102\u20133\u20144\u22125\uff0d6\ufe637") == "1-2-3-4-5-6-7"


@pytest.mark.parametrize(
    ("raw", "stripped"),
    [
        ("A12345678B", "12345678"),
        ("c30234000517861d", "30234000517861"),
        ("*BY123*", "BY123"),
        ("*A123B*", "123"),
        ("BY123", "BY123"),  # a letter prefix is not framing
        ("A123", "A123"),  # no stop character
        ("A12X4B", "A12X4B"),  # body not all digits
        ("E123F", "E123F"),  # E, F are not Codabar start/stop characters
        ("**", "**"),
        ("*", "*"),
    ],
)
def test_strip_framing(raw: str, stripped: str) -> None:
    assert codes.strip_framing(raw) == stripped


def test_upper_case_touches_ascii_only() -> None:
    assert codes.upper_case("by123x") == "BY123X"
    assert codes.upper_case("ßéı流") == "ßéı流"


def test_remove_hyphens() -> None:
    assert codes.remove_hyphens("978-7-04-010937-5") == "9787040109375"


# --- check digits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first17", "check"),
    [
        ("11010519491231002", "X"),  # GB 11643's sample: S=167, r=2
        ("44052418800101001", "4"),  # S=195, r=8
        ("36042619910101007", "1"),  # S=231, r=0
    ],
)
def test_resident_id_check_char_worked_examples(first17: str, check: str) -> None:
    assert resident_id_check_char(first17) == check


@pytest.mark.parametrize("bad", ["", "1101051949123100", "110105194912310021", "1101051949123100X"])
def test_resident_id_check_char_needs_17_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        resident_id_check_char(bad)


def test_isbn_issn_ean_check_digits() -> None:
    assert codes.isbn10_check_digit("711305198") == "7"  # Σ=180
    assert codes.ean13_check_digit("978712118659") == "2"  # Σ=128
    assert codes.issn_check_digit("0273196") == "7"  # Σ=114


@pytest.mark.parametrize(
    ("body", "check"),
    [("3023400051786", "1"), ("3319100010586", "4"), ("2239000002789", "5")],
)
def test_library_codabar_luhn(body: str, check: str) -> None:
    assert codes.luhn_check_digit(body) == check


def test_luhn_misses_09_90_transposition() -> None:
    # Documented weakness: Luhn does not catch 09 <-> 90; nothing may claim it does.
    assert codes.luhn_check_digit("3000000000009") == codes.luhn_check_digit("3000000000090")


def test_codabar14_step_is_optional_and_checks_luhn() -> None:
    assert codes.codabar14_step("30234000517861") == "30234000517861"
    refused = codes.codabar14_step("30234000517862")
    assert isinstance(refused, CodeError)
    assert refused.code == "bad-check-digit"
    assert codes.codabar14_step("BY123") == "BY123"
    # not a built-in step: a wrong Luhn digit is still a valid barcode by default
    assert value(CodeKind.BARCODE, "30234000517862") == "30234000517862"


# --- resident IDs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
        ("110105 19491231 002X", "11010519491231002X"),
        ("110105-19491231-002X", "11010519491231002X"),
        ("110105491231002", "11010519491231002X"),  # legacy 15 → 18
        ("440524188001010014", "440524188001010014"),  # the standard's 1880 sample
        ("360426199101010071", "360426199101010071"),
    ],
)
def test_resident_id_valid(raw: str, canonical: str) -> None:
    assert value(CodeKind.RESIDENT_ID, raw) == canonical


def with_check(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("110105194912310021", "bad-check-digit"),
        ("11010519491231002", "bad-length"),
        ("1101051949123100X2", "bad-character"),
        ("11010519491231002Y", "bad-character"),
        ("11010549123100X", "bad-character"),
        (with_check("11010519000229001"), "bad-date"),  # 1900-02-29: not leap
        (with_check("11010519491331002"), "bad-date"),  # month 13
        (with_check("11010519490132002"), "bad-date"),  # day 32
        (with_check("11010518791231002"), "bad-date"),  # before 1880
        (with_check("11010599991231002"), "bad-date"),  # future
        ("110105000229002", "bad-date"),  # legacy 1900-02-29
        ("", "empty"),
        (" \r\n\t\u200b", "empty"),
    ],
)
def test_resident_id_refused(raw: str, code: str) -> None:
    assert error(CodeKind.RESIDENT_ID, raw).code == code


def test_resident_id_check_digit_reason() -> None:
    refused = error(CodeKind.RESIDENT_ID, "110105194912310023")
    assert refused.reason == "check digit should be X, not 3"
    assert refused.raw == "110105194912310023"
    assert refused.kind is CodeKind.RESIDENT_ID


def test_resident_id_reasons_never_show_the_birth_date() -> None:
    refused = error(CodeKind.RESIDENT_ID, with_check("11010519491331002"))
    assert "1949" not in refused.reason and "1331" not in refused.reason


def test_resident_id_birth_date_bounds() -> None:
    assert value(CodeKind.RESIDENT_ID, with_check("11010518800101002"))
    assert value(CodeKind.RESIDENT_ID, with_check("11010520000229002"))  # 2000 is leap
    today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date()
    born_today = with_check(f"110105{today:%Y%m%d}002")
    assert value(CodeKind.RESIDENT_ID, born_today) == born_today
    tomorrow = today + datetime.timedelta(days=1)
    assert error(CodeKind.RESIDENT_ID, with_check(f"110105{tomorrow:%Y%m%d}002")).code == "bad-date"


def test_unlooked_up_region_and_sequence_000_are_accepted() -> None:
    assert value(CodeKind.RESIDENT_ID, with_check("99999919900101000"))


# --- reader cards ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("P0000089", "P0000089"),
        ("p0000089\r\n", "P0000089"),
        ("dz0000", "DZ0000"),
        ("N-0001", "N-0001"),
        ("21234000517860", "21234000517860"),  # 14-digit Codabar, as-is
        ("A21234000517860B", "21234000517860"),
        ("11010519491231002x", "11010519491231002X"),  # an ID used as a card
        ("110105-19491231-002X", "11010519491231002X"),
        ("110105491231002", "11010519491231002X"),
        ("000123", "000123"),
    ],
)
def test_card_valid(raw: str, canonical: str) -> None:
    assert value(CodeKind.CARD, raw) == canonical


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("110105194912310023", "bad-check-digit"),  # ID-shaped: validated as an ID
        ("110105000000002", "bad-date"),  # 15 digits are read as a legacy ID
        ("P00/89", "bad-character"),
        ("读者001", "bad-character"),
        ("-P001", "bad-format"),
        ("P--01", "bad-format"),
        ("P" * 33, "bad-length"),
        ("", "empty"),
    ],
)
def test_card_refused(raw: str, code: str) -> None:
    assert error(CodeKind.CARD, raw).code == code


# --- item barcodes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("000123", "000123"),
        ("0001２３\u3000\r\n", "000123"),
        ("by123", "BY123"),
        ("BY123", "BY123"),
        ("DPB00012", "DPB00012"),
        ("A12345678B", "12345678"),
        ("a12345678b", "12345678"),
        ("*C0001234*", "C0001234"),
        ("30234000517861", "30234000517861"),
        ("2020-0001", "2020-0001"),
        ("9787121186593", "9787121186593"),  # 978 but a wrong EAN check digit: not an ISBN
        ("9771234567003", "9771234567003"),
        ("X" * 32, "X" * 32),
    ],
)
def test_barcode_valid(raw: str, canonical: str) -> None:
    assert value(CodeKind.BARCODE, raw) == canonical


def test_leading_zeros_are_significant() -> None:
    assert value(CodeKind.BARCODE, "000123") != value(CodeKind.BARCODE, "123")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("9787121186592", "looks-like-isbn"),
        ("978-7-121-18659-2", "looks-like-isbn"),
        ("９７８７１２１１８６５９２", "looks-like-isbn"),
        ("978712118659254800", "looks-like-isbn"),  # with the 5-digit price add-on
        ("BY 12/3", "bad-character"),
        ("BY_123", "bad-character"),
        ("-123", "bad-format"),
        ("123-", "bad-format"),
        ("X" * 33, "bad-length"),
        ("\u200b\ufeff", "empty"),
        ("**123**", "bad-character"),
    ],
)
def test_barcode_refused(raw: str, code: str) -> None:
    assert error(CodeKind.BARCODE, raw).code == code


def test_looks_like_isbn_reason() -> None:
    assert error(CodeKind.BARCODE, "9787121186592").reason == (
        "looks like an ISBN (the book's EAN-13), not a library item barcode"
    )


# --- ISBN, ISSN -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("7-113-05198-7", "9787113051983"),
        ("7113051987", "9787113051983"),
        ("978-7-121-18659-2", "9787121186592"),
        ("7-5037-1744-0", "9787503717444"),
        ("978-7-5037-1744-4", "9787503717444"),
        ("０-３０６-４０６１５-２", "9780306406157"),
        ("080442957x", "9780804429573"),
        ("978712118659254800", "9787121186592"),  # EAN-5 add-on dropped
        ("9791234567896", "9791234567896"),
    ],
)
def test_isbn_valid(raw: str, canonical: str) -> None:
    assert value(CodeKind.ISBN, raw) == canonical


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("7-113-05198-6", "bad-check-digit"),
        ("9787121186593", "bad-check-digit"),
        ("97871211865X2", "bad-character"),  # X only last in an ISBN-10
        ("711305X987", "bad-character"),
        ("978712118659X", "bad-character"),  # an ISBN-13 check is never X
        ("9771234567003", "bad-prefix"),
        ("97871211865", "bad-length"),
        ("", "empty"),
    ],
)
def test_isbn_refused(raw: str, code: str) -> None:
    assert error(CodeKind.ISBN, raw).code == code


def test_isbn_conversions() -> None:
    assert isbn10_to_isbn13("7-5037-1744-0") == "9787503717444"
    assert isbn13_to_isbn10("978-7-5037-1744-4") == "7503717440"
    assert isbn13_to_isbn10("9791234567896") is None  # 979 has no ISBN-10
    assert isbn13_to_isbn10("9787503717445") is None
    with pytest.raises(InvalidCode) as caught:
        isbn10_to_isbn13("7-5037-1744-1")
    assert caught.value.error.code == "bad-check-digit"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("7-5053-9013-9 (含光盘)", "9787505390133"),
        ("978-7-04-010937-5 精装", "9787040109375"),
        ("978-7-04-010937-5精装", "9787040109375"),
        ("ISBN 978-7-04-010937-5 : CNY25.00", "9787040109375"),
        ("ＩＳＢＮ：９７８－７－０４－０１０９３７－５", "9787040109375"),
        ("isbn7-5053-9013-9", "9787505390133"),
        ("ISBN-13: 978-7-04-010937-5", "9787040109375"),
        ("ISBN 13: 978-7-04-010937-5", "9787040109375"),
        ("ISBN-10 7-5053-9013-9", "9787505390133"),
        ("ISBN 1000000001", "9781000000009"),  # an ISBN-10 starting with 10
    ],
)
def test_extract_isbn(text: str, canonical: str) -> None:
    result = extract_isbn(text)
    assert isinstance(result, Code), result
    assert result.value == canonical
    assert result.raw == text
    assert result.kind is CodeKind.ISBN


@pytest.mark.parametrize(
    "text", ["(含光盘)", "", "精装 978-7-04-010937-5", "7-5053-9013-8 (含光盘)"]
)
def test_extract_isbn_refused(text: str) -> None:
    result = extract_isbn(text)
    assert isinstance(result, CodeError)
    assert result.raw == text


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("0273-1967", "0273-1967"),
        ("02731967", "0273-1967"),
        ("０２７３－１９６７", "0273-1967"),
        ("2000-009x", "2000-009X"),
        ("9770273196007", "0273-1967"),  # the periodical's EAN-13
        ("977027319600705", "0273-1967"),  # with the issue add-on
    ],
)
def test_issn_valid(raw: str, canonical: str) -> None:
    assert value(CodeKind.ISSN, raw) == canonical


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("0273-1968", "bad-check-digit"),
        ("9770273196003", "bad-check-digit"),
        ("0273-196", "bad-length"),
        ("027X-1967", "bad-character"),
        ("", "empty"),
    ],
)
def test_issn_refused(raw: str, code: str) -> None:
    assert error(CodeKind.ISSN, raw).code == code


# --- library, location, owner codes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw", "canonical"),
    [
        (CodeKind.LIBRARY, "zg", "ZG"),
        (CodeKind.LIBRARY, "A120000TJL", "A120000TJL"),
        (CodeKind.LIBRARY, "branch_01", "BRANCH_01"),
        (CodeKind.LOCATION, "流通库", "流通库"),
        (CodeKind.LOCATION, "少儿 室\r\n", "少儿室"),
        (CodeKind.LOCATION, "ｒｅｆ－２", "REF-2"),
        (CodeKind.LOCATION, "A12345678B", "A12345678B"),  # typed, not scanned: no framing
        (CodeKind.LOCATION, "𠀀库", "𠀀库"),  # CJK extension B
        (CodeKind.OWNER_CODE, "cn-110108-1-nlc", "CN-110108-1-NLC"),
        (CodeKind.OWNER_CODE, "CN－440100－1－GZ01", "CN-440100-1-GZ01"),
        (CodeKind.OWNER_CODE, "CN-110108-B-1", "CN-110108-B-1"),
    ],
)
def test_short_codes_valid(kind: CodeKind, raw: str, canonical: str) -> None:
    assert value(kind, raw) == canonical


@pytest.mark.parametrize(
    ("kind", "raw", "code"),
    [
        (CodeKind.LIBRARY, "ZG-1", "bad-character"),
        (CodeKind.LIBRARY, "总馆", "bad-character"),
        (CodeKind.LIBRARY, "A" * 17, "bad-length"),
        (CodeKind.LOCATION, "-流通库", "bad-format"),
        (CodeKind.LOCATION, "流通库/2", "bad-character"),
        (CodeKind.LOCATION, "流通庫·2", "bad-character"),
        (CodeKind.LOCATION, "가", "bad-character"),
        (CodeKind.LOCATION, "流" * 33, "bad-length"),
        (CodeKind.OWNER_CODE, "CN-110108-1-NLCXY", "bad-format"),
        (CodeKind.OWNER_CODE, "CN-11010-1-NLC", "bad-format"),
        (CodeKind.OWNER_CODE, "US-110108-1-NLC", "bad-format"),
        (CodeKind.OWNER_CODE, "CN1101081NLC", "bad-format"),
    ],
)
def test_short_codes_refused(kind: CodeKind, raw: str, code: str) -> None:
    assert error(kind, raw).code == code


def test_lib_loc_splits_back_at_the_first_hyphen() -> None:
    library, location = value(CodeKind.LIBRARY, "zg"), value(CodeKind.LOCATION, "少儿-绘本")
    assert f"{library}-{location}".split("-", 1) == [library, location]


# --- the pipeline ---------------------------------------------------------------------------


def test_unknown_kind_is_an_error_not_an_exception() -> None:
    refused = error("call-number", "TP311.56")
    assert refused.code == "unknown-kind"
    assert refused.kind == "call-number"


def test_kind_may_be_given_as_text() -> None:
    assert value("resident-id", "110105491231002") == "11010519491231002X"


def test_overlong_input_is_refused_unread() -> None:
    refused = error(CodeKind.BARCODE, "1" * (codes.MAX_RAW_LENGTH + 1))
    assert refused.code == "bad-length"
    assert len(refused.raw) < 100


def test_non_text_input_is_an_error() -> None:
    refused = normalise(CodeKind.BARCODE, b"123")  # type: ignore[arg-type]
    assert isinstance(refused, CodeError)
    assert refused.code == "bad-type"


def test_code_keeps_raw() -> None:
    assert normalise(CodeKind.BARCODE, " by123\r\n") == Code(
        CodeKind.BARCODE, "BY123", " by123\r\n"
    )


def test_steps_lists_built_ins_in_order() -> None:
    assert Normalisers.default().steps(CodeKind.BARCODE) == [
        ("nfkc", "clean"),
        ("remove-invisible", "clean"),
        ("unify-dashes", "clean"),
        ("strip-framing", "clean"),
        ("upper-case", "clean"),
        ("check-barcode", "validate"),
    ]
    assert ("strip-framing", "clean") not in Normalisers.default().steps("location")


def test_plugin_steps_run_in_order_between_and_after_built_ins() -> None:
    seen: list[tuple[str, str]] = []

    def recorder(name: str, change: Callable[[str], str] = lambda t: t) -> codes.Step:
        def step(text: str) -> str:
            seen.append((name, text))
            return change(text)

        return step

    normalisers = Normalisers.default()
    normalisers.add_step("barcode", recorder("first", lambda t: "ZG" + t), name="first")
    normalisers.add_step(CodeKind.BARCODE, recorder("second"), name="second")
    normalisers.add_step(CodeKind.BARCODE, recorder("after"), name="after", stage="validate")

    assert normalisers.require(CodeKind.BARCODE, " by１２３\r\n") == "ZGBY123"
    assert seen == [("first", "BY123"), ("second", "ZGBY123"), ("after", "ZGBY123")]
    assert normalisers.steps(CodeKind.BARCODE)[-4:] == [
        ("first", "clean"),
        ("second", "clean"),
        ("check-barcode", "validate"),
        ("after", "validate"),
    ]


def test_plugin_steps_stay_on_their_own_instance() -> None:
    normalisers = Normalisers.default()
    normalisers.add_step(CodeKind.CARD, lambda t: reject("bad-format", "no"), name="never")
    assert isinstance(normalisers.normalise(CodeKind.CARD, "P001"), CodeError)
    assert value(CodeKind.CARD, "P001") == "P001"
    assert isinstance(Normalisers.default().normalise(CodeKind.CARD, "P001"), Code)


def test_a_plugin_refusal_gets_kind_and_raw_filled_in() -> None:
    normalisers = Normalisers.default()
    normalisers.add_step(
        CodeKind.CARD,
        lambda t: t if t.startswith("ZG") else reject("bad-prefix", "card numbers start with ZG"),
        name="zg-prefix",
        stage="validate",
    )
    refused = normalisers.normalise(CodeKind.CARD, "p001")
    assert refused == CodeError(CodeKind.CARD, "p001", "card numbers start with ZG", "bad-prefix")


def test_a_failing_plugin_step_is_an_error_not_an_exception() -> None:
    def broken(text: str) -> str:
        raise RuntimeError("bug")

    def wrong_type(text: str) -> str:
        return 42  # type: ignore[return-value]

    for step in (broken, wrong_type):
        normalisers = Normalisers.default()
        normalisers.add_step(CodeKind.BARCODE, step, name="broken")
        refused = normalisers.normalise(CodeKind.BARCODE, "123")
        assert isinstance(refused, CodeError)
        assert refused.code == "step-failed"
        assert "broken" in refused.reason


@pytest.mark.parametrize(
    ("kind", "name", "stage"),
    [
        ("call-number", "x", "clean"),
        (CodeKind.CARD, "nfkc", "clean"),  # taken by a built-in
        (CodeKind.CARD, "", "clean"),
        (CodeKind.CARD, "x", "after"),
    ],
)
def test_add_step_refuses_bad_registrations(kind: str, name: str, stage: str) -> None:
    with pytest.raises(ValueError):
        Normalisers.default().add_step(kind, lambda t: t, name=name, stage=stage)  # type: ignore[arg-type]


def test_require_raises_invalid_code() -> None:
    normalisers = Normalisers.default()
    assert normalisers.require(CodeKind.ISSN, "02731967") == "0273-1967"
    with pytest.raises(InvalidCode) as caught:
        normalisers.require(CodeKind.ISSN, "0273-1968")
    assert isinstance(caught.value, ValueError)
    assert caught.value.error.code == "bad-check-digit"
    assert str(caught.value) == "invalid issn: check digit should be 7, not 8"
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.error == caught.value.error


def test_reprs_mask_personal_kinds() -> None:
    card = normalise(CodeKind.CARD, "11010519491231002x")
    assert "19491231" not in repr(card)
    assert "1101**********002X" in repr(card)
    refused = normalise(CodeKind.RESIDENT_ID, "110105194912310023")
    assert "19491231" not in repr(refused)
    assert "BY123" in repr(normalise(CodeKind.BARCODE, "BY123"))
    assert "19491231" not in str(card) and "19491231" not in f"{card}"
