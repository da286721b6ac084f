"""SIP2 dates: ``YYYYMMDDZZZZHHMMSS`` (18 characters), strict out, lenient in.

``ZZZZ`` is four blanks for local time (preferred), ``   Z`` for UTC, or a military zone letter
in the last position (A..M without J = UTC+1..+12, N..Y = UTC-1..-12; China is ``   H``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

__all__ = ["BLANK_DATE", "format_date", "parse_date"]

BLANK_DATE: Final = " " * 18
"""An unknown date (blanks), as real SCs send for e.g. ``nb due date``."""

_ZONES: dict[str, timezone] = {"Z": UTC}
for _i, _letter in enumerate("ABCDEFGHIKLM", start=1):
    _ZONES[_letter] = timezone(timedelta(hours=_i))
for _i, _letter in enumerate("NOPQRSTUVWXY", start=1):
    _ZONES[_letter] = timezone(timedelta(hours=-_i))

_SIP_DATE = re.compile(r"(\d{8})(.{4})(\d{6})", re.ASCII | re.DOTALL)
_LOOSE_DATE = re.compile(
    r"\s*(\d{4})-?(\d{2})-?(\d{2})[ T]*(\d{2}):?(\d{2}):?(\d{2})?\s*([A-Z])?\s*", re.ASCII
)


def format_date(when: datetime | None) -> str:
    """Format ``when`` as 18 characters; ``None`` gives blanks.

    A naive datetime is local time (``ZZZZ`` = 4 blanks); an aware one is converted to UTC and
    marked ``   Z``.
    """
    if when is None:
        return BLANK_DATE
    if when.tzinfo is None:
        if when.year >= 1000:  # what strftime gives, without its cost
            return (f"{when.year}{when.month:02d}{when.day:02d}    "
                    f"{when.hour:02d}{when.minute:02d}{when.second:02d}")
        return when.strftime("%Y%m%d    %H%M%S")
    return when.astimezone(UTC).strftime("%Y%m%d   Z%H%M%S")


def _build(parts: tuple[str, ...], zone: str | None) -> datetime | None:
    try:
        y, mo, d, h, mi = (int(p) for p in parts[:5])
        s = int(parts[5]) if parts[5] else 0
        tz = _ZONES.get(zone) if zone else None
        if zone and tz is None:
            return None
        return datetime(y, mo, d, h, mi, s, tzinfo=tz)
    except (ValueError, OverflowError):
        return None


def parse_date(text: str) -> datetime | None:
    """Parse a SIP2 date leniently; return ``None`` for anything that is not a real date.

    Never raises. Accepts the standard form with a blank, ``Z`` or letter zone, collapsed
    spaces (``20171123 123051``) and ``2011-10-28 23:59:59`` (AH is free text). Blanks,
    ``000000000000000000`` and Koha's literal ``YYYYMMDDZZZZHHMMSS`` give ``None``.
    Without a zone letter the result is naive (local time); with one it is aware.
    """
    if not isinstance(text, str) or len(text) > 64:
        return None
    m = _SIP_DATE.fullmatch(text)
    if m:
        zone = m.group(2).strip()
        if len(zone) > 1:
            return None
        date, clock = m.group(1), m.group(3)
        parts = (date[:4], date[4:6], date[6:], clock[:2], clock[2:4], clock[4:])
        return _build(parts, zone or None)
    m2 = _LOOSE_DATE.fullmatch(text)
    if m2:
        return _build(m2.groups()[:6], m2.group(7))
    return None
