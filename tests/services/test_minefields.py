"""Minefield-record accuracy: what TS and clearance found in and around each handed-over record."""

from __future__ import annotations

import pytest
import shapely
from tests.conftest import HAZARD_BOX, WEST_HALF, Builder

from safeground.domain.errors import SafeGroundError
from safeground.geo.measure import area_m2
from safeground.services.minefields import match_minefield_records
from safeground.services.records import add_record
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws


def _device(ws: Workspace, x: float, y: float, *, qty: int = 1, found: str = "2024-03-20") -> dict:
    return add_record(ws, "device", {"category": "ap_mine", "quantity": qty, "found_date": found,
                                     "geometry": shapely.Point(x, y)})


def test_finds_inside_outside_and_worked_area_are_matched_to_the_record(ws: Workspace, build: Builder) -> None:
    record = add_record(ws, "minefield_record", {"name": "MF-7", "reliability": "b", "mine_count": 4,
                                                 "laid_date": "1998-05-01", "geometry": WEST_HALF})
    hazard = build.hazard()
    build.evidence(hazard)
    build.clearance(hazard, build.organisation(), devices=0, geometry=HAZARD_BOX)
    inside = _device(ws, -72.4975, 5.005, qty=2)  # a cluster of two mines, in the recorded field
    outside = _device(ws, -72.4940, 5.005)  # ~111 m east of the recorded perimeter
    _device(ws, -72.4700, 5.005)  # 2.7 km away: not this record's
    _device(ws, -72.4980, 5.006, found="1990-01-01")  # found before the mines were laid
    [acc] = match_minefield_records(ws, search_m=500)
    assert (acc.ref, acc.reliability, acc.mines_recorded) == (record["ref"], "b", 4)
    assert (acc.found_inside, acc.found_outside) == (2, 1)
    assert acc.found_share == pytest.approx(0.5)
    assert acc.worked_share == pytest.approx(1.0, abs=1e-6)  # the clearance covered the whole record
    assert acc.worked_m2 == pytest.approx(area_m2(WEST_HALF), rel=1e-3)
    assert acc.mean_offset_m == pytest.approx((0 + 0 + 110.9) / 3, abs=1.0)
    stored = {(m["layer"], m["uuid"]): m for m in ws.store.minefield_matches(record["uuid"])}
    assert stored[("device", inside["uuid"])]["inside"] and stored[("device", inside["uuid"])]["quantity"] == 2
    assert not stored[("device", outside["uuid"])]["inside"]
    assert stored[("device", outside["uuid"])]["distance_m"] == pytest.approx(110.9, abs=1.0)
    assert sum(1 for layer, _u in stored if layer == "activity") == 1


def test_matching_again_replaces_the_matches_rather_than_adding_to_them(ws: Workspace) -> None:
    record = add_record(ws, "minefield_record", {"reliability": "c", "geometry": WEST_HALF})
    _device(ws, -72.4975, 5.005)
    match_minefield_records(ws)
    [acc] = match_minefield_records(ws, search_m=50)
    assert len(ws.store.minefield_matches(record["uuid"])) == 1 and acc.mines_recorded is None
    assert acc.found_share is None  # no recorded count to compare with
    assert {m["search_m"] for m in ws.store.minefield_matches()} == {50}


def test_an_absurd_search_distance_is_refused(ws: Workspace) -> None:
    with pytest.raises(SafeGroundError) as info:
        match_minefield_records(ws, search_m=-1)
    assert info.value.code == "minefield.bad_search_distance"
