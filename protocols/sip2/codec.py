"""The SIP2 codec: frame bytes ⇄ typed messages (pure functions, no state, no I/O).

Sending is strict: fixed fields must have their exact width, every value is cleaned (the
delimiter, CR, LF and NUL never leak into a field) and cut to 255 encoded bytes on a character
boundary, and the checksum is 4 uppercase hex digits over the encoded bytes. Receiving is strict
by default and lenient where :attr:`CodecConfig.accept` says; the tolerances a frame needed are
reported in :attr:`Message.leniency`. :func:`decode` returns a message or raises
:class:`LocalProtocolError`; nothing else escapes.
"""

from __future__ import annotations

import codecs
import enum
import re
from dataclasses import dataclass, replace
from typing import Final

from .checksum import checksum, checksum_matches
from .errors import ErrorKind, LocalProtocolError
from .messages import MESSAGE_TYPES, Leniency, Message

__all__ = [
    "DEFAULT_CONFIG",
    "CodecConfig",
    "ErrorDetection",
    "decode",
    "encode",
    "encode_value",
    "split_trailer",
]

_HEX: Final = frozenset(b"0123456789ABCDEFabcdef")
_DIGITS: Final = frozenset(b"0123456789")
_LETTERS: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_CODE: Final = re.compile("[A-Z]{2}")
_UNSAFE: Final = re.compile("[|\r\n\x00]")
_BAD_FIXED: Final = re.compile(rb"[\x00\n\r|]")


class ErrorDetection(enum.Enum):
    """How the receiver treats the AY/AZ trailer."""

    OFF = "off"
    """Strip a trailer if present, never verify it."""
    AUTO = "auto"
    """Verify a trailer when present (Koha, Evergreen); frames without one pass."""
    REQUIRED = "required"
    """Every frame must carry a verifying trailer (FOLIO with error detection on)."""


