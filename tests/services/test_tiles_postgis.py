"""PostGIS encodes record layers' tiles itself (``ST_AsMVT``); they decode to the same features, with the same
properties, as the tiles GDAL encodes from the GeoPackage store, on polygons drawn around real events of the
Colombia register (hazards and released land), except a few polygons smaller than a grid unit that PostGIS keeps
as a unit's box where GDAL drops them."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
import shapely

from safeground.services import tiles as T
from safeground.services.workspace import Workspace
from safeground.store.base import Batch, Store
from safeground.store.tile_cache import TileCache

REGISTER = Path(__file__).resolve().parents[2] / "data" / "colombia_aicma" / "events_1990_2014.csv"


def _load(store: Store) -> list[tuple[float, float]]:
    """A hazard per Antioquia municipality (the hull of its events, widened by ~500 m), with a few attributes, and
    a released circle (~300 m) around each of its first events; returns the hazards' centroids."""
    sites: dict[str, list[tuple[float, float]]] = defaultdict(list)
    with REGISTER.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["departamento"] == "ANTIOQUIA":
                sites[row["municipio"]].append((float(row["lon"]), float(row["lat"])))
    names = sorted(n for n in sites if len(sites[n]) >= 3)
    hulls = np.array([shapely.MultiPolygon([shapely.convex_hull(shapely.multipoints(sites[n])).buffer(0.005)])
                      for n in names], dtype=object)
    n = len(names)
    classes = [("cha", "sha")[k % 2] for k in range(n)]
    marking = [(None, "fenced")[k % 2] for k in range(n)]
    hazards = store.insert("hazard_area", Batch({"name": names, "hazard_class": classes, "status": ["open"] * n,
                                                 "marking": marking}, hulls), user="ana")
    links, circles = [], []
    for uuid, name in zip(hazards, names, strict=True):
        for x, y in sorted(set(sites[name]))[:5]:
            links.append(uuid)
            circles.append(shapely.MultiPolygon([shapely.Point(x, y).buffer(0.003, quad_segs=4)]))
    store.insert("released_area", Batch({"hazard": links, "kind": ["cleared"] * len(links),
                                         "release_status": ["released"] * len(links)},
                                        np.array(circles, dtype=object)), user="ana")
    return [(c.x, c.y) for c in shapely.centroid(hulls)]


def _features(data: bytes) -> dict[str, dict[str, tuple[dict[str, Any], shapely.Geometry]]]:
    """Per layer, each feature's properties and geometry (in tile grid units), by ref."""
    out: dict[str, dict[str, tuple[dict[str, Any], shapely.Geometry]]] = {}
    for name, layer in mapbox_vector_tile.decode(data).items():
        out[name] = {f["properties"]["ref"]: (f["properties"], shapely.geometry.shape(f["geometry"]))
                     for f in layer["features"]}
    return out


@pytest.mark.parametrize("zoom", [8, 11, 14])
def test_database_encoded_tiles_hold_the_features_gdal_encodes(zoom: int, tmp_path: Path, pg_url: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Workspace.open(tmp_path / "t.gpkg", user="ana", create=True) as gpkg, \
            Workspace.open(pg_url, user="ana") as pg:
        centres = _load(gpkg.store)
        _load(pg.store)
        keys = sorted({k for c in centres for k in T.tiles_covering((*c, *c), zoom)})[:12]
        compared = 0
        for key in keys:
            by_gdal = _features(T.tile(gpkg, *key, cache=TileCache(":memory:")))
            by_postgis = _features(T.tile(pg, *key, cache=TileCache(":memory:")))
            assert by_gdal.keys() == by_postgis.keys()
            for layer, features in by_gdal.items():
                # PostGIS keeps a polygon that shrinks below a grid unit in the tile as a unit's box, where GDAL drops
                # it when it collapses to a point: a few more tiny features, never one fewer.
                assert features.keys() <= by_postgis[layer].keys(), (key, layer)
                extra = [by_postgis[layer][ref][1] for ref in by_postgis[layer].keys() - features.keys()]
                assert all(g.area <= 4 for g in extra), (key, layer)
                for ref, (properties, geom) in features.items():
                    other_properties, other = by_postgis[layer][ref]
                    assert properties == other_properties
                    # Both clip to the tile plus its buffer and quantise to its grid; they simplify alike.
                    assert shapely.hausdorff_distance(geom, other) <= 4.0, (key, ref)
                    compared += 1
        assert compared >= len(keys)
