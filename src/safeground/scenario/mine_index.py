"""Spatial look-ups on millions of mines without a shapely object per mine.

The minefield polygons (one per minefield, each holding all its mines) narrow every search in an
R-tree; numpy finishes it on the mines' coordinates.
"""

from __future__ import annotations

import numpy as np
import shapely

from safeground.scenario.mines import Minefields, Mines

CHUNK = 20_000


class MineIndex:
    """Which mines lie inside polygons, and which mine is nearest to points."""

    def __init__(self, fields: Minefields, mines: Mines) -> None:
        self.fields = fields
        self.mines = mines
        self.count = np.bincount(mines.minefield, minlength=len(fields))
        self.start = np.concatenate([[0], np.cumsum(self.count)[:-1]])
        self.tree = shapely.STRtree(fields.polygon)

    def _expand(self, src: np.ndarray, field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (src, field) -> pairs (src, mine) for every mine of the field."""
        c = self.count[field]
        total = int(c.sum())
        offset = np.arange(total) - np.repeat(np.cumsum(c) - c, c)
        return np.repeat(src, c), np.repeat(self.start[field], c) + offset

    def inside(self, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``(polygon index, mine index)`` of the mines inside each polygon (``None`` contains nothing)."""
        polys = np.asarray(polygons, dtype=object)
        out_p: list[np.ndarray] = []
        out_m: list[np.ndarray] = []
        for lo in range(0, len(polys), CHUNK):
            part = polys[lo:lo + CHUNK]
            p, f = self.tree.query(part, predicate="intersects")
            p, m = self._expand(p, f)
            ok = shapely.contains_xy(part[p], self.mines.x[m], self.mines.y[m])
            out_p.append(p[ok] + lo)
            out_m.append(m[ok])
        if not out_p:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(out_p), np.concatenate(out_m)

    def nearest(self, x: np.ndarray, y: np.ndarray, fields: np.ndarray | None = None,
                slack_m: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
        """The nearest mine to each point and its distance, among the mines of ``fields`` (a boolean mask).

        Searches the fields whose polygon lies within ``slack_m`` of the nearest one. Returns
        ``(mine index, metres)``; -1 and ``inf`` where no field qualifies.
        """
        n = len(x)
        best = np.full(n, -1)
        dist = np.full(n, np.inf)
        keep = np.arange(len(self.fields)) if fields is None else np.flatnonzero(fields)
        if not len(keep) or not n:
            return best, dist
        tree = shapely.STRtree(self.fields.polygon[keep])
        for lo in range(0, n, CHUNK):
            xs, ys = x[lo:lo + CHUNK], y[lo:lo + CHUNK]
            pts = shapely.points(xs, ys)
            (_q, _hit), d1 = tree.query_nearest(pts, all_matches=False, return_distance=True)
            s, f = tree.query(pts, predicate="dwithin", distance=d1 + slack_m)
            s, m = self._expand(s, keep[f])
            if not len(s):
                continue
            if (np.diff(s) < 0).any():
                order = np.argsort(s, kind="stable")
                s, m = s[order], m[order]
            d = np.hypot(self.mines.x[m] - xs[s], self.mines.y[m] - ys[s])
            starts = np.flatnonzero(np.concatenate([[True], s[1:] != s[:-1]]))
            low = np.minimum.reduceat(d, starts)
            hits = np.flatnonzero(d == np.repeat(low, np.diff(np.append(starts, len(s)))))
            first = hits[np.searchsorted(hits, starts)]
            best[lo + s[first]] = m[first]
            dist[lo + s[first]] = d[first]
        return best, dist
