"""Real peers: yaz-client and zoomsh against our target; our origin against yaz-ztest.

Everything listens on 127.0.0.1 with an ephemeral port.  yaz-client exits 0 even
when something fails, so every assertion is on its output.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pymarc
import pytest

from protocols.z3950 import oids
from protocols.z3950.apdu import DefaultDiag, External, PresentStatus, ResponseRecords
from protocols.z3950.origin import AssociationClosed, Z3950Origin
from protocols.z3950.records import opac_record, sutrs_text
from protocols.z3950.target import TargetConfig, Z3950Target
from tests.procs import yaz_ztest

from .support import MemoryBackend

pytestmark = pytest.mark.interop


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (apt-get install yaz)")
    return path


async def _tool(argv: list[str], timeout: float = 20) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode("utf-8", "replace")


def with_target(
    config: TargetConfig, argv_for_port: object, timeout: float = 30
) -> tuple[int, str]:
    """Run our target, then the tool built by ``argv_for_port(port)`` against it."""

    async def main() -> tuple[int, str]:
        target = Z3950Target(MemoryBackend(), config)
        await target.start("127.0.0.1", 0)
        try:
            assert callable(argv_for_port)
            return await _tool(argv_for_port(target.port))
        finally:
            await target.close()

    return asyncio.run(asyncio.wait_for(main(), timeout))


def yaz_client(tmp_path: Path, config: TargetConfig, commands: str) -> str:
    tool = _need("yaz-client")
    script = tmp_path / "session.cmd"

    def argv(port: int) -> list[str]:
        script.write_text(commands.replace("PORT", str(port)) + "\nquit\n", encoding="utf-8")
        return [tool, "-f", str(script)]

    _, out = with_target(config, argv)
    return out


def test_yaz_client_against_our_target(tmp_path: Path) -> None:
    out = yaz_client(
        tmp_path,
        TargetConfig(),
        """charset UTF-8
open tcp:127.0.0.1:PORT/Default
find @attr 1=7 @attr 5=1 9787111213826
format usmarc
show 1
format xml
elements marcxml
show 1
show 5
find @attr 1=9999 foo
base nosuch
find foo
base offline
find foo
base Default
find @attr 1=4 红楼梦
format usmarc
elements F
show 1
find @or @attr 1=4 java @attr 1=1003 knuth
show 1+2
format opac
show 1
close""",
    )
    assert "Connection accepted by v3 target." in out
    assert "Accepted character set : UTF-8" in out
    assert "Number of hits: 1, setno 1" in out
    assert "Record type: USmarc" in out
    assert "245 10 $a Java编程思想" in out
    assert "Record type: XML" in out and '<subfield code="a">Java编程思想</subfield>' in out
    assert "[13] Present request out of range -- v2 addinfo '5'" in out
    assert "[114] Unsupported Use attribute -- v2 addinfo '9999'" in out
    assert "[235] Database does not exist -- v2 addinfo 'nosuch'" in out
    assert "[109] Database unavailable -- v2 addinfo 'offline'" in out
    assert "245 10 $a 红楼梦" in out
    assert "Number of hits: 2" in out and "Records: 2" in out
    assert "Record type: OPAC" in out and "callNumber: TP312/E22" in out
    assert "Reason: finished, message: Association terminated by client" in out


def test_yaz_client_gb18030_negotiation(tmp_path: Path) -> None:
    out = yaz_client(
        tmp_path,
        TargetConfig(charset="GB18030"),
        """charset GB18030
