"""Nouns shared by the catalogue modules: flavours, charsets, read results.

A record read from the outside world is always held as a :class:`pymarc.Record` whose
strings are Unicode (the bytes were decoded once, on the way in), together with the
MARC *flavour* it is written in and the decision that was taken about its bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

import pymarc

__all__ = [
    "Charset",
    "CharsetDecision",
    "Flavour",
    "Position",
    "ReadFailure",
    "ReadRecord",
    "ReadResult",
]


class Flavour(enum.Enum):
    """The MARC format a record is written in.

    CNMARC is the Chinese profile of UNIMARC (GB/T 33286); the two share one field
    profile here, but are kept apart because their charset declarations and local
    9xx fields differ.
    """

    CNMARC = "cnmarc"
    UNIMARC = "unimarc"
    MARC21 = "marc21"

    @property
    def is_unimarc_family(self) -> bool:
        return self is not Flavour.MARC21


class Charset(enum.Enum):
    """Character sets met in MARC data, by the Python codec used to decode them."""

    UTF8 = "utf-8"
    GB18030 = "gb18030"  # superset of GBK and GB2312: GB2312-labelled data is read as GB18030
    MARC8 = "marc-8"  # MARC21 only; decoded by pymarc's MARC-8 tables (incl. EACC CJK)

    @property
    def codec(self) -> str:
        """Python codec name (MARC-8 has none: it is handled by pymarc)."""
        return self.value

    @classmethod
    def from_label(cls, label: str) -> Charset:
        """Map a configuration label (``GB2312``, ``gbk``, ``cp936``, ``UTF8``, ``marc8``…) to
        a charset; GB2312/GBK labels read as GB18030, their superset. Raises ValueError."""
        key = label.strip().lower().replace("_", "-")
        for charset, names in _LABELS.items():
            if key in names:
                return charset
        raise ValueError(f"unknown MARC charset label {label!r}")


_LABELS: dict[Charset, frozenset[str]] = {
    Charset.UTF8: frozenset({"utf-8", "utf8", "unicode", "ucs", "iso-10646"}),
    Charset.GB18030: frozenset({"gb18030", "gbk", "gb2312", "cp936", "euc-cn", "gb-2312", "936"}),
    Charset.MARC8: frozenset({"marc-8", "marc8", "ansel"}),
}


@dataclass(frozen=True)
class CharsetDecision:
    """What a record said about its bytes, what the bytes looked like, and what was used.

    ``declared`` is None when the record declares nothing we can map (an unknown
    CNMARC 100$a/26-29 value, a UNIMARC ``01``…); ``declared_raw`` keeps the literal
    declaration (MARC21 leader/09, CNMARC 100$a/26-29) for audit.
    ``lossy`` is true when some bytes could not be decoded and were replaced by U+FFFD.
    """

    declared: Charset | None
    declared_raw: str
    detected: Charset
    used: Charset
    overridden: bool = False
    lossy: bool = False

    @property
    def declaration_lied(self) -> bool:
        return self.declared is not None and self.declared is not self.detected


@dataclass(frozen=True)
class Position:
    """Where a record sits in its input: 0-based record number, and byte offset (ISO 2709)
    or source line (XML)."""

    index: int
    offset: int | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"record #{self.index}"
        if self.offset is not None:
            where += f" at byte {self.offset}"
        if self.line is not None:
            where += f" at line {self.line}"
        return where


@dataclass(frozen=True)
class ReadRecord:
    """A record that was parsed. ``record`` holds Unicode strings; ``raw`` the input bytes
    (for ISO 2709) or the serialised XML element."""

    record: pymarc.Record
    flavour: Flavour
    charset: CharsetDecision
    position: Position
    raw: bytes = field(repr=False)
    warnings: tuple[str, ...] = ()

    ok: Literal[True] = field(default=True, init=False, repr=False)  # narrows ReadResult


@dataclass(frozen=True)
class ReadFailure:
    """A record that could not be parsed: bad input is data, not an exception."""

    position: Position
    reason: str
    raw: bytes = field(repr=False)

    ok: Literal[False] = field(default=False, init=False, repr=False)


ReadResult = ReadRecord | ReadFailure
