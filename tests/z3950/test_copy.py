"""Copy cataloguing: target profiles, our client against yaz-ztest and against a second
instance of our own target serving GB18030 CNMARC (domain.md §6.5 scenario 10)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import plugins.z3950
from ils_bridge.catalogue.model import Charset, Flavour
from ils_bridge.catalogue.store import Catalogue
from ils_bridge.copycat import (
    CatalogueSourceRegistry,
    SourceResult,
    TargetProfile,
    TargetProfiles,
    copy_records,
    isbn_queries,
    parse_address,
    search_targets,
)
from ils_bridge.errors import DuplicateCode, InvalidInput, NotFound
from ils_bridge.frontends.z3950_target import make_target
from ils_bridge.plugin_manager import build_registries, make_plugin_manager
from ils_bridge.store import migrate
from ils_bridge.store.engine import Store, open_store
from tests.hub.conftest import make_cluster

from .support import Book, iso2709, yaz_ztest


def registry() -> CatalogueSourceRegistry:
    pm = make_plugin_manager(entry_points=False, plugins=[(plugins.z3950, "z3950")])
    return build_registries(pm).catalogue_sources


# --------------------------------------------------------------------------- profiles


def test_parse_address() -> None:
    assert parse_address("z.nlc.cn:2200/NLC01") == ("z.nlc.cn", 2200, "NLC01")
    assert parse_address("127.0.0.1:210") == ("127.0.0.1", 210, "Default")
    assert parse_address("[::1]:2100/union") == ("::1", 2100, "union")
    for bad in ("", ":210/x", "h:port/x", "h:70000/x"):
        with pytest.raises(InvalidInput):
            parse_address(bad)


def test_isbn_queries_try_the_other_form() -> None:
    assert isbn_queries("7-02-000220-X") == ["@attr 1=7 702000220X", "@attr 1=7 9787020002207"]
    assert isbn_queries("978-7-02-000220-7") == ["@attr 1=7 9787020002207", "@attr 1=7 702000220X"]
    assert isbn_queries("9791234567896")[1:] == []
    with pytest.raises(InvalidInput):
        isbn_queries("none")


def test_profiles_in_the_store(store: Store) -> None:
    profiles = TargetProfiles(store)
    added = profiles.add(
        TargetProfile(
            "NLC",
            "127.0.0.1",
            2200,
            "NLC01",
            syntax="cnmarc",
            record_encoding="GB2312",
            term_encoding="GBK",
            user="cat",
            password="s3cret",
            timeout=2.5,
        )
    )
    assert (added.syntax, added.record_encoding, added.term_encoding) == (
        "unimarc",
        "gb18030",
        "gb18030",
    )
    assert added.flavour is Flavour.CNMARC and added.record_charset is Charset.GB18030
    profiles.add(TargetProfile("loc", "127.0.0.1", 7090, "Voyager", syntax="usmarc"))
    with pytest.raises(DuplicateCode):
        profiles.add(TargetProfile("NLC", "127.0.0.1", 1, "x"))
    for bad in (
        TargetProfile("all", "h", 1, "d"),
        TargetProfile("has space", "h", 1, "d"),
        TargetProfile("x", "h", 1, "d", syntax="grs1"),
        TargetProfile("x", "h", 1, "d", record_encoding="klingon"),
        TargetProfile("x", "h", 1, "d", term_encoding="klingon"),
        TargetProfile("x", "h", 1, "d", timeout=0),
    ):
        with pytest.raises(InvalidInput):
            profiles.add(bad)
    listed = profiles.list()
    assert [p.name for p in listed] == ["loc", "NLC"]
    nlc = profiles.get("NLC")
    assert nlc.password == "s3cret" and nlc.timeout == 2.5 and nlc.user == "cat"
    shown = nlc.as_json()
    assert "s3cret" not in str(shown) and shown["password_set"] is True
    assert "s3cret" not in repr(nlc)
    assert [p.name for p in profiles.select(["all"])] == ["loc", "NLC"]
    assert [p.name for p in profiles.select(["NLC,loc"])] == ["NLC", "loc"]
    profiles.remove("loc")
    with pytest.raises(NotFound):
        profiles.remove("loc")
    with pytest.raises(NotFound):
        profiles.select(["loc"])


# --------------------------------------------------------------------------- against yaz-ztest


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.interop
def test_client_against_yaz_ztest_with_failing_targets(tmp_path: Path) -> None:
    with yaz_ztest(tmp_path / "ztest.log") as port:
        good = TargetProfile("ztest", "127.0.0.1", port, "Default", syntax="usmarc", timeout=10)
        slow = TargetProfile(
            "slow", "127.0.0.1", port, "Default?search-delay=5", syntax="usmarc", timeout=0.5
        )
        down = TargetProfile("down", "127.0.0.1", _closed_port(), "Default", timeout=2)
        bad_db = TargetProfile("nodb", "127.0.0.1", port, "nosuchdb", syntax="usmarc", timeout=5)
        outcomes = asyncio.run(
            search_targets(
                [good, slow, down, bad_db], registry(), "@attr 1=4 computer", max_records=3
            )
        )
    by = {o.target: o for o in outcomes}
    assert by["ztest"].ok and by["ztest"].hits > 3 and len(by["ztest"].records) == 3
    assert all(r.ok and r.flavour is Flavour.MARC21 for r in by["ztest"].records)
    assert not by["slow"].ok and "within 0.5 s" in (by["slow"].error or "")
    assert by["slow"].seconds < 3
    assert not by["down"].ok and "cannot reach" in (by["down"].error or "")
    assert not by["nodb"].ok and "[109]" in (by["nodb"].error or "")
    assert by["ztest"].as_json()["records"][0]["title"]


# --------------------------------------------------------------------------- scenario 10

SANGUO = Book("7-02-000223-4", "三国演义", "罗贯中", "人民文学出版社", 1973, Flavour.CNMARC)
HONGLOU_10 = Book(
    "7-02-000220-X",
    "红楼梦",
    "曹雪芹",
    "人民文学出版社",
    1982,
    Flavour.CNMARC,
    items=(("BJ", "B0000001", "I242.4/3"),),
)


@pytest.fixture
def gb18030_source(tmp_path: Path) -> Iterator[Store]:
    """A second hub (another library) whose catalogue holds CNMARC records that arrived as
    GB18030 with ISBN-10s; served by our own target as GB18030."""
    s = open_store(f"sqlite:///{tmp_path / 'source.sqlite3'}")
    migrate.upgrade(s)
    cluster = make_cluster(s)
    cat = Catalogue(s, cluster)
    data = iso2709(HONGLOU_10, Charset.GB18030, "nlc-1") + iso2709(SANGUO, Charset.GB18030, "nlc-2")
    summary = cat.import_records([("nlc.iso", data)])
    assert summary.new == 2
    yield s
    s.dispose()


@contextlib.asynccontextmanager
async def served(store: Store, charset: str) -> AsyncIterator[int]:
    target = make_target(store, charset=charset, negotiable=())
    await target.start("127.0.0.1", 0)
    try:
        yield target.port
    finally:
        await target.close()


def test_copy_gb18030_cnmarc_merges_onto_the_utf8_record(
    catalogue: Catalogue, gb18030_source: Store
) -> None:
    before = catalogue.count()
    (hong,) = catalogue.search(isbn="9787020002207")

    async def main() -> tuple[list[object], list[object], list[object]]:
        async with served(gb18030_source, "GB18030") as port:
            profile = TargetProfile(
                "NLC",
                "127.0.0.1",
                port,
                "union",
                syntax="unimarc",
                record_encoding="gb18030",
                term_encoding="gb18030",
                negotiate=False,
                timeout=10,
            )
            by_isbn = await search_targets([profile], registry(), isbn_queries("7-02-000220-X"))
            by_title = await search_targets([profile], registry(), "@attr 1=4 三国")
            by_13 = await search_targets([profile], registry(), isbn_queries("9787020002207"))
            return list(by_isbn), list(by_title), list(by_13)

    by_isbn, by_title, by_13 = asyncio.run(asyncio.wait_for(main(), 60))
    (o,) = by_isbn
    assert o.ok and o.hits == 1 and o.query == "@attr 1=7 702000220X"  # type: ignore[attr-defined]
    raw = o.records[0].data  # type: ignore[attr-defined]
    assert "红楼梦".encode("gb18030") in raw and b"0120" in raw  # GB18030, and it says so
    # dry run: nothing written
    dry = copy_records(catalogue, by_isbn, dry_run=True)  # type: ignore[arg-type]
    assert (dry.as_json()["new"], dry.as_json()["merged"]) == (0, 1)
    assert catalogue.count() == before
    report = copy_records(catalogue, by_isbn)  # type: ignore[arg-type]
    data = report.as_json()
    assert (data["new"], data["merged"], data["rejected"]) == (0, 1, 0), data
    assert catalogue.count() == before
    merged = catalogue.get(hong)
    assert merged.record is not None
    # the source library's holdings (905 BJ) are not copied onto ours
    assert [f["a"] for f in merged.record.get_fields("905")] == ["CEN", "XT"]
    assert merged.record["200"]["a"] == "红楼梦"
    # our target answers either form itself
    assert by_13[0].ok and by_13[0].hits == 1  # type: ignore[attr-defined]
    # a work the catalogue lacks is new, decoded from GB18030 into UTF-8
    report = copy_records(catalogue, by_title)  # type: ignore[arg-type]
    assert (report.as_json()["new"], report.as_json()["merged"]) == (1, 0)
    (new_id,) = catalogue.search(isbn="9787020002238")
    rec = catalogue.get(new_id)
    assert rec.title == "三国演义" and rec.author == "罗贯中" and rec.charset == "utf-8"
    assert rec.record is not None and rec.record["100"]["a"][26:30] == "50  "


def test_copy_with_one_failing_target_keeps_the_others(
    catalogue: Catalogue, gb18030_source: Store
) -> None:
    async def main() -> list[object]:
        async with served(gb18030_source, "GB18030") as port:
            good = TargetProfile(
                "NLC",
                "127.0.0.1",
                port,
                "union",
                record_encoding="gb18030",
                term_encoding="gb18030",
                timeout=10,
            )
            down = TargetProfile("down", "127.0.0.1", _closed_port(), "union", timeout=2)
            return list(await search_targets([down, good], registry(), "@attr 1=4 三国"))

    outcomes = asyncio.run(asyncio.wait_for(main(), 60))
    report = copy_records(catalogue, outcomes)  # type: ignore[arg-type]
    data = report.as_json()
    assert [t["ok"] for t in data["targets"]] == [False, True]
    assert data["new"] == 1


class FakeSource:
    """A third-party catalogue source: anything that answers PQF with MARC."""

    kind = "fake"
    description = "test source"

    def __init__(self, profile: TargetProfile) -> None:
        self.profile = profile

    async def search(self, pqf: str, *, max_records: int) -> SourceResult:
        from ils_bridge.copycat import SourceRecord

        data = iso2709(SANGUO)
        return SourceResult(1, (SourceRecord(data, flavour=Flavour.CNMARC),), pqf)


def test_a_plugin_source_feeds_the_same_import(catalogue: Catalogue) -> None:
    reg = registry()
    reg.add(FakeSource)  # type: ignore[arg-type]
    assert reg.kinds() == ["fake", "z3950"]
    profile = TargetProfile("vendor", "api.example", 443, "books", kind="fake")
    outcomes = asyncio.run(search_targets([profile], reg, "@attr 1=4 三国"))
    assert outcomes[0].ok
    assert copy_records(catalogue, outcomes).as_json()["new"] == 1
    unknown = TargetProfile("x", "h", 1, "d", kind="nope")
    (o,) = asyncio.run(search_targets([unknown], reg, "x"))
    assert not o.ok and "no catalogue source plugin of kind 'nope'" in (o.error or "")
