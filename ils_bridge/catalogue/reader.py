"""Permissive MARC readers: ISO 2709 and MARCXML (MARC21 slim, CNMARC-XML, UNIMARC-XML).

Every reader yields, per record, either a :class:`ReadRecord` (Unicode pymarc record +
flavour + charset decision) or a :class:`ReadFailure` (position + reason + raw bytes).
One bad record never stops a batch, and no input makes a reader raise (a property test
holds us to that).

ISO 2709 is parsed here rather than by ``pymarc.MARCReader`` so that the charset can be
decided per record from the bytes (pymarc only knows leader/09 and MARC-8), and so that
failures carry byte offsets.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pymarc
from lxml import etree

from ils_bridge.catalogue.access import DataField, FieldMap
from ils_bridge.catalogue.encodings import decision_for, declared_charset, decode_bytes
from ils_bridge.catalogue.model import (
    Charset,
    CharsetDecision,
    Flavour,
    Position,
    ReadFailure,
    ReadRecord,
    ReadResult,
)
from ils_bridge.catalogue.profiles import FieldView, detect_flavour, detect_flavour_of, record_view

__all__ = [
    "FastRecord",
    "Syntax",
    "read_iso2709",
    "read_iso2709_fast",
    "read_marc",
    "read_marcxml",
    "read_path",
    "sniff_syntax",
]

log = logging.getLogger(__name__)

RECORD_TERMINATOR = 0x1D
FIELD_TERMINATOR = 0x1E
SUBFIELD_DELIMITER = 0x1F
LEADER_LEN = 24

MARC21_SLIM_NS = "http://www.loc.gov/MARC21/slim"
CNMARC_NS = "http://www.nlc.cn/"  # dp2 / NLC CNMARC-XML


class Syntax(enum.Enum):
    ISO2709 = "iso2709"
    MARCXML = "marcxml"


def sniff_syntax(data: bytes) -> Syntax:
    """XML if the first non-blank byte (after a BOM) is ``<``, else ISO 2709."""
    head = data[:512].lstrip(b"\xef\xbb\xbf").lstrip()
    return Syntax.MARCXML if head.startswith(b"<") else Syntax.ISO2709


def read_marc(
    data: bytes,
    *,
    syntax: Syntax | None = None,
    charset: Charset | None = None,
    flavour: Flavour | None = None,
) -> Iterator[ReadResult]:
    """Read every record in ``data``. ``charset`` and ``flavour`` override detection."""
    if (syntax or sniff_syntax(data)) is Syntax.MARCXML:
        return read_marcxml(data, charset=charset, flavour=flavour)
    return read_iso2709(data, charset=charset, flavour=flavour)


def read_path(
    path: str | Path,
    *,
    syntax: Syntax | None = None,
    charset: Charset | None = None,
    flavour: Flavour | None = None,
) -> list[ReadResult]:
    """Read a whole file (MARC files are small enough to hold in memory)."""
    return list(read_marc(Path(path).read_bytes(), syntax=syntax, charset=charset, flavour=flavour))


# ---------------------------------------------------------------------------------------
# shared helpers


class _Damaged(Exception):
    """Internal: a record is structurally broken (becomes a ReadFailure)."""


_LEADER_BLANK_STANDINS = re.compile(r"[-^#]")


def _clean_leader(leader: str, warnings: list[str]) -> str:
    if len(leader) != LEADER_LEN:
        warnings.append(f"leader has {len(leader)} characters, padded/cut to {LEADER_LEN}")
        leader = leader[:LEADER_LEN].ljust(LEADER_LEN)
    if not leader.isascii() or not leader.isprintable():
        warnings.append("leader has non-ASCII or control characters, replaced by blanks")
        leader = "".join(c if c.isascii() and c.isprintable() else " " for c in leader)
    if _LEADER_BLANK_STANDINS.search(leader):
        # real exports write blanks as '-' (dp2/Alma CNMARC-XML) or '^'/'#'
        warnings.append("leader uses '-', '^' or '#' for blanks; normalised")
        leader = _LEADER_BLANK_STANDINS.sub(" ", leader)
    return leader


@dataclass(slots=True)
class _RawField:
    tag: str
    data: bytes | None = None  # control field
    ind1: str = " "
    ind2: str = " "
    subfields: list[tuple[str, bytes]] | None = None


def _indicator(char: str, tag: str, warnings: list[str]) -> str:
    """One indicator: printable ASCII, else blank (with a warning)."""
    if len(char) == 1 and char.isascii() and char.isprintable():
        return char
    warnings.append(f"field {tag}: indicator {char!r} is not printable ASCII; blank used")
    return " "


def _valid_tag(tag: str) -> bool:
    return len(tag) == 3 and tag.isascii() and tag.isprintable()


def _is_control(tag: str) -> bool:
    return tag.isdigit() and tag < "010"


# ---------------------------------------------------------------------------------------
# ISO 2709


def _split_iso2709(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield ``(offset, chunk)`` per record: trust leader/00-04 when it lands on a record
    terminator, else cut at the next terminator."""
    pos, n = 0, len(data)
    while pos < n:
        while pos < n and data[pos] in b"\r\n\x00\x1a":
            pos += 1
        if pos >= n:
            return
        head = data[pos : pos + 5]
        if len(head) == 5 and head.isdigit():
            length = int(head)
            if (
                length >= LEADER_LEN
                and pos + length <= n
                and data[pos + length - 1] == RECORD_TERMINATOR
            ):
                yield pos, data[pos : pos + length]
                pos += length
                continue
        end = data.find(bytes([RECORD_TERMINATOR]), pos)
        end = n - 1 if end == -1 else end
        yield pos, data[pos : end + 1]
        pos = end + 1


