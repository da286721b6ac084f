"""Fast paths for the PDUs a busy target handles thousands of times a second.

A copy-cataloguing session is almost all SearchRequest → SearchResponse and PresentRequest →
PresentResponse.  The general codec goes bytes → :class:`~protocols.z3950.ber.Tlv` tree →
dataclass (and back); here the common shapes go straight between bytes and dataclasses:

* :func:`decode_fast` decodes a SearchRequest (Type-1/101 RPN of attributes-plus-term
  operands and boolean operators) or a PresentRequest (generic element set name at most).
  Anything else — another PDU, an unknown or repeated field, an indefinite length, a
  complex attribute, proximity, otherInfo, a malformed value — gives ``None``, and the
  caller takes the general path (:func:`~protocols.z3950.apdu.decode_pdu`), which returns
  the same value or raises the same error.  For every input it accepts, the result equals
  the general decoder's.
* :func:`encode_fast` encodes any SearchResponse or PresentResponse byte for byte as
  :func:`~protocols.z3950.apdu.encode_pdu` (definite lengths) does, writing the usual
  records (octet-aligned EXTERNALs: MARC, XML) directly and the rest through the general
  encoder; other PDUs go to ``encode_pdu``.
* :func:`external_size` is ``encoded_size(external_to_tlv(ext))`` without building the tree.
"""

from __future__ import annotations

from .apdu import (
    AttributeElement,
    AttributesPlusTerm,
    External,
    NamePlusRecord,
    Pdu,
    PresentRequest,
    PresentResponse,
    Records,
    ResponseRecords,
    RpnNode,
    RpnOp,
    RpnQuery,
    SearchRequest,
    SearchResponse,
    encode_pdu,
    external_to_tlv,
    name_plus_record_to_tlv,
    other_info_to_tlv,
    records_to_tlv,
)
from .ber import DEFAULT_LIMITS, BerError, BerLimits, encode, encoded_size
from .ber import int_to_content as _int_content
from .ber import oid_from_content as _oid_from
from .ber import oid_to_content as _oid_to

__all__ = ["decode_fast", "encode_fast", "external_size"]

#: Below this BER nesting limit the general decoder is always used (its checks are exact).
_MIN_DEPTH_LIMIT = 32
#: Deepest boolean nesting decoded here (deeper queries take the general path).
_MAX_RPN_DEPTH = 8

_OPS = {0: "and", 1: "or", 2: "and-not"}


class _Bail(Exception):
    """Not a shape this module decodes: use the general decoder."""


# --------------------------------------------------------------------------- decoding


def _head(buf: bytes, pos: int, end: int) -> tuple[int, int, int, int]:
    """``(class and constructed bits, tag number, content start, content end)`` of the value
    at ``pos``, which must end by ``end``; definite lengths and tags below 16384 only."""
    if pos + 2 > end:
        raise _Bail
    first = buf[pos]
    number = first & 0x1F
    pos += 1
    if number == 0x1F:
        octet = buf[pos]
        pos += 1
        if octet < 0x80:
            if octet < 0x1F:
                raise _Bail
            number = octet
        else:
            if octet == 0x80 or pos >= end:
                raise _Bail
            low = buf[pos]
            pos += 1
            if low & 0x80:
                raise _Bail
            number = ((octet & 0x7F) << 7) | low
        if pos >= end:
            raise _Bail
    length = buf[pos]
    pos += 1
    if length >= 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise _Bail
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    stop = pos + length
    if stop > end:
        raise _Bail
    return first & 0xE0, number, pos, stop


def _int(buf: bytes, start: int, stop: int) -> int:
    if not 0 < stop - start <= 8:
        raise _Bail
    return int.from_bytes(buf[start:stop], "big", signed=True)


def _str(buf: bytes, start: int, stop: int) -> str:
    return buf[start:stop].decode("utf-8", "surrogateescape")


def _oid(buf: bytes, start: int, stop: int) -> str:
    try:
        return _oid_from(buf[start:stop])
    except BerError:
        raise _Bail from None


def _attribute(buf: bytes, start: int, stop: int) -> AttributeElement:
    atype: int | None = None
    value: int | None = None
    aset: str | None = None
    pos = start
    while pos < stop:
        form, number, s, e = _head(buf, pos, stop)
        pos = e
        if form != 0x80:
            raise _Bail
        if number == 120 and atype is None:
            atype = _int(buf, s, e)
        elif number == 121 and value is None:
            value = _int(buf, s, e)
        elif number == 1 and aset is None:
            aset = _oid(buf, s, e)
        else:
            raise _Bail
    if atype is None or value is None:
        raise _Bail
    return AttributeElement(atype, value, aset)


