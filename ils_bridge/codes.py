"""Code normalisers: one canonical spelling for every identifier in the cluster (R3).

Reader card numbers, item barcodes, collection (location) codes and the other identifiers
the cluster keys on must never repeat *after normalisation*, so every such value goes
through the same ordered stack of small steps before it is stored or looked up::

    raw text ─► clean steps (built-in, then plugin) ─► validate step (built-in) ─► plugin checks
                nfkc, remove-invisible, unify-dashes,     check-<kind>: alphabet,
                strip-framing, upper-case, ...            length, check digit, canonical form

Each step is a function ``str -> str | CodeError``; the first error stops the stack.  The
result is a :class:`Code` (canonical ``value`` plus the ``raw`` input kept for audit) or a
:class:`CodeError` — bad input is data, never an exception (:meth:`Normalisers.require` is
the one raising door).  Two guarantees hold for every kind, and the property tests check them:

* **total**: any ``str`` — lone surrogates, NUL, megabytes — gives a ``Code`` or a
  ``CodeError``; input longer than :data:`MAX_RAW_LENGTH` is refused unread;
* **a projection**: ``normalise(kind, code.value) == code`` (idempotent), so two different
  canonical values can never be spellings of one another.  Canonical alphabets hold only
  characters that every built-in cleaning step leaves alone (ASCII upper-case letters,
  digits, ``-``/``_`` and, for locations, CJK unified ideographs), which is what makes this
  hold whatever the cleaning steps do to odder input.

Choices worth knowing (details at each ``check_*`` function):

* resident IDs: birth dates from 1880-01-01 (the standard's own sample is born in 1880) to
  today in China (UTC+8); region codes are not looked up; 15-digit legacy IDs become 18;
* card numbers shaped like a resident ID (15 or 18 characters once ``-`` is removed) are
  validated *as* resident IDs and stored in the 18-character form;
* item barcodes: ``[A-Z0-9]`` with single inner ``-``, 1–32 characters, leading zeros
  significant; a valid 978/979 EAN-13 (the book's ISBN) is refused;
* Codabar start/stop letters (A–D around an all-digit body) and Code 39 ``*…*`` are removed
  for the scanned kinds (barcode, card, resident ID, ISBN, ISSN) only, so ``A12345678B`` is
  read as ``12345678`` and can never itself be a barcode;
* location codes may hold CJK ideographs and inner ``-``; library codes never hold ``-``,
  so ``f"{library}-{location}"`` splits back at its first ``-``.

Plugins extend a kind's stack through :meth:`Normalisers.add_step`; a step should return a
:class:`CodeError` made with :func:`reject` (the pipeline fills in ``kind`` and ``raw``), and
must leave canonical values unchanged, or the projection guarantee is lost.

This module imports nothing from ``ils_bridge``: the plugin manager, store and CLI import it.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import logging
import operator
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "MAX_RAW_LENGTH",
    "RESIDENT_ID_MIN_BIRTH",
    "Code",
    "CodeError",
    "CodeKind",
    "InvalidCode",
    "Normalisers",
    "Stage",
    "Step",
    "check_barcode",
    "check_card",
    "check_isbn",
    "check_issn",
    "check_library",
    "check_location",
    "check_owner_code",
    "check_resident_id",
    "codabar14_step",
    "ean13_check_digit",
    "extract_isbn",
    "isbn10_check_digit",
    "isbn10_to_isbn13",
    "isbn13_to_isbn10",
    "issn_check_digit",
    "luhn_check_digit",
    "nfkc",
    "normalise",
    "normalise_barcode",
    "normalise_card",
    "normalise_isbn",
    "normalise_issn",
    "normalise_library",
    "normalise_location",
    "normalise_owner_code",
    "normalise_resident_id",
    "reject",
    "remove_hyphens",
    "remove_invisible",
    "resident_id_check_char",
    "strip_framing",
    "unify_dashes",
    "upper_case",
]

logger = logging.getLogger(__name__)

#: Raw input longer than this is refused before any step reads it (keeps NFKC & co. cheap).
MAX_RAW_LENGTH = 1024

#: Earliest birth date accepted in a resident ID.  GB 11643-1999's own sample
#: ``440524188001010014`` is born 1880-01-01; nobody that old reads today, but legacy
#: reader files and the standard's examples must not be refused for it.
RESIDENT_ID_MIN_BIRTH = datetime.date(1880, 1, 1)

_CHINA_TZ = datetime.timezone(datetime.timedelta(hours=8), "CST")


class CodeKind(enum.StrEnum):
    """The identifier kinds the cluster keeps unique."""

    BARCODE = "barcode"
    CARD = "card"
    RESIDENT_ID = "resident-id"
    ISBN = "isbn"
    ISSN = "issn"
    LOCATION = "location"
    LIBRARY = "library"
    OWNER_CODE = "owner-code"


#: Kinds whose values identify a person: masked in ``repr``.
_PERSONAL_KINDS = frozenset({CodeKind.CARD, CodeKind.RESIDENT_ID})


def _masked(kind: object, text: str) -> str:
    """``text`` for a repr: personal kinds keep only a few characters at each end."""
    if kind not in _PERSONAL_KINDS:
        return text
    keep = 4 if len(text) >= 15 else 2 if len(text) >= 6 else 0
    return text[:keep] + "*" * (len(text) - 2 * keep) + (text[len(text) - keep :] if keep else "")


@dataclass(frozen=True, slots=True)
class Code:
    """A valid identifier: ``value`` is canonical, ``raw`` is what was read (for audit)."""

    kind: CodeKind
    value: str
    raw: str

    def __repr__(self) -> str:
        # No __str__ = value on purpose: str() and f-strings show this masked repr, so a
        # card number reaches a log or a message only when code asks for ``.value``.
        # Reader cards and resident IDs are personal information (PIPL): masked in reprs.
        return (
            f"Code(kind={self.kind.value!r}, value={_masked(self.kind, self.value)!r}, "
            f"raw={_masked(self.kind, self.raw)!r})"
        )


@dataclass(frozen=True, slots=True)
class CodeError:
    """Why ``raw`` is not a valid identifier of ``kind``.

    ``reason`` is one English sentence for people; ``code`` is a stable token for programs:
    ``empty``, ``bad-length``, ``bad-character``, ``bad-format``, ``bad-check-digit``,
    ``bad-date``, ``bad-prefix``, ``looks-like-isbn``, ``unknown-kind``, ``bad-type``,
    ``step-failed``.  ``kind`` is a plain ``str`` only for ``unknown-kind``.
    """

    kind: CodeKind | str
    raw: str
    reason: str
    code: str

    def __str__(self) -> str:
        return f"invalid {self.kind}: {self.reason}"

    def __repr__(self) -> str:
        return (
            f"CodeError(kind={str(self.kind)!r}, raw={_masked(self.kind, self.raw)!r}, "
            f"reason={self.reason!r}, code={self.code!r})"
        )


class InvalidCode(ValueError):
    """Raised by :meth:`Normalisers.require` (and the ISBN converters) for invalid input."""

    error: CodeError

    def __init__(self, error: CodeError) -> None:
        super().__init__(error)
        self.error = error

    def __str__(self) -> str:
        return str(self.error)


Step: TypeAlias = Callable[[str], "str | CodeError"]
Stage: TypeAlias = Literal["clean", "validate"]


def reject(code: str, reason: str) -> CodeError:
    """A step's refusal; the pipeline fills in ``kind`` and ``raw``."""
    return CodeError(kind="", raw="", reason=reason, code=code)


