"""Registry services: libraries, locations, ranges, items and patrons, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from ils_bridge.adapters import Endpoint
from ils_bridge.cluster import Cluster
from ils_bridge.errors import Conflict, DuplicateCode, InvalidInput, NotFound
from ils_bridge.store.schema import identifiers, items, patrons


def test_library_tree_and_refusals(cluster3: Cluster) -> None:
    libs = {lib.code: lib for lib in cluster3.list_libraries()}
    assert libs["XT"].parent == "CEN" and libs["CEN"].kind == "central"
    with pytest.raises(DuplicateCode, match="duplicate library code XT: already held by library XT"):
        cluster3.add_library("ｘｔ", name="again")
    with pytest.raises(DuplicateCode, match="owner code CN-330411-B-XT"):
        cluster3.add_library("NEW", name="n", owner_code="cn-330411-b-xt")
    with pytest.raises(InvalidInput, match="owner"):
        cluster3.add_library("NEW", name="n", owner_code="CN-3304-B-X")
    with pytest.raises(Conflict, match="already has a central library"):
        cluster3.add_library("CEN2", name="n", kind="central")
    with pytest.raises(InvalidInput, match="no branch adapter called 'sip2'"):
        cluster3.add_library("NEW", name="n", adapter="sip2")
    with pytest.raises(NotFound):
        cluster3.add_library("NEW", name="n", parent="NOPE")
    # Nothing of the refused attempts was left behind.
    assert [lib.code for lib in cluster3.list_libraries()] == ["CEN", "WZ", "XT"]


def test_endpoints(cluster3: Cluster) -> None:
    lib = cluster3.set_endpoint("XT", Endpoint("fixed-ip", "127.0.0.1", 6001))
    assert (lib.endpoint.kind, lib.endpoint.host, lib.endpoint.port) == ("fixed-ip", "127.0.0.1", 6001)
    lib = cluster3.set_endpoint("XT", Endpoint("dynamic", None, None))
    assert lib.endpoint.kind == "dynamic" and lib.endpoint.host is None
    for bad in (Endpoint("fixed-ip", "lib.example", None), Endpoint("domain", "bad host", None),
                Endpoint("fixed-ip", "127.0.0.1", 70000), Endpoint("carrier-pigeon", "x", None)):
        with pytest.raises(InvalidInput):
            cluster3.set_endpoint("XT", bad)


def test_removed_library_codes_are_never_reused(cluster3: Cluster) -> None:
    cluster3.add_library("TMP", name="临时", owner_code="CN-330411-B-TMP")
    cluster3.remove_library("TMP")
    assert "TMP" not in [lib.code for lib in cluster3.list_libraries()]
    with pytest.raises(DuplicateCode, match="was used by library TMP"):
        cluster3.add_library("TMP", name="again")
    with pytest.raises(DuplicateCode, match="CN-330411-B-TMP"):
        cluster3.add_library("TMP2", name="again", owner_code="CN-330411-B-TMP")
    with pytest.raises(Conflict, match="still has"):
        cluster3.add_item("X0000001", library="XT")
        cluster3.remove_library("XT")


def test_locations_are_unique_per_library_and_qualified(cluster3: Cluster) -> None:
    assert cluster3.add_location("XT", "少儿室") == "XT-少儿室"
    with pytest.raises(DuplicateCode, match="location XT-少儿室"):
        cluster3.add_location("xt", " 少儿室 ")
    qualified = {loc["qualified"] for loc in cluster3.list_locations()}
    assert {"CEN-流通库", "XT-流通库", "WZ-流通库", "XT-少儿室"} <= qualified


def test_ranges_never_overlap(cluster3: Cluster) -> None:
    with pytest.raises(Conflict, match="overlaps item range X0000000–X4999999 of library XT"):
        cluster3.add_range("WZ", "item", "X4000000", "X5999999")
    with pytest.raises(Conflict, match="overlaps item range C0000000"):
        cluster3.add_range("WZ", "patron", "C4999999", "C5000000")
    with pytest.raises(InvalidInput):
        cluster3.add_range("WZ", "item", "W100", "W0099")
    cluster3.add_range("WZ", "item", "W0000000", "W4999999")
    assert [r.library for r in cluster3.list_ranges("WZ")] == ["WZ"]


def test_range_refused_when_it_covers_codes_issued_elsewhere(cluster3: Cluster) -> None:
    cluster3.add_item("T123", library="WZ", title="无范围")
    with pytest.raises(Conflict, match="contains T123, already issued by library WZ"):
        cluster3.add_range("CEN", "item", "T000", "T999")


def test_items_follow_ranges_and_refuse_duplicates(cluster3: Cluster) -> None:
    cluster3.add_item("x0000001", library="XT", title="红楼梦", location="流通库")
    with pytest.raises(DuplicateCode) as err:
        cluster3.add_item("Ｘ００００００１", library="XT", title="again")
    assert str(err.value) == "duplicate barcode X0000001: already held by item X0000001 of library XT 《红楼梦》"
    with pytest.raises(InvalidInput, match="falls in item range X0000000–X4999999 of library XT"):
        cluster3.add_item("X0000002", library="CEN")
    with pytest.raises(InvalidInput, match="outside library CEN's item ranges"):
        cluster3.add_item("Z1", library="CEN")
    with pytest.raises(InvalidInput, match="falls in patron range"):
        cluster3.add_item("P0000001", library="WZ")
    with pytest.raises(InvalidInput, match="looks like an ISBN"):
        cluster3.add_item("978-7-02-000220-7", library="WZ")
    with pytest.raises(InvalidInput, match="no location 阅览室"):
        cluster3.add_item("X0000003", library="XT", location="阅览室")
    listed = cluster3.list_items("XT")
    assert listed[0]["location"] == "XT-流通库" and listed[0]["title"] == "红楼梦"


def test_withdrawn_barcode_is_never_reissued(cluster3: Cluster) -> None:
    cluster3.add_item("X0000001", library="XT", title="旧书")
    cluster3.withdraw_item("X0000001")
    with pytest.raises(DuplicateCode, match=r"was used by item X0000001 .* codes are never reused"):
        cluster3.add_item("X0000001", library="XT", title="新书")


def test_import_reports_every_row(cluster3: Cluster) -> None:
    cluster3.add_item("X0000001", library="XT", title="红楼梦")
    rows = [
        {"barcode": "Ｘ００００００１", "title": "全角重复"},     # full-width duplicate of an existing one
        {"barcode": "X0000002\r\n", "title": "围城"},
        {"barcode": "\u200bx0000002", "title": "文件内重复"},   # duplicate within the file
        {"barcode": "9787020002207", "title": "扫成了 ISBN"},
        {"barcode": "", "title": "空"},
        {"barcode": "X0000003", "title": "活着", "isbn": "7-5063-6543-X"},
    ]
    report = cluster3.import_items(rows, library="XT")
    assert [r.outcome for r in report.rows] == ["duplicate", "imported", "duplicate", "invalid", "invalid", "imported"]
    assert report.rows[0].detail == "already held by item X0000001 of library XT 《红楼梦》"
    assert report.rows[2].detail == "repeats line 3 of this file"
    assert (report.imported, report.duplicates, report.invalid) == (2, 2, 2)
    assert report.rows[5].outcome == "imported"


def test_dry_run_writes_nothing(cluster3: Cluster) -> None:
    report = cluster3.import_items([{"barcode": "X0000009", "title": "t"}], library="XT", dry_run=True)
    assert report.imported == 1
    assert cluster3.list_items("XT") == []


def test_import_is_all_or_nothing_when_the_database_fails(cluster3: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"barcode": f"X{n:07d}", "title": f"书{n}"} for n in range(1200)]
    calls = {"n": 0}
    real = cluster3._event

    def failing_event(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        raise RuntimeError("disk full")

    monkeypatch.setattr(cluster3, "_event", failing_event)
    with pytest.raises(RuntimeError):
        cluster3.import_items(rows, library="XT")
    monkeypatch.setattr(cluster3, "_event", real)
    with cluster3.store.read() as conn:
        assert conn.execute(select(items.c.id)).first() is None
        assert conn.execute(select(identifiers.c.id).where(identifiers.c.namespace == "circ")).first() is None


def test_patron_with_full_width_resident_id(cluster3: Cluster) -> None:
    cluster3.add_patron("P0000001", library="CEN", name="张三", resident_id="１１０１０５ １９４９１２３１ ００２ｘ")
    listed = cluster3.list_patrons()
    assert listed[0]["resident_id"] == "110105********002X"
    with pytest.raises(DuplicateCode) as err:
        cluster3.add_patron("P0000002", library="CEN", name="张三", resident_id="110105491231002")  # 15-digit form
    assert str(err.value) == ("duplicate resident-id 110105********002X: "
                              "already belongs to patron card P0000001 of library CEN")
    with pytest.raises(InvalidInput, match="resident ID"):
        cluster3.add_patron("P0000003", library="CEN", name="李四", resident_id="110105194912310021")


def test_card_that_is_a_resident_id_is_stored_only_hashed(cluster3: Cluster) -> None:
    cluster3.add_patron("11010519491231002x", library="CEN", name="王五")
    with pytest.raises(DuplicateCode, match="110105\\*\\*\\*\\*\\*\\*\\*\\*002X"):
        cluster3.add_patron("１１０１０５１９４９１２３１００２Ｘ", library="CEN", name="王五")
    with cluster3.store.read() as conn:
        dump = " ".join(str(v) for row in conn.execute(select(patrons)).all() for v in row)
        dump += " ".join(str(v) for row in conn.execute(select(identifiers)).all() for v in row)
        dump += " ".join(str(v) for row in conn.execute(text("SELECT * FROM events")).all() for v in row)
    assert "11010519491231002" not in dump and "110105491231002" not in dump
    assert "110105********002X" in dump


def test_patron_refusals(cluster3: Cluster) -> None:
    with pytest.raises(InvalidInput, match="outside library CEN's patron ranges"):
        cluster3.add_patron("Q1", library="CEN", name="x")
    with pytest.raises(InvalidInput, match="falls in item range"):
        cluster3.add_patron("X0000001", library="XT", name="x")
    with pytest.raises(InvalidInput, match="needs a name"):
        cluster3.add_patron("P0000005", library="CEN", name="  ")
    cluster3.add_item("X0000001", library="XT", title="书")
    with pytest.raises(InvalidInput):
        cluster3.add_patron("X0000001", library="WZ", name="x")


def test_brief_records_of_added_items_are_searchable_at_once(cluster3: Cluster) -> None:
    from ils_bridge.catalogue.store import Catalogue

    cluster3.add_item("X0000001", library="XT", title="红楼梦", author="曹雪芹")
    catalogue = Catalogue(cluster3.store, cluster3)
    assert len(catalogue.search(title="红楼")) == 1
    assert len(catalogue.search(author="雪芹")) == 1
    assert catalogue.search(title="楼红") == []


def test_branch_add_with_ranges_is_all_or_nothing(cluster3: Cluster) -> None:
    lib = cluster3.add_library("WZ2", name="王江泾二分馆", ranges=[("item", "V0000000", "V0999999"),
                                                              ("patron", "Q0000000", "Q0999999")])
    assert lib.code == "WZ2"
    assert {(r.kind, r.label()) for r in cluster3.list_ranges("WZ2")} == {
        ("item", "V0000000–V0999999"), ("patron", "Q0000000–Q0999999")}
    with pytest.raises(Conflict, match="overlaps item range X0000000–X4999999 of library XT"):
        cluster3.add_library("NEW", name="新馆", owner_code="CN-330411-B-NEW",
                             ranges=[("item", "N0000000", "N0999999"), ("item", "X4000000", "X5999999")])
    # Nothing of the refused library was kept: code, owner code and first range are all free.
    assert "NEW" not in {lib.code for lib in cluster3.list_libraries()}
    cluster3.add_library("NEW", name="新馆", owner_code="CN-330411-B-NEW",
                         ranges=[("item", "N0000000", "N0999999")])
    with pytest.raises(InvalidInput):
        cluster3.add_library("BAD", name="坏", ranges=[("item", "N1", "N0100")])
