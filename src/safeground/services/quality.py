"""Data-quality checks (``safeground check``): each finding names the record and says what to do.

Checks, in the order they are reported:

- ``quarantine``: imported rows waiting in quarantine;
- ``invalid_polygon``: a polygon that is invalid (GEOS's reason and place) or has a ring with fewer than 3
  distinct vertices (edited outside SafeGround, e.g. in QGIS, since SafeGround refuses them on input);
- ``swapped_lat_lon``: a location outside the national outline whose swapped coordinates lie inside it;
- ``outside_country``: a location more than ``geometry.outside_tolerance_km`` outside the national outline;
- ``future_date``: an event date or information date after today;
- ``date_order``: an activity that ends before it starts, or information known before the event happened;
- ``duplicate_hazard``: two active hazard areas overlapping by more than ``overlap`` of the smaller one;
- ``duplicate_casualty``: two casualties that are probably one person (see
  :mod:`safeground.services.duplicates`); each pair is kept as a proposed duplicate link, once;
- ``device_outside_work``: a device found outside every hazard and activity polygon.

Every check works on whole layers at once (shapely's vectorised functions and STRtree), so a national
database of 100,000 hazards and 1,000,000 devices is checked in one pass per layer. Proposing duplicate
links is the only write; findings never show personal fields, only refs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import shapely

from safeground.domain.records import RECORD_TYPES
from safeground.geo.measure import areas_m2
from safeground.geo.placement import outside_km, swapped_mask
from safeground.geo.validity import located_reason
from safeground.services.duplicates import propose_casualty_duplicates
from safeground.services.workspace import Workspace


@dataclass(frozen=True)
class Finding:
    """One problem: which check, which record (or quarantined row), what is wrong, what to do."""

    check: str
    layer: str | None
    ref: str | None
    uuid: str | None
    problem: str
    action: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Located:
    """The active records of one spatial layer that have a geometry: refs, uuids and geometries."""

    refs: np.ndarray
    uuids: np.ndarray
    geoms: np.ndarray


class _Layers:
    """Each spatial layer read once per run, whichever checks need it."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._cache: dict[str, _Located] = {}

    def __getitem__(self, layer: str) -> _Located:
        if layer not in self._cache:
            rows = self.ws.store.query(layer, fields=())
            rows = [r for r in rows if r["geometry"] is not None and not r["geometry"].is_empty]
            self._cache[layer] = _Located(np.array([r["ref"] for r in rows], dtype=object),
                                          np.array([r["uuid"] for r in rows], dtype=object),
                                          np.array([r["geometry"] for r in rows], dtype=object))
        return self._cache[layer]


def run_checks(ws: Workspace, *, overlap: float = 0.5, today: dt.date | None = None, same_place_km: float = 1.0,
               name_similarity: float = 85.0) -> list[Finding]:
    """Run every check; findings in check order, then record order.

    ``same_place_km`` and ``name_similarity`` (0-100) tune the probable-duplicate casualty check.
    """
    day = (today or dt.date.today()).isoformat()
    layers = _Layers(ws)
    return [*_quarantine(ws), *_polygons(layers), *_placement(ws, layers), *_dates(ws, day),
            *_duplicate_hazards(layers, overlap), *_duplicate_casualties(ws, same_place_km, name_similarity),
            *_devices_outside(layers)]


def _polygons(layers: _Layers) -> list[Finding]:
    out: list[Finding] = []
    for layer, rt in RECORD_TYPES.items():
        if not rt.is_polygonal:
            continue
        data = layers[layer]
        bad = np.flatnonzero(~shapely.is_valid(data.geoms))  # GEOS finds too few distinct vertices invalid too
        few = _few_vertices(data.geoms[bad])
        for k, i in enumerate(bad.tolist()):
            problem = "has a ring with fewer than 3 distinct vertices" if few[k] else \
                f"is invalid: {located_reason(shapely.is_valid_reason(data.geoms[i]))}"
            out.append(Finding("invalid_polygon", layer, data.refs[i], data.uuids[i], f"the polygon {problem}.",
                               "Redraw it in a GIS, or export, repair (import --repair) and re-import it."))
    return out


def _few_vertices(geoms: np.ndarray) -> np.ndarray:
    """True where a polygon has a ring (outer or inner) with fewer than 3 distinct vertices.

    >>> sliver = shapely.Polygon([(0, 0), (1, 1), (0, 0), (1, 1)])
    >>> _few_vertices(np.array([shapely.box(0, 0, 1, 1), shapely.MultiPolygon([shapely.box(0, 0, 1, 1), sliver])]))
    array([False,  True])
    """
    out = np.zeros(len(geoms), dtype=bool)
    if not len(geoms):
        return out
    parts, owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    order = np.lexsort((xy[:, 1], xy[:, 0], ring))
    xy, ring = xy[order], ring[order]
    new = np.r_[True, (ring[1:] != ring[:-1]) | (xy[1:] != xy[:-1]).any(axis=1)]
    per_ring = np.bincount(ring[new], minlength=len(rings))
    out[owner[ring_part[per_ring < 3]]] = True
    return out


