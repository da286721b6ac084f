"""Access points through explicit profiles, holdings, and match keys."""

from __future__ import annotations

from pathlib import Path

import pymarc
import pytest

from ils_bridge.catalogue import (
    Flavour,
    ReadRecord,
    extract_access_points,
    extract_holdings,
    match_keys,
    read_path,
)
from ils_bridge.catalogue.access import (
    KEY_STEPS,
    casefold,
    nfkc,
    normalise_key_text,
    strip_non_sorting,
    strip_punctuation_and_spaces,
)


def _records(path: Path) -> list[ReadRecord]:
    out = []
    for r in read_path(path):
        assert isinstance(r, ReadRecord), r
        out.append(r)
    return out


@pytest.fixture(scope="module")
def bnu(samples: Path) -> list[ReadRecord]:
    return _records(samples / "cnmarc/dp2_sample_cnmarcxml.xml")


@pytest.fixture(scope="module")
def twins(fixtures: Path) -> list[ReadRecord]:
    return _records(fixtures / "twins.xml")


def test_cnmarc_sample_access_points_are_pinned(bnu: list[ReadRecord]) -> None:
    a = extract_access_points(bnu[0].record, bnu[0].flavour)
    assert a.flavour is Flavour.CNMARC
    assert a.title == "'94中国发展报告"
    assert a.titles == ("'94中国发展报告", "中国发展报告")  # 500 uniform title as a variant
    assert a.responsibility == "国家统计局编"
    assert a.authors == ("叶震", "李强", "国家统计局")  # 701s, then 711
    assert a.isbns == {"9787503717444"}  # 7-5037-1744-0 as ISBN-13
    assert a.clc == ("F124",)
    assert a.publishers == ("中国统计出版社",)
    assert a.year == 1994
    assert a.subjects == ("经济发展--概况--中国--1994",)
    assert a.local_number == "990002180740203961"
    assert a.language == "chi"


def test_cnmarc_pinyin_subfields_are_not_titles(bnu: list[ReadRecord]) -> None:
    for r in bnu:
        a = extract_access_points(r.record, r.flavour)
        assert a.title is not None
        assert "Zhong Guo" not in a.title and "zhong guo" not in a.title.lower()


def test_cnmarc_other_title_information_and_isbn_x(bnu: list[ReadRecord]) -> None:
    a96 = extract_access_points(bnu[2].record, bnu[2].flavour)
    assert a96.title == "'96 中国发展报告 : 中国的“八五”"
    assert a96.title_proper == "'96 中国发展报告"
    a98 = extract_access_points(bnu[5].record, bnu[5].flavour)
    assert a98.isbns == {"9787503727900"}  # 7-5037-2790-X
    a99 = extract_access_points(bnu[6].record, bnu[6].flavour)
    assert a99.clc == ("F124", "F12")


def test_cnmarc_holdings_905_and_906(bnu: list[ReadRecord]) -> None:
    holdings = extract_holdings(bnu[0].record, bnu[0].flavour)
    assert [h.source_tag for h in holdings] == ["905", "906", "906", "906"]
    summary, first_item = holdings[0], holdings[1]
    assert (summary.library, summary.call_number, summary.class_number, summary.book_number) == (
        "BNU",
        "F124/26",
        "F124",
        "26",
    )
    assert summary.barcode is None and not summary.library_inherited
    assert first_item.barcode == "1683011"
    assert first_item.location == "211260"
    assert first_item.call_number == "F124/26"  # built from $d/$e
    assert first_item.library == "BNU" and first_item.library_inherited
    assert [h.barcode for h in holdings[1:]] == ["1683011", "1683012", "1683013"]


def test_marc21_chinese_sample(samples: Path) -> None:
    recs = _records(samples / "marc21/dp2_sample_marcxml_chinese_alma.xml")
    a = extract_access_points(recs[1].record, recs[1].flavour)
    assert a.flavour is Flavour.MARC21
    assert a.title == "'08中国改革跟踪报告"
    assert a.isbns == {"9787040247657"}
    assert a.publishers == ("高等教育出版社",)
    assert a.year == 2008
    assert a.language == "chi"  # 008/35-37 despite the malformed 008
    cam = extract_access_points(recs[7].record, recs[7].flavour)
    assert cam.authors == ("朱威烈", "金应忠")
    assert cam.year == 1992  # "1992.8"


def test_marc21_multi_isbn_with_qualifiers(samples: Path) -> None:
    (r,) = _records(samples / "marc21/pymarc_multi_isbn.dat")
    a = extract_access_points(r.record, r.flavour)
    assert a.isbns == {"9780914378266", "9780914378280", "9780914378297"}
    assert a.title == "The town scold"


def test_unimarc_names_and_nsb_nse(samples: Path) -> None:
    (r,) = _records(samples / "unimarc/pymarc_testunimarc.dat")
    a = extract_access_points(r.record, r.flavour)
    assert a.title == "L'altra faccia della spirale"  # markers gone from display
    assert a.authors[0] == "Asimov, Isaac"  # 700 $a + $b ", Isaac"
    assert match_keys(a).title_key == "altrafacciadellaspirale|asimovisaac|1996"


