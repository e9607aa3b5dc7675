"""The ground truth: minefields and every mine in them, laid in rows and clusters.

Vectorised with index arrays: no loop runs per minefield or per mine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from safeground.domain.vocabularies import DEVICE_CATEGORY
from safeground.scenario import dates
from safeground.scenario.geography import Geography
from safeground.scenario.params import ScenarioParams
from safeground.scenario.shapes import near_lines, near_points, sample_in

CATEGORIES = np.array(DEVICE_CATEGORY.codes, dtype=object)
PATTERNS = np.array(["rows", "clusters", "nuisance", "scattered"], dtype=object)
PLACEMENTS = np.array(["front", "nuisance", "scattered"], dtype=object)
#: P(category) per pattern, in the order of :data:`CATEGORIES`
#: (ap_mine, improvised_mine, av_mine, unspecified_mine, cluster_submunition, other_erw).
CATEGORY_P = {
    "rows": (0.70, 0.15, 0.10, 0.05, 0.0, 0.0),
    "clusters": (0.25, 0.60, 0.0, 0.10, 0.0, 0.05),
    "nuisance": (0.10, 0.50, 0.40, 0.0, 0.0, 0.0),
    "scattered": (0.30, 0.45, 0.0, 0.05, 0.10, 0.10),
}
#: Burial depth range (cm) per category.
DEPTH_CM = {"ap_mine": (0, 10), "improvised_mine": (0, 15), "av_mine": (5, 25), "unspecified_mine": (0, 12),
            "cluster_submunition": (0, 10), "other_erw": (0, 30)}
POLYGON_BUFFER_M = 5.0


@dataclass
class Minefields:
    """Per-minefield truth (index = minefield id)."""

    x: np.ndarray
    y: np.ndarray
    placement: np.ndarray
    pattern: np.ndarray
    rows: np.ndarray
    main_category: np.ndarray
    laid_date: np.ndarray
    silent: np.ndarray
    polygon: np.ndarray
    n_mines: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Mines:
    """Per-mine truth, grouped by minefield (``minefield`` is sorted); ``category`` indexes :data:`CATEGORIES`."""

    x: np.ndarray
    y: np.ndarray
    minefield: np.ndarray
    category: np.ndarray
    depth_cm: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def category_codes(self) -> np.ndarray:
        return CATEGORIES[self.category]


def _rows(rng: np.random.Generator, idx: np.ndarray, n_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local (u, v) offsets of mines in 2-4 parallel rows; returns (minefield, u, v)."""
    k = len(idx)
    length = rng.uniform(20.0, 130.0, k)
    spacing = rng.uniform(1.0, 5.0, k)
    gap = rng.uniform(5.0, 20.0, k)
    per_row = np.floor(length / spacing).astype(np.int64) + 1
    counts = n_rows * per_row
    mf = np.repeat(idx, counts)
    local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    m = np.repeat(per_row, counts)
    row, j = local // m, local % m
    u = j * np.repeat(spacing, counts) - np.repeat(length, counts) / 2 + rng.normal(0, 0.3, len(mf))
    v = (row - (np.repeat(n_rows, counts) - 1) / 2) * np.repeat(gap, counts) + rng.normal(0, 0.5, len(mf))
    return mf, u, v


def _clusters(rng: np.random.Generator, idx: np.ndarray, pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                         np.ndarray]:
    """Local offsets of mines in groups around cluster centres; returns (minefield, u, v)."""
    k = len(idx)
    spec = {  # clusters (lo, hi), mines per cluster (lo, hi), spread radius (lo, hi) m, sigma m
        "clusters": ((2, 5), (2, 8), (15.0, 60.0), 3.0),
        "nuisance": ((1, 1), (1, 6), (0.0, 0.0), 4.0),
        "scattered": ((3, 20), (1, 1), (30.0, 120.0), 0.0),
    }
    n_cl = np.zeros(k, dtype=np.int64)
    radius = np.zeros(k)
    sigma = np.zeros(k)
    kmin = np.zeros(k, dtype=np.int64)
    kmax = np.zeros(k, dtype=np.int64)
    for name, (c, m, r, s) in spec.items():
        sel = pattern == name
        n_cl[sel] = rng.integers(c[0], c[1] + 1, sel.sum())
        radius[sel] = rng.uniform(r[0], r[1], sel.sum())
        sigma[sel] = s
        kmin[sel], kmax[sel] = m
    owner = np.repeat(np.arange(k), n_cl)
    rr = radius[owner] * np.sqrt(rng.random(len(owner)))
    aa = rng.uniform(0, 2 * np.pi, len(owner))
    per = rng.integers(kmin[owner], kmax[owner] + 1)
    mine_owner = np.repeat(owner, per)
    u = np.repeat(rr * np.cos(aa), per) + rng.normal(0, 1, len(mine_owner)) * sigma[mine_owner]
    v = np.repeat(rr * np.sin(aa), per) + rng.normal(0, 1, len(mine_owner)) * sigma[mine_owner]
    return idx[mine_owner], u, v


