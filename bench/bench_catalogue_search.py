"""Benchmark: catalogue search latency (p50/p99) on SQLite at 100,000 (and 1,000,000) records.

Builds a catalogue of synthetic records (``bench_catalogue_import.records``: Chinese titles,
half CNMARC with ISBN-10, half MARC21 with ISBN-13) through ``Catalogue.import_records``, then
times, one query at a time through ``Catalogue.search`` (first page of 10 hits, as an OPAC or
a Z39.50 search+present asks):

* ISBN: existing ISBNs, alternately in ISBN-10 and ISBN-13 form;
* CJK title: a random 2–4 character substring of a stored title (红楼 ⊂ 红楼梦);
* author: a stored author's full name (and their 2-character given/family part).

Target: p50 ≤ 5 ms at 1,000,000 records.

    .venv/bin/python bench/bench_catalogue_search.py [--records 100000] [--million]
        [--queries 2000] [--db PATH]   (--db reuses a catalogue built before)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_catalogue_import import _isbn13, write_file  # noqa: E402

from ils_bridge.catalogue.store import Catalogue, SearchQuery  # noqa: E402
from ils_bridge.store import migrate  # noqa: E402
from ils_bridge.store.engine import open_store  # noqa: E402
from ils_bridge.store.schema import bibs  # noqa: E402


def build(db: Path, n: int, workdir: Path) -> Catalogue:
    store = open_store(f"sqlite:///{db}")
    migrate.upgrade(store)
    cat = Catalogue(store)
    have = cat.count()
    if have >= n:
        print(f"reusing {db} ({have:,} records)")
        return cat
    path = workdir / f"synthetic-{n}.mrc"
    write_file(path, n)
    t0 = time.perf_counter()
    summary = cat.import_records([path])
    took = time.perf_counter() - t0
    print(f"built {summary.new:,} records in {took:.1f} s ({summary.new / took:,.0f} records/s)")
    path.unlink()
    return cat


def percentiles(samples: list[float]) -> tuple[float, float]:
    qs = statistics.quantiles(samples, n=100, method="inclusive")
    return qs[49] * 1000, qs[98] * 1000


def run(cat: Catalogue, n: int, queries: int) -> None:
    rng = random.Random(7)
    with cat.store.read() as conn:
        ids = [rng.randint(1, n) for _ in range(queries)]
        rows = {
            r.id: (r.title, r.author)
            for r in conn.execute(
                bibs.select()
                .with_only_columns(bibs.c.id, bibs.c.title, bibs.c.author)
                .where(bibs.c.id.in_(sorted(set(ids))))
            )
        }

    def isbn_query(k: int) -> dict[str, str]:
        isbn10, isbn13 = _isbn13(rng.randrange(n))
        return {"isbn": isbn10 if k % 2 else isbn13}

    def title_query(k: int) -> dict[str, str]:
        title = rows[ids[k]][0]
        cjk = "".join(c for c in title.split(" ")[0] if "\u4e00" <= c <= "\u9fff")
        size = rng.randint(2, min(4, len(cjk)))
        start = rng.randrange(len(cjk) - size + 1)
        return {"title": cjk[start : start + size]}

    def author_query(k: int) -> dict[str, str]:
        author = rows[ids[k]][1] or "王伟"
        return {"author": author if k % 2 else author[-2:]}

    kinds: list[tuple[str, Callable[[int], dict[str, str]]]] = [
        ("ISBN", isbn_query),
        ("CJK title", title_query),
        ("author", author_query),
    ]
    print(
        f"{'query':<10} {'p50 ms':>8} {'p99 ms':>8} {'mean hits':>10}   ({queries:,} queries each, "
        f"{n:,} records, first page of 10)"
    )
    for name, make in kinds:
        samples: list[float] = []
        hits = 0
        for k in range(queries):
            q = make(k)
            t0 = time.perf_counter()
            found = cat.search(SearchQuery(**q), limit=10)
            samples.append(time.perf_counter() - t0)
            hits += len(found)
        p50, p99 = percentiles(samples)
        print(f"{name:<10} {p50:8.2f} {p99:8.2f} {hits / queries:10.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--million", action="store_true", help="Also measure at 1,000,000 records.")
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--db", type=Path, help="SQLite file to build (or reuse) the catalogue in.")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-catalogue-search-"))
    sizes = [args.records] + ([1_000_000] if args.million else [])
    for n in sizes:
        db = args.db if (args.db and len(sizes) == 1) else workdir / f"catalogue-{n}.sqlite3"
        cat = build(db, n, workdir)
        run(cat, n, args.queries)
        cat.store.dispose()


if __name__ == "__main__":
    main()
