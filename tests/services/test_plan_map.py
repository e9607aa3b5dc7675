"""The current clearance plan on the map by week: each planned hazard in the signed-in tiles with its teams, its
weeks and the week it is released; fresh when another plan is adopted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
import shapely
from tests.conftest import Builder

from safeground.services import plan_map, tiles
from safeground.services.plan_make import make_plan
from safeground.services.plan_runs import current_plan_items
from safeground.services.records import update_record
from safeground.services.workspace import Workspace
from safeground.store.tile_cache import TileCache

Z12 = (12, 1223, 1990)
OTHER_BOX = shapely.box(-72.498, 5.002, -72.496, 5.004)
FAR_BOX = shapely.box(-71.92, 6.99, -71.91, 7.00)
FAR = (12, 1229, 1968)
NEW_BOX = shapely.box(-72.300, 5.300, -72.299, 5.301)
NEW = next(iter(tiles.tiles_covering(NEW_BOX.bounds, 12)))


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test on both backends."""
    return any_ws


def drawn(ws: Workspace, key: tuple[int, int, int], **kw: Any) -> dict[str, dict[str, Any]]:
    layer = mapbox_vector_tile.decode(tiles.tile(ws, *key, **kw)).get("plan", {})
    return {f["properties"]["ref"]: f["properties"] for f in layer.get("features", [])}


def store_plan(ws: Workspace, items: list[dict[str, Any]], *, start: str = "2026-01-05") -> dict[str, Any]:
    run = ws.store.write_plan_run({"kind": "plan", "start_date": start, "horizon_weeks": 26, "value": 1.0,
                                   "greedy_value": 1.0, "solve_seconds": 0.1, "status": "feasible"}, items,
                                  user="ana")
    ws.store.adopt_plan_run(run["id"], user="ana")
    return run


def item(hazard: dict[str, Any], team: str, start: int, end: int, released: int | None) -> dict[str, Any]:
    return {"team_ref": team, "hazard_uuid": hazard["uuid"], "hazard_ref": hazard["ref"], "start_week": start,
            "end_week": end, "area_m2": 1000.0, "method": "manual", "released_week": released}


def test_no_plan_draws_nothing(ws: Workspace, build: Builder) -> None:
    build.hazard()
    assert drawn(ws, Z12) == {} and plan_map.plan_summary(ws) == {"current": False}


def test_a_shared_hazard_shows_both_teams_its_weeks_and_its_release(ws: Workspace, build: Builder,
                                                                   tmp_path: Path) -> None:
    shared, later = build.hazard(), build.hazard("sha", geometry=OTHER_BOX)
    cache = TileCache(tmp_path / "t.tiles")
    run = store_plan(ws, [item(shared, "TM-000001", 0, 3, 5), item(shared, "TM-000002", 2, 5, 5),
                          item(later, "TM-000001", 6, 9, None)])
    got = drawn(ws, Z12, cache=cache)
    assert got[shared["ref"]] == {"ref": shared["ref"], "teams": "TM-000001, TM-000002", "method": "manual",
                                  "start_week": 0, "end_week": 5, "released_week": 5, "released_on": "2026-02-15",
                                  "plan": run["id"]}
    assert "released_week" not in got[later["ref"]], "not released within the plan: no release week"
    # another plan adopted (after the hazard's polygon changed): in the next tile, with the polygon as it is now
    second = store_plan(ws, [item(later, "TM-000003", 0, 1, 1)], start="2026-03-02")
    update_record(ws, "hazard_area", later["uuid"], {"geometry": shapely.box(-72.4985, 5.002, -72.496, 5.006)},
                  expected_version=later["version"])
    got = drawn(ws, Z12, cache=cache)
    assert set(got) == {later["ref"]} and got[later["ref"]]["plan"] == second["id"]
    assert got[later["ref"]]["released_on"] == "2026-03-15"  # the last day of its second week
    assert plan_map.plan_summary(ws)["title"] == f"Plan run {second['id']}, from 2026-03-02 (26 weeks)"
    public = tiles.tile(ws, *Z12, layers=tiles.PUBLIC_LAYERS, cache=TileCache(tmp_path / "p.tiles"))
    assert b"TM-000003" not in public and "plan" not in mapbox_vector_tile.decode(public)


def test_a_planned_hazard_moved_after_adoption_is_drawn_where_it_is_now(ws: Workspace, build: Builder,
                                                                         tmp_path: Path) -> None:
    # No new plan is adopted: the plan's tiles that the hazard's old and new polygons touch are drawn again,
    # and the others stay cached.
    moved, stays = build.hazard(), build.hazard("sha", geometry=FAR_BOX)
    cache = TileCache(tmp_path / "m.tiles")
    store_plan(ws, [item(moved, "TM-000001", 0, 1, 1), item(stays, "TM-000002", 0, 1, 1)])
    assert set(drawn(ws, Z12, cache=cache)) == {moved["ref"]}
    assert set(drawn(ws, FAR, cache=cache)) == {stays["ref"]}
    far_before = cache.get("all", "plan", *FAR)
    assert drawn(ws, NEW, cache=cache) == {}
    update_record(ws, "hazard_area", moved["uuid"], {"geometry": NEW_BOX}, expected_version=moved["version"])
    assert drawn(ws, Z12, cache=cache) == {}
    assert set(drawn(ws, NEW, cache=cache)) == {moved["ref"]}
    assert cache.get("all", "plan", *FAR) == far_before  # untouched, still cached


@pytest.fixture(scope="module")
def planned_demo(any_small_demo: str) -> Iterator[Workspace]:
    """A copy of the small demo with an adopted 6-week plan, on each backend in turn."""
    with Workspace.open(any_small_demo, user="ana") as ws:
        make_plan(ws, start=dt.date(2026, 1, 5), horizon=6, time_limit=5, bound_time_limit=5, adopt_run=True)
        yield ws


def test_every_hazard_of_the_demo_plan_is_drawn_with_its_release_week(planned_demo: Workspace) -> None:
    doc = current_plan_items(planned_demo)
    released = {i["hazard_ref"]: i["released_week"] for i in doc["items"]}
    assert len(released) >= 5
    geoms = {i["hazard_ref"]: i["geometry"] for i in doc["items"]}
    seen: dict[str, Any] = {}
    for geom in geoms.values():
        for key in tiles.tiles_covering(geom.bounds, 10):
            seen.update(drawn(planned_demo, key))
    assert set(seen) == set(released)
    assert {r: p.get("released_week") for r, p in seen.items()} == released
    assert {p["plan"] for p in seen.values()} == {doc["run"]["id"]}
