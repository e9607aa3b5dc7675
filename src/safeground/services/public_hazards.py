"""Public hazard areas: what the public map and the safety check show, generalised outward so they never shrink.

Which hazards. Every hazard area not retired, not ``closed`` and not ``handed_over``, whatever its review state:
a hazard reported and not yet approved is still a known danger. Its **remaining geometry** is its polygon minus
its released polygons whose release counts (``release_status`` ``released``), as
:func:`~safeground.services.release.recompute_hazards` computes ``remaining_area_m2``: land awaiting approval
or QC is still hazardous and stays in.

How it is generalised. In the UTM zone of each hazard (metres), the remaining geometry is buffered by
:data:`BUFFER_M` + :data:`SIMPLIFY_M`, simplified with tolerance :data:`SIMPLIFY_M` (topology kept), and, where
the simplified polygon would not contain the :data:`BUFFER_M` buffer, united with that buffer. The public polygon
therefore always contains the remaining area with at least 25 m to spare, and reaches at most about 27 m out.

Only public fields leave this module: ``ref``, ``name`` (a place name), ``hazard_class``, ``status``,
``marking`` and the remaining area; never who created or changed the record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from safeground.geo.crs import WGS84, reproject, utm_epsg_array
from safeground.services.workspace import Workspace

#: The published margin around the remaining area, in metres.
BUFFER_M = 25.0
#: Simplification tolerance, in metres (the polygon is first buffered this much further, so it never shrinks).
SIMPLIFY_M = 2.0
#: Hazard statuses whose land is still hazardous.
CURRENT_STATUSES = ("open", "worked_on")
#: Fields of a hazard area that a public response may carry.
PUBLIC_FIELDS = ("ref", "name", "hazard_class", "status", "marking", "remaining_area_m2")


@dataclass
class PublicHazards:
    """The public polygons (WGS84) of the current hazards, with their public fields, in ``ref`` order."""

    uuids: list[str]
    refs: list[str]
    properties: list[dict[str, Any]]
    geometry: np.ndarray

    def __len__(self) -> int:
        return len(self.refs)

    def to_geojson(self) -> dict[str, Any]:
        """A GeoJSON FeatureCollection of the public polygons."""
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": ref, "properties": props, "geometry": shapely.geometry.mapping(g)}
            for ref, props, g in zip(self.refs, self.properties, self.geometry, strict=True)]}


def remaining_geometries(hazards: np.ndarray, released: list[list[shapely.Geometry]]) -> np.ndarray:
    """Each hazard polygon minus the union of its released polygons (vectorised over hazards).

    >>> h = np.array([shapely.box(0, 0, 2, 1), shapely.box(5, 5, 6, 6)], dtype=object)
    >>> [g.area for g in remaining_geometries(h, [[shapely.box(0, 0, 1, 1)], []])]
    [1.0, 1.0]
    """
    out = np.array(hazards, dtype=object)
    cut = [i for i, r in enumerate(released) if r]
    if cut:
        unions = np.array([shapely.union_all(released[i]) for i in cut], dtype=object)
        out[cut] = shapely.difference(out[cut], unions)
    return out


def generalise(geoms: np.ndarray) -> np.ndarray:
    """Public polygons (WGS84) of remaining geometries (WGS84): buffered and simplified outward, in UTM metres.

    >>> g = shapely.box(-72.50, 5.00, -72.49, 5.01)
    >>> public = generalise(np.array([g], dtype=object))[0]
    >>> bool(public.contains(g)), public.area > g.area
    (True, True)
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.array([shapely.Polygon()] * len(geoms), dtype=object)
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if not present.any():
        return out
    idx = np.flatnonzero(present)
    c = shapely.centroid(geoms[idx])
    zones = utm_epsg_array(shapely.get_x(c), shapely.get_y(c))
    for zone in np.unique(zones):
        sel = idx[zones == zone]
        metric = reproject(geoms[sel], WGS84, int(zone))
        margin = shapely.buffer(metric, BUFFER_M)
        wide = shapely.simplify(shapely.buffer(metric, BUFFER_M + SIMPLIFY_M), SIMPLIFY_M, preserve_topology=True)
        short = ~shapely.contains(wide, margin)
        if short.any():
            wide[short] = shapely.union(wide[short], margin[short])
        out[sel] = reproject(wide, int(zone), WGS84)
    return out


def public_hazards(ws: Workspace, uuids: Sequence[str] | None = None) -> PublicHazards:
    """The public polygons of every current hazard (see the module docstring), in ``ref`` order; with ``uuids``,
    of those hazards only (those no longer current are left out)."""
    where: dict[str, Any] = {"status": list(CURRENT_STATUSES)}
    if uuids is not None:
        if not uuids:
            return PublicHazards([], [], [], np.array([], dtype=object))
        where["uuid"] = sorted(set(uuids))
    rows = ws.store.query("hazard_area", where=where, order_by="ref",
                          fields=["name", "hazard_class", "status", "marking", "remaining_area_m2"])
    rows = [r for r in rows if r["geometry"] is not None]
    released: dict[str, list[shapely.Geometry]] = defaultdict(list)
    if rows:
        wanted = [r["uuid"] for r in rows]
        for r in ws.store.query("released_area", where={"hazard": wanted, "release_status": "released"},
                                fields=["hazard"]):
            if r["geometry"] is not None:
                released[r["hazard"]].append(r["geometry"])
    hazards = np.array([r["geometry"] for r in rows], dtype=object)
    remaining = remaining_geometries(hazards, [released[r["uuid"]] for r in rows])
    public = generalise(remaining)
    keep = ~shapely.is_empty(public) if len(public) else np.zeros(0, dtype=bool)
    kept = [r for r, k in zip(rows, keep, strict=True) if k]
    return PublicHazards(uuids=[r["uuid"] for r in kept], refs=[r["ref"] for r in kept],
                         properties=[{f: r.get(f) for f in PUBLIC_FIELDS} for r in kept],
                         geometry=public[keep] if len(public) else public)