_PRINTABLE_ASCII = [chr(b) for b in range(0x80) if chr(b).isprintable()]
#: indicator bytes that need no repair → the two indicators
_GOOD_INDICATORS = {
    (a + b).encode("ascii"): a + b for a in _PRINTABLE_ASCII for b in _PRINTABLE_ASCII
}
#: first byte of a subfield → its code, None when it is not printable ASCII
_SUBFIELD_CODES: list[str | None] = [
    chr(b) if b < 0x80 and chr(b).isprintable() else None for b in range(256)
]


def _parse_structure(chunk: bytes, warnings: list[str]) -> tuple[str, list[_RawField]]:
    if len(chunk) < LEADER_LEN:
        raise _Damaged(f"only {len(chunk)} bytes: shorter than a leader")
    leader = _clean_leader(chunk[:LEADER_LEN].decode("latin-1"), warnings)
    if chunk[-1] != RECORD_TERMINATOR:
        raise _Damaged("record is truncated: no record terminator (0x1D)")
    if leader[:5].isdigit() and int(leader[:5]) != len(chunk):
        warnings.append(f"leader says {int(leader[:5])} bytes, record has {len(chunk)}")
    base_raw = leader[12:17]
    if not base_raw.isdigit():
        raise _Damaged(f"base address of data {base_raw!r} is not a number")
    base = int(base_raw)
    if base <= LEADER_LEN or base >= len(chunk) or chunk[base - 1] != FIELD_TERMINATOR:
        raise _Damaged(f"base address of data {base} does not point after the directory")
    directory = chunk[LEADER_LEN : base - 1]
    if not directory.isascii():
        raise _Damaged("directory contains non-ASCII bytes")
    if len(directory) % 12:
        raise _Damaged(f"directory length {len(directory)} is not a multiple of 12")
    if not directory:
        raise _Damaged("record has no fields")
    text = directory.decode("ascii")
    fields: list[_RawField] = []
    for i in range(0, len(text), 12):
        entry = text[i : i + 12]
        tag, length_raw, start_raw = entry[:3], entry[3:7], entry[7:12]
        if not (length_raw.isdigit() and start_raw.isdigit()) or not tag.isprintable():
            raise _Damaged(f"directory entry {i // 12} {entry!r} is malformed")
        start, length = base + int(start_raw), int(length_raw)
        if start + length > len(chunk) - 1 or length == 0:
            raise _Damaged(
                f"field {tag} (directory entry {i // 12}) runs past the end of the record"
            )
        body = chunk[start : start + length]
        end = body.find(b"\x1e")
        if end == length - 1 and b"\x1d" not in body:  # the common case: ends where it should
            body = body[:end]
        elif not (ends := [k for k in (end, body.find(b"\x1d")) if k >= 0]):
            warnings.append(f"field {tag} does not end with a field terminator")
        else:
            if min(ends) != len(body) - 1:
                warnings.append(f"field {tag}: directory length overruns its terminator; cut")
            body = body[: min(ends)]
        if _is_control(tag):
            if b"\x1f" in body:
                # a data field whose tag was damaged into a control tag (106 → 006)
                warnings.append(f"control field {tag} holds subfield delimiters; shown as U+FFFD")
            fields.append(_RawField(tag, data=body))
            continue
        parts = body.split(b"\x1f")
        inds = _GOOD_INDICATORS.get(parts[0])  # the common case: two printable ASCII
        if inds is None:
            raw_inds = parts[0].decode("latin-1")
            if len(raw_inds) != 2:
                warnings.append(f"field {tag} has {len(raw_inds)} indicator characters")
            inds = _indicator((raw_inds + "  ")[0], tag, warnings) + _indicator(
                raw_inds[1:2] or " ", tag, warnings
            )
        subs: list[tuple[str, bytes]] = []
        for part in parts[1:]:
            if not part:
                continue
            code = _SUBFIELD_CODES[part[0]]
            if code is None:
                warnings.append(f"field {tag} has a non-ASCII subfield code, kept as '?'")
                subs.append(("?", part))
            else:
                subs.append((code, part[1:]))
        fields.append(_RawField(tag, ind1=inds[0], ind2=inds[1], subfields=subs))
    return leader, fields


