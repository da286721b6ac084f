"""Record syntaxes carried in EXTERNAL: MARC/XML (octet-aligned), SUTRS and OPAC.

:func:`marc_external`, :func:`xml_external`, :func:`sutrs_external` and
:func:`opac_external` build the EXTERNAL for a response record;
:func:`sutrs_text` and :func:`opac_record` read them back.  The OPAC record
(1.2.840.10003.5.102) carries a bibliographic record plus holdings and
circulation data, which is how branch holdings are exposed.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import oids
from .apdu import ApduError, External, external_from_tlv, external_to_tlv
from .ber import CONTEXT, UNIVERSAL, Tlv, bool_from_content, bool_to_content

__all__ = [
    "CircRecord",
    "HoldingsAndCirc",
    "OpacRecord",
    "Volume",
    "marc_external",
    "opac_external",
    "opac_record",
    "sutrs_external",
    "sutrs_text",
    "xml_external",
]


def marc_external(data: bytes, syntax: str = oids.USMARC) -> External:
    """ISO 2709 bytes as an octet-aligned EXTERNAL (USMARC, UNIMARC/CNMARC …)."""
    return External(syntax, data)


def xml_external(data: bytes) -> External:
    """An XML document (e.g. MARCXML) as an octet-aligned EXTERNAL."""
    return External(oids.XML, data)


def sutrs_external(text: str, encoding: str = "utf-8") -> External:
    """SUTRS: an InternationalString in ``single-ASN1-type``."""
    return External(oids.SUTRS, Tlv(UNIVERSAL, 27, False, text.encode(encoding, "surrogateescape")))


def sutrs_text(ext: External, encoding: str = "utf-8") -> str:
    """The text of a SUTRS record (GeneralString or VisibleString accepted)."""
    enc = ext.encoding
    if isinstance(enc, bytes):
        return enc.decode(encoding, "replace")
    if isinstance(enc, Tlv) and not enc.constructed and enc.cls == UNIVERSAL:
        return enc.content.decode(encoding, "replace")
    raise ApduError("SUTRS record is not a string")


@dataclass(frozen=True, slots=True)
class CircRecord:
    """OPAC CircRecord: one circulating item."""

    available_now: bool
    renewable: bool = False
    on_hold: bool = False
    availability_date: str | None = None
    available_thru: str | None = None
    restrictions: str | None = None
    item_id: str | None = None
    enum_and_chron: str | None = None
    midspine: str | None = None
    temporary_location: str | None = None


@dataclass(frozen=True, slots=True)
class Volume:
    """OPAC Volume."""

    enumeration: str | None = None
    chronology: str | None = None
    enum_and_chron: str | None = None


_HOLDING_STRINGS = (
    "type_of_record",
    "encoding_level",
    "format",
    "receipt_acq_status",
    "general_retention",
    "completeness",
    "date_of_report",
    "nuc_code",
    "local_location",
    "shelving_location",
    "call_number",
    "shelving_data",
    "copy_number",
    "public_note",
    "reproduction_note",
    "terms_use_repro",
    "enum_and_chron",
)


@dataclass(frozen=True, slots=True)
class HoldingsAndCirc:
    """OPAC HoldingsAndCircData (tags 1–17 are strings, 18 volumes, 19 circulation)."""

    type_of_record: str | None = None
    encoding_level: str | None = None
    format: str | None = None
    receipt_acq_status: str | None = None
    general_retention: str | None = None
    completeness: str | None = None
    date_of_report: str | None = None
    nuc_code: str | None = None
    local_location: str | None = None
    shelving_location: str | None = None
    call_number: str | None = None
    shelving_data: str | None = None
    copy_number: str | None = None
    public_note: str | None = None
    reproduction_note: str | None = None
    terms_use_repro: str | None = None
    enum_and_chron: str | None = None
    volumes: tuple[Volume, ...] | None = None
    circulation: tuple[CircRecord, ...] | None = None


@dataclass(frozen=True, slots=True)
class OpacRecord:
    """OPACRecord: bibliographic record plus holdings (``External`` = marcHoldingsRecord)."""

    bibliographic_record: External | None = None
    holdings: tuple[HoldingsAndCirc | External, ...] | None = None


def _s(n: int, v: str) -> Tlv:
    return Tlv(CONTEXT, n, False, v.encode("utf-8", "surrogateescape"))


def _seq(cls: int, n: int, parts: list[Tlv]) -> Tlv:
    return Tlv(cls, n, True, b"", tuple(parts))


def _circ_tlv(c: CircRecord) -> Tlv:
    parts = [Tlv(CONTEXT, 1, False, bool_to_content(c.available_now))]
    for n, v in (
        (2, c.availability_date),
        (3, c.available_thru),
        (4, c.restrictions),
        (5, c.item_id),
    ):
        if v is not None:
            parts.append(_s(n, v))
    parts.append(Tlv(CONTEXT, 6, False, bool_to_content(c.renewable)))
    parts.append(Tlv(CONTEXT, 7, False, bool_to_content(c.on_hold)))
    for n, v in ((8, c.enum_and_chron), (9, c.midspine), (10, c.temporary_location)):
        if v is not None:
            parts.append(_s(n, v))
    return _seq(UNIVERSAL, 16, parts)


def _holding_tlv(h: HoldingsAndCirc | External) -> Tlv:
    if isinstance(h, External):
        return external_to_tlv(h, 1, CONTEXT)
    parts: list[Tlv] = []
    for i, name in enumerate(_HOLDING_STRINGS, start=1):
        v = getattr(h, name)
        if v is not None:
            parts.append(_s(i, v))
    if h.volumes is not None:
        vols = []
        for vol in h.volumes:
            vp = [
                _s(n, x)
                for n, x in ((1, vol.enumeration), (2, vol.chronology), (3, vol.enum_and_chron))
                if x is not None
            ]
            vols.append(_seq(UNIVERSAL, 16, vp))
        parts.append(_seq(CONTEXT, 18, vols))
    if h.circulation is not None:
        parts.append(_seq(CONTEXT, 19, [_circ_tlv(c) for c in h.circulation]))
    return _seq(CONTEXT, 2, parts)


def opac_external(record: OpacRecord) -> External:
    """An OPAC record as EXTERNAL (single-ASN1-type)."""
    parts: list[Tlv] = []
    if record.bibliographic_record is not None:
        parts.append(external_to_tlv(record.bibliographic_record, 1, CONTEXT))
    if record.holdings is not None:
        parts.append(_seq(CONTEXT, 2, [_holding_tlv(h) for h in record.holdings]))
    return External(oids.OPAC, _seq(UNIVERSAL, 16, parts))


def _fields(t: Tlv, what: str) -> dict[int, Tlv]:
    if not t.constructed:
        raise ApduError(f"{what}: expected constructed")
    out: dict[int, Tlv] = {}
    for c in t.children:
        if c.cls != CONTEXT or c.number in out:
            raise ApduError(f"{what}: unexpected field {c.key}")
        out[c.number] = c
    return out


def _str(t: Tlv | None) -> str | None:
    if t is None:
        return None
    if t.constructed:
        raise ApduError("expected a string")
    return t.content.decode("utf-8", "surrogateescape")


def _bool(t: Tlv | None, default: bool) -> bool:
    if t is None:
        return default
    if t.constructed:
        raise ApduError("expected a BOOLEAN")
    return bool_from_content(t.content)


def _holding(t: Tlv) -> HoldingsAndCirc | External:
    if t.key == (CONTEXT, 1):
        return external_from_tlv(t)
    if t.key != (CONTEXT, 2):
        raise ApduError("HoldingsRecord: unknown choice")
    f = _fields(t, "HoldingsAndCircData")
    kw: dict[str, str | None] = {
        name: _str(f.get(i)) for i, name in enumerate(_HOLDING_STRINGS, start=1)
    }
    volumes: tuple[Volume, ...] | None = None
    if 18 in f:
        vols = []
        for v in f[18].children:
            vf = _fields(v, "Volume")
            vols.append(Volume(_str(vf.get(1)), _str(vf.get(2)), _str(vf.get(3))))
        volumes = tuple(vols)
    circulation: tuple[CircRecord, ...] | None = None
    if 19 in f:
        circs = []
        for c in f[19].children:
            cf = _fields(c, "CircRecord")
            circs.append(
                CircRecord(
                    available_now=_bool(cf.get(1), False),
                    renewable=_bool(cf.get(6), False),
                    on_hold=_bool(cf.get(7), False),
                    availability_date=_str(cf.get(2)),
                    available_thru=_str(cf.get(3)),
                    restrictions=_str(cf.get(4)),
                    item_id=_str(cf.get(5)),
                    enum_and_chron=_str(cf.get(8)),
                    midspine=_str(cf.get(9)),
                    temporary_location=_str(cf.get(10)),
                )
            )
        circulation = tuple(circs)
    return HoldingsAndCirc(**kw, volumes=volumes, circulation=circulation)


def opac_record(ext: External) -> OpacRecord:
    """Read an OPAC record from its EXTERNAL."""
    t = ext.encoding
    if not isinstance(t, Tlv) or t.key != (UNIVERSAL, 16):
        raise ApduError("OPAC record is not a SEQUENCE")
    f = _fields(t, "OPACRecord")
    bib = None if 1 not in f else external_from_tlv(f[1])
    holdings: tuple[HoldingsAndCirc | External, ...] | None = None
    if 2 in f:
        holdings = tuple(_holding(h) for h in f[2].children)
    return OpacRecord(bib, holdings)
