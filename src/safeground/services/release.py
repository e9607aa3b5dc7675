"""Land release as use cases: the IMAS rules of :mod:`safeground.domain.release`, applied on write.

Registered as hooks on :mod:`safeground.services.records`, so every door (CLI, import, web,
demo generator) enforces the same rules:

- a technical activity needs a hazard with recorded evidence;
- a released polygon gets its status and the date that counts from the rules
  (``awaiting_approval``/``awaiting_qc`` until the NTS approval or the QC pass);
- a passed QC inspection or an approved NTS report releases the land waiting on it;
- every change to released land recomputes the hazard's remaining area and status.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely

from safeground.domain import release as rules
from safeground.domain import transitions
from safeground.domain.errors import ReleaseRuleError, ValidationError
from safeground.geo.measure import areas_m2
from safeground.services import records
from safeground.services.records import Prepared
from safeground.services.workspace import Workspace
from safeground.store.base import Record


def _by_uuid(ws: Workspace, layer: str, uuids: Iterable[str | None], *, geometry: bool = False) -> dict[str, Record]:
    wanted = sorted({u for u in uuids if u})
    if not wanted:
        return {}
    return {r["uuid"]: r for r in ws.store.query(layer, where={"uuid": wanted}, include_retired=True,
                                                 geometry=geometry)}


def _grouped(ws: Workspace, layer: str, link: str, uuids: Iterable[str]) -> dict[str, list[Record]]:
    wanted = sorted(set(uuids))
    out: dict[str, list[Record]] = defaultdict(list)
    if wanted:
        for r in ws.store.query(layer, where={link: wanted}, geometry=False):
            out[r[link]].append(r)
    return out


def _counts(ws: Workspace, layer: str, link: str, uuids: Iterable[str]) -> dict[str, int]:
    wanted = sorted({u for u in uuids if u})
    if not wanted:
        return {}
    rows = ws.store.aggregate(layer, group_by=[link], where={link: wanted})
    return {r[link]: int(r["count"]) for r in rows}


def _row_error(exc: ReleaseRuleError, row: int) -> ReleaseRuleError:
    exc.message = f"Row {row}: {exc.message}"
    exc.args = (exc.message,)
    exc.details["row"] = row
    return exc


# --- hazard areas ------------------------------------------------------------------------------------
def _hazard_before_insert(ws: Workspace, p: Prepared) -> None:
    p.columns["remaining_area_m2"] = list(p.columns["area_m2"])


def recompute_hazards(ws: Workspace, hazard_uuids: Iterable[str]) -> int:
    """Recompute remaining area (polygon minus released polygons) and status; return hazards changed."""
    hazards = _by_uuid(ws, "hazard_area", hazard_uuids)
    if not hazards:
        return 0
    order = sorted(hazards)
    released = {r["hazard"] for r in ws.store.aggregate(
        "released_area", group_by=["hazard"], where={"hazard": order, "release_status": "released"})}
    tol = ws.config.release.remaining_area_tolerance_m2
    # The store subtracts and measures (PostGIS in SQL; the GeoPackage store with shapely), in the same UTM zone.
    areas = ws.store.remaining_areas(order)
    rem_m2 = np.round([areas[u] for u in order], 2)
    changed, new_rem, new_status = [], [], []
    for u, m2 in zip(order, rem_m2, strict=True):
        h = hazards[u]
        status = rules.hazard_status_after_release(h["status"], float(m2), tol) if u in released else h["status"]
        if h["remaining_area_m2"] != float(m2) or status != h["status"]:
            transitions.check_transition(transitions.HAZARD_STATUS, h["status"], status)
            changed.append(u)
            new_rem.append(float(m2))
            new_status.append(status)
    if changed:
        ws.store.update_many("hazard_area", changed, {"remaining_area_m2": new_rem, "status": new_status},
                             user=ws.user)
    return len(changed)


def _hazard_before_update(ws: Workspace, current: Record, merged: Record, changes: dict[str, Any]) -> None:
    """A hazard is closed or handed over only when all its land is released, none of it awaiting QC."""
    new = changes.get("status")
    if new not in ("closed", "handed_over") or new == current["status"]:
        return
    waiting = ws.store.count("released_area", where={"hazard": current["uuid"], "release_status": "awaiting_qc"},
                             include_retired=False)
    if waiting:
        rules.require_qc_passed("awaiting_qc")
    if (merged.get("remaining_area_m2") or 0.0) > ws.config.release.remaining_area_tolerance_m2:
        raise ReleaseRuleError(
            "release.remaining_area_not_released",
            f"{current['ref']} still has {merged['remaining_area_m2']:,.0f} m² not released; it cannot be {new}.",
            hint="Release the remaining area (cancel, reduce or clear it) first.", imas="IMAS 07.11")


def _hazard_after_update(ws: Workspace, before: Record, after: Record) -> None:
    if before.get("geometry") is not None and not shapely.equals(before["geometry"], after["geometry"]):
        ws.store.update_many("hazard_area", [after["uuid"]],
                             {"remaining_area_m2": [after["area_m2"]]}, user=ws.user)
        recompute_hazards(ws, [after["uuid"]])


# --- activities --------------------------------------------------------------------------------------
def _activity_before_insert(ws: Workspace, p: Prepared) -> None:
    types = p.columns.get("activity_type", [])
    hazards = p.columns.get("hazard", [None] * len(types))
    evidence = _counts(ws, "evidence", "hazard", [h for t, h in zip(types, hazards, strict=True)
                                                  if t in rules.TECHNICAL_TYPES])
    for i, (atype, hazard) in enumerate(zip(types, hazards, strict=True)):
        if atype not in rules.TECHNICAL_TYPES:
            continue
        if not hazard:
            raise _row_error(ReleaseRuleError(
                "release.technical_activity_requires_hazard",
                f"A {atype} activity must name the hazard area it works on.",
                hint="Set 'hazard' to the hazard area's uuid.", imas="IMAS 07.11"), i)
        try:
            rules.check_tasking({"activity_type": atype}, evidence.get(hazard, 0))
        except ReleaseRuleError as exc:
            raise _row_error(exc, i) from None


def approve_report(ws: Workspace, activity: Record, on: str | None = None) -> None:
    """Record the approval date of an activity's report and release cancelled land waiting on it."""
    day = on or dt.date.today().isoformat()
    if not activity.get("report_approved_on"):
        ws.store.update_many("activity", [activity["uuid"]], {"report_approved_on": [day]}, user=ws.user)
    waiting = ws.store.query("released_area", where={"activity": activity["uuid"], "release_status":
                                                     "awaiting_approval"}, geometry=False)
    _release(ws, waiting, activity.get("report_approved_on") or day)