def _views_latin1(fields: list[_RawField]) -> list[FieldView]:
    """Field views for flavour detection; latin-1 keeps ASCII patterns intact."""
    out: list[FieldView] = []
    for f in fields:
        if f.data is not None:
            out.append((f.tag, {"": f.data.decode("latin-1")}))
        else:
            subs: dict[str, str] = {}
            for code, value in f.subfields or []:
                subs.setdefault(code, value.decode("latin-1"))
            out.append((f.tag, subs))
    return out


def _parse_iso_record(
    chunk: bytes, charset: Charset | None, flavour: Flavour | None
) -> tuple[pymarc.Record, Flavour, CharsetDecision, list[str]]:
    warnings: list[str] = []
    leader, fields = _parse_structure(chunk, warnings)
    views = _views_latin1(fields)
    flav = flavour or detect_flavour(leader, views)
    f100a = next((s.get("a") for tag, s in views if tag == "100"), None)
    body = b"".join(
        f.data if f.data is not None else b"".join(v for _, v in f.subfields or []) for f in fields
    )
    decision = decision_for(body, flav, leader, f100a, charset)
    record = pymarc.Record()
    record.leader = pymarc.Leader(leader)
    lossy = False
    used = decision.used
    codec = used.codec
    whole_field = used in (Charset.UTF8, Charset.GB18030)

    def decode(data: bytes) -> tuple[str, bool]:
        if used is not Charset.MARC8:
            try:
                return data.decode(codec), False  # the common case, without the call below
            except UnicodeDecodeError:
                pass
        return decode_bytes(data, used)

    for f in fields:
        if f.data is not None:
            text, bad = decode(f.data)
            lossy |= bad
            record.fields.append(pymarc.Field(tag=f.tag, data=text.replace("\x1f", "\ufffd")))
            continue
        raw_subs = f.subfields or []
        texts: list[str] | None = None
        if whole_field and len(raw_subs) > 1:
            # One decode per field: values hold no 0x1F and, in UTF-8 and GB18030, 0x1F is
            # never part of a multi-byte character, so this is the values' decodings joined
            try:
                texts = b"\x1f".join(v for _, v in raw_subs).decode(codec).split("\x1f")
            except UnicodeDecodeError:
                texts = None
        subfields = []
        if texts is not None:
            for (code, _), text in zip(raw_subs, texts, strict=True):
                subfields.append(pymarc.Subfield(code=code, value=text))
        else:
            for code, value in raw_subs:
                text, bad = decode(value)
                lossy |= bad
                subfields.append(pymarc.Subfield(code=code, value=text))
        record.fields.append(
            pymarc.Field(
                tag=f.tag, indicators=pymarc.Indicators(f.ind1, f.ind2), subfields=subfields
            )
        )
    if lossy:
        warnings.append(f"some bytes are not valid {decision.used.value}; replaced")
        decision = dataclasses.replace(decision, lossy=True)
    if decision.declaration_lied:
        warnings.append(_lie_warning(decision))
    return record, flav, decision, warnings