def _rpn(buf: bytes, pos: int, end: int, depth: int) -> RpnNode:
    """The RPNStructure filling ``buf[pos:end]`` exactly."""
    form, number, start, stop = _head(buf, pos, end)
    if stop != end or form != 0xA0:
        raise _Bail
    if number == 0:  # op: one operand, attributes plus a general term
        form, number, s, e = _head(buf, start, stop)
        if e != stop or form != 0xA0 or number != 102:
            raise _Bail
        form, number, ls, le = _head(buf, s, e)
        if form != 0xA0 or number != 44:
            raise _Bail
        attrs: list[AttributeElement] = []
        p = ls
        while p < le:
            form, number, as_, ae = _head(buf, p, le)
            p = ae
            if form != 0x20 or number != 16:
                raise _Bail
            attrs.append(_attribute(buf, as_, ae))
        form, number, ts, te = _head(buf, le, e)
        if te != e or form != 0x80 or number != 45:
            raise _Bail
        return AttributesPlusTerm(tuple(attrs), buf[ts:te])
    if number == 1 and depth < _MAX_RPN_DEPTH:  # rpnRpnOp: left, right, boolean operator
        _, _, _, left_end = _head(buf, start, stop)
        _, _, _, right_end = _head(buf, left_end, stop)
        form, number, os_, oe = _head(buf, right_end, stop)
        if oe != stop or form != 0xA0 or number != 46:
            raise _Bail
        form, number, _, ie = _head(buf, os_, oe)
        op = _OPS.get(number)
        if ie != oe or form != 0x80 or op is None:
            raise _Bail
        left = _rpn(buf, start, left_end, depth + 1)
        right = _rpn(buf, left_end, right_end, depth + 1)
        return RpnOp(op, left, right)  # type: ignore[arg-type]
    raise _Bail


def _query(buf: bytes, start: int, stop: int) -> RpnQuery:
    form, number, s, e = _head(buf, start, stop)
    if e != stop or form != 0xA0 or number not in (1, 101):
        raise _Bail
    form, onum, os_, oe = _head(buf, s, e)
    if form != 0x00 or onum != 6:
        raise _Bail
    aset = _oid(buf, os_, oe)
    return RpnQuery(_rpn(buf, oe, e, 0), aset, number == 101)


def _search_request(buf: bytes, pos: int, end: int) -> SearchRequest:
    ref: bytes | None = None
    small: int | None = None
    large: int | None = None
    medium: int | None = None
    replace: bool | None = None
    name: str | None = None
    dbs: tuple[str, ...] | None = None
    syntax: str | None = None
    query: RpnQuery | None = None
    while pos < end:
        form, number, s, e = _head(buf, pos, end)
        pos = e
        if form == 0x80:
            if number == 13 and small is None:
                small = _int(buf, s, e)
            elif number == 14 and large is None:
                large = _int(buf, s, e)
            elif number == 15 and medium is None:
                medium = _int(buf, s, e)
            elif number == 16 and replace is None:
                if e - s != 1:
                    raise _Bail
                replace = buf[s] != 0
            elif number == 17 and name is None:
                name = _str(buf, s, e)
            elif number == 104 and syntax is None:
                syntax = _oid(buf, s, e)
            elif number == 2 and ref is None:
                ref = buf[s:e]
            else:
                raise _Bail
        elif form == 0xA0:
            if number == 18 and dbs is None:
                names: list[str] = []
                p = s
                while p < e:
                    f, _, ds, de = _head(buf, p, e)
                    p = de
                    if f != 0x80:
                        raise _Bail
                    names.append(_str(buf, ds, de))
                dbs = tuple(names)
            elif number == 21 and query is None:
                query = _query(buf, s, e)
            else:
                raise _Bail
        else:
            raise _Bail
    if (
        query is None
        or dbs is None
        or name is None
        or replace is None
        or small is None
        or large is None
        or medium is None
    ):
        raise _Bail
    return SearchRequest(
        query=query,
        database_names=dbs,
        result_set_name=name,
        replace_indicator=replace,
        small_set_upper_bound=small,
        large_set_lower_bound=large,
        medium_set_present_number=medium,
        preferred_record_syntax=syntax,
        reference_id=ref,
    )


