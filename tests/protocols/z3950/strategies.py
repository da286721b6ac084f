"""Hypothesis strategies for BER trees, RPN queries and Z39.50 PDUs."""

from __future__ import annotations

from hypothesis import strategies as st

from protocols.z3950 import apdu, oids
from protocols.z3950.apdu import (
    AttributeElement,
    AttributesPlusTerm,
    Close,
    ComplexValue,
    DefaultDiag,
    External,
    InitRequest,
    InitResponse,
    MultipleDiagnostics,
    NamePlusRecord,
    OtherInfo,
    PresentRequest,
    PresentResponse,
    Prox,
    ResponseRecords,
    ResultSetOperand,
    RpnNode,
    RpnOp,
    RpnQuery,
    SearchRequest,
    SearchResponse,
)
from protocols.z3950.ber import Tlv

# Values asn1tools can represent too: strings are ASCII/Latin-1-safe text or CJK via UTF-8.
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
WORD = st.text(
    alphabet=st.one_of(st.characters(min_codepoint=0x21, max_codepoint=0x7E), CJK),
    min_size=1,
    max_size=12,
)
ASCII = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)
NAME = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
    min_size=1,
    max_size=10,
)
INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
NONNEG = st.integers(min_value=0, max_value=2**40)
OID = st.lists(st.integers(min_value=0, max_value=2**28), min_size=1, max_size=8).map(
    lambda arcs: "1.2." + ".".join(str(a) for a in arcs)
)

# --------------------------------------------------------------------------- BER trees

LENGTHS = st.sampled_from([0, 1, 2, 126, 127, 128, 129, 255, 256, 257, 65535, 65536])


@st.composite
def primitive(draw: st.DrawFn, boundary_lengths: bool = True) -> Tlv:
    cls = draw(st.integers(0, 3))
    number = draw(st.integers(1 if cls == 0 else 0, 2**20))
    if boundary_lengths and draw(st.booleans()):
        size = draw(LENGTHS)
        content = bytes([draw(st.integers(0, 255))]) * size
    else:
        content = draw(st.binary(max_size=40))
    return Tlv(cls, number, False, content)


def tlv_trees(boundary_lengths: bool = False) -> st.SearchStrategy[Tlv]:
    def extend(children: st.SearchStrategy[Tlv]) -> st.SearchStrategy[Tlv]:
        return st.builds(
            lambda cls, number, kids: Tlv(cls, number, True, b"", tuple(kids)),
            st.integers(1, 3),
            st.integers(0, 300),
            st.lists(children, max_size=5),
        )

    return st.recursive(primitive(boundary_lengths), extend, max_leaves=12)


# --------------------------------------------------------------------------- RPN


def attributes(complex_values: bool = True) -> st.SearchStrategy[tuple[AttributeElement, ...]]:
    value: st.SearchStrategy[int | ComplexValue] = st.integers(1, 9999)
    if complex_values:
        value = st.one_of(
            value,
            st.builds(
                lambda s: ComplexValue((s,)),
                st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8),
            ),
        )
    element = st.builds(
        AttributeElement,
        type=st.integers(1, 9),
        value=value,
        attribute_set=st.one_of(
            st.none(), st.sampled_from(["1.2.840.10003.3.1", "1.2.840.10003.3.5"])
        ),
    )
    return st.lists(element, max_size=4, unique_by=lambda a: (a.attribute_set, a.type)).map(tuple)


def operands(text_terms: bool = True) -> st.SearchStrategy[RpnNode]:
    term = WORD.map(lambda w: w.encode("utf-8")) if text_terms else st.binary(max_size=20)
    apt = st.builds(AttributesPlusTerm, attributes(), term)
    return st.one_of(apt, apt, st.builds(ResultSetOperand, NAME))


PROX = st.builds(
    Prox,
    exclusion=st.one_of(st.none(), st.booleans()),
    distance=st.integers(0, 100),
    ordered=st.booleans(),
    relation=st.integers(1, 6),
    unit=st.integers(1, 11),
    known_unit=st.booleans(),
)


def rpn_trees(text_terms: bool = True, prox: bool = True) -> st.SearchStrategy[RpnNode]:
    ops: st.SearchStrategy[apdu.Operator] = st.sampled_from(["and", "or", "and-not"])
    if prox:
        ops = st.one_of(ops, PROX)
    return st.recursive(
        operands(text_terms),
        lambda kids: st.builds(RpnOp, ops, kids, kids),
        max_leaves=8,
    )


def rpn_queries(text_terms: bool = True, prox: bool = True) -> st.SearchStrategy[RpnQuery]:
    return st.builds(
        RpnQuery,
        rpn_trees(text_terms, prox),
        st.sampled_from([oids.BIB1_ATTRIBUTES, "1.2.840.10003.3.5"]),
    )


