"""Time of ``safeground stats casualties`` on the national scenario, against pandas over GDAL's reading.

Plain script, not a test: python benchmarks/bench_stats_casualties.py [DB]
DB defaults to ``national.gpkg``; when it does not exist the national demo is built into it first (minutes,
once). Target: the casualty statistics under 2 s.
The reference reads the casualty and accident tables with pyogrio (GDAL) into pandas, joins them and counts
people by year and status with ``groupby``: the same reading and a grouping, without duplicate links, periods,
coarse dates or the other figures. The ratio says what the whole classification costs beyond that.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pyogrio

from safeground.services.demo import build_demo
from safeground.services.stats_casualties import casualty_stats
from safeground.services.workspace import Workspace


def reference(db: Path) -> tuple[float, int]:
    t = time.perf_counter()
    cas = pyogrio.read_dataframe(db, layer="casualty", columns=["uuid", "accident", "outcome", "status",
                                                                 "review_state"], read_geometry=False)
    acc = pyogrio.read_dataframe(db, layer="accident", columns=["uuid", "accident_date"], read_geometry=False)
    cas = cas[cas.review_state.isin(["approved", "published"])]
    joined = cas.merge(acc, left_on="accident", right_on="uuid", how="left")
    joined["year"] = joined.accident_date.astype(str).str[:4]
    joined.groupby(["year", "status", "outcome"]).size()
    return time.perf_counter() - t, len(cas)


def main(path: str) -> None:
    db = Path(path)
    if not db.exists():
        print(f"Building the national demo into {db} (minutes, once)...", flush=True)
        t = time.perf_counter()
        with Workspace.open(db, user="bench", create=True) as ws:
            build_demo(ws, scale="national", seed=1)
        print(f"built in {time.perf_counter() - t:.0f} s")
    runs = [("all, no period", {}), ("since 2020-11-10", {"since": "2020-11-10"}),
            ("by year and status", {"by": ["year", "status"]}),
            ("by adm2, device, sex", {"by": ["adm2", "device", "sex"], "include_submitted": True})]
    ws = Workspace.open(db, user="bench")
    try:
        rows = []
        for name, kw in runs:
            t = time.perf_counter()
            doc = casualty_stats(ws, **kw)  # type: ignore[arg-type]
            rows.append((name, time.perf_counter() - t, doc["records"]["counted_records"], doc["records"]["people"]))
    finally:
        ws.close()
    ref, ref_rows = reference(db)
    print(f"{'run':<24} {'seconds':>8} {'records':>9} {'people':>9} {'vs pandas':>10}")
    for name, secs, records, people in rows:
        print(f"{name:<24} {secs:>8.3f} {records:>9} {people:>9} {secs / ref:>9.1f}x")
    print(f"{'pandas over pyogrio':<24} {ref:>8.3f} {ref_rows:>9} {'':>9} {1.0:>9.1f}x")
    print("target: under 2 s for the casualty statistics:", "met" if max(r[1] for r in rows) < 2 else "NOT met")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "national.gpkg")
