"""Serialise records for serving: ISO 2709 in UTF-8 or GB18030, and MARCXML.

ISO 2709 output always carries a charset declaration that matches its bytes:

* MARC21: leader/09 ``a`` for UTF-8, blank otherwise (MARC21 has no code for GB18030: a
  GB18030 MARC21 record is what Chinese Z39.50 targets send, and clients must be told);
* CNMARC/UNIMARC: 100$a/26-29 ``50␣␣`` for UTF-8, ``0120`` for GB18030 (see
  :data:`~ils_bridge.catalogue.encodings.CNMARC_CHARSET_CODES`); a short 100$a is padded
  with blanks to 36 characters first. A record without 100$a is written without a
  declaration (we do not invent fixed data).

Lengths and the directory are computed from the encoded bytes (domain.md §3.3: never patch
bytes). The record passed in is never modified.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence

import pymarc
from lxml import etree

from ils_bridge.catalogue.encodings import CNMARC_CHARSET_CODES
from ils_bridge.catalogue.model import Charset, Flavour

__all__ = [
    "MARC21_SLIM_NS",
    "MarcWriteError",
    "iso2709_from_texts",
    "to_iso2709",
    "to_marcxml",
    "to_marcxml_collection",
    "with_charset_declaration",
]

MARC21_SLIM_NS = "http://www.loc.gov/MARC21/slim"
_WRITABLE = (Charset.UTF8, Charset.GB18030)
_STRUCTURE_BYTES = frozenset(b"\x1d\x1e\x1f")


class MarcWriteError(ValueError):
    """The record cannot be serialised (a value holds an ISO 2709 delimiter, a field is
    longer than 9999 bytes, the record longer than 99999, a tag or code is malformed)."""


def with_charset_declaration(
    record: pymarc.Record, flavour: Flavour, charset: Charset
) -> pymarc.Record:
    """A copy of ``record`` whose own charset declaration says ``charset``."""
    if charset not in _WRITABLE:
        raise MarcWriteError(f"cannot write {charset.value}; use UTF-8 or GB18030")
    out = copy.deepcopy(record)
    leader = str(out.leader).ljust(24)[:24]
    if flavour is Flavour.MARC21:
        leader = leader[:9] + ("a" if charset is Charset.UTF8 else " ") + leader[10:]
        out.leader = pymarc.Leader(leader)
        return out
    out.leader = pymarc.Leader(leader)
    for field in out.get_fields("100"):
        if field.is_control_field():
            continue
        for i, sf in enumerate(field.subfields):
            if sf.code == "a":
                value = sf.value.ljust(36)
                value = value[:26] + CNMARC_CHARSET_CODES[charset] + value[30:]
                field.subfields[i] = pymarc.Subfield(code="a", value=value)
                return out
    return out


def _encode(text: str, codec: str, where: str) -> bytes:
    data = text.encode(codec)
    if _STRUCTURE_BYTES.intersection(data):
        raise MarcWriteError(f"{where} contains an ISO 2709 delimiter byte (0x1D-0x1F)")
    return data


def to_iso2709(record: pymarc.Record, flavour: Flavour, charset: Charset = Charset.UTF8) -> bytes:
    """ISO 2709 bytes of ``record`` in ``charset`` with the declaration rewritten to match."""
    rec = with_charset_declaration(record, flavour, charset)
    codec = charset.codec
    directory = bytearray()
    data = bytearray()
    for field in rec.fields:
        tag = str(field.tag)
        if len(tag) != 3 or not tag.isascii() or not tag.isprintable():
            raise MarcWriteError(f"tag {tag!r} is not three ASCII characters")
        if field.is_control_field():
            body = _encode(field.data or "", codec, f"field {tag}")
        else:
            inds = "".join(
                c if len(c) == 1 and c.isascii() and c.isprintable() else " "
                for c in (field.indicator1 or " ", field.indicator2 or " ")
            )
            parts = [inds.encode("ascii")]
            for sf in field.subfields:
                code = sf.code
                if len(code) != 1 or not code.isascii() or not code.isprintable():
                    raise MarcWriteError(
                        f"field {tag}: subfield code {code!r} is not one ASCII character"
                    )
                parts.append(
                    b"\x1f" + code.encode("ascii") + _encode(sf.value, codec, f"field {tag}${code}")
                )
            body = b"".join(parts)
        body += b"\x1e"
        if len(body) > 9999:
            raise MarcWriteError(f"field {tag} is {len(body)} bytes; ISO 2709 allows 9999")
        directory += tag.encode("ascii") + b"%04d%05d" % (len(body), len(data))
        data += body
    base = 24 + len(directory) + 1
    total = base + len(data) + 1
    if total > 99999:
        raise MarcWriteError(f"record is {total} bytes; ISO 2709 allows 99999")
    leader = "".join(
        c if c.isascii() and c.isprintable() else " " for c in str(rec.leader).ljust(24)[:24]
    )
    tail = "4500" if flavour is Flavour.MARC21 else "450 "
    leader = f"{total:05d}{leader[5:10]}22{base:05d}{leader[17:20]}{tail}"
    return leader.encode("ascii") + bytes(directory) + b"\x1e" + bytes(data) + b"\x1d"


def iso2709_from_texts(leader: str, texts: Sequence[tuple[str, str]], flavour: Flavour) -> bytes:
    """``to_iso2709(record, flavour, Charset.UTF8)`` of a record given as its leader and field
    texts — ``(tag, text)`` in record order, the text of a data field being its indicators then
    ``"\x1f" + code + value`` per subfield, as :func:`~ils_bridge.catalogue.reader.read_iso2709_fast`
    gives them: the same bytes, without a pymarc record. The texts must hold no empty subfield
    and no ISO 2709 delimiter in a value, and the tags and indicators must be printable ASCII
    (the fast reader guarantees all three). Raises :class:`MarcWriteError` as ``to_iso2709``."""
    leader = leader.ljust(24)[:24]
    if flavour is Flavour.MARC21:
        leader = leader[:9] + "a" + leader[10:]
    else:
        texts = _with_utf8_100a(texts)
    directory: list[str] = []
    bodies: list[bytes] = []
    at = 0
    for tag, text in texts:
        body = text.encode("utf-8") + b"\x1e"
        if len(body) > 9999:
            raise MarcWriteError(f"field {tag} is {len(body)} bytes; ISO 2709 allows 9999")
        directory.append(f"{tag}{len(body):04d}{at:05d}")
        bodies.append(body)
        at += len(body)
    base = 24 + 12 * len(texts) + 1
    total = base + at + 1
    if total > 99999:
        raise MarcWriteError(f"record is {total} bytes; ISO 2709 allows 99999")
    tail = "4500" if flavour is Flavour.MARC21 else "450 "
    leader = f"{total:05d}{leader[5:10]}22{base:05d}{leader[17:20]}{tail}"
    return (leader + "".join(directory) + "\x1e").encode("ascii") + b"".join(bodies) + b"\x1d"


def _with_utf8_100a(texts: Sequence[tuple[str, str]]) -> Sequence[tuple[str, str]]:
    """The texts with the first 100$a declaring UTF-8 (as :func:`with_charset_declaration`)."""
    for i, (tag, text) in enumerate(texts):
        if tag != "100":
            continue
        parts = text.split("\x1f")
        for j in range(1, len(parts)):
            if parts[j][:1] == "a":
                value = parts[j][1:].ljust(36)
                parts[j] = "a" + value[:26] + CNMARC_CHARSET_CODES[Charset.UTF8] + value[30:]
                out = list(texts)
                out[i] = (tag, "\x1f".join(parts))
                return out
    return texts


# characters XML 1.0 cannot carry (C0 controls but TAB/LF/CR, lone surrogates, U+FFFE/U+FFFF)
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def _record_element(record: pymarc.Record, namespace: str) -> etree._Element:
    q = f"{{{namespace}}}" if namespace else ""
    el = etree.Element(f"{q}record", nsmap={None: namespace} if namespace else None)
    try:
        etree.SubElement(el, f"{q}leader").text = _xml_text(str(record.leader))
        for field in record.fields:
            if field.is_control_field():
                cf = etree.SubElement(el, f"{q}controlfield", tag=_xml_text(field.tag))
                cf.text = _xml_text(field.data or "")
                continue
            df = etree.SubElement(
                el,
                f"{q}datafield",
                tag=_xml_text(field.tag),
                ind1=_xml_text(field.indicator1 or " "),
                ind2=_xml_text(field.indicator2 or " "),
            )
            for sf in field.subfields:
                sub = etree.SubElement(df, f"{q}subfield", code=_xml_text(sf.code))
                sub.text = _xml_text(sf.value)
    except ValueError as exc:  # pragma: no cover - _xml_text removed what lxml refuses
        raise MarcWriteError(f"record cannot be written as XML: {exc}") from exc
    return el


def to_marcxml(record: pymarc.Record, *, namespace: str = MARC21_SLIM_NS) -> bytes:
    """MARCXML (UTF-8) of one record; characters XML cannot carry (C0 controls, e.g. from
    a damaged ISO 2709 record) become U+FFFD. CNMARC records are written in the MARC21 slim
    namespace too — the envelope is the same and it is what Z39.50/SRU clients expect;
    pass ``namespace="http://www.nlc.cn/"`` for dp2's CNMARC-XML."""
    return bytes(
        etree.tostring(_record_element(record, namespace), xml_declaration=True, encoding="UTF-8")
    )


def to_marcxml_collection(
    records: Iterable[pymarc.Record], *, namespace: str = MARC21_SLIM_NS
) -> bytes:
    q = f"{{{namespace}}}" if namespace else ""
    root = etree.Element(f"{q}collection", nsmap={None: namespace} if namespace else None)
    for record in records:
        root.append(_record_element(record, namespace))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