def _placement(ws: Workspace, layers: _Layers) -> list[Finding]:
    """Swapped latitude/longitude and locations outside the national outline, for every located record.

    The configuration turns each off as it does on input (``geometry.check_swapped_coordinates: false``,
    ``geometry.outside_tolerance_km: null``)."""
    outline, cfg = ws.outline, ws.config.geometry
    if outline is None:
        return []
    tolerance = cfg.outside_tolerance_km
    swapped_out: list[Finding] = []
    outside_out: list[Finding] = []
    for layer, rt in RECORD_TYPES.items():
        if not rt.is_spatial or layer == "admin_area":  # admin areas define the outline
            continue
        data = layers[layer]
        if not len(data.geoms):
            continue
        swapped = swapped_mask(data.geoms, outline, tolerance_deg=cfg.outline_tolerance_deg) \
            if cfg.check_swapped_coordinates else np.zeros(len(data.geoms), dtype=bool)
        for i in np.flatnonzero(swapped).tolist():
            c = data.geoms[i].centroid
            swapped_out.append(Finding(
                "swapped_lat_lon", layer, data.refs[i], data.uuids[i],
                f"lies at ({c.x:.6g}, {c.y:.6g}), outside the national outline; ({c.y:.6g}, {c.x:.6g}) is "
                "inside it: latitude and longitude look swapped.",
                "Swap the x and y of its geometry (x is longitude, y is latitude), e.g. in QGIS: SafeGround "
                "audits the edit."))
        if tolerance is None or ws.national_crs is None:
            continue
        dist = outside_km(data.geoms, outline, crs=ws.national_crs)
        for i in np.flatnonzero((dist > tolerance) & ~swapped).tolist():
            c = data.geoms[i].centroid
            outside_out.append(Finding(
                "outside_country", layer, data.refs[i], data.uuids[i],
                f"lies at ({c.x:.6g}, {c.y:.6g}), {dist[i]:,.1f} km outside the national outline "
                f"(tolerance {tolerance:g} km).",
                "Check its coordinates (a flipped sign or a typing error is common) and correct its geometry; "
                "raise 'geometry.outside_tolerance_km' if the place is real."))
    return swapped_out + outside_out


def _quarantine(ws: Workspace) -> list[Finding]:
    return [Finding("quarantine", q["layer"], None, None,
                    f"{q['source']} row {q['source_row']} is in quarantine: {q['reason']}",
                    (q["hint"] + " " if q["hint"] else "") + "Export open entries with 'safeground quarantine export "
                    "--to fix.csv', correct them there and import fix.csv with the same --mapping; or fix the source "
                    "and import it again.")
            for q in ws.store.quarantined()]


def _dates(ws: Workspace, day: str) -> list[Finding]:
    out: list[Finding] = []
    for layer, rt in RECORD_TYPES.items():
        names = [n for n in (rt.event_date, "info_date") if n]
        for name in names:
            for r in ws.store.query(layer, where={name: (">", day)}, geometry=False, fields=[name]):
                out.append(Finding("future_date", layer, r["ref"], r["uuid"], f"{name} {r[name]} is in the future.",
                                   f"Correct '{name}' (dates are YYYY-MM-DD)."))
        if rt.event_date:
            event = rt.event_date
            for r in ws.store.query(layer, where={"info_date": ("not_null", None), event: ("not_null", None)},
                                    geometry=False, fields=["info_date", event]):
                if r["info_date"] < r[event]:
                    out.append(Finding("date_order", layer, r["ref"], r["uuid"],
                                       f"information date {r['info_date']} is before the {event} {r[event]}.",
                                       "The information cannot be known before the event: correct one of the dates."))
    for r in ws.store.query("activity", where={"start_date": ("not_null", None), "end_date": ("not_null", None)},
                            geometry=False, fields=["start_date", "end_date"]):
        if r["end_date"] < r["start_date"]:
            out.append(Finding("date_order", "activity", r["ref"], r["uuid"],
                               f"ends {r['end_date']}, before it starts {r['start_date']}.",
                               "Correct the start or end date."))
    return out


def _duplicate_hazards(layers: _Layers, overlap: float) -> list[Finding]:
    hazards = layers["hazard_area"]
    geoms = hazards.geoms
    if len(geoms) < 2:
        return []
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    if not len(left):
        return []
    shared = areas_m2(shapely.intersection(geoms[left], geoms[right]))
    own = areas_m2(geoms)
    ratio = shared / np.maximum(np.minimum(own[left], own[right]), 1e-9)
    out = []
    for i, j, share in zip(left[ratio > overlap], right[ratio > overlap], ratio[ratio > overlap], strict=True):
        out.append(Finding("duplicate_hazard", "hazard_area", hazards.refs[j], hazards.uuids[j],
                           f"overlaps {hazards.refs[i]} by {share:.0%} of the smaller area.",
                           f"If both record the same land, retire one with the reason 'duplicate of "
                           f"{hazards.refs[i]}'; otherwise adjust their polygons."))
    return out


def _duplicate_casualties(ws: Workspace, same_place_km: float, name_similarity: float) -> list[Finding]:
    return [Finding("duplicate_casualty", "casualty", p.ref, p.uuid,
                    f"may be the same person as {p.other_ref}: {p.reason}.",
                    f"Compare the two records; if they are one person run 'safeground duplicates confirm "
                    f"{p.link_id}', otherwise 'safeground duplicates reject {p.link_id}'.")
            for p in propose_casualty_duplicates(ws, same_place_km=same_place_km, name_similarity=name_similarity)]


def _devices_outside(layers: _Layers) -> list[Finding]:
    devices = layers["device"]
    if not len(devices.geoms):
        return []
    areas = np.concatenate([layers["hazard_area"].geoms, layers["activity"].geoms])
    inside = np.zeros(len(devices.geoms), dtype=bool)
    if len(areas):
        hits, _ = shapely.STRtree(areas).query(devices.geoms, predicate="within")
        inside[hits] = True
    return [Finding("device_outside_work", "device", devices.refs[i], devices.uuids[i],
                    "found outside every hazard area and activity polygon.",
                    "Check its coordinates, or record the hazard or EOD spot task it was found in.")
            for i in np.flatnonzero(~inside).tolist()]
