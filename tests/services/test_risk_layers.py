"""Context layers as risk features: distances within the stated bound, the side of the line of contact, counts of
points, the demo's configured layers, and the errors a user meets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from safeground.domain.config import parse_config
from safeground.domain.errors import SafeGroundError
from safeground.io.naturalearth import country_outline
from safeground.scenario.truth import context_path
from safeground.services.risk_grid import national_grid
from safeground.services.risk_layers import (
    SPACING_M,
    LayerSpec,
    layer_features,
    layer_features_at,
    layers_for,
    line_distance,
    parse_layer,
)
from safeground.services.workspace import Workspace

DEMO_BOX = "-72.6,4.6,-71.4,5.8"
PLACES = Path(__file__).resolve().parents[2] / "src" / "safeground" / "data" / "naturalearth" / \
    "ne_110m_populated_places.geojson"

coordinate = st.floats(-5000, 5000, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(line=st.lists(st.tuples(coordinate, coordinate), min_size=2, max_size=8, unique=True),
       cells=st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=30))
def test_a_line_distance_is_never_below_the_exact_one_nor_more_than_half_the_spacing_above(
        line: list[tuple[float, float]], cells: list[tuple[float, float]]) -> None:
    geom = shapely.LineString(line)
    xy = np.array(cells)
    d, side = line_distance(np.array([geom]), xy)
    exact = shapely.distance(geom, shapely.points(xy))
    assert (d >= exact - 1e-6).all()
    assert (d <= exact + SPACING_M / 2 + 1e-6).all()
    assert set(np.unique(side)) <= {-1.0, 1.0}


@settings(max_examples=60, deadline=None)
@given(x0=coordinate, y0=coordinate, angle=st.floats(0, 2 * np.pi), length=st.floats(100, 20_000),
       cells=st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=30))
def test_left_of_a_line_as_digitised_is_positive(x0: float, y0: float, angle: float, length: float,
                                                  cells: list[tuple[float, float]]) -> None:
    dx, dy = np.cos(angle) * length, np.sin(angle) * length
    # Three collinear vertices: the middle one must not confuse the side.
    geom = shapely.LineString([(x0, y0), (x0 + dx / 2, y0 + dy / 2), (x0 + dx, y0 + dy)])
    xy = np.array(cells)
    cross = dx * (xy[:, 1] - y0) - dy * (xy[:, 0] - x0)
    clear = np.abs(cross) / length > 1.0  # not on the line itself
    _, side = line_distance(np.array([geom]), xy)
    assert (side[clear] == np.sign(cross[clear])).all()
    _, reversed_side = line_distance(np.array([geom.reverse()]), xy)
    assert (reversed_side[clear] == -side[clear]).all()  # drawn the other way, the sides swap


@pytest.fixture(scope="module")
def demo_context(small_demo: tuple[Workspace, Path]) -> Path:
    return context_path(small_demo[1])


def test_the_demo_configures_its_context_file_and_settlements(small_demo: tuple[Workspace, Path],
                                                              demo_context: Path) -> None:
    ws, _ = small_demo
    specs = layers_for(ws)
    assert [(s.kind, s.layer) for s in specs] == [("contact", "line_of_contact"), ("road", "roads"),
                                                  ("water", "rivers"), ("bridge", "bridges"), ("settlement", None)]
    assert Path(specs[0].file) == demo_context.resolve() and specs[-1].file == "db"
    assert layers_for(ws, use_layers=False) == []
    assert layers_for(ws, ("road=x.gpkg",)) == [LayerSpec("road", "x.gpkg")]  # named layers replace the config


@pytest.fixture(scope="module")
def demo_ws(any_small_demo: str) -> Iterator[Workspace]:
    """The small demo on each backend in turn (its settlements are read from the store)."""
    with Workspace.open(any_small_demo, user="ana") as ws:
        yield ws


def test_features_of_the_demo_grid_against_shapely_and_the_records(demo_ws: Workspace) -> None:
    ws = demo_ws
    grid, _ = national_grid(ws, 2000, DEMO_BOX)
    xy = grid.xy()
    f = layer_features(ws, layers_for(ws), xy, grid.crs)
    assert f.names == ["ctx_contact_dist", "ctx_contact_side", "ctx_road_dist", "ctx_water_dist",
                       "ctx_settlement_dist", "ctx_settlement_n5km", "ctx_bridge_dist", "ctx_bridge_n5km"]
    assert f.values.shape == (len(xy), len(f.names)) and not np.isnan(f.values).any()
    # Distances: within the bound of the exact distance to the real lines, measured by shapely in the same CRS.
    from safeground.geo.crs import reproject

    ctx = context_path(Path(ws.store.side_path))
    for name, layer in (("ctx_contact_dist", "line_of_contact"), ("ctx_road_dist", "roads")):
        lines = reproject(pyogrio.read_dataframe(ctx, layer=layer).geometry.values, 4326, grid.crs)
        exact = shapely.distance(shapely.union_all(lines), shapely.points(xy[::7])) / 1000
        got = f.values[::7, f.names.index(name)]
        assert (got >= exact - 1e-9).all() and (got <= exact + SPACING_M / 2000 + 1e-9).all()
    # The signed distance is the distance with a sign, and both sides of the front are in the region.
    side = f.values[:, f.names.index("ctx_contact_side")]
    np.testing.assert_allclose(np.abs(side), f.values[:, 0])
    assert (side > 0).any() and (side < 0).any()
    # Settlements come from the database's priority targets; counts within 5 km by brute force.
    towns = ws.store.query("priority_target", where={"kind": "settlement"}, fields=["name"])
    town_xy = shapely.get_coordinates(reproject(np.array([t["geometry"] for t in towns]), 4326, grid.crs))
    brute = (np.hypot(*(xy[:50, None, :] - town_xy[None, :, :]).transpose(2, 0, 1)) <= 5000).sum(axis=1)
    assert f.values[:50, f.names.index("ctx_settlement_n5km")].tolist() == brute.tolist()
    assert f.report["layers"][-1]["features"] == len(towns)


def test_a_real_point_file_on_cells_given_as_points(ws: Workspace) -> None:
    """Natural Earth's populated places as settlements, for points in Colombia (no CRS configured: UTM)."""
    outline = country_outline("COL")
    points = np.array([shapely.Point(-74.08, 4.61), None, outline.representative_point()], dtype=object)
    f = layer_features_at(ws, [LayerSpec("settlement", str(PLACES))], points)
    assert f.names == ["ctx_settlement_dist", "ctx_settlement_n5km"]
    assert f.values[0, 0] < 5 and f.values[0, 1] >= 1  # Bogotá is one of the places
    assert np.isnan(f.values[1]).all()  # a cell without a location has no features