def _activity_after_update(ws: Workspace, before: Record, after: Record) -> None:
    if before["review_state"] == "submitted" and after["review_state"] in ("approved", "published"):
        approve_report(ws, after)


def _release(ws: Workspace, areas: list[Record], day: str) -> None:
    if not areas:
        return
    for a in areas:
        transitions.check_transition(transitions.RELEASE_STATUS, a["release_status"], "released")
    ws.store.update_many("released_area", [a["uuid"] for a in areas],
                         {"release_status": ["released"] * len(areas), "released_on": [day] * len(areas)},
                         user=ws.user)
    recompute_hazards(ws, {a["hazard"] for a in areas})


# --- released areas ----------------------------------------------------------------------------------
def _released_before_insert(ws: Workspace, p: Prepared) -> None:
    cols = p.columns
    acts = _by_uuid(ws, "activity", cols["activity"])
    hazards = _by_uuid(ws, "hazard_area", cols["hazard"], geometry=True)
    orgs = _by_uuid(ws, "organisation", [a.get("organisation") for a in acts.values()])
    inspections = _grouped(ws, "qm_inspection", "activity", acts)
    devices = _counts(ws, "device", "activity", acts)
    min_depth = ws.config.release.clearance_min_depth_cm
    statuses: list[str] = []
    dates: list[str | None] = []
    assert p.geometry is not None
    for i, (kind, act_uuid, hz_uuid) in enumerate(zip(cols["kind"], cols["activity"], cols["hazard"], strict=True)):
        act, hazard = acts[act_uuid], hazards[hz_uuid]
        if act.get("hazard") and act["hazard"] != hz_uuid:
            raise _row_error(ReleaseRuleError(
                "release.hazard_mismatch", f"The released polygon names hazard {hazard['ref']} but its activity "
                f"{act['ref']} works on another hazard.", hint="Link the polygon to the activity's hazard.",
                imas="IMAS 07.11"), i)
        try:
            if kind in ("reduced", "cleared"):
                rules.check_activity(act, linked_devices=devices.get(act_uuid, 0),
                                     min_depth_cm=min_depth if kind == "cleared" else 0.0)
            status, day = rules.release_state(kind, act, hazard=hazard, organisation=orgs.get(act.get("organisation")
                                              or ""), inspections=inspections.get(act_uuid, []))
        except ReleaseRuleError as exc:
            raise _row_error(exc, i) from None
        statuses.append(status)
        dates.append(day)
    hz_geoms = np.array([hazards[u]["geometry"] for u in cols["hazard"]], dtype=object)
    # Most released polygons lie inside their hazard: intersect (costly) only those that do not.
    inside = p.geometry.copy()
    shapely.prepare(hz_geoms)
    spill = np.flatnonzero(~shapely.covers(hz_geoms, p.geometry))
    inside[spill] = shapely.intersection(p.geometry[spill], hz_geoms[spill])
    outside = np.flatnonzero(shapely.is_empty(inside))
    if len(outside):
        i = int(outside[0])
        raise ValidationError("release.outside_hazard",
                              f"Row {i}: the released polygon does not overlap its hazard "
                              f"{hazards[cols['hazard'][i]]['ref']}.",
                              hint="Check the polygon and the hazard it is linked to.", details={"row": i})
    area = np.asarray(cols["area_m2"], dtype=float)
    area[spill] = areas_m2(inside[spill]).round(2)
    cols["area_m2"] = area.tolist()
    cols["release_status"] = statuses
    cols["released_on"] = dates


