"""The SIP2 ``AZ`` checksum: two's complement of the low 16 bits of the byte sum."""

from __future__ import annotations

__all__ = ["checksum", "checksum_matches"]


def checksum(prefix: bytes) -> str:
    """Return the 4 uppercase hex digits for ``prefix`` (every byte up to and including ``AZ``).

    >>> checksum(b"9300CNuser_id|COpassw0rd|AY1AZ")
    'F594'
    """
    return f"{(-sum(prefix)) & 0xFFFF:04X}"


def checksum_matches(prefix_sum: int, digits: str) -> bool:
    """True if the hex ``digits`` verify against the sum of the prefix (bytes or code points)."""
    try:
        value = int(digits, 16)
    except ValueError:
        return False
    return (prefix_sum + value) & 0xFFFF == 0
