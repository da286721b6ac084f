"""One of two hub processes racing to register the same codes (run by test_race.py).

Usage: python -m tests.hub.race_worker URL MODE START_AT N
MODE is "normal" or "no-precheck" (the application's own look-up is switched off, so only the
database constraint stands between the two processes). Prints one JSON line of outcomes.
"""

from __future__ import annotations

import json
import sys
import time

from ils_bridge.errors import HubError
from ils_bridge.store.engine import open_store
from tests.hub.conftest import make_cluster


def main() -> None:
    url, mode, start_at, n = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    store = open_store(url)
    cluster = make_cluster(store)
    if mode == "no-precheck":
        cluster.holder = lambda *a, **k: None  # type: ignore[method-assign]
        cluster._existing = lambda *a, **k: set()  # type: ignore[method-assign]
    barcodes = [f"X{i:07d}" for i in range(n)]
    time.sleep(max(0.0, start_at - time.time()))
    won, lost = [], []
    for code in barcodes:
        try:
            cluster.add_item(code, library="XT", title="抢注")
            won.append(code)
        except HubError as exc:
            lost.append([code, type(exc).__name__, str(exc)])
    # Then both import the same batch at once.
    rows = [{"barcode": f"X1{i:06d}", "title": "批量"} for i in range(300)]
    try:
        report = cluster.import_items(rows, library="XT")
        imported = report.imported
        batch_error = None
    except HubError as exc:
        imported, batch_error = 0, str(exc)
    print(json.dumps({"won": won, "lost": lost, "imported": imported, "batch_error": batch_error}))
    store.dispose()


if __name__ == "__main__":
    main()
