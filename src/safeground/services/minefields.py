"""Minefield records against what was found: which activities and finds fall in or near each record.

A handed-over record says where mines were laid and how many. Once survey or clearance has worked the
ground, the finds say how far to trust it: how many of the recorded mines were found, how many finds lay
outside the recorded perimeter, and how far outside. :func:`match_minefield_records` stores, per record,

- every TS, clearance or BAC activity that overlaps it, with the overlap in m²;
- every device found within ``search_m`` of its perimeter (0 m = inside), found on or after the date laid.

The matches are derived data, recomputed whole for each record; the statistics read them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import shapely

from safeground.domain.errors import ValidationError
from safeground.domain.timestamps import now_iso
from safeground.geo.crs import WGS84, reproject, utm_epsg
from safeground.services.workspace import Workspace

#: Activities whose ground truth can confirm or contradict a record.
WORKING_ACTIVITIES = ("ts", "clearance", "bac")


@dataclass(frozen=True)
class RecordAccuracy:
    """What the ground said about one minefield record."""

    ref: str
    name: str | None
    reliability: str
    mines_recorded: int | None
    worked_m2: float  # area of the record overlapped by TS, clearance or BAC
    worked_share: float
    found_inside: int  # devices (by quantity) found inside the perimeter
    found_outside: int  # ... found outside it, within the search distance
    mean_offset_m: float | None  # mean distance of all matched finds from the perimeter (0 inside)

    @property
    def found_share(self) -> float | None:
        """Share of the recorded mines found inside the perimeter, once there is a count to compare with."""
        return self.found_inside / self.mines_recorded if self.mines_recorded else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "found_share": self.found_share}


def match_minefield_records(ws: Workspace, *, search_m: float = 500.0) -> list[RecordAccuracy]:
    """Match every current minefield record with the activities and finds in or near it; store and summarise.

    ``search_m`` is how far outside a perimeter a find still counts as the record's (a record's
    errors are usually tens to hundreds of metres).
    """
    if not 0 <= search_m <= 10_000:
        raise ValidationError("minefield.bad_search_distance", f"Search distance {search_m:g} m is out of range.",
                              hint="Give metres between 0 and 10,000 (default 500).")
    out = []
    with ws.store.transaction():
        for rec in ws.store.query("minefield_record", order_by="ref"):
            out.append(_match_one(ws, rec, search_m))
    return out


def compute_minefield_matches(ws: Workspace, *, search_m: float = 500.0) -> list[dict[str, Any]]:
    """The matches :func:`match_minefield_records` would store, shaped as ``Store.minefield_matches()`` returns
    them, computed in memory without writing anything (for a database opened read-only, such as a report's).

    The same matching, whole layers at a time: records are grouped by the UTM zone of their centroid, and in
    each zone the activities and devices, projected once, are searched with a shapely STRtree instead of one
    R-tree query per record (seconds instead of minutes for a national database). Distances and overlaps are
    the same numbers, computed in the same zone.
    """
    if not 0 <= search_m <= 10_000:
        raise ValidationError("minefield.bad_search_distance", f"Search distance {search_m:g} m is out of range.",
                              hint="Give metres between 0 and 10,000 (default 500).")
    store = ws.store
    records = store.query("minefield_record", order_by="ref", fields=["laid_date"])
    if not records:
        return []
    acts = [a for a in store.query("activity", where={"activity_type": list(WORKING_ACTIVITIES)},
                                   fields=["activity_type"]) if a["geometry"] is not None]
    devices = store.query("device", fields=["found_date", "quantity"])
    perimeters = np.array([r["geometry"] for r in records], dtype=object)
    zones = np.array([utm_epsg(c.x, c.y) for c in shapely.centroid(perimeters)])
    act_geoms = np.array([a["geometry"] for a in acts], dtype=object)
    dev_geoms = np.array([d["geometry"] for d in devices], dtype=object)
    made = now_iso()
    found: dict[int, list[dict[str, Any]]] = {}
    for zone in sorted(set(zones.tolist())):
        which = np.flatnonzero(zones == zone)
        local = reproject(perimeters[which], WGS84, zone)
        if len(act_geoms):
            act_local = reproject(act_geoms, WGS84, zone)
            rec_i, act_i = shapely.STRtree(act_local).query(local, predicate="intersects")
            overlap = shapely.area(shapely.intersection(local[rec_i], act_local[act_i]))
            for r, a, m2 in zip(rec_i, act_i, overlap, strict=True):
                if m2 > 0:
                    found.setdefault(int(which[r]), []).append(
                        {"layer": "activity", "uuid": acts[a]["uuid"], "inside": True, "distance_m": 0.0,
                         "overlap_m2": float(m2), "quantity": None})
        if len(dev_geoms):
            dev_local = reproject(dev_geoms, WGS84, zone)
            rec_i, dev_i = shapely.STRtree(dev_local).query(local, predicate="dwithin", distance=search_m + 1e-6)
            dist = shapely.distance(dev_local[dev_i], local[rec_i])
            for r, d, metres in sorted(zip(rec_i.tolist(), dev_i.tolist(), dist.tolist(), strict=True),
                                       key=lambda t: (t[0], t[2], t[1])):
                rec, dev = records[which[r]], devices[d]
                if metres > search_m or (rec.get("laid_date") and dev.get("found_date")
                                         and dev["found_date"] < rec["laid_date"]):
                    continue
                found.setdefault(int(which[r]), []).append(
                    {"layer": "device", "uuid": dev["uuid"], "inside": metres == 0.0, "distance_m": metres,
                     "overlap_m2": None, "quantity": int(dev.get("quantity") or 1)})
    return [{"minefield_record": records[i]["uuid"], **m, "search_m": search_m, "computed_at": made}
            for i in sorted(found) for m in found[i]]


def _match_one(ws: Workspace, rec: dict[str, Any], search_m: float) -> RecordAccuracy:
    perimeter = rec["geometry"]
    c = perimeter.centroid
    zone = utm_epsg(c.x, c.y)
    local = reproject(np.array([perimeter], dtype=object), WGS84, zone)[0]
    matches: list[dict[str, Any]] = []
    worked = []
    for act in ws.store.within_distance("activity", perimeter, 0.0,
                                        where={"activity_type": list(WORKING_ACTIVITIES)}):
        if act["geometry"] is None:
            continue
        overlap = shapely.intersection(local, reproject(np.array([act["geometry"]], dtype=object), WGS84, zone)[0])
        if overlap.area > 0:
            worked.append(overlap)
            matches.append({"layer": "activity", "uuid": act["uuid"], "inside": True, "distance_m": 0.0,
                            "overlap_m2": float(overlap.area)})
    laid = rec.get("laid_date")
    inside = outside = 0
    offsets: list[float] = []
    for dev in ws.store.within_distance("device", perimeter, search_m):
        if laid and dev.get("found_date") and dev["found_date"] < laid:
            continue  # found before the mines were laid: not this record's
        qty = int(dev.get("quantity") or 1)
        is_inside = dev["distance_m"] == 0.0
        inside += qty if is_inside else 0
        outside += 0 if is_inside else qty
        offsets += [dev["distance_m"]] * qty
        matches.append({"layer": "device", "uuid": dev["uuid"], "inside": is_inside,
                        "distance_m": dev["distance_m"], "quantity": qty})
    ws.store.replace_minefield_matches(rec["uuid"], matches, search_m=search_m)
    worked_m2 = float(shapely.union_all(worked).area) if worked else 0.0
    return RecordAccuracy(rec["ref"], rec.get("name"), rec["reliability"], rec.get("mine_count"), worked_m2,
                          worked_m2 / local.area if local.area else 0.0, inside, outside,
                          float(np.mean(offsets)) if offsets else None)
