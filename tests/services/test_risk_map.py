"""The current risk surface on the map: its cells in the signed-in tiles (never the public ones), a cell's risk and
top reasons with the run's id and date, fresh when another run is adopted, within a user's area."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from safeground.domain.errors import NotFoundError
from safeground.services import risk_map, tiles
from safeground.services.records import add_record
from safeground.services.workspace import Workspace
from safeground.store.tile_cache import TileCache

from ..conftest import HAZARD_BOX, RISK_RELAND

#: A 4 x 4 grid of 0.01° cells around the test hazard's place in eastern Colombia, and a zoom-12 tile it meets.
ORIGIN = (-72.52, 4.98)
Z12 = (12, 1223, 1990)
REASONS = [{"feature": "ev_accident_dist", "value": 1.2, "effect": 0.9,
            "text": "raises risk: 1.2 km from a 2013 accident"},
           {"feature": "ev_device_n5km", "value": 3, "effect": 0.4, "text": "raises risk: 3 finds within 5 km"},
           {"feature": "elevation", "value": 2100, "effect": -0.1, "text": "lowers risk: elevation = 2100"},
           {"feature": "roads_dist", "value": 9.0, "effect": 0.01, "text": "raises risk: roads_dist = 9"}]


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test on both backends."""
    return any_ws


def grid(n: int = 4, size: float = 0.01) -> list[shapely.Polygon]:
    x0, y0 = ORIGIN
    return [shapely.box(x0 + i * size, y0 + j * size, x0 + (i + 1) * size, y0 + (j + 1) * size)
            for i in range(n) for j in range(n)]


def surface_run(ws: Workspace, risks: list[float], *, as_of: str = "2014-12-31", adopt: bool = True,
                geoms: list[shapely.Geometry] | None = None, kind: str = "surface") -> dict[str, Any]:
    cells = geoms if geoms is not None else grid()
    assert len(cells) == len(risks)
    run = ws.store.write_risk_run({"kind": kind, "as_of": as_of, "cells_source": "grid",
                                   "metrics": {"split": "leave one group out", "served": "model",
                                               "verdict": "The model beats every baseline.",
                                               "scores": [{"score": "model", "roc_auc": 0.95, "recall_10": 0.6},
                                                          {"score": "ev_any_dist", "roc_auc": 0.93,
                                                           "recall_10": 0.59}]}},
                                  {"cell_id": [f"c{i}" for i in range(len(cells))], "risk": risks,
                                   "geometry": cells, "reasons": [REASONS] * len(cells)}, user="ana")
    if adopt:
        ws.store.adopt_risk_run(run["id"], user="ana")
    return run


def cells_in(data: bytes) -> list[dict[str, Any]]:
    layer = mapbox_vector_tile.decode(data).get("risk_surface", {})
    return [f["properties"] for f in layer.get("features", [])]


def test_no_current_run_draws_nothing_and_says_so(ws: Workspace) -> None:
    surface_run(ws, [0.5] * 16, adopt=False)  # stored, never adopted: not on the map
    assert cells_in(tiles.tile(ws, *Z12)) == []
    assert risk_map.run_summary(ws) == {"current": False, "caveat": risk_map.CAVEAT}


def test_the_current_run_is_drawn_with_its_risk_and_a_click_gives_reasons_and_run(ws: Workspace) -> None:
    risks = [i / 16 for i in range(16)]
    run = surface_run(ws, risks)
    drawn = cells_in(tiles.tile(ws, *Z12))
    assert drawn and {c["run"] for c in drawn} == {run["id"]}
    assert all(c["risk"] == pytest.approx(risks[c["cell"]], abs=1e-3) for c in drawn)
    detail = risk_map.cell_detail(ws, run["id"], drawn[0]["cell"])
    assert detail["title"] == f"Risk surface run {run['id']}, as of 2014-12-31"
    assert detail["risk"] == pytest.approx(risks[drawn[0]["cell"]])
    assert detail["reasons"] == [r["text"] for r in REASONS[:3]], "the top three reasons, most important first"
    assert "not a hazard record" in detail["caveat"]


def test_public_tiles_never_show_predicted_risk(ws: Workspace, tmp_path: Path) -> None:
    add_record(ws, "hazard_area", {"name": "North field", "hazard_class": "cha", "status": "open",
                                   "geometry": HAZARD_BOX})
    surface_run(ws, [0.9] * 16)
    public = tiles.tile(ws, *Z12, layers=tiles.PUBLIC_LAYERS, cache=TileCache(tmp_path / "p.tiles"))
    assert set(mapbox_vector_tile.decode(public)) == {"public_hazards"}, "the hazard, and no risk cell"
    assert b"risk_surface" not in public
    assert all(layer.name != "risk_surface" for layer in tiles.PUBLIC_LAYERS)


