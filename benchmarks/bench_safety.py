"""The public safety check in process, against PostGIS on the same public polygons in the same run.

Plain script, not a test:  python benchmarks/bench_safety.py [DB] [--points N]
DB is the national scenario (``safeground demo --scale national``), opened read only; without it the small demo
is built in a temporary folder. PostGIS runs in a throwaway cluster (benchmarks/postgis_reference.py).

Points: seeded, half within ~550 m of a public hazard polygon, half uniform over the hazards' extent; the distance
is 100 m. Both sides start from WGS84 longitude/latitude and project to the same national CRS (pyproj in process,
PostGIS ``ST_Transform``), then ask which public polygons lie within 100 m (``STRtree`` in process; an
``ST_DWithin`` join on a GiST index in PostGIS) and the distance to the nearest of them.

- single point: ``check_point`` one point at a time, p50/p99 latency in process; PostGIS answers the same question
  one point per query (prepared statement, unix socket);
- batch: ``check_points`` over all points in batches of 10,000 (points/s); PostGIS: one query per batch
  (``unnest`` of the coordinate arrays joined with ``ST_DWithin``, grouped by point).

The classes (inside, within, clear) and distances of both are compared on the first 50,000 points and must be
identical (distances to 1 mm). The HTTP measurement of the issue comes with the web app.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
import shapely
from postgis_reference import copy_wkb, postgis_cluster

from safeground.services.demo import build_demo
from safeground.services.safety import CLEAR, INSIDE, WITHIN, SafetyIndex, check_point, check_points, safety_index
from safeground.services.workspace import Workspace

DISTANCE = 100.0
BATCH = 10_000
SINGLE = 5_000
COMPARED = 50_000

BATCH_SQL = """
SELECT p.i, min(ST_Distance(h.geom, p.g))
FROM (SELECT i, ST_Transform(ST_SetSRID(ST_MakePoint(x, y), 4326), {crs}) AS g
      FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS t(x, y, i)) AS p
JOIN public_hazard AS h ON ST_DWithin(h.geom, p.g, %s)
GROUP BY p.i
"""
SINGLE_SQL = """
SELECT min(ST_Distance(h.geom, p.g))
FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), {crs}) AS g) AS p
JOIN public_hazard AS h ON ST_DWithin(h.geom, p.g, %s)
"""


def sample_points(geoms: np.ndarray, n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (lon, lat): half near a random public polygon, half uniform over their extent."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    c = shapely.get_coordinates(shapely.centroid(geoms))
    near = n // 2
    pick = c[rng.integers(0, len(c), near)]
    lon = np.concatenate([pick[:, 0] + rng.uniform(-0.005, 0.005, near), rng.uniform(minx, maxx, n - near)])
    lat = np.concatenate([pick[:, 1] + rng.uniform(-0.005, 0.005, near), rng.uniform(miny, maxy, n - near)])
    order = rng.permutation(n)
    return lon[order], lat[order]


def postgis_classes(found: dict[int, float], n: int) -> tuple[np.ndarray, np.ndarray]:
    klass, dist = np.full(n, CLEAR, dtype=np.int8), np.full(n, np.nan)
    if found:
        idx = np.fromiter(found.keys(), dtype=np.int64, count=len(found)) - 1
        d = np.fromiter(found.values(), dtype=float, count=len(found))
        dist[idx] = d
        klass[idx] = np.where(d == 0, INSIDE, WITHIN)
    return klass, dist


def load_public_hazards(conn: psycopg.Connection, index: SafetyIndex) -> float:
    """Load the index's projected public polygons into PostGIS table ``public_hazard`` (GiST); seconds taken."""
    t = time.perf_counter()
    copy_wkb(conn, "public_hazard", index.crs, index.projected, {"ref": index.hazards.refs})
    return time.perf_counter() - t


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1e3, q))


