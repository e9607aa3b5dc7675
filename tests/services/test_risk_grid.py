"""Risk surface cells: a square grid in the national CRS over Colombia's real outline, an admin area or a box."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.geo.measure import areas_m2
from safeground.services.risk_grid import national_grid, square_grid, study_area
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test on both backends."""
    return any_ws


@settings(max_examples=60, deadline=None)
@given(x0=st.floats(-50_000, 50_000), y0=st.floats(-50_000, 50_000), w=st.floats(1, 40_000),
       h=st.floats(1, 40_000), size=st.sampled_from([250.0, 1000.0, 5000.0]))
def test_a_cell_is_in_the_grid_exactly_when_its_centre_is_in_the_area(x0: float, y0: float, w: float, h: float,
                                                                      size: float) -> None:
    area = shapely.box(x0, y0, x0 + w, y0 + h)
    # Brute force: every cell of the world whose centre lies strictly inside the box.
    cols = np.arange(np.floor(x0 / size) - 1, np.ceil((x0 + w) / size) + 1)
    rows = np.arange(np.floor(y0 / size) - 1, np.ceil((y0 + h) / size) + 1)
    cx, cy = np.meshgrid((cols + 0.5) * size, (rows + 0.5) * size)
    expected = int(shapely.contains_xy(area, cx.ravel(), cy.ravel()).sum())
    if expected == 0:
        with pytest.raises(ValidationError) as info:
            square_grid(area, size, 32618)
        assert info.value.code == "risk.empty_grid"
        return
    g = square_grid(area, size, 32618)
    assert len(g) == expected
    assert len(set(g.ids().tolist())) == len(g)  # ids are unique ...
    x, y = g.centres()
    assert shapely.contains_xy(area, x, y).all()
    # ... and a cell keeps its id in any other area that holds it (aligned on multiples of the size).
    bigger = square_grid(shapely.box(x0 - 3 * size, y0 - 3 * size, x0 + w + size, y0 + h + size), size, 32618)
    assert set(g.ids().tolist()) <= set(bigger.ids().tolist())


def test_the_national_grid_covers_colombia_in_its_national_crs(ws: Workspace) -> None:
    grid, described = national_grid(ws, 25_000)
    assert described == "the national outline" and grid.crs == ws.national_crs == 32618
    outline_km2 = float(areas_m2(np.array([ws.outline]))[0]) / 1e6
    # Natural Earth's Colombia is about 1.14 million km²; whole cells by their centre cover it within 2%.
    assert len(grid) * 625 == pytest.approx(outline_km2, rel=0.02)
    polys = grid.polygons_wgs84()
    assert shapely.contains(ws.outline, grid.points_wgs84()).all()
    # Each cell's polygon is its 25 km square: ~625 km² measured in its UTM zone, holding its own centre.
    np.testing.assert_allclose(areas_m2(polys[:50]) / 1e6, 625, rtol=0.01)
    assert shapely.contains(polys, grid.points_wgs84()).all()


def test_area_is_a_box_or_an_admin_code_else_refused(ws: Workspace, areas: dict[str, dict]) -> None:
    grid, described = national_grid(ws, 1000, "-72.6,4.9,-72.4,5.1")
    assert described.startswith("box") and 400 < len(grid) < 550  # 0.2° x 0.2°: about 22 x 22 km
    vista, described = national_grid(ws, 1000, "CO50711")
    assert "Vistahermosa" in described and len(vista) == pytest.approx(len(grid), rel=0.05)
    for bad, code in (("-72,5,-73,6", "risk.bad_area"), ("a,b,c,d", "risk.bad_area"), ("XX99", "risk.unknown_area")):
        with pytest.raises((ValidationError, NotFoundError)) as info:
            study_area(ws, bad)
        assert info.value.code == code
    with pytest.raises(ValidationError) as size:
        national_grid(ws, 0.5, "CO50")
    assert size.value.code == "risk.too_many_cells"
