"""Public hazard areas: generalised outward, never smaller than the remaining area, only current hazards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import DATA, EAST_HALF, HAZARD_BOX, WEST_HALF, Builder

from safeground.geo.crs import WGS84, reproject, utm_epsg
from safeground.services.public_hazards import (
    BUFFER_M,
    PUBLIC_FIELDS,
    SIMPLIFY_M,
    generalise,
    public_hazards,
    remaining_geometries,
)
from safeground.services.records import retire_record, set_review_state
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws


def _metric(geom: shapely.Geometry) -> tuple[shapely.Geometry, int]:
    zone = utm_epsg(geom.centroid.x, geom.centroid.y)
    return reproject(np.array([geom], dtype=object), WGS84, zone)[0], zone


def _assert_outward(original: shapely.Geometry, public: shapely.Geometry) -> None:
    """The public polygon holds the original with 25 m to spare and reaches no further than ~30 m."""
    o, zone = _metric(original)
    p = reproject(np.array([public], dtype=object), WGS84, zone)[0]
    assert p.contains(o)
    assert p.contains(shapely.buffer(o, BUFFER_M - 0.5))  # 0.5 m: the buffer's arcs are drawn as chords
    # Buffered by 25 + 2 m, then simplified within 2 m: at most 29 m out (a simplified edge may cut across a
    # concave bend of the buffer, beyond 27 m between two vertices that are not).
    assert shapely.buffer(o, BUFFER_M + 2 * SIMPLIFY_M + 0.5).contains(p)


# A hazard somewhere in Colombia, 20 m to 3 km across, with a released piece cut out of it.
corner = st.tuples(st.floats(-78.0, -67.5), st.floats(-4.0, 12.0))
size = st.floats(0.0002, 0.03)
jagged = st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=3, max_size=12)


@settings(max_examples=60, deadline=None)
@given(corner, size, size, jagged, st.floats(0, 1), st.floats(0, 1))
def test_public_polygon_never_shrinks(xy: tuple[float, float], w: float, h: float,
                                      points: list[tuple[float, float]], fx: float, fy: float) -> None:
    x, y = xy
    hazard = shapely.convex_hull(shapely.MultiPoint([(x + px * w, y + py * h) for px, py in points]))
    hazard = hazard if hazard.area > 0 else shapely.box(x, y, x + w, y + h)
    cut = shapely.box(x, y, x + fx * w, y + fy * h)
    remaining = remaining_geometries(np.array([hazard], dtype=object), [[cut]])[0]
    public = generalise(np.array([remaining], dtype=object))[0]
    if remaining.is_empty:
        assert public.is_empty
    else:
        _assert_outward(remaining, public)


def test_real_register_locations_generalised_outward() -> None:
    """Hazards drawn around 300 real mine-event locations of Colombia's register (two UTM zones and more)."""
    register = pd.read_csv(DATA / "colombia_aicma" / "events_1990_2014.csv").sample(300, random_state=5)
    pts = shapely.points(register.lon.to_numpy(), register.lat.to_numpy())
    hazards = shapely.buffer(pts, 0.002, quad_segs=3)  # irregular hexagon-like polygons of ~400 m
    public = generalise(hazards)
    assert len({utm_epsg(x, y) for x, y in zip(register.lon, register.lat, strict=True)}) >= 2
    for h, p in zip(hazards, public, strict=True):
        _assert_outward(h, p)


def test_only_current_hazards_with_public_fields(ws: Workspace, build: Builder) -> None:
    open_ = build.hazard("sha", name="Vereda Alta")
    closed = build.hazard("sha", geometry=shapely.box(-72.40, 5.0, -72.39, 5.01))
    nts = build.activity(closed, "nts", evidence_found=False, end_date="2024-05-01")
    build.release(nts, closed, "cancelled", closed["geometry"])
    set_review_state(ws, "activity", nts["uuid"], "approved")
    assert ws.store.get("hazard_area", closed["uuid"])["status"] == "closed"
    gone = build.hazard("cha", geometry=shapely.box(-72.30, 5.0, -72.29, 5.01))
    retire_record(ws, "hazard_area", gone["uuid"], "entered twice")

    doc = public_hazards(ws).to_geojson()
    assert [f["id"] for f in doc["features"]] == [open_["ref"]]
    assert set(doc["features"][0]["properties"]) == set(PUBLIC_FIELDS)
    assert doc["features"][0]["properties"]["name"] == "Vereda Alta"


def test_land_awaiting_qc_stays_public_and_released_land_is_cut(ws: Workspace, build: Builder) -> None:
    hz = build.hazard("sha")
    build.evidence(hz, "indirect")
    ts = build.activity(hz, "ts", assets="mechanical", devices_found=0)
    build.release(ts, hz, "reduced", EAST_HALF)
    public = public_hazards(ws).geometry[0]
    assert public.contains(HAZARD_BOX), "land awaiting QC is still hazardous"

    build.qc(ts, day="2024-06-30")
    public = public_hazards(ws).geometry[0]
    _assert_outward(WEST_HALF, public)
    assert not public.contains(EAST_HALF.centroid)
