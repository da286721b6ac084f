"""Real peers against our catalogue target: yaz-client, zoomsh and yaz-marcdump.

yaz-client exits 0 even when something fails, so every assertion is on its output. The
target runs in-process on an ephemeral loopback port, or as ``ils-bridge serve --z3950
127.0.0.1:0`` in a subprocess (stopped by PID).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ils_bridge.catalogue.store import Catalogue
from ils_bridge.cluster import Cluster
from ils_bridge.frontends.z3950_target import make_target

from .support import need, run_tool

pytestmark = pytest.mark.interop
REPO = Path(__file__).resolve().parents[2]


def with_target(
    catalogue: Catalogue, argv: Callable[[int], list[str]], charset: str = "UTF-8"
) -> tuple[int, str]:
    async def main() -> tuple[int, str]:
        target = make_target(catalogue.store, charset=charset)
        await target.start("127.0.0.1", 0)
        try:
            return await run_tool(argv(target.port))
        finally:
            await target.close()

    return asyncio.run(asyncio.wait_for(main(), 60))


def yaz_client(
    tmp_path: Path, catalogue: Catalogue, commands: str, charset: str = "UTF-8"
) -> tuple[str, Path]:
    tool = need("yaz-client")
    script = tmp_path / "session.cmd"
    marclog = tmp_path / "records.marc"

    def argv(port: int) -> list[str]:
        script.write_text(commands.replace("PORT", str(port)) + "\nquit\n", encoding="utf-8")
        return [tool, "-m", str(marclog), "-f", str(script)]

    return with_target(catalogue, argv, charset)[1], marclog


def test_yaz_client_against_the_catalogue(
    tmp_path: Path, catalogue: Catalogue, cluster3: Cluster
) -> None:
    cluster3.remove_library("WZ")
    out, marclog = yaz_client(
        tmp_path,
        catalogue,
        """open tcp:127.0.0.1:PORT/union
find @attr 1=7 702000220X
find @attr 1=7 9787020002207
find @attr 1=4 红楼
format unimarc
show 1
format usmarc
show 1
format xml
show 1
format opac
show 1
show 5
find @attr 1=9999 foo
base nosuch
find foo
base WZ
find foo
base XT
find @attr 1=4 java
format usmarc
show 1
base Default
find @attr 1=1003 knuth
show 1
close""",
    )
    assert "Connection accepted by v3 target." in out
    assert "Name   : ils-bridge union catalogue" in out
    assert out.count("Number of hits: 1, setno") == 5, out
    assert "200 1  $a 红楼梦" in out and "010    $a 9787020002207" in out
    assert "[238] Record not available in requested syntax -- v2 addinfo '1.2.840.10003.5.1'" in out
    assert "Record type: XML" in out and '<subfield code="a">红楼梦</subfield>' in out
    assert "Record type: OPAC" in out and "callNumber: I242.4/1" in out
    assert "nucCode: CEN" in out and "nucCode: XT" in out and "availableNow: 1" in out
    assert "[13] Present request out of range -- v2 addinfo '5'" in out
    assert "[114] Unsupported Use attribute -- v2 addinfo '9999'" in out
    assert "[235] Database does not exist -- v2 addinfo 'nosuch'" in out
    assert "[109] Database unavailable -- v2 addinfo 'WZ'" in out
    assert "245 10 $a Java编程思想" in out
    assert "245 10 $a The art of computer programming" in out
    assert "Reason: finished, message: Association terminated by client" in out
    # what we serve is well-formed MARC for YAZ's own parser (one session of MARC only)
    marclog.unlink()
    yaz_client(
        tmp_path,
        catalogue,
        """open tcp:127.0.0.1:PORT/union
find @attr 1=1018 人民文学出版社
format unimarc
show 1+2
find @attr 1=4 @attr 5=1 java
format usmarc
show 1
find @attr 1=7 0201896834
show 1
close""",
    )
    dump = subprocess.run(
        [need("yaz-marcdump"), "-f", "utf-8", "-t", "utf-8", "-o", "line", str(marclog)],
        capture_output=True,
        timeout=30,
    )
    text = dump.stdout.decode("utf-8", "replace") + dump.stderr.decode("utf-8", "replace")
    assert dump.returncode == 0, text
    assert text.count("\n001 rec") == 4, text
    assert "200 1  $a 红楼梦" in text and "245 10 $a Java编程思想" in text, text
    assert "bad" not in text.lower() and "warning" not in text.lower(), text


def test_yaz_client_gb18030_listener(tmp_path: Path, catalogue: Catalogue) -> None:
    out, _ = yaz_client(
        tmp_path,
        catalogue,
        """marccharset GB18030
open tcp:127.0.0.1:PORT/union
find @attr 1=1003 曹雪芹
format unimarc
show 1
close""",
        charset="GB18030",
    )
    # yaz-client sent the term in UTF-8 untold: a GB18030 listener reads it as GB18030 …
    # so an older client must send GB18030 itself; with negotiation it is fine:
    out2, _ = yaz_client(
        tmp_path,
        catalogue,
        """charset GB18030
marccharset GB18030
open tcp:127.0.0.1:PORT/union
find @attr 1=1003 曹雪芹
format unimarc
show 1
close""",
        charset="GB18030",
    )
    assert "Accepted character set : GB18030" in out2
    assert "Number of hits: 1" in out2 and "200 1  $a 红楼梦" in out2, out2
    assert "0120" in out2  # 100$a/26-29 rewritten: GB18030
    assert "Search was a" in out  # the untold UTF-8 term was answered, never a crash


def test_zoomsh_against_the_catalogue(catalogue: Catalogue) -> None:
    tool = need("zoomsh")
    rc, out = with_target(
        catalogue,
        lambda port: [
            tool,
            "-e",
            "set databaseName union",
            "set preferredRecordSyntax unimarc",
            f"connect 127.0.0.1:{port}",
            "search @attr 1=4 红楼",
            "show 0 1",
            "search @attr 1=7 702000220X",
            "quit",
        ],
    )
    assert rc == 0, out
    assert out.count(": 1 hits") == 2 and "200 1  $a 红楼梦" in out, out
    rc, out = with_target(
        catalogue,
        lambda port: [tool, "-e", f"connect 127.0.0.1:{port}/nosuch", "search foo", "quit"],
    )
    assert rc == 1 and "Database does not exist (Bib-1:235) nosuch" in out
    rc, out = with_target(
        catalogue,
        lambda port: [
            tool,
            "-e",
            f"connect 127.0.0.1:{port}/union",
            "search @attr 1=9999 x",
            "quit",
        ],
    )
    assert rc == 1 and "Unsupported Use attribute (Bib-1:114) 9999" in out


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_serve_subprocess_with_yaz_client(
    tmp_path: Path, catalogue: Catalogue, db_url: str
) -> None:
    tool = need("yaz-client")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "ILS_BRIDGE_DB": db_url,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "ils_bridge", "serve", "--z3950", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening: z3950 on 127.0.0.1:"), line + (
            proc.stderr.read() if proc.stderr else ""
        )
        port = int(line.rsplit(":", 1)[1])
        script = tmp_path / "s.cmd"
        script.write_text(
            f"open tcp:127.0.0.1:{port}/Default\nfind @attr 1=4 红楼\nformat unimarc\nshow 1\nquit\n",
            encoding="utf-8",
        )
        out = subprocess.run(
            [tool, "-f", str(script)], capture_output=True, text=True, timeout=30
        ).stdout
        assert "Number of hits: 1" in out and "200 1  $a 红楼梦" in out, out
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
