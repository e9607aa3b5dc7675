"""Is a location where it should be? Detects swapped latitude/longitude against the national outline.

>>> outline = shapely.box(-79.0, -4.2, -66.9, 12.5)      # Colombia's bounding box, roughly
>>> check_placement(np.array([shapely.Point(-74.1, 4.6)]), outline)
>>> check_placement(np.array([shapely.Point(4.6, -74.1)]), outline)
Traceback (most recent call last):
...
safeground.domain.errors.GeometryError: Feature 0: latitude and longitude look swapped: (4.6, -74.1) lies outside the national outline, (-74.1, 4.6) inside it.
"""  # noqa: E501

from __future__ import annotations

import numpy as np
import shapely

from safeground.domain.errors import GeometryError


def check_placement(geoms: np.ndarray, outline: shapely.Geometry | None, *, offset: int = 0,
                    tolerance_deg: float = 0.5) -> None:
    """Refuse geometries whose coordinates are out of range, or whose lat/lon are swapped.

    A geometry counts as swapped when its centroid falls outside the outline
    (buffered by ``tolerance_deg``) while the swapped point falls inside. Points merely outside
    the country are left to the data-quality checks, since borders are fuzzy.
    """
    geoms = np.asarray(geoms, dtype=object)
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    idx = np.flatnonzero(ok)
    if not len(idx):
        return
    # The centroid (cheap) stands for the geometry: good enough to tell a country from its mirror image.
    pts = shapely.centroid(geoms[idx])
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    bounds = shapely.bounds(geoms[idx])
    out_of_range = (np.abs(bounds[:, [1, 3]]) > 90).any(axis=1) | (np.abs(bounds[:, [0, 2]]) > 180).any(axis=1)
    if out_of_range.any():
        j = int(np.flatnonzero(out_of_range)[0])
        raise GeometryError("geometry.out_of_range",
                            f"Feature {idx[j] + offset}: coordinates ({x[j]:.6g}, {y[j]:.6g}) are outside "
                            "longitude -180..180 / latitude -90..90.",
                            hint="Coordinates are stored in WGS84: give the source CRS (EPSG code) if they are "
                                 "projected, or swap the columns if latitude and longitude are reversed.",
                            details={"index": int(idx[j]) + offset})
    if outline is None:
        return
    zone = shapely.buffer(outline, tolerance_deg) if tolerance_deg else outline
    shapely.prepare(zone)
    inside = shapely.contains_xy(zone, x, y)
    outside = np.flatnonzero(~inside)
    if not len(outside):
        return
    swapped_inside = shapely.contains_xy(zone, y[outside], x[outside])
    if swapped_inside.any():
        j = int(outside[np.flatnonzero(swapped_inside)[0]])
        raise GeometryError("geometry.swapped_lat_lon",
                            f"Feature {idx[j] + offset}: latitude and longitude look swapped: "
                            f"({x[j]:.6g}, {y[j]:.6g}) lies outside the national outline, "
                            f"({y[j]:.6g}, {x[j]:.6g}) inside it.",
                            hint="Swap the longitude and latitude columns (x is longitude, y is latitude).",
                            details={"index": int(idx[j]) + offset})
