"""Is a location where it should be? Detects swapped latitude/longitude against the national outline.

>>> outline = shapely.box(-79.0, -4.2, -66.9, 12.5)      # Colombia's bounding box, roughly
>>> check_placement(np.array([shapely.Point(-74.1, 4.6)]), outline)
>>> check_placement(np.array([shapely.Point(4.6, -74.1)]), outline)
Traceback (most recent call last):
...
safeground.domain.errors.GeometryError: Feature 0: latitude and longitude look swapped: (4.6, -74.1) lies outside the national outline, (-74.1, 4.6) inside it.
"""  # noqa: E501

from __future__ import annotations

import functools

import numpy as np
import shapely

from safeground.domain.errors import GeometryError


def outside_km(geoms: np.ndarray, outline: shapely.Geometry, *, crs: int) -> np.ndarray:
    """How far (km) each geometry's centroid lies outside ``outline``, measured in the projected ``crs``.

    0 inside the outline; NaN for missing or empty geometries.

    >>> outline = shapely.box(-79.0, -4.2, -66.9, 12.5)
    >>> outside_km(np.array([shapely.Point(-74.1, 4.6), shapely.Point(-80.0, 4.6), None]), outline,
    ...            crs=32618).round()
    array([  0., 116.,  nan])
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), np.nan)
    ok = np.flatnonzero(~shapely.is_missing(geoms))
    ok = ok[~shapely.is_empty(geoms[ok])]
    if not len(ok):
        return out
    pts = shapely.centroid(geoms[ok])
    shapely.prepare(outline)
    inside = shapely.contains_xy(outline, shapely.get_x(pts), shapely.get_y(pts))
    out[ok[inside]] = 0.0
    outside = ok[~inside]
    if len(outside):
        from safeground.geo.crs import WGS84, reproject

        far_outline = reproject(np.array([outline], dtype=object), WGS84, crs)[0]
        out[outside] = shapely.distance(far_outline, reproject(pts[~inside], WGS84, crs)) / 1000
    return out


def _centres(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y of each geometry's centroid (of a point, the point itself: no new geometry is made)."""
    if len(geoms) and (shapely.get_type_id(geoms) == 0).all():
        return shapely.get_x(geoms), shapely.get_y(geoms)
    pts = shapely.centroid(geoms)
    return shapely.get_x(pts), shapely.get_y(pts)


@functools.lru_cache(maxsize=8)
def _zone(outline: shapely.Geometry, tolerance_deg: float) -> shapely.Geometry:
    """The outline buffered by ``tolerance_deg``, prepared; made once per outline (buffering is slow)."""
    zone = shapely.buffer(outline, tolerance_deg) if tolerance_deg else outline
    shapely.prepare(zone)
    return zone


def _fail(errors: dict[int, GeometryError] | None, i: int, err: GeometryError) -> None:
    if errors is None:
        raise err
    errors.setdefault(i, err)


def check_outside(geoms: np.ndarray, outline: shapely.Geometry, *, tolerance_km: float, crs: int,
                  offset: int = 0, errors: dict[int, GeometryError] | None = None) -> None:
    """Refuse geometries whose centroid lies more than ``tolerance_km`` outside the outline.

    Distances are measured in the projected ``crs`` (the national CRS). Natural Earth 1:110m is coarse,
    so the tolerance is generous by default (10 km). With ``errors``, every such geometry is recorded
    there by position instead of raising at the first.
    """
    geoms = np.asarray(geoms, dtype=object)
    ok = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    if not len(ok):
        return
    x, y = _centres(geoms[ok])
    shapely.prepare(outline)
    out = ~shapely.contains_xy(outline, x, y)
    outside = ok[out]
    if not len(outside):
        return
    from safeground.geo.crs import WGS84, reproject

    far_outline = reproject(np.array([outline], dtype=object), WGS84, crs)[0]
    cx, cy = x[out], y[out]
    dist_km = shapely.distance(far_outline, reproject(shapely.points(cx, cy), WGS84, crs)) / 1000
    for j in np.flatnonzero(dist_km > tolerance_km).tolist():
        _fail(errors, int(outside[j]), GeometryError(
            "geometry.outside_country",
            f"Feature {outside[j] + offset}: ({cx[j]:.6g}, {cy[j]:.6g}) lies {dist_km[j]:,.1f} km outside "
            f"the national outline (tolerance {tolerance_km:g} km).",
            hint="Check the coordinates: a flipped sign or a typing error is common. Raise "
                 "'geometry.outside_tolerance_km' if the place is real.",
            details={"index": int(outside[j]) + offset, "distance_km": float(dist_km[j])}))


