"""Time of ``safeground stats release``, against pandas tallying the same released land from a GDAL read.

Plain script, not a test: python benchmarks/bench_stats_release.py [DB]
Without DB it builds the small demo in a temporary folder; give the national demo (``safeground demo
--scale national``) to see the national scale. Nothing is written to DB.
The reference reads released areas, hazards and activities with pyogrio (GDAL) into pandas and groups the
released km² by year, admin1 and kind: the released-land table alone, with no remaining contamination,
devices, productivity or labels. The ratio says what the whole document costs beyond that one table.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pyogrio

from safeground.services.demo import build_demo
from safeground.services.stats_release import release_stats
from safeground.services.workspace import Workspace

BREAKDOWNS: list[tuple[str, ...]] = [("year",), ("year", "adm1"), ("year", "adm1", "adm2", "organisation")]


def reference(db: Path) -> float:
    """Released km² by year, admin1 and kind with pyogrio and pandas."""
    t = time.perf_counter()
    ra = pyogrio.read_dataframe(db, layer="released_area", read_geometry=False,
                                columns=["hazard", "kind", "release_status", "released_on", "area_m2",
                                         "review_state", "retired_at"])
    hz = pyogrio.read_dataframe(db, layer="hazard_area", read_geometry=False, columns=["uuid", "admin1"])
    ra = ra[ra["review_state"].isin(["approved", "published"]) & ra["retired_at"].isna()
            & (ra["release_status"] == "released")]
    ra = ra.merge(hz, left_on="hazard", right_on="uuid", how="left")
    ra["year"] = ra["released_on"].astype(str).str[:4]
    _table = ra.groupby(["year", "admin1", "kind"], dropna=False)["area_m2"].sum() / 1e6
    return time.perf_counter() - t


def main(source: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(source) if source else Path(tmp) / "release.gpkg"
        if not source:
            with Workspace.open(db, user="bench", create=True) as ws:
                build_demo(ws, scale="small", seed=1)
        ws = Workspace.open(db, user="bench")
        counts = {n: ws.store.count(n) for n in ("hazard_area", "activity", "released_area", "device")}
        rows = []
        for by in BREAKDOWNS:
            t = time.perf_counter()
            doc = release_stats(ws, by=by)
            rows.append((" ".join(by), time.perf_counter() - t, len(doc["released"]["groups"])))
        ws.close()
        ref = reference(db)
    print("records: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print(f"{'stats release --by':<36} {'seconds':>8} {'groups':>7} {'ratio':>6}")
    for name, seconds, n in rows:
        print(f"{name:<36} {seconds:>8.2f} {n:>7,} {seconds / ref:>6.1f}")
    print(f"{'pyogrio+pandas (released table)':<36} {ref:>8.2f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
