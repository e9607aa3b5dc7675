"""Context-layer features (``services/risk_layers.py``) for a million grid cells, against shapely's exact distance.

    python benchmarks/bench_risk_layers.py [--cells 1000000] [--reference 20000]

Generates the national demo's context (``scenario``: 9 lines of contact, 40 roads, 24 rivers, bridges; no
database), a square grid of ``--cells`` cell centres over its region in UTM 18N, and times:

- ``line_distance`` (densified samples in a k-d tree, exact refinement on three segments) for the lines of
  contact, with the side; the roads; the rivers;
- the bridges' distance and count within 5 km (k-d tree);
- the reference, in the same run: shapely 2's ``STRtree.query_nearest`` with the exact distance to the same
  lines, on the first ``--reference`` cells (extrapolated per cell), and the largest difference from it.

Prints a table with seconds per million cells and the ratio reference / SafeGround (above 1: faster).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import shapely
from scipy.spatial import cKDTree

from safeground.scenario.generate import simulate
from safeground.scenario.params import params_for
from safeground.services.risk_layers import SPACING_M, line_distance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--reference", type=int, default=20_000)
    args = parser.parse_args()
    world = simulate(params_for("national"), 1)
    g = world.geo
    layers = {"line of contact": np.asarray(g.fronts), "roads": np.asarray(g.roads), "rivers": np.asarray(g.rivers)}
    x0, y0, x1, y1 = shapely.total_bounds(np.concatenate(list(layers.values())))
    side = int(np.sqrt(args.cells))
    xs, ys = np.meshgrid(np.linspace(x0, x1, side), np.linspace(y0, y1, side))
    cells = np.column_stack([xs.ravel(), ys.ravel()])
    print(f"{len(cells):,} cells over {(x1 - x0) / 1000:.0f} x {(y1 - y0) / 1000:.0f} km; lines sampled every "
          f"{SPACING_M:g} m")
    print(f"{'layer':<16} {'vertices':>9} {'SafeGround s':>13} {'reference s (extrap.)':>22} {'ratio':>7} "
          f"{'max error m':>12}")
    for name, lines in layers.items():
        start = time.perf_counter()
        d, _ = line_distance(lines, cells)
        ours = time.perf_counter() - start
        n = min(args.reference, len(cells))
        sample = cells[:: max(1, len(cells) // n)][:n]
        start = time.perf_counter()
        idx, exact = shapely.STRtree(lines).query_nearest(shapely.points(sample), return_distance=True,
                                                          all_matches=False)
        ref = (time.perf_counter() - start) * len(cells) / len(sample)
        mine = d[:: max(1, len(cells) // n)][:n][idx[0]]
        vertices = len(shapely.get_coordinates(lines))
        print(f"{name:<16} {vertices:>9,} {ours:>13.2f} {ref:>22.1f} {ref / ours:>7.1f} "
              f"{float(np.max(mine - exact)):>12.2f}")
    bridges = shapely.get_coordinates(np.asarray(g.bridges))
    start = time.perf_counter()
    tree = cKDTree(bridges)
    tree.query(cells, workers=-1)
    tree.query_ball_point(cells, 5000.0, return_length=True, workers=-1)
    print(f"{'bridges':<16} {len(bridges):>9,} {time.perf_counter() - start:>13.2f}   (distance and count within 5 km)")


if __name__ == "__main__":
    main()