# ---------------------------------------------------------------------------------------
# ISO 2709, bulk fast path: no pymarc record


@dataclass(slots=True)
class FastRecord:
    """A clean ISO 2709 record read without building a pymarc record (see
    :func:`read_iso2709_fast`): what the bulk import needs, equal to what the full reader
    gives (``fields`` is :func:`~ils_bridge.catalogue.access.field_map` of its record)."""

    leader: str
    flavour: Flavour
    charset: CharsetDecision
    warnings: tuple[str, ...]
    fields: FieldMap
    tags: list[str]  # every field's tag, in record order
    #: every field's decoded text without its terminator, in record order — the control data,
    #: or the indicators followed by "\x1f" + code + value per subfield (and an empty last)
    field_texts: list[str]

    @property
    def texts(self) -> list[tuple[str, str]]:
        """Every field in record order: (tag, decoded text without its terminator)."""
        return list(zip(self.tags, self.field_texts, strict=False))


# printable ASCII but the blank stand-ins '#', '-', '^' that the full reader rewrites
_LEADER_CHAR = r"[\x20-\x22\x24-\x2c\x2e-\x5d\x5f-\x7e]"
_CLEAN_LEADER = re.compile(
    f"([0-9]{{5}}){_LEADER_CHAR}{{7}}([0-9]{{5}}){_LEADER_CHAR}{{7}}".encode()
)
#: the tag of each directory entry (a form the full reader accepts)
_DIRECTORY_TAG = re.compile(r"([\x20-\x7e]{3})[0-9]{9}")
#: the tags :func:`_is_control` says
_CONTROL_TAGS = frozenset(f"00{d}" for d in range(10))
# a subfield delimiter not followed by a printable ASCII code (an empty or non-ASCII code)
_ODD_SUBFIELD = re.compile(rb"\x1f[^\x20-\x7e]")
_GOOD_INDICATOR_TEXT = frozenset(_GOOD_INDICATORS.values())
#: good indicators followed by a subfield delimiter
_GOOD_HEADS = frozenset(inds + "\x1f" for inds in _GOOD_INDICATOR_TEXT)
#: (code, value) of each subfield of a data field's text (codes are checked beforehand)
_SUBFIELD = re.compile("\x1f(.)([^\x1f]*)", re.DOTALL)
#: charset decisions for valid UTF-8 field bytes without ESC, by what they depend on
_UTF8_DECISIONS: dict[tuple[Flavour, str | None, bool, Charset | None], CharsetDecision] = {}


def _first_a_latin1(piece: bytes) -> str | None:
    """Latin-1 text of the first $a of a data field's bytes (as :func:`_views_latin1`)."""
    for part in piece.split(b"\x1f")[1:]:
        if part[:1] == b"a":
            return part[1:].decode("latin-1")
    return None


