"""Charset declarations and byte sniffing, rule by rule."""

from __future__ import annotations

import pytest

from ils_bridge.catalogue import Charset, Flavour, declared_charset, sniff_charset
from ils_bridge.catalogue.encodings import decode_bytes

CN, M21 = Flavour.CNMARC, Flavour.MARC21


@pytest.mark.parametrize(
    ("flavour", "leader", "f100a", "expected"),
    [
        (M21, "00000cam a2200000 a 4500", None, (Charset.UTF8, "a")),
        (M21, "00000cam  2200000 a 4500", None, (Charset.MARC8, " ")),
        (M21, "00000cam z2200000 a 4500", None, (None, "z")),
        (CN, "", "20020204d1994    em y0chiy0120    ea", (Charset.GB18030, "0120")),
        (CN, "", "19990513d1998    fkmy0chiy0121    ea", (Charset.GB18030, "0121")),
        (CN, "", "20020204d1995    em a0chiy50      ea", (Charset.UTF8, "50  ")),
        (CN, "", "20190611d########u##y0chiy50######ea", (Charset.UTF8, "50##")),
        (CN, "", "20020204d1995    em a0chiy0110    ea", (None, "0110")),  # meaning unverified
        (Flavour.UNIMARC, "", "19961119d1996    ||||0itac50      ba", (Charset.UTF8, "50  ")),
        (CN, "", None, (None, "")),
        (CN, "", "short", (None, "")),
    ],
)
def test_declared_charset(
    flavour: Flavour, leader: str, f100a: str | None, expected: tuple[Charset | None, str]
) -> None:
    assert declared_charset(flavour, leader, f100a) == expected


TITLE = "红楼梦·中国发展报告（上册）"


@pytest.mark.parametrize(
    ("data", "flavour", "declared", "expected"),
    [
        # rule 1: MARC-8 escapes win over everything
        (b"\x1b$1!0\x1b(B abc", M21, Charset.UTF8, Charset.MARC8),
        (b"\x1b$1!0\x1b(B abc", CN, Charset.UTF8, Charset.UTF8),  # not in UNIMARC
        # rule 2: ASCII believes the declaration
        (b"plain ascii", M21, Charset.MARC8, Charset.MARC8),
        (b"plain ascii", CN, Charset.GB18030, Charset.GB18030),
        (b"plain ascii", CN, None, Charset.UTF8),
        # rule 3: valid UTF-8 is UTF-8 whatever is declared
        (TITLE.encode(), CN, Charset.GB18030, Charset.UTF8),
        (TITLE.encode(), M21, Charset.MARC8, Charset.UTF8),
        # rule 4: GB text, in any flavour
        (TITLE.encode("gb18030"), CN, Charset.UTF8, Charset.GB18030),
        (TITLE.encode("gb18030"), M21, Charset.MARC8, Charset.GB18030),
        ("丟".encode("gb18030"), M21, Charset.MARC8, Charset.GB18030),  # GBK lead 0x81
        ("紅樓夢".encode("gbk"), M21, Charset.MARC8, Charset.GB18030),  # traditional, GBK-only
        ("𠀀红".encode("gb18030"), CN, None, Charset.GB18030),  # four-byte GB18030
        # rule 4/5: MARC-8 Latin diacritics (combining byte before the letter)
        (b"M\xe8uller, Fran\xf0cois", M21, Charset.MARC8, Charset.MARC8),
        (b"\xa2Alb\xe2ebe", M21, Charset.MARC8, Charset.MARC8),
        # rule 5: neither UTF-8 nor GB18030
        (b"\xff\xff\xff", CN, None, Charset.GB18030),
        (b"\xff\xff\xff", M21, None, Charset.MARC8),
    ],
)
def test_sniff_rules(
    data: bytes, flavour: Flavour, declared: Charset | None, expected: Charset
) -> None:
    assert sniff_charset(data, flavour, declared) is expected


def test_decode_never_raises_and_reports_loss() -> None:
    assert decode_bytes(TITLE.encode("gb18030"), Charset.GB18030) == (TITLE, False)
    text, lossy = decode_bytes(b"\xff\xfe", Charset.UTF8)
    assert lossy and "\ufffd" in text
    assert decode_bytes(b"M\xe8uller", Charset.MARC8) == ("Müller", False)
    _, lossy = decode_bytes(b"\x1b$1\x21", Charset.MARC8)  # truncated EACC triplet
    assert lossy


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("GB2312", Charset.GB18030),
        ("gbk", Charset.GB18030),
        ("CP936", Charset.GB18030),
        (" UTF8 ", Charset.UTF8),
        ("utf-8", Charset.UTF8),
        ("MARC-8", Charset.MARC8),
    ],
)
def test_charset_from_label(label: str, expected: Charset) -> None:
    assert Charset.from_label(label) is expected


def test_charset_from_unknown_label() -> None:
    with pytest.raises(ValueError, match="big5"):
        Charset.from_label("big5")
