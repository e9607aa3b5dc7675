"""Risk surface at scale: features plus ``risk`` for N cells (default 10,000,000) with a fixed model size.

    python benchmarks/bench_risk.py [--cells 10000000] [--trees 300] [--leaves 31] [--events FILE]

Builds a scratch database with Colombia's register (``data/colombia_aicma``, through the ``colombia_aicma``
import mapping), a grid over Colombia's outline with the cell size that gives about N cells, and a model of
fixed size (``--trees`` trees of ``--leaves`` leaves, fitted on a 200,000-cell sample: its fit is not timed).
Then it times, on the same N cells:

- ``cells``: the grid (ids, projected centres, WGS84 corner rings);
- ``features``: the evidence features as of 2009-12-31;
- ``risk``: the model's calibrated risk (LightGBM predict plus Platt);
- the reference, in the same run: **bare LightGBM** ``Booster.predict`` on the same feature matrix, same threads;
- ``reasons``: each cell's top three reasons in words (SHAP contributions);
- ``writes``: the run and its N ``risk_cell`` rows (polygon, risk, reasons) in the GeoPackage.

It prints a table and the ratio (features + risk) / bare predict. Targets: features plus risk under 3 minutes,
at most 3 times the bare predict.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

from safeground.domain.config import Config
from safeground.services.mapped_import import import_csv
from safeground.services.risk_features import evidence_features
from safeground.services.risk_grid import national_grid
from safeground.services.risk_labels import event_labels
from safeground.services.risk_model import ModelSettings, RiskModel, _train
from safeground.services.risk_reasons import reason_lists, signatures
from safeground.services.workspace import Workspace

REGISTER = Path(__file__).resolve().parents[1] / "data" / "colombia_aicma" / "events_1990_2014.csv"
COLOMBIA_KM2 = 1_141_000  # Natural Earth outline, about


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cells", type=int, default=10_000_000)
    ap.add_argument("--trees", type=int, default=300)
    ap.add_argument("--leaves", type=int, default=31)
    ap.add_argument("--events", type=Path, default=REGISTER)
    ap.add_argument("--skip-writes", action="store_true", help="Leave out the risk_cell writes.")
    ap.add_argument("--reasons-cells", type=int, default=0,
                    help="Time the reasons on the first N cells only (0: all); the table says so.")
    ap.add_argument("--fit-sample", type=int, default=50_000, help="Cells the fixed-size model is fitted on.")
    args = ap.parse_args()
    threads = os.cpu_count() or 1
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Path(tmp) / "bench.gpkg", user="bench", create=True)
        ws.set_config(Config(country="COL"))
        t = time.perf_counter()
        import_csv(ws, args.events, "colombia_aicma")
        print(f"register imported in {time.perf_counter() - t:.1f} s", file=sys.stderr)

        size = math.sqrt(COLOMBIA_KM2 * 1e6 / args.cells)
        t = time.perf_counter()
        grid, _ = national_grid(ws, size)
        ids, xy, rings = grid.ids(), grid.xy(), grid.rings_wgs84()
        times["cells"] = time.perf_counter() - t
        n = len(grid)
        print(f"{n:,} cells of {size:.0f} m", file=sys.stderr)

        t = time.perf_counter()
        feats = evidence_features(ws, None, dt.date(2009, 12, 31), crs=grid.crs, xy=xy)
        times["features"] = time.perf_counter() - t
        print(f"cells {times['cells']:.1f} s, features {times['features']:.1f} s", file=sys.stderr)
        x = feats.values

        # A model of fixed size, fitted on a sample: cells with a 2010-2014 record positive (not timed).
        rng = np.random.default_rng(1)
        sample = rng.choice(n, size=min(n, args.fit_sample), replace=False)
        y, _ = event_labels(ws, shapely.polygons(rings[sample]), dt.date(2009, 12, 31), dt.date(2014, 12, 31))
        settings = ModelSettings(trees=args.trees, threads=threads)
        booster = _train(x[sample], np.nan_to_num(y), feats.names, settings, (args.leaves, 20), None)
        model = RiskModel(booster, feats.names, [False] * len(feats.names), (1.0, 0.0))

        print(f"model fitted ({len(sample):,} cells)", file=sys.stderr)
        t = time.perf_counter()
        risk = model.risk(x)
        times["risk"] = time.perf_counter() - t
        t = time.perf_counter()
        bare = booster.predict(x, num_threads=threads)
        times["bare LightGBM predict"] = time.perf_counter() - t
        assert np.allclose(risk, bare)  # the same scores: Platt (1, 0) is the identity on probabilities

        print(f"risk {times['risk']:.1f} s, bare predict {times['bare LightGBM predict']:.1f} s", file=sys.stderr)
        part = slice(0, args.reasons_cells or n)
        reps, _ = signatures(booster, x[part])
        t = time.perf_counter()
        reasons = reason_lists(model, x[part], {k: v[part] for k, v in feats.years.items()})
        label = "reasons" if part.stop >= n else f"reasons (first {part.stop:,} cells)"
        times[label] = time.perf_counter() - t
        times["reasons"] = times[label]
        print(f"{len(reps):,} distinct split signatures among {min(part.stop, n):,} cells", file=sys.stderr)
        print(f"reasons {times['reasons']:.1f} s", file=sys.stderr)
        if not args.skip_writes:
            t = time.perf_counter()
            if len(reasons) < n:  # the writes store every cell: the timed reasons, repeated
                reasons = np.resize(reasons, n)
            ws.store.write_risk_run({"kind": "surface", "as_of": "2009-12-31", "cells_source": "grid"},
                                    {"cell_id": ids, "rings": rings, "risk": risk, "reasons": reasons},
                                    user="bench")  # type: ignore[dict-item]
            times["writes"] = time.perf_counter() - t
        ws.close()

    product = times["features"] + times["risk"]
    print(f"\n{n:,} cells, {len(feats.names)} features, {args.trees} trees x {args.leaves} leaves, "
          f"{threads} threads")
    print(f"{'stage':<32}{'seconds':>10}")
    for stage, s in times.items():
        if stage == "reasons" and any(k.startswith("reasons (") for k in times):
            continue  # printed under its own label
        print(f"{stage:<32}{s:>10.1f}")
    print(f"{'features + risk':<32}{product:>10.1f}")
    print(f"ratio (features + risk) / bare predict: {product / times['bare LightGBM predict']:.2f} "
          f"(target <= 3); features + risk {'under' if product < 180 else 'OVER'} 3 minutes")


if __name__ == "__main__":
    main()
