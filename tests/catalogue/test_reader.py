"""Readers: every shared sample reads; damage is reported with its position, never raised."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ils_bridge.catalogue import (
    Charset,
    Flavour,
    ReadFailure,
    ReadRecord,
    Syntax,
    read_marc,
    read_path,
    to_iso2709,
)
from ils_bridge.catalogue.reader import sniff_syntax


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# file → (records parsed, failures, flavour of the parsed records)
EXPECTED = {
    "cnmarc/dp2_sample_cnmarcxml.xml": (10, 0, Flavour.CNMARC),
    "marc21/dp2_sample_marcxml_chinese_alma.xml": (10, 0, Flavour.MARC21),
    "unimarc/pymarc_testunimarc.dat": (1, 0, Flavour.UNIMARC),
    "marc21/pymarc_test.dat": (10, 0, Flavour.MARC21),
    "marc21/pymarc_marc8.dat": (1, 0, Flavour.MARC21),
    "marc21/pymarc_utf8_with_leader_flag.dat": (1, 0, Flavour.MARC21),
    "marc21/pymarc_utf8_without_leader_flag.dat": (1, 0, Flavour.MARC21),
    "marc21/pymarc_multi_isbn.dat": (1, 0, Flavour.MARC21),
    "marc21/pymarc_bad_records.mrc": (2, 6, Flavour.MARC21),
    "marc21/marc4j_chinese_mangled_multibyte.mrc": (4, 0, Flavour.MARC21),
    "marc21/marc4j_summerland.mrc": (1, 0, Flavour.MARC21),
    "marc21/marc4j_chabon.mrc": (2, 0, Flavour.MARC21),
    "derived/cnmarc_bnu_alma_first3.utf8.iso": (3, 0, Flavour.CNMARC),
    "derived/cnmarc_bnu_alma_first3.gb18030.iso": (3, 0, Flavour.CNMARC),
}


def test_every_sample_is_listed(samples: Path) -> None:
    on_disk = {
        str(p.relative_to(samples))
        for p in samples.rglob("*")
        if p.is_file() and p.name not in ("SOURCES.md", "SHA256SUMS")
    }
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_reads(samples: Path, name: str) -> None:
    parsed, failed, flavour = EXPECTED[name]
    results = read_path(samples / name)
    records = [r for r in results if isinstance(r, ReadRecord)]
    failures = [r for r in results if isinstance(r, ReadFailure)]
    assert (len(records), len(failures)) == (parsed, failed)
    assert {r.flavour for r in records} == {flavour}
    assert [r.position.index for r in results] == list(range(len(results)))
    for r in records:
        assert r.record.fields


def test_bad_records_are_reported_with_position_and_reason(samples: Path) -> None:
    results = read_path(samples / "marc21/pymarc_bad_records.mrc")
    summary = [(r.ok, r.position.index, r.position.offset) for r in results]
    assert summary == [
        (True, 0, 0),
        (False, 1, 127),
        (False, 2, 254),
        (False, 3, 381),
        (False, 4, 509),
        (False, 5, 637),
        (False, 6, 764),
        (True, 7, 790),
    ]
    reasons = [r.reason for r in results if isinstance(r, ReadFailure)]
    assert "base address of data 99937" in reasons[0]
    assert "not a multiple of 12" in reasons[2]
    assert "non-ASCII" in reasons[3]
    assert "not a number" in reasons[4]
    assert "no fields" in reasons[5]
    assert all(r.raw for r in results)


def test_gb18030_and_utf8_derived_files_give_identical_records(samples: Path) -> None:
    gb = read_path(samples / "derived/cnmarc_bnu_alma_first3.gb18030.iso")
    utf8 = read_path(samples / "derived/cnmarc_bnu_alma_first3.utf8.iso")
    assert all(isinstance(r, ReadRecord) for r in gb + utf8)
    for a, b in zip(gb, utf8, strict=True):
        assert isinstance(a, ReadRecord) and isinstance(b, ReadRecord)
        assert a.charset.used is Charset.GB18030 and b.charset.used is Charset.UTF8
        assert [str(f) for f in a.record.fields] == [str(f) for f in b.record.fields]
        assert str(a.record.leader)[5:] == str(b.record.leader)[5:]  # only the length differs


def test_derived_iso_matches_the_xml_it_came_from(samples: Path) -> None:
    xml = read_path(samples / "cnmarc/dp2_sample_cnmarcxml.xml")[:3]
    iso = read_path(samples / "derived/cnmarc_bnu_alma_first3.gb18030.iso")
    for a, b in zip(xml, iso, strict=True):
        assert isinstance(a, ReadRecord) and isinstance(b, ReadRecord)
        assert [str(f) for f in a.record.fields] == [str(f) for f in b.record.fields]


def test_charset_declarations_that_lie_are_recorded(samples: Path) -> None:
    utf8 = read_path(samples / "derived/cnmarc_bnu_alma_first3.utf8.iso")
    first = utf8[0]
    assert isinstance(first, ReadRecord)
    # 100$a/26-29 says "0120" (GB) but the bytes are UTF-8
    assert first.charset.declared_raw == "0120"
    assert first.charset.declared is Charset.GB18030
    assert first.charset.detected is Charset.UTF8
    assert first.charset.declaration_lied
    assert any("declares" in w for w in first.warnings)

    no_flag = read_path(samples / "marc21/pymarc_utf8_without_leader_flag.dat")[0]
    with_flag = read_path(samples / "marc21/pymarc_utf8_with_leader_flag.dat")[0]
    assert isinstance(no_flag, ReadRecord) and isinstance(with_flag, ReadRecord)
    assert no_flag.charset.declared is Charset.MARC8
    assert no_flag.charset.used is Charset.UTF8
    assert [str(f) for f in no_flag.record.fields] == [str(f) for f in with_flag.record.fields]


def test_marc8_is_transcoded(samples: Path) -> None:
    marc8 = read_path(samples / "marc21/pymarc_marc8.dat")[0]
    utf8 = read_path(samples / "marc21/pymarc_utf8_with_leader_flag.dat")[0]
    assert isinstance(marc8, ReadRecord) and isinstance(utf8, ReadRecord)
    assert marc8.charset.used is Charset.MARC8
    assert not marc8.charset.lossy
    # pymarc composes MARC-8 diacritics (NFC); the UTF-8 twin is decomposed. The reader does
    # not normalise (NFC would also rewrite CJK compatibility ideographs).
    assert [nfc(str(f)) for f in marc8.record.fields] == [nfc(str(f)) for f in utf8.record.fields]


def test_mangled_eacc_is_flagged_lossy_not_raised(samples: Path) -> None:
    results = read_path(samples / "marc21/marc4j_chinese_mangled_multibyte.mrc")
    assert all(isinstance(r, ReadRecord) for r in results)
    assert any(r.charset.lossy for r in results if isinstance(r, ReadRecord))


def test_unimarc_nsb_nse_survive_as_utf8(samples: Path) -> None:
    rec = read_path(samples / "unimarc/pymarc_testunimarc.dat")[0]
    assert isinstance(rec, ReadRecord)
    assert rec.charset.used is Charset.UTF8
    title = rec.record.get_fields("200")[0].get_subfields("a")[0]
    assert title == "\x88L'\x89altra faccia della spirale"


def test_charset_override_wins(samples: Path) -> None:
    data = (samples / "derived/cnmarc_bnu_alma_first3.gb18030.iso").read_bytes()
    forced = list(read_marc(data, charset=Charset.UTF8))
    assert all(isinstance(r, ReadRecord) for r in forced)
    first = forced[0]
    assert isinstance(first, ReadRecord)
    assert first.charset.overridden and first.charset.used is Charset.UTF8
    assert first.charset.detected is Charset.GB18030
    assert first.charset.lossy  # GB bytes are not UTF-8: replaced, reported, not raised


def test_flavour_override_wins(samples: Path) -> None:
    data = (samples / "derived/cnmarc_bnu_alma_first3.utf8.iso").read_bytes()
    assert {
        r.flavour for r in read_marc(data, flavour=Flavour.UNIMARC) if isinstance(r, ReadRecord)
    } == {Flavour.UNIMARC}


def test_leader_dashes_are_blanks(samples: Path) -> None:
    first = read_path(samples / "cnmarc/dp2_sample_cnmarcxml.xml")[0]
    assert isinstance(first, ReadRecord)
    assert str(first.record.leader) == "01576nam0 2200409   4500"
    assert first.position.line is not None


def test_xml_in_gb18030_without_declaration_is_read() -> None:
    xml = (
        '<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 a 4500</leader>'
        '<datafield tag="245" ind1="0" ind2="0"><subfield code="a">红楼梦</subfield></datafield></record>'
    ).encode("gb18030")
    (result,) = read_marc(xml)
    assert isinstance(result, ReadRecord)
    assert result.charset.used is Charset.GB18030
    assert result.record.get_fields("245")[0].get_subfields("a") == ["红楼梦"]


def test_damaged_xml_is_salvaged_or_reported() -> None:
    good = '<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">1</controlfield></record>'
    data = f"<collection>{good}{good}<record><datafield".encode()
    results = list(read_marc(data))
    assert [r.ok for r in results][:2] == [True, True]
    assert any("damaged" in w for r in results if isinstance(r, ReadRecord) for w in r.warnings)
    assert next(iter(read_marc(b"<not-marc/>"))).ok is False
    assert next(iter(read_marc(b"<<<"))).ok is False


def test_sniff_syntax() -> None:
    assert sniff_syntax(b"\xef\xbb\xbf  <?xml version='1.0'?><r/>") is Syntax.MARCXML
    assert sniff_syntax(b"00127     2200037   4500") is Syntax.ISO2709


def test_concatenated_stream_with_newlines_and_garbage(samples: Path) -> None:
    one = (samples / "marc21/marc4j_summerland.mrc").read_bytes()
    data = one + b"\r\n" + b"garbage without terminator" + b"\x1d" + one
    results = list(read_marc(data))
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].position.offset == len(one) + 2
    assert results[2].position.offset == len(one) + 2 + len(b"garbage without terminator") + 1


@given(st.binary(max_size=400))
def test_reader_is_total_on_arbitrary_bytes(data: bytes) -> None:
    for syntax in (Syntax.ISO2709, Syntax.MARCXML):
        for result in read_marc(data, syntax=syntax):
            assert isinstance(result, ReadRecord | ReadFailure)


@given(st.data())
def test_reader_is_total_on_damaged_records(data: st.DataObject) -> None:
    """Flip, cut and splice bytes of a real record: still never raises."""
    import pymarc

    rec = pymarc.Record()
    rec.leader = pymarc.Leader("00000nam0 2200000   450 ")
    rec.fields.append(pymarc.Field(tag="001", data="X1"))
    rec.fields.append(
        pymarc.Field(
            tag="200",
            indicators=pymarc.Indicators("1", " "),
            subfields=[pymarc.Subfield("a", "红楼梦"), pymarc.Subfield("f", "曹雪芹著")],
        )
    )
    raw = bytearray(to_iso2709(rec, Flavour.CNMARC, Charset.GB18030))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    damaged = bytes(raw[:cut]) + data.draw(st.binary(max_size=30))
    for result in read_marc(damaged, syntax=Syntax.ISO2709):
        assert isinstance(result, ReadRecord | ReadFailure)
