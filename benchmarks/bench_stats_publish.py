"""Time of ``safeground stats publish``, ``--as-published`` and ``stats revisions`` on the national scenario.

Plain script, not a test: python benchmarks/bench_stats_publish.py [DB] [YEAR]
DB defaults to ``national.gpkg`` (build it with ``safeground demo --scale national``), YEAR to 2024. Publishing
writes, so the script works on a copy made with SQLite's backup API in a temporary folder (the source is opened
read-only and left as it is) and deletes it afterwards.
The reference reads, with pyogrio (GDAL) into pandas, the tables the year's headline needs (casualties and
their accidents, released land, devices, events) and computes the headline with ``groupby``: killed and injured,
km² released by kind, devices destroyed and events of the year. The ratio says what publishing every view,
the fingerprint and the stored copy cost beyond that reading.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import pyogrio

from safeground.services.stats_publish import publish, published_view, revisions
from safeground.services.workspace import Workspace

OFFICIAL = ["approved", "published"]


def reference(db: Path, year: int) -> tuple[float, dict[str, float]]:
    t = time.perf_counter()

    def read(layer: str, columns: list[str]):  # type: ignore[no-untyped-def]
        df = pyogrio.read_dataframe(db, layer=layer, columns=[*columns, "review_state", "retired_at"],
                                    read_geometry=False)
        return df[df.review_state.isin(OFFICIAL) & df.retired_at.isna()]

    y = str(year)
    cas = read("casualty", ["accident", "outcome"])
    acc = pyogrio.read_dataframe(db, layer="accident", columns=["uuid", "accident_date"], read_geometry=False)
    cas = cas.merge(acc, left_on="accident", right_on="uuid", how="left")
    outcome = cas[cas.accident_date.astype(str).str[:4] == y].groupby("outcome").size()
    rel = read("released_area", ["kind", "release_status", "released_on", "area_m2"])
    rel = rel[(rel.release_status == "released") & (rel.released_on.astype(str).str[:4] == y)]
    km2 = rel.groupby("kind").area_m2.sum() / 1e6
    dev = read("device", ["disposal", "found_date", "quantity"])
    dev = dev[dev.found_date.astype(str).str[:4] == y]
    destroyed = dev[dev.disposal.isin(["destroyed_in_situ", "removed_and_destroyed"])].quantity.fillna(1).sum()
    official_acc = read("accident", ["accident_date"])
    events = len(dev) + int((official_acc.accident_date.astype(str).str[:4] == y).sum())
    ev = read("event", ["event_date"])
    events += int((ev.event_date.astype(str).str[:4] == y).sum())
    return time.perf_counter() - t, {"killed": float(outcome.get("killed", 0)), "released_km2": float(km2.sum()),
                                     "devices_destroyed": float(destroyed), "events": float(events)}


def main(path: str, year: int) -> None:
    source = Path(path)
    if not source.exists():
        sys.exit(f"{source} does not exist: build it with 'safeground demo --db {source} --scale national'.")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "copy.gpkg"
        t = time.perf_counter()
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(db)
        src.backup(dst)
        dst.close()
        src.close()
        print(f"copied {source} in {time.perf_counter() - t:.1f} s")
        rows = []
        with Workspace.open(db, user="bench") as ws:
            t = time.perf_counter()
            doc = publish(ws, year, note="benchmark")
            rows.append(("stats publish", time.perf_counter() - t))
            t = time.perf_counter()
            published_view(ws, year, view="casualties --by status")
            rows.append(("--as-published (one view)", time.perf_counter() - t))
            t = time.perf_counter()
            revisions(ws, year=year)
            rows.append(("stats revisions", time.perf_counter() - t))
        ref, figures = reference(db, year)
    h = doc["headline"]
    print(f"year {year}: {doc['fingerprint']['records']} records fingerprinted; killed {h['killed']} "
          f"(pandas {figures['killed']:.0f}), released {h['released_km2']:.3f} km² (pandas "
          f"{figures['released_km2']:.3f}), devices destroyed {h['devices_destroyed']} (pandas "
          f"{figures['devices_destroyed']:.0f}), events {h['events']} (pandas {figures['events']:.0f})")
    print(f"{'run':<28} {'seconds':>8} {'vs pandas':>10}")
    for name, secs in rows:
        print(f"{name:<28} {secs:>8.2f} {secs / ref:>9.1f}x")
    print(f"{'pandas over pyogrio':<28} {ref:>8.2f} {1.0:>9.1f}x")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "national.gpkg", int(sys.argv[2]) if len(sys.argv) > 2 else 2024)