def check_placement(geoms: np.ndarray, outline: shapely.Geometry | None, *, offset: int = 0,
                    tolerance_deg: float = 0.5, errors: dict[int, GeometryError] | None = None) -> None:
    """Refuse geometries whose coordinates are out of range, or whose lat/lon are swapped.

    A geometry counts as swapped when its centroid falls outside the outline
    (buffered by ``tolerance_deg``) while the swapped point falls inside. Points merely outside
    the country are left to the data-quality checks, since borders are fuzzy. With ``errors``, every
    refused geometry is recorded there by position instead of raising at the first.
    """
    geoms = np.asarray(geoms, dtype=object)
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    idx = np.flatnonzero(ok)
    if not len(idx):
        return
    # The centroid (cheap) stands for the geometry: good enough to tell a country from its mirror image.
    x, y = _centres(geoms[idx])
    if (shapely.get_type_id(geoms[idx]) == 0).all():
        bounds = np.column_stack([x, y, x, y])
    else:
        bounds = shapely.bounds(geoms[idx])
    out_of_range = (np.abs(bounds[:, [1, 3]]) > 90).any(axis=1) | (np.abs(bounds[:, [0, 2]]) > 180).any(axis=1)
    for j in np.flatnonzero(out_of_range).tolist():
        _fail(errors, int(idx[j]), GeometryError(
            "geometry.out_of_range", f"Feature {idx[j] + offset}: coordinates ({x[j]:.6g}, {y[j]:.6g}) are outside "
            "longitude -180..180 / latitude -90..90.",
            hint="Coordinates are stored in WGS84: give the source CRS (EPSG code) if they are "
                 "projected, or swap the columns if latitude and longitude are reversed.",
            details={"index": int(idx[j]) + offset}))
    if outline is None:
        return
    zone = _zone(outline, tolerance_deg)
    inside = shapely.contains_xy(zone, x, y)
    outside = np.flatnonzero(~inside)
    if not len(outside):
        return
    swapped_inside = shapely.contains_xy(zone, y[outside], x[outside])
    for j in outside[swapped_inside].tolist():
        _fail(errors, int(idx[j]), GeometryError(
            "geometry.swapped_lat_lon", f"Feature {idx[j] + offset}: latitude and longitude look swapped: "
            f"({x[j]:.6g}, {y[j]:.6g}) lies outside the national outline, ({y[j]:.6g}, {x[j]:.6g}) inside it.",
            hint="Swap the longitude and latitude columns (x is longitude, y is latitude).",
            details={"index": int(idx[j]) + offset}))


def swapped_mask(geoms: np.ndarray, outline: shapely.Geometry, *, tolerance_deg: float = 0.5) -> np.ndarray:
    """True where a geometry looks swapped: its centroid lies outside the outline (buffered by
    ``tolerance_deg``) while the centroid with x and y exchanged lies inside. False for missing geometries.

    >>> outline = shapely.box(-79.0, -4.2, -66.9, 12.5)
    >>> swapped_mask(np.array([shapely.Point(-74.1, 4.6), shapely.Point(4.6, -74.1), None]), outline)
    array([False,  True, False])
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms), dtype=bool)
    ok = np.flatnonzero(~shapely.is_missing(geoms))
    ok = ok[~shapely.is_empty(geoms[ok])]
    if not len(ok):
        return out
    # The centroid (cheap) stands for the geometry: good enough to tell a country from its mirror image.
    pts = shapely.centroid(geoms[ok])
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    zone = _zone(outline, tolerance_deg)
    outside = np.flatnonzero(~shapely.contains_xy(zone, x, y))
    if len(outside):
        out[ok[outside]] = shapely.contains_xy(zone, y[outside], x[outside])
    return out
