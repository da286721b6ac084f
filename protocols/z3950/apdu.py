"""Z39.50-1995 APDUs as frozen dataclasses, with BER encoders and decoders.

The subset needed for copy cataloguing is typed: Init, Search (Type-1/101
RPN), Present, Close, records as EXTERNAL, diagnostics and otherInfo.
Everything else is kept as data: an unknown PDU becomes :class:`UnknownPdu`
holding its :class:`~protocols.z3950.ber.Tlv`; parts of typed PDUs that we
do not model (``additionalRanges`` aside, e.g. a complex record composition
or an ISO 2022 charset) are kept as raw :class:`Tlv` and re-encoded verbatim.

InternationalString (GeneralString) values become ``str`` via UTF-8 with
``surrogateescape``: bytes in another charset survive a decode/encode round
trip unchanged.  RPN terms stay ``bytes`` (they are OCTET STRINGs whose
charset is whatever the association negotiated).

Decoders are lenient about unknown fields and strict about the types of the
fields they read; every failure raises :class:`ApduError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

from . import oids
from .ber import (
    CONTEXT,
    DEFAULT_LIMITS,
    UNIVERSAL,
    BerError,
    BerLimits,
    Tlv,
    bits_from_content,
    bits_to_content,
    bool_from_content,
    bool_to_content,
    decode,
    encode,
    int_from_content,
    int_to_content,
    oid_from_content,
    oid_to_content,
)

__all__ = [
    "ApduError",
    "Arbitrary",
    "AttributeElement",
    "AttributesPlusTerm",
    "AuthAnonymous",
    "AuthIdPass",
    "AuthOpen",
    "AuthOther",
    "Close",
    "CloseReason",
    "ComplexValue",
    "DefaultDiag",
    "External",
    "Fragment",
    "InitRequest",
    "InitResponse",
    "MalformedQuery",
    "MultipleDiagnostics",
    "NamePlusRecord",
    "Options",
    "OtherInfo",
    "PresentRequest",
    "PresentResponse",
    "PresentStatus",
    "Prox",
    "RawQuery",
    "ResponseRecords",
    "ResultSetOperand",
    "RpnOp",
    "RpnQuery",
    "SearchRequest",
    "SearchResponse",
    "UnknownPdu",
    "decode_pdu",
    "encode_pdu",
    "pdu_from_tlv",
    "pdu_to_tlv",
]


class ApduError(BerError):
    """Well-formed BER that is not a valid Z39.50 APDU (wrong or missing fields)."""


# --------------------------------------------------------------------------- constants


class Options:
    """Bit numbers of the Init ``options`` BIT STRING."""

    SEARCH = 0
    PRESENT = 1
    DEL_SET = 2
    RESOURCE_REPORT = 3
    TRIGGER_RESOURCE_CTRL = 4
    RESOURCE_CTRL = 5
    ACCESS_CTRL = 6
    SCAN = 7
    SORT = 8
    EXTENDED_SERVICES = 10
    LEVEL1_SEGMENTATION = 11
    LEVEL2_SEGMENTATION = 12
    CONCURRENT_OPERATIONS = 13
    NAMED_RESULT_SETS = 14
    ENCAPSULATION = 15
    RESULT_COUNT = 16
    NEGOTIATION_MODEL = 17
    DUPLICATE_DETECTION = 18
    QUERY_TYPE_104 = 19
    PQES_CORRECTION = 20
    STRING_SCHEMA = 21


class CloseReason:
    """Values of ``Close.closeReason``."""

    FINISHED = 0
    SHUTDOWN = 1
    SYSTEM_PROBLEM = 2
    COST_LIMIT = 3
    RESOURCES = 4
    SECURITY_VIOLATION = 5
    PROTOCOL_ERROR = 6
    LACK_OF_ACTIVITY = 7
    PEER_ABORT = 8
    UNSPECIFIED = 9


class PresentStatus:
    """Values of ``presentStatus``."""

    SUCCESS = 0
    PARTIAL_1 = 1
    PARTIAL_2 = 2
    PARTIAL_3 = 3
    PARTIAL_4 = 4
    FAILURE = 5


# PDU tags (context class, constructed).
INIT_REQUEST = 20
INIT_RESPONSE = 21
SEARCH_REQUEST = 22
SEARCH_RESPONSE = 23
PRESENT_REQUEST = 24
PRESENT_RESPONSE = 25
TRIGGER_RESOURCE_CONTROL_REQUEST = 32
CLOSE = 48

# --------------------------------------------------------------------------- low-level helpers


def _text(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _untext(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _p(number: int, content: bytes, cls: int = CONTEXT) -> Tlv:
    return Tlv(cls, number, False, content)


def _c(number: int, *children: Tlv, cls: int = CONTEXT) -> Tlv:
    return Tlv(cls, number, True, b"", tuple(children))


def _pint(number: int, value: int, cls: int = CONTEXT) -> Tlv:
    return _p(number, int_to_content(value), cls)


def _pstr(number: int, value: str, cls: int = CONTEXT) -> Tlv:
    return _p(number, _text(value), cls)


def _pbool(number: int, value: bool, cls: int = CONTEXT) -> Tlv:
    return _p(number, bool_to_content(value), cls)


def _poid(number: int, value: str, cls: int = CONTEXT) -> Tlv:
    return _p(number, oid_to_content(value), cls)


def _fields(tlv: Tlv, what: str) -> dict[tuple[int, int], Tlv]:
    if not tlv.constructed:
        raise ApduError(f"{what}: expected a constructed value")
    out: dict[tuple[int, int], Tlv] = {}
    for child in tlv.children:
        if child.key in out:
            raise ApduError(f"{what}: field {child.key} repeated")
        out[child.key] = child
    return out


def _need(fields: Mapping[tuple[int, int], Tlv], key: tuple[int, int], what: str) -> Tlv:
    try:
        return fields[key]
    except KeyError:
        raise ApduError(f"{what}: missing field {key}") from None


def _prim(tlv: Tlv, what: str) -> bytes:
    if tlv.constructed:
        raise ApduError(f"{what}: expected a primitive value")
    return tlv.content


def _int(tlv: Tlv, what: str) -> int:
    return int_from_content(_prim(tlv, what))


def _bool(tlv: Tlv, what: str) -> bool:
    return bool_from_content(_prim(tlv, what))


def _str(tlv: Tlv, what: str) -> str:
    return _untext(_prim(tlv, what))


def _oid(tlv: Tlv, what: str) -> str:
    return oid_from_content(_prim(tlv, what))


def _opt_int(f: Mapping[tuple[int, int], Tlv], n: int, what: str) -> int | None:
    t = f.get((CONTEXT, n))
    return None if t is None else _int(t, what)


def _opt_str(f: Mapping[tuple[int, int], Tlv], n: int, what: str) -> str | None:
    t = f.get((CONTEXT, n))
    return None if t is None else _str(t, what)


def _single(tlv: Tlv, what: str) -> Tlv:
    """The one child of an explicitly tagged value."""
    if not tlv.constructed or len(tlv.children) != 1:
        raise ApduError(f"{what}: expected exactly one inner value")
    return tlv.children[0]


# --------------------------------------------------------------------------- EXTERNAL


@dataclass(frozen=True, slots=True)
class Arbitrary:
    """The ``arbitrary`` (BIT STRING) encoding of an EXTERNAL, kept as raw content."""

    content: bytes


@dataclass(frozen=True, slots=True)
class External:
    """ASN.1 EXTERNAL as Z39.50 uses it for records, charneg and diagnostics.

    ``encoding`` is ``bytes`` for *octet-aligned* (MARC, XML), a :class:`Tlv`
    for *single-ASN1-type* (the inner value: OPAC, SUTRS, charneg, GRS-1), or
    :class:`Arbitrary`.
    """

    direct_reference: str | None
    encoding: bytes | Tlv | Arbitrary
    indirect_reference: int | None = None
    data_value_descriptor: bytes | None = None


def _external_tlv(ext: External, number: int = 8, cls: int = UNIVERSAL) -> Tlv:
    parts: list[Tlv] = []
    if ext.direct_reference is not None:
        parts.append(_poid(6, ext.direct_reference, UNIVERSAL))
    if ext.indirect_reference is not None:
        parts.append(_pint(2, ext.indirect_reference, UNIVERSAL))
    if ext.data_value_descriptor is not None:
        parts.append(_p(7, ext.data_value_descriptor, UNIVERSAL))
    enc = ext.encoding
    if isinstance(enc, bytes):
        parts.append(_p(1, enc))
    elif isinstance(enc, Tlv):
        parts.append(_c(0, enc))
    else:
        parts.append(_p(2, enc.content))
    return Tlv(cls, number, True, b"", tuple(parts))


def _external(tlv: Tlv) -> External:
    what = "EXTERNAL"
    f = _fields(tlv, what)
    direct = f.get((UNIVERSAL, 6))
    indirect = f.get((UNIVERSAL, 2))
    desc = f.get((UNIVERSAL, 7))
    encoding: bytes | Tlv | Arbitrary
    if (CONTEXT, 1) in f:
        encoding = _prim(f[(CONTEXT, 1)], what)
    elif (CONTEXT, 0) in f:
        encoding = _single(f[(CONTEXT, 0)], what)
    elif (CONTEXT, 2) in f:
        encoding = Arbitrary(_prim(f[(CONTEXT, 2)], what))
    else:
        raise ApduError("EXTERNAL without encoding")
    return External(
        direct_reference=None if direct is None else _oid(direct, what),
        encoding=encoding,
        indirect_reference=None if indirect is None else _int(indirect, what),
        data_value_descriptor=None if desc is None else _prim(desc, what),
    )


def _expect_external(tlv: Tlv, what: str) -> External:
    """Decode an EXTERNAL wrapped by an explicit tag."""
    inner = _single(tlv, what)
    if inner.key != (UNIVERSAL, 8):
        raise ApduError(f"{what}: expected EXTERNAL")
    return _external(inner)


# --------------------------------------------------------------------------- OtherInformation


@dataclass(frozen=True, slots=True)
class OtherInfo:
    """One unit of ``OtherInformation``; exactly one of the four values is set."""

    character: str | None = None
    binary: bytes | None = None
    external: External | None = None
    oid: str | None = None
    category_type: str | None = None
    category_value: int | None = None


def _other_info_tlv(items: tuple[OtherInfo, ...], number: int = 201) -> Tlv:
    units: list[Tlv] = []
    for item in items:
        parts: list[Tlv] = []
        if item.category_value is not None:
            cat: list[Tlv] = []
            if item.category_type is not None:
                cat.append(_poid(1, item.category_type))
            cat.append(_pint(2, item.category_value))
            parts.append(_c(1, *cat))
        if item.character is not None:
            parts.append(_pstr(2, item.character))
        elif item.binary is not None:
            parts.append(_p(3, item.binary))
        elif item.external is not None:
            parts.append(_external_tlv(item.external, 4, CONTEXT))
        elif item.oid is not None:
            parts.append(_poid(5, item.oid))
        else:
            raise ApduError("OtherInfo without information")
        units.append(_c(16, *parts, cls=UNIVERSAL))
    return _c(number, *units)


def _other_info(tlv: Tlv | None) -> tuple[OtherInfo, ...]:
    if tlv is None:
        return ()
    what = "OtherInformation"
    if not tlv.constructed:
        raise ApduError(f"{what}: expected SEQUENCE OF")
    out: list[OtherInfo] = []
    for unit in tlv.children:
        f = _fields(unit, what)
        ctype: str | None = None
        cvalue: int | None = None
        if (CONTEXT, 1) in f:
            cf = _fields(f[(CONTEXT, 1)], "InfoCategory")
            ctype = None if (CONTEXT, 1) not in cf else _oid(cf[(CONTEXT, 1)], what)
            cvalue = _int(_need(cf, (CONTEXT, 2), "InfoCategory"), what)
        if (CONTEXT, 2) in f:
            item = OtherInfo(character=_str(f[(CONTEXT, 2)], what))
        elif (CONTEXT, 3) in f:
            item = OtherInfo(binary=_prim(f[(CONTEXT, 3)], what))
        elif (CONTEXT, 4) in f:
            item = OtherInfo(external=_external(f[(CONTEXT, 4)]))
        elif (CONTEXT, 5) in f:
            item = OtherInfo(oid=_oid(f[(CONTEXT, 5)], what))
        else:
            raise ApduError(f"{what}: unit without information")
        out.append(OtherInfo(item.character, item.binary, item.external, item.oid, ctype, cvalue))
    return tuple(out)


# --------------------------------------------------------------------------- diagnostics


@dataclass(frozen=True, slots=True)
class DefaultDiag:
    """DefaultDiagFormat: a diagnostic from a set (Bib-1 unless stated).

    ``addinfo`` is ``None`` when the peer left it out (YAZ tolerates that);
    ``v3_addinfo`` selects InternationalString instead of VisibleString.
    """

    condition: int
    addinfo: str | None = ""
    diagnostic_set: str = oids.BIB1_DIAGNOSTICS
    v3_addinfo: bool = False


DiagRec: TypeAlias = DefaultDiag | External


def _default_diag_tlv(d: DefaultDiag, number: int = 16, cls: int = UNIVERSAL) -> Tlv:
    parts = [_poid(6, d.diagnostic_set, UNIVERSAL), _pint(2, d.condition, UNIVERSAL)]
    if d.addinfo is not None:
        parts.append(_pstr(27 if d.v3_addinfo else 26, d.addinfo, UNIVERSAL))
    return Tlv(cls, number, True, b"", tuple(parts))


def _default_diag(tlv: Tlv) -> DefaultDiag:
    what = "DefaultDiagFormat"
    f = _fields(tlv, what)
    addinfo: str | None = None
    v3 = False
    if (UNIVERSAL, 26) in f:
        addinfo = _str(f[(UNIVERSAL, 26)], what)
    elif (UNIVERSAL, 27) in f:
        addinfo = _str(f[(UNIVERSAL, 27)], what)
        v3 = True
    return DefaultDiag(
        condition=_int(_need(f, (UNIVERSAL, 2), what), what),
        addinfo=addinfo,
        diagnostic_set=_oid(_need(f, (UNIVERSAL, 6), what), what),
        v3_addinfo=v3,
    )


def _diag_rec_tlv(d: DiagRec) -> Tlv:
    if isinstance(d, DefaultDiag):
        return _default_diag_tlv(d)
    return _external_tlv(d)


def _diag_rec(tlv: Tlv) -> DiagRec:
    if tlv.key == (UNIVERSAL, 16):
        return _default_diag(tlv)
    if tlv.key == (UNIVERSAL, 8):
        return _external(tlv)
    raise ApduError("DiagRec: expected DefaultDiagFormat or EXTERNAL")


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Fragment:
    """A segmentation fragment (``[3]``, ``[4]`` or ``[5]``), kept raw."""

    kind: int
    value: Tlv


@dataclass(frozen=True, slots=True)
class NamePlusRecord:
    """One response record: a retrieval record, a surrogate diagnostic or a fragment."""

    record: External | DefaultDiag | Fragment
    name: str | None = None
    surrogate_external: bool = False  # surrogate diagnostic given as EXTERNAL

    @property
    def is_diagnostic(self) -> bool:
        """True for a surrogate diagnostic."""
        return isinstance(self.record, DefaultDiag) or self.surrogate_external


@dataclass(frozen=True, slots=True)
class ResponseRecords:
    """``Records.responseRecords``."""

    records: tuple[NamePlusRecord, ...]


@dataclass(frozen=True, slots=True)
class MultipleDiagnostics:
    """``Records.multipleNonSurDiagnostics``."""

    diagnostics: tuple[DiagRec, ...]


Records: TypeAlias = ResponseRecords | DefaultDiag | MultipleDiagnostics


def _records_tlv(r: Records) -> Tlv:
    if isinstance(r, DefaultDiag):
        return _default_diag_tlv(r, 130, CONTEXT)
    if isinstance(r, MultipleDiagnostics):
        return _c(205, *(_diag_rec_tlv(d) for d in r.diagnostics))
    return _c(28, *(_name_plus_record_tlv(npr) for npr in r.records))


def _name_plus_record_tlv(npr: NamePlusRecord) -> Tlv:
    parts: list[Tlv] = []
    if npr.name is not None:
        parts.append(_pstr(0, npr.name))
    rec = npr.record
    if isinstance(rec, DefaultDiag):
        parts.append(_c(1, _c(2, _default_diag_tlv(rec))))
    elif isinstance(rec, Fragment):
        parts.append(_c(1, _c(rec.kind, rec.value)))
    elif npr.surrogate_external:
        parts.append(_c(1, _c(2, _external_tlv(rec))))
    else:
        parts.append(_c(1, _c(1, _external_tlv(rec))))
    return _c(16, *parts, cls=UNIVERSAL)


def _records(f: Mapping[tuple[int, int], Tlv]) -> Records | None:
    if (CONTEXT, 130) in f:
        return _default_diag(f[(CONTEXT, 130)])
    if (CONTEXT, 205) in f:
        t = f[(CONTEXT, 205)]
        if not t.constructed:
            raise ApduError("multipleNonSurDiagnostics: expected SEQUENCE OF")
        return MultipleDiagnostics(tuple(_diag_rec(d) for d in t.children))
    if (CONTEXT, 28) not in f:
        return None
    t = f[(CONTEXT, 28)]
    if not t.constructed:
        raise ApduError("responseRecords: expected SEQUENCE OF")
    out: list[NamePlusRecord] = []
    for item in t.children:
        what = "NamePlusRecord"
        nf = _fields(item, what)
        name = _opt_str(nf, 0, what)
        choice = _single(_need(nf, (CONTEXT, 1), what), what)
        if choice.cls != CONTEXT:
            raise ApduError(f"{what}: bad record choice")
        if choice.number == 1:
            out.append(NamePlusRecord(_expect_external(choice, what), name))
        elif choice.number == 2:
            diag = _diag_rec(_single(choice, what))
            if isinstance(diag, External):
                out.append(NamePlusRecord(diag, name, surrogate_external=True))
            else:
                out.append(NamePlusRecord(diag, name))
        elif choice.number in (3, 4, 5):
            out.append(NamePlusRecord(Fragment(choice.number, _single(choice, what)), name))
        else:
            raise ApduError(f"{what}: bad record choice")
    return ResponseRecords(tuple(out))


# --------------------------------------------------------------------------- RPN queries


@dataclass(frozen=True, slots=True)
class ComplexValue:
    """A ``complex`` attribute value: StringOrNumeric list plus semantic actions."""

    values: tuple[str | int, ...]
    semantic_action: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class AttributeElement:
    """``@attr [set] type=value``."""

    type: int
    value: int | ComplexValue
    attribute_set: str | None = None


@dataclass(frozen=True, slots=True)
class TermValue:
    """A non-``general`` term: ``kind`` is one of numeric, string, oid, datetime, null, raw."""

    kind: Literal["numeric", "string", "oid", "datetime", "null", "raw"]
    value: int | str | Tlv | None = None


@dataclass(frozen=True, slots=True)
class AttributesPlusTerm:
    """An operand: attributes and a term (``bytes`` for the usual ``general`` term)."""

    attributes: tuple[AttributeElement, ...]
    term: bytes | TermValue


@dataclass(frozen=True, slots=True)
class ResultSetOperand:
    """``@set name``: a reference to an earlier result set."""

    name: str


@dataclass(frozen=True, slots=True)
class RawOperand:
    """An operand we do not model (``resultAttr``), kept raw."""

    value: Tlv


@dataclass(frozen=True, slots=True)
class Prox:
    """ProximityOperator."""

    exclusion: bool | None
    distance: int
    ordered: bool
    relation: int
    unit: int
    known_unit: bool = True


Operator: TypeAlias = Literal["and", "or", "and-not"] | Prox


@dataclass(frozen=True, slots=True)
class RpnOp:
    """A boolean (or proximity) combination of two RPN structures."""

    op: Operator
    left: RpnNode
    right: RpnNode


RpnNode: TypeAlias = AttributesPlusTerm | ResultSetOperand | RawOperand | RpnOp


@dataclass(frozen=True, slots=True)
class RpnQuery:
    """Type-1 (or type-101) query: default attribute set and the RPN tree."""

    rpn: RpnNode
    attribute_set: str = oids.BIB1_ATTRIBUTES
    type_101: bool = False


@dataclass(frozen=True, slots=True)
class RawQuery:
    """A query type we do not interpret (type-0, 2, 100, 102, 104/CQL), kept raw."""

    type: int
    value: Tlv


@dataclass(frozen=True, slots=True)
class MalformedQuery:
    """A query that failed to decode; the target answers diagnostic 108."""

    value: Tlv
    reason: str


Query: TypeAlias = RpnQuery | RawQuery | MalformedQuery

_OPS: dict[str, int] = {"and": 0, "or": 1, "and-not": 2}
_OPS_BACK: dict[int, Literal["and", "or", "and-not"]] = {0: "and", 1: "or", 2: "and-not"}
_TERM_TAGS: dict[str, int] = {
    "numeric": 215,
    "string": 216,
    "oid": 217,
    "datetime": 218,
    "null": 221,
}


def _attr_tlv(a: AttributeElement) -> Tlv:
    parts: list[Tlv] = []
    if a.attribute_set is not None:
        parts.append(_poid(1, a.attribute_set))
    parts.append(_pint(120, a.type))
    if isinstance(a.value, int):
        parts.append(_pint(121, a.value))
    else:
        items = [_pstr(1, v) if isinstance(v, str) else _pint(2, v) for v in a.value.values]
        cplx = [_c(1, *items)]
        if a.value.semantic_action is not None:
            cplx.append(_c(2, *(_pint(2, s, UNIVERSAL) for s in a.value.semantic_action)))
        parts.append(_c(224, *cplx))
    return _c(16, *parts, cls=UNIVERSAL)


def _attr(t: Tlv) -> AttributeElement:
    what = "AttributeElement"
    f = _fields(t, what)
    aset = f.get((CONTEXT, 1))
    value: int | ComplexValue
    if (CONTEXT, 121) in f:
        value = _int(f[(CONTEXT, 121)], what)
    elif (CONTEXT, 224) in f:
        cf = _fields(f[(CONTEXT, 224)], what)
        lst = _need(cf, (CONTEXT, 1), what)
        if not lst.constructed:
            raise ApduError(f"{what}: bad complex list")
        vals: list[str | int] = []
        for item in lst.children:
            if item.key == (CONTEXT, 1):
                vals.append(_str(item, what))
            elif item.key == (CONTEXT, 2):
                vals.append(_int(item, what))
            else:
                raise ApduError(f"{what}: bad StringOrNumeric")
        sem: tuple[int, ...] | None = None
        if (CONTEXT, 2) in cf:
            s = cf[(CONTEXT, 2)]
            if not s.constructed:
                raise ApduError(f"{what}: bad semanticAction")
            sem = tuple(_int(x, what) for x in s.children)
        value = ComplexValue(tuple(vals), sem)
    else:
        raise ApduError(f"{what}: missing attributeValue")
    return AttributeElement(
        type=_int(_need(f, (CONTEXT, 120), what), what),
        value=value,
        attribute_set=None if aset is None else _oid(aset, what),
    )


def _term_tlv(term: bytes | TermValue) -> Tlv:
    if isinstance(term, bytes):
        return _p(45, term)
    if term.kind == "raw":
        if not isinstance(term.value, Tlv):
            raise ApduError("raw term needs a Tlv")
        return term.value
    tag = _TERM_TAGS[term.kind]
    v = term.value
    if term.kind == "numeric" and isinstance(v, int):
        return _pint(tag, v)
    if term.kind == "oid" and isinstance(v, str):
        return _poid(tag, v)
    if term.kind in ("string", "datetime") and isinstance(v, str):
        return _pstr(tag, v)
    if term.kind == "null":
        return _p(tag, b"")
    raise ApduError(f"term of kind {term.kind} has a bad value {v!r}")


def _term(t: Tlv) -> bytes | TermValue:
    what = "Term"
    if t.cls != CONTEXT:
        raise ApduError(f"{what}: bad tag")
    if t.number == 45:
        return _prim(t, what)
    if t.number == 215:
        return TermValue("numeric", _int(t, what))
    if t.number == 216:
        return TermValue("string", _str(t, what))
    if t.number == 217:
        return TermValue("oid", _oid(t, what))
    if t.number == 218:
        return TermValue("datetime", _str(t, what))
    if t.number == 221:
        _prim(t, what)
        return TermValue("null")
    if t.number in (219, 220):
        return TermValue("raw", t)
    raise ApduError(f"{what}: unknown term type [{t.number}]")


def _operand_tlv(node: AttributesPlusTerm | ResultSetOperand | RawOperand) -> Tlv:
    if isinstance(node, AttributesPlusTerm):
        return _c(102, _c(44, *(_attr_tlv(a) for a in node.attributes)), _term_tlv(node.term))
    if isinstance(node, ResultSetOperand):
        return _pstr(31, node.name)
    return node.value


def _rpn_tlv(node: RpnNode) -> Tlv:
    # Iterative would be nicer; depth is bounded by BerLimits.max_depth on decode
    # and by the caller on construction.
    if not isinstance(node, RpnOp):
        return _c(0, _operand_tlv(node))
    op = node.op
    if isinstance(op, Prox):
        parts: list[Tlv] = []
        if op.exclusion is not None:
            parts.append(_pbool(1, op.exclusion))
        parts += [
            _pint(2, op.distance),
            _pbool(3, op.ordered),
            _pint(4, op.relation),
            _c(5, _pint(1 if op.known_unit else 2, op.unit)),
        ]
        op_tlv = _c(46, _c(3, *parts))
    else:
        op_tlv = _c(46, _p(_OPS[op], b""))
    return _c(1, _rpn_tlv(node.left), _rpn_tlv(node.right), op_tlv)


def _operand(t: Tlv) -> AttributesPlusTerm | ResultSetOperand | RawOperand:
    what = "Operand"
    if t.key == (CONTEXT, 102):
        if len(t.children) != 2 or not t.constructed:
            raise ApduError(f"{what}: AttributesPlusTerm needs attributes and term")
        attrs, term = t.children
        if attrs.key != (CONTEXT, 44) or not attrs.constructed:
            raise ApduError(f"{what}: bad AttributeList")
        return AttributesPlusTerm(tuple(_attr(a) for a in attrs.children), _term(term))
    if t.key == (CONTEXT, 31):
        return ResultSetOperand(_str(t, what))
    if t.key == (CONTEXT, 214):
        return RawOperand(t)
    raise ApduError(f"{what}: unknown operand")


def _prox(t: Tlv) -> Prox:
    what = "ProximityOperator"
    f = _fields(t, what)
    unit = _single(_need(f, (CONTEXT, 5), what), what)
    if unit.key not in ((CONTEXT, 1), (CONTEXT, 2)):
        raise ApduError(f"{what}: bad proximityUnitCode")
    excl = f.get((CONTEXT, 1))
    return Prox(
        exclusion=None if excl is None else _bool(excl, what),
        distance=_int(_need(f, (CONTEXT, 2), what), what),
        ordered=_bool(_need(f, (CONTEXT, 3), what), what),
        relation=_int(_need(f, (CONTEXT, 4), what), what),
        unit=_int(unit, what),
        known_unit=unit.number == 1,
    )


def _rpn(t: Tlv) -> RpnNode:
    what = "RPNStructure"
    if t.key == (CONTEXT, 0):
        return _operand(_single(t, what))
    if t.key != (CONTEXT, 1) or not t.constructed or len(t.children) != 3:
        raise ApduError(f"{what}: expected op or rpnRpnOp")
    left, right, op_t = t.children
    if op_t.key != (CONTEXT, 46):
        raise ApduError(f"{what}: expected Operator")
    inner = _single(op_t, what)
    op: Operator
    if inner.cls == CONTEXT and inner.number in _OPS_BACK:
        _prim(inner, what)
        op = _OPS_BACK[inner.number]
    elif inner.key == (CONTEXT, 3):
        op = _prox(inner)
    else:
        raise ApduError(f"{what}: unknown operator")
    return RpnOp(op, _rpn(left), _rpn(right))


def _query_tlv(q: Query) -> Tlv:
    if isinstance(q, RpnQuery):
        body = _c(101 if q.type_101 else 1, _poid(6, q.attribute_set, UNIVERSAL), _rpn_tlv(q.rpn))
        return _c(21, body)
    return _c(21, q.value)


def _query(t: Tlv) -> Query:
    what = "Query"
    try:
        inner = _single(t, what)
    except ApduError as exc:
        return MalformedQuery(t, str(exc))
    if inner.key in ((CONTEXT, 1), (CONTEXT, 101)):
        try:
            if not inner.constructed or len(inner.children) != 2:
                raise ApduError("RPNQuery needs attributeSet and rpn")
            aset, rpn = inner.children
            if aset.key != (UNIVERSAL, 6):
                raise ApduError("RPNQuery: expected attributeSet OID")
            return RpnQuery(_rpn(rpn), _oid(aset, what), inner.number == 101)
        except BerError as exc:
            return MalformedQuery(inner, str(exc))
    if inner.cls == CONTEXT:
        return RawQuery(inner.number, inner)
    return MalformedQuery(inner, "unknown query type")


# --------------------------------------------------------------------------- Init


@dataclass(frozen=True, slots=True)
class AuthOpen:
    """idAuthentication ``open``: a single string, usually ``user/password``."""

    text: str


@dataclass(frozen=True, slots=True)
class AuthIdPass:
    """idAuthentication ``idPass``."""

    user: str | None = None
    password: str | None = None
    group: str | None = None

    def __repr__(self) -> str:  # never print passwords
        return f"AuthIdPass(user={self.user!r}, group={self.group!r}, password=***)"


@dataclass(frozen=True, slots=True)
class AuthAnonymous:
    """idAuthentication ``anonymous``."""


@dataclass(frozen=True, slots=True)
class AuthOther:
    """idAuthentication ``other`` (an EXTERNAL)."""

    external: External


IdAuthentication: TypeAlias = AuthOpen | AuthIdPass | AuthAnonymous | AuthOther

ALL_VERSIONS = frozenset({0, 1, 2})  # bits: version-1, version-2, version-3


def _auth_tlv(a: IdAuthentication) -> Tlv:
    if isinstance(a, AuthOpen):
        inner = _pstr(26, a.text, UNIVERSAL)
    elif isinstance(a, AuthIdPass):
        parts = [
            _pstr(n, v) for n, v in ((0, a.group), (1, a.user), (2, a.password)) if v is not None
        ]
        inner = _c(16, *parts, cls=UNIVERSAL)
    elif isinstance(a, AuthAnonymous):
        inner = _p(5, b"", UNIVERSAL)
    else:
        inner = _external_tlv(a.external)
    return _c(7, inner)


def _auth(t: Tlv) -> IdAuthentication:
    what = "idAuthentication"
    inner = _single(t, what)
    if inner.key == (UNIVERSAL, 26):
        return AuthOpen(_str(inner, what))
    if inner.key == (UNIVERSAL, 16):
        f = _fields(inner, what)
        return AuthIdPass(
            user=_opt_str(f, 1, what), password=_opt_str(f, 2, what), group=_opt_str(f, 0, what)
        )
    if inner.key == (UNIVERSAL, 5):
        return AuthAnonymous()
    if inner.key == (UNIVERSAL, 8):
        return AuthOther(_external(inner))
    raise ApduError(f"{what}: unknown choice")


@dataclass(frozen=True, slots=True)
class InitRequest:
    """InitializeRequest."""

    options: frozenset[int] = frozenset({Options.SEARCH, Options.PRESENT})
    protocol_version: frozenset[int] = ALL_VERSIONS
    preferred_message_size: int = 1024 * 1024
    exceptional_record_size: int = 1024 * 1024
    id_authentication: IdAuthentication | None = None
    implementation_id: str | None = None
    implementation_name: str | None = None
    implementation_version: str | None = None
    user_information: External | None = None
    other_info: tuple[OtherInfo, ...] = ()
    reference_id: bytes | None = None


@dataclass(frozen=True, slots=True)
class InitResponse:
    """InitializeResponse; ``result`` False means the association is refused."""

    result: bool
    options: frozenset[int] = frozenset({Options.SEARCH, Options.PRESENT})
    protocol_version: frozenset[int] = ALL_VERSIONS
    preferred_message_size: int = 1024 * 1024
    exceptional_record_size: int = 1024 * 1024
    implementation_id: str | None = None
    implementation_name: str | None = None
    implementation_version: str | None = None
    user_information: External | None = None
    other_info: tuple[OtherInfo, ...] = ()
    reference_id: bytes | None = None


def _init_tlv(m: InitRequest | InitResponse) -> Tlv:
    parts: list[Tlv] = []
    if m.reference_id is not None:
        parts.append(_p(2, m.reference_id))
    parts += [
        _p(3, bits_to_content(m.protocol_version)),
        _p(4, bits_to_content(m.options)),
        _pint(5, m.preferred_message_size),
        _pint(6, m.exceptional_record_size),
    ]
    if isinstance(m, InitRequest):
        if m.id_authentication is not None:
            parts.append(_auth_tlv(m.id_authentication))
    else:
        parts.append(_pbool(12, m.result))
    for n, v in (
        (110, m.implementation_id),
        (111, m.implementation_name),
        (112, m.implementation_version),
    ):
        if v is not None:
            parts.append(_pstr(n, v))
    if m.user_information is not None:
        parts.append(_c(11, _external_tlv(m.user_information)))
    if m.other_info:
        parts.append(_other_info_tlv(m.other_info))
    return _c(INIT_REQUEST if isinstance(m, InitRequest) else INIT_RESPONSE, *parts)


def _init(t: Tlv, response: bool) -> InitRequest | InitResponse:
    what = "InitResponse" if response else "InitRequest"
    f = _fields(t, what)
    ref = f.get((CONTEXT, 2))
    uif = f.get((CONTEXT, 11))
    common = {
        "protocol_version": bits_from_content(_prim(_need(f, (CONTEXT, 3), what), what)),
        "options": bits_from_content(_prim(_need(f, (CONTEXT, 4), what), what)),
        "preferred_message_size": _int(_need(f, (CONTEXT, 5), what), what),
        "exceptional_record_size": _int(_need(f, (CONTEXT, 6), what), what),
        "implementation_id": _opt_str(f, 110, what),
        "implementation_name": _opt_str(f, 111, what),
        "implementation_version": _opt_str(f, 112, what),
        "user_information": None if uif is None else _expect_external(uif, what),
        "other_info": _other_info(f.get((CONTEXT, 201))),
        "reference_id": None if ref is None else _prim(ref, what),
    }
    if response:
        return InitResponse(result=_bool(_need(f, (CONTEXT, 12), what), what), **common)  # type: ignore[arg-type]
    auth = f.get((CONTEXT, 7))
    return InitRequest(id_authentication=None if auth is None else _auth(auth), **common)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Search


ElementSetNames: TypeAlias = str | Tlv
"""A generic element set name, or the raw outer element (databaseSpecific / complex)."""


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """SearchRequest."""

    query: Query
    database_names: tuple[str, ...] = ("Default",)
    result_set_name: str = "default"
    replace_indicator: bool = True
    small_set_upper_bound: int = 0
    large_set_lower_bound: int = 1
    medium_set_present_number: int = 0
    small_set_element_set_names: ElementSetNames | None = None
    medium_set_element_set_names: ElementSetNames | None = None
    preferred_record_syntax: str | None = None
    additional_search_info: tuple[OtherInfo, ...] = ()
    other_info: tuple[OtherInfo, ...] = ()
    reference_id: bytes | None = None


@dataclass(frozen=True, slots=True)
class SearchResponse:
    """SearchResponse."""

    result_count: int
    search_status: bool
    number_of_records_returned: int = 0
    next_result_set_position: int = 0
    result_set_status: int | None = None
    present_status: int | None = None
    records: Records | None = None
    additional_search_info: tuple[OtherInfo, ...] = ()
    other_info: tuple[OtherInfo, ...] = ()
    reference_id: bytes | None = None


def _esn_tlv(number: int, esn: ElementSetNames) -> Tlv:
    if isinstance(esn, str):
        return _c(number, _pstr(0, esn))
    return esn


def _esn(t: Tlv) -> ElementSetNames:
    inner = _single(t, "ElementSetNames")
    if inner.key == (CONTEXT, 0) and not inner.constructed:
        return _untext(inner.content)
    return t


def _search_request_tlv(m: SearchRequest) -> Tlv:
    parts: list[Tlv] = []
    if m.reference_id is not None:
        parts.append(_p(2, m.reference_id))
    parts += [
        _pint(13, m.small_set_upper_bound),
        _pint(14, m.large_set_lower_bound),
        _pint(15, m.medium_set_present_number),
        _pbool(16, m.replace_indicator),
        _pstr(17, m.result_set_name),
        _c(18, *(_pstr(105, d) for d in m.database_names)),
    ]
    if m.small_set_element_set_names is not None:
        parts.append(_esn_tlv(100, m.small_set_element_set_names))
    if m.medium_set_element_set_names is not None:
        parts.append(_esn_tlv(101, m.medium_set_element_set_names))
    if m.preferred_record_syntax is not None:
        parts.append(_poid(104, m.preferred_record_syntax))
    parts.append(_query_tlv(m.query))
    if m.additional_search_info:
        parts.append(_other_info_tlv(m.additional_search_info, 203))
    if m.other_info:
        parts.append(_other_info_tlv(m.other_info))
    return _c(SEARCH_REQUEST, *parts)


def _search_request(t: Tlv) -> SearchRequest:
    what = "SearchRequest"
    f = _fields(t, what)
    dbs = _need(f, (CONTEXT, 18), what)
    if not dbs.constructed:
        raise ApduError(f"{what}: bad databaseNames")
    ref = f.get((CONTEXT, 2))
    small = f.get((CONTEXT, 100))
    medium = f.get((CONTEXT, 101))
    syntax = f.get((CONTEXT, 104))
    return SearchRequest(
        query=_query(_need(f, (CONTEXT, 21), what)),
        database_names=tuple(_str(d, what) for d in dbs.children),
        result_set_name=_str(_need(f, (CONTEXT, 17), what), what),
        replace_indicator=_bool(_need(f, (CONTEXT, 16), what), what),
        small_set_upper_bound=_int(_need(f, (CONTEXT, 13), what), what),
        large_set_lower_bound=_int(_need(f, (CONTEXT, 14), what), what),
        medium_set_present_number=_int(_need(f, (CONTEXT, 15), what), what),
        small_set_element_set_names=None if small is None else _esn(small),
        medium_set_element_set_names=None if medium is None else _esn(medium),
        preferred_record_syntax=None if syntax is None else _oid(syntax, what),
        additional_search_info=_other_info(f.get((CONTEXT, 203))),
        other_info=_other_info(f.get((CONTEXT, 201))),
        reference_id=None if ref is None else _prim(ref, what),
    )


def _search_response_tlv(m: SearchResponse) -> Tlv:
    parts: list[Tlv] = []
    if m.reference_id is not None:
        parts.append(_p(2, m.reference_id))
    parts += [
        _pint(23, m.result_count),
        _pint(24, m.number_of_records_returned),
        _pint(25, m.next_result_set_position),
        _pbool(22, m.search_status),
    ]
    if m.result_set_status is not None:
        parts.append(_pint(26, m.result_set_status))
    if m.present_status is not None:
        parts.append(_pint(27, m.present_status))
    if m.records is not None:
        parts.append(_records_tlv(m.records))
    if m.additional_search_info:
        parts.append(_other_info_tlv(m.additional_search_info, 203))
    if m.other_info:
        parts.append(_other_info_tlv(m.other_info))
    return _c(SEARCH_RESPONSE, *parts)


def _search_response(t: Tlv) -> SearchResponse:
    what = "SearchResponse"
    f = _fields(t, what)
    ref = f.get((CONTEXT, 2))
    return SearchResponse(
        result_count=_int(_need(f, (CONTEXT, 23), what), what),
        search_status=_bool(_need(f, (CONTEXT, 22), what), what),
        number_of_records_returned=_int(_need(f, (CONTEXT, 24), what), what),
        next_result_set_position=_int(_need(f, (CONTEXT, 25), what), what),
        result_set_status=_opt_int(f, 26, what),
        present_status=_opt_int(f, 27, what),
        records=_records(f),
        additional_search_info=_other_info(f.get((CONTEXT, 203))),
        other_info=_other_info(f.get((CONTEXT, 201))),
        reference_id=None if ref is None else _prim(ref, what),
    )


# --------------------------------------------------------------------------- Present


@dataclass(frozen=True, slots=True)
class PresentRequest:
    """PresentRequest (``start`` counts from 1).

    ``record_composition`` is a generic element set name, or the raw outer
    element for databaseSpecific / complex compositions.
    """

    result_set_id: str
    start: int
    count: int
    record_composition: ElementSetNames | None = None
    preferred_record_syntax: str | None = None
    additional_ranges: tuple[tuple[int, int], ...] | None = None
    max_segment_count: int | None = None
    max_record_size: int | None = None
    max_segment_size: int | None = None
    other_info: tuple[OtherInfo, ...] = ()
    reference_id: bytes | None = None


@dataclass(frozen=True, slots=True)
class PresentResponse:
    """PresentResponse."""

    number_of_records_returned: int
    next_result_set_position: int
    present_status: int
    records: Records | None = None
    other_info: tuple[OtherInfo, ...] = ()
    reference_id: bytes | None = None


def _present_request_tlv(m: PresentRequest) -> Tlv:
    parts: list[Tlv] = []
    if m.reference_id is not None:
        parts.append(_p(2, m.reference_id))
    parts += [_pstr(31, m.result_set_id), _pint(30, m.start), _pint(29, m.count)]
    if m.additional_ranges is not None:
        parts.append(
            _c(
                212,
                *(_c(16, _pint(1, s), _pint(2, n), cls=UNIVERSAL) for s, n in m.additional_ranges),
            )
        )
    if m.record_composition is not None:
        parts.append(_esn_tlv(19, m.record_composition))
    if m.preferred_record_syntax is not None:
        parts.append(_poid(104, m.preferred_record_syntax))
    for n, v in ((204, m.max_segment_count), (206, m.max_record_size), (207, m.max_segment_size)):
        if v is not None:
            parts.append(_pint(n, v))
    if m.other_info:
        parts.append(_other_info_tlv(m.other_info))
    return _c(PRESENT_REQUEST, *parts)


def _present_request(t: Tlv) -> PresentRequest:
    what = "PresentRequest"
    f = _fields(t, what)
    ref = f.get((CONTEXT, 2))
    syntax = f.get((CONTEXT, 104))
    comp: ElementSetNames | None = None
    if (CONTEXT, 19) in f:
        comp = _esn(f[(CONTEXT, 19)])
    elif (CONTEXT, 209) in f:
        comp = f[(CONTEXT, 209)]
    ranges: tuple[tuple[int, int], ...] | None = None
    if (CONTEXT, 212) in f:
        rt = f[(CONTEXT, 212)]
        if not rt.constructed:
            raise ApduError(f"{what}: bad additionalRanges")
        out = []
        for r in rt.children:
            rf = _fields(r, what)
            out.append(
                (
                    _int(_need(rf, (CONTEXT, 1), what), what),
                    _int(_need(rf, (CONTEXT, 2), what), what),
                )
            )
        ranges = tuple(out)
    return PresentRequest(
        result_set_id=_str(_need(f, (CONTEXT, 31), what), what),
        start=_int(_need(f, (CONTEXT, 30), what), what),
        count=_int(_need(f, (CONTEXT, 29), what), what),
        record_composition=comp,
        preferred_record_syntax=None if syntax is None else _oid(syntax, what),
        additional_ranges=ranges,
        max_segment_count=_opt_int(f, 204, what),
        max_record_size=_opt_int(f, 206, what),
        max_segment_size=_opt_int(f, 207, what),
        other_info=_other_info(f.get((CONTEXT, 201))),
        reference_id=None if ref is None else _prim(ref, what),
    )


def _present_response_tlv(m: PresentResponse) -> Tlv:
    parts: list[Tlv] = []
    if m.reference_id is not None:
        parts.append(_p(2, m.reference_id))
    parts += [
        _pint(24, m.number_of_records_returned),
        _pint(25, m.next_result_set_position),
        _pint(27, m.present_status),
    ]
    if m.records is not None:
        parts.append(_records_tlv(m.records))
    if m.other_info:
        parts.append(_other_info_tlv(m.other_info))
    return _c(PRESENT_RESPONSE, *parts)


def _present_response(t: Tlv) -> PresentResponse:
    what = "PresentResponse"
    f = _fields(t, what)
    ref = f.get((CONTEXT, 2))
    return PresentResponse(
        number_of_records_returned=_int(_need(f, (CONTEXT, 24), what), what),
        next_result_set_position=_int(_need(f, (CONTEXT, 25), what), what),
        present_status=_int(_need(f, (CONTEXT, 27), what), what),
        records=_records(f),
        other_info=_other_info(f.get((CONTEXT, 201))),
        reference_id=None if ref is None else _prim(ref, what),
    )


# --------------------------------------------------------------------------- Close


@dataclass(frozen=True, slots=True)
class Close:
    """Close, in either direction."""

    close_reason: int = CloseReason.FINISHED
    diagnostic_information: str | None = None
    resource_report_format: str | None = None
    resource_report: Tlv | None = None
    other_info: tuple[OtherInfo, ...] = ()
    reference_id: bytes | None = None


def _close_tlv(m: Close) -> Tlv:
    parts: list[Tlv] = []
    if m.reference_id is not None:
        parts.append(_p(2, m.reference_id))
    parts.append(_pint(211, m.close_reason))
    if m.diagnostic_information is not None:
        parts.append(_pstr(3, m.diagnostic_information))
    if m.resource_report_format is not None:
        parts.append(_poid(4, m.resource_report_format))
    if m.resource_report is not None:
        parts.append(m.resource_report)
    if m.other_info:
        parts.append(_other_info_tlv(m.other_info))
    return _c(CLOSE, *parts)


def _close(t: Tlv) -> Close:
    what = "Close"
    f = _fields(t, what)
    ref = f.get((CONTEXT, 2))
    fmt = f.get((CONTEXT, 4))
    return Close(
        close_reason=_int(_need(f, (CONTEXT, 211), what), what),
        diagnostic_information=_opt_str(f, 3, what),
        resource_report_format=None if fmt is None else _oid(fmt, what),
        resource_report=f.get((CONTEXT, 5)),
        other_info=_other_info(f.get((CONTEXT, 201))),
        reference_id=None if ref is None else _prim(ref, what),
    )


# --------------------------------------------------------------------------- PDU dispatch


@dataclass(frozen=True, slots=True)
class UnknownPdu:
    """A PDU we do not model (scan, sort, delete, trigger resource control, …)."""

    tag: int
    value: Tlv

    @property
    def reference_id(self) -> bytes | None:
        """The ReferenceId, if the PDU has one (so a reply can echo it)."""
        for child in self.value.children:
            if child.key == (CONTEXT, 2) and not child.constructed:
                return child.content
        return None


Pdu: TypeAlias = (
    InitRequest
    | InitResponse
    | SearchRequest
    | SearchResponse
    | PresentRequest
    | PresentResponse
    | Close
    | UnknownPdu
)


def pdu_to_tlv(pdu: Pdu) -> Tlv:
    """The BER tree of a PDU."""
    if isinstance(pdu, InitRequest | InitResponse):
        return _init_tlv(pdu)
    if isinstance(pdu, SearchRequest):
        return _search_request_tlv(pdu)
    if isinstance(pdu, SearchResponse):
        return _search_response_tlv(pdu)
    if isinstance(pdu, PresentRequest):
        return _present_request_tlv(pdu)
    if isinstance(pdu, PresentResponse):
        return _present_response_tlv(pdu)
    if isinstance(pdu, Close):
        return _close_tlv(pdu)
    return pdu.value


def encode_pdu(pdu: Pdu, *, indefinite: bool = False) -> bytes:
    """Encode a PDU to BER (definite lengths unless ``indefinite``)."""
    return encode(pdu_to_tlv(pdu), indefinite=indefinite)


def pdu_from_tlv(tlv: Tlv) -> Pdu:
    """Map a decoded BER tree to a PDU; unknown context tags become :class:`UnknownPdu`."""
    if tlv.cls != CONTEXT or not tlv.constructed:
        raise ApduError(f"not a Z39.50 PDU: tag {tlv.key}")
    n = tlv.number
    if n == INIT_REQUEST:
        return _init(tlv, response=False)
    if n == INIT_RESPONSE:
        return _init(tlv, response=True)
    if n == SEARCH_REQUEST:
        return _search_request(tlv)
    if n == SEARCH_RESPONSE:
        return _search_response(tlv)
    if n == PRESENT_REQUEST:
        return _present_request(tlv)
    if n == PRESENT_RESPONSE:
        return _present_response(tlv)
    if n == CLOSE:
        return _close(tlv)
    return UnknownPdu(n, tlv)


def decode_pdu(data: bytes, limits: BerLimits = DEFAULT_LIMITS) -> Pdu:
    """Decode exactly one PDU from bytes; raises :class:`BerError` on bad input."""
    return pdu_from_tlv(decode(data, limits))


# Public re-exports used by sibling modules.
external_to_tlv = _external_tlv
external_from_tlv = _external
other_info_to_tlv = _other_info_tlv
default_diag_to_tlv = _default_diag_tlv
records_to_tlv = _records_tlv
name_plus_record_to_tlv = _name_plus_record_tlv
