"""Vectorised geometry helpers for the generator, all in a projected CRS (metres).

>>> import numpy as np
>>> sq = np.array([shapely.box(0, 0, 2, 2)])
>>> moved = transform_each(sq, dx=np.array([10.0]), dy=np.array([0.0]))
>>> moved[0].bounds
(10.0, 0.0, 12.0, 2.0)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely

from safeground.geo.crs import WGS84, reproject


def _rejection(region: shapely.Geometry, n: int,
               propose: Callable[[int], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points from ``propose(m)`` (m candidates at a time) that fall inside ``region``."""
    if n <= 0:
        return np.zeros(0), np.zeros(0)
    shapely.prepare(region)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    got = 0
    while got < n:
        x, y = propose(max(2 * (n - got), 16))
        keep = shapely.contains_xy(region, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        got += int(keep.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def sample_in(rng: np.random.Generator, region: shapely.Geometry, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform inside ``region`` (rejection sampling in its bounding box)."""
    minx, miny, maxx, maxy = region.bounds
    return _rejection(region, n, lambda m: (rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)))


def near_points(rng: np.random.Generator, px: np.ndarray, py: np.ndarray, n: int, scale_m: float,
                region: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points at an exponential distance (mean ``scale_m``) from random anchor points, inside ``region``."""

    def propose(m: int) -> tuple[np.ndarray, np.ndarray]:
        k = rng.integers(0, len(px), m)
        dist = rng.exponential(scale_m, m)
        ang = rng.uniform(0, 2 * np.pi, m)
        return px[k] + dist * np.cos(ang), py[k] + dist * np.sin(ang)

    return _rejection(region, n, propose)


def segments(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end coordinates ``(k, 2)`` of every segment of ``lines`` (LineStrings or MultiLineStrings)."""
    coords, owner = shapely.get_coordinates(shapely.get_parts(lines), return_index=True)
    same = owner[1:] == owner[:-1]
    return coords[:-1][same], coords[1:][same]


def near_lines(rng: np.random.Generator, lines: np.ndarray, n: int, scale_m: float,
               region: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points at an exponential distance (mean ``scale_m``) from ``lines``, uniform along their length."""
    if n <= 0:
        return np.zeros(0), np.zeros(0)
    a, b = segments(lines)
    seg_len = np.hypot(*(b - a).T)
    cum = np.cumsum(seg_len)
    shapely.prepare(region)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    got = 0
    while got < n:
        m = max(2 * (n - got), 16)
        k = np.minimum(np.searchsorted(cum, rng.random(m) * cum[-1], side="right"), len(cum) - 1)
        t = rng.random(m)[:, None]
        at = a[k] + t * (b[k] - a[k])
        dist = rng.exponential(scale_m, m)
        ang = rng.uniform(0, 2 * np.pi, m)
        x = at[:, 0] + dist * np.cos(ang)
        y = at[:, 1] + dist * np.sin(ang)
        keep = shapely.contains_xy(region, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        got += int(keep.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def in_disc(rng: np.random.Generator, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets uniform in discs of the given radii."""
    r = radius * np.sqrt(rng.random(len(radius)))
    a = rng.uniform(0, 2 * np.pi, len(radius))
    return r * np.cos(a), r * np.sin(a)


def transform_each(geoms: np.ndarray, *, scale_x: np.ndarray | float = 1.0, scale_y: np.ndarray | float = 1.0,
                   angle: np.ndarray | float = 0.0, dx: np.ndarray | float = 0.0,
                   dy: np.ndarray | float = 0.0) -> np.ndarray:
    """Scale, rotate (radians) about each geometry's centroid, then shift, with per-geometry parameters."""
    n = len(geoms)
    sx, sy, a, ox, oy = (np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in (scale_x, scale_y, angle, dx, dy))
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    centre = shapely.centroid(geoms)
    cx, cy = shapely.get_x(centre)[idx], shapely.get_y(centre)[idx]
    u = (coords[:, 0] - cx) * sx[idx]
    v = (coords[:, 1] - cy) * sy[idx]
    cos, sin = np.cos(a)[idx], np.sin(a)[idx]
    new = np.column_stack([cx + u * cos - v * sin + ox[idx], cy + u * sin + v * cos + oy[idx]])
    return shapely.set_coordinates(geoms.copy(), new)


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of each geometry; empty results become ``None``."""
    geoms = np.asarray(geoms, dtype=object).copy()
    present = ~shapely.is_missing(geoms)
    types = np.full(len(geoms), -1)
    types[present] = shapely.get_type_id(geoms[present])
    mixed = np.flatnonzero(types == 7)
    if len(mixed):
        parts, owner = shapely.get_parts(geoms[mixed], return_index=True)
        polys, sub = shapely.get_parts(parts, return_index=True)
        keep = shapely.get_type_id(polys) == 3
        fixed = np.full(len(mixed), None, dtype=object)
        if keep.any():
            fixed = shapely.multipolygons(polys[keep], indices=owner[sub][keep], out=fixed)
        geoms[mixed] = fixed
    other = (types >= 0) & ~np.isin(types, (3, 6, 7))
    geoms[other] = None
    present = ~shapely.is_missing(geoms)
    empty = np.zeros(len(geoms), dtype=bool)
    empty[present] = shapely.is_empty(geoms[present])
    geoms[empty] = None
    return geoms


def to_wgs84(geoms: np.ndarray, crs: int, *, polygonal: bool = False) -> np.ndarray:
    """Reproject to WGS84; polygons that reprojection made invalid are repaired and kept polygonal."""
    out = reproject(np.asarray(geoms, dtype=object), crs, WGS84)
    if polygonal:
        present = np.flatnonzero(~shapely.is_missing(out))
        bad = present[~shapely.is_valid(out[present])]
        if len(bad):
            out = out.copy()
            out[bad] = _polygonal(shapely.make_valid(out[bad]))
    return out


_polygonal = polygonal


def walk_line(rng: np.random.Generator, start: tuple[float, float], end: tuple[float, float], step_m: float,
              wiggle_m: float, smooth: int = 5) -> shapely.LineString:
    """A smooth random line from ``start`` to ``end``: a Brownian bridge across the straight line."""
    a, b = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    length = float(np.hypot(*(b - a)))
    n = max(int(length / step_m), 4)
    t = np.linspace(0.0, 1.0, n + 1)
    w = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, 1.0, n))])
    bridge = w - t * w[-1]
    kernel = np.ones(smooth) / smooth
    bridge = np.convolve(np.pad(bridge, smooth, mode="edge"), kernel, mode="same")[smooth:-smooth]
    bridge *= wiggle_m / (bridge.std() + 1e-9)
    perp = np.array([-(b - a)[1], (b - a)[0]]) / length
    pts = a + t[:, None] * (b - a) + bridge[:, None] * perp
    return shapely.LineString(pts)