marccharset GB18030
open tcp:127.0.0.1:PORT/Default
find @attr 1=1003 曹雪芹
format unimarc
show 1
close""",
    )
    assert "Accepted character set : GB18030" in out
    assert "Number of hits: 1" in out  # yaz-client converted the term to GB18030, we decoded it
    assert "245 10 $a 红楼梦" in out  # the record was GB18030 and yaz-client converted it back


def test_yaz_client_show_before_search_gives_30(tmp_path: Path) -> None:
    out = yaz_client(
        tmp_path,
        TargetConfig(),
        "open tcp:127.0.0.1:PORT/Default\nfind @attr 1=9999 x\nshow 1\nclose",
    )
    assert "[114] Unsupported Use attribute -- v2 addinfo '9999'" in out
    assert "[30] Specified result set does not exist -- v2 addinfo '1'" in out


def test_zoomsh_against_our_target() -> None:
    tool = _need("zoomsh")
    rc, out = with_target(
        TargetConfig(),
        lambda port: [
            tool,
            "-e",
            "set databaseName Default",
            "set preferredRecordSyntax usmarc",
            f"connect 127.0.0.1:{port}",
            "search @attr 1=4 红楼梦",
            "show 0 1",
            "quit",
        ],
    )
    assert rc == 0, out
    assert ": 1 hits" in out and "245 10 $a 红楼梦" in out
    rc, out = with_target(
        TargetConfig(),
        lambda port: [tool, "-e", f"connect 127.0.0.1:{port}/nosuch", "search foo", "quit"],
    )
    assert rc == 1 and "Database does not exist (Bib-1:235) nosuch" in out


# --------------------------------------------------------------------------- yaz-ztest


@pytest.fixture(scope="module")
def ztest_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tool = _need("yaz-ztest")
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux /proc to find yaz-ztest's ephemeral port")
    log = tmp_path_factory.mktemp("ztest") / "ztest.log"
    with yaz_ztest(tool, log) as port:
        yield port


def test_our_origin_against_yaz_ztest(ztest_port: int) -> None:
    async def main() -> None:
        async with await Z3950Origin.connect("127.0.0.1", ztest_port, timeout=10) as z:
            init = await z.init(charsets=("UTF-8",))
            assert init.result and init.implementation_name == "GFS/YAZ"
            # Quirk: yaz-ztest always selects ISO-8859-1; we keep UTF-8 for terms as yaz-client does.
            assert z.charset_response is not None and z.charset_response.charset == "ISO-8859-1"
            assert z.charset == "utf-8"
            found = await z.search("@attr 1=7 3")
            assert (found.result_count, found.search_status) == (3, True)
            page = await z.present(1, 3, syntax="usmarc")
            assert (
                isinstance(page.records, ResponseRecords) and page.number_of_records_returned == 3
            )
            titles = []
            for npr in page.records.records:
                assert isinstance(npr.record, External) and isinstance(npr.record.encoding, bytes)
                rec = pymarc.Record(data=npr.record.encoding)
                titles.append(rec["245"]["a"])
            assert all(titles)
            opac = await z.present(1, 1, syntax="opac")
            assert isinstance(opac.records, ResponseRecords)
            ext = opac.records.records[0].record
            assert isinstance(ext, External)
            assert opac_record(ext).holdings
            sutrs = await z.present(2, 1, syntax=oids.SUTRS)
            assert isinstance(sutrs.records, ResponseRecords)
            ext = sutrs.records.records[0].record
            assert isinstance(ext, External) and sutrs_text(ext).startswith(
                "This is dummy SUTRS record"
            )
            beyond = await z.present(30, 1)
            assert (beyond.present_status, beyond.records) == (
                PresentStatus.FAILURE,
                DefaultDiag(13, "30"),
            )
            missing = await z.search("foo", databases=("nosuchdb",))
            assert missing.records == DefaultDiag(109, "nosuchdb")
            assert (await z.search('@attr 1=4 "计算机"')).search_status
            closed = await z.close()
            assert (
                closed is not None
                and closed.diagnostic_information == "Association terminated by client"
            )

    asyncio.run(asyncio.wait_for(main(), 30))


def test_origin_timeout_against_slow_ztest(ztest_port: int) -> None:
    async def main() -> None:
        z = await Z3950Origin.connect("127.0.0.1", ztest_port, timeout=5)
        await z.init()
        z.timeout = 0.3
        with pytest.raises(TimeoutError):
            await z.search("computer", databases=("Default?search-delay=2",))
        # The late reply must not be mistaken for the next answer: the origin gives up the line.
        with pytest.raises(AssociationClosed, match="timed out"):
            await z.search("computer")
        assert await z.close() is None

    asyncio.run(asyncio.wait_for(main(), 30))


PQF_CORPUS = [
    "computer",
    "@attr 1=7 @attr 5=1 9787111213826",
    '@attr 1=4 @attr 4=2 "title words"',
    "@and @attr 1=1003 knuth @attr 1=4 @attr 5=1 computer",
    "@or @not a b @attr 1=4 c",
    '@attr 1=4 "计算机"',
    "@attr 1=4 {红楼梦 脂评}",
    "@attr 1=1016 @attr 2=3 @attr 3=3 @attr 4=1 @attr 5=100 @attr 6=1 x",
    "@attr 1=4 @attr 1=7 last-wins",
    "@attr 1=title complex",
    "@attr gils 1=2000 x",
    "@attrset gils @attr 1=2000 x",
    "@term numeric 42",
    "@term string abc",
    '"a \\"quoted\\" term"',
    "@prox 0 3 1 2 k 2 a b",
    "@prox 1 1 0 3 p 7 a b",
]


def test_pqf_agrees_with_yaz_client(tmp_path: Path) -> None:
    """yaz-client parses each PQF string; our target receives the RPN; our parser must agree.

    YAZ emits attribute lists in reverse order, so attributes are compared as a multiset.
    """
    from protocols.z3950.apdu import AttributesPlusTerm, RpnNode, RpnOp
    from protocols.z3950.pqf import parse_pqf

    tool = _need("yaz-client")
    backend = MemoryBackend()
    script = tmp_path / "pqf.cmd"

    async def main() -> str:
        target = Z3950Target(backend, TargetConfig())
        await target.start("127.0.0.1", 0)
        try:
            finds = "\n".join(f"find {q}" for q in PQF_CORPUS)
            script.write_text(
                f"open tcp:127.0.0.1:{target.port}/Default\n{finds}\nclose\nquit\n",
                encoding="utf-8",
            )
            return (await _tool([tool, "-f", str(script)]))[1]
        finally:
            await target.close()

    out = asyncio.run(asyncio.wait_for(main(), 30))
    assert len(backend.queries) == len(PQF_CORPUS), out

    def canon(node: RpnNode) -> object:
        if isinstance(node, RpnOp):
            return (node.op, canon(node.left), canon(node.right))
        if isinstance(node, AttributesPlusTerm):
            return (sorted(repr(a) for a in node.attributes), node.term)
        return node

    for pqf, received in zip(PQF_CORPUS, backend.queries, strict=True):
        ours = parse_pqf(pqf)
        assert ours.attribute_set == received.attribute_set, pqf
        assert canon(ours.rpn) == canon(received.rpn), pqf