def _released_after_insert(ws: Workspace, p: Prepared) -> None:
    done = {h for h, s in zip(p.columns["hazard"], p.columns["release_status"], strict=True) if s == "released"}
    recompute_hazards(ws, done)
    _mark_worked_on(ws, set(p.columns["hazard"]) - done)


def _mark_worked_on(ws: Workspace, hazard_uuids: set[str]) -> None:
    """Land awaiting QC or approval means the hazard is being worked on."""
    hazards = [h for h in _by_uuid(ws, "hazard_area", hazard_uuids).values() if h["status"] == "open"]
    if hazards:
        ws.store.update_many("hazard_area", [h["uuid"] for h in hazards], {"status": ["worked_on"] * len(hazards)},
                             user=ws.user)


def _released_after_update(ws: Workspace, before: Record, after: Record) -> None:
    if after.get("retired_at") and not before.get("retired_at"):
        recompute_hazards(ws, [after["hazard"]])


# --- QM inspections ----------------------------------------------------------------------------------
def _inspection_after_insert(ws: Workspace, p: Prepared) -> None:
    cols = p.columns
    passed: dict[str, str] = {}
    for kind, result, act, day in zip(cols["kind"], cols["result"], cols["activity"], cols["inspection_date"],
                                      strict=True):
        if kind == "qc" and result == "pass":
            passed[act] = min(day, passed.get(act, day))
    if not passed:
        return
    waiting = ws.store.query("released_area", where={"activity": sorted(passed), "release_status": "awaiting_qc"},
                             geometry=False)
    by_day: dict[str, list[Record]] = defaultdict(list)
    for a in waiting:
        by_day[passed[a["activity"]]].append(a)
    for day, areas in by_day.items():
        _release(ws, areas, day)


# --- casualties --------------------------------------------------------------------------------------
def _casualty_before_insert(ws: Workspace, p: Prepared) -> None:
    ages = p.columns.get("age")
    if ages is None:
        return
    groups: list[Any] = p.columns.get("age_group") or [None] * len(ages)
    p.columns["age_group"] = [g if g else (None if a is None else ("child" if a < 18 else "adult"))
                              for a, g in zip(ages, groups, strict=True)]


def register() -> None:
    """Attach the rules to the record use cases (idempotent)."""
    hooks: list[tuple[dict[str, list[Any]], str, Any]] = [
        (records.BEFORE_INSERT, "hazard_area", _hazard_before_insert),
        (records.BEFORE_INSERT, "activity", _activity_before_insert),
        (records.BEFORE_INSERT, "released_area", _released_before_insert),
        (records.BEFORE_INSERT, "casualty", _casualty_before_insert),
        (records.AFTER_INSERT, "released_area", _released_after_insert),
        (records.AFTER_INSERT, "qm_inspection", _inspection_after_insert),
        (records.AFTER_UPDATE, "activity", _activity_after_update),
        (records.BEFORE_UPDATE, "hazard_area", _hazard_before_update),
        (records.AFTER_UPDATE, "hazard_area", _hazard_after_update),
        (records.AFTER_UPDATE, "released_area", _released_after_update),
    ]
    for table, layer, hook in hooks:
        bucket = table.setdefault(layer, [])
        if hook not in bucket:
            bucket.append(hook)


register()
