"""The situation report's maps: hazards by status, released land, casualties by admin area, predicted risk.

Each map is drawn in the national CRS (metres) from :class:`~safeground.services.map_layers.MapLayers`, with
the admin areas and the Natural Earth outlines for context, a scale bar, a north arrow, a locator inset and
the legend beside the map (never over the data). A national database holds about 100,000 hazard polygons, so
each group of polygons becomes **one** compound matplotlib path built with numpy from shapely's coordinate
arrays (no Python loop per polygon), filled once; the maps go into the report as PNG
(:func:`~safeground.reports.render.figure_png_data_uri`). Tiny polygons keep an outline of a fixed width in
points, so that a 100 m² hazard still shows at national scale. Casualties are graduated symbols per admin
area, labelled with their number: never an accident's point, never a person.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from safeground.reports.palette import (
    FIGURE_WIDTH_IN,
    HAZARD_STATUS,
    MUTED,
    OUTCOME,
    RELEASE,
    RISK_BANDS,
    TEXT,
    UNKNOWN,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.path import Path

    from safeground.services.map_layers import MapLayers

LAND = "#ffffff"
NEIGHBOUR = "#eeeeee"
WATER = "#f7f7f7"
HAZARD_LABELS = {"sha": "SHA (open, worked on)", "cha": "CHA (open, worked on)",
                 "other": "Other open (indication, spot task, stockpile)", "released": "Released (closed, handed over)"}
HAZARD_COLOURS = {"sha": HAZARD_STATUS["SHA"], "cha": HAZARD_STATUS["CHA"], "released": HAZARD_STATUS["released"],
                  "other": UNKNOWN}
KIND_LABELS = {"cancelled": "Cancelled (NTS)", "reduced": "Reduced (TS)", "cleared": "Cleared"}


def polygon_path(geoms: np.ndarray) -> Path | None:
    """All polygons of ``geoms`` (polygons or multipolygons, holes kept) as one compound path, or ``None``.

    >>> import shapely, numpy as np
    >>> p = polygon_path(np.array([shapely.box(0, 0, 2, 2).difference(shapely.box(0.5, 0.5, 1, 1))]))
    >>> len(p.vertices), int((p.codes == p.MOVETO).sum()), int((p.codes == p.CLOSEPOLY).sum())
    (10, 2, 2)
    """
    from matplotlib.path import Path

    polys = shapely.get_parts(geoms[~shapely.is_empty(geoms)]) if len(geoms) else geoms
    polys = polys[shapely.get_type_id(polys) == 3] if len(polys) else polys
    if not len(polys):
        return None
    rings = shapely.get_rings(shapely.orient_polygons(polys))  # exteriors anticlockwise, holes clockwise
    coords, index = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    starts = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
    codes[starts] = Path.MOVETO
    codes[np.r_[starts[1:] - 1, len(coords) - 1]] = Path.CLOSEPOLY
    return Path(coords, codes)


def _fill(ax: Axes, geoms: np.ndarray, colour: str, *, edge: str | None = None, lw: float = 0.5,
          zorder: float = 2, alpha: float = 1.0) -> None:
    from matplotlib.patches import PathPatch

    path = polygon_path(geoms)
    if path is not None:
        # add_artist, not add_patch: add_patch walks every vertex to update the data limits (minutes at
        # national scale); the limits are set from the extent instead.
        ax.add_artist(PathPatch(path, facecolor=colour, edgecolor=edge or colour, linewidth=lw, zorder=zorder,
                                alpha=alpha, joinstyle="round"))


def _outline(ax: Axes, geoms: np.ndarray, colour: str, lw: float, zorder: float) -> None:
    from matplotlib.patches import PathPatch

    path = polygon_path(geoms)
    if path is not None:
        ax.add_artist(PathPatch(path, facecolor="none", edgecolor=colour, linewidth=lw, zorder=zorder))


def _nice_length(width_m: float) -> float:
    """A round scale-bar length near a fifth of the map width.

    >>> _nice_length(130_000), _nice_length(560_000), _nice_length(900)
    (20000.0, 100000.0, 100.0)
    """
    target = width_m / 5
    exp = 10 ** math.floor(math.log10(target))
    return float(max(m * exp for m in (1, 2, 5) if m * exp <= target))


def _base(layers: MapLayers, title: str) -> tuple[Figure, Axes, Axes]:
    """Figure with the map axes (context drawn) and a side panel for the locator and the legend."""
    import matplotlib.pyplot as plt
    from matplotlib import patheffects
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    fig = plt.figure(figsize=(FIGURE_WIDTH_IN, FIGURE_WIDTH_IN * 0.72))
    ax = fig.add_axes((0.0, 0.0, 0.70, 0.92))
    side = fig.add_axes((0.72, 0.0, 0.28, 0.92))
    side.set_axis_off()
    fig.suptitle(title, x=0.0, ha="left", fontsize=10, fontweight="bold")
    ax.set_facecolor(WATER)
    ax.grid(False)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(MUTED)
        spine.set_linewidth(0.6)

    for code, geom in zip(layers.country_codes, layers.countries, strict=True):
        home = code == layers.country
        _fill(ax, np.array([geom]), LAND if home else NEIGHBOUR, edge=MUTED, lw=0.8 if home else 0.5, zorder=0.5)
    for areas in layers.admin:
        _outline(ax, areas.geometries, MUTED if areas.level == 1 else UNKNOWN, 0.7 if areas.level == 1 else 0.25,
                 zorder=4)
    extent = layers.extent
    assert extent is not None
    minx, miny, maxx, maxy = extent
    mx, my = (maxx - minx) * 0.03, (maxy - miny) * 0.03
    ax.set_xlim(minx - mx, maxx + mx)
    ax.set_ylim(miny - my, maxy + my)
    ax.set_aspect("equal")
    if layers.admin:
        top = layers.admin[0]
        halo = [patheffects.withStroke(linewidth=2, foreground="white")]
        for name, point in zip(top.names, shapely.point_on_surface(top.geometries), strict=True):
            ax.text(point.x, point.y, name, fontsize=6.5, color=MUTED, style="italic", ha="center", va="center",
                    zorder=5, path_effects=halo)

    length = _nice_length(maxx - minx)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.add_artist(AnchoredSizeBar(ax.transData, length, label, loc="lower left", frameon=True, pad=0.4,
                                  size_vertical=(maxy - miny) * 0.006, color=TEXT, fontproperties={"size": 7}))
    ax.annotate("N", xy=(0.94, 0.97), xytext=(0.94, 0.86), xycoords="axes fraction", ha="center", va="center",
                fontsize=9, fontweight="bold", color=TEXT,
                arrowprops={"arrowstyle": "-|>", "color": TEXT, "linewidth": 1.2},
                bbox={"boxstyle": "circle,pad=0.15", "facecolor": "white", "edgecolor": "none"})
    _locator(fig, layers)
    return fig, ax, side


def _locator(fig: Figure, layers: MapLayers) -> None:
    from matplotlib.patches import Rectangle

    if layers.locator_box is None or not len(layers.locator):
        return
    inset = fig.add_axes((0.74, 0.58, 0.25, 0.32))
    inset.set_facecolor(WATER)
    inset.set_xticks([])
    inset.set_yticks([])
    inset.grid(False)
    for spine in inset.spines.values():
        spine.set_visible(True)
        spine.set_color(MUTED)
        spine.set_linewidth(0.5)
    for code, geom in zip(layers.locator_codes, layers.locator, strict=True):
        _fill(inset, np.array([geom]), MUTED if code == layers.country else NEIGHBOUR, edge=UNKNOWN, lw=0.3)
    minx, miny, maxx, maxy = layers.locator_box
    inset.add_patch(Rectangle((minx, miny), maxx - minx, maxy - miny, facecolor="none", edgecolor=TEXT,
                              linewidth=1.2, zorder=5))
    bx, by = shapely.total_bounds(layers.locator)[[0, 2]], shapely.total_bounds(layers.locator)[[1, 3]]
    inset.set_xlim(*bx)
    inset.set_ylim(*by)
    inset.set_aspect("equal")
    inset.set_title("Location", fontsize=7, color=MUTED, pad=2)


def _legend(side: Axes, handles: list[Any], title: str, note: str | None = None) -> None:
    side.legend(handles=handles, title=title, loc="upper left", bbox_to_anchor=(0.0, 0.58), frameon=False,
                fontsize=7, title_fontsize=7.5, alignment="left", handlelength=1.4, borderaxespad=0.2)
    if note:
        side.text(0.0, 0.02, note, fontsize=6.5, color=MUTED, va="bottom", ha="left", wrap=True,
                  transform=side.transAxes)


def _context_note(layers: MapLayers) -> str:
    return (f"Lines: admin areas (level 1 dark).\nGrey land: neighbouring countries\n(Natural Earth 1:110m).\n"
            f"CRS: EPSG:{layers.crs}.")


def hazard_map(layers: MapLayers) -> Figure:
    """Hazard areas as they stand: SHA, CHA, other open classes and released (closed or handed over)."""
    from matplotlib.patches import Patch

    fig, ax, side = _base(layers, "Hazard areas by status")
    handles = []
    for i, group in enumerate(("released", "other", "sha", "cha")):
        geoms = layers.hazards.get(group, np.array([], dtype=object))
        _fill(ax, geoms, HAZARD_COLOURS[group], lw=1.4, zorder=2 + i * 0.1)
        handles.append(Patch(facecolor=HAZARD_COLOURS[group], edgecolor=HAZARD_COLOURS[group],
                             label=f"{HAZARD_LABELS[group]}: {len(geoms):,}"))
    _legend(side, handles[::-1], "Hazard areas (number)", _context_note(layers))
    return fig


def released_map(layers: MapLayers) -> Figure:
    """Land released in the year, by kind, over land released in earlier years (grey)."""
    from matplotlib.patches import Patch

    fig, ax, side = _base(layers, f"Land released in {layers.year}")
    _fill(ax, layers.released_before, UNKNOWN, lw=0.8, zorder=2, alpha=0.6)
    handles = []
    for i, kind in enumerate(("cancelled", "reduced", "cleared")):
        geoms = layers.released_in_year.get(kind, np.array([], dtype=object))
        _fill(ax, geoms, RELEASE[kind], edge=TEXT if kind == "reduced" else RELEASE[kind], lw=1.4, zorder=3 + i * 0.1)
        handles.append(Patch(facecolor=RELEASE[kind], edgecolor=RELEASE[kind],
                             label=f"{KIND_LABELS[kind]}: {len(geoms):,}"))
    handles.append(Patch(facecolor=UNKNOWN, edgecolor=UNKNOWN, alpha=0.6,
                         label=f"Released before {layers.year}: {len(layers.released_before):,}"))
    _legend(side, handles, "Released polygons (number)", _context_note(layers))
    return fig


def casualty_map(layers: MapLayers) -> Figure:
    """People killed or injured in the year, one graduated symbol per admin area, labelled with the number."""
    from matplotlib import patheffects

    level = "municipality (admin level 2)" if layers.casualties_level == 2 else "admin area"
    fig, ax, side = _base(layers, f"Casualties in {layers.year} by {level}")
    people = np.array(layers.casualty_people, dtype=float)
    handles = []
    if len(people):
        scale = 220.0 / max(people.max(), 1.0)  # points² per person; the largest symbol is 220 pt²
        xs = shapely.get_x(layers.casualty_points)
        ys = shapely.get_y(layers.casualty_points)
        order = np.argsort(-people)  # big symbols below small ones
        ax.scatter(xs[order], ys[order], s=np.maximum(people[order] * scale, 12), facecolor=OUTCOME["killed"],
                   edgecolor=TEXT, linewidth=0.5, alpha=0.8, zorder=6)
        halo = [patheffects.withStroke(linewidth=2, foreground="white")]
        for k in order[:15]:
            ax.annotate(f"{int(people[k])}", (xs[k], ys[k]), xytext=(0, 0), textcoords="offset points",
                        ha="center", va="center", fontsize=6.5, fontweight="bold", color=TEXT, zorder=7,
                        path_effects=halo)
        top = int(people.max())
        keys = sorted({1, max(1, top // 2), top})
        for k in keys:
            handles.append(ax.scatter([], [], s=max(k * scale, 12), facecolor=OUTCOME["killed"], edgecolor=TEXT,
                                      linewidth=0.5, alpha=0.8, label=f"{k} {'person' if k == 1 else 'people'}"))
    else:
        ax.text(0.5, 0.5, f"No casualties recorded in {layers.year}", transform=ax.transAxes, ha="center",
                va="center", fontsize=9, color=TEXT,
                bbox={"facecolor": "white", "edgecolor": MUTED, "boxstyle": "round,pad=0.4"}, zorder=8)
    note = _context_note(layers)
    if layers.casualties_unplaced:
        note = f"{layers.casualties_unplaced} people with no known\nadmin area are not mapped.\n" + note
    if handles:
        _legend(side, handles, "Killed or injured", note)
    else:
        side.text(0.0, 0.02, note, fontsize=6.5, color=MUTED, va="bottom", ha="left", transform=side.transAxes)
    return fig


def risk_map(layers: MapLayers) -> Figure:
    """The current risk run's cells coloured by predicted risk band, with the open hazard areas outlined over
    them (what is recorded stays distinguishable from what is predicted)."""
    from matplotlib.patches import Patch

    from safeground.services.risk_map import BANDS, risk_bands

    fig, ax, side = _base(layers, layers.risk_title or "Predicted risk")
    band = np.searchsorted(np.asarray(BANDS), layers.risk, side="right").clip(0, len(BANDS) - 1)
    counts = [b["cells"] for b in risk_bands(layers.risk)]
    handles = []
    lows = (0.0, *BANDS[:-1])
    for i, colour in enumerate(RISK_BANDS):
        _fill(ax, layers.risk_cells[band == i], colour, lw=0.0, zorder=1.5)
        upper = f"{BANDS[i]:.0%}" if i + 1 < len(BANDS) else "100%"
        handles.append(Patch(facecolor=colour, edgecolor=MUTED, linewidth=0.3,
                             label=f"{lows[i]:.0%} to {upper}: {counts[i]:,} cells"))
    open_hazards = [g for k, g in layers.hazards.items() if k != "released" and len(g)]
    if open_hazards:
        _outline(ax, np.concatenate(open_hazards), TEXT, 0.6, zorder=3)
        handles.append(Patch(facecolor="none", edgecolor=TEXT, label="Open hazard areas (recorded)"))
    _legend(side, handles[::-1], "Predicted risk (cells)", _context_note(layers))
    return fig
