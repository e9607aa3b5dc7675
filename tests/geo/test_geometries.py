"""A catalogue of awkward geometries: refused with the place of the fault, or repaired with a report."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from safeground.domain.errors import GeometryError
from safeground.geo.crs import utm_epsg
from safeground.geo.measure import area_m2, areas_m2, lengths_m, remaining_area
from safeground.geo.placement import check_placement
from safeground.geo.validity import check_geometries
from safeground.io.naturalearth import country_outline

X0, Y0 = -72.5, 5.0  # eastern Colombia
D = 0.01


def poly(*pts: tuple[float, float], holes: list | None = None) -> shapely.Polygon:
    return shapely.Polygon([(X0 + x * D, Y0 + y * D) for x, y in pts],
                           [[(X0 + x * D, Y0 + y * D) for x, y in h] for h in holes or []])


INVALID = {
    "bowtie": (poly((0, 0), (1, 1), (1, 0), (0, 1)), "Self-intersection"),
    "hole outside shell": (poly((0, 0), (1, 0), (1, 1), (0, 1), holes=[[(2, 2), (3, 2), (3, 3), (2, 3)]]),
                           "Hole lies outside shell"),
    "spike": (poly((0, 0), (2, 0), (2, 1), (3, 1), (2, 1), (0, 1)), "Self-intersection"),
    "overlapping parts": (shapely.MultiPolygon([poly((0, 0), (2, 0), (2, 2), (0, 2)),
                                                poly((1, 1), (3, 1), (3, 3), (1, 3))]), "Self-intersection"),
    "nested shells": (shapely.MultiPolygon([poly((0, 0), (4, 0), (4, 4), (0, 4)),
                                            poly((1, 1), (2, 1), (2, 2), (1, 2))]), "Nested shells"),
}

VALID = {
    "square": poly((0, 0), (1, 0), (1, 1), (0, 1)),
    "with a hole": poly((0, 0), (3, 0), (3, 3), (0, 3), holes=[[(1, 1), (2, 1), (2, 2), (1, 2)]]),
    "multipart": shapely.MultiPolygon([poly((0, 0), (1, 0), (1, 1), (0, 1)), poly((2, 2), (3, 2), (3, 3), (2, 3))]),
    "touching at a point": shapely.MultiPolygon([poly((0, 0), (1, 0), (1, 1), (0, 1)),
                                                 poly((1, 1), (2, 1), (2, 2), (1, 2))]),
    "repeated vertex": poly((0, 0), (1, 0), (1, 0), (1, 1), (0, 1)),
}


@pytest.mark.parametrize("name", INVALID)
def test_invalid_polygon_refused_with_location(name: str) -> None:
    geom, reason = INVALID[name]
    with pytest.raises(GeometryError) as info:
        check_geometries(np.array([geom], dtype=object), "MULTIPOLYGON", offset=10)
    err = info.value
    assert err.code == "geometry.invalid"
    assert reason in err.message
    assert " at (" in err.message, "the message says where the fault is"
    assert err.details["index"] == 10
    assert "--repair" in err.hint


@pytest.mark.parametrize("name", INVALID)
def test_invalid_polygon_repaired_and_reported(name: str) -> None:
    geom, reason = INVALID[name]
    fixed, repairs = check_geometries(np.array([geom], dtype=object), "MULTIPOLYGON", repair=True)
    assert fixed[0].is_valid and fixed[0].geom_type == "MultiPolygon"
    assert len(repairs) == 1 and reason in repairs[0].problem
    assert "repaired" in repairs[0].describe()


@pytest.mark.parametrize("name", VALID)
def test_valid_polygons_pass_unchanged_as_multipolygons(name: str) -> None:
    geom = VALID[name]
    fixed, repairs = check_geometries(np.array([geom], dtype=object), "MULTIPOLYGON")
    assert repairs == []
    assert fixed[0].geom_type == "MultiPolygon"
    assert shapely.equals(fixed[0], geom)


def test_empty_and_missing_geometry_refused_when_required() -> None:
    for g in (None, shapely.Polygon()):
        with pytest.raises(GeometryError) as info:
            check_geometries(np.array([g], dtype=object), "MULTIPOLYGON")
        assert info.value.code == "geometry.missing"


def test_missing_geometry_allowed_when_optional() -> None:
    fixed, _ = check_geometries(np.array([None], dtype=object), "POINT", required=False)
    assert fixed[0] is None


def test_wrong_geometry_type_refused() -> None:
    with pytest.raises(GeometryError) as info:
        check_geometries(np.array([shapely.Point(X0, Y0)], dtype=object), "MULTIPOLYGON")
    assert info.value.code == "geometry.wrong_type"
    assert "Point" in info.value.message


def test_swapped_latitude_longitude_detected_against_national_outline() -> None:
    outline = country_outline("COL")
    check_placement(np.array([shapely.Point(X0, Y0)], dtype=object), outline)
    with pytest.raises(GeometryError) as info:
        check_placement(np.array([shapely.Point(Y0, X0)], dtype=object), outline)
    assert info.value.code == "geometry.swapped_lat_lon"
    assert "Swap" in info.value.hint


def test_projected_coordinates_given_as_degrees_refused() -> None:
    with pytest.raises(GeometryError) as info:
        check_placement(np.array([shapely.Point(500000, 550000)], dtype=object), country_outline("COL"))
    assert info.value.code == "geometry.out_of_range"


def test_area_is_measured_in_metres_with_holes_subtracted() -> None:
    outer = area_m2(VALID["square"]) * 9
    hole = area_m2(VALID["square"])
    assert area_m2(VALID["with a hole"]) == pytest.approx(outer - hole, rel=1e-3)


def test_each_geometry_measured_in_its_own_utm_zone() -> None:
    # The same 1 km square at two longitudes falls in different UTM zones; both measure ~1 km².
    geod = Geod(ellps="WGS84")
    squares = []
    for lon in (-75.5, -69.5):
        assert utm_epsg(lon, 5) in (32618, 32619)
        squares.append(shapely.box(lon, 5.0, lon + 0.009, 5.009))
    measured = areas_m2(np.array(squares, dtype=object))
    for sq, m in zip(squares, measured, strict=True):
        assert m == pytest.approx(abs(geod.geometry_area_perimeter(sq)[0]), rel=2e-3)


@settings(max_examples=60, deadline=None)
@given(lon=st.floats(-179, 179), lat=st.floats(-80, 80), w=st.floats(1e-4, 0.05), h=st.floats(1e-4, 0.05))
def test_utm_area_agrees_with_geodesic_area(lon: float, lat: float, w: float, h: float) -> None:
    box = shapely.box(lon, lat, lon + w, lat + h)
    geodesic = abs(Geod(ellps="WGS84").geometry_area_perimeter(box)[0])
    assert area_m2(box) == pytest.approx(geodesic, rel=2e-2)
    assert lengths_m(np.array([box]))[0] > 0


@settings(max_examples=80, deadline=None)
@given(cuts=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0.01, 1), st.floats(0.01, 1)),
                     max_size=5))
def test_remaining_plus_released_equals_hazard(cuts: list[tuple[float, float, float, float]]) -> None:
    hazard = shapely.box(0, 0, 1, 1)
    released = [shapely.box(x, y, x + w, y + h) for x, y, w, h in cuts]
    rest = remaining_area(hazard, released)
    taken = shapely.intersection(hazard, shapely.union_all(released)) if released else shapely.Polygon()
    assert rest.area + taken.area == pytest.approx(hazard.area, abs=1e-9)
    assert rest.area <= hazard.area + 1e-12


def test_points_far_outside_the_country_are_refused_with_the_distance() -> None:
    from safeground.geo.placement import check_outside

    outline = country_outline("COL")
    coast = np.array([shapely.Point(-78.767, 1.822)], dtype=object)  # Tumaco, ~9 km off the coarse outline
    check_outside(coast, outline, tolerance_km=10, crs=32618)
    flipped = np.array([shapely.Point(-74.1, 4.6), shapely.Point(74.23, 4.20)], dtype=object)  # sign flipped
    with pytest.raises(GeometryError) as info:
        check_outside(flipped, outline, tolerance_km=10, crs=32618)
    assert info.value.code == "geometry.outside_country" and info.value.details["index"] == 1
    assert "km outside" in info.value.message
