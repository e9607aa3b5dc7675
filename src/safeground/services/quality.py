"""Data-quality checks (``safeground check``): each finding names the record and says what to do.

Checks so far:

- ``quarantine``: imported rows waiting in quarantine;
- ``invalid_polygon``: a polygon that is invalid or has fewer than 3 distinct vertices (edited outside
  SafeGround, e.g. in QGIS, since SafeGround refuses them on input);
- ``future_date``: an event date or information date after today;
- ``date_order``: an activity that ends before it starts, or information known before the event happened;
- ``duplicate_hazard``: two active hazard areas overlapping by more than ``overlap`` of the smaller one;
- ``device_outside_work``: a device found outside every hazard and activity polygon.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import shapely

from safeground.domain.records import RECORD_TYPES
from safeground.geo.measure import areas_m2
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


def run_checks(ws: Workspace, *, overlap: float = 0.5, today: dt.date | None = None) -> list[Finding]:
    """Run every check; findings in check order, then record order."""
    day = (today or dt.date.today()).isoformat()
    return [*_quarantine(ws), *_polygons(ws), *_dates(ws, day), *_duplicate_hazards(ws, overlap),
            *_devices_outside(ws)]


def _polygons(ws: Workspace) -> list[Finding]:
    out: list[Finding] = []
    for layer, rt in RECORD_TYPES.items():
        if not rt.is_polygonal:
            continue
        for r in ws.store.query(layer):
            g = r["geometry"]
            if g is None:
                continue
            parts = list(getattr(g, "geoms", [g]))
            few = any(len({*p.exterior.coords}) < 3 for p in parts if p.geom_type == "Polygon")
            if few or not g.is_valid:
                problem = "has a ring with fewer than 3 distinct vertices" if few else \
                    f"is invalid: {shapely.is_valid_reason(g)}"
                out.append(Finding("invalid_polygon", layer, r["ref"], r["uuid"], f"the polygon {problem}.",
                                   "Redraw it in a GIS, or export, repair (import --repair) and re-import it."))
    return out


def _quarantine(ws: Workspace) -> list[Finding]:
    return [Finding("quarantine", q["layer"], None, None,
                    f"{q['source']} row {q['source_row']} is in quarantine: {q['reason']}",
                    (q["hint"] + " " if q["hint"] else "") + "Fix the row in the source and import the file again.")
            for q in ws.store.quarantined()]


def _dates(ws: Workspace, day: str) -> list[Finding]:
    out: list[Finding] = []
    for layer, rt in RECORD_TYPES.items():
        names = [n for n in (rt.event_date, "info_date") if n]
        for name in names:
            for r in ws.store.query(layer, where={name: (">", day)}, geometry=False):
                out.append(Finding("future_date", layer, r["ref"], r["uuid"], f"{name} {r[name]} is in the future.",
                                   f"Correct '{name}' (dates are YYYY-MM-DD)."))
        if rt.event_date:
            for r in ws.store.query(layer, where={"info_date": ("not_null", None), rt.event_date: ("not_null", None)},
                                    geometry=False):
                if r["info_date"] < r[rt.event_date]:
                    out.append(Finding("date_order", layer, r["ref"], r["uuid"],
                                       f"information date {r['info_date']} is before the {rt.event_date} "
                                       f"{r[rt.event_date]}.",
                                       "The information cannot be known before the event: correct one of the dates."))
    for r in ws.store.query("activity", where={"start_date": ("not_null", None), "end_date": ("not_null", None)},
                            geometry=False):
        if r["end_date"] < r["start_date"]:
            out.append(Finding("date_order", "activity", r["ref"], r["uuid"],
                               f"ends {r['end_date']}, before it starts {r['start_date']}.",
                               "Correct the start or end date."))
    return out


def _duplicate_hazards(ws: Workspace, overlap: float) -> list[Finding]:
    hazards = ws.store.query("hazard_area")
    if len(hazards) < 2:
        return []
    geoms = np.array([h["geometry"] for h in hazards], dtype=object)
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
        a, b = hazards[int(i)], hazards[int(j)]
        out.append(Finding("duplicate_hazard", "hazard_area", b["ref"], b["uuid"],
                           f"overlaps {a['ref']} by {share:.0%} of the smaller area.",
                           f"If both record the same land, retire one with the reason 'duplicate of {a['ref']}'; "
                           "otherwise adjust their polygons."))
    return out


def _devices_outside(ws: Workspace) -> list[Finding]:
    devices = ws.store.query("device")
    areas = [r["geometry"] for layer in ("hazard_area", "activity") for r in ws.store.query(layer)
             if r["geometry"] is not None]
    located = [d for d in devices if d["geometry"] is not None]
    if not located:
        return []
    pts = np.array([d["geometry"] for d in located], dtype=object)
    inside = np.zeros(len(pts), dtype=bool)
    if areas:
        hits, _ = shapely.STRtree(np.array(areas, dtype=object)).query(pts, predicate="within")
        inside[hits] = True
    return [Finding("device_outside_work", "device", d["ref"], d["uuid"],
                    "found outside every hazard area and activity polygon.",
                    "Check its coordinates, or record the hazard or EOD spot task it was found in.")
            for d, ok in zip(located, inside, strict=True) if not ok]
