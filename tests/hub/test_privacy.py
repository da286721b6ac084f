"""Masking and keyed hashing of patron identifiers (PIPL)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ils_bridge.codes import Code, CodeKind, normalise_resident_id
from ils_bridge.privacy import MaskingFilter, keyed_hash, mask, mask_resident_id, mask_text

SECRET = b"0123456789abcdef0123456789abcdef"


# --- mask -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kwargs", "masked"),
    [
        ("P0000089", {}, "P0****89"),
        ("11010519491231002X", {"keep_start": 6, "keep_end": 4}, "110105********002X"),
        ("P001", {}, "P**1"),  # too short for 2 + 2: a quarter kept at each end
        ("P01", {}, "***"),
        ("", {}, ""),
        ("ABCDEF", {"keep_start": 0, "keep_end": 0}, "******"),
        ("ABCDEF", {"char": "#"}, "AB##EF"),
    ],
)
def test_mask(value: str, kwargs: dict[str, int], masked: str) -> None:
    assert mask(value, **kwargs) == masked  # type: ignore[arg-type]


def test_mask_refuses_negative_keeps() -> None:
    with pytest.raises(ValueError):
        mask("P0000089", keep_start=-1)


@given(st.text(), st.integers(0, 20), st.integers(0, 20))
def test_mask_keeps_length_and_always_hides_something(value: str, start: int, end: int) -> None:
    masked = mask(value, keep_start=start, keep_end=end)
    assert len(masked) == len(value)
    if value:
        assert "*" in masked
    if len(value) > start + end:
        assert masked[:start] == value[:start]
        assert masked[len(value) - end :] == value[len(value) - end :]


def test_mask_resident_id() -> None:
    assert mask_resident_id("11010519491231002X") == "110105********002X"
    assert mask_resident_id("110105491231002") == "110105******002"


# --- keyed_hash -----------------------------------------------------------------------------


def test_keyed_hash_is_hmac_sha256_hex() -> None:
    digest = keyed_hash(SECRET, "resident-id", "11010519491231002X")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == keyed_hash(SECRET, "resident-id", "11010519491231002X")


def test_keyed_hash_separates_kinds_secrets_and_values() -> None:
    base = keyed_hash(SECRET, "card", "11010519491231002X")
    assert base != keyed_hash(SECRET, "resident-id", "11010519491231002X")
    assert base != keyed_hash(b"another secret", "card", "11010519491231002X")
    assert base != keyed_hash(SECRET, "card", "11010519491231002")
    # the kind is length-prefixed: shifting characters between kind and value changes the hash
    assert keyed_hash(SECRET, "ab", "c") != keyed_hash(SECRET, "a", "bc")


def test_keyed_hash_of_canonical_values_joins_spellings() -> None:
    legacy, full = (
        normalise_resident_id("110105491231002"),
        normalise_resident_id("11010519491231002x"),
    )
    assert isinstance(legacy, Code) and isinstance(full, Code)
    assert keyed_hash(SECRET, "resident-id", legacy.value) == keyed_hash(
        SECRET, CodeKind.RESIDENT_ID, full.value
    )


def test_keyed_hash_needs_a_secret() -> None:
    with pytest.raises(ValueError):
        keyed_hash(b"", "card", "P001")


@given(st.text(), st.text())
def test_keyed_hash_is_total_on_text(kind: str, value: str) -> None:
    assert len(keyed_hash(SECRET, kind, value + "\ud800")) == 64


# --- mask_text and the logging filter -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("reader 11010519491231002X borrowed", "reader 110105********002X borrowed"),
        ("reader 11010519491231002x", "reader 110105********002x"),
        ("id=110105491231002;", "id=110105******002;"),
        ("typed 110105 19491231 002X here", "typed 110105********002X here"),
        ("typed 110105-19491231-002X", "typed 110105********002X"),
        ("bad check 110105194912310023 still masked", "bad check 110105********0023 still masked"),
        ("isbn 9787121186592 and barcode 30234000517861 stay", None),
        ("a 20-digit run 12345678901234567890 is not an ID", None),
    ],
)
def test_mask_text(text: str, masked: str | None) -> None:
    assert mask_text(text) == (masked or text)


def make_record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise LookupError("no reader 11010519491231002X")
        except LookupError:
            import sys

            exc_info = sys.exc_info()
    return logging.LogRecord("ils_bridge.test", logging.INFO, __file__, 1, msg, args, exc_info)


def test_filter_masks_message_and_arguments() -> None:
    record = make_record(
        "reader %s (card %d) borrowed %s", "11010519491231002X", 110105491231002, "BY123"
    )
    assert MaskingFilter().filter(record) is True
    assert record.getMessage() == "reader 110105********002X (card 110105******002) borrowed BY123"


def test_filter_masks_tracebacks() -> None:
    record = make_record("lookup failed", exc=True)
    MaskingFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert "LookupError" in formatted
    assert "19491231" not in formatted
    assert "110105********002X" in formatted


def test_filter_survives_a_broken_format_string() -> None:
    record = make_record("reader %s %s", "11010519491231002X")
    assert MaskingFilter().filter(record) is True
    assert "19491231" not in str(record.args)


def test_filter_on_a_logger(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("ils_bridge.test_privacy")
    masking = MaskingFilter()
    logger.addFilter(masking)
    try:
        with caplog.at_level(logging.INFO, logger="ils_bridge.test_privacy"):
            logger.info("new reader %s", "11010519491231002X")
    finally:
        logger.removeFilter(masking)
    assert caplog.messages == ["new reader 110105********002X"]
