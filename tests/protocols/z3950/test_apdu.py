"""APDUs: the 36 captured YAZ PDUs, round trips, records, charneg and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.z3950 import apdu, charneg, diagnostics, oids, records
from protocols.z3950.apdu import (
    AttributeElement,
    AttributesPlusTerm,
    Close,
    DefaultDiag,
    External,
    InitRequest,
    InitResponse,
    MalformedQuery,
    PresentRequest,
    PresentResponse,
    RawQuery,
    ResponseRecords,
    RpnOp,
    RpnQuery,
    SearchRequest,
    SearchResponse,
    UnknownPdu,
    decode_pdu,
    encode_pdu,
)
from protocols.z3950.ber import CONTEXT, UNIVERSAL, BerError, Tlv, decode, encode, frame_length

from .strategies import PDUS

EXPECTED_TYPES = {
    "d": [
        InitRequest,
        InitResponse,
        SearchRequest,
        SearchResponse,
        PresentRequest,
        PresentResponse,
        Close,
        Close,
    ],
    "o": [InitRequest, InitResponse, SearchRequest, SearchResponse]
    + [PresentRequest, PresentResponse] * 4,
    "c": [InitRequest, InitResponse, SearchRequest, SearchResponse, PresentRequest, PresentResponse]
    + [SearchRequest, SearchResponse] * 2
    + [PresentRequest, PresentResponse, SearchRequest, SearchResponse, Close, Close],
}


def test_there_are_36_captures(captures: dict[str, bytes]) -> None:
    assert len(captures) == 36


def test_every_capture_decodes_and_re_encodes(captures: dict[str, bytes]) -> None:
    for name, raw in captures.items():
        assert frame_length(raw) == len(raw), name
        pdu = decode_pdu(raw)
        kind, number = name.split("/")[1].split(".")
        assert type(pdu) is EXPECTED_TYPES[kind][int(number) - 1], name
        assert not isinstance(pdu, UnknownPdu)
        again = encode_pdu(pdu)
        assert decode_pdu(again) == pdu, name
        assert decode_pdu(encode_pdu(pdu, indefinite=True)) == pdu, name
        # BER trees are equal too: nothing is lost between the wire and the dataclasses.
        assert decode(again) == decode(raw), name


def test_indefinite_captures_are_yaz_style(captures: dict[str, bytes]) -> None:
    indefinite = [n for n, raw in captures.items() if raw[1] == 0x80]
    assert sorted(indefinite) == [
        "ztest-basic/d.006",
        "ztest-charneg-utf8/c.002",
        "ztest-charneg-utf8/c.006",
        "ztest-charneg-utf8/c.012",
        "ztest-opac-sutrs-diag/o.006",
    ]


def test_capture_values(captures: dict[str, bytes]) -> None:
    init = decode_pdu(captures["ztest-basic/d.001"])
    assert isinstance(init, InitRequest)
    assert init.implementation_name == "YAZ"
    assert init.preferred_message_size == 67108864
    assert init.protocol_version == frozenset({0, 1, 2})
    assert apdu.Options.NAMED_RESULT_SETS in init.options

    search = decode_pdu(captures["ztest-basic/d.003"])
    assert isinstance(search, SearchRequest)
    assert search.database_names == ("Default",)
    assert search.query == RpnQuery(AttributesPlusTerm((AttributeElement(1, 7),), b"9787111213826"))

    found = decode_pdu(captures["ztest-basic/d.004"])
    assert isinstance(found, SearchResponse)
    assert (found.result_count, found.search_status) == (9787111213826, True)

    present = decode_pdu(captures["ztest-basic/d.006"])
    assert isinstance(present, PresentResponse)
    assert isinstance(present.records, ResponseRecords)
    rec = present.records.records[0]
    assert rec.name == "Default"
    assert isinstance(rec.record, External)
    assert rec.record.direct_reference == oids.USMARC
    assert isinstance(rec.record.encoding, bytes) and rec.record.encoding.startswith(b"00366nam")

    cjk = decode_pdu(captures["ztest-charneg-utf8/c.003"])
    assert isinstance(cjk, SearchRequest) and isinstance(cjk.query, RpnQuery)
    assert isinstance(cjk.query.rpn, AttributesPlusTerm)
    assert cjk.query.rpn.term == "计算机".encode()

    boolean = decode_pdu(captures["ztest-charneg-utf8/c.009"])
    assert isinstance(boolean, SearchRequest) and isinstance(boolean.query, RpnQuery)
    assert isinstance(boolean.query.rpn, RpnOp) and boolean.query.rpn.op == "and"

    failed = decode_pdu(captures["ztest-charneg-utf8/c.014"])
    assert isinstance(failed, SearchResponse)
    assert failed.records == DefaultDiag(109, "nosuch")
    assert failed.result_set_status == 3

    surrogate = decode_pdu(captures["ztest-opac-sutrs-diag/o.010"])
    assert isinstance(surrogate, PresentResponse) and isinstance(surrogate.records, ResponseRecords)
    assert surrogate.records.records[0].record == DefaultDiag(14, "")
    assert surrogate.records.records[0].is_diagnostic

    out_of_range = decode_pdu(captures["ztest-opac-sutrs-diag/o.012"])
    assert out_of_range == PresentResponse(0, 31, 5, DefaultDiag(13, "30"))

    close = decode_pdu(captures["ztest-basic/d.008"])
    assert close == Close(0, "Association terminated by client")


def test_capture_charset_negotiation(captures: dict[str, bytes]) -> None:
    req = decode_pdu(captures["ztest-charneg-utf8/c.001"])
    assert isinstance(req, InitRequest)
    assert charneg.find_charneg(req.other_info) == charneg.CharsetProposal(("UTF-8",), (), True)
    resp = decode_pdu(captures["ztest-charneg-utf8/c.002"])
    assert isinstance(resp, InitResponse)
    assert charneg.find_charneg(resp.other_info) == charneg.CharsetResponse(
        "ISO-8859-1", None, False
    )
    # Our encoder reproduces YAZ's bytes for the UTF-8 proposal exactly.
    ours = charneg.proposal_info(["UTF-8"], True)
    assert ours == req.other_info[0]


def test_capture_opac_and_sutrs(captures: dict[str, bytes]) -> None:
    opac = decode_pdu(captures["ztest-opac-sutrs-diag/o.006"])
    assert isinstance(opac, PresentResponse) and isinstance(opac.records, ResponseRecords)
    ext = opac.records.records[0].record
    assert isinstance(ext, External) and ext.direct_reference == oids.OPAC
    rec = records.opac_record(ext)
    assert rec.bibliographic_record is not None
    assert rec.bibliographic_record.direct_reference == oids.USMARC
    assert rec.holdings is not None
    holding = rec.holdings[0]
    assert isinstance(holding, records.HoldingsAndCirc)
    assert holding.call_number == "MLCM 89/00602 (N)"
    assert holding.circulation is not None and holding.circulation[0].available_now
    assert records.opac_record(records.opac_external(rec)) == rec

    sutrs = decode_pdu(captures["ztest-opac-sutrs-diag/o.008"])
    assert isinstance(sutrs, PresentResponse) and isinstance(sutrs.records, ResponseRecords)
    ext = sutrs.records.records[0].record
    assert isinstance(ext, External)
    assert records.sutrs_text(ext) == "This is dummy SUTRS record number 2\n"


def test_every_prefix_of_every_capture_is_incomplete(captures: dict[str, bytes]) -> None:
    for name, raw in captures.items():
        for cut in range(len(raw)):
            assert frame_length(raw[:cut]) is None, (name, cut)
        for cut in range(0, len(raw), max(1, len(raw) // 50)):
            with pytest.raises(BerError):
                decode_pdu(raw[:cut])


@given(st.data())
def test_mutated_captures_decode_or_raise_ber_error(
    captures: dict[str, bytes], data: st.DataObject
) -> None:
    raw = bytearray(data.draw(st.sampled_from(sorted(captures.values()))))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            raw[pos] = data.draw(st.integers(0, 255))
        elif action == "delete" and len(raw) > 1:
            del raw[pos]
        else:
            raw.insert(pos, data.draw(st.integers(0, 255)))
    try:
        pdu = decode_pdu(bytes(raw))
    except BerError:
        return
    assert decode_pdu(encode_pdu(pdu)) == pdu


@given(PDUS)
def test_generated_pdus_round_trip(pdu: apdu.Pdu) -> None:
    assert decode_pdu(encode_pdu(pdu)) == pdu
    assert decode_pdu(encode_pdu(pdu, indefinite=True)) == pdu


def test_unknown_pdu_is_data() -> None:
    pdu = decode_pdu(bytes.fromhex("bf6300"))
    assert pdu == UnknownPdu(99, Tlv(CONTEXT, 99, True))
    assert encode_pdu(pdu) == bytes.fromhex("bf6300")
    scan = decode_pdu(bytes.fromhex("bf2303820161"))
    assert isinstance(scan, UnknownPdu) and scan.tag == 35 and scan.reference_id == b"a"


@pytest.mark.parametrize(
    "hex_",
    [
        "0400",  # universal OCTET STRING at top
        "9400",  # primitive [20]
        "b400",  # InitRequest with nothing in it
        "bf30039f8153",  # Close with an empty closeReason... truncated
        "bf30069f815302000000",  # closeReason with trailing byte inside
        "bf30079f815302000083",  # garbage
        "b70c9701079801009901019602ffff",  # BOOLEAN of length 2
        "b7129709010203040506070809980100990101960101",  # INTEGER of 9 octets
        "bf30069f81530100bf30",  # trailing bytes
    ],
)
def test_bad_pdus_raise_ber_error(hex_: str) -> None:
    with pytest.raises(BerError):
        decode_pdu(bytes.fromhex(hex_))


def test_duplicate_field_is_an_error() -> None:
    with pytest.raises(apdu.ApduError, match="repeated"):
        decode_pdu(bytes.fromhex("bf300a9f815301009f81530100"))


def test_malformed_and_unknown_queries_are_data() -> None:
    base = SearchRequest(query=RpnQuery(AttributesPlusTerm((), b"x")))
    tlv = apdu.pdu_to_tlv(base)
    # Replace the query by a type-1 RPNQuery whose RPN is junk.
    junk = Tlv(
        CONTEXT,
        21,
        True,
        b"",
        (
            Tlv(
                CONTEXT,
                1,
                True,
                b"",
                (Tlv(UNIVERSAL, 6, False, b"\x2a"), Tlv(CONTEXT, 7, False, b"")),
            ),
        ),
    )
    bad = Tlv(
        tlv.cls,
        tlv.number,
        True,
        b"",
        tuple(junk if c.key == (CONTEXT, 21) else c for c in tlv.children),
    )
    decoded = decode_pdu(encode(bad))
    assert isinstance(decoded, SearchRequest) and isinstance(decoded.query, MalformedQuery)
    cql = Tlv(CONTEXT, 21, True, b"", (Tlv(CONTEXT, 104, True, b"", ()),))
    other = Tlv(
        tlv.cls,
        tlv.number,
        True,
        b"",
        tuple(cql if c.key == (CONTEXT, 21) else c for c in tlv.children),
    )
    decoded = decode_pdu(encode(other))
    assert isinstance(decoded, SearchRequest) and isinstance(decoded.query, RawQuery)
    assert decoded.query.type == 104
    assert decode_pdu(encode_pdu(decoded)) == decoded


def test_diagnostic_without_addinfo_round_trips() -> None:
    pdu = PresentResponse(0, 0, 5, DefaultDiag(13, None))
    assert decode_pdu(encode_pdu(pdu)) == pdu
    v3 = PresentResponse(0, 0, 5, DefaultDiag(13, "五", v3_addinfo=True))
    assert decode_pdu(encode_pdu(v3)) == v3


def test_non_utf8_strings_survive() -> None:
    name = "GB\udcb2\udce2"  # bytes b2 e2 are not UTF-8: surrogateescape keeps them
    pdu = Close(0, name)
    assert encode_pdu(pdu).endswith(b"GB\xb2\xe2")
    assert decode_pdu(encode_pdu(pdu)) == pdu


def test_init_diagnostics_diag1() -> None:
    ext = diagnostics.diag1_external((DefaultDiag(1011, "bob"),))
    resp = InitResponse(result=False, user_information=ext)
    back = decode_pdu(encode_pdu(resp))
    assert isinstance(back, InitResponse) and back.user_information is not None
    assert diagnostics.diagnostics_from_diag1(back.user_information) == (DefaultDiag(1011, "bob"),)


def test_bib1_texts_match_yaz(z3950_dir: Path) -> None:
    texts: dict[int, str] = {}
    for line in (z3950_dir / "bib1-diagnostics.csv").read_text().splitlines():
        code, sep, text = line.partition(",")
        if sep and code.strip().isdigit():  # continuation lines of long texts are skipped
            texts[int(code)] = text.strip().strip('"')
    for number, ours in diagnostics.BIB1_TEXT.items():
        assert texts[number] == ours, number


def test_charneg_gb18030_round_trip() -> None:
    info = charneg.proposal_info(["GB18030", "UTF-8"], records_in_selected_charsets=True)
    req = InitRequest(other_info=(info,))
    back = decode_pdu(encode_pdu(req))
    assert isinstance(back, InitRequest)
    assert charneg.find_charneg(back.other_info) == charneg.CharsetProposal(
        ("GB18030", "UTF-8"), (), True
    )
    resp = InitResponse(True, other_info=(charneg.response_info("GB18030", False),))
    back2 = decode_pdu(encode_pdu(resp))
    assert isinstance(back2, InitResponse)
    assert charneg.find_charneg(back2.other_info) == charneg.CharsetResponse("GB18030", None, False)
    assert charneg.find_charneg(()) is None
