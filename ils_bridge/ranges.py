"""Code ranges: the blocks of item barcodes and reader cards each library may issue.

A range is ``prefix`` + a zero-padded number of ``width`` digits between ``first`` and
``last``, e.g. ``BY200000000``–``BY999999999`` is prefix ``BY``, width 9. Two ranges overlap
when some code belongs to both — also across different prefixes, as in ``1`` + 5 digits and
``""`` + 6 digits. Item and patron ranges must never overlap (a number scanned at a terminal
must classify as either an item or a patron), nor may the ranges of two libraries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPLIT = re.compile(r"^(.*?)(\d+)$")
MAX_WIDTH = 18


class RangeError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class CodeRange:
    kind: str  # "item" | "patron"
    prefix: str
    width: int
    first: int
    last: int
    library: str = ""

    @property
    def length(self) -> int:
        return len(self.prefix) + self.width

    def label(self) -> str:
        return f"{self.format(self.first)}–{self.format(self.last)}"

    def format(self, number: int) -> str:
        return f"{self.prefix}{number:0{self.width}d}"

    def contains(self, code: str) -> bool:
        if len(code) != self.length or not code.startswith(self.prefix):
            return False
        tail = code[len(self.prefix) :]
        return tail.isascii() and tail.isdigit() and self.first <= int(tail) <= self.last

    def size(self) -> int:
        return self.last - self.first + 1


def parse_range(kind: str, first_code: str, last_code: str, library: str = "") -> CodeRange:
    """Build a range from its first and last codes (already normalised)."""
    m1, m2 = _SPLIT.match(first_code), _SPLIT.match(last_code)
    if not m1 or not m2:
        raise RangeError("a range's first and last codes must end in digits")
    d1, d2 = m1.group(2), m2.group(2)
    # Split at the same place: the numeric part is as wide as the shorter digit tail.
    if len(first_code) != len(last_code):
        raise RangeError(
            f"{first_code} and {last_code} differ in length; a range keeps one width"
        )
    width = min(len(d1), len(d2), MAX_WIDTH)
    prefix1, prefix2 = first_code[: len(first_code) - width], last_code[: len(last_code) - width]
    if prefix1 != prefix2:
        raise RangeError(f"{first_code} and {last_code} do not share a prefix")
    first, last = int(first_code[-width:]), int(last_code[-width:])
    if first > last:
        raise RangeError(f"the range {first_code}–{last_code} runs backwards")
    if kind not in ("item", "patron"):
        raise RangeError(f"unknown range kind {kind!r} (item or patron)")
    return CodeRange(kind, prefix1, width, first, last, library)


def overlaps(a: CodeRange, b: CodeRange) -> bool:
    """True when some code belongs to both ranges."""
    if a.length != b.length:
        return False
    if len(a.prefix) > len(b.prefix):
        a, b = b, a
    if not b.prefix.startswith(a.prefix):
        return False
    # b's extra prefix characters fall into a's numeric part: they must be digits.
    extra = b.prefix[len(a.prefix) :]
    if extra and not (extra.isascii() and extra.isdigit()):
        return False
    base = int(extra) * 10**b.width if extra else 0
    lo, hi = base + b.first, base + b.last
    return lo <= a.last and a.first <= hi
