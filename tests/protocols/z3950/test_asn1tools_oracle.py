"""asn1tools, compiled from the patched Z39.50 ASN.1, as an independent BER oracle.

``to_asn1`` maps our dataclasses to asn1tools' value shapes (dicts, ``(choice, value)``
tuples, ``(bytes, nbits)`` bit strings, Latin-1 GeneralStrings).  Both directions are
checked: asn1tools decodes what we encode to the same value, and we decode what
asn1tools encodes (BOOLEAN TRUE as 0xFF, its own length choices) to the same PDU.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from protocols.z3950 import apdu
from protocols.z3950.apdu import (
    AttributesPlusTerm,
    Close,
    DefaultDiag,
    External,
    InitRequest,
    InitResponse,
    MultipleDiagnostics,
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
    decode_pdu,
    encode_pdu,
)
from protocols.z3950.ber import Tlv, bits_to_content, encode

from .strategies import (
    CLOSES,
    INIT_REQUESTS,
    INIT_RESPONSES,
    PDUS,
    PRESENT_REQUESTS,
    SEARCH_REQUESTS,
)


def _gs(s: str) -> str:
    """Our str (UTF-8 with surrogateescape) as asn1tools' Latin-1 GeneralString."""
    return s.encode("utf-8", "surrogateescape").decode("latin-1")


def _bits(bits: frozenset[int]) -> tuple[bytes, int]:
    body = bits_to_content(bits)[1:]
    return (body, len(body) * 8)


def _opt(d: dict[str, Any], key: str, value: Any, f: Any = None) -> None:
    if value is not None and value != ():
        d[key] = f(value) if f else value


def _external(e: External) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _opt(out, "direct-reference", e.direct_reference)
    _opt(out, "indirect-reference", e.indirect_reference)
    if isinstance(e.encoding, bytes):
        out["encoding"] = ("octet-aligned", e.encoding)
    else:
        assert isinstance(e.encoding, Tlv)
        out["encoding"] = ("single-ASN1-type", encode(e.encoding))
    return out


def _other(items: tuple[OtherInfo, ...]) -> list[dict[str, Any]]:
    out = []
    for i in items:
        if i.character is not None:
            info: tuple[str, Any] = ("characterInfo", _gs(i.character))
        elif i.binary is not None:
            info = ("binaryInfo", i.binary)
        elif i.external is not None:
            info = ("externallyDefinedInfo", _external(i.external))
        else:
            info = ("oid", i.oid)
        out.append({"information": info})
    return out


def _diag(d: DefaultDiag) -> dict[str, Any]:
    assert d.addinfo is not None
    return {
        "diagnosticSetId": d.diagnostic_set,
        "condition": d.condition,
        "addinfo": ("v3Addinfo", _gs(d.addinfo)) if d.v3_addinfo else ("v2Addinfo", d.addinfo),
    }


def _records(r: apdu.Records) -> tuple[str, Any]:
    if isinstance(r, DefaultDiag):
        return ("nonSurrogateDiagnostic", _diag(r))
    if isinstance(r, MultipleDiagnostics):
        return (
            "multipleNonSurDiagnostics",
            [("defaultFormat", _diag(d)) for d in r.diagnostics if isinstance(d, DefaultDiag)],
        )
    assert isinstance(r, ResponseRecords)
    out = []
    for npr in r.records:
        item: dict[str, Any] = {}
        _opt(item, "name", npr.name, _gs)
        if isinstance(npr.record, DefaultDiag):
            item["record"] = ("surrogateDiagnostic", ("defaultFormat", _diag(npr.record)))
        else:
            assert isinstance(npr.record, External)
            item["record"] = ("retrievalRecord", _external(npr.record))
        out.append(item)
    return ("responseRecords", out)