def _describe(char: str) -> str:
    """A character for an error sentence, safe to log (no surrogates, no controls)."""
    if char.isprintable() and not char.isspace():
        return f"'{char}' (U+{ord(char):04X})"
    return f"U+{ord(char):04X}"


# --------------------------------------------------------------------------------------------
# Cleaning steps (each one small, total and tested alone)
# --------------------------------------------------------------------------------------------


def nfkc(text: str) -> str:
    """Unicode NFKC: full-width ``０-９Ａ-Ｚａ-ｚ－`` to ASCII, U+3000 to a space, ``①`` to ``1``."""
    if text.isascii():  # NFKC leaves ASCII alone (the scanners' usual case, kept cheap)
        return text
    return unicodedata.normalize("NFKC", text)


def remove_invisible(text: str) -> str:
    """Drop control and format characters (CR, LF, TAB, NUL, ZWSP, BOM, soft hyphen) and all
    whitespace (including U+3000 and U+00A0): scanners append CR/LF/TAB, staff paste blanks."""
    if text.isascii() and text.isprintable() and " " not in text:
        return text  # printable ASCII without blanks: nothing to drop
    return "".join(c for c in text if not (c.isspace() or unicodedata.category(c) in ("Cc", "Cf")))


# Hyphen-like characters NFKC leaves alone (U+2010 hyphen, dashes, minus, small hyphen-minus).
_DASHES = str.maketrans(
    dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-")
)


def unify_dashes(text: str) -> str:
    """Read every hyphen, dash and minus sign as ``-`` (staff type en dashes, IMEs ``－``)."""
    return text if text.isascii() else text.translate(_DASHES)