@dataclass(frozen=True)
class CodecConfig:
    """Per-terminal wire settings.

    ``encoding`` is any Python codec (``utf-8``, ``gb18030``, ``cp850``...); ``delimiter`` one
    ASCII character; ``terminator`` ``b"\\r"`` or ``b"\\r\\n"`` (what we send; we always accept
    both). ``accept`` lists the receive tolerances. ``delimiter_replacement`` replaces the
    delimiter (and ``|``) inside values. With ``protect_delimiter_bytes`` a character whose
    encoding contains the delimiter byte (GBK/GB18030 trail byte 0x7C) is sent as ``?``, because
    most peers split fields on bytes.
    """

    encoding: str = "utf-8"
    delimiter: str = "|"
    terminator: bytes = b"\r"
    error_detection: ErrorDetection = ErrorDetection.AUTO
    accept: Leniency = Leniency.NONE
    max_field_bytes: int = 255
    delimiter_replacement: str = " "
    protect_delimiter_bytes: bool = True

    def __post_init__(self) -> None:
        codecs.lookup(self.encoding)  # LookupError for an unknown codec
        if len(self.delimiter) != 1 or not self.delimiter.isascii():
            raise ValueError("delimiter must be one ASCII character")
        if self.delimiter.isalnum() or self.delimiter in "\r\n\x00":
            raise ValueError("delimiter must not be a letter, digit, CR, LF or NUL")
        if self.terminator not in (b"\r", b"\r\n"):
            raise ValueError("terminator must be CR or CRLF")
        if any(c in self.delimiter_replacement for c in (self.delimiter, "|", "\r", "\n", "\0")):
            raise ValueError("delimiter_replacement must not contain what it replaces")
        if not 1 <= self.max_field_bytes <= 255:
            raise ValueError("max_field_bytes must be within 1..255")

    def with_(self, **changes: object) -> CodecConfig:
        """A copy with some settings changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT_CONFIG: Final = CodecConfig()


# -- encoding ---------------------------------------------------------------------------------
def _cut(value: str, encoding: str, limit: int) -> bytes:
    data = value.encode(encoding, "replace")
    if len(data) <= limit:
        return data
    lo, hi = 0, min(len(value), limit)
    while lo < hi:  # the longest prefix (in characters) that fits
        mid = (lo + hi + 1) // 2
        if len(value[:mid].encode(encoding, "replace")) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return value[:lo].encode(encoding, "replace")


def encode_value(value: str, config: CodecConfig = DEFAULT_CONFIG) -> bytes:
    """Clean and encode one variable-field value (without its code and delimiter).

    The delimiter and ``|`` become ``delimiter_replacement``, CR/LF a space, NUL nothing;
    characters the encoding lacks become ``?``; the result is at most ``max_field_bytes`` and
    never ends inside a multibyte character.
    """
    if _UNSAFE.search(value) or config.delimiter in value:
        repl = config.delimiter_replacement
        for bad, good in ((config.delimiter, repl), ("|", repl), ("\r", " "), ("\n", " ")):
            value = value.replace(bad, good)
        value = value.replace("\0", "")
    delim_byte = ord(config.delimiter)
    data = value.encode(config.encoding, "replace")
    if config.protect_delimiter_bytes and delim_byte in data:
        value = "".join(
            "?" if delim_byte in ch.encode(config.encoding, "replace") else ch for ch in value
        )
        data = value.encode(config.encoding, "replace")
    if len(data) > config.max_field_bytes:
        data = _cut(value, config.encoding, config.max_field_bytes)
    return data


def encode(message: Message, config: CodecConfig = DEFAULT_CONFIG) -> bytes:
    """Encode ``message`` as one frame, terminator included.

    The trailer is ``AY<sequence>`` when ``sequence`` is set, then ``AZ<checksum>`` when
    ``sequence`` is set or ``checksummed`` is true. Raises :class:`LocalProtocolError`
    (``ENCODING``) for a fixed field of the wrong width or a bad field code.
    """
    out = bytearray(message.CODE.encode("ascii"))
    for name, width in message.FIXED:
        value = getattr(message, name)
        try:
            raw = value.encode("latin-1")
        except (UnicodeEncodeError, AttributeError):
            raise LocalProtocolError(
                f"{message.CODE} fixed field {name} must be ASCII text", kind=ErrorKind.ENCODING
            ) from None
        if _BAD_FIXED.search(raw) or config.delimiter in value:
            raise LocalProtocolError(
                f"{message.CODE} fixed field {name} contains the delimiter, CR, LF or NUL",
                kind=ErrorKind.ENCODING,
            )
        if len(raw) != width:
            raise LocalProtocolError(
                f"{message.CODE} fixed field {name} must be {width} characters, got {value!r}",
                kind=ErrorKind.ENCODING,
            )
        out += raw
    delim = config.delimiter.encode("ascii")
    for code, value in message.fields:
        if not _CODE.fullmatch(code):
            raise LocalProtocolError(f"bad field code {code!r}", kind=ErrorKind.ENCODING)
        out += code.encode("ascii")
        out += encode_value(value, config)
        out += delim
    if message.sequence is not None:
        if not 0 <= message.sequence <= 9:
            raise LocalProtocolError("sequence must be 0..9", kind=ErrorKind.ENCODING)
        out += b"AY%d" % message.sequence
    if message.sequence is not None or message.checksummed:
        out += b"AZ"
        out += checksum(bytes(out)).encode("ascii")
    out += config.terminator
    return bytes(out)


# -- decoding ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Trailer:
    body_end: int  # where the message body ends (before AY/AZ)
    sequence: int | None
    digits: str
    prefix_end: int  # end of the checksummed prefix (just after "AZ")


def split_trailer(frame: bytes) -> tuple[int, int | None, str | None]:
    """Find an ``[AY<digit>]AZ<1-4 hex>`` trailer at the end of ``frame``.

    Returns ``(body_end, sequence, checksum_digits)``; ``(len(frame), None, None)`` when there
    is none.
    """
    t = _find_trailer(frame)
    if t is None:
        return len(frame), None, None
    return t.body_end, t.sequence, t.digits


def _find_trailer(frame: bytes) -> _Trailer | None:
    az = frame.rfind(b"AZ", 2)
    if az < 0:
        return None
    digits = frame[az + 2 :]
    if not 1 <= len(digits) <= 4 or not all(b in _HEX for b in digits):
        return None
    body_end, sequence = az, None
    if az >= 5 and frame[az - 3 : az - 1] == b"AY" and frame[az - 1] in _DIGITS:
        body_end, sequence = az - 3, frame[az - 1] - 0x30
    return _Trailer(body_end, sequence, digits.decode("ascii"), az + 2)


def _verify(frame: bytes, t: _Trailer, config: CodecConfig) -> Leniency:
    """Return the tolerances needed for the checksum to verify; raise if none suffices."""
    needed = Leniency.NONE
    if len(t.digits) < 4:
        needed |= Leniency.SHORT_HEX
    if not t.digits.isdigit() and t.digits != t.digits.upper():
        needed |= Leniency.LOWERCASE_HEX
    prefix = frame[: t.prefix_end]
    if not checksum_matches(sum(prefix), t.digits):
        text = prefix.decode(config.encoding, "replace")
        if not checksum_matches(sum(map(ord, text)), t.digits):
            raise LocalProtocolError(
                f"checksum AZ{t.digits} does not verify (expected {checksum(prefix)})",
                kind=ErrorKind.CHECKSUM,
            )
        needed |= Leniency.CODEPOINT_SUM
    if needed is not Leniency.NONE and needed & ~config.accept:
        raise LocalProtocolError(
            f"checksum AZ{t.digits} verifies only with {needed}", kind=ErrorKind.CHECKSUM
        )
    return needed


def _looks_like_field_start(rest: bytes, pos: int, delim: int) -> bool:
    if pos >= len(rest):
        return pos == len(rest)
    if rest[pos] == delim:
        return True
    return pos + 1 < len(rest) and rest[pos] in _LETTERS and rest[pos + 1] in _LETTERS


#: The width of each message class's fixed part.
_FIXED_WIDTH: dict[type[Message], int] = {}


def _fixed_split(
    cls: type[Message], rest: bytes, config: CodecConfig
) -> tuple[bytes, int, Leniency]:
    """Return (fixed bytes padded to width, index where variable fields start, leniency)."""
    width = _FIXED_WIDTH.get(cls)
    if width is None:
        width = _FIXED_WIDTH[cls] = sum(w for _, w in cls.FIXED)
    delim = ord(config.delimiter)
    if _looks_like_field_start(rest, width, delim) and delim not in rest[:width]:
        return rest[:width], width, Leniency.NONE
    if not config.accept & Leniency.SHORT_FIXED:
        raise LocalProtocolError(
            f"{cls.CODE}: fixed part of {width} bytes is short or malformed",
            kind=ErrorKind.MALFORMED,
        )
    start = len(rest)
    for code in cls.ORDER:
        pos = rest.find(code.encode("ascii"), 0, min(width, len(rest)))
        if 0 <= pos < start:
            start = pos
    if start == len(rest) and delim in rest:
        raise LocalProtocolError(
            f"{cls.CODE}: cannot find where the fixed part ends", kind=ErrorKind.MALFORMED
        )
    return rest[:start].ljust(width)[:width], start, Leniency.SHORT_FIXED


def decode(frame: bytes, config: CodecConfig = DEFAULT_CONFIG) -> Message:
    """Decode one frame (with or without its CR/CRLF) into its message class.

    Raises :class:`LocalProtocolError` with kind ``CHECKSUM`` (reply 96), ``UNKNOWN_COMMAND``,
    ``NOT_SIP`` (NUL) or ``MALFORMED``; never anything else.
    """
    if frame.endswith(b"\n"):
        frame = frame[:-1]
    if frame.endswith(b"\r"):
        frame = frame[:-1]
    if frame.startswith(b"\n"):
        frame = frame[1:]
    if 0 in frame:
        raise LocalProtocolError("NUL byte in frame", kind=ErrorKind.NOT_SIP)
    if len(frame) < 2 or frame[0] not in _DIGITS or frame[1] not in _DIGITS:
        raise LocalProtocolError(f"no command code in {frame[:16]!r}", kind=ErrorKind.MALFORMED)
    code = frame[:2].decode("ascii")
    cls = MESSAGE_TYPES.get(code)
    if cls is None:
        raise LocalProtocolError(f"unknown command {code}", kind=ErrorKind.UNKNOWN_COMMAND)

    leniency = Leniency.NONE
    body_end, sequence, checksummed = len(frame), None, False
    trailer = _find_trailer(frame)
    if trailer is not None and (
        config.error_detection is not ErrorDetection.OFF or len(trailer.digits) == 4
    ):
        if config.error_detection is not ErrorDetection.OFF:
            leniency = _verify(frame, trailer, config)  # (leniency is still NONE here)
        body_end, sequence, checksummed = trailer.body_end, trailer.sequence, True
    elif config.error_detection is ErrorDetection.REQUIRED:
        raise LocalProtocolError("error detection required: no AZ trailer", kind=ErrorKind.CHECKSUM)

    rest = frame[2:body_end]
    fixed_raw, var_start, lenient = _fixed_split(cls, rest, config)
    if lenient is not Leniency.NONE:
        leniency |= lenient
    values: dict[str, str] = {}
    pos = 0
    text_fixed = fixed_raw.decode("latin-1")
    for name, width in cls.FIXED:
        values[name] = text_fixed[pos : pos + width]
        pos += width

    var_raw = rest[var_start:]
    try:
        text = var_raw.decode(config.encoding)
    except UnicodeDecodeError as exc:
        if not config.accept & Leniency.BAD_TEXT:
            raise LocalProtocolError(
                f"{code}: bytes not valid {config.encoding} at {exc.start}",
                kind=ErrorKind.MALFORMED,
            ) from None
        text = var_raw.decode(config.encoding, "replace")
        leniency |= Leniency.BAD_TEXT
    except LookupError:  # pragma: no cover - CodecConfig checks the codec
        raise LocalProtocolError("unknown encoding", kind=ErrorKind.MALFORMED) from None
    fields = tuple((seg[:2], seg[2:]) for seg in text.split(config.delimiter) if seg)
    return cls(
        fields=fields,
        sequence=sequence,
        checksummed=checksummed,
        leniency=leniency,
        **values,
    )
