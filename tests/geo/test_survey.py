"""Coordinates as deminers write them: DMS, and perimeters walked by bearing and distance."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from safeground.domain.errors import GeometryError, ValidationError
from safeground.geo.measure import area_m2
from safeground.geo.survey import format_dms, format_mgrs, geodesic_leg, parse_dms, parse_mgrs, perimeter


@pytest.mark.parametrize(("text", "value"), [
    ("4°35'46.3\"N", 4 + 35 / 60 + 46.3 / 3600), ("N 4 35 46.3", 4 + 35 / 60 + 46.3 / 3600),
    ("74°04'36.5\"W", -(74 + 4 / 60 + 36.5 / 3600)), ("W 74 04 36.5", -(74 + 4 / 60 + 36.5 / 3600)),
    ("4:35:46,3 S", -(4 + 35 / 60 + 46.3 / 3600)), ("-74.0768", -74.0768), ("4°35.5'N", 4 + 35.5 / 60),
])
def test_dms_forms(text: str, value: float) -> None:
    assert parse_dms(text) == pytest.approx(value, abs=1e-9)


@pytest.mark.parametrize("text", ["4°75'N", "N 4 35 46 S", "north-ish", ""])
def test_bad_dms_refused(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_dms(text)
    assert info.value.code == "geometry.bad_dms"


@given(st.integers(0, 89), st.integers(0, 59), st.floats(0, 59.999), st.sampled_from("NSEW"))
def test_dms_round_trip(d: int, m: int, s: float, h: str) -> None:
    value = parse_dms(f"{d}°{m}'{s:.4f}\"{h}")
    assert abs(value) == pytest.approx(d + m / 60 + round(s, 4) / 3600, abs=1e-9)
    assert (value < 0) == (h in "SW" and value != 0)


def test_square_perimeter_closes_and_has_its_area() -> None:
    p = perimeter((-72.5, 5.0), (45, 50), [(90, 100), (180, 100), (270, 100), (0, 100)])
    assert p.misclosure_m == pytest.approx(0, abs=1e-6)
    assert area_m2(p.polygon) == pytest.approx(10_000, rel=2e-3)
    assert p.polygon.is_valid and p.length_m == 400


def test_perimeter_that_fails_to_close_is_refused_with_the_misclosure() -> None:
    with pytest.raises(GeometryError) as info:
        perimeter((-72.5, 5.0), (45, 50), [(90, 100), (180, 100), (270, 100), (0, 88)])
    assert info.value.code == "geometry.perimeter_not_closed" and "12.0 m" in info.value.message
    assert info.value.details["misclosure_m"] == pytest.approx(12.0, abs=1e-6)


# --- the inverse: coordinates written for documents a team carries ---------------------------------------


@given(st.floats(-90, 90), st.sampled_from(["lat", "lon"]))
def test_format_dms_reads_back(value: float, axis: str) -> None:
    value = value * 2 if axis == "lon" else value
    text = format_dms(value, axis)
    # Written to 1/100 of a second: read back within half of that.
    assert parse_dms(text) == pytest.approx(value, abs=0.005 / 3600 + 1e-12)
    assert text[-1] in ("NS" if axis == "lat" else "EW")
    minutes, seconds = text.split("°")[1].split("'")[0], text.split("'")[1].rstrip('"NSEW')
    assert int(minutes) < 60 and float(seconds) < 60


@example(0.0, -2.3e-10)  # a hair south of the equator, where the library once wrote what it could not read
@given(st.floats(-179.9, 179.9), st.floats(-79.9, 83.9))
def test_format_mgrs_reads_back_within_a_metre(lon: float, lat: float) -> None:
    import pyproj

    back = parse_mgrs(format_mgrs(lon, lat))
    # A 1 m reference names the south-west corner of its square metre: at most √2 m away.
    assert pyproj.Geod(ellps="WGS84").inv(lon, lat, *back)[2] < 1.5


@given(st.floats(-75, -70), st.floats(2, 8), st.floats(-0.05, 0.05), st.floats(-0.05, 0.05))
def test_geodesic_leg_is_pyproj_inverse(lon: float, lat: float, dx: float, dy: float) -> None:
    import pyproj

    fwd, _back, dist = pyproj.Geod(ellps="WGS84").inv(lon, lat, lon + dx, lat + dy)
    bearing, metres = geodesic_leg((lon, lat), (lon + dx, lat + dy))
    assert 0 <= bearing < 360
    assert metres == pytest.approx(dist)
    if dist > 0.01:
        assert min((bearing - fwd) % 360, (fwd - bearing) % 360) == pytest.approx(0, abs=1e-9)
