"""Time of ``stats records`` (minefield-record accuracy) and ``stats events``, against geopandas and pandas.

Plain script, not a test: python benchmarks/bench_stats_records.py [DB]
Without DB it builds the small demo in a temporary folder; give the national demo (``safeground demo
--scale national``) to see the national scale. The database is copied first: ``stats records`` stores its
matches, and the original stays as it was.

References, in the same run:
- records: pyogrio (GDAL) reads the minefield records and devices into geopandas, which projects them to UTM
  and finds the devices within 500 m of each perimeter (``sjoin`` on buffered perimeters): the device half of
  the matching, without activities, review states or figures;
- events: pyogrio reads the accident, device and event layers' attributes and pandas groups them by year,
  admin1 and type, as ``stats events --by year --by adm1 --by source_type`` does.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pyogrio

from safeground.services.demo import build_demo
from safeground.services.stats_events import EVENT_LAYERS, event_counts
from safeground.services.stats_records import record_accuracy
from safeground.services.workspace import Workspace


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def reference_records(db: Path) -> None:
    records = pyogrio.read_dataframe(db, layer="minefield_record", columns=["ref"])
    devices = pyogrio.read_dataframe(db, layer="device", columns=["ref", "quantity"])
    crs = records.estimate_utm_crs()
    zone = gpd.GeoDataFrame(records.to_crs(crs).buffer(500).rename("geometry"), crs=crs)
    gpd.sjoin(devices.to_crs(crs), zone, predicate="within").groupby("index_right").size()


def reference_events(db: Path) -> None:
    for layer, (date, kind) in EVENT_LAYERS.items():
        df = pyogrio.read_dataframe(db, layer=layer, columns=[date, "admin1", kind], read_geometry=False)
        df.groupby([df[date].astype(str).str[:4], "admin1", kind], dropna=False).size()


def main(source: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "stats.gpkg"
        if source:
            shutil.copy(source, db)
        else:
            with Workspace.open(db, user="bench", create=True) as ws:
                build_demo(ws, scale="small", seed=1)
        with Workspace.open(db, user="bench") as ws:
            n_records = ws.store.count("minefield_record")
            n_devices = ws.store.count("device")
            rows = [
                ("stats records (matching first)", _timed(lambda: record_accuracy(ws, rematch=True)),
                 _timed(lambda: reference_records(db))),
                ("stats records (stored matches)", _timed(lambda: record_accuracy(ws)), None),
                ("stats events by year/adm1/type",
                 _timed(lambda: event_counts(ws, by=["year", "adm1", "source_type"])),
                 _timed(lambda: reference_events(db))),
            ]
    print(f"{n_records} minefield records, {n_devices} devices")
    print(f"{'step':<34} {'SafeGround s':>12} {'reference s':>12} {'ratio':>7}")
    for name, ours, ref in rows:
        print(f"{name:<34} {ours:>12.3f} {'' if ref is None else f'{ref:.3f}':>12} "
              f"{'' if ref is None else f'{ours / ref:.2f}':>7}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