def _present_request(buf: bytes, pos: int, end: int) -> PresentRequest:
    ref: bytes | None = None
    rsid: str | None = None
    start: int | None = None
    count: int | None = None
    comp: str | None = None
    syntax: str | None = None
    while pos < end:
        form, number, s, e = _head(buf, pos, end)
        pos = e
        if form == 0x80:
            if number == 31 and rsid is None:
                rsid = _str(buf, s, e)
            elif number == 30 and start is None:
                start = _int(buf, s, e)
            elif number == 29 and count is None:
                count = _int(buf, s, e)
            elif number == 104 and syntax is None:
                syntax = _oid(buf, s, e)
            elif number == 2 and ref is None:
                ref = buf[s:e]
            else:
                raise _Bail
        elif form == 0xA0 and number == 19 and comp is None:
            f, n, cs, ce = _head(buf, s, e)  # a generic element set name only
            if ce != e or f != 0x80 or n != 0:
                raise _Bail
            comp = _str(buf, cs, ce)
        else:
            raise _Bail
    if rsid is None or start is None or count is None:
        raise _Bail
    return PresentRequest(
        result_set_id=rsid,
        start=start,
        count=count,
        record_composition=comp,
        preferred_record_syntax=syntax,
        reference_id=ref,
    )


def decode_fast(
    data: bytes, limits: BerLimits = DEFAULT_LIMITS
) -> SearchRequest | PresentRequest | None:
    """``data`` (exactly one PDU) as a Search or Present request, or ``None``: decode it with
    :func:`~protocols.z3950.apdu.decode_pdu` instead."""
    if limits.max_depth < _MIN_DEPTH_LIMIT or len(data) > limits.max_pdu_size:
        return None
    first = data[0] if data else 0
    try:
        if first == 0xB6:  # [22] SearchRequest
            _, number, pos, end = _head(data, 0, len(data))
            if end == len(data) and number == 22:
                return _search_request(data, pos, end)
        elif first == 0xB8:  # [24] PresentRequest
            _, number, pos, end = _head(data, 0, len(data))
            if end == len(data) and number == 24:
                return _present_request(data, pos, end)
    except (_Bail, IndexError):
        return None
    return None


# --------------------------------------------------------------------------- encoding

_SHORT_LENGTHS = [bytes((i,)) for i in range(0x80)]


_LENGTHS = [*_SHORT_LENGTHS, *(bytes((0x81, i)) for i in range(0x80, 0x100))]


def _length(n: int) -> bytes:
    """Definite length octets, as :func:`~protocols.z3950.ber.encode` writes them."""
    if n < 0x100:
        return _LENGTHS[n]
    if n < 0x10000:
        return b"\x82" + n.to_bytes(2, "big")
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


#: INTEGER fields 0..127 of the tags responses use, ready-made.
_SMALL_INTS = {
    ident: [ident + bytes((1, v)) for v in range(0x80)]
    for ident in (b"\x97", b"\x98", b"\x99", b"\x9a", b"\x9b")
}


def _int_field(ident: bytes, value: int) -> bytes:
    if 0 <= value < 0x80:
        return _SMALL_INTS[ident][value]
    content = _int_content(value)
    return ident + _SHORT_LENGTHS[len(content)] + content


_OID_FIELDS: dict[str, bytes] = {}


def _oid_field(oid: str) -> bytes:
    """``06 len content`` of a direct-reference OID (memoised)."""
    enc = _OID_FIELDS.get(oid)
    if enc is None:
        content = _oid_to(oid)
        enc = b"\x06" + _length(len(content)) + content
        if len(_OID_FIELDS) < 256:
            _OID_FIELDS[oid] = enc
    return enc


def _plain(ext: External) -> bool:
    """An octet-aligned EXTERNAL with a direct reference only (MARC, XML …)."""
    return (
        type(ext.encoding) is bytes
        and ext.direct_reference is not None
        and ext.indirect_reference is None
        and ext.data_value_descriptor is None
    )


_NAME_FIELDS: dict[str, bytes] = {}


def _name_field(name: str) -> bytes:
    """``80 len name``: the database name of a NamePlusRecord (memoised)."""
    enc = _NAME_FIELDS.get(name)
    if enc is None:
        text = name.encode("utf-8", "surrogateescape")
        enc = b"\x80" + _length(len(text)) + text
        if len(_NAME_FIELDS) < 256:
            _NAME_FIELDS[name] = enc
    return enc


