"""Benchmark: `ils-bridge item import` of N rows on SQLite and PostgreSQL.

Prints wall time and rows/s of the real CLI (a fresh process, fresh database), and beside it a
baseline measured in the same run on the same file: the bare minimum of storing those rows —
Python's csv module plus one executemany INSERT into a table with a UNIQUE barcode column, on
the same database. The ratio says what normalisation, range checks, duplicate look-ups, the
identifier registry and the brief bibliographic records cost over that floor.

    .venv/bin/python bench/bench_import.py [--rows 100000] [--pg URL | --no-pg]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
TITLES = ["红楼梦", "三国演义", "西游记", "水浒传", "围城", "活着", "平凡的世界", "白鹿原", "边城", "呐喊"]


def make_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["barcode", "title", "author"])
        for i in range(rows):
            # Every 50th row typed in full-width digits, as staff with a Chinese IME do.
            code = f"X{i:07d}"
            if i % 50 == 0:
                code = code.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
            w.writerow([code, f"{TITLES[i % len(TITLES)]} 第{i // 1000}卷", "佚名"])


def cli(env: dict[str, str], *args: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ils_bridge", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{args} failed: {proc.stderr}")
    return elapsed


def baseline(url: str, path: Path) -> float:
    engine = create_engine(url)
    t0 = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [{"b": r["barcode"], "t": r["title"]} for r in csv.DictReader(fh)]
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_floor (barcode VARCHAR(64) UNIQUE NOT NULL, title TEXT)"))
        conn.execute(text("INSERT INTO bench_floor VALUES (:b, :t)"), rows)
    elapsed = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_floor"))
    engine.dispose()
    return elapsed


def run(label: str, url: str, path: Path, rows: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "ILS_BRIDGE_DB": url,
           "ILS_BRIDGE_SECRET": "bench-secret-0123456789abcdef"}
    cli(env, "init")
    cli(env, "branch", "add", "CEN", "--name", "总馆", "--kind", "central")
    cli(env, "branch", "add", "XT", "--name", "新塍")
    cli(env, "range", "add", "XT", "item", "X0000000", "X9999999")
    ours = cli(env, "item", "import", str(path), "--library", "XT")
    again = cli(env, "item", "import", str(path), "--library", "XT")  # every row now a duplicate
    floor = baseline(url, path)
    print(f"{label:>10}: import {rows:,} rows {ours:6.2f} s ({rows / ours:8,.0f} rows/s, whole CLI process) | "
          f"re-import, all duplicates {again:6.2f} s | floor (csv + executemany) {floor:5.2f} s | "
          f"ratio ours/floor {ours / floor:4.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--pg", default=os.environ.get("ILS_BRIDGE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.csv"
        make_csv(path, args.rows)
        run("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", path, args.rows)
        if not args.no_pg:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.pg)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            try:
                sep = "&" if "?" in args.pg else "?"
                run("postgresql", f"{args.pg}{sep}options=-csearch_path%3D{schema}", path, args.rows)
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()


if __name__ == "__main__":
    main()
