"""Shared helpers for the Z39.50 tests: a small catalogue, records, real-peer plumbing."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymarc
import pytest

from ils_bridge.catalogue.model import Charset, Flavour
from ils_bridge.catalogue.store import Catalogue
from ils_bridge.catalogue.writer import to_iso2709
from ils_bridge.cluster import Cluster
from tests import procs


@dataclass(frozen=True)
class Book:
    isbn: str  # as catalogued (ISBN-10 or -13, hyphens allowed)
    title: str
    author: str
    publisher: str
    year: int
    flavour: Flavour
    items: tuple[tuple[str, str, str], ...] = ()  # (library, barcode, call number)
    subject: str | None = None
    clc: str | None = None


def _df(tag: str, ind: str, *subfields: tuple[str, str]) -> pymarc.Field:
    return pymarc.Field(
        tag=tag,
        indicators=pymarc.Indicators(ind[0], ind[1]),
        subfields=[pymarc.Subfield(c, v) for c, v in subfields],
    )


def marc_record(book: Book, local_number: str | None = None) -> pymarc.Record:
    rec = pymarc.Record(force_utf8=True)
    fields: list[pymarc.Field] = []
    if local_number:
        fields.append(pymarc.Field(tag="001", data=local_number))
    if book.flavour is Flavour.MARC21:
        rec.leader = pymarc.Leader("00000nam a2200000 a 4500")
        fields += [
            pymarc.Field(tag="008", data=f"820101s{book.year}    cc            000 0 chi d"),
            _df("020", "  ", ("a", book.isbn)),
            _df("100", "1 ", ("a", book.author)),
            _df("245", "10", ("a", book.title)),
            _df("264", " 1", ("a", "北京"), ("b", book.publisher), ("c", str(book.year))),
        ]
        if book.subject:
            fields.append(_df("650", " 0", ("a", book.subject)))
        for lib, barcode, call in book.items:
            fields.append(
                _df("852", "  ", ("a", lib), ("c", "流通库"), ("h", call), ("p", barcode))
            )
    else:
        rec.leader = pymarc.Leader("00000nam0 2200000   450 ")
        fields += [
            _df("010", "  ", ("a", book.isbn), ("d", "CNY59.70")),
            _df("100", "  ", ("a", f"20020204d{book.year}    em y0chiy50      ea")),
            _df("101", "0 ", ("a", "chi")),
            _df("200", "1 ", ("a", book.title), ("f", book.author + "著")),
            _df("210", "  ", ("a", "北京"), ("c", book.publisher), ("d", str(book.year))),
        ]
        if book.subject:
            fields.append(_df("606", "  ", ("a", book.subject)))
        if book.clc:
            fields.append(_df("690", "  ", ("a", book.clc), ("v", "5")))
        fields.append(_df("701", " 0", ("a", book.author), ("4", "著")))
        for lib, barcode, call in book.items:
            fields.append(
                _df("905", "  ", ("a", lib), ("b", barcode), ("c", "流通库"), ("s", call))
            )
    rec.fields = fields
    return rec


def iso2709(book: Book, charset: Charset = Charset.UTF8, local_number: str | None = None) -> bytes:
    return to_iso2709(marc_record(book, local_number), book.flavour, charset)


HONGLOU = Book(
    "9787020002207",
    "红楼梦",
    "曹雪芹",
    "人民文学出版社",
    1982,
    Flavour.CNMARC,
    items=(("CEN", "C0000001", "I242.4/1"), ("XT", "X0000001", "I242.4/1")),
    subject="章回小说",
    clc="I242.4",
)
XIYOU = Book(
    "7-02-000221-8",
    "西游记",
    "吴承恩",
    "人民文学出版社",
    1980,
    Flavour.CNMARC,
    items=(("CEN", "C0000002", "I242.4/2"),),
    clc="I242.4",
)
JAVA = Book(
    "9787111213826",
    "Java编程思想",
    "埃克尔",
    "机械工业出版社",
    2007,
    Flavour.MARC21,
    items=(("XT", "X0000002", "TP312/E22"),),
    subject="JAVA语言",
)
KNUTH = Book(
    "0-201-89683-4",
    "The art of computer programming",
    "Knuth, Donald",
    "Addison-Wesley",
    1997,
    Flavour.MARC21,
)
BOOKS = (HONGLOU, XIYOU, JAVA, KNUTH)


def seed_catalogue(cluster: Cluster, books: tuple[Book, ...] = BOOKS) -> Catalogue:
    """Import ``books`` into the cluster's catalogue with their items (cluster3 libraries)."""
    catalogue = Catalogue(cluster.store, cluster)
    sources = [
        (f"seed-{i}", iso2709(b, local_number=f"rec{i:04d}")) for i, b in enumerate(books, 1)
    ]
    summary = catalogue.import_records(sources, register_items=True)
    assert summary.new == len(books), summary.as_json()
    assert not summary.items_refused, [r.as_json() for r in summary.items_refused]
    return catalogue


# --------------------------------------------------------------------------- real peers


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (apt-get install yaz)")
    return path


async def run_tool(argv: list[str], timeout: float = 30) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode("utf-8", "replace")


@contextlib.contextmanager
def yaz_ztest(log: Path) -> Iterator[int]:
    """yaz-ztest on an ephemeral loopback port; stopped (with its children) by PID."""
    tool = need("yaz-ztest")
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux /proc to find yaz-ztest's ephemeral port")
    with procs.yaz_ztest(tool, log) as port:
        yield port
