"""Two ils-bridge processes racing on one database can never both register a code.

Each process registers the same 40 barcodes one by one, then imports the same 300-row batch,
starting at the same instant. On PostgreSQL the two really run at once; on SQLite writers
queue on the database lock. In "no-precheck" mode the application's own duplicate look-up is
switched off, so the database constraint alone decides.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ils_bridge.cluster import Cluster
from ils_bridge.store.schema import identifiers, items

REPO = Path(__file__).resolve().parents[2]
N = 40


def _race(url: str, mode: str) -> list[dict[str, object]]:
    start_at = time.time() + 2.0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.hub.race_worker", url, mode, str(start_at), str(N)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize("mode", ["normal", "no-precheck"])
def test_two_processes_never_both_win(cluster3: Cluster, db_url: str, mode: str) -> None:
    a, b = _race(db_url, mode)
    won_a, won_b = set(a["won"]), set(b["won"])  # type: ignore[arg-type]
    assert not (won_a & won_b), "a barcode was registered twice"
    assert won_a | won_b == {f"X{i:07d}" for i in range(N)}
    for _code, kind, message in a["lost"] + b["lost"]:  # type: ignore[operator]
        assert kind in ("DuplicateCode", "Conflict"), message
        if mode == "normal":
            assert "duplicate barcode X" in message
    # One batch wins whole; the other finds every code taken (or, with no pre-check, gives up).
    assert sorted([a["imported"], b["imported"]]) == [0, 300]  # type: ignore[type-var]
    with cluster3.store.read() as conn:
        n_items = conn.execute(select(func.count()).select_from(items)).scalar_one()
        n_codes = conn.execute(
            select(func.count()).select_from(identifiers).where(identifiers.c.namespace == "circ")
        ).scalar_one()
        dupes = conn.execute(
            select(items.c.barcode).group_by(items.c.barcode).having(func.count() > 1)
        ).all()
    assert dupes == []
    assert n_items == n_codes  # every item has exactly its one registry row, nothing half-written
    assert n_items == N + 300