@pytest.mark.parametrize(("spec", "code"), [
    ("roads=x.gpkg", "risk.unknown_layer_kind"),
    ("road", "risk.bad_layer"),
    ("road=db", "risk.bad_layer"),
])
def test_a_bad_layer_option_is_refused_with_its_code(spec: str, code: str) -> None:
    with pytest.raises(SafeGroundError) as info:
        parse_layer(spec)
    assert info.value.code == code and info.value.hint


def test_missing_empty_and_wrong_layers_are_refused(ws: Workspace, tmp_path: Path) -> None:
    xy = np.array([[500_000.0, 500_000.0]])
    cases = {"risk.layer_not_found": LayerSpec("road", str(tmp_path / "nowhere.gpkg"))}
    empty = tmp_path / "empty.gpkg"
    pyogrio.write_dataframe(_frame([], "LineString"), empty, layer="roads")
    cases["risk.empty_layer"] = LayerSpec("road", str(empty), "roads")
    points = tmp_path / "front.gpkg"
    pyogrio.write_dataframe(_frame([shapely.Point(-72, 5)], "Point"), points, layer="front")
    cases["risk.bad_layer_geometry"] = LayerSpec("contact", str(points))
    cases["io.layer_not_found"] = LayerSpec("road", str(empty), "rivers")
    for code, spec in cases.items():
        with pytest.raises(SafeGroundError) as info:
            layer_features(ws, [spec], xy, 32618)
        assert info.value.code == code, (code, info.value)
    with pytest.raises(SafeGroundError) as config_error:
        parse_config({"risk": {"layers": [{"kind": "minefield", "file": "x.gpkg"}]}})
    assert config_error.value.code == "config.invalid" and "minefield" in str(config_error.value)


def _frame(geoms: list[shapely.Geometry], kind: str) -> object:
    import geopandas as gpd

    return gpd.GeoDataFrame({"name": [f"f{i}" for i in range(len(geoms))]},
                            geometry=gpd.GeoSeries(geoms, crs=4326))


def test_walk_forward_measures_the_same_undated_layers_for_fit_and_prediction(antioquia_ws: Workspace) -> None:
    """The register's real Antioquia events, Natural Earth's places as settlements: the layer's features enter
    the fit and the prediction, and its distance is a baseline of its own beside the evidence distances."""
    from safeground.services.risk_model import ModelSettings
    from safeground.services.risk_walk_forward import walk_forward

    wf = walk_forward(antioquia_ws, (2004, 2009, 2014), cell_size=20_000, area="-77.2,5.4,-73.8,8.9",
                      settings=ModelSettings(trees=10, grid=((7, 20),)),
                      layers=[LayerSpec("settlement", str(PLACES))])
    assert {"ctx_settlement_dist", "ctx_settlement_n5km"} <= set(wf.run["parameters"]["features"])
    assert wf.run["parameters"]["layers"] == [f"settlement={PLACES}"]
    assert "ctx_settlement_dist" in [r["score"] for r in wf.table]