_CODABAR = re.compile(r"[A-Da-d]([0-9]+)[A-Da-d]")


def strip_framing(text: str) -> str:
    """Remove scanner framing: Code 39 ``*…*``, then Codabar start/stop letters ``A``–``D``
    (either case) around an all-digit body: ``A12345678B`` → ``12345678``."""
    if len(text) > 2 and text[0] == "*" and text[-1] == "*":
        text = text[1:-1]
    if not text or text[0] not in "ABCDabcd":
        return text
    match = _CODABAR.fullmatch(text)
    return match.group(1) if match else text


_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def upper_case(text: str) -> str:
    """Upper-case ASCII letters only (``by123`` == ``BY123``, ``x`` == ``X``); other scripts are
    left alone (``str.upper`` would turn ``ß`` into ``SS``)."""
    return text.upper() if text.isascii() else text.translate(_UPPER)


def remove_hyphens(text: str) -> str:
    """Drop ``-`` group separators (ISBN, ISSN, resident ID are read without them)."""
    return text.replace("-", "")


# --------------------------------------------------------------------------------------------
# Check digits
# --------------------------------------------------------------------------------------------

_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RIC_CHECK = "10X98765432"


def resident_id_check_char(first17: str) -> str:
    """GB 11643-1999 check character (ISO 7064 MOD 11-2) for the first 17 digits.

    ``resident_id_check_char("11010519491231002") == "X"``.  Raises ``ValueError`` unless
    ``first17`` is exactly 17 ASCII digits.
    """
    if len(first17) != 17 or not _is_digits(first17):
        raise ValueError("a resident ID check character needs exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, _RIC_WEIGHTS, strict=True))
    return _RIC_CHECK[total % 11]


# The weighted sums below run over the digits' ASCII codes (one C-level pass over the bytes);
# each code carries ord("0") times its weight, taken off again as a constant.
_ISBN10_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
_ISBN10_BIAS = ord("0") * sum(_ISBN10_WEIGHTS)
_EAN13_BIAS = ord("0") * (6 + 3 * 6)  # weights 1, 3, 1, …, 3


def isbn10_check_digit(first9: str) -> str:
    """ISBN-10 check: ``(11 − Σ dᵢ·(11−i)) mod 11``, 10 written ``X``; needs 9 digits."""
    if len(first9) != 9 or not _is_digits(first9):
        raise ValueError("an ISBN-10 check digit needs exactly 9 digits")
    total = sum(map(operator.mul, first9.encode("ascii"), _ISBN10_WEIGHTS)) - _ISBN10_BIAS
    check = (11 - total % 11) % 11
    return "X" if check == 10 else "0123456789"[check]


def ean13_check_digit(first12: str) -> str:
    """EAN-13 / ISBN-13 check: weights 1,3,1,3…, ``(10 − Σ mod 10) mod 10``; needs 12 digits."""
    if len(first12) != 12 or not _is_digits(first12):
        raise ValueError("an EAN-13 check digit needs exactly 12 digits")
    raw = first12.encode("ascii")
    total = sum(raw[0::2]) + 3 * sum(raw[1::2]) - _EAN13_BIAS
    return "0123456789"[-total % 10]


def issn_check_digit(first7: str) -> str:
    """ISSN check: weights 8..2, ``(11 − Σ mod 11) mod 11``, 10 written ``X``; needs 7 digits."""
    if len(first7) != 7 or not _is_digits(first7):
        raise ValueError("an ISSN check digit needs exactly 7 digits")
    total = sum(int(d) * (8 - i) for i, d in enumerate(first7))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def luhn_check_digit(body: str) -> str:
    """Luhn ("mod 10 type 1") check digit of 14-digit library Codabar ``T IIII SSSSSSSS C``:
    double the 1st, 3rd, … digit of ``body`` (13 digits for Codabar).

    ``luhn_check_digit("3023400051786") == "1"``.  Luhn misses ``09`` ↔ ``90``
    transpositions; nothing here claims otherwise.  Not applied by default (barcode formats
    vary by library); a plugin can add :func:`codabar14_step` to a kind's stack.
    """
    if not body or not _is_digits(body):
        raise ValueError("a Luhn check digit needs a non-empty string of digits")
    total = 0
    for i, d in enumerate(body):
        n = int(d)
        if i % 2 == 0:  # positions 1, 3, 5, … counting from the left of a 13-digit body
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return str((10 - total % 10) % 10)


def codabar14_step(text: str) -> str | CodeError:
    """Optional step: a 14-digit value must carry a valid Luhn check digit."""
    if len(text) == 14 and _is_digits(text):
        expected = luhn_check_digit(text[:13])
        if text[13] != expected:
            return reject(
                "bad-check-digit",
                f"14-digit Codabar check digit should be {expected}, not {text[13]}",
            )
    return text


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


# --------------------------------------------------------------------------------------------
# Validation steps, one per kind: refuse or return the canonical form
# --------------------------------------------------------------------------------------------

_EMPTY = "is empty once blanks, control characters and scanner framing are removed"


_BARCODE_TEXT = re.compile(r"[A-Z0-9-]*")


def _check_alphabet(
    text: str, allowed: Callable[[str], bool], what: str, hint: str
) -> CodeError | None:
    if allowed is _barcode_alphabet and _BARCODE_TEXT.fullmatch(text):
        return None  # the usual case, without a call per character
    for char in text:
        if not allowed(char):
            return reject(
                "bad-character", f"{_describe(char)} is not allowed in {what}; use {hint}"
            )
    return None


def _check_length(text: str, low: int, high: int, what: str) -> CodeError | None:
    if not low <= len(text) <= high:
        return reject(
            "bad-length",
            f"{what} must be {low}–{high} characters long, not {len(text)}",
        )
    return None


def _is_upper_alnum(char: str) -> bool:
    return char.isascii() and (char.isdigit() or "A" <= char <= "Z")


def _barcode_alphabet(char: str) -> bool:
    return _is_upper_alnum(char) or char == "-"


def _check_hyphens(text: str, what: str) -> CodeError | None:
    if text.startswith("-") or text.endswith("-") or "--" in text:
        return reject("bad-format", f"{what} may hold '-' only singly between other characters")
    return None


def _is_ean_isbn(digits: str) -> bool:
    """A 978/979 EAN-13 with a valid check digit, optionally followed by a 5-digit add-on."""
    return (
        len(digits) in (13, 18)
        and _is_digits(digits)
        and digits[:3] in ("978", "979")
        and ean13_check_digit(digits[:12]) == digits[12]
    )


def check_barcode(text: str) -> str | CodeError:
    """Item barcode (册条码号): 1–32 of ``A-Z 0-9`` with single inner ``-``; leading zeros count.

    A valid 978/979 EAN-13 (with or without a 5-digit price add-on) is the ISBN printed on
    the book, never a library barcode, and is refused as ``looks-like-isbn``.
    """
    if not text:
        return reject("empty", f"the barcode {_EMPTY}")
    error = (
        _check_alphabet(text, _barcode_alphabet, "a barcode", "A–Z, 0–9 and '-'")
        or _check_length(text, 1, 32, "a barcode")
        or _check_hyphens(text, "a barcode")
    )
    if error:
        return error
    if _is_ean_isbn(text.replace("-", "")):
        return reject(
            "looks-like-isbn",
            "looks like an ISBN (the book's EAN-13), not a library item barcode",
        )
    return text


_RESIDENT_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")


def check_card(text: str) -> str | CodeError:
    """Reader card number (读者证号): 1–32 of ``A-Z 0-9`` with single inner ``-``.

    A value shaped like a resident ID once ``-`` is removed (17 digits + digit/``X``, or 15
    digits) is validated as one (:func:`check_resident_id`) and stored in its 18-character
    form, so an ID used as a card is one card however it was typed.  Other values,
    14-digit library Codabar included, are kept as they are.
    """
    if not text:
        return reject("empty", f"the card number {_EMPTY}")
    error = _check_alphabet(text, _barcode_alphabet, "a card number", "A–Z, 0–9 and '-'")
    if error:
        return error
    compact = text.replace("-", "")
    if _RESIDENT_ID_SHAPE.fullmatch(compact):
        return check_resident_id(compact)
    return (
        _check_length(text, 1, 32, "a card number") or _check_hyphens(text, "a card number") or text
    )


def _today_in_china() -> datetime.date:
    return datetime.datetime.now(_CHINA_TZ).date()


def _birth_date_error(yyyymmdd: str) -> CodeError | None:
    try:
        born = datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        # No digits in the sentence: a birth date is personal information.
        return reject("bad-date", "the birth date (characters 7–14) is not a calendar date")
    if born < RESIDENT_ID_MIN_BIRTH:
        return reject(
            "bad-date",
            f"the birth date is before {RESIDENT_ID_MIN_BIRTH.isoformat()}",
        )
    if born > _today_in_china():
        return reject("bad-date", "the birth date is in the future")
    return None


def check_resident_id(text: str) -> str | CodeError:
    """GB 11643-1999 公民身份号码: 6-digit region, 8-digit birth date, 3-digit sequence and
    the ISO 7064 MOD 11-2 check character.

    Birth dates from :data:`RESIDENT_ID_MIN_BIRTH` (1880-01-01) to today in China are valid.
    The region code is not looked up (re-zoned counties stay legal) and sequence ``000`` is
    not refused.  A 15-digit legacy ID (``AAAAAA YYMMDD SSS``, all issued before 2000) is
    upgraded: ``19`` goes before the year and the check character is appended.
    """
    if not text:
        return reject("empty", f"the resident ID {_EMPTY}")
    if len(text) not in (15, 18):
        return reject(
            "bad-length", f"a resident ID has 18 characters (or 15, legacy), not {len(text)}"
        )
    if len(text) == 15:
        if not _is_digits(text):
            return reject("bad-character", "a 15-character legacy resident ID is all digits")
        return _birth_date_error("19" + text[6:12]) or (
            text[:6] + "19" + text[6:] + resident_id_check_char(text[:6] + "19" + text[6:])
        )
    if not _is_digits(text[:17]):
        return reject(
            "bad-character",
            "a resident ID is 17 digits followed by a digit or 'X'",
        )
    if not (_is_digits(text[17]) or text[17] == "X"):
        return reject(
            "bad-character",
            f"the check character must be a digit or 'X', not {_describe(text[17])}",
        )
    error = _birth_date_error(text[6:14])
    if error:
        return error
    expected = resident_id_check_char(text[:17])
    if text[17] != expected:
        return reject("bad-check-digit", f"check digit should be {expected}, not {text[17]}")
    return text


def _isbn10_to_13(isbn10: str) -> str:
    body = "978" + isbn10[:9]
    return body + ean13_check_digit(body)


def check_isbn(text: str) -> str | CodeError:
    """ISBN: canonical ISBN-13 without hyphens; an ISBN-10 is converted (``978`` prefix).

    ``X`` is only allowed as the last character of an ISBN-10.  A scanned EAN-13 followed by
    its 2- or 5-digit add-on (GB/T 12906 price code) is read as the ISBN alone.
    """
    if not text:
        return reject("empty", f"the ISBN {_EMPTY}")
    if len(text) == 10:
        if not _is_digits(text[:9]):
            return reject("bad-character", "an ISBN-10 is 9 digits followed by a digit or 'X'")
        if not (_is_digits(text[9]) or text[9] == "X"):
            return reject(
                "bad-character", f"an ISBN-10 ends in a digit or 'X', not {_describe(text[9])}"
            )
        expected = isbn10_check_digit(text[:9])
        if text[9] != expected:
            return reject("bad-check-digit", f"check digit should be {expected}, not {text[9]}")
        return _isbn10_to_13(text)
    if len(text) not in (13, 15, 18):
        return reject("bad-length", f"an ISBN has 10 or 13 digits, not {len(text)} characters")
    if not _is_digits(text):
        if "X" in text[:-1] and _is_digits(text.replace("X", "")):
            return reject("bad-character", "'X' may only be the last character of an ISBN-10")
        return reject("bad-character", "an ISBN-13 is all digits")
    if text[:3] not in ("978", "979"):
        return reject("bad-prefix", f"an ISBN-13 starts with 978 or 979, not {text[:3]}")
    expected = ean13_check_digit(text[:12])
    if text[12] != expected:
        return reject("bad-check-digit", f"check digit should be {expected}, not {text[12]}")
    return text[:13]


def check_issn(text: str) -> str | CodeError:
    """ISSN: canonical ``NNNN-NNNC`` (``C`` a digit or ``X``), check digit validated.

    The periodical's EAN-13 (``977`` + 7 ISSN digits + 2 variant digits + check, optionally
    with a 2-digit issue add-on) is read as its ISSN.
    """
    if not text:
        return reject("empty", f"the ISSN {_EMPTY}")
    if len(text) in (13, 15) and _is_digits(text) and text.startswith("977"):
        expected = ean13_check_digit(text[:12])
        if text[12] != expected:
            return reject(
                "bad-check-digit", f"EAN-13 check digit should be {expected}, not {text[12]}"
            )
        text = text[3:10] + issn_check_digit(text[3:10])
    if len(text) != 8:
        return reject("bad-length", f"an ISSN has 8 characters, not {len(text)}")
    if not _is_digits(text[:7]) or not (_is_digits(text[7]) or text[7] == "X"):
        return reject("bad-character", "an ISSN is 7 digits followed by a digit or 'X'")
    expected = issn_check_digit(text[:7])
    if text[7] != expected:
        return reject("bad-check-digit", f"check digit should be {expected}, not {text[7]}")
    return f"{text[:4]}-{text[4:]}"


def _library_alphabet(char: str) -> bool:
    return _is_upper_alnum(char) or char == "_"


def check_library(text: str) -> str | CodeError:
    """Library code (馆代码): 1–16 of ``A-Z 0-9 _``.  Never ``-``: a location is addressed
    cluster-wide as ``LIB-LOC`` and must split back at the first ``-``."""
    if not text:
        return reject("empty", f"the library code {_EMPTY}")
    if "-" in text:
        return reject(
            "bad-character",
            "a library code may not contain '-' (a location is addressed as LIBRARY-LOCATION)",
        )
    return (
        _check_alphabet(text, _library_alphabet, "a library code", "A–Z, 0–9 and '_'")
        or _check_length(text, 1, 16, "a library code")
        or text
    )


def _is_cjk_ideograph(char: str) -> bool:
    return ord(char) >= 0x3400 and unicodedata.name(char, "").startswith("CJK UNIFIED IDEOGRAPH-")


def _location_alphabet(char: str) -> bool:
    return _library_alphabet(char) or char == "-" or _is_cjk_ideograph(char)


def check_location(text: str) -> str | CodeError:
    """Location / collection code (馆藏地, 馆藏代码): 1–32 of ``A-Z 0-9 _``, CJK unified
    ideographs (``流通库``, ``少儿室``) and single inner ``-``.

    Locations repeat across branches by nature; the cluster key is ``(library, location)``.
    Simplified and traditional forms (``流通库`` / ``流通庫``) are different codes.
    """
    if not text:
        return reject("empty", f"the location code {_EMPTY}")
    return (
        _check_alphabet(
            text, _location_alphabet, "a location code", "A–Z, 0–9, '_', '-' and Chinese characters"
        )
        or _check_length(text, 1, 32, "a location code")
        or _check_hyphens(text, "a location code")
        or text
    )


_OWNER_CODE = re.compile(r"CN-[0-9]{6}-[0-9A-Z]-[0-9A-Z]{1,4}")


def check_owner_code(text: str) -> str | CodeError:
    """Owner institution code (ISIL-style, as on RFID tags): ``CN-<6-digit GB/T 2260
    region>-<library type>-<1–4 letters or digits>``, e.g. ``CN-110108-1-NLC``; ≤ 16 chars."""
    if not text:
        return reject("empty", f"the owner code {_EMPTY}")
    if _OWNER_CODE.fullmatch(text):
        return text
    return reject(
        "bad-format",
        "an owner code looks like CN-110108-1-NLC: CN, a 6-digit region, a type character "
        "and 1–4 letters or digits, separated by '-'",
    )


# --------------------------------------------------------------------------------------------
# The stacks
# --------------------------------------------------------------------------------------------

_Named: TypeAlias = tuple[str, Step]

_GENERIC_CLEAN: tuple[_Named, ...] = (
    ("nfkc", nfkc),
    ("remove-invisible", remove_invisible),
    ("unify-dashes", unify_dashes),
)
_SCANNED_CLEAN: tuple[_Named, ...] = (
    *_GENERIC_CLEAN,
    ("strip-framing", strip_framing),
    ("upper-case", upper_case),
)
_TYPED_CLEAN: tuple[_Named, ...] = (*_GENERIC_CLEAN, ("upper-case", upper_case))
_NUMBER_CLEAN: tuple[_Named, ...] = (*_SCANNED_CLEAN, ("remove-hyphens", remove_hyphens))

_BUILT_IN: dict[CodeKind, tuple[tuple[_Named, ...], _Named]] = {
    CodeKind.BARCODE: (_SCANNED_CLEAN, ("check-barcode", check_barcode)),
    CodeKind.CARD: (_SCANNED_CLEAN, ("check-card", check_card)),
    CodeKind.RESIDENT_ID: (_NUMBER_CLEAN, ("check-resident-id", check_resident_id)),
    CodeKind.ISBN: (_NUMBER_CLEAN, ("check-isbn", check_isbn)),
    CodeKind.ISSN: (_NUMBER_CLEAN, ("check-issn", check_issn)),
    CodeKind.LOCATION: (_TYPED_CLEAN, ("check-location", check_location)),
    CodeKind.LIBRARY: (_TYPED_CLEAN, ("check-library", check_library)),
    CodeKind.OWNER_CODE: (_TYPED_CLEAN, ("check-owner-code", check_owner_code)),
}


@dataclass(slots=True)
class _Stack:
    clean: list[_Named]
    plugin_clean: list[_Named]
    validate: _Named
    plugin_validate: list[_Named]
    _order: tuple[tuple[str, Stage, Step], ...] | None = None  # run_order(), until add_step

    def run_order(self) -> tuple[tuple[str, Stage, Step], ...]:
        if self._order is None:
            self._order = (
                *((name, "clean", step) for name, step in (*self.clean, *self.plugin_clean)),
                (self.validate[0], "validate", self.validate[1]),
                *((name, "validate", step) for name, step in self.plugin_validate),
            )
        return self._order


def _kind_of(kind: CodeKind | str) -> CodeKind | None:
    try:
        return CodeKind(kind)
    except ValueError:
        return None


class Normalisers:
    """The ordered step stacks, one per :class:`CodeKind`.

    Build one per plugin manager with :meth:`default`, let plugins :meth:`add_step`, then
    :meth:`normalise` / :meth:`require`.
    """

    __slots__ = ("_stacks",)

    def __init__(self) -> None:
        self._stacks = {
            kind: _Stack(list(clean), [], validate, [])
            for kind, (clean, validate) in _BUILT_IN.items()
        }

    @classmethod
    def default(cls) -> Normalisers:
        """A fresh set of stacks holding the built-in steps only."""
        return cls()

    def _stack(self, kind: CodeKind | str) -> _Stack:
        code_kind = _kind_of(kind)
        if code_kind is None:
            known = ", ".join(k.value for k in CodeKind)
            raise ValueError(f"unknown code kind {kind!r} (known: {known})")
        return self._stacks[code_kind]

    def add_step(
        self, kind: CodeKind | str, step: Step, *, name: str, stage: Stage = "clean"
    ) -> None:
        """Append a plugin step to ``kind``'s stack.

        ``stage="clean"``: after the built-in cleaning, before validation (the step sees
        NFKC'd, upper-cased text without blanks).  ``stage="validate"``: after the built-in
        validation (the step sees the canonical value).  Steps run in the order added.  A
        step must leave canonical values unchanged.  Raises ``ValueError`` for an unknown
        kind or stage, or a name already in the kind's stack.
        """
        stack = self._stack(kind)
        if stage not in ("clean", "validate"):
            raise ValueError(f"stage must be 'clean' or 'validate', not {stage!r}")
        if not name or any(name == existing for existing, _, _ in stack.run_order()):
            raise ValueError(f"a step needs a name not already in the {kind} stack: {name!r}")
        (stack.plugin_clean if stage == "clean" else stack.plugin_validate).append((name, step))
        stack._order = None

    def steps(self, kind: CodeKind | str) -> list[tuple[str, str]]:
        """``(name, stage)`` of every step of ``kind``, in the order they run."""
        return [(name, stage) for name, stage, _ in self._stack(kind).run_order()]

    def normalise(self, kind: CodeKind | str, raw: str) -> Code | CodeError:
        """Run ``kind``'s stack on ``raw``: the canonical :class:`Code` or a :class:`CodeError`.

        Never raises: an unknown kind, non-text input, overlong input and a failing plugin
        step are all answered with a :class:`CodeError`.
        """
        code_kind = _kind_of(kind)
        if code_kind is None:
            known = ", ".join(k.value for k in CodeKind)
            return CodeError(
                str(kind),
                _text(raw),
                f"{str(kind)!r} is not a code kind (known: {known})",
                "unknown-kind",
            )
        if not isinstance(raw, str):
            return CodeError(
                code_kind, repr(raw)[:64], f"expected text, not {type(raw).__name__}", "bad-type"
            )
        if len(raw) > MAX_RAW_LENGTH:
            return CodeError(
                code_kind,
                raw[:64] + "…",
                f"the input is {len(raw)} characters long; at most {MAX_RAW_LENGTH} are read",
                "bad-length",
            )
        text = raw
        for name, _stage, step in self._stacks[code_kind].run_order():
            try:
                result = step(text)
            except Exception as exc:  # a plugin's bug must not make normalise() raise
                logger.error("%s step %r failed", code_kind, name, exc_info=True)
                return CodeError(
                    code_kind, raw, f"the {name} step failed ({type(exc).__name__})", "step-failed"
                )
            if isinstance(result, CodeError):
                return dataclasses.replace(result, kind=code_kind, raw=raw)
            if not isinstance(result, str):
                return CodeError(
                    code_kind,
                    raw,
                    f"the {name} step returned {type(result).__name__}, not text",
                    "step-failed",
                )
            if len(result) > MAX_RAW_LENGTH:
                return CodeError(
                    code_kind, raw, f"the {name} step made the text too long", "bad-length"
                )
            text = result
        return Code(code_kind, text, raw)

    def require(self, kind: CodeKind | str, raw: str) -> str:
        """The canonical value of ``raw``, or raise :class:`InvalidCode`."""
        result = self.normalise(kind, raw)
        if isinstance(result, CodeError):
            raise InvalidCode(result)
        return result.value


def _text(raw: object) -> str:
    return raw[:MAX_RAW_LENGTH] if isinstance(raw, str) else repr(raw)[:64]


# The built-in stacks, never extended (plugins extend their own manager's ``Normalisers``).
_DEFAULT = Normalisers.default()


def normalise(kind: CodeKind | str, raw: str) -> Code | CodeError:
    """Normalise ``raw`` as ``kind`` with the built-in steps only."""
    return _DEFAULT.normalise(kind, raw)


def normalise_barcode(raw: str) -> Code | CodeError:
    """Item barcode, built-in steps (see :func:`check_barcode`)."""
    return _DEFAULT.normalise(CodeKind.BARCODE, raw)


def normalise_card(raw: str) -> Code | CodeError:
    """Reader card number, built-in steps (see :func:`check_card`)."""
    return _DEFAULT.normalise(CodeKind.CARD, raw)


def normalise_resident_id(raw: str) -> Code | CodeError:
    """Resident ID, built-in steps (see :func:`check_resident_id`)."""
    return _DEFAULT.normalise(CodeKind.RESIDENT_ID, raw)


def normalise_isbn(raw: str) -> Code | CodeError:
    """ISBN as canonical ISBN-13, built-in steps (see :func:`check_isbn`)."""
    return _DEFAULT.normalise(CodeKind.ISBN, raw)


def normalise_issn(raw: str) -> Code | CodeError:
    """ISSN as ``NNNN-NNNC``, built-in steps (see :func:`check_issn`)."""
    return _DEFAULT.normalise(CodeKind.ISSN, raw)


def normalise_location(raw: str) -> Code | CodeError:
    """Location / collection code, built-in steps (see :func:`check_location`)."""
    return _DEFAULT.normalise(CodeKind.LOCATION, raw)


def normalise_library(raw: str) -> Code | CodeError:
    """Library code, built-in steps (see :func:`check_library`)."""
    return _DEFAULT.normalise(CodeKind.LIBRARY, raw)


def normalise_owner_code(raw: str) -> Code | CodeError:
    """Owner institution code, built-in steps (see :func:`check_owner_code`)."""
    return _DEFAULT.normalise(CodeKind.OWNER_CODE, raw)


# --------------------------------------------------------------------------------------------
# ISBN helpers
# --------------------------------------------------------------------------------------------


def isbn10_to_isbn13(isbn10: str) -> str:
    """The canonical ISBN-13 of a valid ISBN (any spelling; ``7-5037-1744-0`` →
    ``9787503717444``).  Raises :class:`InvalidCode` for an invalid ISBN."""
    return _DEFAULT.require(CodeKind.ISBN, isbn10)


def isbn13_to_isbn10(isbn13: str) -> str | None:
    """The ISBN-10 (no hyphens) of a valid 978 ISBN; ``None`` for 979 (which has no ISBN-10
    form) and for invalid input."""
    result = normalise_isbn(isbn13)
    if isinstance(result, CodeError) or not result.value.startswith("978"):
        return None
    body = result.value[3:12]
    return body + isbn10_check_digit(body)


# "ISBN", "ISBN-13", "ISBN 10:" … before the number (a bare "ISBN 10" is not a label: an
# ISBN-10 may start with 10).
_ISBN_LABEL = re.compile(r"\s*(?:ISBN(?:-1[03]|\s?1[03](?=\s*:))?)?[\s:]*", re.IGNORECASE)
_ISBN_TOKEN = re.compile(r"[0-9Xx\-\u2010-\u2015\u2212]+")


def extract_isbn(text: str) -> Code | CodeError:
    """The ISBN at the start of ``text``, ignoring what follows: a qualifier, binding or price
    (``7-5053-9013-9 (含光盘)``, ``978-7-04-010937-5 精装``, ``ISBN 978-7-…``).

    ``Code.raw`` is the whole ``text``.  Total, like the normalisers.
    """
    if not isinstance(text, str) or len(text) > MAX_RAW_LENGTH:
        return normalise_isbn(text)  # the refusal any non-text or overlong input gets
    cleaned = nfkc(text)
    label = _ISBN_LABEL.match(cleaned)
    token = _ISBN_TOKEN.match(cleaned, label.end() if label else 0)
    if token is None:
        return CodeError(CodeKind.ISBN, text, "no ISBN at the start of the text", "empty")
    return dataclasses.replace(normalise_isbn(token.group()), raw=text)