# --------------------------------------------------------------------------- PDUs

BITS = st.frozensets(st.integers(0, 23), max_size=10)
REF = st.one_of(st.none(), st.binary(max_size=8))
GSTR = st.one_of(st.none(), ASCII)
DIAG = st.builds(DefaultDiag, condition=st.integers(1, 1100), addinfo=ASCII)
EXTERNAL = st.builds(
    External,
    direct_reference=st.sampled_from([oids.USMARC, oids.UNIMARC, oids.XML]),
    encoding=st.binary(max_size=300),
)
OTHER = st.lists(
    st.one_of(
        st.builds(OtherInfo, character=ASCII),
        st.builds(OtherInfo, binary=st.binary(max_size=10)),
        st.builds(OtherInfo, oid=OID),
        st.builds(OtherInfo, external=EXTERNAL),
    ),
    max_size=2,
).map(tuple)

INIT_REQUESTS = st.builds(
    InitRequest,
    options=BITS,
    protocol_version=BITS,
    preferred_message_size=NONNEG,
    exceptional_record_size=NONNEG,
    id_authentication=st.one_of(
        st.none(),
        st.builds(apdu.AuthOpen, ASCII),
        st.builds(apdu.AuthIdPass, GSTR, GSTR, GSTR),
        st.just(apdu.AuthAnonymous()),
    ),
    implementation_id=GSTR,
    implementation_name=GSTR,
    implementation_version=GSTR,
    other_info=OTHER,
    reference_id=REF,
)
INIT_RESPONSES = st.builds(
    InitResponse,
    result=st.booleans(),
    options=BITS,
    protocol_version=BITS,
    preferred_message_size=NONNEG,
    exceptional_record_size=NONNEG,
    implementation_id=GSTR,
    implementation_name=GSTR,
    implementation_version=GSTR,
    other_info=OTHER,
    reference_id=REF,
)
SEARCH_REQUESTS = st.builds(
    SearchRequest,
    query=rpn_queries(text_terms=False),
    database_names=st.lists(NAME, min_size=1, max_size=3).map(tuple),
    result_set_name=NAME,
    replace_indicator=st.booleans(),
    small_set_upper_bound=NONNEG,
    large_set_lower_bound=NONNEG,
    medium_set_present_number=NONNEG,
    small_set_element_set_names=st.one_of(st.none(), NAME),
    medium_set_element_set_names=st.one_of(st.none(), NAME),
    preferred_record_syntax=st.one_of(st.none(), OID),
    reference_id=REF,
)
RECORDS = st.one_of(
    DIAG,
    st.builds(
        ResponseRecords,
        st.lists(
            st.builds(NamePlusRecord, st.one_of(EXTERNAL, DIAG), st.one_of(st.none(), NAME)),
            max_size=4,
        ).map(tuple),
    ),
    st.builds(MultipleDiagnostics, st.lists(DIAG, min_size=1, max_size=3).map(tuple)),
)
SEARCH_RESPONSES = st.builds(
    SearchResponse,
    result_count=NONNEG,
    search_status=st.booleans(),
    number_of_records_returned=NONNEG,
    next_result_set_position=NONNEG,
    result_set_status=st.one_of(st.none(), st.integers(1, 4)),
    present_status=st.one_of(st.none(), st.integers(0, 5)),
    records=st.one_of(st.none(), RECORDS),
    reference_id=REF,
)
PRESENT_REQUESTS = st.builds(
    PresentRequest,
    result_set_id=NAME,
    start=NONNEG,
    count=NONNEG,
    record_composition=st.one_of(st.none(), NAME),
    preferred_record_syntax=st.one_of(st.none(), OID),
    additional_ranges=st.one_of(
        st.none(), st.lists(st.tuples(NONNEG, NONNEG), max_size=3).map(tuple)
    ),
    max_segment_count=st.one_of(st.none(), NONNEG),
    reference_id=REF,
)
PRESENT_RESPONSES = st.builds(
    PresentResponse,
    number_of_records_returned=NONNEG,
    next_result_set_position=NONNEG,
    present_status=st.integers(0, 5),
    records=st.one_of(st.none(), RECORDS),
    reference_id=REF,
)
CLOSES = st.builds(
    Close,
    close_reason=st.integers(0, 9),
    diagnostic_information=GSTR,
    reference_id=REF,
)

PDUS = st.one_of(
    INIT_REQUESTS,
    INIT_RESPONSES,
    SEARCH_REQUESTS,
    SEARCH_RESPONSES,
    PRESENT_REQUESTS,
    PRESENT_RESPONSES,
    CLOSES,
)
