"""The web application over HTTP on the national scenario, against PostGIS on the same data in the same run.

Plain script, not a test:  python benchmarks/bench_web.py DB [--points 1000000] [--single 5000] [--sample 20]

DB is the national scenario (``safeground demo --scale national``). It is copied into a temporary folder (SQLite's
backup API) so that the benchmark's user, token and tile caches never touch it; a real ``safeground serve``
(uvicorn) is started on the copy on a free port, with the rate limits off, and asked over HTTP (one keep-alive
connection, as a client would):

- single point: ``GET /api/public/safety?lat&lon&distance=100``, one point at a time, p50/p99 latency seen by the
  client; PostGIS answers the same question one point per query (bench_safety.py's ``SINGLE_SQL``);
- batch: ``POST /api/safety/batch`` (signed in with a bearer token), 1,000,000 points in requests of 10,000
  (``lon``/``lat`` columns), points/s; PostGIS: one ``ST_DWithin`` join per 10,000 points (``BATCH_SQL``). Every
  answer is compared: identical classes, distances within 1 mm (the API gives millimetres);
- tiles: ``GET /api/tiles/{z}/{x}/{y}.mvt`` at zoom 8 and 12 (the densest tile and a random sample, as
  bench_tiles.py picks them), cold (not cached) and served (cached, best of 3), against one ``ST_AsMVT`` query per
  tile over the same layers (bench_tiles.py's ``postgis_sql``, best of 3).

The two sides are measured in alternation (a request, then the same query to PostGIS), so that other work on the
machine weighs on both alike.

The loading code, points and reference queries are bench_safety.py's and bench_tiles.py's.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import httpx
import numpy as np
import psycopg
from bench_safety import BATCH_SQL, SINGLE_SQL, load_public_hazards, pct, postgis_classes, sample_points
from bench_tiles import load_postgis, pick_tiles, postgis_sql
from postgis_reference import postgis_cluster

from safeground.services import users
from safeground.services.safety import CLEAR, INSIDE, WITHIN, safety_index
from safeground.services.workspace import Workspace

DISTANCE = 100.0
BATCH = 10_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def copy_database(source: str, folder: Path) -> Path:
    """A private copy of ``source`` (SQLite's online backup: consistent even with a WAL beside it)."""
    target = folder / Path(source).name
    src = sqlite3.connect(f"{Path(source).resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


def start_server(db: Path, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (folder / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "safeground.cli", "serve", "--db", str(db), "--port", str(port),
                             "--rate-limit", "none", "--tile-rate-limit", "none"], stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/api", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise SystemExit((folder / "serve.log").read_text())
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def timed_get(client: httpx.Client, url: str, **kw: object) -> tuple[float, httpx.Response]:
    t = time.perf_counter()
    r = client.get(url, **kw)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - t
    r.raise_for_status()
    return elapsed, r


def plain_get(conn: http.client.HTTPConnection, url: str, headers: dict[str, str] | None = None) -> float:
    """Seconds for one GET on a keep-alive connection of the standard library's http.client, body read: the
    client's own overhead is far less than httpx's (about half a millisecond a request), which is not the
    server's."""
    t = time.perf_counter()
    conn.request("GET", url, headers=headers or {})
    answer = conn.getresponse()
    answer.read()
    elapsed = time.perf_counter() - t
    assert answer.status == 200, (url, answer.status)
    return elapsed


def main(source: str, n_points: int, n_single: int, sample: int) -> None:
    rng = np.random.default_rng(5)
    with tempfile.TemporaryDirectory(prefix="sg-bench-web-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        db = copy_database(source, folder)
        copy_s = time.perf_counter() - t
        with Workspace.open(db, user="bench") as ws:
            users.add_user(ws, "bench", "viewer", None)
            token, _ = users.create_token(ws, "bench", name="benchmark")
        ws = Workspace.open(db, user="bench", read_only=True)
        index = safety_index(ws)
        lon, lat = sample_points(index.hazards.geometry, n_points)
        picks = {z: pick_tiles(str(db), z, sample, rng) for z in (8, 12)}

        with postgis_cluster() as conninfo, psycopg.connect(conninfo, autocommit=True) as conn:
            load_s = load_public_hazards(conn, index)
            tile_load_s = load_postgis(conn, ws)
            single_sql, batch_sql, tile_sql = SINGLE_SQL.format(crs=index.crs), BATCH_SQL.format(crs=index.crs), \
                postgis_sql()
            cur = conn.cursor()

            def pg_timed(sql: str, params: object) -> tuple[float, list]:
                t = time.perf_counter()
                cur.execute(sql, params, prepare=True)
                rows = cur.fetchall()
                return time.perf_counter() - t, rows

            proc, base = start_server(db, folder)
            try:
                client = httpx.Client(base_url=base, timeout=600, headers={"Authorization": f"Bearer {token}"})
                first_s, _ = timed_get(client, "/api/public/safety", params={"lat": lat[0], "lon": lon[0]})
                for i in range(200):  # warm the connections and both sides' code paths
                    client.get("/api/public/safety", params={"lat": lat[i], "lon": lon[i], "distance": DISTANCE})
                    pg_timed(single_sql, (float(lon[i]), float(lat[i]), DISTANCE))
                # Each measurement alternates between the two sides, so that other work on the machine weighs on
                # both alike.
                plain = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]))
                single, pg_single = [], []
                for i in range(n_single):
                    query = urllib.parse.urlencode({"lat": float(lat[i]), "lon": float(lon[i]), "distance": DISTANCE})
                    single.append(plain_get(plain, f"/api/public/safety?{query}"))
                    pg_single.append(pg_timed(single_sql, (float(lon[i]), float(lat[i]), DISTANCE))[0])

                klass, dist = np.empty(n_points, dtype=np.int8), np.empty(n_points)
                pg_klass, pg_dist = np.empty(n_points, dtype=np.int8), np.empty(n_points)
                batch_s = pg_batch_s = 0.0
                for s in range(0, n_points, BATCH):
                    x, y = lon[s:s + BATCH], lat[s:s + BATCH]
                    t = time.perf_counter()
                    r = client.post("/api/safety/batch", json={"distance": DISTANCE, "lon": x.tolist(),
                                                               "lat": y.tolist()})
                    r.raise_for_status()
                    doc = r.json()
                    klass[s:s + BATCH] = doc["class"]
                    dist[s:s + BATCH] = [np.nan if d is None else d for d in doc["distance"]]
                    batch_s += time.perf_counter() - t
                    t = time.perf_counter()
                    cur.execute(batch_sql, (x.tolist(), y.tolist(), DISTANCE), prepare=True)
                    pg_klass[s:s + BATCH], pg_dist[s:s + BATCH] = postgis_classes(dict(cur.fetchall()), len(x))
                    pg_batch_s += time.perf_counter() - t

                signed = {"Authorization": f"Bearer {token}"}
                plain.close()  # idle past uvicorn's keep-alive during the batches: open a new connection
                plain = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]))
                plain_get(plain, "/api/tiles/4/4/7.mvt", signed)  # builds the casualty counts once; not measured
                tiles: dict[tuple[int, str], list[tuple[int, int, int]]] = {}
                http_cold: dict[tuple[int, int, int], float] = {}
                http_served: dict[tuple[int, int, int], float] = {}
                pg_tile: dict[tuple[int, int, int], float] = {}
                for z, (dense, chosen) in picks.items():
                    tiles[(z, "densest")], tiles[(z, f"sample of {len(chosen)}")] = [dense], chosen
                    for key in [dense, *chosen]:
                        if key in http_cold:
                            continue
                        url = "/api/tiles/{}/{}/{}.mvt".format(*key)
                        params = dict(zip("zxy", key, strict=True))
                        http_cold[key] = plain_get(plain, url, signed)
                        served, ref = [], []
                        for _ in range(3):
                            served.append(plain_get(plain, url, signed))
                            ref.append(pg_timed(tile_sql, params)[0])
                        http_served[key], pg_tile[key] = min(served), min(ref)
                client.close()
                plain.close()
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        ws.close()

    same = klass == pg_klass
    hit = klass != CLEAR
    assert same.all(), f"{int((~same).sum())} of {n_points} points classed differently from PostGIS"
    worst = float(np.max(np.abs(dist[hit] - pg_dist[hit]))) if hit.any() else 0.0
    assert worst <= 1e-3, f"distances differ from PostGIS by up to {worst} m"

    counts = {name: int((klass == code).sum()) for name, code in (("inside", INSIDE), ("within", WITHIN),
                                                                  ("clear", CLEAR))}
    print(f"database: {Path(source).name} (copied in {copy_s:.0f} s); public polygons {len(index.hazards):,} "
          f"(EPSG:{index.crs}); first safety request (builds the server's index) {first_s:.1f} s; "
          f"PostGIS loads {load_s:.0f} s + {tile_load_s:.0f} s")
    print(f"points: {n_points:,} ({', '.join(f'{k} {v:,}' for k, v in counts.items())}); distance {DISTANCE:.0f} m; "
          f"all answers identical to PostGIS (classes; distances within {worst * 1000:.2f} mm)")
    print(f"\n| {'measure, over HTTP':<44} | {'SafeGround':>11} | {'PostGIS':>9} | {'ratio':>6} |")
    print(f"|{'-' * 46}|{'-' * 13}|{'-' * 11}|{'-' * 8}|")
    for q in (50, 99):
        ours, theirs = pct(single, q), pct(pg_single, q)
        label = f"safety check, one point, p{q} (ms)"
        print(f"| {label:<44} | {ours:>11.3f} | {theirs:>9.3f} | {ours / theirs:>6.2f} |")
    ours_ps, theirs_ps = n_points / batch_s, n_points / pg_batch_s
    print(f"| {f'batch, {BATCH:,} a request (points/s)':<44} | {ours_ps:>11,.0f} | {theirs_ps:>9,.0f} | "
          f"{theirs_ps / ours_ps:>6.2f} |")
    print(f"| {f'batch, {n_points:,} points (s)':<44} | {batch_s:>11.2f} | {pg_batch_s:>9.2f} | "
          f"{batch_s / pg_batch_s:>6.2f} |")
    for (z, label), keys in tiles.items():
        ref = statistics.median(pg_tile[k] for k in keys)
        for kind, measured in (("cold", http_cold), ("served", http_served)):
            ours = statistics.median(measured[k] for k in keys)
            print(f"| {f'tile z{z} {label}, {kind} (ms, median)':<44} | {ours * 1e3:>11.1f} | {ref * 1e3:>9.1f} | "
                  f"{ours / ref:>6.2f} |")
    print("ratio: SafeGround / PostGIS (time; below 1 SafeGround is faster; for points/s, PostGIS / SafeGround)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end (other work on the "
          "machine shows in the tail latencies of both sides)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?", default=os.environ.get("SAFEGROUND_NATIONAL", "national.gpkg"))
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=5_000)
    parser.add_argument("--sample", type=int, default=20)
    args = parser.parse_args()
    sys.exit(main(args.db, args.points, args.single, args.sample))
