"""Hazard-area polygons: imprecise outlines of known minefields, and false hazards (rumours) with no minefield."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from safeground.scenario.geography import Geography
from safeground.scenario.mines import Minefields
from safeground.scenario.params import ScenarioParams
from safeground.scenario.shapes import near_lines, sample_in, transform_each


@dataclass
class HazardShapes:
    """Hazard polygons (projected CRS) and the minefield each outlines (-1 for a false hazard)."""

    polygon: np.ndarray
    minefield: np.ndarray

    def __len__(self) -> int:
        return len(self.polygon)

    @property
    def false(self) -> np.ndarray:
        return self.minefield < 0


def outline_hazards(rng: np.random.Generator, params: ScenarioParams, geo: Geography,
                    fields: Minefields) -> HazardShapes:
    """Outline ``hazard_fraction`` of the minefields as hazards and add ``false_hazard_ratio`` false ones, shuffled."""
    recorded = np.flatnonzero(rng.random(len(fields)) < params.hazard_fraction)
    k = len(recorded)
    margin = params.hazard_margin_m * np.exp(rng.normal(0.0, 0.5, k))
    grown = shapely.buffer(fields.polygon[recorded], margin, quad_segs=4)
    true_polys = transform_each(grown, scale_x=rng.uniform(0.9, 1.3, k), scale_y=rng.uniform(0.9, 1.3, k),
                                angle=rng.normal(0.0, 0.15, k), dx=rng.normal(0, params.hazard_jitter_m, k),
                                dy=rng.normal(0, params.hazard_jitter_m, k))
    f = round(params.false_hazard_ratio * k)
    where = rng.random(f)
    x = np.zeros(f)
    y = np.zeros(f)
    near_front = np.flatnonzero(where < 0.5)
    near_road = np.flatnonzero((where >= 0.5) & (where < 0.8))
    anywhere = np.flatnonzero(where >= 0.8)
    x[near_front], y[near_front] = near_lines(rng, geo.fronts, len(near_front), params.front_scale_m, geo.region)
    x[near_road], y[near_road] = near_lines(rng, geo.roads, len(near_road), 300.0, geo.region)
    x[anywhere], y[anywhere] = sample_in(rng, geo.region, len(anywhere))
    radius = 80.0 * np.exp(rng.normal(0.0, 0.5, f))
    blobs = shapely.buffer(shapely.points(x, y), radius, quad_segs=4)
    false_polys = transform_each(blobs, scale_x=rng.uniform(0.6, 1.4, f), scale_y=rng.uniform(0.6, 1.4, f),
                                 angle=rng.uniform(0, np.pi, f))
    polygon = np.concatenate([true_polys, false_polys])
    minefield = np.concatenate([recorded, np.full(f, -1)])
    order = rng.permutation(len(polygon))
    return HazardShapes(polygon[order], minefield[order])
