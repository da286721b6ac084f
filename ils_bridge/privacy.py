"""Privacy helpers for patron identifiers (PIPL; GB/T 35273 treats 身份证件号码 as sensitive).

* :func:`mask` / :func:`mask_resident_id` — what logs and screens show: ``110105********002X``,
  ``P0****89``;
* :func:`keyed_hash` — what an index may hold to find duplicates without the number itself:
  HMAC-SHA256 under the cluster's secret, separated by kind so a card number and a resident ID
  that happen to be equal do not hash alike;
* :class:`MaskingFilter` — a ``logging.Filter`` that masks resident-ID-shaped numbers in the
  message, its arguments, and any traceback text.  Only the CLI installs handlers; it attaches
  this filter to them (``handler.addFilter(MaskingFilter())``).

Standard library only, like :mod:`ils_bridge.codes`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

__all__ = ["MaskingFilter", "keyed_hash", "mask", "mask_resident_id", "mask_text"]


def mask(value: str, *, keep_start: int = 2, keep_end: int = 2, char: str = "*") -> str:
    """``value`` with all but ``keep_start`` leading and ``keep_end`` trailing characters
    replaced by ``char``; the length is kept (``mask("P0000089") == "P0****89"``).

    A value too short to hide anything with those settings keeps a quarter of its length at
    each end instead, so something is always hidden (``mask("P001") == "P**1"``,
    ``mask("P01") == "***"``).
    """
    if keep_start < 0 or keep_end < 0:
        raise ValueError("keep_start and keep_end must not be negative")
    if len(value) <= keep_start + keep_end:
        keep_start = keep_end = len(value) // 4
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + char * hidden + value[len(value) - keep_end :]


def mask_resident_id(value: str) -> str:
    """A resident ID as shown to staff: region code and last four characters kept, birth date
    hidden (``11010519491231002X`` → ``110105********002X``; 15-digit legacy IDs keep three
    at the end: ``110105491231002`` → ``110105******002``)."""
    return mask(value, keep_start=6, keep_end=3 if len(value) == 15 else 4)


def keyed_hash(secret: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under ``secret``, domain-separated by ``kind``; 64 hex digits.

    Hash the *canonical* value (``Code.value``), so every spelling of one ID hashes alike.
    The kind is length-prefixed, so no (kind, value) pair can imitate another.  Raises
    ``ValueError`` for an empty secret (an unkeyed hash of an ID is easily reversed: the
    space of valid IDs is small); use 32 random bytes.
    """
    if not secret:
        raise ValueError("keyed_hash needs a non-empty secret")
    kind_bytes = str(kind).encode("utf-8", "surrogatepass")
    message = (
        len(kind_bytes).to_bytes(4, "big") + kind_bytes + value.encode("utf-8", "surrogatepass")
    )
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


# 18 characters (17 digits + digit/X) or 15 digits, optionally typed in groups
# 6-8-4 / 6-6-3 with a space or hyphen, and not part of a longer run of digits.
_RESIDENT_ID = re.compile(
    r"(?<![0-9])"
    r"(?:[0-9]{6}[ -]?[0-9]{8}[ -]?[0-9]{3}[0-9Xx]"
    r"|[0-9]{6}[ -]?[0-9]{6}[ -]?[0-9]{3})"
    r"(?![0-9Xx])"
)


def _mask_match(match: re.Match[str]) -> str:
    text = match.group()
    digits = text.replace(" ", "").replace("-", "")
    return mask_resident_id(digits)


def mask_text(text: str) -> str:
    """``text`` with every resident-ID-shaped number masked (whether or not its check digit
    is right: a mistyped ID is still personal information)."""
    return _RESIDENT_ID.sub(_mask_match, text)


class MaskingFilter(logging.Filter):
    """Mask resident-ID-shaped numbers in log records; never drops a record.

    The message is formatted here (``record.getMessage()``), masked, and stored back with
    ``args`` cleared, so numbers passed as ``%s``/``%d`` arguments are masked too.  Traceback
    and stack text is formatted and masked as well.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # A broken format string: mask what can be seen and let the handler report it.
            record.msg = mask_text(str(record.msg))
            if isinstance(record.args, tuple):
                record.args = tuple(mask_text(a) if isinstance(a, str) else a for a in record.args)
            return True
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True
