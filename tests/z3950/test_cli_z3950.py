"""The ``z3950`` and ``catalogue copy`` commands as IT staff and cataloguers use them: real
processes, a second ils-bridge serving GB18030 CNMARC as the external target."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ils_bridge.catalogue.model import Charset

from .support import HONGLOU, JAVA, iso2709
from .test_copy import HONGLOU_10, SANGUO

REPO = Path(__file__).resolve().parents[2]


class CLI:
    def __init__(self, tmp_path: Path, name: str) -> None:
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "XDG_DATA_HOME": str(tmp_path / name),
            "ILS_BRIDGE_DB": f"sqlite:///{tmp_path / name / 'hub.sqlite3'}",
        }

    def __call__(self, *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "ils_bridge", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
        )
        if code is not None:
            assert proc.returncode == code, (
                f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            )
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc


@pytest.fixture
def source_port(tmp_path: Path) -> Iterator[int]:
    """Another library's ils-bridge serving GB18030 CNMARC on an ephemeral port."""
    src = CLI(tmp_path, "source")
    src("init")
    data = tmp_path / "nlc.iso"
    data.write_bytes(iso2709(HONGLOU_10, Charset.GB18030) + iso2709(SANGUO, Charset.GB18030))
    assert json.loads(src("catalogue", "import", str(data), "--json").stdout)["new"] == 2
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ils_bridge",
            "serve",
            "--z3950",
            "127.0.0.1:0",
            "--z3950-charset",
            "gb18030",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=src.env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening: z3950 on 127.0.0.1:"), line
        yield int(line.rsplit(":", 1)[1])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_targets_search_and_copy(tmp_path: Path, source_port: int) -> None:
    hub = CLI(tmp_path, "hub")
    hub("init")
    ours = tmp_path / "ours.iso"
    ours.write_bytes(iso2709(HONGLOU) + iso2709(JAVA))
    assert json.loads(hub("catalogue", "import", str(ours), "--json").stdout)["new"] == 2

    out = hub(
        "z3950",
        "target",
        "add",
        "NLC",
        f"127.0.0.1:{source_port}/union",
        "--syntax",
        "unimarc",
        "--record-encoding",
        "gb18030",
        "--term-encoding",
        "gb18030",
        "--no-negotiate",
        "--user",
        "cat",
        "--password",
        "s3cret",
    ).stdout
    assert "added target NLC" in out
    hub("z3950", "target", "add", "nlc", "127.0.0.1:1/x", code=1)  # names are case-insensitive
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    hub("z3950", "target", "add", "down", f"127.0.0.1:{closed}/union", "--timeout", "2")
    listing = hub("z3950", "target", "list").stdout
    assert "s3cret" not in listing and "cat (password set)" in listing
    listed = json.loads(hub("z3950", "target", "list", "--json").stdout)
    assert [t["name"] for t in listed] == ["down", "NLC"] and "s3cret" not in json.dumps(listed)

    found = json.loads(hub("z3950", "search", "NLC", "@attr 1=7 702000220X", "--json").stdout)
    (t,) = found["targets"]
    assert t["ok"] and t["hits"] == 1 and t["records"][0]["title"] == "红楼梦"
    assert t["records"][0]["charset"] == "gb18030" and t["records"][0]["author"] == "曹雪芹"
    text = hub("z3950", "search", "NLC", "@attr 1=4 三国", "--target", "down").stdout
    assert "1 hit(s)" in text and "三国演义 / 罗贯中" in text and "ISBN 9787020002238" in text
    assert "down (127.0.0.1:" in text and "failed: cannot reach" in text
    bad = hub("z3950", "search", "NLC", "@attr 1=9999 x", code=1)
    assert "[114] Unsupported Use attribute: 9999" in bad.stderr

    copied = json.loads(hub("catalogue", "copy", "NLC", "--isbn", "7-02-000220-X", "--json").stdout)
    assert (copied["new"], copied["merged"], copied["rejected"]) == (0, 1, 0), copied
    dry = json.loads(
        hub("catalogue", "copy", "all", "--query", "@attr 1=4 三国", "--dry-run", "--json").stdout
    )
    assert (dry["new"], dry["merged"]) == (1, 0) and [t["ok"] for t in dry["targets"]] == [
        False,
        True,
    ]
    out = hub("catalogue", "copy", "NLC", "--query", "@attr 1=4 三国").stdout
    assert "1 new, 0 merged, 0 rejected" in out
    stats = json.loads(hub("catalogue", "stats", "--json").stdout)
    assert stats["records"] == 3
    hub("catalogue", "copy", "NLC", code=2)  # neither --isbn nor --query
    down = hub("catalogue", "copy", "down", "--isbn", "9787020002207", code=1)
    assert down.stderr.startswith("Error: down: cannot reach") and down.stderr.count("\n") == 1
    hub("z3950", "target", "remove", "nlc")
    hub("z3950", "search", "NLC", "x", code=1)
