"""Sans-I/O BER (X.690 Basic Encoding Rules) for Z39.50.

Three things live here:

* :class:`Tlv`, a decoded tag-length-value tree.  Definite and indefinite
  length encodings of the same value decode to equal trees.
* :func:`decode` / :func:`encode`: whole-value conversion.  Encoding uses
  definite lengths unless ``indefinite=True`` (YAZ style, used by tests).
* :func:`frame_length`: incremental framing of a byte stream into whole PDUs,
  like YAZ ``completeBER``.  It never allocates according to a declared
  length and refuses values beyond :class:`BerLimits`.

Primitive helpers convert INTEGER, BOOLEAN, OBJECT IDENTIFIER and BIT STRING
contents.  Every malformed input raises :class:`BerError` (a ``ValueError``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

__all__ = [
    "APPLICATION",
    "CONTEXT",
    "PRIVATE",
    "UNIVERSAL",
    "BerError",
    "BerLimits",
    "Tlv",
    "bits_from_content",
    "bits_to_content",
    "bool_from_content",
    "bool_to_content",
    "decode",
    "decode_prefix",
    "encode",
    "encoded_size",
    "frame_length",
    "int_from_content",
    "int_to_content",
    "oid_from_content",
    "oid_to_content",
]

UNIVERSAL = 0
APPLICATION = 1
CONTEXT = 2
PRIVATE = 3


class BerError(ValueError):
    """The bytes are not acceptable BER (malformed, truncated or over a limit)."""


@dataclass(frozen=True, slots=True)
class BerLimits:
    """Hard limits applied while framing and decoding.

    ``max_pdu_size``: largest whole PDU in bytes; ``max_depth``: deepest
    nesting of constructed values; ``max_length_octets``: longest long-form
    length (4 means lengths up to 4 GiB are *representable*, but they are still
    checked against ``max_pdu_size`` before anything is read);
    ``max_tag_octets``: longest high-tag-number continuation.
    """

    max_pdu_size: int = 16 * 1024 * 1024
    max_depth: int = 64
    max_length_octets: int = 4
    max_tag_octets: int = 4


DEFAULT_LIMITS = BerLimits()


@dataclass(frozen=True, slots=True)
class Tlv:
    """One BER value: tag class, tag number, primitive content or children."""

    cls: int
    number: int
    constructed: bool
    content: bytes = b""
    children: tuple[Tlv, ...] = ()

    @property
    def key(self) -> tuple[int, int]:
        """``(class, number)``, the identity used to match SEQUENCE fields."""
        return (self.cls, self.number)

    def __repr__(self) -> str:
        cls = "UAPC"[self.cls]
        if self.constructed:
            return f"Tlv({cls}{self.number}, {list(self.children)!r})"
        return f"Tlv({cls}{self.number}, {self.content!r})"


# --------------------------------------------------------------------------- headers


def _header(
    buf: bytes | bytearray | memoryview, pos: int, limits: BerLimits
) -> tuple[int, int, bool, int | None, int] | None:
    """Parse identifier and length octets at ``pos``.

    Returns ``(cls, number, constructed, length or None for indefinite,
    content offset)`` or ``None`` when more bytes are needed.
    """
    n = len(buf)
    if pos >= n:
        return None
    first = buf[pos]
    cls = first >> 6
    constructed = bool(first & 0x20)
    number = first & 0x1F
    pos += 1
    if number == 0x1F:
        number = 0
        count = 0
        while True:
            if pos >= n:
                return None
            octet = buf[pos]
            pos += 1
            count += 1
            if count == 1 and octet == 0x80:
                raise BerError("non-minimal high tag number")
            if count > limits.max_tag_octets:
                raise BerError("tag number too long")
            number = (number << 7) | (octet & 0x7F)
            if not octet & 0x80:
                break
        if number < 0x1F:
            raise BerError("high-tag form used for a low tag number")
    if pos >= n:
        return None
    octet = buf[pos]
    pos += 1
    length: int | None
    if octet < 0x80:
        length = octet
    elif octet == 0x80:
        if not constructed:
            raise BerError("indefinite length on a primitive value")
        length = None
    else:
        count = octet & 0x7F
        if count == 0x7F:
            raise BerError("reserved length octet 0xFF")
        if count > limits.max_length_octets:
            raise BerError(f"length of {count} octets exceeds limit {limits.max_length_octets}")
        if pos + count > n:
            return None
        length = int.from_bytes(bytes(buf[pos : pos + count]), "big")
        pos += count
    return cls, number, constructed, length, pos


# --------------------------------------------------------------------------- framing


def frame_length(
    buf: bytes | bytearray | memoryview, limits: BerLimits = DEFAULT_LIMITS
) -> int | None:
    """Length of the first whole BER value in ``buf``, or ``None`` if incomplete.

    Raises :class:`BerError` as soon as the prefix is known to be bad: over the
    size or depth limit, a primitive with indefinite length, or an
    end-of-contents marker at top level.  Works for any split point: call it
    again after appending more bytes.
    """
    n = len(buf)
    if n >= 2 and buf[0] == 0 and buf[1] == 0:
        raise BerError("end-of-contents octets at top level")
    head = _header(buf, 0, limits)
    if head is None:
        if n > limits.max_pdu_size:
            raise BerError("PDU exceeds size limit")
        return None
    _, _, _, length, pos = head
    if length is not None:
        end = pos + length
        if end > limits.max_pdu_size:
            raise BerError(f"PDU of {end} bytes exceeds limit {limits.max_pdu_size}")
        return end if end <= n else None
    # Indefinite: walk the nested values until the matching end-of-contents.
    depth = 1
    while True:
        if pos > limits.max_pdu_size:
            raise BerError("PDU exceeds size limit")
        if pos + 2 <= n and buf[pos] == 0 and buf[pos + 1] == 0:
            pos += 2
            depth -= 1
            if depth == 0:
                return pos
            continue
        head = _header(buf, pos, limits)
        if head is None:
            if n > limits.max_pdu_size:
                raise BerError("PDU exceeds size limit")
            return None
        _, _, _, length, pos = head
        if length is None:
            depth += 1
            if depth > limits.max_depth:
                raise BerError("nesting deeper than limit")
            continue
        pos += length
        if pos > limits.max_pdu_size:
            raise BerError("PDU exceeds size limit")
        if pos > n:
            return None


# --------------------------------------------------------------------------- decoding


def _decode_at(buf: bytes, pos: int, end: int, depth: int, limits: BerLimits) -> tuple[Tlv, int]:
    if depth > limits.max_depth:
        raise BerError("nesting deeper than limit")
    head = _header(buf, pos, limits)
    if head is None or (head[4] > end):
        raise BerError("truncated header")
    cls, number, constructed, length, pos = head
    if cls == UNIVERSAL and number == 0:
        raise BerError("unexpected end-of-contents octets")
    if length is not None:
        stop = pos + length
        if stop > end:
            raise BerError("value runs past its container")
        if not constructed:
            return Tlv(cls, number, False, bytes(buf[pos:stop])), stop
        children: list[Tlv] = []
        while pos < stop:
            child, pos = _decode_at(buf, pos, stop, depth + 1, limits)
            children.append(child)
        return Tlv(cls, number, True, b"", tuple(children)), stop
    children = []
    while True:
        if pos + 2 > end:
            raise BerError("missing end-of-contents octets")
        if buf[pos] == 0 and buf[pos + 1] == 0:
            return Tlv(cls, number, True, b"", tuple(children)), pos + 2
        child, pos = _decode_at(buf, pos, end, depth + 1, limits)
        children.append(child)


def decode_prefix(
    data: bytes, offset: int = 0, limits: BerLimits = DEFAULT_LIMITS
) -> tuple[Tlv, int]:
    """Decode one value starting at ``offset``; return it and the end offset."""
    end = offset + limits.max_pdu_size if len(data) - offset > limits.max_pdu_size else len(data)
    return _decode_at(bytes(data), offset, end, 1, limits)


def decode(data: bytes, limits: BerLimits = DEFAULT_LIMITS) -> Tlv:
    """Decode exactly one BER value; trailing bytes are an error."""
    if len(data) > limits.max_pdu_size:
        raise BerError("PDU exceeds size limit")
    tlv, end = decode_prefix(data, 0, limits)
    if end != len(data):
        raise BerError(f"{len(data) - end} trailing bytes after value")
    return tlv


# --------------------------------------------------------------------------- encoding


_SHORT_IDENTIFIERS = {
    (cls, constructed, number): bytes([(cls << 6) | (0x20 if constructed else 0) | number])
    for cls in range(4)
    for constructed in (False, True)
    for number in range(0x1F)
}


def _identifier(tlv: Tlv) -> bytes:
    short = _SHORT_IDENTIFIERS.get((tlv.cls, tlv.constructed, tlv.number))
    if short is not None:
        return short
    if not 0 <= tlv.cls <= 3 or tlv.number < 0:
        raise BerError("invalid tag")
    first = (tlv.cls << 6) | (0x20 if tlv.constructed else 0)
    if tlv.number < 0x1F:
        return bytes([first | tlv.number])
    out = [tlv.number & 0x7F]
    rest = tlv.number >> 7
    while rest:
        out.append(0x80 | (rest & 0x7F))
        rest >>= 7
    return bytes([first | 0x1F, *reversed(out)])


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _encode_into(tlv: Tlv, out: bytearray, indefinite: bool) -> None:
    out += _identifier(tlv)
    if not tlv.constructed:
        out += _length(len(tlv.content))
        out += tlv.content
        return
    if indefinite:
        out.append(0x80)
        for child in tlv.children:
            _encode_into(child, out, indefinite)
        out += b"\x00\x00"
        return
    inner = bytearray()
    for child in tlv.children:
        _encode_into(child, inner, indefinite)
    out += _length(len(inner))
    out += inner


def encoded_size(tlv: Tlv) -> int:
    """``len(encode(tlv))`` (definite lengths), without building the bytes."""
    n = sum(map(encoded_size, tlv.children)) if tlv.constructed else len(tlv.content)
    return len(_identifier(tlv)) + (1 if n < 0x80 else 1 + (n.bit_length() + 7) // 8) + n


def encode(tlv: Tlv, *, indefinite: bool = False) -> bytes:
    """Encode a tree; definite lengths unless ``indefinite`` (for constructed values)."""
    out = bytearray()
    _encode_into(tlv, out, indefinite)
    return bytes(out)


# --------------------------------------------------------------------------- primitive contents

MAX_INTEGER_OCTETS = 8


def int_to_content(value: int) -> bytes:
    """Minimal two's-complement content octets of an INTEGER."""
    size = max(1, (value + (value < 0)).bit_length() // 8 + 1)
    return value.to_bytes(size, "big", signed=True)


def int_from_content(content: bytes) -> int:
    """INTEGER content to ``int``; at most 8 octets (YAZ uses 64-bit integers)."""
    if not content:
        raise BerError("empty INTEGER")
    if len(content) > MAX_INTEGER_OCTETS:
        raise BerError("INTEGER longer than 8 octets")
    return int.from_bytes(content, "big", signed=True)


def bool_to_content(value: bool) -> bytes:
    """BOOLEAN content, ``01`` for TRUE as YAZ writes it."""
    return b"\x01" if value else b"\x00"


def bool_from_content(content: bytes) -> bool:
    """BOOLEAN content to ``bool``; any non-zero octet is TRUE."""
    if len(content) != 1:
        raise BerError("BOOLEAN must have exactly one content octet")
    return content != b"\x00"


MAX_OID_OCTETS = 128
MAX_ARC_OCTETS = 5


@functools.lru_cache(maxsize=512)
def oid_to_content(oid: str) -> bytes:
    """Dotted OBJECT IDENTIFIER (``"1.2.840.10003.5.10"``) to content octets (memoised:
    a session encodes the same few OIDs with every record)."""
    try:
        arcs = [int(part) for part in oid.split(".")]
    except ValueError as exc:
        raise BerError(f"bad OID {oid!r}") from exc
    if len(arcs) < 2 or arcs[0] > 2 or arcs[0] < 0 or (arcs[0] < 2 and not 0 <= arcs[1] < 40):
        raise BerError(f"bad OID {oid!r}")
    if any(a < 0 for a in arcs):
        raise BerError(f"bad OID {oid!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def oid_from_content(content: bytes) -> str:
    """OBJECT IDENTIFIER content octets to dotted form, refusing overlong arcs (memoised;
    a refusal raises again every time)."""
    return _oid_from_content(bytes(content))


@functools.lru_cache(maxsize=512)
def _oid_from_content(content: bytes) -> str:
    if not content or len(content) > MAX_OID_OCTETS:
        raise BerError("bad OBJECT IDENTIFIER length")
    if content[-1] & 0x80:
        raise BerError("truncated OBJECT IDENTIFIER arc")
    arcs: list[int] = []
    value = 0
    count = 0
    for octet in content:
        if count == 0 and octet == 0x80:
            raise BerError("non-minimal OBJECT IDENTIFIER arc")
        value = (value << 7) | (octet & 0x7F)
        count += 1
        if count > MAX_ARC_OCTETS:
            raise BerError("OBJECT IDENTIFIER arc too large")
        if not octet & 0x80:
            arcs.append(value)
            value = 0
            count = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in [*head, *arcs[1:]])


def bits_to_content(bits: frozenset[int]) -> bytes:
    """Named-bit BIT STRING: the set of bit numbers that are 1, whole octets."""
    if any(b < 0 for b in bits):
        raise BerError("negative bit number")
    size = (max(bits) // 8 + 1) if bits else 0
    body = bytearray(size)
    for b in bits:
        body[b // 8] |= 0x80 >> (b % 8)
    return bytes([0]) + bytes(body)


def bits_from_content(content: bytes) -> frozenset[int]:
    """BIT STRING content to the set of bit numbers that are 1."""
    if not content:
        raise BerError("empty BIT STRING")
    unused = content[0]
    if unused > 7 or (unused and len(content) == 1):
        raise BerError("bad BIT STRING unused-bits octet")
    body = content[1:]
    total = len(body) * 8 - unused
    return frozenset(i for i in range(total) if body[i // 8] & (0x80 >> (i % 8)))
