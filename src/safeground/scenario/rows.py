"""Generated records of one layer, column-oriented, ready for :func:`safeground.services.records.add_records`.

Column names are the declared field names of :mod:`safeground.domain.records`; nothing here
lists fields. Geometry is kept in the scenario's projected CRS until :meth:`Rows.to_wgs84`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from safeground.domain.records import record_type
from safeground.scenario.shapes import to_wgs84
from safeground.store.base import Batch

SOURCE = "SafeGround scenario generator"
STATES = ("approved", "published", "submitted")


def optional(present: np.ndarray, values: np.ndarray) -> np.ndarray:
    """An object column: ``values[i]`` where ``present[i]``, else ``None``."""
    out = np.full(len(present), None, dtype=object)
    out[present] = np.asarray(values, dtype=object)[present]
    return out


def choose(rng: np.random.Generator, table: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    """``n`` codes drawn from ``(code, weight)`` pairs (an object column)."""
    codes = np.array([c for c, _ in table], dtype=object)
    p = np.array([w for _, w in table])
    return codes[rng.choice(len(codes), n, p=p / p.sum())]


def group_rank(group: np.ndarray, key: np.ndarray | None = None) -> np.ndarray:
    """Rank (0, 1, ...) of each element within its ``group``, by ``key`` (default: position)."""
    key = np.arange(len(group)) if key is None else key
    order = np.lexsort((key, group))
    g = group[order]
    starts = np.flatnonzero(np.concatenate([[True], g[1:] != g[:-1]])) if len(g) else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.concatenate([starts, [len(g)]]))
    rank = np.empty(len(g), dtype=np.int64)
    rank[order] = np.arange(len(g)) - np.repeat(starts, counts)
    return rank


def review_states(rng: np.random.Generator, n: int, p_submitted: float, p_published: float) -> np.ndarray:
    """Review state per record: submitted, published or (the rest) approved."""
    u = rng.random(n)
    return np.where(u < p_submitted, "submitted",
                    np.where(u < p_submitted + p_published, "published", "approved")).astype(object)


@dataclass
class Rows:
    """Records of ``layer``: ``columns[name][i]``, ``geometry[i]`` and ``review_state[i]``."""

    layer: str
    columns: dict[str, np.ndarray]
    geometry: np.ndarray | None = None
    review_state: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    wgs84: bool = False

    def __post_init__(self) -> None:
        rt = record_type(self.layer)
        n = len(self)
        for name, values in self.columns.items():
            rt.field(name)
            if len(values) != n:
                raise ValueError(f"{self.layer}.{name} has {len(values)} values, not {n}")
        if len(self.review_state) != n:
            self.review_state = np.full(n, "approved", dtype=object)

    def __len__(self) -> int:
        if self.geometry is not None:
            return len(self.geometry)
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def to_wgs84(self, crs: int) -> None:
        """Reproject the geometry from ``crs`` to WGS84 (once)."""
        if self.geometry is not None and not self.wgs84:
            polygonal = record_type(self.layer).is_polygonal
            self.geometry = to_wgs84(self.geometry, crs, polygonal=polygonal)
        self.wgs84 = True

    def batches(self, chunk: int = 2_000_000) -> Iterator[tuple[int, Batch]]:
        """``(offset, batch)`` in chunks of at most ``chunk`` rows, each row with its ``review_state``.

        One batch per layer at every scale up to national, so the store loads an empty table in bulk."""
        for start in range(0, len(self), chunk):
            sel = slice(start, start + chunk)
            cols: dict[str, Sequence[Any]] = {k: v[sel].tolist() for k, v in self.columns.items()}
            cols["review_state"] = self.review_state[sel].tolist()
            geom = None if self.geometry is None else self.geometry[sel]
            yield start, Batch(cols, geom)

    def digest(self) -> str:
        """A SHA-256 of every value, geometry and review state, for reproducibility checks."""
        h = hashlib.sha256(self.layer.encode())
        for name in sorted(self.columns):
            h.update(name.encode())
            h.update("\x1f".join(map(str, self.columns[name].tolist())).encode())
        if self.geometry is not None:
            for wkb in shapely.to_wkb(self.geometry, output_dimension=2).tolist():
                h.update(b"\x00" if wkb is None else wkb)
        h.update("\x1f".join(map(str, self.review_state.tolist())).encode())
        return h.hexdigest()
