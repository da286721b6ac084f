"""BER layer: TLV round trips, length boundaries, indefinite lengths, framing, limits."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.z3950.ber import (
    CONTEXT,
    UNIVERSAL,
    BerError,
    BerLimits,
    Tlv,
    bits_from_content,
    bits_to_content,
    bool_from_content,
    decode,
    decode_prefix,
    encode,
    frame_length,
    int_from_content,
    int_to_content,
    oid_from_content,
    oid_to_content,
)

from .strategies import OID, primitive, tlv_trees


@pytest.mark.parametrize(
    ("size", "header"),
    [
        (0, "8000"),
        (127, "807f"),
        (128, "808180"),
        (255, "8081ff"),
        (256, "80820100"),
        (65535, "8082ffff"),
        (65536, "8083010000"),
    ],
)
def test_length_forms_at_boundaries(size: int, header: str) -> None:
    tlv = Tlv(CONTEXT, 0, False, b"x" * size)
    data = encode(tlv)
    assert data[: len(header) // 2].hex() == header
    assert decode(data) == tlv
    assert frame_length(data) == len(data)


@pytest.mark.parametrize(
    ("tlv", "hex_"),
    [
        (Tlv(CONTEXT, 48, True, b"", (Tlv(CONTEXT, 211, False, b"\x00"),)), "bf30059f81530100"),
        (Tlv(CONTEXT, 20, True), "b400"),
        (Tlv(CONTEXT, 30, False, b"\x01"), "9e0101"),
        (Tlv(CONTEXT, 31, False, b"1"), "9f1f0131"),
        (Tlv(UNIVERSAL, 6, False, oid_to_content("1.2.840.10003.5.10")), "06072a8648ce13050a"),
    ],
)
def test_known_encodings(tlv: Tlv, hex_: str) -> None:
    assert encode(tlv).hex() == hex_
    assert decode(bytes.fromhex(hex_)) == tlv


@given(tlv_trees(boundary_lengths=True))
def test_round_trip_definite_and_indefinite(tlv: Tlv) -> None:
    definite = encode(tlv)
    indefinite = encode(tlv, indefinite=True)
    assert decode(definite) == tlv
    assert decode(indefinite) == tlv
    assert frame_length(definite) == len(definite)
    assert frame_length(indefinite) == len(indefinite)


@given(st.lists(tlv_trees(), min_size=1, max_size=4), st.data())
def test_framing_at_every_split_point(tlvs: list[Tlv], data: st.DataObject) -> None:
    stream = b"".join(encode(t, indefinite=data.draw(st.booleans())) for t in tlvs)
    for split in range(len(stream) + 1):
        buf = bytearray()
        out: list[Tlv] = []
        for chunk in (stream[:split], stream[split:]):
            buf += chunk
            while (n := frame_length(buf)) is not None:
                out.append(decode(bytes(buf[:n])))
                del buf[:n]
        assert out == tlvs
        assert not buf


@given(st.binary(max_size=200))
def test_decoder_is_total(data: bytes) -> None:
    """Random bytes either decode or raise BerError; nothing else escapes."""
    with contextlib.suppress(BerError):
        decode(data)
    with contextlib.suppress(BerError):
        frame_length(data)


def test_huge_length_refused_without_allocating() -> None:
    header = bytes.fromhex("b484ffffffff")
    with pytest.raises(BerError, match="exceeds limit"):
        frame_length(header)
    with pytest.raises(BerError):
        decode(header + b"\x00" * 10)


def test_long_length_of_length_refused() -> None:
    with pytest.raises(BerError, match="length of 126 octets"):
        frame_length(bytes([0xB4, 0xFE]) + b"\x01" * 126)
    with pytest.raises(BerError, match="reserved"):
        frame_length(bytes([0xB4, 0xFF]))


def test_nesting_bomb_refused() -> None:
    bomb = b"\xa0\x80" * 10_000
    with pytest.raises(BerError, match="nesting"):
        frame_length(bomb)
    nested = Tlv(CONTEXT, 0, False)
    for _ in range(100):
        nested = Tlv(CONTEXT, 0, True, b"", (nested,))
    with pytest.raises(BerError, match="nesting"):
        decode(encode(nested))
    assert decode(encode(nested), BerLimits(max_depth=200)) == nested


def test_size_limit_applies_to_indefinite_values() -> None:
    limits = BerLimits(max_pdu_size=100)
    value = encode(
        Tlv(CONTEXT, 1, True, b"", (Tlv(CONTEXT, 2, False, b"x" * 200),)), indefinite=True
    )
    with pytest.raises(BerError, match="size"):
        frame_length(value, limits)
    with pytest.raises(BerError, match="size"):
        frame_length(b"\xb4\x80" + b"\x81\x10" * 100, limits)


@pytest.mark.parametrize(
    ("hex_", "message"),
    [
        ("0000", "end-of-contents"),
        ("8080", "indefinite length on a primitive"),
        ("b480010100", "missing end-of-contents"),
        ("b4800101", "past its container"),
        ("b403010100ff", "trailing"),
        ("bf8000", "non-minimal"),
        ("bf1e00", "high-tag form"),
        ("bf8181818181010100", "tag number too long"),
        ("b4030201", "truncated|past"),
    ],
)
def test_malformed(hex_: str, message: str) -> None:
    with pytest.raises(BerError, match=message):
        decode(bytes.fromhex(hex_))


def test_missing_end_of_contents_is_incomplete_for_the_framer() -> None:
    assert frame_length(bytes.fromhex("b480010100")) is None


def test_decode_prefix_returns_end() -> None:
    data = bytes.fromhex("8001ff8101ee")
    tlv, end = decode_prefix(data)
    assert (tlv.content, end) == (b"\xff", 3)
    assert decode_prefix(data, end)[0].content == b"\xee"


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_integer_round_trip(value: int) -> None:
    content = int_to_content(value)
    assert int_from_content(content) == value
    assert len(content) <= 8


@pytest.mark.parametrize("value", [0, 127, 128, 255, 256, -1, -128, -129, 9787111213826])
def test_integer_minimal(value: int) -> None:
    content = int_to_content(value)
    assert len(content) == 1 or not (
        (content[0] == 0 and content[1] < 0x80) or (content[0] == 0xFF and content[1] >= 0x80)
    )


def test_integer_limits() -> None:
    with pytest.raises(BerError):
        int_from_content(b"")
    with pytest.raises(BerError, match="8 octets"):
        int_from_content(b"\x01" * 9)


def test_boolean() -> None:
    assert bool_from_content(b"\xff") is True
    assert bool_from_content(b"\x01") is True
    assert bool_from_content(b"\x00") is False
    with pytest.raises(BerError):
        bool_from_content(b"\x00\x00")


@given(OID)
def test_oid_round_trip(oid: str) -> None:
    assert oid_from_content(oid_to_content(oid)) == oid


@pytest.mark.parametrize("oid", ["1.0.10646.1.0.8", "2.999.3", "0.39"])
def test_oid_first_arcs(oid: str) -> None:
    assert oid_from_content(oid_to_content(oid)) == oid


@pytest.mark.parametrize("hex_", ["", "2a86", "2a8001", "2a" + "ff" * 5 + "7f", "2a" * 129])
def test_oid_bad(hex_: str) -> None:
    with pytest.raises(BerError):
        oid_from_content(bytes.fromhex(hex_))


@given(st.frozensets(st.integers(0, 40)))
def test_bits_round_trip(bits: frozenset[int]) -> None:
    assert bits_from_content(bits_to_content(bits)) == bits


def test_bits_from_yaz_options() -> None:
    assert bits_from_content(bytes.fromhex("00e9a2")) == frozenset({0, 1, 2, 4, 7, 8, 10, 14})
    assert bits_from_content(bytes.fromhex("05e0")) == frozenset({0, 1, 2})
    with pytest.raises(BerError):
        bits_from_content(b"\x08\x00")


@given(primitive())
def test_primitive_round_trip(tlv: Tlv) -> None:
    assert decode(encode(tlv)) == tlv