def test_adopting_another_run_redraws_the_cached_tiles(ws: Workspace, tmp_path: Path) -> None:
    cache = TileCache(tmp_path / "c.tiles")
    first = surface_run(ws, [0.1] * 16)
    assert {c["risk"] for c in cells_in(tiles.tile(ws, *Z12, cache=cache))} == {0.1}
    second = surface_run(ws, [0.7] * 16, as_of="2019-12-31")
    drawn = cells_in(tiles.tile(ws, *Z12, cache=cache))
    assert {(c["run"], c["risk"]) for c in drawn} == {(second["id"], 0.7)}
    # a map drawn before the adoption still gets the cell it showed, named as the older run
    assert risk_map.cell_detail(ws, first["id"], 0)["title"] == f"Risk surface run {first['id']}, as of 2014-12-31"
    assert risk_map.cell_detail(ws, second["id"], 0)["date"] == "2019-12-31"


def test_a_users_area_leaves_out_cells_outside(ws: Workspace) -> None:
    run = surface_run(ws, [0.5] * 16)
    west = shapely.box(-72.53, 4.97, -72.505, 5.03)  # the first two columns of cells
    drawn = {c["cell"] for c in cells_in(tiles.tile(ws, *Z12, restriction=west))}
    assert drawn and drawn <= set(range(8))
    assert risk_map.cell_detail(ws, run["id"], 0, within=west)["position"] == 0
    with pytest.raises(NotFoundError) as info:
        risk_map.cell_detail(ws, run["id"], 15, within=west)
    assert info.value.code == "risk.cell_not_found"


def test_unknown_runs_and_cells_are_not_found(ws: Workspace) -> None:
    run = surface_run(ws, [0.5] * 16)
    with pytest.raises(NotFoundError) as info:
        risk_map.cell_detail(ws, run["id"], 16)
    assert info.value.code == "risk.cell_not_found"
    with pytest.raises(NotFoundError) as info:
        risk_map.cell_detail(ws, run["id"] + 1, 0)
    assert info.value.code == "risk.run_not_found"


def test_summary_names_the_run_the_score_served_and_its_validation(ws: Workspace) -> None:
    run = surface_run(ws, [0.01, 0.07, 0.15, 0.3] * 4)
    summary = risk_map.run_summary(ws)
    assert summary["run"] == run["id"] and summary["title"] == f"Risk surface run {run['id']}, as of 2014-12-31"
    assert summary["served"] == "model" and summary["adopted_by"] == "ana"
    assert summary["validation"]["columns"] == ["roc_auc", "recall_10"]
    assert [r["score"] for r in summary["validation"]["rows"]] == ["model", "ev_any_dist"]
    assert [b["cells"] for b in summary["bands"]] == [4, 4, 4, 4, 0]


def test_every_cell_of_the_reland_grid_is_drawn_with_its_risk(ws: Workspace) -> None:
    """The RELand grid's 7,019 real cell centres (eastern Antioquia) as 1 km cells: every cell meeting a tile is
    in it, with its risk."""
    with RISK_RELAND.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    lon = np.array([float(r["LONGITUD_X"]) for r in rows])
    lat = np.array([float(r["LATITUD_Y"]) for r in rows])
    half = 0.0045  # about 500 m
    cells = list(shapely.box(lon - half, lat - half, lon + half, lat + half))
    risks = np.round(np.random.default_rng(6).random(len(cells)), 3).tolist()
    surface_run(ws, risks, geoms=cells)
    z = 10
    key = next(iter(tiles.tiles_covering((lon[0], lat[0], lon[0], lat[0]), z)))
    box = shapely.box(*tiles.tile_bounds(*key))
    expected = {i for i, c in enumerate(cells) if c.intersects(box)}
    drawn = cells_in(tiles.tile(ws, *key))
    assert len(expected) > 100 and {c["cell"] for c in drawn} >= expected
    assert all(c["risk"] == pytest.approx(risks[c["cell"]]) for c in drawn)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), max_size=200))
def test_risk_bands_count_every_cell_once_in_its_band(values: list[float]) -> None:
    bands = risk_map.risk_bands(np.array(values, dtype=np.float64))
    assert sum(b["cells"] for b in bands) == len(values)
    for b in bands:
        inside = [v for v in values if b["low"] <= v < b["high"] or (b["high"] == 1.0 and v == 1.0)]
        assert b["cells"] == len(inside)