def _rpn(node: RpnNode) -> tuple[str, Any]:
    if isinstance(node, RpnOp):
        op = node.op
        if isinstance(op, Prox):
            prox: dict[str, Any] = {
                "distance": op.distance,
                "ordered": op.ordered,
                "relationType": op.relation,
                "proximityUnitCode": ("known" if op.known_unit else "private", op.unit),
            }
            _opt(prox, "exclusion", op.exclusion)
            op_value: tuple[str, Any] = ("prox", prox)
        else:
            op_value = (op, None)
        return ("rpnRpnOp", {"rpn1": _rpn(node.left), "rpn2": _rpn(node.right), "op": op_value})
    if isinstance(node, ResultSetOperand):
        return ("op", ("resultSet", _gs(node.name)))
    assert isinstance(node, AttributesPlusTerm) and isinstance(node.term, bytes)
    attrs = []
    for a in node.attributes:
        el: dict[str, Any] = {"attributeType": a.type}
        _opt(el, "attributeSet", a.attribute_set)
        if isinstance(a.value, int):
            el["attributeValue"] = ("numeric", a.value)
        else:
            el["attributeValue"] = (
                "complex",
                {
                    "list": [
                        ("string", _gs(v)) if isinstance(v, str) else ("numeric", v)
                        for v in a.value.values
                    ]
                },
            )
        attrs.append(el)
    return ("op", ("attrTerm", {"attributes": attrs, "term": ("general", node.term)}))


def _init(m: InitRequest | InitResponse) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _opt(out, "referenceId", m.reference_id)
    out["protocolVersion"] = _bits(m.protocol_version)
    out["options"] = _bits(m.options)
    out["preferredMessageSize"] = m.preferred_message_size
    out["exceptionalRecordSize"] = m.exceptional_record_size
    if isinstance(m, InitResponse):
        out["result"] = m.result
    else:
        a = m.id_authentication
        if isinstance(a, apdu.AuthOpen):
            out["idAuthentication"] = ("open", a.text)
        elif isinstance(a, apdu.AuthIdPass):
            ip: dict[str, Any] = {}
            _opt(ip, "groupId", a.group, _gs)
            _opt(ip, "userId", a.user, _gs)
            _opt(ip, "password", a.password, _gs)
            out["idAuthentication"] = ("idPass", ip)
        elif isinstance(a, apdu.AuthAnonymous):
            out["idAuthentication"] = ("anonymous", None)
    _opt(out, "implementationId", m.implementation_id, _gs)
    _opt(out, "implementationName", m.implementation_name, _gs)
    _opt(out, "implementationVersion", m.implementation_version, _gs)
    _opt(out, "otherInfo", m.other_info, _other)
    return out


def to_asn1(pdu: apdu.Pdu) -> tuple[str, dict[str, Any]]:
    """Our PDU as the value asn1tools produces for the same BER."""
    if isinstance(pdu, InitRequest):
        return ("initRequest", _init(pdu))
    if isinstance(pdu, InitResponse):
        return ("initResponse", _init(pdu))
    if isinstance(pdu, SearchRequest):
        assert isinstance(pdu.query, RpnQuery)
        out: dict[str, Any] = {}
        _opt(out, "referenceId", pdu.reference_id)
        out.update(
            smallSetUpperBound=pdu.small_set_upper_bound,
            largeSetLowerBound=pdu.large_set_lower_bound,
            mediumSetPresentNumber=pdu.medium_set_present_number,
            replaceIndicator=pdu.replace_indicator,
            resultSetName=_gs(pdu.result_set_name),
            databaseNames=[_gs(d) for d in pdu.database_names],
        )
        for key, esn in (
            ("smallSetElementSetNames", pdu.small_set_element_set_names),
            ("mediumSetElementSetNames", pdu.medium_set_element_set_names),
        ):
            if isinstance(esn, str):
                out[key] = ("genericElementSetName", _gs(esn))
        _opt(out, "preferredRecordSyntax", pdu.preferred_record_syntax)
        kind = "type-101" if pdu.query.type_101 else "type-1"
        out["query"] = (kind, {"attributeSet": pdu.query.attribute_set, "rpn": _rpn(pdu.query.rpn)})
        return ("searchRequest", out)
    if isinstance(pdu, SearchResponse):
        out = {}
        _opt(out, "referenceId", pdu.reference_id)
        out.update(
            resultCount=pdu.result_count,
            numberOfRecordsReturned=pdu.number_of_records_returned,
            nextResultSetPosition=pdu.next_result_set_position,
            searchStatus=pdu.search_status,
        )
        _opt(out, "resultSetStatus", pdu.result_set_status)
        _opt(out, "presentStatus", pdu.present_status)
        _opt(out, "records", pdu.records, _records)
        return ("searchResponse", out)
    if isinstance(pdu, PresentRequest):
        out = {}
        _opt(out, "referenceId", pdu.reference_id)
        out.update(
            resultSetId=_gs(pdu.result_set_id),
            resultSetStartPoint=pdu.start,
            numberOfRecordsRequested=pdu.count,
        )
        if pdu.additional_ranges is not None:
            out["additionalRanges"] = [
                {"startingPosition": s, "numberOfRecords": n} for s, n in pdu.additional_ranges
            ]
        if isinstance(pdu.record_composition, str):
            out["recordComposition"] = (
                "simple",
                ("genericElementSetName", _gs(pdu.record_composition)),
            )
        _opt(out, "preferredRecordSyntax", pdu.preferred_record_syntax)
        _opt(out, "maxSegmentCount", pdu.max_segment_count)
        return ("presentRequest", out)
    if isinstance(pdu, PresentResponse):
        out = {}
        _opt(out, "referenceId", pdu.reference_id)
        out.update(
            numberOfRecordsReturned=pdu.number_of_records_returned,
            nextResultSetPosition=pdu.next_result_set_position,
            presentStatus=pdu.present_status,
        )
        _opt(out, "records", pdu.records, _records)
        return ("presentResponse", out)
    assert isinstance(pdu, Close)
    out = {}
    _opt(out, "referenceId", pdu.reference_id)
    out["closeReason"] = pdu.close_reason
    _opt(out, "diagnosticInformation", pdu.diagnostic_information, _gs)
    return ("close", out)


