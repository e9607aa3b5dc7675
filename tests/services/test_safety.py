"""The safety check: inside, within or clear, the nearest distance, the caveat, and batch = single answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import DATA, EAST_HALF, Builder

from safeground.domain.errors import ValidationError
from safeground.geo.crs import WGS84, reproject
from safeground.services.public_hazards import public_hazards
from safeground.services.records import add_records, retire_record
from safeground.services.safety import (
    CAVEAT,
    CLASSES,
    CLEAR,
    INSIDE,
    WITHIN,
    SafetyIndex,
    check_geometry,
    check_point,
    check_points,
    current_public_hazards,
    safety_index,
)
from safeground.services.workspace import Workspace
from safeground.store.base import Batch


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

LON0, LAT0 = -72.495, 5.005  # the centre of HAZARD_BOX
EAST_EDGE = -72.49


def test_point_inside_within_and_clear(ws: Workspace, build: Builder) -> None:
    hz = build.hazard("cha")
    inside = check_point(ws, LAT0, LON0)
    assert inside["result"] == "inside"
    assert inside["nearest_hazard_m"] == 0.0
    assert inside["hazards"] == [{"ref": hz["ref"], "distance_m": 0.0}]
    # 100 m east of the hazard's edge: 73 m from the published polygon (25 m buffer + 2 m simplification)
    near = check_point(ws, LAT0, EAST_EDGE + 100 / 110_900)
    assert near["result"] == "within"
    assert near["nearest_hazard_m"] == pytest.approx(73, abs=1.0)
    assert check_point(ws, LAT0, EAST_EDGE + 100 / 110_900, distance=50)["result"] == "clear"
    far = check_point(ws, LAT0, EAST_EDGE + 0.02)
    assert far["result"] == "clear"
    assert far["hazards"] == []
    assert far["nearest_hazard"] == hz["ref"]
    assert far["nearest_hazard_m"] == pytest.approx(2193, rel=0.01)
    assert all(a["caveat"] == CAVEAT for a in (inside, near, far))
    assert "EPSG:" in far["distance_method"]


def test_the_25_m_margin_is_inside(ws: Workspace, build: Builder) -> None:
    build.hazard("cha")
    assert check_point(ws, LAT0, EAST_EDGE + 20 / 110_900)["result"] == "inside"
    assert check_point(ws, LAT0, EAST_EDGE + 35 / 110_900)["result"] == "within"


def test_no_hazards_is_clear_with_caveat(ws: Workspace) -> None:
    answer = check_point(ws, LAT0, LON0)
    assert (answer["result"], answer["nearest_hazard_m"], answer["nearest_hazard"]) == ("clear", None, None)
    assert answer["caveat"] == CAVEAT
    klass, dist = check_points(ws, np.array([LAT0]), np.array([LON0]))
    assert klass.tolist() == [CLEAR] and np.isnan(dist).all()


def test_index_follows_edits_and_release(ws: Workspace, build: Builder) -> None:
    assert check_point(ws, LAT0, LON0)["result"] == "clear"
    hz = build.hazard("sha")
    assert check_point(ws, LAT0, LON0)["result"] == "inside", "a new hazard is seen at once"
    east = EAST_HALF.centroid
    build.evidence(hz, "indirect")
    ts = build.activity(hz, "ts", assets="mechanical", devices_found=0)
    build.release(ts, hz, "reduced", EAST_HALF)
    assert check_point(ws, east.y, east.x)["result"] == "inside", "land awaiting QC is still hazardous"
    build.qc(ts, day="2024-06-30")
    assert check_point(ws, east.y, east.x, distance=500)["result"] == "within"  # ~250 m from the west half
    retire_record(ws, "hazard_area", hz["uuid"], "duplicate of another report")
    assert check_point(ws, LAT0, LON0)["result"] == "clear"


def test_index_updated_in_place_matches_a_fresh_build(ws: Workspace, build: Builder) -> None:
    """Edits recompute only the hazards they touch; the result is what a build from scratch gives."""
    first = build.hazard("sha")
    others = [build.hazard("cha", geometry=shapely.box(-72.4 + i / 50, 5.0, -72.395 + i / 50, 5.005))
              for i in range(4)]
    before = safety_index(ws)
    assert len(before.hazards) == 5
    build.evidence(first, "indirect")
    ts = build.activity(first, "ts", assets="mechanical", devices_found=0)
    build.release(ts, first, "reduced", EAST_HALF)
    build.qc(ts, day="2024-06-30")
    retire_record(ws, "hazard_area", others[1]["uuid"], "duplicate")
    build.hazard("sha", geometry=shapely.box(-72.0, 5.0, -71.99, 5.01))
    updated = safety_index(ws)
    assert updated is not before and updated.seq == ws.store.last_change_seq()
    kept = before.hazards.refs.index(others[2]["ref"])
    assert updated.hazards.geometry[updated.hazards.refs.index(others[2]["ref"])] is before.hazards.geometry[kept]
    fresh = SafetyIndex.build(ws)
    assert updated.hazards.refs == fresh.hazards.refs and len(fresh.hazards) == 5
    assert updated.hazards.properties == fresh.hazards.properties
    assert shapely.equals_exact(updated.projected, fresh.projected, tolerance=1e-6).all()
    assert safety_index(ws) is updated, "no change, no new index"
    assert current_public_hazards(ws).to_geojson() == public_hazards(ws).to_geojson()


def test_route_and_area(ws: Workspace, build: Builder) -> None:
    hz = build.hazard("cha")
    through = {"type": "LineString", "coordinates": [[-72.52, 5.005], [-72.47, 5.005]]}
    assert check_geometry(ws, through)["result"] == "inside"
    past = {"type": "LineString", "coordinates": [[-72.52, 5.0107], [-72.47, 5.0107]]}  # ~78 m north of the edge
    answer = check_geometry(ws, {"type": "Feature", "properties": {}, "geometry": past})
    assert answer["result"] == "within"
    assert answer["hazards"][0]["ref"] == hz["ref"]
    area = {"type": "Polygon", "coordinates": [[[-72.6, 4.9], [-72.55, 4.9], [-72.55, 4.95], [-72.6, 4.9]]]}
    clear = check_geometry(ws, area, distance=500)
    assert clear["result"] == "clear" and clear["nearest_hazard_m"] > 500 and clear["caveat"] == CAVEAT


@pytest.mark.parametrize(("call", "code"), [
    (lambda ws: check_point(ws, 95.0, -72.0), "safety.bad_coordinates"),
    (lambda ws: check_point(ws, 5.0, float("nan")), "safety.bad_coordinates"),
    (lambda ws: check_point(ws, 5.0, -72.0, distance=-1), "safety.bad_distance"),
    (lambda ws: check_point(ws, 5.0, -72.0, distance=1e9), "safety.bad_distance"),
    (lambda ws: check_geometry(ws, {"type": "GeometryCollection", "geometries": []}), "safety.unsupported_geometry"),
    (lambda ws: check_geometry(ws, {"type": "LineString", "coordinates": [[1]]}), "safety.bad_geometry"),
    (lambda ws: check_geometry(ws, {"type": "LineString", "coordinates": []}), "safety.bad_geometry"),
    (lambda ws: check_points(ws, np.array([1.0, 2.0]), np.array([1.0])), "safety.bad_coordinates"),
])
def test_bad_input_is_refused_with_a_hint(ws: Workspace, call, code: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as info:
        call(ws)
    assert info.value.code == code and info.value.hint


@pytest.fixture
def hazards_around_register(ws: Workspace) -> pd.DataFrame:
    """400 hazards drawn around real mine-event locations of Colombia's register; the register's other events
    (6,000 of them) are the points to check."""
    register = pd.read_csv(DATA / "colombia_aicma" / "events_1990_2014.csv").sample(frac=1, random_state=2)
    sites = register.iloc[:400]
    polys = shapely.buffer(shapely.points(sites.lon.to_numpy(), sites.lat.to_numpy()), 0.003, quad_segs=2)
    add_records(ws, "hazard_area", Batch.from_records(
        [{"name": f"Sitio {i}", "hazard_class": "sha", "status": "open", "geometry": g}
         for i, g in enumerate(polys)]))
    return register.iloc[400:6400]


def test_batch_agrees_with_brute_force_on_the_register(ws: Workspace, hazards_around_register: pd.DataFrame) -> None:
    points = hazards_around_register
    lat, lon = points.lat.to_numpy(), points.lon.to_numpy()
    klass, dist = check_points(ws, lat, lon, distance=1000)
    index = safety_index(ws)
    assert len(index.hazards) == 400
    projected = reproject(shapely.points(lon, lat), WGS84, index.crs)
    nearest = shapely.distance(projected[:, None], index.projected[None, :]).min(axis=1)  # every pair
    expected = np.where(nearest == 0, INSIDE, np.where(nearest <= 1000, WITHIN, CLEAR))
    assert (klass == expected).all()
    assert np.allclose(dist[klass != CLEAR], nearest[klass != CLEAR])
    assert {INSIDE, WITHIN, CLEAR} <= set(klass.tolist()), "the real data exercise every class"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(-74.0, -73.0), st.floats(6.0, 7.5)), min_size=1, max_size=30),
       st.floats(0, 5000))
def test_batch_equals_single_point_answers(ws: Workspace, build: Builder, points: list[tuple[float, float]],
                                           distance: float) -> None:
    if not ws.store.count("hazard_area"):
        for i in range(12):  # a ring of hazards in Antioquia
            x, y = -73.5 + 0.3 * np.cos(i / 2), 6.7 + 0.3 * np.sin(i / 2)
            build.hazard("cha", geometry=shapely.box(x, y, x + 0.004 * (1 + i % 3), y + 0.004))
    lon, lat = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    klass, dist = check_points(ws, lat, lon, distance=distance)
    for i in range(len(points)):
        one = check_point(ws, lat[i], lon[i], distance=distance)
        assert one["caveat"] == CAVEAT
        assert one["result"] == CLASSES[klass[i]]
        if klass[i] == CLEAR:
            assert np.isnan(dist[i]) and one["nearest_hazard_m"] >= round(distance, 2)
        else:
            assert one["nearest_hazard_m"] == pytest.approx(dist[i], abs=0.006)
