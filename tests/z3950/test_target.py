"""The Z39.50 target over the unified catalogue, driven by our origin (both databases)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pymarc
import pytest

from ils_bridge.catalogue.model import Charset
from ils_bridge.catalogue.reader import read_iso2709
from ils_bridge.catalogue.store import And, AndNot, Catalogue, Or, Term, Truncation
from ils_bridge.cluster import Cluster
from ils_bridge.frontends.z3950_target import make_target, rpn_to_query
from protocols.z3950 import oids
from protocols.z3950.apdu import (
    AttributeElement,
    AttributesPlusTerm,
    DefaultDiag,
    External,
    PresentStatus,
    ResponseRecords,
    RpnQuery,
)
from protocols.z3950.origin import Z3950Origin
from protocols.z3950.pqf import parse_pqf
from protocols.z3950.records import OpacRecord, opac_record, sutrs_text
from protocols.z3950.target import RetrievalRecord


def serve(
    catalogue: Catalogue,
    body: Callable[[Z3950Origin], Awaitable[Any]],
    *,
    charset: str = "UTF-8",
    propose: tuple[str, ...] = (),
) -> Any:
    async def main() -> Any:
        target = make_target(catalogue.store, charset=charset)
        await target.start("127.0.0.1", 0)
        try:
            async with await Z3950Origin.connect("127.0.0.1", target.port, timeout=10) as z:
                init = await z.init(charsets=propose)
                assert init.result
                return await body(z)
        finally:
            await target.close()

    return asyncio.run(asyncio.wait_for(main(), 60))


def records(resp: Any) -> list[External | DefaultDiag]:
    assert isinstance(resp.records, ResponseRecords), resp
    return [npr.record for npr in resp.records.records]


def marc(ext: External | DefaultDiag, charset: Charset = Charset.UTF8) -> pymarc.Record:
    assert isinstance(ext, External) and isinstance(ext.encoding, bytes), ext
    (result,) = list(read_iso2709(ext.encoding, charset=charset))
    assert result.ok
    return result.record


# --------------------------------------------------------------------------- query mapping (pure)


def q(pqf: str) -> object:
    return rpn_to_query(parse_pqf(pqf).rpn, "utf-8")


def test_bib1_mapping() -> None:
    assert q("@attr 1=4 红楼") == Term("title", "红楼")
    assert q("@attr 1=7 @attr 5=100 7-02-000220-X") == Term("isbn", "7-02-000220-X")
    assert q("@attr 1=1003 @attr 5=1 knu") == Term("author", "knu", Truncation.RIGHT)
    assert q("@attr 1=31 @attr 2=4 1990") == Term("year", "1990", relation=">=")
    assert q("@attr 5=101 prog#") == Term("any", "prog", Truncation.RIGHT)
    assert q("@and @attr 1=4 a @or @attr 1=21 b @not @attr 1=1018 c @attr 1=12 d") == And(
        Term("title", "a"),
        Or(Term("subject", "b"), AndNot(Term("publisher", "c"), Term("local_number", "d"))),
    )
    assert q("@attr 1=8 @attr 3=1 @attr 4=2 @attr 6=1 1234-5679") == Term("issn", "1234-5679")


@pytest.mark.parametrize(
    ("pqf", "diag"),
    [
        ("@attr 1=9999 x", DefaultDiag(114, "9999")),
        ("@attr 1=title x", DefaultDiag(114, "title")),
        ("@attr 2=6 x", DefaultDiag(117, "6")),
        ("@attr 1=4 @attr 2=1 x", DefaultDiag(117, "<")),
        ("@attr 3=7 x", DefaultDiag(119, "7")),
        ("@attr 4=104 x", DefaultDiag(118, "104")),
        ("@attr 5=104 x", DefaultDiag(120, "104")),
        ("@attr 6=9 x", DefaultDiag(122, "9")),
        ("@attr 9=1 x", DefaultDiag(113, "9")),
        ("@attr gils 1=2000 x", DefaultDiag(121, "1.2.840.10003.3.5")),
        ("@prox 0 3 1 2 k 2 a b", DefaultDiag(129, "proximity")),
        ("@set foo", DefaultDiag(18, "foo")),
    ],
)
def test_unsupported_attributes_get_their_diagnostic(pqf: str, diag: DefaultDiag) -> None:
    assert q(pqf) == diag


def test_bad_term_bytes_are_a_diagnostic() -> None:
    node = AttributesPlusTerm((AttributeElement(1, 4),), b"\xff\xfe\x81")
    result = rpn_to_query(node, "utf-8")
    assert isinstance(result, DefaultDiag) and result.condition == 125


# --------------------------------------------------------------------------- over the wire


def test_search_and_present_every_syntax(catalogue: Catalogue) -> None:
    async def body(z: Z3950Origin) -> None:
        # ISBN-10 query finds the record catalogued with its ISBN-13, and the reverse
        for pqf in (
            "@attr 1=7 702000220X",
            "@attr 1=7 9787020002207",
            "@attr 1=7 978-7-02-000220-7",
        ):
            found = await z.search(pqf, databases=("union",))
            assert found.result_count == 1, pqf
        assert (await z.search("@attr 1=7 9787020002214", databases=("Default",))).result_count == 1
        # CJK substring: 红楼 finds 红楼梦; two-character terms work
        found = await z.search("@attr 1=4 红楼", databases=("UNION",))
        assert found.result_count == 1
        page = await z.present(1, 1, syntax="unimarc")
        rec = marc(records(page)[0])
        assert rec["200"]["a"] == "红楼梦" and rec["010"]["a"] == "9787020002207"
        assert rec["100"]["a"][26:30] == "50  "  # CNMARC: UTF-8 (ISO 10646) declared
        # a CNMARC record is not available as USMARC: 238 naming the syntax it is in
        page = await z.present(1, 1, syntax="usmarc")
        assert records(page) == [DefaultDiag(238, oids.UNIMARC)]
        xml = records(await z.present(1, 1, syntax="xml"))[0]
        assert isinstance(xml, External) and isinstance(xml.encoding, bytes)
        assert "红楼梦".encode() in xml.encoding and xml.encoding.startswith(b"<?xml")
        sutrs = records(await z.present(1, 1, syntax="sutrs"))[0]
        assert isinstance(sutrs, External)
        text = sutrs_text(sutrs)
        assert (
            "Title: 红楼梦" in text and "Author: 曹雪芹" in text and "ISBN: 9787020002207" in text
        )
        opac = records(await z.present(1, 1, syntax="opac"))[0]
        assert isinstance(opac, External)
        o = opac_record(opac)
        assert o.bibliographic_record is not None
        assert o.bibliographic_record.direct_reference == oids.UNIMARC
        assert o.holdings is not None and len(o.holdings) == 2
        where = {h.nuc_code: h for h in o.holdings}  # type: ignore[union-attr]
        assert set(where) == {"CEN", "XT"}
        assert where["CEN"].local_location == "市图书馆" and where["CEN"].call_number == "I242.4/1"
        circ = where["XT"].circulation
        assert circ is not None and circ[0].available_now and circ[0].item_id == "X0000001"
        # MARC21 records are USMARC
        found = await z.search("@attr 1=1003 knuth", databases=("union",))
        assert found.result_count == 1
        rec = marc(records(await z.present(1, 1, syntax="usmarc"))[0])
        assert rec["245"]["a"] == "The art of computer programming"
        assert records(await z.present(1, 1, syntax="unimarc")) == [DefaultDiag(238, oids.USMARC)]
        # with no syntax named, each MARC record comes in its own syntax
        natural = records(await z.present(1, 1, syntax=None))[0]
        assert isinstance(natural, External) and natural.direct_reference == oids.USMARC
        assert marc(natural)["245"]["a"] == "The art of computer programming"
        # out of range, unsupported syntax
        beyond = await z.present(2, 1, syntax="usmarc")
        assert (beyond.present_status, beyond.records) == (
            PresentStatus.FAILURE,
            DefaultDiag(13, "2"),
        )
        grs = await z.present(1, 1, syntax=oids.GRS1)
        assert isinstance(grs.records, DefaultDiag) and grs.records.condition == 239

    serve(catalogue, body)


def test_boolean_year_and_library_databases(catalogue: Catalogue, cluster3: Cluster) -> None:
    async def hits(z: Z3950Origin, pqf: str, db: str = "union") -> int | DefaultDiag:
        found = await z.search(pqf, databases=(db,))
        if isinstance(found.records, DefaultDiag):
            return found.records
        return found.result_count

    async def body(z: Z3950Origin) -> None:
        assert await hits(z, "@attr 1=1018 人民文学出版社") == 2
        assert await hits(z, "@and @attr 1=1018 人民文学出版社 @attr 1=4 西游") == 1
        assert await hits(z, "@or @attr 1=4 红楼梦 @attr 1=4 java") == 2
        assert await hits(z, "@not @attr 1=1018 人民文学出版社 @attr 1=1003 曹雪芹") == 1
        assert await hits(z, "@attr 1=31 @attr 2=5 1981") == 3
        assert await hits(z, "@attr 1=31 @attr 2=2 1980") == 1
        assert await hits(z, "@attr 1=21 章回小说") == 1
        assert await hits(z, "@attr 1=12 rec0001") == 1
        assert await hits(z, "@attr 1=12 @attr 5=1 rec000") == 4
        assert await hits(z, "@attr 1=1016 曹雪芹") == 1
        assert await hits(z, "@attr 1=1016 9787111213826") == 1
        assert await hits(z, "@attr 1=4 @attr 5=1 compu") == 1
        assert await hits(z, "@attr 1=4 @attr 5=2 puter") == DefaultDiag(
            120, "left truncation on title"
        )
        # per-library databases hold the records of that library's items
        assert await hits(z, "@attr 1=1018 人民文学出版社", "CEN") == 2
        assert await hits(z, "@attr 1=1018 人民文学出版社", "xt") == 1
        assert await hits(z, "@attr 1=4 java", "XT") == 1
        assert await hits(z, "@attr 1=4 java", "WZ") == 0
        assert await hits(z, "@attr 1=4 java", "nosuch") == DefaultDiag(235, "nosuch")

    serve(catalogue, body)
    cluster3.remove_library("WZ")

    async def removed(z: Z3950Origin) -> None:
        assert await hits(z, "@attr 1=4 java", "WZ") == DefaultDiag(109, "WZ")

    serve(catalogue, removed)


def test_gb18030_listener_rewrites_the_declaration(catalogue: Catalogue) -> None:
    async def body(z: Z3950Origin) -> None:
        term = "红楼梦".encode("gb18030")
        node = AttributesPlusTerm((AttributeElement(1, 4),), term)
        found = await z.search(RpnQuery(node), databases=("union",))
        assert found.result_count == 1
        ext = records(await z.present(1, 1, syntax="unimarc"))[0]
        assert isinstance(ext, External) and isinstance(ext.encoding, bytes)
        assert "红楼梦".encode("gb18030") in ext.encoding and "红楼梦".encode() not in ext.encoding
        rec = marc(ext, Charset.GB18030)
        assert rec["100"]["a"][26:30] == "0120"  # CNMARC: GB18030 declared
        found = await z.search(
            RpnQuery(AttributesPlusTerm((AttributeElement(1, 7),), b"9787111213826"))
        )
        usm = records(await z.present(1, 1, syntax="usmarc"))[0]
        assert isinstance(usm, External) and isinstance(usm.encoding, bytes)
        assert usm.encoding[9:10] == b" "  # MARC21 leader/09 blank: not UTF-8
        assert "Java编程思想".encode("gb18030") in usm.encoding
        xml = records(await z.present(1, 1, syntax="xml"))[0]
        assert isinstance(xml, External) and isinstance(xml.encoding, bytes)
        assert b"encoding='GB18030'" in xml.encoding[:60]
        assert "Java编程思想".encode("gb18030") in xml.encoding

    serve(catalogue, body, charset="GB18030")

    async def negotiated(z: Z3950Origin) -> None:
        assert z.charset == "utf-8"
        found = await z.search("@attr 1=4 红楼梦")
        assert found.result_count == 1
        rec = marc(records(await z.present(1, 1, syntax="unimarc"))[0])
        assert rec["200"]["a"] == "红楼梦"

    serve(catalogue, negotiated, charset="GB18030", propose=("UTF-8",))


def test_invalid_terms_are_diagnostics_not_crashes(catalogue: Catalogue) -> None:
    async def body(z: Z3950Origin) -> None:
        for term in (b"\xff\xfe", b"\x81", "红".encode("gb18030"), b"\x00abc", b""):
            node = AttributesPlusTerm((AttributeElement(1, 4),), term)
            found = await z.search(RpnQuery(node))
            if isinstance(found.records, DefaultDiag):
                assert found.records.condition == 125, term
            else:
                assert found.search_status and found.result_count == 0, term
        year = await z.search("@attr 1=31 abc")
        assert isinstance(year.records, DefaultDiag) and year.records.condition == 125
        assert (await z.search("@attr 1=4 红楼")).result_count == 1  # still alive

    serve(catalogue, body)


@pytest.mark.parametrize("count_by_fetch", [2, 20_000])
def test_large_result_sets_fetch_later_pages_again(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, count_by_fetch: int
) -> None:
    import ils_bridge.frontends.z3950_target as frontend

    monkeypatch.setattr(frontend, "MATERIALISE", 1)
    monkeypatch.setattr(frontend, "COUNT_BY_FETCH", count_by_fetch)

    async def body(z: Z3950Origin) -> None:
        found = await z.search("@attr 1=31 @attr 2=4 1900")
        assert found.result_count == 4
        titles = []
        for start in (1, 2, 3, 4):
            page = await z.present(start, 1, syntax="xml")
            (ext,) = records(page)
            assert isinstance(ext, External) and isinstance(ext.encoding, bytes)
            titles.append(ext.encoding)
        assert len(set(titles)) == 4
        page = await z.present(2, 3, syntax="sutrs")
        assert len(records(page)) == 3

    serve(catalogue, body)


def test_brief_records_are_served_in_either_marc(catalogue: Catalogue, cluster3: Cluster) -> None:
    from ils_bridge.frontends.z3950_target import CatalogueBackend

    cluster3.add_item("X0000099", library="XT", title="乡土中国", author="费孝通")
    from sqlalchemy import select

    from ils_bridge.store.schema import bibs

    with catalogue.store.read() as conn:
        (bib_id,) = conn.execute(select(bibs.c.id).where(bibs.c.marc.is_(None))).scalars()
    backend = CatalogueBackend(catalogue, offload=False)
    (uni,) = backend._present([bib_id], oids.UNIMARC, Charset.UTF8).records
    assert isinstance(uni, RetrievalRecord) and isinstance(uni.data, bytes)
    (rec,) = list(read_iso2709(uni.data))
    assert rec.ok and rec.record["200"]["a"] == "乡土中国" and rec.record["701"]["a"] == "费孝通"
    (us,) = backend._present([bib_id], oids.USMARC, Charset.GB18030).records
    assert isinstance(us, RetrievalRecord) and isinstance(us.data, bytes)
    assert "乡土中国".encode("gb18030") in us.data
    (opac,) = backend._present([bib_id], oids.OPAC, Charset.UTF8).records
    assert isinstance(opac, RetrievalRecord) and isinstance(opac.data, OpacRecord)
    assert opac.data.holdings is not None
    assert opac.data.holdings[0].nuc_code == "XT"  # type: ignore[union-attr]