def read_iso2709_fast(
    chunk: bytes, charset: Charset | None = None, flavour: Flavour | None = None
) -> FastRecord | None:
    """Read one ISO 2709 record (a chunk of :func:`_split_iso2709`) the quick way, or return
    None when it needs the full reader: anything that reader would repair, warn about
    (but a lying charset declaration) or refuse — a leader with blank stand-ins or a wrong
    length, a directory out of order or with gaps, a misplaced terminator, odd indicators or
    subfield codes, an empty subfield, ESC bytes (MARC-8), bytes that do not decode in the
    charset used. The result is the full reader's (a property test holds the two together)."""
    n = len(chunk)
    if n <= LEADER_LEN or chunk[-1] != RECORD_TERMINATOR:
        return None
    m = _CLEAN_LEADER.fullmatch(chunk, 0, LEADER_LEN)
    if m is None or int(m[1]) != n:
        return None
    base = int(m[2])
    if base <= LEADER_LEN or base >= n or chunk[base - 1] != FIELD_TERMINATOR:
        return None
    directory = chunk[LEADER_LEN : base - 1].decode("latin-1")
    area = chunk[base:-1]
    pieces = area.split(b"\x1e")
    tags: list[str] = _DIRECTORY_TAG.findall(directory)
    if (
        not directory
        or len(pieces) != len(tags) + 1
        or pieces[-1]
        or b"\x1d" in area
        or b"\x1b" in area
        or _ODD_SUBFIELD.search(area) is not None
    ):
        return None
    leader = chunk[:LEADER_LEN].decode("ascii")
    tag_set = set(tags)
    f100a = _first_a_latin1(pieces[tags.index("100")]) if "100" in tag_set else None
    flav = flavour or detect_flavour_of(
        leader,
        tag_set,
        f100a or "",
        (_first_a_latin1(pieces[tags.index("101")]) if "101" in tag_set else None) or "",
        (_first_a_latin1(pieces[tags.index("801")]) if "801" in tag_set else None) or "",
    )
    try:
        text: str | None = area.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        # The charset is sniffed from the field bytes without indicators and delimiters; with
        # those (all ASCII, checked below) left in, the rules decide the same for bytes that
        # are valid UTF-8 and hold no ESC: ASCII stays ASCII, UTF-8 stays UTF-8. And then the
        # decision depends on nothing but what the key below holds.
        if flav is Flavour.MARC21:
            declaration: str | None = leader[9:10]
        else:
            declaration = f100a[26:30] if f100a is not None and len(f100a) >= 28 else None
        key = (flav, declaration, area.isascii(), charset)
        decision_or_none = _UTF8_DECISIONS.get(key)
        if decision_or_none is None:
            if len(_UTF8_DECISIONS) > 4096:
                _UTF8_DECISIONS.clear()
            decision_or_none = _UTF8_DECISIONS[key] = decision_for(
                area, flav, leader, f100a, charset
            )
        decision = decision_or_none
    else:
        decision = decision_for(_value_bytes(tags, pieces), flav, leader, f100a, charset)
    used = decision.used
    if used is not Charset.UTF8 or text is None:
        if used is Charset.MARC8 and not area.isascii():
            return None
        try:
            text = area.decode("ascii" if used is Charset.MARC8 else used.codec)
        except UnicodeDecodeError:
            return None
    # 0x1E and 0x1F are never part of a UTF-8 or GB18030 character, so the decoded pieces are
    # the pieces' decodings
    data: dict[str, list[DataField]] = {}
    control: dict[str, str] = {}
    field_texts = text.split("\x1e")
    subfields = _SUBFIELD.findall
    # and the directory the fields in order without gaps would have, to check against the
    # record's below (pieces and field_texts have an empty last one more)
    start = 0
    entries: list[str | int] = []
    for tag, piece, ftext in zip(tags, pieces, field_texts, strict=False):
        size = len(piece) + 1
        entries += (tag, size * 100000 + start)
        start += size
        if tag in _CONTROL_TAGS:
            if "\x1f" in ftext:
                return None
            if ftext and tag not in control:
                control[tag] = ftext
            continue
        # two good indicators, then a subfield or nothing
        if ftext[:3] not in _GOOD_HEADS and ftext not in _GOOD_INDICATOR_TEXT:
            return None
        if tag in data:
            data[tag].append((ftext[0], ftext[1], subfields(ftext, 2)))
        else:
            data[tag] = [(ftext[0], ftext[1], subfields(ftext, 2))]
    # The record's directory, or it needs the full reader (this checks the directory's form
    # too; until here the fields were read as if it held). A field's length and start,
    # "%04d%05d", are "%09d" of length × 100000 + start: the start is below 100000, as the
    # whole record is; a length over 9999 makes ten digits, which no directory matches.
    if ("%s%09d" * len(tags)) % tuple(entries) != directory:
        return None
    warnings: tuple[str, ...] = ()
    if decision.declaration_lied:
        warnings = (_lie_warning(decision),)
    return FastRecord(leader, flav, decision, warnings, FieldMap(data, control), tags, field_texts)


