"""Bulk insert throughput of the GeoPackage store, against GDAL (pyogrio) writing the same points.

Plain script: prints a table. Run: python benchmarks/bench_store_insert.py [ROWS]
The reference is pyogrio writing a GeoPackage of the same points and columns with a spatial index:
SafeGround does more per row (validation, audit trigger, uuid and link indexes), so the ratio says what
that costs.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely

from safeground.domain.config import Config
from safeground.services.records import add_records
from safeground.services.workspace import Workspace
from safeground.store.base import Batch


def main(n: int) -> None:
    rng = np.random.default_rng(0)
    pts = shapely.points(rng.uniform(-73, -72, n), rng.uniform(5, 6, n))
    cats = np.array(["ap_mine", "av_mine", "improvised_mine"])[rng.integers(0, 3, n)]
    depth = rng.uniform(0, 20, n).round(1)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Path(tmp) / "sg.gpkg", user="bench", create=True)
        ws.set_config(Config(country="COL"))
        batch = Batch({"uuid": [str(uuid.UUID(int=int(i))) for i in rng.integers(0, 2**62, n)],
                       "category": cats.tolist(), "depth_cm": depth.tolist(), "found_date": ["2020-01-01"] * n,
                       "disposal": ["destroyed_in_situ"] * n}, pts)
        t = time.perf_counter()
        add_records(ws, "device", batch, review_state="approved")
        ws.close()
        sg = time.perf_counter() - t

        t = time.perf_counter()
        pyogrio.raw.write(Path(tmp) / "gdal.gpkg", shapely.to_wkb(pts), [cats.astype(object), depth,
                          np.array(["2020-01-01"] * n, dtype="datetime64[D]")], ["category", "depth_cm", "found_date"],
                          layer="device", driver="GPKG", geometry_type="Point", crs="EPSG:4326")
        gdal = time.perf_counter() - t
    print(f"{'rows':>10} {'safeground s':>13} {'pyogrio s':>10} {'ratio':>7} {'safeground rows/s':>18}")
    print(f"{n:>10} {sg:>13.2f} {gdal:>10.2f} {sg / gdal:>7.1f} {n / sg:>18,.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