def test_twins_fixture_access_points_and_holdings(twins: list[ReadRecord]) -> None:
    cn, m21 = twins
    assert (cn.flavour, m21.flavour) == (Flavour.CNMARC, Flavour.MARC21)
    a, b = (extract_access_points(r.record, r.flavour) for r in twins)
    assert a.title == b.title == "红楼梦"
    assert a.clc == b.clc == ("I242.47",)
    assert a.authors == ("曹雪芹", "高鹗")
    assert b.authors == ("曹雪芹", "高鹗")
    assert a.publishers == b.publishers == ("人民文学出版社",)
    assert a.year == b.year == 1982
    assert a.subjects == ("章回小说--中国--清代",)
    assert b.subjects == ("章回小说--中国--清代",)
    (h905,) = extract_holdings(cn.record, cn.flavour)
    assert (h905.library, h905.barcode, h905.location, h905.call_number, h905.volume) == (
        "ZG",
        "ZG0000123",
        "流通库",
        "I242.47/12",
        "上册",
    )
    h852, h952 = extract_holdings(m21.record, m21.flavour)
    assert (h852.library, h852.location, h852.barcode, h852.call_number) == (
        "ZG",
        "阅览室",
        "ZG0000456",
        "I242.47 C12",
    )
    assert (h952.library, h952.holding_library, h952.barcode, h952.call_number, h952.item_type) == (
        "ZG",
        "FG01",
        "FG01000789",
        "I242.47/12",
        "BK",
    )


def test_isbn10_record_and_isbn13_twin_share_match_keys(twins: list[ReadRecord]) -> None:
    a, b = (match_keys(extract_access_points(r.record, r.flavour)) for r in twins)
    assert a.isbns == b.isbns == {"9787020002207"}
    assert a.strong == b.strong == {"isbn:9787020002207"}
    assert a.title_key == b.title_key == "红楼梦|曹雪芹|1982"
    assert a.matches(b) and b.matches(a)


def test_serial_issn_and_weak_isbns(fixtures: Path) -> None:
    (r,) = _records(fixtures / "serial.xml")
    a = extract_access_points(r.record, r.flavour)
    assert a.issns == {"0273-1967"}
    assert a.isbns == frozenset()
    # invalid 010$a kept as digits, cancelled 010$z (checksum-valid) as its ISBN-13
    assert a.invalid_isbns == {"7111111111", "9787020002207"}
    assert a.title == "图书馆杂志 : 月刊"
    assert a.year == 1979
    keys = match_keys(a)
    assert keys.strong == {"issn:0273-1967"}
    assert "9787020002207" in keys.weak


def test_near_duplicates_in_the_bnu_sample(bnu: list[ReadRecord]) -> None:
    keys = [match_keys(extract_access_points(r.record, r.flavour)) for r in bnu]
    # the two '97 records (print and e-resource) share ISBN and title key
    assert keys[3].isbns == keys[4].isbns == {"9787503726231"}
    assert keys[3].title_key == keys[4].title_key
    assert keys[3].matches(keys[4])
    # yearly volumes share class and publisher but not the key: year/ISBN differ
    assert len({k.title_key for k in keys}) >= 8
    assert not keys[0].matches(keys[1])


def test_match_keys_without_strong_keys_fall_back_to_title() -> None:
    def rec(title: str, author: str) -> pymarc.Record:
        r = pymarc.Record()
        r.fields.append(
            pymarc.Field(
                tag="200",
                indicators=pymarc.Indicators("1", " "),
                subfields=[pymarc.Subfield("a", title)],
            )
        )
        r.fields.append(
            pymarc.Field(
                tag="701",
                indicators=pymarc.Indicators(" ", "0"),
                subfields=[pymarc.Subfield("a", author)],
            )
        )
        r.fields.append(
            pymarc.Field(
                tag="210",
                indicators=pymarc.Indicators(" ", " "),
                subfields=[pymarc.Subfield("d", "[1994]")],
            )
        )
        return r

    a = match_keys(extract_access_points(rec("'94中国发展报告", "叶震"), Flavour.CNMARC))
    b = match_keys(extract_access_points(rec("’94 中国发展报告", "叶 震"), Flavour.CNMARC))
    c = match_keys(extract_access_points(rec("｀94中国発展報告", "叶震"), Flavour.CNMARC))
    assert a.title_key == b.title_key == "94中国发展报告|叶震|1994"
    assert a.matches(b)
    assert not a.matches(c)  # other characters stay different (no 繁→简 here)


@pytest.mark.parametrize(
    ("step", "raw", "expected"),
    [
        (strip_non_sorting, "\x88L'\x89altra", "altra"),
        (strip_non_sorting, "stray \x89marker", "stray marker"),
        (nfkc, "ＡＢＣ１２３　x", "ABC123 x"),
        (casefold, "Straße ABC", "strasse abc"),
        (strip_punctuation_and_spaces, "'94 中国·发展“报告”`93：", "94中国发展报告93"),
    ],
)
def test_key_steps_alone(step: object, raw: str, expected: str) -> None:
    assert callable(step)
    assert step(raw) == expected


def test_key_steps_stack_is_ordered_and_extensible() -> None:
    assert KEY_STEPS[0] is strip_non_sorting
    assert normalise_key_text("\x88The \x89Ｐｅｒｌ  Book!") == "perlbook"
    extra = (*KEY_STEPS, lambda s: s.replace("發", "发"))
    assert normalise_key_text("發展", extra) == "发展"
