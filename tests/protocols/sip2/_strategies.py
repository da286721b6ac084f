"""Hypothesis strategies for SIP2 messages (shared by the sip2 tests)."""

from __future__ import annotations

from functools import cache
from typing import Any

from hypothesis import strategies as st

from protocols.sip2 import MESSAGE_TYPES, CodecConfig, Message

ENCODINGS = ("utf-8", "gb18030", "cp850")
FIXED_ALPHABET = "0123456789 YNU.+-*"
VENDOR_CODES = ("KQ", "KP", "KC", "XY", "CV", "CT", "ZW")


@cache
def _cjk_for(encoding: str) -> tuple[str, ...]:
    """A sample of CJK characters (BMP and supplementary planes) whose encoding does not
    contain a `|` byte (GBK trail byte 0x7C)."""
    out = []
    for cp in [*range(0x4E00, 0x9FA6, 11), 0x20000, 0x20BB7, 0x2A6D6, 0x3400]:
        ch = chr(cp)
        data = ch.encode(encoding)
        if 0x7C not in data and data.decode(encoding) == ch:
            out.append(ch)
    return tuple(out)


def value_text(encoding: str, max_size: int = 50) -> st.SearchStrategy[str]:
    """Values that survive encoding unchanged: no `|`, CR, LF, NUL; fit in 255 bytes."""
    ascii_chars = st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="|")
    if encoding == "cp850":
        latin = st.sampled_from("éèàçüöÄÉñ£ßø")
        return st.text(ascii_chars | latin, max_size=max_size)
    cjk = st.sampled_from(_cjk_for(encoding))
    other = st.sampled_from("é€—“”、。，《》·①")
    return st.text(ascii_chars | cjk | other, max_size=max_size)


def fixed_value(width: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(FIXED_ALPHABET), min_size=width, max_size=width)


def messages(
    encoding: str = "utf-8", classes: tuple[type[Message], ...] | None = None
) -> st.SearchStrategy[Message]:
    """Any message of the given classes with random fixed values, fields and trailer."""
    pool = classes or tuple(MESSAGE_TYPES.values())

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        cls = draw(st.sampled_from(pool))
        fixed: dict[str, Any] = {name: draw(fixed_value(w)) for name, w in cls.FIXED}
        codes = st.sampled_from(cls.ORDER + VENDOR_CODES)
        fields = draw(st.lists(st.tuples(codes, value_text(encoding)), max_size=8))
        seq = draw(st.none() | st.integers(0, 9))
        checksummed = seq is not None or draw(st.booleans())
        return cls(fields=tuple(fields), sequence=seq, checksummed=checksummed, **fixed)

    return build()


def config_for(encoding: str) -> CodecConfig:
    return CodecConfig(encoding=encoding)
