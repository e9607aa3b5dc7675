"""Time of ``safeground check`` per check, against GDAL and geopandas doing two of its checks.

Plain script, not a test: python benchmarks/bench_check.py [DB]
Without DB it builds the small demo in a temporary folder; give the national demo (``safeground demo
--scale national``) to see the national scale. The database is copied first: the check proposes duplicate
links, and the original stays as it was.
The reference reads hazards, activities and devices with pyogrio (GDAL) into geopandas, tests polygon
validity and joins devices to the polygons that hold them: the invalid-polygon and device-outside-work
checks alone, with no refs, placement, dates or duplicates. The ratio says what the whole check costs
beyond those two.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from safeground.services import quality
from safeground.services.demo import build_demo
from safeground.services.workspace import Workspace


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def reference(db: Path) -> float:
    """Invalid polygons and devices outside every hazard and activity polygon, with GDAL and geopandas."""
    t = time.perf_counter()
    polys = [pyogrio.read_dataframe(db, layer=layer, columns=["ref"]) for layer in ("hazard_area", "activity")]
    areas = gpd.GeoDataFrame(pd.concat(polys, ignore_index=True), crs=4326)
    _invalid = (~areas.geometry.is_valid).sum()
    devices = pyogrio.read_dataframe(db, layer="device", columns=["ref"])
    inside = gpd.sjoin(devices, areas[areas.geometry.notna()], predicate="within", how="inner")
    _outside = len(devices) - inside.index.nunique()
    return time.perf_counter() - t


def main(source: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "check.gpkg"
        if source:
            shutil.copy(source, db)
        else:
            with Workspace.open(db, user="bench", create=True) as ws:
                build_demo(ws, scale="small", seed=1)
        ws = Workspace.open(db, user="bench")
        layers = quality._Layers(ws)
        steps: list[tuple[str, Callable[[], object]]] = [
            ("read layers", lambda: [layers[n] for n in ("device", "hazard_area", "activity")]),
            ("quarantine", lambda: quality._quarantine(ws)),
            ("invalid_polygon", lambda: quality._polygons(layers)),
            ("placement", lambda: quality._placement(ws, layers)),
            ("dates", lambda: quality._dates(ws, "2026-11-28")),
            ("duplicate_hazard", lambda: quality._duplicate_hazards(layers, 0.5)),
            ("duplicate_casualty", lambda: quality._duplicate_casualties(ws, 1.0, 85.0)),
            ("device_outside_work", lambda: quality._devices_outside(layers)),
        ]
        rows = []
        for name, fn in steps:
            seconds, out = _timed(fn)
            rows.append((name, seconds, len(out) if isinstance(out, list) else 0))
        counts = {n: ws.store.count(n) for n in ("hazard_area", "activity", "device", "casualty")}
        ws.close()
        total = sum(r[1] for r in rows)
        gdal = reference(db)
    print("records: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print(f"{'check':<22} {'seconds':>8} {'findings':>9}")
    for name, seconds, n in rows:
        print(f"{name:<22} {seconds:>8.2f} {n:>9,}")
    print(f"{'safeground check':<22} {total:>8.2f}")
    print(f"{'pyogrio+geopandas (2)':<22} {gdal:>8.2f}   invalid polygons and devices outside work only")
    print(f"{'ratio':<22} {total / gdal:>8.1f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
