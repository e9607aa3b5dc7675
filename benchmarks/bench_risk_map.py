"""The risk surface on the web map: tiles of a national surface (~100,000 cells) against PostGIS ST_AsMVT.

    python benchmarks/bench_risk_map.py [--cells 100000] [--sample 20]

Builds a throwaway database holding one adopted risk surface: a square grid of ``--cells`` cells of about 1 km in
eastern Colombia, a smooth seeded risk field and three reasons per cell (as ``risk surface`` stores them).
Measured:

- reading the current run into memory once (``risk_map.current_surface``: cells, STRtree, reasons);
- per tile, at zooms 6, 8 and 12, the densest tile and a sample: ``cold`` (``tiles.tile`` with nothing cached:
  cells picked from the tree, GDAL encodes, cached) and ``served`` (from the cache);
- a clicked cell's detail (``risk_map.cell_detail``, risk and top reasons from memory);
- the reference, in the same run: PostGIS (Debian's postgresql and postgis in a throwaway cluster, GiST index)
  answering the same tile with ``ST_AsMVT`` over ``ST_AsMVTGeom`` of the cells meeting ``ST_TileEnvelope``
  (80-unit buffer), as a tile server would; and, for size, the same tile's cells as GeoJSON (the alternative to
  tiles: GeoJSON by bounding box).

Prints a table with the ratio SafeGround / PostGIS (below 1: SafeGround is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tiles import tile_keys, timed
from postgis_reference import postgis_cluster

from safeground.services import risk_map
from safeground.services import tiles as T
from safeground.services.workspace import Workspace
from safeground.store.tile_cache import TileCache

#: South-west corner of the grid (eastern Colombia) and the cell size in degrees (about 1 km).
ORIGIN = (-74.5, 3.0)
SIZE = 0.009


def surface(n_cells: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[list[dict[str, str]]]]:
    side = int(np.ceil(np.sqrt(n_cells)))
    i, j = np.divmod(np.arange(side * side), side)
    i, j = i[:n_cells], j[:n_cells]
    x0, y0 = ORIGIN[0] + i * SIZE, ORIGIN[1] + j * SIZE
    cells = shapely.box(x0, y0, x0 + SIZE, y0 + SIZE)
    centres = rng.uniform(0, side, size=(30, 2))  # a smooth field: risk falls with the distance to 30 "events"
    d = np.min(np.hypot(i[:, None] - centres[:, 0], j[:, None] - centres[:, 1]), axis=1)
    risk = np.round(1 / (1 + np.exp(0.4 * (d - 8))), 4)
    reasons = [[{"text": f"raises risk: {k * 1.0:.1f} km from a 2013 accident"},
                {"text": "raises risk: 3 finds within 5 km"}, {"text": "lowers risk: elevation = 2100"}]
               for k in d.round(0)]
    return cells, risk, reasons


def pick(cells: np.ndarray, z: int, sample: int, rng: np.random.Generator) -> tuple[tuple[int, int, int], list]:
    c = shapely.centroid(cells)
    n = 2 ** z
    keys, counts = np.unique(tile_keys(shapely.get_x(c), shapely.get_y(c), z), return_counts=True)
    dense = (z, *divmod(int(keys[counts.argmax()]), n))
    others = np.delete(keys, counts.argmax())  # the sample's tiles are cold too: not the densest again
    chosen = rng.choice(others, size=min(sample, len(others)), replace=False)
    return dense, [(z, *divmod(int(k), n)) for k in chosen]

SQL = ("SELECT coalesce(ST_AsMVT(t, 'risk_surface', 4096, 'geom'), '') FROM ("
       "SELECT cell, risk, run, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s), "
       "4096, 80) AS geom FROM risk_cell WHERE geom && "
       "ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 80.0 / 4096), 4326)) AS t")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(8)
    folder = tempfile.mkdtemp(prefix="safeground-riskmap-")
    db = os.path.join(folder, "risk.gpkg")
    cells, risk, reasons = surface(args.cells, rng)
    with Workspace.open(db, user="bench", create=True) as ws:
        t = time.perf_counter()
        run = ws.store.write_risk_run({"kind": "surface", "as_of": "2014-12-31", "cells_source": "grid"},
                                      {"cell_id": [str(k) for k in range(len(cells))], "risk": risk.tolist(),
                                       "geometry": cells, "reasons": reasons}, user="bench")
        write_s = time.perf_counter() - t
        ws.store.adopt_risk_run(run["id"], user="bench")

    ws = Workspace.open(db, read_only=True)
    t = time.perf_counter()
    loaded = risk_map.current_surface(ws)
    memo_s = time.perf_counter() - t
    assert loaded is not None and len(loaded.geometries) == len(cells)
    cache = TileCache(os.path.join(folder, "cold.tiles"))
    picks = {z: pick(cells, z, args.sample, rng) for z in (6, 8, 12)}
    rows: list[tuple[str, float, float]] = []
    sizes: list[str] = []
    with postgis_cluster() as conninfo, psycopg.connect(conninfo) as conn:
        t = time.perf_counter()
        conn.execute("CREATE TABLE risk_cell (cell integer, risk double precision, run integer, "
                     "geom geometry(Polygon, 4326))")
        hexes = shapely.to_wkb(cells, hex=True)
        with conn.cursor().copy("COPY risk_cell FROM STDIN") as copy:
            for k, h in enumerate(hexes):
                copy.write_row([k, float(risk[k]), run["id"], h])
        conn.execute("CREATE INDEX ON risk_cell USING gist (geom)")
        conn.execute("ANALYZE risk_cell")
        conn.commit()
        load_s = time.perf_counter() - t

        def pg(z: int, x: int, y: int) -> bytes:
            return bytes(conn.execute(SQL, {"z": z, "x": x, "y": y}).fetchone()[0])

        for z, (dense, sample) in picks.items():
            for label, keys in (("densest", [dense]), (f"sample of {len(sample)}", sample)):
                if not keys:
                    continue
                cold, served, ref, ours_b, pg_b, gj_b, counts = [], [], [], [], [], [], []
                for key in keys:
                    t = time.perf_counter()
                    data = T.tile(ws, *key, cache=cache)
                    cold.append(time.perf_counter() - t)
                    s, again = timed(lambda key=key: T.tile(ws, *key, cache=cache))
                    assert again == data
                    served.append(s)
                    r, pg_data = timed(lambda key=key: pg(*key))
                    ref.append(r)
                    geoms, columns = risk_map.surface_features(ws, T.tile_bounds(*key))
                    geojson = json.dumps({"type": "FeatureCollection", "features": [
                        {"type": "Feature", "geometry": json.loads(g), "properties": {"cell": c, "risk": v}}
                        for g, c, v in zip(shapely.to_geojson(geoms).tolist(), columns["cell"], columns["risk"],
                                           strict=True)]})
                    ours_b.append(len(data))
                    pg_b.append(len(pg_data))
                    gj_b.append(len(geojson))
                    counts.append(len(geoms))
                rows.append((f"z{z} {label}: cold (render + cache)", statistics.median(cold), statistics.median(ref)))
                rows.append((f"z{z} {label}: served", statistics.median(served), statistics.median(ref)))
                sizes.append(f"| z{z} {label} | {statistics.median(counts):,.0f} | {statistics.median(ours_b):,.0f} | "
                             f"{statistics.median(pg_b):,.0f} | {statistics.median(gj_b):,.0f} |")

    detail = []
    for position in rng.choice(len(cells), size=200, replace=False).tolist():
        t = time.perf_counter()
        risk_map.cell_detail(ws, run["id"], position)
        detail.append(time.perf_counter() - t)
    ws.close()

    print(f"\nRisk surface of {len(cells):,} cells of about 1 km; written (store) {write_s:.1f} s; "
          f"PostGIS load (COPY + GiST) {load_s:.1f} s")
    print(f"current run read into memory once: {memo_s:.2f} s; a clicked cell's detail: "
          f"p50 {statistics.median(detail) * 1000:.2f} ms\n")
    print(f"| {'measure (median seconds per tile)':<40} | {'SafeGround':>10} | {'PostGIS':>9} | {'ratio':>7} |")
    print(f"|{'-' * 42}|{'-' * 12}|{'-' * 11}|{'-' * 9}|")
    for name, ours, theirs in rows:
        print(f"| {name:<40} | {ours:>10.4f} | {theirs:>9.4f} | {ours / theirs:>7.3f} |")
    print("\n| tile (median) | cells | MVT bytes | PostGIS MVT bytes | GeoJSON bytes |\n|---|---|---|---|---|")
    print("\n".join(sizes))


if __name__ == "__main__":
    main()