def _value_bytes(tags: Sequence[str], pieces: list[bytes]) -> bytes:
    """The bytes the charset is sniffed from: control data and subfield values, joined."""
    out: list[bytes] = []
    for tag, piece in zip(tags, pieces, strict=False):
        if tag < "010" and tag.isdigit():
            out.append(piece)
        else:
            out.extend(part[1:] for part in piece.split(b"\x1f")[1:])
    return b"".join(out)


def _lie_warning(decision: CharsetDecision) -> str:
    return (
        f"declares {decision.declared.value if decision.declared else '?'} "
        f"({decision.declared_raw!r}) but the bytes are {decision.detected.value}"
    )


def read_iso2709(
    data: bytes, *, charset: Charset | None = None, flavour: Flavour | None = None
) -> Iterator[ReadResult]:
    """Read ISO 2709 records; never raises."""
    for index, (offset, chunk) in enumerate(_split_iso2709(data)):
        position = Position(index=index, offset=offset)
        try:
            record, flav, decision, warnings = _parse_iso_record(chunk, charset, flavour)
        except _Damaged as exc:
            yield ReadFailure(position=position, reason=str(exc), raw=chunk)
            continue
        except Exception as exc:  # a bug, but still one record's problem only
            log.exception("unexpected error reading %s", position)
            yield ReadFailure(position=position, reason=f"internal error: {exc!r}", raw=chunk)
            continue
        yield ReadRecord(
            record=record,
            flavour=flav,
            charset=decision,
            position=position,
            raw=chunk,
            warnings=tuple(warnings),
        )


# ---------------------------------------------------------------------------------------
# MARCXML


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_MARC_CHILDREN = frozenset({"leader", "controlfield", "datafield"})


