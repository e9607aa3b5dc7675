"""The same use cases on the GeoPackage store and on the PostGIS store, in the same run.

Plain script, not a test:
    python benchmarks/bench_backends.py [--scale small|national] [--seed N] [--points N] [--serve]

Builds the seeded demo (``--scale``) into a new GeoPackage and into a new PostGIS database of a throwaway
cluster (benchmarks/postgis_reference.py), then times on each, through the same services:

- import: the demo's records, every layer, through ``add_records`` (validation, the IMAS rules, the store);
- safety check, single: ``check_point`` one point at a time (p50 and p99, after the index is built);
- safety check, batch: ``check_points`` over all points (points/s);
- remaining area: ``recompute_hazards`` over every hazard (polygon minus released land, written back);
- zoom-8 tile: ``tile`` of the tile holding the most hazards, first render (cold cache) and from the cache
  (PostGIS encodes its record layers with ``ST_AsMVT``, GDAL those of the GeoPackage).

The answers of both (safety classes, remaining areas within 1e-6, the tile's features and properties) must be
the same; the table gives the ratio PostGIS / GeoPackage (above 1: PostGIS is slower). ``--serve`` then runs
``safeground serve --db postgresql://...`` on the PostGIS database and times, over HTTP, the first public safety
check (which builds the safety index), a second one, and a public zoom-8 tile cold and cached.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely
from postgis_reference import postgis_cluster

from safeground.services.demo import build_demo
from safeground.services.release import recompute_hazards
from safeground.services.safety import check_point, check_points
from safeground.services.tiles import tile, tiles_covering
from safeground.services.workspace import Workspace
from safeground.store.tile_cache import TileCache


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def run(db: str, scale: str, seed: int, n_points: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with Workspace.open(db, user="bench", create=True) as ws:
        out["import"], _ = timed(lambda: build_demo(ws, scale=scale, seed=seed))
        hazards = ws.store.query("hazard_area", fields=["uuid"])
        out["hazards"] = len(hazards)
        rng = np.random.default_rng(seed)
        minx, miny, maxx, maxy = ws.store.extent("hazard_area") or (0, 0, 0, 0)
        near = shapely.get_coordinates(shapely.centroid(np.array([h["geometry"] for h in hazards])))
        pick = rng.integers(0, len(near), n_points // 2)
        lon = np.concatenate([near[pick, 0] + rng.normal(0, 0.003, len(pick)),
                              rng.uniform(minx, maxx, n_points - len(pick))])
        lat = np.concatenate([near[pick, 1] + rng.normal(0, 0.003, len(pick)),
                              rng.uniform(miny, maxy, n_points - len(pick))])
        check_point(ws, float(lat[0]), float(lon[0]))  # builds the index: not timed as a single check
        single = []
        for i in range(min(2000, n_points)):
            t, _ = timed(lambda i=i: check_point(ws, float(lat[i]), float(lon[i])))
            single.append(t)
        out["single_p50"], out["single_p99"] = np.percentile(single, 50), np.percentile(single, 99)
        out["batch"], (classes, _dists) = timed(lambda: check_points(ws, lat, lon))
        out["classes"] = classes
        uuids = [h["uuid"] for h in hazards]
        out["remaining"], _ = timed(lambda: recompute_hazards(ws, uuids))
        out["areas"] = [h["remaining_area_m2"] for h in ws.store.query("hazard_area", fields=["remaining_area_m2"],
                                                                       geometry=False)]
        counts: dict[tuple[int, int, int], int] = {}
        for c in near:
            for key in tiles_covering((c[0], c[1], c[0], c[1]), 8):
                counts[key] = counts.get(key, 0) + 1
        z, x, y = max(counts, key=lambda k: counts[k])
        cache = TileCache(":memory:")
        out["tile_cold"], out["tile"] = timed(lambda: tile(ws, z, x, y, cache=cache))
        out["tile_warm"], _ = timed(lambda: tile(ws, z, x, y, cache=cache))
        out["tile_key"] = (z, x, y)
        out["point"] = (float(lat[0]), float(lon[0]))
    return out


def features(data: bytes) -> dict[str, list[str]]:
    """A tile's features per layer, as their properties in canonical JSON, sorted (geometry left aside: each
    encoder quantises and simplifies in its own way)."""
    return {name: sorted(json.dumps(f["properties"], sort_keys=True) for f in layer["features"])
            for name, layer in mapbox_vector_tile.decode(data).items()}


def _get(url: str) -> tuple[float, bytes]:
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=900) as answer:
        body = answer.read()
    return time.perf_counter() - t, body


def serve_checks(db: str, lat: float, lon: float, key: tuple[int, int, int]) -> dict[str, Any]:
    """``safeground serve --db URL`` in a subprocess: a public safety check (first and second) and a public tile
    (cold and cached), timed over HTTP."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exe = Path(sys.executable).with_name("safeground")
    server = subprocess.Popen([str(exe), "serve", "--db", db, "--port", str(port), "--tile-refresh", "0",
                               "--rate-limit", "none", "--tile-rate-limit", "none"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        while True:
            try:
                _get(f"{base}/api")
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 300:
                    raise SystemExit("safeground serve did not start") from None
                time.sleep(0.5)
        out: dict[str, Any] = {"start": time.perf_counter() - started}
        check = f"{base}/api/public/safety?lat={lat}&lon={lon}"
        out["check_first"], body = _get(check)
        out["check"] = json.loads(body)
        out["check_second"], _ = _get(check)
        z, x, y = key
        out["tile_cold"], tile_bytes = _get(f"{base}/api/public/tiles/{z}/{x}/{y}.mvt")
        out["tile_warm"], _ = _get(f"{base}/api/public/tiles/{z}/{x}/{y}.mvt")
        out["tile_features"] = sum(len(v) for v in features(tile_bytes).values())
        return out
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small", choices=["small", "national"])
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--serve", action="store_true", help="Also time 'safeground serve' on the PostGIS database.")
    args = parser.parse_args()
    served = None
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # the demo's side files of the server database are written to the working folder
        gpkg = run(str(Path(tmp) / "bench.gpkg"), args.scale, args.seed, args.points)
        with postgis_cluster(shared_buffers="512MB") as conninfo:
            info = dict(part.split("=", 1) for part in conninfo.split())
            url = f"postgresql://{info['user']}@/{info['dbname']}?host={info['host']}&port={info['port']}"
            pg = run(url, args.scale, args.seed, args.points)
            if args.serve:
                served = serve_checks(url, *pg["point"], pg["tile_key"])
    by_gdal, by_postgis = features(gpkg["tile"]), features(pg["tile"])
    # PostGIS keeps a polygon smaller than a grid unit as a unit's box where GDAL drops it: never one feature fewer.
    missing = sum(len(set(v) - set(by_postgis.get(k, []))) for k, v in by_gdal.items())
    tiny = sum(len(set(v) - set(by_gdal.get(k, []))) for k, v in by_postgis.items())
    print(f"scale {args.scale}, seed {args.seed}: {gpkg['hazards']:,} hazards, {args.points:,} points")
    print(f"{'measure':<28} {'GeoPackage':>12} {'PostGIS':>12} {'PostGIS/GPKG':>13}")
    rows = [("import (s)", "import", 1), ("safety single p50 (ms)", "single_p50", 1e3),
            ("safety single p99 (ms)", "single_p99", 1e3), ("safety batch (points/s)", "batch", None),
            ("remaining area, all (s)", "remaining", 1), ("zoom-8 tile, cold (ms)", "tile_cold", 1e3),
            ("zoom-8 tile, cached (ms)", "tile_warm", 1e3)]
    for label, key, scale in rows:
        if scale is None:
            a, b = args.points / gpkg[key], args.points / pg[key]
            print(f"{label:<28} {a:>12,.0f} {b:>12,.0f} {a / b:>13.2f}")
        else:
            a, b = gpkg[key] * scale, pg[key] * scale
            print(f"{label:<28} {a:>12.3f} {b:>12.3f} {b / a:>13.2f}")
    print(f"zoom-8 tile {'/'.join(map(str, pg['tile_key']))}: {sum(len(v) for v in by_gdal.values()):,} features "
          f"by GDAL; PostGIS: {tiny:,} more (polygons under a grid unit kept as a box), {missing:,} missing; "
          f"{len(gpkg['tile']):,} / {len(pg['tile']):,} bytes")
    if served:
        print(f"safeground serve --db postgresql://...: started in {served['start']:.1f} s; public safety check "
              f"{served['check_first'] * 1e3:,.0f} ms first (builds the index), {served['check_second'] * 1e3:.1f} ms "
              f"next ({served['check']['result']}); public zoom-8 tile {served['tile_cold'] * 1e3:,.0f} ms cold, "
              f"{served['tile_warm'] * 1e3:.1f} ms cached ({served['tile_features']:,} features)")
    # The answers, checked after the table is out (so a long run always reports its numbers).
    assert gpkg["hazards"] == pg["hazards"]
    assert np.array_equal(gpkg["classes"], pg["classes"]), "the safety answers differ"
    assert np.allclose(np.array(gpkg["areas"], dtype=float), np.array(pg["areas"], dtype=float), rtol=1e-6,
                       equal_nan=True), "the remaining areas differ"
    assert by_gdal.keys() == by_postgis.keys(), "the tiles' layers differ"
    assert missing == 0, "a feature of GDAL's tile is missing from PostGIS's"


if __name__ == "__main__":
    main()
