"""Risk surface at scale: features plus ``risk`` for N cells (default 10,000,000) with a fixed model size.

    python benchmarks/bench_risk.py [--cells 10000000] [--trees 300] [--leaves 31] [--events FILE]

Builds a scratch database with Colombia's register (``data/colombia_aicma``, through the ``colombia_aicma``
import mapping), a grid over Colombia's outline with the cell size that gives about N cells, and a model of
fixed size (``--trees`` trees of ``--leaves`` leaves, fitted on a 50,000-cell sample: its fit is not timed).
Then it times, on the same N cells:

- ``grid``: the cells (columns and rows of the squares inside the outline) and their projected centres, what
  the features need; ids and WGS84 rings are made at write time and timed there;
- ``features``: the evidence features as of 2009-12-31;
- ``risk``: the model's calibrated risk as the product computes it (``risk_reasons.signature_risk``: the cells'
  split signatures, the booster once per signature, Platt);
- the reference, in the same run: **bare LightGBM** ``Booster.predict`` on the same feature matrix, every row,
  same threads;
- ``reasons``: each cell's top three reasons in words (exact TreeSHAP, tree by tree over distinct split patterns,
  sharing the risk's signatures);
- ``writes``: the cells' ids and WGS84 rings, then the run and its N ``risk_cell`` rows (polygon, risk, reasons)
  in the GeoPackage.

It prints one table row (wall seconds; CPU seconds of the process beside them, since the machine may be shared)
and the ratio (features + risk) / bare predict. Targets: features plus risk under 3 minutes, at most 3 times the
bare predict. Peak memory: run it under ``/usr/bin/time -v``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from safeground.domain.config import Config
from safeground.services.mapped_import import import_csv
from safeground.services.risk_features import evidence_features
from safeground.services.risk_grid import Grid, national_grid
from safeground.services.risk_labels import event_labels
from safeground.services.risk_model import ModelSettings, RiskModel, _train
from safeground.services.risk_reasons import reason_lists, signature_risk, signatures
from safeground.services.workspace import Workspace

REGISTER = Path(__file__).resolve().parents[1] / "data" / "colombia_aicma" / "events_1990_2014.csv"
COLOMBIA_KM2 = 1_141_000  # Natural Earth outline, about
T = TypeVar("T")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cells", type=int, default=10_000_000)
    ap.add_argument("--trees", type=int, default=300)
    ap.add_argument("--leaves", type=int, default=31)
    ap.add_argument("--events", type=Path, default=REGISTER)
    ap.add_argument("--skip-writes", action="store_true", help="Leave out the risk_cell writes.")
    ap.add_argument("--fit-sample", type=int, default=50_000, help="Cells the fixed-size model is fitted on.")
    args = ap.parse_args()
    threads = os.cpu_count() or 1
    times: dict[str, tuple[float, float]] = {}  # stage -> (wall s, CPU s)

    def timed(stage: str, work: Callable[[], T]) -> T:
        wall, cpu = time.perf_counter(), time.process_time()
        out = work()
        times[stage] = (time.perf_counter() - wall, time.process_time() - cpu)
        print(f"{stage}: {times[stage][0]:.1f} s", file=sys.stderr)
        return out

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Path(tmp) / "bench.gpkg", user="bench", create=True)
        ws.set_config(Config(country="COL"))
        t = time.perf_counter()
        import_csv(ws, args.events, "colombia_aicma")
        print(f"register imported in {time.perf_counter() - t:.1f} s", file=sys.stderr)

        size = math.sqrt(COLOMBIA_KM2 * 1e6 / args.cells)
        grid, xy = timed("grid", lambda: _grid(ws, size))
        n = len(grid)
        print(f"{n:,} cells of {size:.0f} m", file=sys.stderr)
        feats = timed("features", lambda: evidence_features(ws, None, dt.date(2009, 12, 31), crs=grid.crs, xy=xy))
        x = feats.values

        # A model of fixed size, fitted on a sample: cells with a 2010-2014 record positive (not timed).
        rng = np.random.default_rng(1)
        sample = np.sort(rng.choice(n, size=min(n, args.fit_sample), replace=False))
        part = Grid(grid.crs, grid.size, grid.col[sample], grid.row[sample])
        y, _ = event_labels(ws, part.polygons_wgs84(), dt.date(2009, 12, 31), dt.date(2014, 12, 31))
        settings = ModelSettings(trees=args.trees, threads=threads)
        booster = _train(x[sample], np.nan_to_num(y), feats.names, settings, (args.leaves, 20), None)
        model = RiskModel(booster, feats.names, [False] * len(feats.names), (1.0, 0.0))
        print(f"model fitted ({len(sample):,} cells)", file=sys.stderr)

        def product_risk() -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
            signature = signatures(booster, x)
            return signature_risk(model, x, signature), signature

        risk, signature = timed("risk", product_risk)
        bare = timed("bare predict", lambda: booster.predict(x, num_threads=threads))
        assert np.allclose(risk, bare, rtol=0, atol=1e-12)  # the same scores: Platt (1, 0) is the identity
        print(f"{len(signature[0]):,} distinct split signatures among {n:,} cells", file=sys.stderr)
        reasons = timed("reasons", lambda: reason_lists(model, x, feats.years, signature=signature))
        if not args.skip_writes:
            def write() -> None:
                cells = {"cell_id": grid.ids(), "rings": grid.rings_wgs84(), "risk": risk, "reasons": reasons}
                ws.store.write_risk_run({"kind": "surface", "as_of": "2009-12-31", "cells_source": "grid"},
                                        cells, user="bench")  # type: ignore[arg-type]

            timed("writes", write)
        ws.close()

    product = times["features"][0] + times["risk"][0]
    ratio = product / times["bare predict"][0]
    stages = ["grid", "features", "risk", "bare predict", "reasons", "writes"]
    print(f"\n{n:,} cells of {size:.0f} m, {len(model.names)} features, {args.trees} trees x {args.leaves} leaves, "
          f"{threads} threads, load average {os.getloadavg()[0]:.1f}")
    print("| cells | " + " | ".join(f"{s} s" for s in stages) + " | ratio (features + risk) / bare |")
    print("|---" * (len(stages) + 2) + "|")
    cols = [f"{times[s][0]:.1f} (CPU {times[s][1]:.1f})" if s in times else "-" for s in stages]
    print(f"| {n:,} | " + " | ".join(cols) + f" | {ratio:.2f} |")
    print(f"features + risk {product:.1f} s: {'under' if product < 180 else 'OVER'} 3 minutes; ratio "
          f"{ratio:.2f} {'<=' if ratio <= 3 else '>'} 3")


def _grid(ws: Workspace, size: float) -> tuple[Grid, np.ndarray]:
    grid, _ = national_grid(ws, size)
    return grid, grid.xy()

if __name__ == "__main__":
    main()
