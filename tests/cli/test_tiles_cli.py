"""`safeground tiles build`: both tile caches rendered ahead, and what the server then serves from them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from safeground.cli import main
from safeground.services import tiles
from safeground.services.workspace import Workspace
from safeground.store.tile_cache import TileCache


def test_built_tiles_are_the_tiles_the_server_would_render(small_demo: tuple[Workspace, Path],
                                                            tmp_path: Path) -> None:
    db = tmp_path / "d.gpkg"
    small_demo[0].store.backup(str(db))  # the shared demo is open: copy it through the store
    result = CliRunner().invoke(main, ["tiles", "build", "--db", str(db), "--maxzoom", "9", "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["caches"]["map"]["file"] == f"{db}.tiles" and doc["caches"]["public"]["file"] == f"{db}.public.tiles"
    assert doc["caches"]["map"]["tiles"]["hazards"] > 0 and doc["caches"]["public"]["tiles"]["public_hazards"] > 0
    with Workspace.open(db, user="x", read_only=True) as ws:
        (hazard,) = ws.store.query("hazard_area", limit=1, fields=[])
        lon, lat = hazard["geometry"].representative_point().coords[0]
        key = next(iter(tiles.tiles_covering((lon, lat, lon, lat), 9)))
        for file, layers in ((f"{db}.tiles", tiles.LAYERS), (f"{db}.public.tiles", tiles.PUBLIC_LAYERS)):
            built = TileCache(file)
            served = tiles.cached_tile(ws, *key, cache=built, layers=layers)  # None unless built and current
            assert served is not None and served == tiles.tile(ws, *key, cache=TileCache(":memory:"), layers=layers)
            built.close()


def test_a_zoom_range_upside_down_is_refused_with_a_hint(tmp_path: Path) -> None:
    db = tmp_path / "e.gpkg"
    Workspace.open(db, user="x", create=True).close()
    result = CliRunner().invoke(main, ["tiles", "build", "--db", str(db), "--minzoom", "9", "--maxzoom", "4"])
    assert result.exit_code != 0
    assert "tiles.bad_zoom_range" in result.output and "--minzoom" in result.output
