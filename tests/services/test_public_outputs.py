"""Casualties as suppressed aggregates, settlement status, and no personal data in any public output."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import EAST_HALF, Builder

from safeground.domain.errors import ValidationError
from safeground.domain.records import record_type
from safeground.services.public_casualties import SUPPRESSED, WITHHELD, public_casualties
from safeground.services.public_hazards import public_hazards
from safeground.services.records import add_records, set_review_state
from safeground.services.safety import CAVEAT, check_geometry, check_point, check_points
from safeground.services.settlements import settlement_status
from safeground.services.workspace import Workspace
from safeground.store.base import Batch


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws


def add_casualties(ws: Workspace, cells: dict[tuple[str, str], int], *, review_state: str = "approved",
                   person: Any = None) -> list[dict[str, Any]]:
    """``cells[(department, "YYYY-MM")]`` people, one accident each; returns the casualty values stored."""
    accidents, people = [], []
    for (dept, month), n in cells.items():
        for k in range(n):
            accidents.append({"accident_type": "mine_erw", "accident_date": f"{month}-{1 + k % 28:02d}",
                              "admin1": dept, "admin2": "Centro", "geometry": shapely.Point(-72.5, 5.0)})
            people.append({"outcome": "injured", "status": "civilian", "sex": "female",
                           **(person(len(people)) if person else {})})
    if not accidents:
        return []
    uuids = add_records(ws, "accident", Batch.from_records(accidents), review_state="approved").uuids
    for p, a in zip(people, uuids, strict=True):
        p["accident"] = a
    add_records(ws, "casualty", Batch.from_records(people), review_state=review_state)
    return people


def test_small_counts_suppressed_and_totals_withheld(ws: Workspace) -> None:
    add_casualties(ws, {("Meta", "2024-01"): 7, ("Meta", "2024-02"): 3, ("Cauca", "2024-01"): 6,
                        ("Cauca", "2024-03"): 5})
    add_casualties(ws, {("Cauca", "2024-03"): 9}, review_state="submitted")  # not official: never public
    doc = public_casualties(ws)
    cells = {(c["area"], c["month"]): c["people"] for c in doc["cells"]}
    assert cells == {("Meta", "2024-01"): 7, ("Meta", "2024-02"): SUPPRESSED, ("Cauca", "2024-01"): 6,
                     ("Cauca", "2024-03"): 5}
    areas = {a["area"]: a["people"] for a in doc["areas"]}
    months = {m["month"]: m["people"] for m in doc["months"]}
    assert areas == {"Cauca": 11, "Meta": WITHHELD}, "Meta's total minus 7 would give the suppressed 3"
    assert months == {"2024-01": 13, "2024-02": WITHHELD, "2024-03": 5}
    assert doc["total"] == WITHHELD


def test_by_municipality_and_bad_level(ws: Workspace) -> None:
    add_casualties(ws, {("Meta", "2023-11"): 5})
    doc = public_casualties(ws, level="adm2")
    assert doc["cells"] == [{"area": "Meta / Centro", "month": "2023-11", "people": 5}]
    assert doc["total"] == 5
    with pytest.raises(ValidationError) as info:
        public_casualties(ws, level="village")
    assert info.value.code == "public.bad_level" and info.value.hint
    with pytest.raises(ValidationError) as info:
        public_casualties(ws, period="week")
    assert info.value.code == "public.bad_period" and info.value.hint


def test_by_year_fewer_cells_suppressed(ws: Workspace) -> None:
    add_casualties(ws, {("Meta", "2024-01"): 3, ("Meta", "2024-02"): 3, ("Cauca", "2023-05"): 4})
    by_month = public_casualties(ws)
    assert by_month["total"] == WITHHELD and {a["people"] for a in by_month["areas"]} == {WITHHELD}
    by_year = public_casualties(ws, period="year")
    assert by_year["cells"] == [{"area": "Cauca", "year": "2023", "people": SUPPRESSED},
                                {"area": "Meta", "year": "2024", "people": 6}]
    assert by_year["years"] == [{"year": "2023", "people": WITHHELD}, {"year": "2024", "people": 6}]
    assert {a["area"]: a["people"] for a in by_year["areas"]} == {"Cauca": WITHHELD, "Meta": 6}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.tuples(st.sampled_from(["Meta", "Cauca", "Nariño"]),
                                 st.sampled_from(["2022-05", "2022-06", "2023-01"])),
                       st.integers(1, 8), max_size=6))
def test_no_suppressed_count_can_be_recovered(ws: Workspace, cells: dict[tuple[str, str], int]) -> None:
    """Every published total is the sum of published cells only: nothing subtracts back to a suppressed one.
    (Examples add to the same workspace, so the tables grow; the rule holds at every step.)"""
    add_casualties(ws, cells)
    doc = public_casualties(ws)
    shown = [c["people"] for c in doc["cells"]]
    assert all(p == SUPPRESSED or p >= 5 for p in shown)
    for key, totals in (("area", doc["areas"]), ("month", doc["months"])):
        for t in totals:
            parts = [c["people"] for c in doc["cells"] if c[key] == t[key]]
            assert t["people"] == (WITHHELD if SUPPRESSED in parts else sum(parts))
    assert doc["total"] in (WITHHELD, sum(p for p in shown if p != SUPPRESSED)) or not shown


def test_settlement_status(ws: Workspace, build: Builder) -> None:
    blocked_hz = build.hazard("sha", geometry=shapely.box(-72.30, 5.00, -72.29, 5.01))
    partly_hz = build.hazard("sha")
    build.evidence(partly_hz, "indirect")
    ts = build.activity(partly_hz, "ts", assets="mechanical", devices_found=0)
    build.release(ts, partly_hz, "reduced", EAST_HALF)
    build.qc(ts, day="2024-06-30")
    done = build.hazard("sha", geometry=shapely.box(-72.10, 5.00, -72.09, 5.01))
    nts = build.activity(done, "nts", evidence_found=False, end_date="2024-05-01")
    build.release(nts, done, "cancelled", done["geometry"])
    set_review_state(ws, "activity", nts["uuid"], "approved")
    far = build.hazard("cha", geometry=shapely.box(-71.50, 5.00, -71.49, 5.01))
    targets = [("Alto", shapely.Point(-72.285, 5.005), None), ("Medio", shapely.Point(-72.48, 5.005), None),
               ("Bajo", shapely.Point(-72.08, 5.005), None), ("Lejos", shapely.Point(-71.3, 5.3), None),
               ("Vinculado", shapely.Point(-71.2, 5.0), far["uuid"])]
    add_records(ws, "priority_target", Batch.from_records(
        [{"name": n, "kind": "settlement", "geometry": g, "blocking_hazards": link} for n, g, link in targets]
        + [{"name": "Escuela", "kind": "school", "geometry": shapely.Point(-72.285, 5.005)}]))
    got = {s["name"]: s for s in settlement_status(ws)}
    assert set(got) == {"Alto", "Medio", "Bajo", "Lejos", "Vinculado"}, "only settlements"
    assert (got["Alto"]["status"], got["Alto"]["blocking"]) == ("blocked", [blocked_hz["ref"]])
    assert (got["Medio"]["status"], got["Medio"]["released"]) == ("partly_released", [partly_hz["ref"]])
    assert (got["Bajo"]["status"], got["Bajo"]["released"], got["Bajo"]["blocking"]) == ("released", [done["ref"]], [])
    assert (got["Lejos"]["status"], got["Lejos"]["hazards"]) == ("released", 0)
    assert (got["Vinculado"]["status"], got["Vinculado"]["blocking"]) == ("blocked", [far["ref"]])
    assert all(s["caveat"] == CAVEAT and s["planned_week"] is None for s in got.values())
    wide = {s["name"]: s for s in settlement_status(ws, around_m=45_000)}
    assert wide["Lejos"]["status"] == "blocked", "a wider search finds the CHA about 38 km away"
    with pytest.raises(ValidationError) as info:
        settlement_status(ws, around_m=-1)
    assert info.value.code == "public.bad_distance"


NAMES = ["Zuleidy", "Anacleto", "Wilfrido", "Yurani", "Eleuterio", "Marleny"]


def _person(i: int) -> dict[str, Any]:
    return {"given_name": NAMES[i % 6] + "xq", "family_name": f"Quintanilla{i}zz", "contact": f"+57 311 55{i:05d}",
            "national_id": f"CC-99{i:06d}", "age": 91 + i % 7}


def test_no_personal_field_value_in_any_public_output(ws: Workspace, build: Builder) -> None:
    hz = build.hazard("cha")
    add_records(ws, "priority_target", Batch.from_records(
        [{"name": "Alto", "kind": "settlement", "geometry": shapely.Point(-72.485, 5.005)}]))
    people = add_casualties(ws, {("Meta", "2024-01"): 6, ("Meta", "2024-02"): 2, ("Cauca", "2024-01"): 12},
                            person=_person)
    outputs = [public_hazards(ws).to_geojson(), public_casualties(ws), public_casualties(ws, level="adm2"),
               settlement_status(ws), check_point(ws, 5.005, -72.495),
               check_geometry(ws, {"type": "LineString", "coordinates": [[-72.6, 5.0], [-72.4, 5.0]]}),
               [a.tolist() for a in check_points(ws, np.array([5.005]), np.array([-72.495]))]]
    text = json.dumps(outputs, ensure_ascii=False)
    assert hz["ref"] in text
    personal = record_type("casualty").personal_fields
    stored = ws.store.query("casualty", geometry=False)
    assert len(stored) == 20 and all(r["given_name"] for r in stored)
    for p in people:
        for f in personal:
            value = p[f]
            if isinstance(value, int):
                assert not re.search(rf"(?<![\d.]){value}(?![\d.])", text), f"{f} {value} leaked"
            else:
                assert str(value) not in text, f"{f} {value!r} leaked"
    for f in personal:
        assert f'"{f}"' not in text
