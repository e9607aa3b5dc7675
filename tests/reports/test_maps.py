"""Maps: what the map layers hold (counted from the built data), polygons drawn in one path with their holes,
casualties only as totals per admin area."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.reports.conftest import HAZARD, MESETAS, VISTA, YEAR, World

from safeground.reports import maps
from safeground.services.map_layers import map_layers
from safeground.services.stats_casualties import casualty_stats
from safeground.services.workspace import Workspace

matplotlib.use("Agg")
import matplotlib.pyplot as plt

boxes = st.tuples(st.floats(0, 100), st.floats(0, 100), st.floats(0.5, 20), st.floats(0.5, 20)).map(
    lambda t: shapely.box(t[0], t[1], t[0] + t[2], t[1] + t[3]))


@settings(max_examples=60, deadline=None)
@given(st.lists(boxes, min_size=1, max_size=12), st.booleans())
def test_one_path_holds_every_ring_of_every_polygon(polys: list[shapely.Polygon], holed: bool) -> None:
    geoms = [p.difference(shapely.box(*p.centroid.buffer(0.2).bounds)) if holed else p for p in polys]
    multi = np.array([shapely.MultiPolygon([g]) if i % 2 else g for i, g in enumerate(geoms)], dtype=object)
    path = maps.polygon_path(multi)
    assert path is not None
    rings = shapely.get_rings(shapely.get_parts(multi))
    assert len(path.vertices) == int(shapely.get_num_coordinates(rings).sum())
    assert int((path.codes == path.MOVETO).sum()) == len(rings) == int((path.codes == path.CLOSEPOLY).sum())


def test_holes_stay_empty_when_filled() -> None:
    from matplotlib.patches import PathPatch

    holed = shapely.box(0, 0, 2, 2).difference(shapely.box(0.5, 0.5, 1, 1))
    path = maps.polygon_path(np.array([holed]))
    fig = plt.figure(figsize=(2, 2), dpi=50)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 2)
    ax.set_ylim(0, 2)
    ax.add_artist(PathPatch(path, facecolor="black", edgecolor="none"))
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())
    plt.close(fig)
    assert tuple(pixels[100 - 37, 37][:3]) == (255, 255, 255)  # (0.75, 0.75): inside the hole
    assert tuple(pixels[100 - 75, 75][:3]) == (0, 0, 0)  # (1.5, 1.5): inside the polygon


def test_map_layers_hold_what_was_built(built: tuple[Path, World]) -> None:
    with Workspace.open(built[0], read_only=True) as ws:
        layers = map_layers(ws, year=YEAR)
        by_adm2 = casualty_stats(ws, since=f"{YEAR}-01-01", until=f"{YEAR}-12-31", by=["adm2"])
    assert layers is not None and layers.crs == 32618 and layers.country == "COL"
    assert {k: len(v) for k, v in layers.hazards.items()} == {"released": 0, "other": 0, "sha": 1, "cha": 1}
    assert {k: len(v) for k, v in layers.released_in_year.items()} == {"cancelled": 0, "reduced": 0, "cleared": 1}
    assert [(a.level, a.names) for a in layers.admin] == [(1, ["Meta"]), (2, ["Mesetas", "Vista Hermosa"])]
    # Casualties: totals per municipality, as the built accidents of the year say (2 in Vista Hermosa, 1 in
    # Mesetas; the submitted one does not count), placed inside the municipality, not at the accidents.
    assert dict(zip(layers.casualty_labels, layers.casualty_people, strict=True)) == {"Vista Hermosa": 2,
                                                                                       "Mesetas": 1}
    assert sum(layers.casualty_people) == by_adm2["records"]["people"] and layers.casualties_unplaced == 0
    from safeground.geo.crs import WGS84, reproject

    where = dict(zip(layers.casualty_labels, reproject(layers.casualty_points, layers.crs, WGS84), strict=True))
    assert VISTA.contains(where["Vista Hermosa"]) and MESETAS.contains(where["Mesetas"])
    assert all(p.distance(HAZARD.centroid) > 0.01 for p in where.values())
    assert "COL" in layers.country_codes and "COL" in layers.locator_codes


def test_each_map_draws_its_legend_counts_with_one_artist_per_group(built: tuple[Path, World]) -> None:
    with Workspace.open(built[0], read_only=True) as ws:
        layers = map_layers(ws, year=YEAR)
    assert layers is not None
    many = np.array([shapely.box(x, y, x + 50, y + 50) for x in range(500_000, 700_000, 2_000)
                     for y in range(400_000, 600_000, 2_000)], dtype=object)  # 10,000 polygons
    few = maps.hazard_map(layers)
    layers.hazards["sha"] = many
    lots = maps.hazard_map(layers)
    try:
        assert len(lots.axes[0].get_children()) == len(few.axes[0].get_children())  # one path, not 10,000
        legend = [t.get_text() for t in lots.axes[1].get_legend().get_texts()]
        assert "SHA (open, worked on): 10,000" in legend and "CHA (open, worked on): 1" in legend
        text = [t.get_text() for t in maps.casualty_map(layers).axes[0].texts]
        assert {"2", "1"} <= set(text) and "Meta" in text
    finally:
        plt.close("all")


@pytest.mark.parametrize("year", [2010])
def test_a_year_without_casualties_says_so_on_the_map(built: tuple[Path, World], year: int) -> None:
    with Workspace.open(built[0], read_only=True) as ws:
        layers = map_layers(ws, year=year)
    assert layers is not None and layers.casualty_people == []
    fig = maps.casualty_map(layers)
    assert f"No casualties recorded in {year}" in [t.get_text() for t in fig.axes[0].texts]
    plt.close(fig)
