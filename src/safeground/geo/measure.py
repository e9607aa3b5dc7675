"""Areas and lengths in metres, each geometry measured in its own UTM zone.

>>> import shapely
>>> sq = shapely.box(-74.0, 4.0, -73.99, 4.01)          # about 1.1 km x 1.1 km
>>> round(float(areas_m2(np.array([sq]))[0]) / 1e6, 2)
1.23
"""

from __future__ import annotations

import numpy as np
import shapely

from safeground.geo.crs import WGS84, reproject, utm_epsg_array


def _by_zone(geoms: np.ndarray, fn: object) -> np.ndarray:
    out = np.zeros(len(geoms), dtype=float)
    if len(geoms) == 0:
        return out
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if not present.any():
        return out
    centroids = shapely.centroid(geoms[present])
    zones = utm_epsg_array(shapely.get_x(centroids), shapely.get_y(centroids))
    idx = np.flatnonzero(present)
    for zone in np.unique(zones):
        sel = idx[zones == zone]
        out[sel] = fn(reproject(geoms[sel], WGS84, int(zone)))  # type: ignore[operator]
    return out


def areas_m2(geoms: np.ndarray) -> np.ndarray:
    """Area of each WGS84 geometry in m², computed in the UTM zone of its centroid."""
    return _by_zone(np.asarray(geoms, dtype=object), shapely.area)


def lengths_m(geoms: np.ndarray) -> np.ndarray:
    """Length (perimeter for polygons) of each WGS84 geometry in metres, in its UTM zone."""
    return _by_zone(np.asarray(geoms, dtype=object), shapely.length)


def area_m2(geom: shapely.Geometry) -> float:
    """Area of one WGS84 geometry in m²."""
    return float(areas_m2(np.array([geom], dtype=object))[0])


def remaining_area(hazard: shapely.Geometry, released: list[shapely.Geometry]) -> shapely.Geometry:
    """The hazard polygon minus the union of the released polygons.

    >>> h = shapely.box(0, 0, 2, 1)
    >>> remaining_area(h, [shapely.box(0, 0, 1, 1)]).area
    1.0
    """
    if not released:
        return hazard
    return shapely.difference(hazard, shapely.union_all(released))
