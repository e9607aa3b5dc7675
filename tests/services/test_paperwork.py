"""Task orders, completion reports and handover certificates: every figure against one computed here."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry.polygon import orient
from tests.conftest import EAST_HALF, HAZARD_BOX, WEST_HALF

from safeground.domain.errors import SafeGroundError
from safeground.services import paperwork
from safeground.services.records import add_record
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

GEOD = pyproj.Geod(ellps="WGS84")
OK = {"review_state": "approved"}


def geodesic_m2(geom: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


@dataclass
class Site:
    hazard: dict[str, Any]
    org: dict[str, Any]
    team: dict[str, Any]
    nts_team: dict[str, Any]
    clearance: dict[str, Any]
    devices: list[dict[str, Any]]
    west: dict[str, Any]
    record: dict[str, Any]
    accidents: list[dict[str, Any]]


def build_site(ws: Workspace, *, qc: bool = True) -> Site:
    """An approved CHA with evidence, a minefield record, a clearance whose west half is cleared (QC passed when
    ``qc``), devices of two categories with mixed disposal, and accidents near and far with casualties."""
    org = add_record(ws, "organisation", {"name": "Demining NGO", "acronym": "DNGO", "kind": "ngo",
                                          "accredited_from": "2020-01-01", "accredited_until": "2030-12-31"}, **OK)
    add_record(ws, "organisation", {"name": "National Mine Action Authority", "kind": "authority"}, **OK)
    team = add_record(ws, "team", {"name": "Manual team 1", "organisation": org["uuid"], "method": "manual",
                                   "capacity_m2_week": 3500.0}, **OK)
    nts_team = add_record(ws, "team", {"name": "NTS team 1", "organisation": org["uuid"], "method": "nts"}, **OK)
    hazard = add_record(ws, "hazard_area", {"name": "La Esperanza", "hazard_class": "cha", "status": "open",
                                            "geometry": HAZARD_BOX, "admin1": "Meta", "admin2": "Mesetas",
                                            "contamination_type": "ap_mines"}, **OK)
    for kind in ("direct", "indirect"):
        add_record(ws, "evidence", {"hazard": hazard["uuid"], "kind": kind, "evidence_source": "observed",
                                    "description": f"{kind} evidence", "geometry": HAZARD_BOX.centroid}, **OK)
    record = add_record(ws, "minefield_record", {"name": "MF-7", "reliability": "b", "mine_count": 40,
                                                 "mine_types": "PMN-2", "hazard": hazard["uuid"],
                                                 "reference_lon": -72.5012, "reference_lat": 4.9991,
                                                 "geometry": HAZARD_BOX.buffer(-0.002)}, **OK)
    spots = [(-72.499, 5.002, "ap_mine", "destroyed_in_situ", 2), (-72.498, 5.003, "ap_mine", "not_disposed", 1),
             (-72.497, 5.004, "av_mine", "removed_and_destroyed", None)]
    clearance = add_record(ws, "activity", {"activity_type": "clearance", "hazard": hazard["uuid"],
                                            "organisation": org["uuid"], "team": team["uuid"],
                                            "start_date": "2024-03-01", "end_date": "2024-03-10", "depth_cm": 15,
                                            "assets": "manual detector", "devices_found": len(spots),
                                            "geometry": HAZARD_BOX}, **OK)
    devices = [add_record(ws, "device", {"category": cat, "activity": clearance["uuid"], "hazard": hazard["uuid"],
                                         "disposal": disp, "quantity": qty, "geometry": shapely.Point(x, y)}, **OK)
               for x, y, cat, disp, qty in spots]
    west = add_record(ws, "released_area", {"activity": clearance["uuid"], "hazard": hazard["uuid"],
                                            "kind": "cleared", "geometry": WEST_HALF}, **OK)
    if qc:
        add_record(ws, "qm_inspection", {"kind": "qc", "activity": clearance["uuid"], "result": "pass",
                                         "inspection_date": "2024-03-20", "inspector": "Q. Inspector"}, **OK)
    near = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2019-05-01",
                                       "device_category": "ap_mine", "geometry": shapely.Point(-72.488, 5.005)}, **OK)
    far = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2019-06-01",
                                      "geometry": shapely.Point(-72.40, 5.10)}, **OK)
    for acc, outcome, status in [(near, "killed", "civilian"), (near, "injured", "civilian"),
                                 (near, "injured", "military"), (far, "killed", "civilian")]:
        add_record(ws, "casualty", {"accident": acc["uuid"], "outcome": outcome, "status": status,
                                    "given_name": "Rosa", "family_name": "Quintero", "age": 34,
                                    "national_id": "CC-1234567"}, **OK)
    hazard = ws.store.get("hazard_area", hazard["uuid"])
    return Site(hazard, org, team, nts_team, clearance, devices, west, record, [near, far])


@pytest.fixture
def site(ws: Workspace) -> Site:
    return build_site(ws)


def expected_turning_points(geom: shapely.Geometry) -> list[tuple[float, float]]:
    poly = orient(geom.geoms[0] if hasattr(geom, "geoms") else geom, sign=-1.0)
    return [(round(x, 7), round(y, 7)) for x, y in poly.exterior.coords[:-1]]


# --- turning points ----------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(st.floats(-75, -70), st.floats(2, 8), st.lists(st.tuples(st.floats(0, 0.01), st.floats(0, 0.01)),
                                                        min_size=3, max_size=12, unique=True))
def test_turning_points_walk_the_polygon_clockwise(lon: float, lat: float, offsets: list[tuple[float, float]]) -> None:
    hull = shapely.MultiPoint([(lon + dx, lat + dy) for dx, dy in offsets]).convex_hull
    if hull.geom_type != "Polygon" or hull.area < 1e-9:
        return
    tps = paperwork.turning_points(hull)
    coords = [(t["lon"], t["lat"]) for t in tps]
    assert coords == expected_turning_points(hull)
    assert not shapely.LinearRing(coords).is_ccw  # clockwise, as a surveyor walks it
    assert [t["n"] for t in tps] == list(range(1, len(tps) + 1))
    for i, t in enumerate(tps):
        prev = coords[i - 1]
        fwd, _b, dist = GEOD.inv(prev[0], prev[1], t["lon"], t["lat"])
        assert t["from_n"] == (i - 1) % len(tps) + 1
        # Printed to 0.1 m and 0.1°, from coordinates printed to 1e-7° (about a centimetre).
        assert t["distance_m"] == pytest.approx(dist, abs=0.1)
        # The ~1 cm of printed coordinates turns a short leg's bearing by up to ~0.02 m / leg length (radians).
        slack = 0.02 / max(dist, 1e-9)
        off = (t["bearing_deg"] - fwd) % 360
        assert min(off, 360 - off) < 0.06 + math.degrees(slack)
        mils = (t["bearing_mils"] - fwd * 6400 / 360) % 6400
        assert min(mils, 6400 - mils) <= 1.0 + slack * 6400 / (2 * math.pi)
    # The legs add up to the polygon's geodesic perimeter.
    assert sum(t["distance_m"] for t in tps) == pytest.approx(GEOD.geometry_area_perimeter(hull)[1],
                                                              abs=0.1 * len(tps))


def test_turning_points_number_holes_after_their_ring() -> None:
    ring = shapely.box(-72.50, 5.00, -72.49, 5.01).difference(shapely.box(-72.497, 5.003, -72.493, 5.007))
    tps = paperwork.turning_points(ring)
    assert [t["ring"] for t in tps] == ["outer"] * 4 + ["inner"] * 4
    assert [t["from_n"] for t in tps[4:]] == [8, 5, 6, 7]


# --- task order --------------------------------------------------------------------------------------
def test_task_order_figures(ws: Workspace, site: Site) -> None:
    doc = paperwork.task_order(ws, site.hazard["ref"], team_ref=site.team["ref"], issued="2025-01-10")
    h = doc["hazard"]
    assert (h["ref"], h["hazard_class"], h["status"], h["admin1"]) == (site.hazard["ref"], "cha", "worked_on", "Meta")
    assert h["area_m2"] == pytest.approx(geodesic_m2(HAZARD_BOX), rel=2e-3)
    assert h["remaining_area_m2"] == pytest.approx(geodesic_m2(HAZARD_BOX.difference(WEST_HALF)), rel=2e-3)
    t = doc["tasking"]
    # A manual team on a CHA clears it, with its own assets, to the national depth standard.
    assert (t["method"], t["assets"], t["depth_cm"]) == ("clearance", ["manual", "detector"],
                                                         ws.config.release.clearance_min_depth_cm)
    assert (t["team"]["ref"], t["organisation"]["ref"], t["start"]) == (site.team["ref"], site.org["ref"], "2025-01-10")
    assert t["estimated_weeks"] == pytest.approx(h["remaining_area_m2"] / 3500.0, abs=0.05)
    assert [(p["lon"], p["lat"]) for p in doc["turning_points"]] == expected_turning_points(HAZARD_BOX)
    # The benchmark is the minefield record's reference point, with its leg to turning point 1.
    (bm,) = doc["benchmarks"]
    tp1 = doc["turning_points"][0]
    fwd, _b, dist = GEOD.inv(-72.5012, 4.9991, tp1["lon"], tp1["lat"])
    assert bm["ref"] == site.record["ref"]
    assert (bm["to_tp1"]["bearing_deg"], bm["to_tp1"]["distance_m"]) == (round(fwd % 360, 1), round(dist, 1))
    assert doc["expected"]["minefield_records"][0]["mine_count"] == 40
    # Finds by category and disposal, counted here from what was built (a missing quantity is one).
    found: Counter[str] = Counter()
    destroyed: Counter[str] = Counter()
    for d in site.devices:
        found[d["category"]] += d["quantity"] or 1
        if d["disposal"] in ("destroyed_in_situ", "removed_and_destroyed"):
            destroyed[d["category"]] += d["quantity"] or 1
    assert {c["category"]: (c["found"], c["destroyed"]) for c in doc["finds"]["by_category"]} == \
        {c: (found[c], destroyed[c]) for c in found}
    assert len(doc["evidence"]) == 2
    assert [r["ref"] for r in doc["reports"]] == [site.clearance["ref"]]
    # Accidents within 1 km: the near one only; its casualties as counts.
    near_km = GEOD.inv(-72.488, 5.005, -72.49, 5.005)[2]
    assert near_km < 1000
    assert [a["ref"] for a in doc["accidents"]["accidents"]] == [site.accidents[0]["ref"]]
    assert doc["accidents"]["casualties"] == {"total": 3, "killed": 1, "injured": 2, "unknown": 0, "civilian": 2,
                                              "military": 1, "deminer": 0}
    text = json.dumps(doc)
    assert not any(p in text for p in ("Rosa", "Quintero", "CC-1234567", '"age"'))


def test_task_order_defaults_from_the_open_activity(ws: Workspace, site: Site) -> None:
    running = add_record(ws, "activity", {"activity_type": "clearance", "hazard": site.hazard["uuid"],
                                          "organisation": site.org["uuid"], "team": site.team["uuid"],
                                          "start_date": "2025-02-01", "depth_cm": 20, "assets": "mdd manual",
                                          "devices_found": 0}, **OK)
    doc = paperwork.task_order(ws, site.hazard["ref"], issued="2025-02-03")
    t = doc["tasking"]
    assert (t["from_activity"], t["team"]["ref"], t["method"]) == (running["ref"], site.team["ref"], "clearance")
    assert (t["assets"], t["depth_cm"], t["start"], t["end"]) == (["mdd", "manual"], 20, "2025-02-01", None)


@pytest.mark.parametrize(("change", "code"), [
    ({"team_ref": None}, "document.no_team"),
    ({"method": "clearance", "nts": True}, "document.team_cannot_do"),
    ({"depth_cm": 5.0}, "release.clearance_depth_below_standard"),
    ({"start": "2031-06-01"}, "release.clearance_requires_accreditation"),
])
def test_task_order_refusals(ws: Workspace, site: Site, change: dict[str, Any], code: str) -> None:
    change = dict(change)  # the parameter is shared by both backends' runs: never change it
    team = site.nts_team["ref"] if change.pop("nts", False) else site.team["ref"]
    kwargs: dict[str, Any] = {"team_ref": team, **change}
    with pytest.raises(SafeGroundError) as info:
        paperwork.task_order(ws, site.hazard["ref"], **kwargs)
    assert info.value.code == code


def test_task_order_follows_the_release_rules(ws: Workspace, site: Site) -> None:
    bare = add_record(ws, "hazard_area", {"name": "No evidence", "hazard_class": "sha", "status": "open",
                                          "geometry": shapely.box(-72.48, 5.00, -72.47, 5.01)}, **OK)
    with pytest.raises(SafeGroundError) as info:  # technical survey needs recorded evidence
        paperwork.task_order(ws, bare["ref"], team_ref=site.team["ref"])
    assert info.value.code == "release.assets_require_evidence"
    add_record(ws, "evidence", {"hazard": bare["uuid"], "kind": "indirect", "evidence_source": "verbal",
                                "geometry": shapely.Point(-72.475, 5.005)}, **OK)
    assert paperwork.task_order(ws, bare["ref"], team_ref=site.team["ref"])["tasking"]["method"] == "ts"
    with pytest.raises(SafeGroundError) as info:  # clearance needs a CHA
        paperwork.task_order(ws, bare["ref"], team_ref=site.team["ref"], method="clearance")
    assert info.value.code == "release.clearance_requires_cha"


def test_unapproved_hazard_needs_include_submitted(ws: Workspace, site: Site) -> None:
    draft = add_record(ws, "hazard_area", {"name": "Reported", "hazard_class": "cha", "status": "open",
                                           "geometry": shapely.box(-72.48, 5.00, -72.47, 5.01)})
    add_record(ws, "evidence", {"hazard": draft["uuid"], "kind": "direct", "evidence_source": "observed",
                                "geometry": shapely.Point(-72.475, 5.005)})
    with pytest.raises(SafeGroundError) as info:
        paperwork.task_order(ws, draft["ref"], team_ref=site.team["ref"])
    assert info.value.code == "document.not_official"
    doc = paperwork.task_order(ws, draft["ref"], team_ref=site.team["ref"], include_submitted=True)
    assert doc["draft"] is True and len(doc["evidence"]) == 1


# --- completion report -------------------------------------------------------------------------------
def test_completion_report_figures(ws: Workspace, site: Site) -> None:
    east = add_record(ws, "released_area", {"activity": site.clearance["uuid"], "hazard": site.hazard["uuid"],
                                            "kind": "cleared", "geometry": EAST_HALF}, **OK)
    doc = paperwork.completion_report(ws, site.clearance["ref"])
    assert (doc["team"]["ref"], doc["organisation"]["ref"]) == (site.team["ref"], site.org["ref"])
    assert (doc["activity"]["start"], doc["activity"]["end"], doc["activity"]["depth_cm"]) == \
        ("2024-03-01", "2024-03-10", 15)
    # Both halves were released by the QC before the east one was added: released on the QC date.
    assert {r["ref"]: (r["release_status"], r["released_on"]) for r in doc["released"]} == \
        {site.west["ref"]: ("released", "2024-03-20"), east["ref"]: ("released", "2024-03-20")}
    cleared = geodesic_m2(WEST_HALF) + geodesic_m2(EAST_HALF)
    assert doc["release_totals"]["cleared_m2"] == pytest.approx(cleared, rel=2e-3)
    assert doc["release_totals"]["released_m2"] == doc["release_totals"]["cleared_m2"]
    assert doc["release_totals"]["cancelled_m2"] == doc["release_totals"]["reduced_m2"] == 0
    days = (dt.date(2024, 3, 10) - dt.date(2024, 3, 1)).days + 1
    p = doc["productivity"]
    assert p["team_days"] == days
    assert p["m2_per_team_day"] == pytest.approx(cleared / days, rel=2e-3)
    assert doc["devices"]["found"] == sum(d["quantity"] or 1 for d in site.devices)
    assert doc["devices"]["destroyed"] == sum(d["quantity"] or 1 for d in site.devices
                                              if d["disposal"] != "not_disposed")
    assert [(i["kind"], i["date"], i["result"]) for i in doc["inspections"]] == [("QC", "2024-03-20", "Pass")]


# --- handover certificate ----------------------------------------------------------------------------
def test_certificate_refused_while_qc_is_pending(ws: Workspace) -> None:
    s = build_site(ws, qc=False)
    for ref in (s.clearance["ref"], s.hazard["ref"]):
        with pytest.raises(SafeGroundError) as info:
            paperwork.handover_certificate(ws, ref)
        assert info.value.code == "document.not_released"
    assert s.west["ref"] in str(info.value) or s.hazard["ref"] in str(info.value)


def test_certificate_of_a_hazard_needs_all_of_it_released(ws: Workspace, site: Site) -> None:
    with pytest.raises(SafeGroundError) as info:
        paperwork.handover_certificate(ws, site.hazard["ref"])
    assert info.value.code == "document.not_released"
    assert "not released" in info.value.message


def test_certificate_refuses_other_records_and_unreleased_work(ws: Workspace, site: Site) -> None:
    with pytest.raises(SafeGroundError) as info:
        paperwork.handover_certificate(ws, site.team["ref"])
    assert info.value.code == "document.wrong_record"
    idle = add_record(ws, "activity", {"activity_type": "clearance", "hazard": site.hazard["uuid"],
                                       "organisation": site.org["uuid"], "start_date": "2024-05-01",
                                       "depth_cm": 15, "assets": "manual", "devices_found": 0}, **OK)
    with pytest.raises(SafeGroundError) as info:
        paperwork.handover_certificate(ws, idle["ref"])
    assert info.value.code == "document.nothing_released"
    unapproved = add_record(ws, "activity", {"activity_type": "clearance", "hazard": site.hazard["uuid"],
                                             "organisation": site.org["uuid"], "start_date": "2024-05-01",
                                             "depth_cm": 15, "assets": "manual", "devices_found": 0})
    with pytest.raises(SafeGroundError) as info:
        paperwork.handover_certificate(ws, unapproved["ref"])
    assert info.value.code == "document.not_official"


def test_certificate_of_an_activity(ws: Workspace, site: Site) -> None:
    doc = paperwork.handover_certificate(ws, site.clearance["ref"], contact="the hotline 106")
    assert [r["ref"] for r in doc["released"]] == [site.west["ref"]]
    assert doc["release_totals"]["cleared_m2"] == pytest.approx(geodesic_m2(WEST_HALF), rel=2e-3)
    # What is not handed over is the rest of the hazard.
    assert doc["residual_hazard_m2"] == pytest.approx(geodesic_m2(EAST_HALF), rel=2e-3)
    assert [(t["lon"], t["lat"]) for t in doc["turning_points"]] == expected_turning_points(WEST_HALF)
    assert doc["depths_cm"] == [15.0]
    assert doc["operators"] == ["Demining NGO"] and doc["authority"] == "National Mine Action Authority"
    assert doc["contact"] == "the hotline 106"
    assert [i["date"] for i in doc["inspections"]] == ["2024-03-20"]


def test_certificate_of_a_closed_hazard(ws: Workspace, site: Site) -> None:
    add_record(ws, "released_area", {"activity": site.clearance["uuid"], "hazard": site.hazard["uuid"],
                                     "kind": "cleared", "geometry": EAST_HALF}, **OK)
    assert ws.store.get("hazard_area", site.hazard["uuid"])["status"] == "closed"
    doc = paperwork.handover_certificate(ws, site.hazard["ref"])
    assert doc["residual_hazard_m2"] == 0.0
    assert doc["release_totals"]["released_m2"] == pytest.approx(geodesic_m2(HAZARD_BOX), rel=2e-3)
    # The merged land's turning points are the hazard's corners (the halves' shared edge is gone).
    assert sorted((t["lon"], t["lat"]) for t in doc["turning_points"]) == sorted(expected_turning_points(HAZARD_BOX))


def test_submitted_released_polygon_is_not_certified(ws: Workspace, site: Site) -> None:
    act = add_record(ws, "activity", {"activity_type": "clearance", "hazard": site.hazard["uuid"],
                                      "organisation": site.org["uuid"], "start_date": "2024-05-01", "depth_cm": 15,
                                      "assets": "manual", "devices_found": 0}, **OK)
    add_record(ws, "released_area", {"activity": act["uuid"], "hazard": site.hazard["uuid"], "kind": "cleared",
                                     "geometry": EAST_HALF})
    add_record(ws, "qm_inspection", {"kind": "qc", "activity": act["uuid"], "result": "pass",
                                     "inspection_date": "2024-06-01"}, **OK)
    with pytest.raises(SafeGroundError) as info:
        paperwork.handover_certificate(ws, act["ref"])
    assert info.value.code == "document.not_official"
