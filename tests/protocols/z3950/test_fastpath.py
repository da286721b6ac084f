"""The fast paths agree with the general codec: same values decoded, same bytes encoded."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols.z3950 import oids
from protocols.z3950.apdu import (
    AttributeElement,
    AttributesPlusTerm,
    DefaultDiag,
    External,
    NamePlusRecord,
    PresentRequest,
    PresentResponse,
    ResponseRecords,
    RpnOp,
    RpnQuery,
    SearchRequest,
    SearchResponse,
    decode_pdu,
    encode_pdu,
    external_to_tlv,
)
from protocols.z3950.ber import BerError, BerLimits, encoded_size
from protocols.z3950.fastpath import decode_fast, encode_fast, external_size
from protocols.z3950.pqf import parse_pqf

from .strategies import (
    EXTERNAL,
    NAME,
    NONNEG,
    OID,
    PDUS,
    PRESENT_REQUESTS,
    PRESENT_RESPONSES,
    REF,
    SEARCH_REQUESTS,
    SEARCH_RESPONSES,
    rpn_queries,
)

# Requests in the shape the fast decoder takes (what yaz-client, ZOOM and our origin send).
SIMPLE_ATTRS = st.lists(
    st.builds(
        AttributeElement,
        type=st.integers(-5, 2**40),
        value=st.integers(-5, 2**40),
        attribute_set=st.one_of(st.none(), st.just(oids.BIB1_ATTRIBUTES)),
    ),
    max_size=4,
).map(tuple)
SIMPLE_RPN = st.recursive(
    st.builds(AttributesPlusTerm, SIMPLE_ATTRS, st.binary(max_size=300)),
    lambda kids: st.builds(RpnOp, st.sampled_from(["and", "or", "and-not"]), kids, kids),
    max_leaves=6,
)
SIMPLE_SEARCHES = st.builds(
    SearchRequest,
    query=st.builds(RpnQuery, SIMPLE_RPN, st.sampled_from([oids.BIB1_ATTRIBUTES, "1.2.3"])),
    database_names=st.lists(NAME, max_size=3).map(tuple),
    result_set_name=NAME,
    replace_indicator=st.booleans(),
    small_set_upper_bound=NONNEG,
    large_set_lower_bound=NONNEG,
    medium_set_present_number=NONNEG,
    preferred_record_syntax=st.one_of(st.none(), OID),
    reference_id=REF,
)
SIMPLE_PRESENTS = st.builds(
    PresentRequest,
    result_set_id=NAME,
    start=st.integers(-(2**40), 2**40),
    count=NONNEG,
    record_composition=st.one_of(st.none(), NAME),
    preferred_record_syntax=st.one_of(st.none(), OID),
    reference_id=REF,
)
#: Records at the length-octet boundaries (short form, 0x81, 0x82, 0x83).
BIG_RECORDS = st.builds(
    External,
    st.sampled_from([oids.UNIMARC, oids.USMARC, oids.XML]),
    st.sampled_from([0, 1, 100, 110, 127, 128, 200, 255, 256, 65000, 65535, 65536, 70000]).map(
        lambda n: b"r" * n
    ),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(SIMPLE_SEARCHES, SIMPLE_PRESENTS))
def test_common_requests_take_the_fast_path(pdu: SearchRequest | PresentRequest) -> None:
    wire = encode_pdu(pdu)
    assert decode_fast(wire) == pdu == decode_pdu(wire)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(PDUS, SEARCH_REQUESTS, PRESENT_REQUESTS, SIMPLE_SEARCHES))
def test_fast_decode_is_the_general_decode_or_declines(pdu: object) -> None:
    wire = encode_pdu(pdu)  # type: ignore[arg-type]
    fast = decode_fast(wire)
    assert fast is None or fast == decode_pdu(wire)
    indefinite = encode_pdu(pdu, indefinite=True)  # type: ignore[arg-type]
    fast = decode_fast(indefinite)
    assert fast is None or fast == decode_pdu(indefinite)


def test_fast_decode_of_damaged_requests_never_disagrees() -> None:
    """Random damage to common requests: the fast decoder declines, or gives what the general
    decoder gives (and that one does not fail)."""
    rng = random.Random(20261125)
    seeds = [
        encode_pdu(SearchRequest(parse_pqf(q), ("union",), "1", preferred_record_syntax=s))
        for q in ('@attr 1=4 "中国历史"', "@and @attr 1=1003 张三 @or a @attr 1=7 978711", "x")
        for s in (None, oids.UNIMARC)
    ] + [
        encode_pdu(PresentRequest("1", 1, 3, "F", oids.UNIMARC, reference_id=b"r")),
        encode_pdu(PresentRequest("default", 2, 10)),
    ]
    taken = 0
    for _ in range(20_000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data))
            roll = rng.random()
            if roll < 0.6:
                data[at] = rng.randrange(256)
            elif roll < 0.8:
                del data[at]
            else:
                data.insert(at, rng.randrange(256))
        fast = decode_fast(bytes(data))
        if fast is None:
            continue
        taken += 1
        assert fast == decode_pdu(bytes(data))
    assert taken > 1000


def test_fast_decode_declines_what_it_does_not_model() -> None:
    plain = SearchRequest(parse_pqf("x"), ("Default",))
    assert decode_fast(encode_pdu(plain)) == plain
    for odd in (
        SearchRequest(parse_pqf("@attr 1=title x")),  # complex attribute value
        SearchRequest(parse_pqf("@prox 0 3 1 2 k 2 a b")),
        SearchRequest(parse_pqf("@set s1")),
        SearchRequest(parse_pqf("x"), small_set_element_set_names="F"),
        PresentRequest("1", 1, 3, additional_ranges=((1, 2),)),
    ):
        assert decode_fast(encode_pdu(odd)) is None
        assert decode_pdu(encode_pdu(odd)) == odd
    deep = "@and " * 20 + "x " * 21
    assert decode_fast(encode_pdu(SearchRequest(parse_pqf(deep)))) is None
    # a tight nesting limit is left to the general decoder, which enforces it
    assert decode_fast(encode_pdu(plain), BerLimits(max_depth=8)) is None
    assert decode_fast(b"") is None
    assert decode_fast(encode_pdu(plain) + b"\x00") is None
    with pytest.raises(BerError):
        decode_pdu(encode_pdu(plain) + b"\x00")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(PDUS, SEARCH_RESPONSES, PRESENT_RESPONSES))
def test_fast_encode_is_byte_for_byte_the_general_encode(pdu: object) -> None:
    assert encode_fast(pdu) == encode_pdu(pdu)  # type: ignore[arg-type]


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.builds(
                NamePlusRecord,
                st.one_of(BIG_RECORDS, EXTERNAL),
                st.one_of(st.none(), NAME),
                st.booleans(),
            ),
            st.builds(
                NamePlusRecord,
                st.builds(DefaultDiag, st.integers(1, 999)),
                st.one_of(st.none(), NAME),
            ),
        ),
        max_size=4,
    ),
    st.integers(0, 2**62),
    REF,
)
def test_fast_encode_of_records_at_length_boundaries(
    records: list[NamePlusRecord], count: int, ref: bytes | None
) -> None:
    recs = ResponseRecords(tuple(records))
    for pdu in (
        PresentResponse(len(records), count, 0, recs, reference_id=ref),
        SearchResponse(count, True, len(records), 0, 4, 0, recs, reference_id=ref),
    ):
        wire = encode_fast(pdu)
        assert wire == encode_pdu(pdu)
        assert decode_pdu(wire) == pdu


@given(st.one_of(BIG_RECORDS, EXTERNAL))
def test_external_size(ext: External) -> None:
    assert external_size(ext) == encoded_size(external_to_tlv(ext))


@given(rpn_queries(text_terms=True, prox=False))
def test_fast_decode_of_text_queries(query: RpnQuery) -> None:
    wire = encode_pdu(SearchRequest(query, ("Default",)))
    fast = decode_fast(wire)
    assert fast is None or fast == decode_pdu(wire)