def main(source: str | None, n_points: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(source) if source else Path(tmp) / "safety.gpkg"
        if not source:
            with Workspace.open(db, user="bench", create=True) as ws:
                build_demo(ws, scale="small", seed=1)
        ws = Workspace.open(db, user="bench", read_only=True)
        t = time.perf_counter()
        index = safety_index(ws)
        build_s = time.perf_counter() - t
        n_hazards = ws.store.count("hazard_area")
        lon, lat = sample_points(index.hazards.geometry, n_points)

        single: list[float] = []
        for i in range(SINGLE):
            t = time.perf_counter()
            check_point(ws, float(lat[i]), float(lon[i]), DISTANCE)
            single.append(time.perf_counter() - t)
        klass, dist = np.empty(n_points, dtype=np.int8), np.empty(n_points)
        t = time.perf_counter()
        for s in range(0, n_points, BATCH):
            klass[s:s + BATCH], dist[s:s + BATCH] = check_points(ws, lat[s:s + BATCH], lon[s:s + BATCH], DISTANCE)
        batch_s = time.perf_counter() - t
        ws.close()

        with postgis_cluster() as conninfo, psycopg.connect(conninfo, autocommit=True) as conn:
            load_s = load_public_hazards(conn, index)
            pg_single: list[float] = []
            sql = SINGLE_SQL.format(crs=index.crs)
            with conn.cursor() as cur:
                for i in range(SINGLE):
                    t = time.perf_counter()
                    cur.execute(sql, (float(lon[i]), float(lat[i]), DISTANCE), prepare=True)
                    cur.fetchone()
                    pg_single.append(time.perf_counter() - t)
            pg_klass, pg_dist = np.empty(n_points, dtype=np.int8), np.empty(n_points)
            sql = BATCH_SQL.format(crs=index.crs)
            t = time.perf_counter()
            with conn.cursor() as cur:
                for s in range(0, n_points, BATCH):
                    x, y = lon[s:s + BATCH], lat[s:s + BATCH]
                    cur.execute(sql, (x.tolist(), y.tolist(), DISTANCE), prepare=True)
                    pg_klass[s:s + BATCH], pg_dist[s:s + BATCH] = postgis_classes(dict(cur.fetchall()), len(x))
            pg_batch_s = time.perf_counter() - t

    m = min(COMPARED, n_points)
    same_class = klass[:m] == pg_klass[:m]
    hit = klass[:m] != CLEAR
    assert same_class.all(), f"{int((~same_class).sum())} of {m} points classed differently from PostGIS"
    assert np.allclose(dist[:m][hit], pg_dist[:m][hit], rtol=0, atol=1e-3), "distances differ from PostGIS"

    counts = {name: int((klass == code).sum()) for name, code in (("inside", INSIDE), ("within", WITHIN),
                                                                  ("clear", CLEAR))}
    print(f"database: {db.name}; hazards {n_hazards:,}, public polygons {len(index.hazards):,} "
          f"(EPSG:{index.crs}); index built in {build_s:.1f} s; PostGIS load + GiST {load_s:.1f} s")
    print(f"points: {n_points:,} ({', '.join(f'{k} {v:,}' for k, v in counts.items())}); distance {DISTANCE:.0f} m; "
          f"answers identical to PostGIS on the first {m:,}")
    print(f"{'measure':<34} {'SafeGround':>12} {'PostGIS':>12} {'ratio':>7}")
    for q in (50, 99):
        ours, theirs = pct(single, q), pct(pg_single, q)
        print(f"{f'single point p{q} (ms)':<34} {ours:>12.3f} {theirs:>12.3f} {theirs / ours:>7.1f}")
    ours_ps, theirs_ps = n_points / batch_s, n_points / pg_batch_s
    print(f"{f'batch {BATCH:,} a call (points/s)':<34} {ours_ps:>12,.0f} {theirs_ps:>12,.0f} "
          f"{ours_ps / theirs_ps:>7.1f}")
    print("ratio: how many times faster SafeGround is (PostGIS time / SafeGround time)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?")
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    sys.exit(main(args.db, args.points))