def external_size(ext: External) -> int:
    """``encoded_size(external_to_tlv(ext))``."""
    if not _plain(ext):
        return encoded_size(external_to_tlv(ext))
    data = ext.encoding
    assert isinstance(data, bytes) and ext.direct_reference is not None
    n = len(data)
    body = len(_oid_field(ext.direct_reference)) + 1 + len(_length(n)) + n
    return 1 + len(_length(body)) + body


def _record_head(oid: bytes, name: bytes, n: int) -> bytes:
    """Everything of an octet-aligned NamePlusRecord before its ``n`` record octets."""
    octets = _length(n)
    ext_len = len(oid) + 1 + len(octets) + n
    ext = _length(ext_len)
    inner_len = 1 + len(ext) + ext_len
    inner = _length(inner_len)
    outer_len = 1 + len(inner) + inner_len
    outer = _length(outer_len)
    seq = _length(len(name) + 1 + len(outer) + outer_len)
    # SEQUENCE { [0] name, [1] { [1] { EXTERNAL { OID, [1] octets } } } }
    return b"".join(
        (b"\x30", seq, name, b"\xa1", outer, b"\xa1", inner, b"\x28", ext, oid, b"\x81", octets)
    )


def _record_parts(npr: NamePlusRecord, out: list[bytes]) -> int:
    """Append the encoding of one NamePlusRecord to ``out``; return its size."""
    rec = npr.record
    if type(rec) is not External or npr.surrogate_external or not _plain(rec):
        enc = encode(name_plus_record_to_tlv(npr))
        out.append(enc)
        return len(enc)
    data = rec.encoding
    assert isinstance(data, bytes) and rec.direct_reference is not None
    name = b"" if npr.name is None else _name_field(npr.name)
    head = _record_head(_oid_field(rec.direct_reference), name, len(data))
    out += (head, data)
    return len(head) + len(data)


def _records_parts(records: Records, out: list[bytes]) -> int:
    if not isinstance(records, ResponseRecords):
        enc = encode(records_to_tlv(records))
        out.append(enc)
        return len(enc)
    at = len(out)
    out.append(b"")
    size = 0
    for npr in records.records:
        size += _record_parts(npr, out)
    head = b"\xbc" + _length(size)  # responseRecords [28]
    out[at] = head
    return len(head) + size


def _search_response(m: SearchResponse) -> bytes:
    out: list[bytes] = [b""]
    if m.reference_id is not None:
        out += (b"\x82", _length(len(m.reference_id)), m.reference_id)
    out += (
        _int_field(b"\x97", m.result_count),
        _int_field(b"\x98", m.number_of_records_returned),
        _int_field(b"\x99", m.next_result_set_position),
        b"\x96\x01\x01" if m.search_status else b"\x96\x01\x00",
    )
    if m.result_set_status is not None:
        out.append(_int_field(b"\x9a", m.result_set_status))
    if m.present_status is not None:
        out.append(_int_field(b"\x9b", m.present_status))
    if m.records is not None:
        _records_parts(m.records, out)
    if m.additional_search_info:
        out.append(encode(other_info_to_tlv(m.additional_search_info, 203)))
    if m.other_info:
        out.append(encode(other_info_to_tlv(m.other_info)))
    size = sum(map(len, out))
    out[0] = b"\xb7" + _length(size)  # [23]
    return b"".join(out)


def _present_response(m: PresentResponse) -> bytes:
    out: list[bytes] = [b""]
    if m.reference_id is not None:
        out += (b"\x82", _length(len(m.reference_id)), m.reference_id)
    out += (
        _int_field(b"\x98", m.number_of_records_returned),
        _int_field(b"\x99", m.next_result_set_position),
        _int_field(b"\x9b", m.present_status),
    )
    if m.records is not None:
        _records_parts(m.records, out)
    if m.other_info:
        out.append(encode(other_info_to_tlv(m.other_info)))
    size = sum(map(len, out))
    out[0] = b"\xb9" + _length(size)  # [25]
    return b"".join(out)


def encode_fast(pdu: Pdu) -> bytes:
    """``encode_pdu(pdu)``, directly for Search and Present responses."""
    kind = type(pdu)
    if kind is PresentResponse:
        return _present_response(pdu)  # type: ignore[arg-type]
    if kind is SearchResponse:
        return _search_response(pdu)  # type: ignore[arg-type]
    return encode_pdu(pdu)

