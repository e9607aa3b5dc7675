"""Vector tiles on the national scenario: SafeGround (GDAL's MVT driver + tile cache) against PostGIS ST_AsMVT.

    python benchmarks/bench_tiles.py [national.gpkg] [--sample 20] [--maxzoom 12]

The database is opened read-only; the tile cache goes to a temporary side file. Measured, at zoom 8 and zoom 12,
for the densest tile (most hazard centroids) and a random sample of tiles holding hazards:

- ``cold``: ``tile()`` with nothing cached (records read through the R-tree, GDAL encodes, cached);
- ``served``: ``tile()`` again, from the cache (what the map gets after ``build_cache``, and after an edit once
  its tiles are rendered again);
- PostGIS: the same layers (hazards, released land, minefield records, priority targets; attributes alike)
  loaded into a throwaway cluster with GiST indexes, one ``ST_AsMVT`` per layer over ``ST_AsMVTGeom`` of the
  rows meeting ``ST_TileEnvelope`` (with the same 80-unit buffer), concatenated, as a tile server would.
  SafeGround's tiles also carry the casualty counts per admin area, which PostGIS is not asked for.

Also: ``build_cache`` for zooms 0..maxzoom (every non-empty tile of every layer).
Prints a table with the ratio SafeGround / PostGIS (below 1: SafeGround is faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
import pyogrio.raw
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from postgis_reference import postgis_cluster

from safeground.services import tiles as T
from safeground.services.workspace import Workspace
from safeground.store.tile_cache import TileCache

PG_LAYERS = [layer for layer in T.LAYERS if layer.features is None]


def tile_keys(xs: np.ndarray, ys: np.ndarray, z: int) -> np.ndarray:
    n = 2 ** z
    tx = np.floor((xs + 180) / 360 * n).astype(np.int64)
    r = np.radians(ys)
    ty = np.floor((1 - np.log(np.tan(r) + 1 / np.cos(r)) / np.pi) / 2 * n).astype(np.int64)
    return tx * n + ty


def pick_tiles(db: str, z: int, sample: int, rng: np.random.Generator) -> tuple[tuple[int, int, int], list]:
    _meta, _fids, wkb, _ = pyogrio.raw.read(db, layer="hazard_area", columns=[])
    c = shapely.centroid(shapely.from_wkb(wkb))
    keys, counts = np.unique(tile_keys(shapely.get_x(c), shapely.get_y(c), z), return_counts=True)
    n = 2 ** z
    dense = divmod(int(keys[counts.argmax()]), n)
    chosen = rng.choice(keys, size=min(sample, len(keys)), replace=False)
    return (z, *dense), [(z, *divmod(int(k), n)) for k in chosen]


def load_postgis(conn: psycopg.Connection, ws: Workspace) -> float:
    start = time.perf_counter()
    for layer in PG_LAYERS:
        rows = ws.store.query(layer.source, where=dict(layer.where), fields=list(layer.fields))
        cols = ", ".join(f'"{f}" text' if f not in ("mine_count", "displaced_households") else f'"{f}" integer'
                         for f in layer.fields)
        conn.execute(f'CREATE TABLE "{layer.name}" ({cols}, geom geometry(Geometry, 4326))')
        with conn.cursor().copy(f'COPY "{layer.name}" FROM STDIN') as copy:
            for r in rows:
                copy.write_row([*(None if r[f] is None else r[f] for f in layer.fields),
                                shapely.to_wkb(r["geometry"], hex=True, include_srid=False)])
        conn.execute(f'CREATE INDEX ON "{layer.name}" USING gist (geom)')
        conn.execute(f'ANALYZE "{layer.name}"')
    conn.commit()
    return time.perf_counter() - start


def postgis_sql() -> str:
    """The reference tile query; names come from ``LAYERS``, the tile from bound parameters."""
    parts = []
    for layer in PG_LAYERS:
        attrs = ", ".join(f'"{f}"' for f in layer.fields)
        # identifiers come from the layer declarations; the tile's values are bound parameters
        parts.append(
            f"(SELECT coalesce(ST_AsMVT(t, '{layer.name}', 4096, 'geom'), '') FROM ("  # noqa: S608
            f"SELECT {attrs}, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 80)"
            f" AS geom FROM \"{layer.name}\" WHERE %(z)s BETWEEN {layer.minzoom} AND {layer.maxzoom} AND geom && "
            f"ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 80.0 / 4096), 4326)) AS t)")
    return "SELECT " + " || ".join(parts)


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", nargs="?", default=os.environ.get("SAFEGROUND_NATIONAL", "national.gpkg"))
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--maxzoom", type=int, default=12)
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    ws = Workspace.open(args.db, read_only=True)
    folder = tempfile.mkdtemp(prefix="safeground-tiles-")
    cache = TileCache(os.path.join(folder, "cold.tiles"))
    picks = {z: pick_tiles(args.db, z, args.sample, rng) for z in (8, 12)}
    rows: list[tuple[str, float, float]] = []

    with postgis_cluster() as conninfo, psycopg.connect(conninfo) as conn:
        load_s = load_postgis(conn, ws)
        sql = postgis_sql()

        def pg(z: int, x: int, y: int) -> bytes:
            return bytes(conn.execute(sql, {"z": z, "x": x, "y": y}).fetchone()[0])

        for z, (dense, sample) in picks.items():
            for label, tiles in (("densest", [dense]), (f"sample of {len(sample)}", sample)):
                cold, served, ref, sizes = [], [], [], []
                for key in tiles:
                    t = time.perf_counter()
                    data = T.tile(ws, *key, cache=cache)
                    cold.append(time.perf_counter() - t)
                    s, again = timed(lambda key=key: T.tile(ws, *key, cache=cache))
                    assert again == data
                    served.append(s)
                    r, pg_data = timed(lambda key=key: pg(*key))
                    ref.append(r)
                    sizes.append((len(data), len(pg_data)))
                rows.append((f"z{z} {label}: cold (render + cache)", statistics.median(cold),
                             statistics.median(ref)))
                rows.append((f"z{z} {label}: served", statistics.median(served), statistics.median(ref)))
                print(f"z{z} {label}: bytes SafeGround/PostGIS (median) "
                      f"{statistics.median(a for a, _ in sizes):.0f}/{statistics.median(b for _, b in sizes):.0f}",
                      file=sys.stderr)

    build = TileCache(os.path.join(folder, "build.tiles"))
    t = time.perf_counter()
    stored = T.build_cache(ws, minzoom=0, maxzoom=args.maxzoom, cache=build)
    build_s = time.perf_counter() - t
    ws.close()

    print(f"\nNational scenario: {args.db}; PostGIS load (COPY + GiST) {load_s:.1f} s")
    print(f"build_cache z0-{args.maxzoom}: {build_s:.1f} s, {sum(stored.values())} tiles {stored}\n")
    print(f"| {'measure (median seconds per tile)':<44} | {'SafeGround':>10} | {'PostGIS':>9} | {'ratio':>7} |")
    print(f"|{'-' * 46}|{'-' * 12}|{'-' * 11}|{'-' * 9}|")
    for name, ours, theirs in rows:
        print(f"| {name:<44} | {ours:>10.4f} | {theirs:>9.4f} | {ours / theirs:>7.3f} |")


if __name__ == "__main__":
    main()
