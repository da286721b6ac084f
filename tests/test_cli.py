"""The CLI as IT staff use it: real processes, exit codes, one-line refusals, JSON listings."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


class CLI:
    def __init__(self, tmp_path: Path, db_url: str | None = None) -> None:
        self.env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_DATA_HOME": str(tmp_path / "xdg")}
        self.env.pop("ILS_BRIDGE_DB", None)
        if db_url:
            self.env["ILS_BRIDGE_DB"] = db_url
        self.tmp = tmp_path

    def __call__(self, *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "ils_bridge", *args], capture_output=True, text=True,
                              env=self.env, timeout=120)
        if code is not None:
            assert proc.returncode == code, f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    c = CLI(tmp_path)
    c("init")
    c("branch", "add", "CEN", "--name", "市图书馆", "--kind", "central", "--owner-code", "CN-330400-1-CEN")
    c("branch", "add", "XT", "--name", "新塍镇分馆", "--owner-code", "CN-330411-B-XT")
    return c


def test_default_database_lives_under_xdg_data_home(tmp_path: Path) -> None:
    c = CLI(tmp_path)
    out = c("init").stdout
    assert str(tmp_path / "xdg" / "ils-bridge" / "ils-bridge.sqlite3") in out
    assert (tmp_path / "xdg" / "ils-bridge" / "ils-bridge.sqlite3").exists()
    assert "up to date" in c("init").stdout


def test_commands_refuse_an_uninitialised_database(tmp_path: Path) -> None:
    c = CLI(tmp_path)
    proc = c("branch", "list", code=1)
    assert "not set up yet; run `ils-bridge init`" in proc.stderr


def test_db_option_and_env(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    c = CLI(tmp_path)
    c("--db", url, "init")
    c("--db", url, "branch", "add", "CEN", "--name", "总馆", "--kind", "central")
    assert json.loads(CLI(tmp_path, db_url=url)("branch", "list", "--json").stdout)[0]["code"] == "CEN"
    c("branch", "list", code=1)  # the default database was never initialised


def test_branch_add_duplicate_is_one_clear_line(cli: CLI) -> None:
    proc = cli("branch", "add", "xt", "--name", "again", code=1)
    assert proc.stderr.strip() == "Error: duplicate library code XT: already held by library XT"
    assert proc.stdout == ""
    proc = cli("branch", "add", "NEW", "--name", "n", "--owner-code", "CN-33-B", code=1)
    assert proc.stderr.count("\n") == 1 and "owner" in proc.stderr
    cli("branch", "add", "NEW", "--name", "n", "--kind", "planet", code=2)
    cli("branch", "add", "NEW", code=2)  # --name missing


def test_branch_add_with_ranges(cli: CLI) -> None:
    cli("branch", "add", "WZ", "--name", "王江泾", "--item-range", "W0000000:W4999999",
        "--patron-range", "R0000000:R0999999")
    proc = cli("branch", "add", "ZZ", "--name", "z", "--item-range", "W4000000:W5999999", code=1)
    assert "overlaps item range W0000000–W4999999 of library WZ" in proc.stderr
    assert "ZZ" not in cli("branch", "list").stdout
    cli("branch", "add", "ZZ", "--name", "z", "--item-range", "W4000000", code=2)


def test_branch_list_json_and_show(cli: CLI) -> None:
    data = json.loads(cli("branch", "list", "--json").stdout)
    assert [(b["code"], b["kind"], b["parent"]) for b in data] == [("CEN", "central", None), ("XT", "branch", "CEN")]
    cli("branch", "set-endpoint", "XT", "--domain", "lib.xincheng.example", "--port", "6001")
    shown = json.loads(cli("branch", "show", "XT", "--json").stdout)
    assert shown["endpoint"] == {"kind": "domain", "host": "lib.xincheng.example", "port": 6001}
    assert shown["stats"]["items_owned"] == 0
    assert "新塍镇分馆" in cli("branch", "list").stdout


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_item_import_with_full_width_duplicates(cli: CLI, tmp_path: Path) -> None:
    cli("item", "add", "X0000001", "--library", "XT", "--title", "红楼梦")
    cli("item", "add", "X0000002", "--library", "XT", "--title", "三国演义")
    f = write_csv(tmp_path / "items.csv", ["条形码", "题名"], [
        ["Ｘ００００００１", "红楼梦（全角重复）"],
        ["ｘ００００００２ ", "三国演义（全角小写）"],
        ["X0000003", "围城"],
        ["9787020002207", "扫成了ISBN"],
    ], encoding="gb18030")  # Excel in China saves CSV as GB18030
    report = tmp_path / "report.csv"
    proc = cli("item", "import", str(f), "--library", "XT", "--report", str(report))
    assert "imported 1 items into XT; 2 duplicates, 1 invalid (of 4 rows)" in proc.stdout
    assert "already held by item X0000001 of library XT 《红楼梦》" in proc.stdout
    with report.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["normalised"], r["outcome"]) for r in rows] == [
        ("X0000001", "duplicate"), ("X0000002", "duplicate"), ("X0000003", "imported"), ("", "invalid")]
    again = json.loads(cli("item", "import", str(f), "--library", "XT", "--json").stdout)
    assert (again["imported"], again["duplicates"], again["invalid"]) == (0, 3, 1)
    cli("item", "import", str(f), "--library", "XT", "--strict", code=1)


def test_item_import_missing_column_is_a_usage_error(cli: CLI, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "bad.csv", ["code", "title"], [["X1", "t"]])
    proc = cli("item", "import", str(f), "--library", "XT", code=2)
    assert "no column barcode" in proc.stderr


def test_patron_add_full_width_resident_id_with_lowercase_x(cli: CLI) -> None:
    cli("patron", "add", "R0001", "--library", "CEN", "--name", "张三",
        "--resident-id", "１１０１０５１９４９１２３１００２ｘ")
    listed = json.loads(cli("patron", "list", "--json").stdout)
    assert listed[0]["resident_id"] == "110105********002X"
    proc = cli("patron", "add", "R0002", "--library", "CEN", "--name", "张三",
               "--resident-id", "11010519491231002X", code=1)
    assert proc.stderr.strip() == ("Error: duplicate resident-id 110105********002X: "
                                   "already belongs to patron card R0001 of library CEN")
    bad = cli("patron", "add", "R0003", "--library", "CEN", "--name", "李四", "--resident-id", "110105194912310021", code=1)
    assert "check" in bad.stderr


def test_patron_import(cli: CLI, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "p.csv", ["card", "name", "resident_id"], [
        ["R1", "甲", ""], ["R2", "乙", "11010519491231002X"], ["R3", "丙", "110105491231002"], ["R1", "丁", ""]])
    out = json.loads(cli("patron", "import", str(f), "--library", "CEN", "--json").stdout)
    assert (out["imported"], out["duplicates"], out["invalid"]) == (2, 2, 0)


@pytest.mark.parametrize(("kind", "raw", "canonical"), [
    ("barcode", "Ｘ０００１２３\r\n", "X000123"),
    ("card", " p0001 ", "P0001"),
    ("resident-id", "１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"),
    ("resident-id", "110105491231002", "11010519491231002X"),
    ("isbn", "7-113-05198-7", "9787113051983"),
    ("isbn", "978-7-121-18659-2", "9787121186592"),
    ("issn", "0273-1967", "0273-1967"),
    ("location", " 流通库 ", "流通库"),
    ("library", "xt", "XT"),
])
def test_codes_normalise(tmp_path: Path, kind: str, raw: str, canonical: str) -> None:
    assert CLI(tmp_path)("codes", "normalise", kind, raw).stdout == canonical + "\n"


def test_codes_normalise_refusals(tmp_path: Path) -> None:
    c = CLI(tmp_path)
    proc = c("codes", "normalise", "barcode", "9787020002207", code=1)
    assert proc.stdout == "" and "looks like an ISBN" in proc.stderr
    assert "check" in c("codes", "normalise", "isbn", "7-113-05198-6", code=1).stderr
    c("codes", "normalise", "colour", "red", code=2)


def test_ranges_and_locations(cli: CLI) -> None:
    cli("range", "add", "XT", "item", "X0000000", "X4999999")
    proc = cli("range", "add", "CEN", "patron", "X4000000", "X5999999", code=1)
    assert "overlaps item range X0000000–X4999999 of library XT" in proc.stderr
    ranges = json.loads(cli("range", "list", "--json").stdout)
    assert ranges == [{"library": "XT", "kind": "item", "first": "X0000000", "last": "X4999999",
                       "prefix": "X", "width": 7, "size": 5000000}]
    cli("location", "add", "XT", "流通库")
    assert "duplicate location XT-流通库" in cli("location", "add", "XT", "流通库", code=1).stderr
    assert json.loads(cli("location", "list", "--json").stdout)[0]["qualified"] == "XT-流通库"
    cli("item", "add", "X0000001", "--library", "XT", "--location", "XT-流通库", "--title", "书")
    proc = cli("item", "add", "X9000001", "--library", "XT", code=1)
    assert "outside library XT's item ranges" in proc.stderr


def test_withdraw_and_remove(cli: CLI) -> None:
    cli("item", "add", "X0000001", "--library", "XT", "--title", "旧书")
    cli("item", "withdraw", "X0000001")
    assert "never reused" in cli("item", "add", "X0000001", "--library", "XT", code=1).stderr
    cli("branch", "add", "TMP", "--name", "临时")
    cli("branch", "remove", "TMP", "--yes")
    assert "was used by library TMP" in cli("branch", "add", "TMP", "--name", "again", code=1).stderr


def test_doctor_and_demo(tmp_path: Path) -> None:
    c = CLI(tmp_path)
    assert "FAIL" in c("doctor", code=1).stdout
    c("init")
    out = c("demo").stdout
    assert "3 libraries" in out
    c("demo")  # twice is harmless
    report = json.loads(c("doctor", "--json").stdout)
    assert report["ok"] and {ch["name"] for ch in report["checks"]} >= {"database", "migrations", "secret key", "plugins"}


def test_secret_key_mismatch_is_caught(tmp_path: Path) -> None:
    c = CLI(tmp_path)
    c("init")
    c.env["ILS_BRIDGE_SECRET"] = "a-different-key-from-another-host"
    assert "different secret key" in c("doctor", code=1).stdout