def _local(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _namespace_hint(el: etree._Element) -> Flavour | None:
    tag = el.tag if isinstance(el.tag, str) else ""
    ns = tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
    if ns == MARC21_SLIM_NS:
        return Flavour.MARC21
    if ns == CNMARC_NS or "cnmarc" in ns.lower():
        return Flavour.CNMARC
    if "unimarc" in ns.lower():
        return Flavour.UNIMARC
    return None


def _xml_charset(name: str | None) -> Charset:
    low = (name or "utf-8").lower().replace("_", "-")
    if low.startswith("gb"):
        return Charset.GB18030
    return Charset.UTF8


def _parse_xml(data: bytes, charset: Charset | None) -> tuple[etree._Element, Charset, list[str]]:
    """Parse the document; fall back to GB18030 for undeclared GB bytes, then to lxml's
    recovery mode (records salvaged from a broken document carry a warning)."""
    notes: list[str] = []

    def parser(recover: bool) -> etree.XMLParser:
        return etree.XMLParser(
            recover=recover, resolve_entities=False, no_network=True, huge_tree=False
        )

    def salvage(source: str | bytes, why: str) -> etree._Element:
        root = etree.fromstring(source, parser(recover=True))
        if root is None:
            raise _Damaged(why)
        return root

    if charset is not None:
        text = _XML_DECL.sub("", data.decode(charset.codec, errors="replace").lstrip("\ufeff"))
        return salvage(text, "nothing readable in the document"), charset, notes
    try:
        root = etree.fromstring(data, parser(recover=False))
        return root, _xml_charset(root.getroottree().docinfo.encoding), notes
    except etree.XMLSyntaxError as exc:
        first_error = str(exc)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            pass
        else:
            notes.append("document is not UTF-8 as declared; read as GB18030")
            root = salvage(_XML_DECL.sub("", text.lstrip("\ufeff")), first_error)
            return root, Charset.GB18030, notes
    notes.append(f"document is damaged ({first_error}); record recovered by the XML parser")
    root = salvage(data, first_error)
    return root, _xml_charset(root.getroottree().docinfo.encoding), notes


def _xml_record(
    el: etree._Element, doc_charset: Charset, override: Charset | None, flavour: Flavour | None
) -> tuple[pymarc.Record, Flavour, CharsetDecision, list[str]]:
    warnings: list[str] = []
    leader_text = ""
    record = pymarc.Record()
    for child in el:
        name = _local(child)
        if name == "leader":
            leader_text = child.text or ""
        elif name == "controlfield":
            tag = child.get("tag") or ""
            if not _valid_tag(tag):
                warnings.append(f"controlfield with tag {tag!r} at line {child.sourceline} skipped")
                continue
            record.fields.append(pymarc.Field(tag=tag, data=child.text or ""))
        elif name == "datafield":
            tag = child.get("tag") or ""
            if not _valid_tag(tag):
                warnings.append(f"datafield with tag {tag!r} at line {child.sourceline} skipped")
                continue
            subs = []
            for sf in child:
                if _local(sf) != "subfield":
                    continue
                code = sf.get("code") or ""
                if len(code) != 1 or not code.isascii() or not code.isprintable():
                    warnings.append(f"field {tag}: subfield code {code!r} skipped")
                    continue
                subs.append(pymarc.Subfield(code=code, value=sf.text or ""))
            ind1 = _indicator((child.get("ind1") or " ")[:1], tag, warnings)
            ind2 = _indicator((child.get("ind2") or " ")[:1], tag, warnings)
            record.fields.append(
                pymarc.Field(tag=tag, indicators=pymarc.Indicators(ind1, ind2), subfields=subs)
            )
    if not record.fields:
        raise _Damaged("record has no fields")
    leader = _clean_leader(leader_text, warnings)
    record.leader = pymarc.Leader(leader)
    views = record_view(record)
    flav = flavour or detect_flavour(leader, views, hint=_namespace_hint(el))
    f100a = next((s.get("a") for tag, s in views if tag == "100"), None)
    declared, raw = declared_charset(flav, leader, f100a)
    decision = CharsetDecision(
        declared=declared,
        declared_raw=raw,
        detected=doc_charset,
        used=override or doc_charset,
        overridden=override is not None,
    )
    return record, flav, decision, warnings


def read_marcxml(
    data: bytes, *, charset: Charset | None = None, flavour: Flavour | None = None
) -> Iterator[ReadResult]:
    """Read every ``record`` element (any namespace: MARC21 slim, ``http://www.nlc.cn/``,
    UNIMARC-XML, none) that has leader/controlfield/datafield children — SRU wrappers are
    looked through. Never raises.

    In XML the charset is the document's (the parser decodes it); the record's own
    declaration is still reported in ``CharsetDecision.declared``.
    """
    try:
        root, doc_charset, notes = _parse_xml(data, charset)
    except Exception as exc:
        yield ReadFailure(position=Position(index=0, offset=0), reason=f"not XML: {exc}", raw=data)
        return
    index = 0
    for el in root.iter():
        if _local(el) != "record" or not any(_local(c) in _MARC_CHILDREN for c in el):
            continue
        position = Position(index=index, line=el.sourceline)
        index += 1
        raw = etree.tostring(el, encoding="utf-8")
        try:
            record, flav, decision, warnings = _xml_record(el, doc_charset, charset, flavour)
        except _Damaged as exc:
            yield ReadFailure(position=position, reason=str(exc), raw=raw)
            continue
        except Exception as exc:
            log.exception("unexpected error reading %s", position)
            yield ReadFailure(position=position, reason=f"internal error: {exc!r}", raw=raw)
            continue
        yield ReadRecord(
            record=record,
            flavour=flav,
            charset=decision,
            position=position,
            raw=raw,
            warnings=tuple(notes + warnings),
        )
    if index == 0:
        yield ReadFailure(
            position=Position(index=0, offset=0),
            reason="no MARC record elements in the XML",
            raw=data,
        )
