"""Vector tiles: what the web map draws, fresh after edits, within a user's area, never a casualty's details."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from safeground.domain.errors import ValidationError
from safeground.io.naturalearth import country_outline
from safeground.services import tiles as T
from safeground.services.records import add_record, retire_record, update_record
from safeground.services.workspace import Workspace
from safeground.store.base import change_mark
from safeground.store.tile_cache import TileCache

from ..conftest import EAST_HALF, GPKG_ONLY, HAZARD_BOX, WEST_HALF, Builder


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

# Zoom 12 tiles of the test hazard (it straddles two), and one far away in the same country.
Z12 = [(12, 1223, 1990), (12, 1223, 1991)]
FAR = (12, 1229, 1968)  # holds FAR_BOX, around -71.9, 7.0
FAR_BOX = shapely.box(-71.92, 6.99, -71.91, 7.00)


def decode(data: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(data)


def props(data: bytes, layer: str) -> list[dict[str, Any]]:
    return [f["properties"] for f in decode(data).get(layer, {}).get("features", [])]


def refs(ws: Workspace, key: tuple[int, int, int], layer: str = "hazards", **kw: Any) -> set[str]:
    return {p["ref"] for p in props(T.tile(ws, *key, **kw), layer)}


def test_hazard_tile_holds_class_status_marking(ws: Workspace, build: Builder) -> None:
    hazard = build.hazard("sha", marking="fenced")
    data = T.tile(ws, *Z12[0])
    (feature,) = decode(data)["hazards"]["features"]
    assert feature["properties"] == {"ref": hazard["ref"], "name": "La Esperanza", "hazard_class": "sha",
                                     "status": "open", "marking": "fenced", "review_state": "submitted"}
    assert feature["geometry"]["type"] == "Polygon"
    # the hazard straddles the two tiles: each holds its part
    assert refs(ws, Z12[1]) == {hazard["ref"]}


def test_every_layer_with_its_attributes(ws: Workspace, build: Builder) -> None:
    org = build.organisation()
    hazard = build.hazard()
    build.evidence(hazard)
    act = build.clearance(hazard, org)
    released = build.release(act, hazard, "cleared")
    mf = add_record(ws, "minefield_record", {"name": "MF 7", "reliability": "a", "mine_count": 40,
                                            "geometry": EAST_HALF})
    target = add_record(ws, "priority_target", {"name": "Vereda El Tigre", "kind": "settlement",
                                               "displaced_households": 35,
                                               "geometry": shapely.Point(-72.497, 5.003)})
    data = b"".join(T.tile(ws, *key) for key in Z12)
    got = {layer: {p["ref"]: p for p in props(data, layer)} for layer in
           ("hazards", "released_land", "minefield_records", "priority_targets")}
    assert set(got["hazards"]) == {hazard["ref"]}
    assert got["released_land"][released["ref"]]["kind"] == "cleared"
    assert got["minefield_records"][mf["ref"]] == {"ref": mf["ref"], "name": "MF 7", "reliability": "a",
                                                   "mine_count": 40}
    assert got["priority_targets"][target["ref"]]["displaced_households"] == 35


def test_layers_follow_their_zoom_range(ws: Workspace, build: Builder) -> None:
    build.hazard()
    add_record(ws, "minefield_record", {"reliability": "c", "geometry": EAST_HALF})
    (z, x, y), = T.tiles_covering(HAZARD_BOX.bounds, 7)
    layers = decode(T.tile(ws, z, x, y))
    assert "hazards" in layers and "minefield_records" not in layers  # minefield records from zoom 8
    (z, x, y), = T.tiles_covering(HAZARD_BOX.bounds, 5)
    assert "hazards" not in decode(T.tile(ws, z, x, y))


def test_empty_tiles_are_valid(ws: Workspace, build: Builder) -> None:
    build.hazard()
    data = T.tile(ws, *FAR)
    assert data == b""
    assert decode(data) == {}
    assert T.tile(ws, 0, 0, 0) == b""  # zoom 0: no layer shows


def test_edits_show_in_their_tiles_and_leave_others(ws: Workspace, build: Builder, tmp_path: Path) -> None:
    cache = TileCache(tmp_path / "edit.tiles")
    far = build.hazard("sha", geometry=FAR_BOX)
    far_tile = T.tile(ws, *FAR, cache=cache)
    assert refs(ws, FAR, cache=cache) == {far["ref"]}
    assert T.tile(ws, *Z12[0], cache=cache) == b""

    hazard = build.hazard()  # add
    assert refs(ws, Z12[0], cache=cache) == {hazard["ref"]}
    assert cache.get("all", "hazards", *FAR) == far_tile  # untouched, still cached

    update_record(ws, "hazard_area", hazard["uuid"], {"status": "worked_on"})  # update an attribute
    assert [p["status"] for p in props(T.tile(ws, *Z12[0], cache=cache), "hazards")] == ["worked_on"]

    moved = update_record(ws, "hazard_area", hazard["uuid"], {"geometry": FAR_BOX.buffer(0.001)})  # move
    assert T.tile(ws, *Z12[0], cache=cache) == b""
    assert refs(ws, FAR, cache=cache) == {far["ref"], moved["ref"]}

    retire_record(ws, "hazard_area", moved["uuid"], "duplicate of " + far["ref"])  # retire
    assert refs(ws, FAR, cache=cache) == {far["ref"]}


def test_refresh_drops_only_the_touched_tiles(ws: Workspace, build: Builder, tmp_path: Path) -> None:
    cache = TileCache(tmp_path / "r.tiles")
    build.hazard()
    build.hazard(geometry=FAR_BOX)
    stored = T.build_cache(ws, minzoom=6, maxzoom=14, cache=cache)
    assert stored["hazards"] > 0
    far_before = {z: cache.get("all", "hazards", *next(iter(T.tiles_covering(FAR_BOX.bounds, z))))
                  for z in range(6, 15)}
    build.hazard("sha", geometry=WEST_HALF)
    dropped = T.refresh(ws, cache)
    assert dropped > 0
    for z, data in far_before.items():
        assert cache.get("all", "hazards", *next(iter(T.tiles_covering(FAR_BOX.bounds, z)))) == data
    assert cache.get("all", "hazards", *Z12[0]) is None
    assert T.refresh(ws, cache) == 0  # nothing new


def test_refresh_can_render_the_dropped_tiles_at_once(ws: Workspace, build: Builder, tmp_path: Path) -> None:
    cache = TileCache(tmp_path / "bg.tiles")
    west = shapely.box(-72.5, 4.99, -72.495, 5.02)
    old = build.hazard(geometry=WEST_HALF)
    assert refs(ws, Z12[0], cache=cache) == refs(ws, Z12[0], cache=cache, restriction=west) == {old["ref"]}
    new = build.hazard("sha", geometry=shapely.box(-72.499, 5.006, -72.497, 5.009))
    outside = build.hazard("sha", geometry=shapely.box(-72.4905, 5.006, -72.4901, 5.009))
    assert T.refresh(ws, cache, render=True) >= 2  # as a background job would, before anyone asks
    for key, want in (("all", {old["ref"], new["ref"], outside["ref"]}), (None, {old["ref"], new["ref"]})):
        tileset = key or T.resolve_restriction(ws, west).key
        cached = cache.get(tileset, "hazards", *Z12[0])
        assert cached is not None and {p["ref"] for p in props(cached, "hazards")} == want


def test_build_cache_matches_tiles_rendered_on_demand(ws: Workspace, build: Builder, tmp_path: Path) -> None:
    build.hazard()
    built = TileCache(tmp_path / "b.tiles")
    T.build_cache(ws, minzoom=10, maxzoom=14, cache=built)
    lazy = TileCache(tmp_path / "l.tiles")
    for z in range(10, 15):
        for key in T.tiles_covering(HAZARD_BOX.bounds, z):
            assert props(T.tile(ws, *key, cache=built), "hazards") == props(T.tile(ws, *key, cache=lazy), "hazards")


def test_restriction_leaves_out_features_outside(ws: Workspace, build: Builder) -> None:
    inside = build.hazard(geometry=WEST_HALF)
    outside = build.hazard(geometry=shapely.box(-72.4905, 5.006, -72.4901, 5.009))
    west = shapely.box(-72.5, 4.99, -72.495, 5.02)
    assert refs(ws, Z12[0]) == {inside["ref"], outside["ref"]}
    assert refs(ws, Z12[0], restriction=west) == {inside["ref"]}
    # the real Colombian outline (Natural Earth), cut at the same meridian
    colombia_west = country_outline("COL").intersection(shapely.box(-80, -5, -72.495, 13))
    assert refs(ws, Z12[0], restriction=colombia_west) == {inside["ref"]}


def test_restriction_by_admin_area_codes(ws: Workspace, build: Builder) -> None:
    add_record(ws, "admin_area", {"name": "Oeste", "level": 1, "code": "CO01",
                                  "geometry": shapely.box(-72.6, 4.9, -72.495, 5.1)})
    add_record(ws, "admin_area", {"name": "Este", "level": 1, "code": "CO02",
                                  "geometry": shapely.box(-72.495, 4.9, -72.4, 5.1)})
    west = build.hazard(geometry=shapely.box(-72.499, 5.006, -72.497, 5.009))
    east = build.hazard(geometry=shapely.box(-72.493, 5.006, -72.491, 5.009))
    assert refs(ws, Z12[0], restriction={"CO01"}) == {west["ref"]}
    assert refs(ws, Z12[0], restriction={"CO02"}) == {east["ref"]}
    assert refs(ws, Z12[0], restriction={"CO01", "CO02"}) == {west["ref"], east["ref"]}
    with pytest.raises(ValidationError) as info:
        T.tile(ws, *Z12[0], restriction={"CO99"})
    assert info.value.code == "tiles.bad_restriction"


def test_casualties_only_as_counts_per_admin_area(ws: Workspace) -> None:
    add_record(ws, "admin_area", {"name": "Oeste", "level": 1, "code": "CO01",
                                  "geometry": shapely.box(-72.6, 4.9, -72.495, 5.1)})
    accident = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2024-02-03",
                                           "geometry": shapely.Point(-72.55, 5.0)})
    personal = {"given_name": "Zoraida", "family_name": "Quintero", "contact": "+57 311 555 0199",
                "national_id": "CC1098765432", "age": 37}
    add_record(ws, "casualty", {"accident": accident["uuid"], "outcome": "killed", "status": "civilian",
                                "sex": "female", **personal})
    add_record(ws, "casualty", {"accident": accident["uuid"], "outcome": "injured", "status": "civilian"})
    tiles = [T.tile(ws, *key) for z in range(4, 13) for key in T.tiles_covering((-72.6, 4.9, -72.495, 5.1), z)]
    features = [f for data in tiles for f in decode(data).get("casualties", {}).get("features", [])]
    assert features and all(f["properties"] == {"code": "CO01", "name": "Oeste", "casualties": 2, "killed": 1,
                                                "injured": 1} for f in features)
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in features)  # areas, never points
    blob = b"".join(tiles)
    for value in personal.values():
        assert str(value).encode() not in blob
    for name in ("given_name", "family_name", "contact", "national_id", "age", "sex"):
        assert name.encode() not in blob
    # a new casualty redraws the counts
    add_record(ws, "casualty", {"accident": accident["uuid"], "outcome": "injured", "status": "deminer"})
    (key,) = list(T.tiles_covering((-72.55, 5.0, -72.55, 5.0), 8))
    assert [p["casualties"] for p in props(T.tile(ws, *key), "casualties")] == [3]


@pytest.mark.parametrize("key", [(-1, 0, 0), (23, 0, 0), (3, 8, 0), (3, 0, -1)])
def test_tiles_that_do_not_exist_are_refused(ws: Workspace, key: tuple[int, int, int]) -> None:
    with pytest.raises(ValidationError) as info:
        T.tile(ws, *key)
    assert info.value.code == "tiles.bad_tile"


@settings(max_examples=100, deadline=None)
@given(lon=st.floats(-179.999, 179.999), lat=st.floats(-85.0, 85.0), z=st.integers(0, 22))
def test_a_point_lies_in_the_one_tile_covering_it(lon: float, lat: float, z: int) -> None:
    (key,) = list(T.tiles_covering((lon, lat, lon, lat), z))
    minx, miny, maxx, maxy = T.tile_bounds(*key)
    eps = 1e-9
    assert minx - eps <= lon <= maxx + eps and miny - eps <= lat <= maxy + eps


def test_the_last_change_mark_names_the_latest_audit_row(ws: Workspace, build: Builder) -> None:
    before = ws.store.last_change_mark()
    build.hazard()
    last = list(ws.store.changes_since(0))[-1]
    assert ws.store.last_change_mark() == change_mark(last.seq, last.at, last.layer, last.fid) != before
    assert int(ws.store.last_change_mark().split("/")[0]) == ws.store.last_change_seq()


def test_a_cache_from_before_marks_is_drawn_again(ws: Workspace, build: Builder) -> None:
    cache = TileCache(":memory:")
    cache.put("all", "hazards", [(Z12[0], b"stale")])  # tiles, but no mark: from an older SafeGround
    assert T.refresh(ws, cache) == 1 and cache.count() == 0
    assert cache.mark == ws.store.last_change_mark()


@GPKG_ONLY
def test_a_rewound_database_never_gets_the_tiles_of_the_history_it_lost(ws: Workspace, build: Builder,
                                                                        tmp_path: Path) -> None:
    """A point-in-time recovery, or a backup restored under the old name, rewinds the audit log; the tile cache
    beside it still shows what the lost history recorded, and must not serve it. Here the hazard recorded after
    the backup is gone from the rewound database, and its tile must be drawn again without it: once when the
    log is shorter than the cache's, and once when new edits have brought it back to the same number."""
    build.hazard("sha", geometry=FAR_BOX)
    earlier = tmp_path / "earlier.gpkg"
    ws.store.backup(str(earlier))
    lost = build.hazard()
    shorter, same_number = TileCache(tmp_path / "a.tiles"), TileCache(tmp_path / "b.tiles")
    for cache in (shorter, same_number):
        assert refs(ws, Z12[0], cache=cache) == {lost["ref"]}
        assert T.cached_tile(ws, *Z12[0], cache=cache) is not None

    back = Workspace.open(earlier, user="ana")
    try:
        assert back.store.last_change_seq() < shorter.seq
        assert T.cached_tile(back, *Z12[0], cache=shorter) is None
        assert refs(back, Z12[0], cache=shorter) == set()

        Builder(back).hazard("sha", geometry=FAR_BOX.buffer(0.001))  # as many audit rows as the lost hazard
        assert back.store.last_change_seq() == same_number.seq
        assert T.cached_tile(back, *Z12[0], cache=same_number) is None
        assert refs(back, Z12[0], cache=same_number) == set()
        assert len(refs(back, FAR, cache=same_number)) == 2
    finally:
        back.close()