def _normalise(value: Any) -> Any:
    """asn1tools returns bytearray in places; compare as bytes."""
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_normalise(v) for v in value)
    return value


def test_captures_agree_with_asn1tools(asn1_spec: Any, captures: dict[str, bytes]) -> None:
    for name, raw in captures.items():
        ours = decode_pdu(raw)
        definite = encode_pdu(ours)  # asn1tools' ANY cannot read indefinite lengths
        theirs = _normalise(asn1_spec.decode("PDU", definite))
        assert theirs == _normalise(to_asn1(ours)), name
        # And asn1tools' own encoding decodes with ours to the same PDU.
        assert decode_pdu(asn1_spec.encode("PDU", theirs)) == ours, name


@settings(max_examples=40)
@given(PDUS)
def test_our_encoding_decodes_in_asn1tools(asn1_spec: Any, pdu: apdu.Pdu) -> None:
    assert _normalise(asn1_spec.decode("PDU", encode_pdu(pdu))) == _normalise(to_asn1(pdu))


@settings(max_examples=40)
@given(PDUS)
def test_asn1tools_encoding_decodes_with_ours(asn1_spec: Any, pdu: apdu.Pdu) -> None:
    wire = asn1_spec.encode("PDU", to_asn1(pdu))
    assert decode_pdu(wire) == pdu  # asn1tools writes BOOLEAN TRUE as 0xFF


@given(INIT_REQUESTS)
def test_init_request_oracle(asn1_spec: Any, pdu: InitRequest) -> None:
    assert decode_pdu(asn1_spec.encode("PDU", to_asn1(pdu))) == pdu


@given(SEARCH_REQUESTS)
def test_search_request_oracle(asn1_spec: Any, pdu: SearchRequest) -> None:
    assert _normalise(asn1_spec.decode("PDU", encode_pdu(pdu))) == _normalise(to_asn1(pdu))


@given(PRESENT_REQUESTS)
def test_present_request_oracle(asn1_spec: Any, pdu: PresentRequest) -> None:
    assert decode_pdu(asn1_spec.encode("PDU", to_asn1(pdu))) == pdu


@given(CLOSES)
def test_close_oracle(asn1_spec: Any, pdu: Close) -> None:
    assert _normalise(asn1_spec.decode("PDU", encode_pdu(pdu))) == _normalise(to_asn1(pdu))


@given(INIT_RESPONSES)
def test_init_response_oracle(asn1_spec: Any, pdu: InitResponse) -> None:
    assert _normalise(asn1_spec.decode("PDU", encode_pdu(pdu))) == _normalise(to_asn1(pdu))
