"""Paperwork from the records: what a task order, a completion report and a handover certificate say.

Pure functions over the workspace, each returning a JSON-ready dict that ``reports/paperwork.py`` lays out
(nothing here draws or writes a file). Geometries travel as GeoJSON mappings in WGS84; coordinates are
written as deminers read them (decimal degrees, degrees-minutes-seconds, MGRS) by ``geo/survey.py``, and
bearings and distances between turning points are geodesic (pyproj's ``Geod``: true bearings, metres).

Official records only (approved or published; never retired), as for the statistics: ``include_submitted``
lets a task order or completion report use submitted records too, and marks the document a draft. A
handover certificate never does: it certifies only land the official records release.

Common keys: ``document`` (``task_order``, ``completion_report``, ``handover_certificate``), ``issued``
(date), ``draft``, ``database``, ``hazard`` (:func:`hazard_summary`), ``site`` (what the site map draws:
``hazard``, ``released`` [{"kind", "released", "geometry"}], ``activity``, ``turning_points``, ``benchmarks``,
``finds`` [[lon, lat]], ``accidents`` [[lon, lat]]), ``turning_points`` (:func:`turning_points`) and
``benchmarks`` (:func:`benchmarks`). Each function's docstring lists the rest. Casualties appear only as
counts: no name, contact, id or age is read.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import shapely
import shapely.geometry
from shapely.geometry.polygon import orient

from safeground.domain import release as rules
from safeground.domain import vocabularies as vocab
from safeground.domain.errors import ReleaseRuleError, ValidationError
from safeground.domain.fields import Vocabulary
from safeground.geo.crs import utm_epsg
from safeground.geo.survey import format_dms, format_mgrs, geodesic_leg
from safeground.services.attachments import find_record
from safeground.services.workspace import Workspace
from safeground.store.base import Record

OFFICIAL = ("approved", "published")
DESTROYED = ("destroyed_in_situ", "removed_and_destroyed")
#: Activity types a task order may task, and the team methods able to do them.
TASKABLE = ("nts", "ts", "clearance", "bac", "eod_spot_task")
#: Assets a team of each method brings when the task order does not say.
TEAM_ASSETS = {"manual": ["manual", "detector"], "mechanical": ["mechanical"], "mdd": ["mdd"],
               "bac": ["bac", "detector"], "nts": []}
MILS_PER_DEGREE = 6400.0 / 360.0


def _states(include_submitted: bool) -> tuple[str, ...]:
    return ("submitted", *OFFICIAL) if include_submitted else OFFICIAL


def label(vocabulary: Vocabulary, code: str | None) -> str:
    """The English label of ``code`` (the code itself when unknown, '' when empty).

    >>> label(vocab.HAZARD_CLASS, "cha")
    'Confirmed hazardous area (CHA)'
    """
    if not code:
        return ""
    return next((t.label for t in vocabulary.terms if t.code == code), code)


def _today(issued: str | None) -> str:
    return issued or dt.date.today().isoformat()


def _geojson(geom: shapely.Geometry | None) -> dict[str, Any] | None:
    return None if geom is None else dict(shapely.geometry.mapping(geom))


def _subject(ws: Workspace, ref: str, layers: Sequence[str], states: Sequence[str], what: str) -> tuple[str, Record]:
    """The record ``ref`` names, with its geometry; refused unless it is of ``layers``, current and counted."""
    layer, rec = find_record(ws, ref)
    if layer not in layers:
        raise ValidationError("document.wrong_record", f"{rec['ref']} is a {layer} record; {what} needs "
                              f"{' or '.join(layers)}.", hint=f"Give the ref of a {' or '.join(layers)} record "
                              "(HA-... for a hazard area, AC-... for an activity).")
    if rec.get("retired_at"):
        raise ValidationError("document.not_official", f"{rec['ref']} is retired ({rec.get('retired_reason')}).",
                              hint="Use the record that replaced it.")
    if rec["review_state"] not in states:
        raise ValidationError("document.not_official", f"{rec['ref']} is {rec['review_state']}, not approved: "
                              f"{what} is made from official records only.",
                              hint="Approve the record first, or add --include-submitted for a draft (not for "
                                   "handover certificates).")
    return layer, ws.store.get(layer, rec["uuid"])


def _one(ws: Workspace, layer: str, uuid: str | None) -> Record | None:
    if not uuid:
        return None
    rows = ws.store.query(layer, where={"uuid": uuid}, geometry=False)
    return rows[0] if rows else None


def hazard_summary(hazard: Record) -> dict[str, Any]:
    """What every document says about a hazard area: ref, name, class, status, admin area and areas (m²)."""
    return {
        "ref": hazard["ref"], "name": hazard.get("name"),
        "hazard_class": hazard["hazard_class"], "class_label": label(vocab.HAZARD_CLASS, hazard["hazard_class"]),
        "status": hazard["status"], "status_label": label(vocab.HAZARD_STATUS, hazard["status"]),
        "admin1": hazard.get("admin1"), "admin2": hazard.get("admin2"), "admin2_code": hazard.get("admin2_code"),
        "area_m2": hazard.get("area_m2"), "remaining_area_m2": hazard.get("remaining_area_m2"),
        "contamination_type": hazard.get("contamination_type"),
        "contamination_label": label(vocab.CONTAMINATION_TYPE, hazard.get("contamination_type")),
        "marking": label(vocab.MARKING_STATUS, hazard.get("marking")),
        "blockages": [label(vocab.BLOCKAGE, b) for b in (hazard.get("blockages") or "").split()],
        "expected_returnees": hazard.get("expected_returnees"),
        "review_state": hazard["review_state"],
    }


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"lon": round(lon, 7), "lat": round(lat, 7), "lat_dms": format_dms(lat, "lat"),
            "lon_dms": format_dms(lon, "lon"), "mgrs": format_mgrs(lon, lat)}


def _leg(start: tuple[float, float], end: tuple[float, float]) -> dict[str, float]:
    bearing, dist = geodesic_leg(start, end)
    return {"bearing_deg": round(bearing, 1), "bearing_mils": round(bearing * MILS_PER_DEGREE) % 6400,
            "distance_m": round(dist, 1)}


def turning_points(geom: shapely.Geometry) -> list[dict[str, Any]]:
    """The numbered turning points of a polygon's rings, walked clockwise round each outer ring, each with its
    coordinates and the leg (true bearing, metres) from the previous point of its ring; point 1 of a ring
    gives the closing leg from the ring's last point.

    >>> tps = turning_points(shapely.box(-72.50, 5.00, -72.49, 5.01))
    >>> [(t["n"], t["lon"], t["lat"], t["from_n"], t["bearing_deg"]) for t in tps]
    [(1, -72.49, 5.0, 4, 180.0), (2, -72.5, 5.0, 1, 270.0), (3, -72.5, 5.01, 2, 0.0), (4, -72.49, 5.01, 3, 90.0)]
    """
    parts = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    out: list[dict[str, Any]] = []
    for part_no, poly in enumerate(parts, start=1):
        poly = orient(poly, sign=-1.0)  # outer ring clockwise, holes anticlockwise: the surveyor's walk
        rings = [("outer", poly.exterior), *(("inner", r) for r in poly.interiors)]
        for ring_kind, ring in rings:
            coords = [(float(x), float(y)) for x, y in ring.coords[:-1]]
            first = len(out) + 1
            for i, xy in enumerate(coords):
                prev = coords[i - 1]
                out.append({"n": first + i, "part": part_no, "ring": ring_kind, **_point(*xy),
                            "from_n": first + (i - 1) % len(coords), **_leg(prev, xy)})
    return out


def benchmarks(ws: Workspace, hazard: Record, states: Sequence[str], first_point: dict[str, Any] | None
               ) -> list[dict[str, Any]]:
    """Reference points recorded for the hazard (its minefield records' ``reference_lon/lat``), each with the
    leg from it to turning point 1."""
    out = []
    for mr in ws.store.query("minefield_record", where={"hazard": hazard["uuid"], "review_state": list(states)},
                             geometry=False, order_by="ref"):
        lon, lat = mr.get("reference_lon"), mr.get("reference_lat")
        if lon is None or lat is None:
            continue
        b = {"ref": mr["ref"], "source": f"reference point of minefield record {mr['ref']}", **_point(lon, lat)}
        if first_point is not None:
            b["to_tp1"] = _leg((lon, lat), (first_point["lon"], first_point["lat"]))
        out.append(b)
    return out


def _devices(rows: Iterable[Record]) -> dict[str, Any]:
    found: Counter[str] = Counter()
    destroyed: Counter[str] = Counter()
    n_rows = 0
    for d in rows:
        q = int(d.get("quantity") or 1)
        n_rows += 1
        found[d["category"]] += q
        if d.get("disposal") in DESTROYED:
            destroyed[d["category"]] += q
    by_cat = [{"category": c, "label": label(vocab.DEVICE_CATEGORY, c), "found": found[c], "destroyed": destroyed[c]}
              for c in vocab.DEVICE_CATEGORY.codes if found[c]]
    return {"records": n_rows, "found": sum(found.values()), "destroyed": sum(destroyed.values()),
            "by_category": by_cat}


def _mine_types(text: str | None) -> str | None:
    """Mine types as recorded; written as device-category codes, in words.

    >>> _mine_types("ap_mine av_mine"), _mine_types("PMN-2, TM-62")
    ('Factory-made anti-personnel mine, Anti-vehicle mine', 'PMN-2, TM-62')
    """
    words = (text or "").replace(",", " ").split()
    if words and all(w in vocab.DEVICE_CATEGORY for w in words):
        return ", ".join(label(vocab.DEVICE_CATEGORY, w) for w in words)
    return text


def _released_rows(ws: Workspace, where: dict[str, Any]) -> list[Record]:
    return ws.store.query("released_area", where=where, order_by="ref")


def _released_doc(r: Record, acts: dict[str, Record]) -> dict[str, Any]:
    act = acts.get(r["activity"], {})
    return {"ref": r["ref"], "kind": r["kind"], "kind_label": label(vocab.RELEASE_KIND, r["kind"]),
            "area_m2": r.get("area_m2"), "release_status": r.get("release_status"),
            "status_label": label(vocab.RELEASE_STATUS, r.get("release_status")),
            "released_on": r.get("released_on"), "review_state": r["review_state"],
            "activity": act.get("ref"), "activity_type": act.get("activity_type"),
            "activity_label": label(vocab.ACTIVITY_TYPE, act.get("activity_type")),
            "depth_cm": act.get("depth_cm") if r["kind"] == "cleared" else None,
            "geometry": _geojson(r["geometry"])}


def _release_totals(released: Iterable[dict[str, Any]]) -> dict[str, float]:
    tot = {"cancelled_m2": 0.0, "reduced_m2": 0.0, "cleared_m2": 0.0, "released_m2": 0.0,
           "awaiting_qc_m2": 0.0, "awaiting_approval_m2": 0.0}
    for r in released:
        a = float(r["area_m2"] or 0.0)
        if r["release_status"] == "released":
            tot[f"{r['kind']}_m2"] += a
            tot["released_m2"] += a
        elif r["release_status"]:
            tot[f"{r['release_status']}_m2"] += a
    return {k: round(v, 1) for k, v in tot.items()}


def _site(hazard: Record, released: list[dict[str, Any]], tps: list[dict[str, Any]], bms: list[dict[str, Any]],
          finds: list[Record], accidents: list[Record], activity: Record | None = None) -> dict[str, Any]:
    c = hazard["geometry"].centroid
    return {"crs": f"EPSG:{utm_epsg(c.x, c.y)}", "hazard": _geojson(hazard["geometry"]),
            "released": [{"kind": r["kind"], "released": r["release_status"] == "released", "geometry": r["geometry"]}
                         for r in released],
            "activity": _geojson(activity.get("geometry")) if activity else None,
            "turning_points": [[t["n"], t["lon"], t["lat"]] for t in tps],
            "benchmarks": [[b["ref"], b["lon"], b["lat"]] for b in bms],
            "finds": [[d["geometry"].x, d["geometry"].y] for d in finds if d.get("geometry") is not None],
            "accidents": [[a["geometry"].x, a["geometry"].y] for a in accidents if a.get("geometry") is not None]}


def _base(ws: Workspace, kind: str, issued: str | None, draft: bool) -> dict[str, Any]:
    return {"document": kind, "issued": _today(issued), "draft": draft, "database": ws.store.location}


def _open_activity(ws: Workspace, hazard: Record, states: Sequence[str], on: str) -> Record | None:
    acts = ws.store.query("activity", where={"hazard": hazard["uuid"], "review_state": list(states),
                                             "activity_type": list(TASKABLE)}, geometry=False)
    running = [a for a in acts if not a.get("end_date") or a["end_date"] >= on]
    return max(running, key=lambda a: (a.get("start_date") or "", a["ref"]), default=None)


def _accidents_near(ws: Workspace, hazard: Record, states: Sequence[str], metres: float) -> dict[str, Any]:
    near = ws.store.within_distance("accident", hazard["geometry"], metres, where={"review_state": list(states)})
    linked = ws.store.query("accident", where={"hazard": hazard["uuid"], "review_state": list(states)})
    by_uuid = {a["uuid"]: a for a in linked}
    by_uuid.update({a["uuid"]: a for a in near})
    accidents = sorted(by_uuid.values(), key=lambda a: (a.get("accident_date") or "", a["ref"]))
    outcome: Counter[str] = Counter()
    status: Counter[str] = Counter()
    per_accident: Counter[str] = Counter()
    if accidents:
        # Aggregates only: outcome and status are read, never a name, contact, id or age.
        for c in ws.store.query("casualty", where={"accident": sorted(by_uuid), "review_state": list(states)},
                                fields=["accident", "outcome", "status"], geometry=False):
            outcome[c["outcome"]] += 1
            status[c["status"]] += 1
            per_accident[c["accident"]] += 1
    rows = [{"ref": a["ref"], "date": a.get("accident_date"), "type": label(vocab.ACCIDENT_TYPE, a["accident_type"]),
             "device": label(vocab.DEVICE_CATEGORY, a.get("device_category")) or "not recorded",
             "distance_m": round(float(a.get("distance_m", 0.0)), 0) if a["uuid"] in {n["uuid"] for n in near}
             else None, "casualties": per_accident[a["uuid"]]} for a in accidents]
    return {"within_m": metres, "count": len(rows), "accidents": rows,
            "casualties": {"total": sum(outcome.values()), **{o: outcome[o] for o in vocab.OUTCOME.codes},
                           **{s: status[s] for s in vocab.CASUALTY_STATUS.codes}},
            "_records": accidents}


def task_order(ws: Workspace, hazard_ref: str, *, team_ref: str | None = None, method: str | None = None,
               assets: Sequence[str] | None = None, depth_cm: float | None = None, start: str | None = None,
               end: str | None = None, include_submitted: bool = False, nearby_m: float = 1000.0,
               issued: str | None = None) -> dict[str, Any]:
    """The task order for a team on a hazard. Defaults come from the hazard's open activity (one not ended by
    the issue date), else from the team: method ``nts`` for an NTS team, else clearance on a CHA and TS on
    anything else; the team's assets; for clearance the national depth standard.

    Refused: a closed or handed-over hazard (``document.hazard_closed``), no team (``document.no_team``), a
    method a team cannot do (``document.team_cannot_do``), technical assets on a hazard without evidence
    (``release.assets_require_evidence``), clearance of a hazard that is not a CHA
    (``release.clearance_requires_cha``), clearance shallower than the national standard
    (``release.clearance_depth_below_standard``) and clearance by an organisation not accredited on the start date.

    Keys besides the common ones: ``tasking`` {"team", "organisation", "method", "method_label", "assets",
    "asset_labels", "depth_cm", "start", "end", "from_activity", "estimated_weeks"}, ``expected``
    {"contamination", "minefield_records", "found_so_far"}, ``evidence``, ``reports`` (activities on the
    hazard so far), ``finds`` (:func:`_devices`), ``accidents`` {"within_m", "count", "accidents",
    "casualties"}.
    """
    states = _states(include_submitted)
    on = _today(issued)
    _, hazard = _subject(ws, hazard_ref, ["hazard_area"], states, "a task order")
    if hazard["status"] in ("closed", "handed_over"):
        raise ValidationError("document.hazard_closed", f"{hazard['ref']} is {hazard['status']}: there is no land "
                              "left to task.", hint="Reopen the hazard (new evidence) before tasking a team on it.")
    current = _open_activity(ws, hazard, states, on)
    team = None
    if team_ref:
        _layer, team = _subject(ws, team_ref, ["team"], states, "a task order")
    elif current and current.get("team"):
        team = _one(ws, "team", current["team"])
    if team is None:
        raise ValidationError("document.no_team", f"No team given, and {hazard['ref']} has no open activity with one.",
                              hint="Name the team with --team TM-000001.")
    org = _one(ws, "organisation", team.get("organisation"))
    from_current = current is not None and current.get("team") == team["uuid"]
    if method is None:
        if from_current and current:
            method = current["activity_type"]
        elif team["method"] == "nts":
            method = "nts"
        elif team["method"] == "bac":
            method = "bac"
        else:
            method = "clearance" if hazard["hazard_class"] == "cha" else "ts"
    if method not in TASKABLE:
        raise ValidationError("document.team_cannot_do", f"'{method}' is not a task a team can be given.",
                              hint=f"Use one of {', '.join(TASKABLE)}.")
    technical = method in rules.TECHNICAL_TYPES
    if technical and team["method"] == "nts":
        raise ValidationError("document.team_cannot_do", f"{team['ref']} ({team['name']}) is an NTS team; it cannot "
                              f"be tasked with {label(vocab.ACTIVITY_TYPE, method).lower()}.",
                              hint="Task a manual, mechanical, MDD or BAC team, or task this one with --method nts.")
    evidence = ws.store.query("evidence", where={"hazard": hazard["uuid"], "review_state": list(states)},
                              order_by="ref", geometry=False)
    rules.check_tasking({"activity_type": method}, len(evidence))
    if method == "clearance" and hazard["hazard_class"] != "cha":
        raise ReleaseRuleError("release.clearance_requires_cha", f"{hazard['ref']} is "
                               f"{label(vocab.HAZARD_CLASS, hazard['hazard_class'])}; clearance needs a confirmed "
                               "hazardous area.", hint="Task technical survey (--method ts) to confirm it first.",
                               imas="IMAS 07.11 §7.4, 09.10")
    start = start or (current.get("start_date") if from_current and current else None) or on
    end = end or (current.get("end_date") if from_current and current else None)
    if method in rules.CLEARANCE_TYPES:
        rules.check_accreditation(org, on=start)
    if not assets:
        assets = ((current.get("assets") or "").split() if from_current and current else []) \
            or TEAM_ASSETS.get(team["method"], [])
    if depth_cm is None and method in rules.CLEARANCE_TYPES:
        depth_cm = (current.get("depth_cm") if from_current and current else None) \
            or ws.config.release.clearance_min_depth_cm
    standard = ws.config.release.clearance_min_depth_cm
    if method in rules.CLEARANCE_TYPES and depth_cm is not None and depth_cm < standard:
        raise ReleaseRuleError("release.clearance_depth_below_standard", f"A clearance depth of {depth_cm:g} cm is "
                               f"below the national standard of {standard:g} cm.",
                               hint=f"Task clearance to at least {standard:g} cm (--depth-cm).", imas="IMAS 09.10")
    capacity = team.get("capacity_m2_week")
    remaining = hazard.get("remaining_area_m2") or 0.0
    tasking = {
        "team": {"ref": team["ref"], "name": team["name"], "method": label(vocab.TEAM_METHOD, team["method"]),
                 "capacity_m2_week": capacity},
        "organisation": None if org is None else {"ref": org["ref"], "name": org["name"], "acronym": org.get("acronym"),
                                                  "accredited_from": org.get("accredited_from"),
                                                  "accredited_until": org.get("accredited_until")},
        "method": method, "method_label": label(vocab.ACTIVITY_TYPE, method),
        "assets": list(assets), "asset_labels": [label(vocab.ASSET, a) for a in assets],
        "depth_cm": depth_cm, "start": start, "end": end,
        "from_activity": current["ref"] if from_current and current else None,
        "estimated_weeks": round(remaining / capacity, 1) if capacity else None,
    }
    tps = turning_points(hazard["geometry"])
    bms = benchmarks(ws, hazard, states, tps[0] if tps else None)
    records = ws.store.query("minefield_record", where={"hazard": hazard["uuid"], "review_state": list(states)},
                             order_by="ref", geometry=False)
    finds = ws.store.query("device", where={"hazard": hazard["uuid"], "review_state": list(states)}, order_by="ref")
    found = _devices(finds)
    reports = ws.store.query("activity", where={"hazard": hazard["uuid"], "review_state": list(states)},
                             order_by="start_date", geometry=False)
    orgs = {o["uuid"]: o for o in ws.store.query("organisation", geometry=False)}
    near = _accidents_near(ws, hazard, states, nearby_m)
    released = [_released_doc(r, {a["uuid"]: a for a in reports})
                for r in _released_rows(ws, {"hazard": hazard["uuid"], "review_state": list(states)})]
    doc = _base(ws, "task_order", issued, include_submitted)
    doc.update({
        "hazard": hazard_summary(hazard), "tasking": tasking,
        "turning_points": tps, "benchmarks": bms,
        "expected": {
            "contamination": label(vocab.CONTAMINATION_TYPE, hazard.get("contamination_type")) or "not recorded",
            "minefield_records": [{"ref": m["ref"], "name": m.get("name"),
                                   "mine_types": _mine_types(m.get("mine_types")),
                                   "mine_count": m.get("mine_count"), "pattern": m.get("pattern"),
                                   "reliability": (m.get("reliability") or "").upper()} for m in records],
            "found_so_far": found["by_category"]},
        "evidence": [{"ref": e["ref"], "kind": label(vocab.EVIDENCE_KIND, e["kind"]),
                      "source": label(vocab.EVIDENCE_SOURCE, e["evidence_source"]),
                      "contamination": label(vocab.CONTAMINATION_TYPE, e.get("contamination_type")),
                      "description": e.get("description"), "date": e.get("observed_date")} for e in evidence],
        "reports": [{"ref": a["ref"], "type": label(vocab.ACTIVITY_TYPE, a["activity_type"]),
                     "organisation": (orgs.get(a.get("organisation") or "") or {}).get("acronym"),
                     "start": a.get("start_date"), "end": a.get("end_date"),
                     "evidence_found": a.get("evidence_found"), "devices_found": a.get("devices_found"),
                     "approved_on": a.get("report_approved_on")} for a in reports],
        "released": [{k: v for k, v in r.items() if k != "geometry"} for r in released],
        "finds": found,
        "accidents": {k: v for k, v in near.items() if k != "_records"},
    })
    doc["site"] = _site(hazard, released, tps, bms, finds, near["_records"])
    return doc


def _productivity(activity: Record, released: list[dict[str, Any]]) -> dict[str, Any]:
    """Team-days and m² per team-day as ``stats release`` counts them (NTS: its cancelled land)."""
    kinds = ("cancelled",) if activity["activity_type"] == "nts" else ("reduced", "cleared")
    area = round(sum(float(r["area_m2"] or 0.0) for r in released if r["kind"] in kinds), 1)
    days = None
    if activity.get("team") and activity.get("start_date") and activity.get("end_date"):
        days = (dt.date.fromisoformat(activity["end_date"]) - dt.date.fromisoformat(activity["start_date"])).days + 1
    return {"team_days": days, "area_m2": area, "basis": " and ".join(kinds),
            "m2_per_team_day": round(area / days, 1) if days else None}


def completion_report(ws: Workspace, activity_ref: str, *, include_submitted: bool = False,
                      issued: str | None = None) -> dict[str, Any]:
    """The completion report of an activity.

    Keys besides the common ones: ``activity`` {"ref", "type", "type_label", "start", "end", "depth_cm",
    "assets", "evidence_found", "devices_found", "report_approved_on", "review_state"}, ``team``,
    ``organisation``, ``released`` (each polygon: ref, kind, area, status, date that counts),
    ``release_totals`` (m² by kind, and awaiting QC or approval), ``devices`` (found and destroyed by
    category), ``inspections`` (QA/QC), ``productivity`` {"team_days", "area_m2", "basis",
    "m2_per_team_day"}.
    """
    states = _states(include_submitted)
    _, act = _subject(ws, activity_ref, ["activity"], states, "a completion report")
    hazard = ws.store.get("hazard_area", act["hazard"]) if act.get("hazard") else None
    if hazard is None:
        raise ValidationError("document.wrong_record", f"{act['ref']} names no hazard area: there is no site to "
                              "report on.", hint="Link the activity to its hazard area first.")
    team = _one(ws, "team", act.get("team"))
    org = _one(ws, "organisation", act.get("organisation"))
    released = [_released_doc(r, {act["uuid"]: act})
                for r in _released_rows(ws, {"activity": act["uuid"], "review_state": list(states)})]
    devices = ws.store.query("device", where={"activity": act["uuid"], "review_state": list(states)}, order_by="ref")
    inspections = ws.store.query("qm_inspection", where={"activity": act["uuid"], "review_state": list(states)},
                                 order_by="inspection_date", geometry=False)
    tps = turning_points(hazard["geometry"])
    bms = benchmarks(ws, hazard, states, tps[0] if tps else None)
    doc = _base(ws, "completion_report", issued, include_submitted)
    doc.update({
        "hazard": hazard_summary(hazard),
        "activity": {"ref": act["ref"], "type": act["activity_type"],
                     "type_label": label(vocab.ACTIVITY_TYPE, act["activity_type"]),
                     "start": act.get("start_date"), "end": act.get("end_date"), "depth_cm": act.get("depth_cm"),
                     "assets": [label(vocab.ASSET, a) for a in (act.get("assets") or "").split()],
                     "evidence_found": act.get("evidence_found"), "devices_found": act.get("devices_found"),
                     "report_approved_on": act.get("report_approved_on"), "review_state": act["review_state"]},
        "team": None if team is None else {"ref": team["ref"], "name": team["name"],
                                           "method": label(vocab.TEAM_METHOD, team["method"])},
        "organisation": None if org is None else {"ref": org["ref"], "name": org["name"],
                                                  "acronym": org.get("acronym")},
        "released": [{k: v for k, v in r.items() if k != "geometry"} for r in released],
        "release_totals": _release_totals(released),
        "devices": _devices(devices),
        "inspections": [{"ref": i["ref"], "kind": i["kind"].upper(), "date": i["inspection_date"],
                         "result": label(vocab.INSPECTION_RESULT, i["result"]), "inspector": i.get("inspector"),
                         "findings": i.get("findings")} for i in inspections],
        "productivity": _productivity(act, released),
        "turning_points": tps, "benchmarks": bms,
    })
    doc["site"] = _site(hazard, released, tps, bms, devices, [], activity=act)
    return doc


def handover_certificate(ws: Workspace, ref: str, *, contact: str | None = None,
                         issued: str | None = None) -> dict[str, Any]:
    """The handover certificate (IMAS 08.30) for the land released on a hazard (HA-...) or by an activity (AC-...).

    Only official records count. Refused with ``document.not_released`` when any of that land awaits QC or NTS
    approval, or (for a hazard) when some of the hazard is not released yet; ``document.nothing_released`` when
    there is no released land; ``document.not_official`` when the hazard, activity or a released polygon is
    not approved.

    Keys besides the common ones: ``scope`` {"layer", "ref"}, ``released`` (the certified polygons),
    ``release_totals``, ``activities`` (what released it: ref, type, organisation, dates, depth),
    ``inspections`` (passed QC), ``devices`` (found and destroyed in the certified work), ``turning_points``
    (of the certified land, merged), ``residual_hazard_m2`` (what of the hazard is not handed over),
    ``depths_cm``, ``operators``, ``authority``, ``contact``.
    """
    layer, subject = _subject(ws, ref, ["hazard_area", "activity"], OFFICIAL, "a handover certificate")
    if layer == "hazard_area":
        hazard = subject
        rows = _released_rows(ws, {"hazard": hazard["uuid"]})
    else:
        if not subject.get("hazard"):
            raise ValidationError("document.wrong_record", f"{subject['ref']} names no hazard area.",
                                  hint="Link the activity to its hazard area first.")
        hazard = ws.store.get("hazard_area", subject["hazard"])
        rows = _released_rows(ws, {"activity": subject["uuid"]})
    if not rows:
        raise ReleaseRuleError("document.nothing_released", f"{subject['ref']} has no released land to hand over.",
                               hint="Record the cancelled, reduced or cleared polygons (and their QC) first.",
                               imas="IMAS 08.30")
    unofficial = [r["ref"] for r in rows if r["review_state"] not in OFFICIAL]
    if unofficial:
        raise ValidationError("document.not_official", f"Released polygons {', '.join(unofficial)} are submitted, "
                              "not approved: a certificate certifies official records only.",
                              hint="Approve them (QA of the report) first.")
    waiting = [r for r in rows if r.get("release_status") != "released"]
    if waiting:
        what = "; ".join(f"{r['ref']} ({label(vocab.RELEASE_KIND, r['kind']).lower()}, "
                         f"{label(vocab.RELEASE_STATUS, r.get('release_status'))})" for r in waiting)
        raise ReleaseRuleError("document.not_released", f"Land of {subject['ref']} is not released yet: {what}. "
                               "A certificate must not certify land the records do not release.",
                               hint="Record the passed QC inspection (cleared and reduced land) or approve the NTS "
                                    "report (cancelled land), then issue the certificate.", imas="IMAS 08.30, 09.10")
    tol = ws.config.release.remaining_area_tolerance_m2
    remaining = float(hazard.get("remaining_area_m2") or 0.0)
    if layer == "hazard_area" and (hazard["status"] not in ("closed", "handed_over") or remaining > tol):
        raise ReleaseRuleError("document.not_released", f"{hazard['ref']} still has {remaining:,.0f} m² not released "
                               f"(status {hazard['status']}); a certificate for the whole hazard needs all of it "
                               "released.", hint="Certify the land one activity released instead (its AC- ref), or "
                               "finish releasing the hazard.", imas="IMAS 08.30")
    act_uuids = sorted({r["activity"] for r in rows})
    acts = {a["uuid"]: a for a in ws.store.query("activity", where={"uuid": act_uuids}, geometry=False)}
    orgs = {o["uuid"]: o for o in ws.store.query("organisation", geometry=False)}
    released = [_released_doc(r, acts) for r in rows]
    # The certified land as one boundary: polygons merged, points left on a straight line by the merge dropped
    # (a tolerance of 1e-9°, a tenth of a millimetre, moves nothing a surveyor could mark).
    land = shapely.simplify(shapely.union_all([r["geometry"] for r in rows]), 1e-9, preserve_topology=True)
    tps = turning_points(land)
    bms = benchmarks(ws, hazard, OFFICIAL, tps[0] if tps else None)
    inspections = ws.store.query("qm_inspection", where={"activity": act_uuids, "review_state": list(OFFICIAL)},
                                 order_by="inspection_date", geometry=False)
    devices = ws.store.query("device", where={"activity": act_uuids, "review_state": list(OFFICIAL)},
                             order_by="ref", geometry=False)
    operators = sorted({orgs[a["organisation"]]["name"] for a in acts.values() if a.get("organisation") in orgs})
    authority = next((o["name"] for o in orgs.values() if o.get("kind") == "authority"), None)
    doc = _base(ws, "handover_certificate", issued, False)
    doc.update({
        "scope": {"layer": layer, "ref": subject["ref"]},
        "hazard": hazard_summary(hazard),
        "released": [{k: v for k, v in r.items() if k != "geometry"} for r in released],
        "release_totals": _release_totals(released),
        "activities": [{"ref": a["ref"], "type": label(vocab.ACTIVITY_TYPE, a["activity_type"]),
                        "organisation": (orgs.get(a.get("organisation") or "") or {}).get("name"),
                        "start": a.get("start_date"), "end": a.get("end_date"), "depth_cm": a.get("depth_cm"),
                        "approved_on": a.get("report_approved_on")}
                       for a in sorted(acts.values(), key=lambda a: a["ref"])],
        "inspections": [{"ref": i["ref"], "kind": i["kind"].upper(), "date": i["inspection_date"],
                         "result": label(vocab.INSPECTION_RESULT, i["result"]), "inspector": i.get("inspector")}
                        for i in inspections if i["result"] == "pass"],
        "devices": _devices(devices),
        "turning_points": tps, "benchmarks": bms,
        "residual_hazard_m2": round(remaining, 1) if remaining > tol else 0.0,
        "depths_cm": sorted({float(r["depth_cm"]) for r in released if r["depth_cm"] is not None}),
        "operators": operators, "authority": authority,
        "contact": contact or (f"the {authority}" if authority else "the national mine action authority")
        + ", the police or the nearest military post",
    })
    finds = ws.store.query("device", where={"activity": act_uuids, "review_state": list(OFFICIAL)})
    doc["site"] = _site(hazard, released, tps, bms, finds, [])
    return doc
