"""Minefield records handed over by the parties that laid them: imprecise, incomplete, graded a-d.

Each record has a latent quality q ~ U(0, 1) and error factor f = 0.3 + 1.7 q: its perimeter is
the true polygon rotated by N(0, f * ``record_rotation_deg``) and shifted by N(0, f *
``record_offset_m``); its mine count is off by exp(N(0, f * ``record_count_error``)). The grade
is a, b, c or d by the quartile of q + N(0, 0.1), so worse grades mean larger errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from safeground.scenario import dates, names
from safeground.scenario.identifiers import uuids
from safeground.scenario.mines import CATEGORIES, Minefields, Mines
from safeground.scenario.params import ScenarioParams
from safeground.scenario.shapes import transform_each


@dataclass
class MinefieldRecords:
    """Records (projected CRS) and the minefield each describes; ``shift_m`` is the true perimeter offset."""

    uuid: np.ndarray
    minefield: np.ndarray
    polygon: np.ndarray
    mine_count: np.ndarray
    reliability: np.ndarray
    laid_by: np.ndarray
    laid_date: np.ndarray
    date_precision: np.ndarray
    pattern: np.ndarray
    rows: np.ndarray
    mine_types: np.ndarray
    shift_m: np.ndarray
    name: np.ndarray


def hand_over(rng: np.random.Generator, params: ScenarioParams, fields: Minefields, mines: Mines) -> MinefieldRecords:
    """Records for ``record_fraction`` of the minefields, with errors that grow as the grade worsens."""
    idx = np.flatnonzero(rng.random(len(fields)) < params.record_fraction)
    k = len(idx)
    q = rng.random(k)
    f = 0.3 + 1.7 * q
    dx = rng.normal(0, 1, k) * f * params.record_offset_m
    dy = rng.normal(0, 1, k) * f * params.record_offset_m
    rot = np.radians(rng.normal(0, 1, k) * f * params.record_rotation_deg)
    polygon = transform_each(fields.polygon[idx], angle=rot, dx=dx, dy=dy)
    count = np.maximum(np.round(fields.n_mines[idx] * np.exp(rng.normal(0, 1, k) * f * params.record_count_error)), 1)
    grade = np.array(["a", "b", "c", "d"], dtype=object)[np.clip(((q + rng.normal(0, 0.1, k)) * 4).astype(int), 0, 3)]
    grade[rng.random(k) < 0.05] = "unknown"
    precision = dates.precisions(rng, k, p_month=0.4, p_year=0.3)
    laid = dates.coarsen(fields.laid_date[idx], precision)
    pattern = np.where(rng.random(k) < 0.9, fields.pattern[idx], "unknown").astype(object)
    rows = np.where(pattern == "rows", fields.rows[idx] + (rng.random(k) < 0.15), np.nan)
    # Mine types present, as recorded: the categories of the minefield's mines.
    present = np.zeros((len(fields), len(CATEGORIES)), dtype=bool)
    present[mines.minefield, mines.category] = True
    types = np.array([" ".join(CATEGORIES[present[i]]) for i in idx], dtype=object)
    units = names.unique_words(rng, max(k // 20, 3))
    laid_by = np.array([f"Unit {u}" for u in units], dtype=object)[rng.integers(0, len(units), k)]
    return MinefieldRecords(uuid=uuids(rng, k), minefield=idx, polygon=polygon, mine_count=count.astype(float),
                            reliability=grade, laid_by=laid_by, laid_date=laid, date_precision=precision,
                            pattern=pattern, rows=rows, mine_types=types, shift_m=np.hypot(dx, dy),
                            name=np.array([f"Minefield {i + 1:05d}" for i in range(k)], dtype=object))


def reference_points(polygon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A reference point per record: its perimeter's first vertex."""
    ring = shapely.get_exterior_ring(polygon)
    first = shapely.get_point(ring, 0)
    return shapely.get_x(first), shapely.get_y(first)
