"""Codec: round trips, cleaning and truncation, leniency, totality, dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from protocols.sip2 import (
    MESSAGE_TYPES,
    CheckoutResponse,
    CodecConfig,
    ErrorDetection,
    ErrorKind,
    Leniency,
    LocalProtocolError,
    LoginRequest,
    Message,
    PatronInformationResponse,
    PatronStatusRequest,
    RenewAllRequest,
    checksum,
    decode,
    encode,
    encode_value,
    format_date,
    parse_date,
)

from ._strategies import ENCODINGS, messages, value_text

LENIENT = CodecConfig(accept=Leniency.COMMON | Leniency.BAD_TEXT)


# -- round trips --------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ENCODINGS)
@given(data=st.data())
def test_round_trip_all_types(encoding: str, data: st.DataObject) -> None:
    config = CodecConfig(encoding=encoding)
    msg = data.draw(messages(encoding))
    frame = encode(msg, config)
    assert frame.endswith(b"\r") and frame.count(b"\r") == 1
    back = decode(frame, config)
    assert back == msg
    assert back.leniency == Leniency.NONE
    assert encode(back, config) == frame


@pytest.mark.parametrize("cls", list(MESSAGE_TYPES.values()), ids=lambda c: c.CODE)
@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_every_type_round_trips_with_cjk(cls: type[Message], encoding: str) -> None:
    config = CodecConfig(encoding=encoding, terminator=b"\r\n")
    values: dict[str, Any] = {code: f"值{code}红楼梦·第一回" for code in cls.ORDER}
    if any(n == "transaction_date" for n, _ in cls.FIXED):
        values["transaction_date"] = "20261125    120000"
    msg = cls.create(sequence=3, **values)
    frame = encode(msg, config)
    assert frame.endswith(b"\r\n")
    az = frame.rindex(b"AZ") + 2
    assert frame[az : az + 4] == checksum(frame[:az]).encode()
    assert decode(frame, config) == msg


def test_create_orders_fields_and_fills_required() -> None:
    msg = CheckoutResponse.create(ok="1", AF=["一", "二"], AB="B1", AO="ZG", extra=[("KQ", "01")])
    codes = [c for c, _ in msg.fields]
    assert codes == ["AO", "AA", "AB", "AJ", "AH", "AF", "AF", "KQ"]
    assert msg.get("AA") == "" and msg.screen_messages == ("一", "二")
    assert msg.unknown_fields == (("KQ", "01"),)
    assert len(msg.transaction_date) == 18
    with pytest.raises(TypeError):
        CheckoutResponse.create(nonsense="x")


def test_unknown_and_repeated_fields_kept_in_order() -> None:
    fixed = " " * 14 + "019" + "20261125    120000" + "0000" * 2 + "0003" + "0000" * 3
    tail = "AOZG|AAP1|AEX|AUB1|XYvendor|AUB2|AUB3|AFa|AFb|"
    frame = f"64{fixed}{tail}".encode()
    msg = decode(frame)
    assert isinstance(msg, PatronInformationResponse)
    assert msg.get_all("AU") == ("B1", "B2", "B3")
    assert msg.charged_items_count == "0003" and msg.language == "019"
    assert msg.get("XY") == "vendor"
    assert encode(msg)[:-1] == frame


# -- cleaning and truncation --------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ENCODINGS)
@given(data=st.data())
def test_values_are_cut_at_255_bytes_on_a_character_boundary(
    encoding: str, data: st.DataObject
) -> None:
    config = CodecConfig(encoding=encoding)
    text = data.draw(value_text(encoding, max_size=150))
    raw = encode_value(text, config)
    assert len(raw) <= 255
    decoded = raw.decode(encoding)  # never a split character
    assert text.startswith(decoded)
    if len(text.encode(encoding)) <= 255:
        assert decoded == text
    else:
        assert len(raw) + len(text[len(decoded)].encode(encoding)) > 255


@example("a|b\rc\nd\0e")
@given(st.text(max_size=300))
def test_control_characters_never_leak(text: str) -> None:
    for encoding in ENCODINGS:
        config = CodecConfig(encoding=encoding)
        raw = encode_value(text, config)
        assert not set(raw) & {0x7C, 0x0D, 0x0A, 0x00}
        assert len(raw) <= 255


def test_cleaning_examples() -> None:
    assert encode_value("a|b\rc\nd\0e") == b"a b c de"
    assert encode_value("a|b", CodecConfig(delimiter="^")) == b"a b"
    assert encode_value("a^b", CodecConfig(delimiter="^", delimiter_replacement="")) == b"ab"
    assert encode_value("张三", CodecConfig(encoding="cp850")) == b"??"
    assert encode_value("红" * 100) == ("红" * 85).encode()


def test_gbk_trail_byte_0x7c_is_protected() -> None:
    """Some GBK characters end in byte 0x7C (`|`): peers that split on bytes would break."""
    ch = next(chr(c) for c in range(0x4E00, 0x9FA6) if 0x7C in chr(c).encode("gb18030"))
    config = CodecConfig(encoding="gb18030")
    assert encode_value(f"甲{ch}乙", config) == "甲?乙".encode("gb18030")
    keep = CodecConfig(encoding="gb18030", protect_delimiter_bytes=False)
    frame = encode(LoginRequest(fields=(("CN", f"甲{ch}"), ("CO", "x"))), keep)
    assert decode(frame, keep).login_user_id == f"甲{ch}"  # we split text, not bytes


def test_encoder_is_strict() -> None:
    with pytest.raises(LocalProtocolError) as info:
        encode(LoginRequest(uid_algorithm="00"))
    assert info.value.kind is ErrorKind.ENCODING
    for bad in ("|", "\r", "张"):
        with pytest.raises(LocalProtocolError):
            encode(LoginRequest(uid_algorithm=bad))
    with pytest.raises(LocalProtocolError):
        encode(LoginRequest(fields=(("C", "x"),)))
    with pytest.raises(LocalProtocolError):
        encode(LoginRequest(sequence=10))


def test_checksum_is_over_encoded_bytes_and_always_4_digits() -> None:
    for encoding in ENCODINGS:
        config = CodecConfig(encoding=encoding)
        for name in ("张三", "韩八", "Zoë", "x" * 7):
            frame = encode(PatronStatusRequest.create(sequence=5, AA=name), config)[:-1]
            az = frame.rindex(b"AZ") + 2
            digits = frame[az:].decode()
            assert len(digits) == 4 and digits == digits.upper()
            assert (sum(frame[:az]) + int(digits, 16)) & 0xFFFF == 0


@given(st.binary(max_size=200))
def test_checksum_property(prefix: bytes) -> None:
    digits = checksum(prefix)
    assert len(digits) == 4 and all(c in "0123456789ABCDEF" for c in digits)
    assert (sum(prefix) + int(digits, 16)) & 0xFFFF == 0


# -- leniency -----------------------------------------------------------------------------------
PYSIP2_CJK = "2300020261125    131657AOCN-TEST|AA张三|AC|AD0000|AY5AZ4665".encode()  # code points
SHORT_HEX = b"9300CNuser_id|COpassw0rd|AY1AZ"


def _with(prefix: bytes, digits: str) -> bytes:
    return prefix + digits.encode()


@pytest.mark.parametrize(
    ("frame", "needed"),
    [
        (PYSIP2_CJK, Leniency.CODEPOINT_SUM),
        (_with(SHORT_HEX, checksum(SHORT_HEX).lower()), Leniency.LOWERCASE_HEX),
        (b"65AOCN-TEST|AA123|AD0000|BON|AY4AZF672", Leniency.SHORT_FIXED),
        (b"98YYYYYN18018020250226    095853AOCN-0000001-ZG|AF|AG", Leniency.SHORT_FIXED),
        (b"6300120171123 123051 AOJL|AA1|", Leniency.SHORT_FIXED),
        (b"9300CNu\xff|COp|", Leniency.BAD_TEXT),
    ],
)
def test_leniency_is_opt_in_and_reported(frame: bytes, needed: Leniency) -> None:
    with pytest.raises(LocalProtocolError):
        decode(frame)
    msg = decode(frame, LENIENT)
    assert msg.leniency == needed


def test_short_hex_checksum() -> None:
    # a long frame whose checksum has a leading zero, sent short as python-sip2 does
    for k in range(4000):
        pad = (b"XY" + b"z" * 200 + b"|") * (k // 200) + b"XY" + b"z" * (k % 200) + b"|"
        p = b"9300CNabc|COx|" + pad + b"AY1AZ"
        if checksum(p).startswith("0"):
            break
    frame = p + checksum(p).lstrip("0").encode()
    with pytest.raises(LocalProtocolError) as info:
        decode(frame)
    assert info.value.kind is ErrorKind.CHECKSUM
    assert decode(frame, LENIENT).leniency == Leniency.SHORT_HEX


def test_python_sip2_65_without_date() -> None:
    msg = decode(b"65AOCN-TEST|AA123|AD0000|BON|AY4AZF672", LENIENT)
    assert isinstance(msg, RenewAllRequest)
    assert msg.transaction_date == " " * 18
    assert msg.patron_identifier == "123" and msg.sequence == 4


def test_error_detection_modes() -> None:
    plain = b"9300CNu|COp|"
    assert decode(plain).checksummed is False
    with pytest.raises(LocalProtocolError) as info:
        decode(plain, CodecConfig(error_detection=ErrorDetection.REQUIRED))
    assert info.value.kind is ErrorKind.CHECKSUM
    bad = b"9300CNuser_id|COpassw0rd|AY1AZF595"
    msg = decode(bad, CodecConfig(error_detection=ErrorDetection.OFF))
    assert msg.sequence == 1 and msg.login_password == "passw0rd"


def test_stray_delimiter_after_fixed_part_and_missing_last_delimiter() -> None:
    msg = decode(b"9900302.0E|AY1AZFC14")
    assert msg.fixed_values()["protocol_version"] == "2.0E"
    msg = decode(b"9300CNu|COp|AY2AZ" + checksum(b"9300CNu|COp|AY2AZ").encode())
    assert msg.login_password == "p"
    msg = decode(b"9300CNu|COp")
    assert msg.login_password == "p"


def test_alternate_delimiter() -> None:
    config = CodecConfig(delimiter="^")
    frame = encode(LoginRequest.create(CN="a|b", CO="c"), config)
    assert frame == b"9300CNa b^COc^\r"
    assert decode(frame, config).login_user_id == "a b"


def test_repr_masks_patron_identifiers() -> None:
    msg = PatronStatusRequest.create(AA="440101199001011234", AD="secret", AO="ZG")
    text = repr(msg)
    assert "440101199001011234" not in text and "secret" not in text and "ZG" in text


# -- totality -----------------------------------------------------------------------------------
CONFIGS = [
    CodecConfig(),
    LENIENT,
    CodecConfig(encoding="gb18030", accept=Leniency.COMMON),
    CodecConfig(encoding="cp850", error_detection=ErrorDetection.REQUIRED),
    CodecConfig(error_detection=ErrorDetection.OFF, delimiter="^"),
]


def _total(data: bytes) -> None:
    for config in CONFIGS:
        try:
            result = decode(data, config)
        except LocalProtocolError:
            continue
        assert isinstance(result, Message)


@given(st.binary(max_size=300))
def test_decoder_is_total_on_arbitrary_bytes(data: bytes) -> None:
    _total(data)


@given(st.sampled_from(list(MESSAGE_TYPES)), st.binary(max_size=120))
def test_decoder_is_total_on_valid_codes(code: str, tail: bytes) -> None:
    _total(code.encode() + tail)


@given(messages("utf-8"), st.data())
def test_decoder_is_total_on_mutated_frames(msg: Message, data: st.DataObject) -> None:
    frame = bytearray(encode(msg)[:-1])
    how = data.draw(st.sampled_from(["truncate", "flip", "duplicate", "az", "insert"]))
    if how == "truncate" and frame:
        del frame[data.draw(st.integers(0, len(frame) - 1)) :]
    elif how == "flip" and frame:
        i = data.draw(st.integers(0, len(frame) - 1))
        frame[i] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "duplicate":
        frame[2:2] = b"AOdup|AOdup|"
    elif how == "az":
        frame += b"AZ" + data.draw(st.text("0123456789abcdefABCDEFXZ", max_size=5)).encode()
    else:
        i = data.draw(st.integers(0, len(frame)))
        frame[i:i] = data.draw(st.binary(min_size=1, max_size=4))
    _total(bytes(frame))


def test_bit_flip_is_caught_by_the_checksum() -> None:
    frame = bytearray(b"9300CNuser_id|COpassw0rd|AY1AZF594")
    frame[8] ^= 0x01
    with pytest.raises(LocalProtocolError) as info:
        decode(bytes(frame))
    assert info.value.kind is ErrorKind.CHECKSUM


# -- dates --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20261125    131657", datetime(2026, 11, 25, 13, 16, 57)),
        ("20261125   Z131657", datetime(2026, 11, 25, 13, 16, 57, tzinfo=UTC)),
        (
            "20261125   H131657",
            datetime(2026, 11, 25, 13, 16, 57, tzinfo=timezone(timedelta(hours=8))),
        ),
        ("20171123 123051", datetime(2017, 11, 23, 12, 30, 51)),
        ("2011-10-28 23:59:59", datetime(2011, 10, 28, 23, 59, 59)),
        (" " * 18, None),
        ("0" * 18, None),
        ("YYYYMMDDZZZZHHMMSS", None),
        ("20261399    999999", None),
        ("20261125   J131657", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


@given(st.text(max_size=40))
def test_parse_date_never_raises(text: str) -> None:
    result = parse_date(text)
    assert result is None or isinstance(result, datetime)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2999, 1, 1)))
def test_format_then_parse(when: datetime) -> None:
    when = when.replace(microsecond=0)
    text = format_date(when)
    assert len(text) == 18 and parse_date(text) == when
    aware = when.replace(tzinfo=UTC)
    assert parse_date(format_date(aware)) == aware


# -- value helpers ------------------------------------------------------------------------------
def test_value_helpers() -> None:
    from protocols.sip2 import (
        PATRON_STATUS_FLAGS,
        PatronInformationRequest,
        patron_status,
        patron_status_flags,
        summary_category,
        supported_messages,
    )

    status = patron_status("card_reported_lost", "excessive_outstanding_fines")
    assert len(status) == 14 and status[4] == "Y" and status[10] == "Y" and status.count("Y") == 2
    assert patron_status_flags(status) == {"card_reported_lost", "excessive_outstanding_fines"}
    assert patron_status_flags(patron_status(*PATRON_STATUS_FLAGS)) == set(PATRON_STATUS_FLAGS)
    with pytest.raises(ValueError):
        patron_status("nonsense")
    assert supported_messages(["23", "65"]) == "Y" + "N" * 14 + "Y"
    assert summary_category("  Y       ") == "charged"
    assert summary_category(" " * 10) is None
    request = PatronInformationRequest(transaction_date="20261125    120000")
    assert request.transaction_datetime == datetime(2026, 11, 25, 12, 0, 0)
    assert CheckoutResponse(ok="1").is_yes("ok") and not CheckoutResponse().is_yes("ok")