def lay_minefields(rng: np.random.Generator, params: ScenarioParams, geo: Geography) -> tuple[Minefields, Mines]:
    """Place minefields near the lines of contact, roads and bridges, and lay their mines."""
    n = params.minefields
    u = rng.random(n)
    placement = np.where(u < params.share_front, 0, np.where(u < params.share_front + params.share_nuisance, 1, 2))
    x = np.zeros(n)
    y = np.zeros(n)
    front = np.flatnonzero(placement == 0)
    x[front], y[front] = near_lines(rng, geo.fronts, len(front), params.front_scale_m, geo.region)
    nuis = np.flatnonzero(placement == 1)
    at_bridge = nuis[rng.random(len(nuis)) < 0.4] if len(geo.bridges) else nuis[:0]
    at_road = np.setdiff1d(nuis, at_bridge)
    x[at_bridge], y[at_bridge] = near_points(rng, shapely.get_x(geo.bridges), shapely.get_y(geo.bridges),
                                             len(at_bridge), params.nuisance_scale_m, geo.region)
    x[at_road], y[at_road] = near_lines(rng, geo.roads, len(at_road), params.nuisance_scale_m, geo.region)
    scat = np.flatnonzero(placement == 2)
    x[scat], y[scat] = sample_in(rng, geo.region, len(scat))

    pattern = np.where(placement == 1, "nuisance", np.where(placement == 2, "scattered",
                       np.where(rng.random(n) < 0.55, "rows", "clusters"))).astype(object)
    angle = rng.uniform(0, np.pi, n)
    lo = np.where(placement == 0, dates.day("1995-01-01"), dates.day("1998-01-01"))
    hi = np.where(placement == 1, dates.day("2016-06-30"), dates.day("2012-12-31"))
    laid = dates.between(rng, lo, hi, n)
    silent = rng.random(n) < params.silent_fraction
    n_rows = np.zeros(n, dtype=np.int64)
    rows_idx = np.flatnonzero(pattern == "rows")
    n_rows[rows_idx] = rng.integers(2, 5, len(rows_idx))

    mf_r, u_r, v_r = _rows(rng, rows_idx, n_rows[rows_idx])
    cl_idx = np.flatnonzero(pattern != "rows")
    mf_c, u_c, v_c = _clusters(rng, cl_idx, pattern[cl_idx])
    mf = np.concatenate([mf_r, mf_c])
    order = np.argsort(mf, kind="stable")
    mf = mf[order]
    uu, vv = np.concatenate([u_r, u_c])[order], np.concatenate([v_r, v_c])[order]
    cos, sin = np.cos(angle[mf]), np.sin(angle[mf])
    mx = x[mf] + uu * cos - vv * sin
    my = y[mf] + uu * sin + vv * cos

    m = len(mf)
    main_code = np.zeros(n, dtype=np.int8)
    for name, p in CATEGORY_P.items():
        sel = pattern == name
        main_code[sel] = rng.choice(len(CATEGORIES), sel.sum(), p=p)
    category = main_code[mf]
    other = np.flatnonzero(rng.random(m) >= 0.85)
    for name, p in CATEGORY_P.items():
        sel = other[pattern[mf[other]] == name]
        category[sel] = rng.choice(len(CATEGORIES), len(sel), p=p)
    dlo = np.array([DEPTH_CM[c][0] for c in CATEGORIES], dtype=float)
    dhi = np.array([DEPTH_CM[c][1] for c in CATEGORIES], dtype=float)
    depth = dlo[category] + rng.random(m) * (dhi - dlo)[category]
    mines = Mines(mx, my, mf.astype(np.int64), category, np.round(depth, 1))
    # True polygon: the mines' rectangle in the minefield's own frame, widened by POLYGON_BUFFER_M.
    starts = np.concatenate([[0], np.cumsum(np.bincount(mf, minlength=n))[:-1]])
    umin, umax = np.minimum.reduceat(uu, starts), np.maximum.reduceat(uu, starts)
    vmin, vmax = np.minimum.reduceat(vv, starts), np.maximum.reduceat(vv, starts)
    b = POLYGON_BUFFER_M
    cu = np.stack([umin - b, umax + b, umax + b, umin - b, umin - b], axis=1)
    cv = np.stack([vmin - b, vmin - b, vmax + b, vmax + b, vmin - b], axis=1)
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    ring = np.stack([x[:, None] + cu * c - cv * s, y[:, None] + cu * s + cv * c], axis=2)
    polygon = shapely.polygons(ring)
    fields = Minefields(x=x, y=y, placement=PLACEMENTS[placement], pattern=pattern, rows=n_rows,
                        main_category=CATEGORIES[main_code],
                        laid_date=laid, silent=silent, polygon=polygon, n_mines=np.bincount(mf, minlength=n))
    return fields, mines
