"""Charset declarations and byte sniffing for MARC records.

Records lie about their charset (domain.md §3.3): MARC21 declares it in leader/09
(``a`` = UCS/UTF-8, blank = MARC-8), UNIMARC/CNMARC in 100$a/26-29 (``50`` = ISO 10646,
``0120``/``0121`` = GB-era codes), and real exports contradict their declaration. So the
bytes are sniffed and the decision recorded in a :class:`CharsetDecision`.

Detection rules, in order (:func:`sniff_charset`):

1. MARC21 bytes that contain a MARC-8 escape sequence (ESC followed by one of
   ``( , $ ) - b p g s``) are MARC-8 — UTF-8 and GB18030 text never contains ESC (UNIMARC's
   own ISO 2022 escapes are not MARC-8, so this rule is MARC21 only);
2. pure 7-bit bytes carry no evidence: the declaration is believed (UTF-8 if it declares
   nothing usable) — every candidate decodes them identically except MARC-8 escapes (rule 1);
3. bytes that decode as strict UTF-8 are UTF-8 (GB text that happens to be valid UTF-8 is
   vanishingly rare beyond a few bytes);
4. other bytes of a CNMARC/UNIMARC record are GB18030 (MARC-8 is not a UNIMARC charset;
   undecodable bytes become U+FFFD and the decision is flagged ``lossy``);
5. other bytes of a MARC21 record are GB18030 when they look like Chinese text — at least
   half of the non-ASCII characters are two-byte GB2312 characters (both bytes 0xA1–0xFE,
   where nearly all real text lives) — or when they decode as GB18030 but cannot be MARC-8
   (a byte in 0x80–0xA0 other than 0x88/0x89/0x8D/0x8E, which ANSEL never uses but GBK's
   traditional and rare characters lead with, or a character pymarc's MARC-8 tables do not
   map); otherwise MARC-8. MARC-8 Latin diacritics (a 0xE0–0xFE combining byte followed by
   an ASCII letter) are valid GBK pairs too, but with a trail byte below 0x80, which is what
   the GB2312 ratio separates.

Known limit: a few GB18030 characters can also be valid UTF-8 (``C4 A3``); a record with
only such characters is read as UTF-8. Real titles are long enough for this not to happen,
and the override exists for targets known to send GB.

An explicit override always wins (``overridden=True``; ``detected`` still says what the
sniffer thought).
"""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

import pymarc.marc8

from ils_bridge.catalogue.model import Charset, CharsetDecision, Flavour

__all__ = [
    "CNMARC_CHARSET_CODES",
    "decision_for",
    "declared_charset",
    "decode_bytes",
    "sniff_charset",
]

# UNIMARC/CNMARC 100$a/26-29: two 2-character character-set codes (G0, G1).
# "50" = ISO 10646 (Unicode), seen alone as "50  ". "0120"/"0121" (ISO 646 + a GB set) are
# the codes CNMARC records use for GB2312-era data [domain.md §3.3: exact meaning unverified,
# do not trust]; we write "0120" for GB18030 output.
CNMARC_CHARSET_CODES: dict[Charset, str] = {Charset.UTF8: "50  ", Charset.GB18030: "0120"}
_GB_G1_CODES = frozenset({"20", "21"})

_MARC8_ESCAPE = re.compile(rb"\x1b[(,$)\-bpgs]")


def declared_charset(
    flavour: Flavour, leader: str, field_100a: str | None
) -> tuple[Charset | None, str]:
    """Return ``(declared charset or None, literal declaration)``.

    MARC21: leader/09 (``a`` → UTF-8, blank → MARC-8). UNIMARC/CNMARC: 100$a/26-29.
    """
    if flavour is Flavour.MARC21:
        raw = leader[9:10]
        if raw == "a":
            return Charset.UTF8, raw
        if raw in (" ", "-", "#"):
            return Charset.MARC8, raw
        return None, raw
    if field_100a is None or len(field_100a) < 28:
        return None, ""
    raw = field_100a[26:30]
    g0, g1 = raw[0:2], raw[2:4]
    if g0 == "50":
        return Charset.UTF8, raw
    if g0 == "01" and g1 in _GB_G1_CODES:
        return Charset.GB18030, raw
    return None, raw


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _looks_like_gb_text(data: bytes) -> bool:
    """True when ``data`` decodes strictly as GB18030 and most double-byte characters are
    in the GB2312 block (both bytes 0xA1–0xFE)."""
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    gb2312_pairs = other_pairs = 0
    for ch in text:
        if ord(ch) < 0x80:
            continue
        encoded = ch.encode("gb18030")
        if len(encoded) == 2 and 0xA1 <= encoded[0] <= 0xFE and 0xA1 <= encoded[1] <= 0xFE:
            gb2312_pairs += 1
        else:
            other_pairs += 1
    return gb2312_pairs > 0 and gb2312_pairs >= other_pairs


_MARC8_NEVER = re.compile(rb"[\x80-\x87\x8a-\x8c\x8f-\xa0]")  # unused in MARC-8 (ANSEL) G1


def _marc8_plausible(data: bytes) -> bool:
    """False when ``data`` cannot be MARC-8 text: bytes ANSEL never uses, or characters
    pymarc's MARC-8 tables do not map."""
    if _MARC8_NEVER.search(data):
        return False
    _, lossy = decode_bytes(data, Charset.MARC8)
    return not lossy


def sniff_charset(data: bytes, flavour: Flavour, declared: Charset | None) -> Charset:
    """Guess the charset of a record's field bytes (rules in the module docstring)."""
    if flavour is Flavour.MARC21 and _MARC8_ESCAPE.search(data):
        return Charset.MARC8
    if data.isascii():
        return declared if declared is not None else Charset.UTF8
    if _is_utf8(data):
        return Charset.UTF8
    if flavour is not Flavour.MARC21:
        return Charset.GB18030  # rules 4 and 5 agree: MARC-8 is not a UNIMARC charset
    if _looks_like_gb_text(data):
        return Charset.GB18030
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return Charset.MARC8
    return Charset.MARC8 if _marc8_plausible(data) else Charset.GB18030


def decode_bytes(data: bytes, charset: Charset) -> tuple[str, bool]:
    """Decode ``data``; never raises. Returns ``(text, lossy)``."""
    if charset is Charset.MARC8:
        if data.isascii() and b"\x1b" not in data:
            return data.decode("ascii"), False
        # pymarc reports untranslatable bytes and truncated EACC triplets on stderr and
        # carries on with a blank: capture that report and turn it into the lossy flag.
        complaints = io.StringIO()
        try:
            with contextlib.redirect_stderr(complaints):
                translator: Any = pymarc.marc8.MARC8ToUnicode(quiet=False)
                text = str(translator.translate(data))
        except Exception:  # pymarc's tables raise assorted errors on mangled EACC runs
            return data.decode("latin-1"), True
        return text, bool(complaints.getvalue())
    try:
        return data.decode(charset.codec), False
    except UnicodeDecodeError:
        return data.decode(charset.codec, errors="replace"), True


def decision_for(
    body: bytes,
    flavour: Flavour,
    leader: str,
    field_100a: str | None,
    override: Charset | None = None,
) -> CharsetDecision:
    """Decide the charset of a record whose field bytes are ``body`` (lossy is filled later)."""
    declared, raw = declared_charset(flavour, leader, field_100a)
    detected = sniff_charset(body, flavour, declared)
    used = override if override is not None else detected
    return CharsetDecision(
        declared=declared,
        declared_raw=raw,
        detected=detected,
        used=used,
        overridden=override is not None,
    )
