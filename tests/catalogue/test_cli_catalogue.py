"""``ils-bridge catalogue …`` as the acceptance checks drive it: real processes, JSON out."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import CLI


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    c = CLI(tmp_path)
    c("init")
    return c


def test_import_json_counts_and_failures(cli: CLI, samples: Path, tmp_path: Path) -> None:
    files = [
        str(samples / "cnmarc/dp2_sample_cnmarcxml.xml"),
        str(samples / "derived/cnmarc_bnu_alma_first3.gb18030.iso"),
        str(samples / "marc21/pymarc_bad_records.mrc"),
    ]
    report = tmp_path / "report.csv"
    out = json.loads(cli("catalogue", "import", *files, "--json", "--report", str(report)).stdout)
    assert (out["new"], out["merged"], out["rejected"]) == (10, 5, 6)
    assert out["failures"][0]["file"] == files[2]
    assert out["failures"][0]["record"] == 1 and out["failures"][0]["offset"] == 127
    assert "base address" in out["failures"][0]["reason"]
    with report.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 and rows[0]["outcome"] == "rejected"
    again = json.loads(cli("catalogue", "import", *files, "--json").stdout)
    assert (again["new"], again["merged"], again["rejected"]) == (0, 15, 6)


def test_import_text_summary_format_and_encoding_options(cli: CLI, samples: Path) -> None:
    gb = str(samples / "derived/cnmarc_bnu_alma_first3.gb18030.iso")
    proc = cli(
        "catalogue", "import", gb, "--format", "iso2709", "--encoding", "gb18030", "--dry-run"
    )
    assert proc.stdout.startswith("would import 3 records from 1 file: 3 new, 0 merged")
    assert json.loads(cli("catalogue", "stats", "--json").stdout)["records"] == 0
    xml = str(samples / "marc21/dp2_sample_marcxml_chinese_alma.xml")
    out = json.loads(cli("catalogue", "import", xml, "--format", "marcxml", "--json").stdout)
    assert (out["new"], out["merged"], out["rejected"]) == (9, 1, 0)
    bad = str(samples / "marc21/pymarc_bad_records.mrc")
    proc = cli("catalogue", "import", bad)
    assert "6 rejected" in proc.stdout.splitlines()[0]
    assert "record #1 at byte 127: base address" in proc.stdout
    cli("catalogue", "import", bad, "--strict", code=1)
    cli("catalogue", "import", bad, "--encoding", "klingon", code=2)
    cli("catalogue", "import", bad, "--format", "json", code=2)
    cli("catalogue", "import", "/nonexistent.mrc", code=2)


def test_search_show_stats(cli: CLI, samples: Path, fixtures: Path) -> None:
    cli(
        "catalogue",
        "import",
        str(samples / "cnmarc/dp2_sample_cnmarcxml.xml"),
        str(fixtures / "twins.xml"),
    )
    hits = json.loads(cli("catalogue", "search", "--title", "红楼", "--json").stdout)
    assert hits["total"] == 1
    [rec] = hits["records"]
    assert rec["title"] == "红楼梦" and rec["isbns"] == ["9787020002207"] and rec["year"] == 1982
    assert json.loads(cli("catalogue", "search", "--isbn", "7-02-000220-X", "--json").stdout)[
        "records"
    ] == [rec]
    table = cli("catalogue", "search", "--title", "发展报告", "--limit", "3").stdout
    assert "'94中国发展报告" in table and "(first 3 of 9" in table
    cli("catalogue", "search", code=2)
    shown = cli("catalogue", "show", str(rec["id"])).stdout
    assert "=200  1\\$a红楼梦" in shown and "no items" in shown
    data = json.loads(cli("catalogue", "show", str(rec["id"]), "--json").stdout)
    assert data["authors"][:2] == ["曹雪芹", "高鹗"] and data["clc"] == ["I242.47"]
    stats = json.loads(cli("catalogue", "stats", "--json").stdout)
    assert stats["records"] == 10 and stats["by_flavour"] == {"cnmarc": 10}
    cli("catalogue", "show", "4242", code=1)


def test_show_serialises_for_other_systems(cli: CLI, fixtures: Path) -> None:
    cli("catalogue", "import", str(fixtures / "twins.xml"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ils_bridge",
            "catalogue",
            "show",
            "1",
            "--format",
            "iso2709",
            "--encoding",
            "gb18030",
        ],
        capture_output=True,
        env=cli.env,
        timeout=60,
        check=True,
    )
    data = proc.stdout
    assert data.endswith(b"\x1d") and int(data[:5]) == len(data)
    assert "红楼梦".encode("gb18030") in data and b"0120" in data  # 100$a/26-29 says GB18030
    xml = cli("catalogue", "show", "1", "--format", "marcxml").stdout
    assert '<subfield code="a">红楼梦</subfield>' in xml
    if shutil.which("yaz-marcdump"):
        dump = subprocess.run(
            ["yaz-marcdump", "-i", "marc", "-f", "gb18030", "-t", "utf-8", "/dev/stdin"],
            input=data,
            capture_output=True,
            timeout=30,
            check=True,
        )
        assert "红楼梦" in dump.stdout.decode("utf-8")


def test_register_items_from_cli(cli: CLI, fixtures: Path) -> None:
    cli("branch", "add", "ZG", "--name", "总馆", "--kind", "central")
    out = json.loads(
        cli("catalogue", "import", str(fixtures / "twins.xml"), "--register-items", "--json").stdout
    )
    assert out["items_registered"] == 3 and out["items_refused"] == 0
    shown = cli("catalogue", "show", "1").stdout
    assert "ZG0000123" in shown and "I242.47/12" in shown
    out = json.loads(
        cli("catalogue", "import", str(fixtures / "twins.xml"), "--register-items", "--json").stdout
    )
    assert out["items_refused"] == 3 and out["refused_items"][0]["reason"].startswith("duplicate")
