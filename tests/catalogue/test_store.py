"""The catalogue in the hub, on SQLite and PostgreSQL: dedup import of the real samples,
CJK and ISBN search, holdings, brief records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from ils_bridge.catalogue.model import Flavour
from ils_bridge.catalogue.store import (
    And,
    AndNot,
    Catalogue,
    Or,
    SearchQuery,
    Term,
    Truncation,
    UnsupportedSearch,
)
from ils_bridge.cluster import Cluster
from ils_bridge.errors import NotFound
from ils_bridge.store import migrate
from ils_bridge.store.engine import Store, open_store
from ils_bridge.store.schema import bib_isbns, bibs, items
from tests.hub.conftest import fresh_pg_url, make_cluster

# Every real sample, in import order, with (new, merged, rejected) when imported in this order
# into an empty catalogue. Merges: the two '97中国发展报告 CNMARC records share an ISBN; the
# derived ISO 2709 files are the first three CNMARC records again (GB18030 and UTF-8); two of
# the Chinese MARC21 records share an ISBN; Summerland is in chabon.mrc too; the mangled-EACC
# file is one book four times; the two "Escape from loneliness" files are the MARC-8 record in
# UTF-8; a Perl record without ISBN matches its ISBN twin by title+author+year; the damaged
# file has 2 good records (one a duplicate of the other) and 6 broken ones.
SAMPLES: list[tuple[str, tuple[int, int, int]]] = [
    ("cnmarc/dp2_sample_cnmarcxml.xml", (9, 1, 0)),
    ("derived/cnmarc_bnu_alma_first3.gb18030.iso", (0, 3, 0)),
    ("derived/cnmarc_bnu_alma_first3.utf8.iso", (0, 3, 0)),
    ("marc21/dp2_sample_marcxml_chinese_alma.xml", (9, 1, 0)),
    ("marc21/marc4j_chabon.mrc", (2, 0, 0)),
    ("marc21/marc4j_chinese_mangled_multibyte.mrc", (1, 3, 0)),
    ("marc21/marc4j_summerland.mrc", (0, 1, 0)),
    ("marc21/pymarc_bad_records.mrc", (1, 1, 6)),
    ("marc21/pymarc_marc8.dat", (1, 0, 0)),
    ("marc21/pymarc_multi_isbn.dat", (1, 0, 0)),
    ("marc21/pymarc_test.dat", (9, 1, 0)),
    ("marc21/pymarc_utf8_with_leader_flag.dat", (0, 1, 0)),
    ("marc21/pymarc_utf8_without_leader_flag.dat", (0, 1, 0)),
    ("unimarc/pymarc_testunimarc.dat", (1, 0, 0)),
]
TOTAL_NEW = sum(c[0] for _, c in SAMPLES)  # 34
TOTAL_GOOD = sum(c[0] + c[1] for _, c in SAMPLES)


# The hub's fixtures, over both databases with a fresh schema per test.


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cluster.sqlite3'}"
    else:
        yield from fresh_pg_url()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    migrate.upgrade(s)
    yield s
    s.dispose()


@pytest.fixture
def cluster(store: Store) -> Cluster:
    return make_cluster(store)


@pytest.fixture
def cluster3(cluster: Cluster) -> Cluster:
    cluster.add_library("CEN", name="市图书馆", kind="central", owner_code="CN-330400-1-CEN")
    cluster.add_range("CEN", "item", "C0000000", "C4999999")
    return cluster


@pytest.fixture
def catalogue(store: Store, cluster: Cluster) -> Catalogue:
    return Catalogue(store, cluster)


def _counts(cat: Catalogue, path: Path, **kw: object) -> tuple[int, int, int]:
    s = cat.import_records([path], **kw)  # type: ignore[arg-type]
    return s.new, s.merged, s.rejected


def _all_samples(samples: Path) -> list[Path]:
    return [samples / name for name, _ in SAMPLES]


def _isbn_rows(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(bib_isbns)).scalar_one())


# ---------------------------------------------------------------------------------- import


def test_real_samples_import_with_pinned_counts(catalogue: Catalogue, samples: Path) -> None:
    got = [(name, _counts(catalogue, samples / name)) for name, _ in SAMPLES]
    assert got == SAMPLES
    assert catalogue.count() == TOTAL_NEW == 34
    stats = catalogue.stats()
    assert stats["by_flavour"] == {"cnmarc": 9, "marc21": 24, "unimarc": 1}


def test_reimport_is_idempotent(catalogue: Catalogue, samples: Path, store: Store) -> None:
    first = catalogue.import_records(_all_samples(samples))
    assert (first.new, first.merged, first.rejected) == (TOTAL_NEW, TOTAL_GOOD - TOTAL_NEW, 6)
    with store.read() as conn:
        before = conn.execute(select(bibs.c.id, bibs.c.marc).order_by(bibs.c.id)).all()
    codes = _isbn_rows(store)
    again = catalogue.import_records(_all_samples(samples))
    assert (again.new, again.merged, again.rejected) == (0, TOTAL_GOOD, 6)
    with store.read() as conn:
        assert conn.execute(select(bibs.c.id, bibs.c.marc).order_by(bibs.c.id)).all() == before
    assert _isbn_rows(store) == codes


def test_small_chunks_match_across_transactions(catalogue: Catalogue, samples: Path) -> None:
    s = catalogue.import_records(_all_samples(samples), chunk_size=2)
    assert (s.new, s.merged, s.rejected) == (TOTAL_NEW, TOTAL_GOOD - TOTAL_NEW, 6)
    assert catalogue.count() == TOTAL_NEW


def test_records_another_connection_commits_during_an_import_are_matched(
    store: Store, fixtures: Path
) -> None:
    """An import into an empty catalogue skips the database look-ups while every stored record
    is its own; once anyone else commits (here, an import of the twins between two chunks), it
    looks again, and its copy of the twins merges onto theirs instead of duplicating them."""
    ours, theirs = Catalogue(store), Catalogue(store)
    twins = fixtures / "twins.xml"
    calls: list[int] = []

    def meanwhile(done: int) -> None:
        calls.append(done)
        if len(calls) == 1:
            assert theirs.import_records([twins]).new == 1

    s = ours.import_records(
        [fixtures / "serial.xml", twins], chunk_size=1, progress=meanwhile, workers=1
    )
    assert (s.new, s.merged) == (1, 2)
    assert ours.count() == 2
    [bib] = ours.search(title="红楼梦")
    assert bib in ours.search(isbn="7-02-000220-X")  # (serial.xml holds it as a weak code)


def test_gb18030_and_utf8_copies_merge_onto_the_same_records(
    catalogue: Catalogue, samples: Path
) -> None:
    gb = samples / "derived/cnmarc_bnu_alma_first3.gb18030.iso"
    utf8 = samples / "derived/cnmarc_bnu_alma_first3.utf8.iso"
    assert _counts(catalogue, gb) == (3, 0, 0)
    assert _counts(catalogue, utf8) == (0, 3, 0)
    assert _counts(catalogue, samples / "cnmarc/dp2_sample_cnmarcxml.xml") == (6, 4, 0)
    assert catalogue.count() == 9
    [hit] = catalogue.search(title="'94中国发展报告")
    rec = catalogue.get(hit)
    assert rec.charset == "gb18030"  # the first copy is the one kept
    assert rec.flavour is Flavour.CNMARC
    assert rec.record is not None and rec.access is not None
    assert rec.access.title == "'94中国发展报告"
    assert rec.isbns == ("9787503717444",)


def test_twins_cnmarc_isbn10_and_marc21_isbn13_are_one_record(
    catalogue: Catalogue, fixtures: Path
) -> None:
    assert _counts(catalogue, fixtures / "twins.xml") == (1, 1, 0)
    assert catalogue.count() == 1
    [bib] = catalogue.search(isbn="7-02-000220-X")
    assert catalogue.search(isbn="978-7-02-000220-7") == [bib]
    rec = catalogue.get(bib)
    assert rec.flavour is Flavour.CNMARC and rec.title == "红楼梦"
    # the MARC21 twin's holdings fields were merged onto the record kept
    assert rec.record is not None
    assert [f.tag for f in rec.record.get_fields("905", "852", "952")] == ["852", "905", "952"]


def test_damaged_file_imports_good_records_and_reports_the_rest(
    catalogue: Catalogue, samples: Path
) -> None:
    path = samples / "marc21/pymarc_bad_records.mrc"
    s = catalogue.import_records([path])
    assert (s.new, s.merged, s.rejected) == (1, 1, 6)
    assert [f.position.index for f in s.failures] == [1, 2, 3, 4, 5, 6]
    assert all(f.file == str(path) and f.position.offset and f.reason for f in s.failures)
    assert "base address" in s.failures[0].reason
    assert catalogue.search(title="pragmatic programmer") != []


def test_bytes_and_rubbish_never_stop_a_batch(catalogue: Catalogue, fixtures: Path) -> None:
    s = catalogue.import_records(
        [("junk.mrc", b"00010nam  \x1d garbage"), (fixtures / "twins.xml")]
    )
    assert (s.new, s.merged, s.rejected) == (1, 1, 2)
    assert [(f.file, f.position.index) for f in s.failures] == [("junk.mrc", 0), ("junk.mrc", 1)]
    assert "shorter than a leader" in s.failures[0].reason


def test_dry_run_writes_nothing(catalogue: Catalogue, samples: Path, store: Store) -> None:
    s = catalogue.import_records(_all_samples(samples), dry_run=True)
    assert (s.new, s.merged, s.rejected) == (TOTAL_NEW, TOTAL_GOOD - TOTAL_NEW, 6)
    assert catalogue.count() == 0 and _isbn_rows(store) == 0


def test_forced_encoding_and_flavour(catalogue: Catalogue, samples: Path) -> None:
    gb = samples / "derived/cnmarc_bnu_alma_first3.gb18030.iso"
    s = catalogue.import_records([gb], encoding="gbk", flavour="cnmarc", format="iso2709")
    assert (s.new, s.rejected) == (3, 0)
    assert catalogue.search(title="发展报告", limit=None) != []
    from ils_bridge.errors import InvalidInput

    with pytest.raises(InvalidInput):
        catalogue.import_records([gb], encoding="klingon")


# ---------------------------------------------------------------------------------- search


@pytest.fixture
def loaded(catalogue: Catalogue, samples: Path, fixtures: Path) -> Catalogue:
    catalogue.import_records([*_all_samples(samples), fixtures / "twins.xml"])
    return catalogue


def _titles(cat: Catalogue, ids: list[int]) -> list[str]:
    return [h["title"] for h in cat.summaries(ids)]


def test_cjk_substring_and_two_character_terms(loaded: Catalogue) -> None:
    [hlm] = loaded.search(title="红楼")
    assert _titles(loaded, [hlm]) == ["红楼梦"]
    assert loaded.search(title="红楼梦") == [hlm]
    assert loaded.search(title="楼梦") == [hlm]
    assert hlm in loaded.search(title="梦")
    assert loaded.search(title="红梦楼") == []
    reports = loaded.search(title="发展报告")
    # '92…'99 (the two '97 records are one), and 1999年中国发展状况与趋势 : 中国发展报告
    assert len(reports) == 9
    assert set(reports) <= set(loaded.search(title="中国"))
    assert loaded.search(author="曹雪芹") == [hlm]
    assert loaded.search(author="雪芹") == [hlm]
    assert loaded.search(title="红楼", author="高鹗") == [hlm]
    assert loaded.search(title="红楼", author="国家统计局") == []
    assert loaded.search(publisher="人民文学") == [hlm]
    assert loaded.search(subject="章回小说") == [hlm]
    assert loaded.search(any="曹雪芹") == [hlm]
    assert loaded.search(title="！！") == []


def test_latin_words_are_whole_words_unless_truncated(loaded: Catalogue) -> None:
    perl = loaded.search(title="perl")
    assert "Programming Perl" in _titles(loaded, perl)
    assert loaded.search(title="per") == []
    prefixed = loaded.search(Term("title", "per", Truncation.RIGHT))
    assert set(perl) <= set(prefixed)
    assert loaded.search(title="PROGRAMMING perl") != []


def test_isbn10_finds_isbn13_and_back(loaded: Catalogue) -> None:
    # '94中国发展报告 was catalogued with ISBN-10 7-5037-1744-0
    [bib] = loaded.search(isbn="9787503717444")
    assert loaded.search(isbn="7503717440") == [bib]
    assert loaded.search(isbn="7-5037-1744-0") == [bib]
    assert loaded.search(any="978-7-5037-1744-4") == [bib]
    # Programming Perl was catalogued with ISBN-10 0596000278
    [perl] = loaded.search(isbn="978-0-596-00027-1")
    assert loaded.search(isbn="0596000278") == [perl]
    assert loaded.search(isbn="0000000000") == []


def test_boolean_queries_for_z3950(loaded: Catalogue) -> None:
    reports = set(loaded.search(title="发展报告"))
    y96 = set(loaded.search(year="1996"))
    both = loaded.search(And(Term("title", "发展报告"), Term("year", "1996")))
    assert set(both) == reports & y96 and both
    either = loaded.search(Or(Term("title", "红楼梦"), Term("isbn", "9787503717444")), limit=None)
    assert len(either) == 2
    rest = loaded.search(AndNot(Term("title", "发展报告"), Term("year", "1996")), limit=None)
    assert set(rest) == reports - y96
    after = loaded.search(
        And(Term("title", "发展报告"), Term("year", "1997", relation=">=")), limit=None
    )
    assert _titles(loaded, after)[:3] == ["'97中国发展报告", "'98中国发展报告", "'99中国发展报告"]
    assert len(after) == 4
    assert loaded.search_count(Term("title", "发展报告")) == 9
    assert loaded.search(SearchQuery(title="红楼", year=1982)) == loaded.search(title="红楼")
    assert loaded.search(Term("clc", "F12", Truncation.RIGHT), limit=None) != []
    assert loaded.search(Term("clc", "F12")) == []
    assert len(loaded.search(title="发展报告", limit=3)) == 3
    assert loaded.search(title="发展报告", limit=3, offset=3) == sorted(reports)[3:6]


def test_unsupported_searches_say_why(loaded: Catalogue) -> None:
    with pytest.raises(UnsupportedSearch) as exc:
        loaded.search(Term("shelf", "x"))
    assert exc.value.kind == "field"
    with pytest.raises(UnsupportedSearch) as exc:
        loaded.search(Term("title", "楼梦", Truncation.LEFT))
    assert exc.value.kind == "truncation"
    with pytest.raises(UnsupportedSearch) as exc:
        loaded.search(Term("title", "x", relation=">"))
    assert exc.value.kind == "relation"
    with pytest.raises(UnsupportedSearch) as exc:
        loaded.search(year="MCMXCIV")
    assert exc.value.kind == "term"
    with pytest.raises(UnsupportedSearch):
        loaded.search()


def test_get_and_not_found(loaded: Catalogue) -> None:
    [bib] = loaded.search(title="红楼梦")
    rec = loaded.get(bib)
    assert rec.access is not None and rec.access.clc == ("I242.47",)
    assert rec.year == 1982 and not rec.is_brief
    with pytest.raises(NotFound):
        loaded.get(999_999)


# ---------------------------------------------------------------------------- holdings/items


def test_register_items_from_holdings_and_refuse_duplicates(
    cluster: Cluster, store: Store, fixtures: Path
) -> None:
    cluster.add_library("ZG", name="总馆", kind="central")
    cluster.add_location("ZG", "阅览室")
    cat = Catalogue(store, cluster)
    s = cat.import_records([fixtures / "twins.xml"], register_items=True)
    assert (s.new, s.merged, s.items_registered, s.items_refused) == (1, 1, 3, [])
    [bib] = cat.search(title="红楼梦")
    held = cat.holdings(bib)
    assert [(h.barcode, h.library, h.location, h.status) for h in held] == [
        ("FG01000789", "ZG", None, "available"),
        ("ZG0000123", "ZG", None, "available"),
        ("ZG0000456", "ZG", "阅览室", "available"),
    ]
    assert held[1].call_number == "I242.47/12" and held[1].available
    assert held[0].item_type == "BK"
    again = cat.import_records([fixtures / "twins.xml"], register_items=True)
    assert (again.new, again.merged, again.items_registered) == (0, 2, 0)
    assert len(again.items_refused) == 3
    assert all(r.reason.startswith("duplicate") for r in again.items_refused)
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(items)).scalar_one() == 3


def test_register_items_unknown_library_is_reported(
    cluster: Cluster, store: Store, samples: Path
) -> None:
    cat = Catalogue(store, cluster)
    s = cat.import_records([samples / "cnmarc/dp2_sample_cnmarcxml.xml"], register_items=True)
    assert s.items_registered == 0
    assert len(s.items_refused) == 7
    assert {r.library for r in s.items_refused} == {"BNU"}
    assert "no library" in s.items_refused[0].reason
    cluster.add_library("BNU", name="师大", kind="central")
    s = cat.import_records([samples / "cnmarc/dp2_sample_cnmarcxml.xml"], register_items=True)
    assert (s.new, s.merged, s.items_registered, len(s.items_refused)) == (0, 10, 7, 0)
    [bib] = cat.search(isbn="7-5037-1744-0")
    assert {h.library for h in cat.holdings(bib)} == {"BNU"}


def test_brief_record_is_completed_by_its_full_record(cluster3: Cluster, fixtures: Path) -> None:
    cluster3.add_item("C0000001", library="CEN", title="红楼梦(简)", isbn="9787020002207")
    cat = Catalogue(cluster3.store, cluster3)
    assert cat.count() == 0
    assert cat.index_brief_records() == 0  # `item add` already gave the brief record its tokens
    [brief] = cat.search(title="红楼梦")  # brief records are searchable by title
    assert cat.get(brief).is_brief
    s = cat.import_records([fixtures / "twins.xml"])
    assert (s.new, s.merged) == (0, 2)
    assert cat.search(title="红楼梦") == [brief]
    rec = cat.get(brief)
    assert not rec.is_brief and rec.title == "红楼梦" and rec.flavour is Flavour.CNMARC
    assert [h.barcode for h in cat.holdings(brief)] == ["C0000001"]


def test_migration_indexes_existing_brief_records(db_url: str) -> None:
    s = open_store(db_url)
    try:
        migrate.upgrade(s, "0002")
        import datetime as dt

        with s.write() as conn:
            conn.execute(
                insert(bibs).values(
                    title="红楼梦", author="曹雪芹", created_at=dt.datetime.now(dt.UTC)
                )
            )
        migrate.upgrade(s)
        cat = Catalogue(s)
        assert cat.search(title="红楼") == [1]
        assert cat.search(author="雪芹") == [1]
    finally:
        s.dispose()


def test_worker_processes_give_the_same_result(
    catalogue: Catalogue, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ils_bridge.catalogue.store as catalogue_store

    iso = [samples / name for name, _ in SAMPLES if not name.endswith(".xml")]
    ref = catalogue.import_records(iso, workers=1, dry_run=True)
    monkeypatch.setattr(catalogue_store, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(catalogue_store, "_PARALLEL_GROUP", 3)
    got = catalogue.import_records(iso, workers=2)
    assert (got.new, got.merged, got.rejected) == (ref.new, ref.merged, ref.rejected)
    assert got.failures == ref.failures and got.failures
    assert catalogue.count() == ref.new


def test_schema_matches_metadata_but_the_hand_made_search_objects(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ils_bridge.store.schema import include_name, metadata

    with store.engine.connect() as conn:
        opts = {"include_name": include_name}
        assert compare_metadata(MigrationContext.configure(conn, opts=opts), metadata) == []
        if store.is_sqlite:
            names = conn.exec_driver_sql("SELECT name FROM sqlite_master").scalars().all()
            assert {"bib_fts", "bibs_fts_ai", "bibs_fts_ad", "bibs_fts_au"} <= set(names)
        else:
            indexes = (
                conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE tablename = 'bibs'")
                .scalars()
                .all()
            )
            assert {
                f"ix_bibs_trgm_{c}" for c in ("title", "author", "publisher", "subject")
            } <= set(indexes)


def test_downgrade_removes_the_catalogue_and_upgrade_restores_it(store: Store) -> None:
    from alembic import command

    cfg = migrate._config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    assert migrate.current_revision(store) == "0002"
    migrate.upgrade(store)
    assert migrate.current_revision(store) == migrate.head_revision()


def test_very_long_titles_import_and_match(catalogue: Catalogue) -> None:
    import pymarc

    from ils_bridge.catalogue.writer import to_iso2709

    rec = pymarc.Record(leader="00000nam a2200000 a 4500")
    rec.add_field(
        pymarc.Field(
            tag="245",
            indicators=pymarc.Indicators("1", "0"),
            subfields=[pymarc.Subfield("a", "长" * 2000)],
        ),
    )
    data = to_iso2709(rec, Flavour.MARC21)
    s = catalogue.import_records([("long.mrc", data + data)])
    assert (s.new, s.merged, s.rejected) == (1, 1, 0)
    assert len(catalogue.search(title="长长长")) == 1
