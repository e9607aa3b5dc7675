"""Geometry checks: type, emptiness, validity (with the location of the fault) and opt-in repair.

IMSMA's older version stores invalid polygons; SafeGround refuses them with an error that
says where the problem is, unless a repair is asked for, and every repair is reported.

>>> bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
>>> check_geometries(np.array([bowtie]), "MULTIPOLYGON")
Traceback (most recent call last):
...
safeground.domain.errors.GeometryError: Feature 0: invalid polygon: Self-intersection at (0.5, 0.5).
>>> fixed, repairs = check_geometries(np.array([bowtie]), "MULTIPOLYGON", repair=True)
>>> fixed[0].geom_type, repairs[0].index
('MultiPolygon', 0)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import shapely

from safeground.domain.errors import GeometryError

_ALLOWED = {
    "POINT": {"Point"},
    "MULTIPOLYGON": {"Polygon", "MultiPolygon"},
    "POLYGON": {"Polygon"},
    "LINESTRING": {"LineString"},
    "GEOMETRY": {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"},
}


#: Geometry type names by shapely's type id.
_TYPE_NAMES = ("Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
               "GeometryCollection")


@dataclass(frozen=True)
class Repair:
    """What a repair changed, for the import report."""

    index: int
    problem: str
    area_before: float
    area_after: float

    def describe(self) -> str:
        return (f"feature {self.index}: repaired '{self.problem}' "
                f"(area {self.area_before:.6g} -> {self.area_after:.6g} square degrees)")


def located_reason(reason: str) -> str:
    """GEOS's validity reason with its place as readable coordinates.

    >>> located_reason("Self-intersection[-72.5 5.00000001]")
    'Self-intersection at (-72.5, 5)'
    """
    m = re.match(r"(.*)\[([-\d.eE+]+) ([-\d.eE+]+)\]", reason)
    if not m:
        return reason
    return f"{m.group(1)} at ({float(m.group(2)):.7g}, {float(m.group(3)):.7g})"


def wrong_types(geoms: np.ndarray, geometry_type: str) -> np.ndarray:
    """True where a present geometry is of a type that ``geometry_type`` cannot hold.

    >>> wrong_types(np.array([shapely.Point(0, 0), shapely.box(0, 0, 1, 1), None]), "MULTIPOLYGON")
    array([ True, False, False])
    """
    type_ids = shapely.get_type_id(np.asarray(geoms, dtype=object))  # -1 for missing
    allowed = [i for i, name in enumerate(_TYPE_NAMES) if name in _ALLOWED[geometry_type]]
    return (type_ids >= 0) & ~np.isin(type_ids, allowed)


def wrong_type_error(index: int, geom: shapely.Geometry, geometry_type: str) -> GeometryError:
    """The refusal of a geometry of the wrong type, for feature ``index``."""
    allowed = _ALLOWED[geometry_type]
    return GeometryError("geometry.wrong_type",
                         f"Feature {index}: a {geom.geom_type} was given where {geometry_type} is needed.",
                         hint="Give a " + " or ".join(sorted(allowed)) + ".",
                         details={"index": index, "type": geom.geom_type})


def check_geometries(
    geoms: np.ndarray,
    geometry_type: str,
    *,
    required: bool = True,
    repair: bool = False,
    offset: int = 0,
    errors: dict[int, GeometryError] | None = None,
) -> tuple[np.ndarray, list[Repair]]:
    """Check an array of geometries for ``geometry_type``; return them (polygons as MultiPolygon) and repairs.

    ``offset`` is added to indices in messages, so that batch positions read as source rows. With
    ``errors``, every faulty geometry is recorded there (by position) instead of raising at the first,
    and the others are still checked.
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    missing = shapely.is_missing(geoms)
    empty = np.zeros(len(geoms), dtype=bool)
    empty[~missing] = shapely.is_empty(geoms[~missing])
    if required and (missing | empty).any():
        for i in np.flatnonzero(missing | empty).tolist():
            _fail(errors, i, GeometryError(
                "geometry.missing", f"Feature {i + offset}: the geometry is missing or empty.",
                hint="Every record of this layer needs a location; give its geometry.", details={"index": i + offset}))
    present = np.flatnonzero(~missing & ~empty)
    wrong = wrong_types(geoms[present], geometry_type)
    for j in np.flatnonzero(wrong).tolist():
        _fail(errors, int(present[j]), wrong_type_error(int(present[j]) + offset, geoms[present[j]], geometry_type))
    present = present[~wrong]
    types = shapely.get_type_id(geoms[present])
    points = bool(len(present)) and bool((types == 0).all())
    if points:  # a point is valid when its coordinates are finite
        finite = np.isfinite(shapely.get_x(geoms[present])) & np.isfinite(shapely.get_y(geoms[present]))
    else:
        coords, owner = shapely.get_coordinates(geoms[present], return_index=True)
        finite = np.ones(len(present), dtype=bool)
        finite[owner[~np.isfinite(coords).all(axis=1)]] = False
    for i in present[~finite].tolist():
        _fail(errors, i, GeometryError("geometry.not_finite", f"Feature {i + offset}: a coordinate is NaN or "
                                       "infinite.", hint="Check the source's coordinate columns.",
                                       details={"index": i + offset}))
    present = present[finite]
    repairs: list[Repair] = []
    invalid = present[~shapely.is_valid(geoms[present])] if not points else present[:0]
    for i in invalid:
        reason = located_reason(shapely.is_valid_reason(geoms[i]))
        if not repair:
            _fail(errors, int(i), GeometryError(
                "geometry.invalid", f"Feature {i + offset}: invalid polygon: {reason}.",
                hint="Fix the polygon in a GIS, or import again with repair turned on (--repair) to have it "
                     "repaired and reported.", details={"index": int(i) + offset, "problem": reason}))
            continue
        before = float(shapely.area(geoms[i]))
        fixed = shapely.make_valid(geoms[i], method="structure", keep_collapsed=False)
        fixed = _keep_polygonal(fixed) if geometry_type in ("MULTIPOLYGON", "POLYGON") else fixed
        if fixed is None or fixed.is_empty:
            _fail(errors, int(i), GeometryError(
                "geometry.unrepairable", f"Feature {i + offset}: {reason}; nothing is left after repair.",
                hint="Redraw the polygon.", details={"index": int(i) + offset}))
            continue
        geoms[i] = fixed
        repairs.append(Repair(int(i) + offset, reason, before, float(shapely.area(fixed))))
    if geometry_type == "MULTIPOLYGON" and len(present):
        single = present[shapely.get_type_id(geoms[present]) == 3]
        if len(single):
            geoms[single] = shapely.multipolygons(geoms[single], indices=np.arange(len(single)))
    return geoms, repairs


def _fail(errors: dict[int, GeometryError] | None, i: int, err: GeometryError) -> None:
    """Raise ``err``, or record it for position ``i`` (the first problem of a position wins)."""
    if errors is None:
        raise err
    errors.setdefault(i, err)


def _keep_polygonal(geom: shapely.Geometry) -> shapely.Geometry | None:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None
