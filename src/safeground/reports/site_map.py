"""The site map of a task order, completion report or handover certificate, drawn in the hazard's UTM zone.

It shows the hazard polygon (what is still hazardous hatched), released land coloured by how it was released
(cancelled, reduced, cleared: the palette's release colours, with a legend that names them, so colour is never
the only cue), the activity's polygon, the numbered turning points, benchmarks, finds and nearby accidents,
with a scale bar and a grid-north arrow. Input is the ``site`` dict of :mod:`safeground.services.paperwork`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
import shapely.geometry

from safeground.geo.crs import WGS84, reproject
from safeground.reports import palette

#: Figure size (inches) for a map that fills the text column of an A4 page without crowding the tables.
MAP_SIZE_IN = (palette.FIGURE_WIDTH_IN, 4.6)
#: Label at most this many turning points; beyond it, every k-th (the table lists them all).
MAX_TP_LABELS = 40


def nice_length(span_m: float) -> float:
    """The longest round scale-bar length (1, 2 or 5 × 10^k m) not above a quarter of ``span_m``.

    >>> nice_length(1000), nice_length(180), nice_length(7300)
    (200.0, 20.0, 1000.0)
    """
    target = max(span_m / 4.0, 1e-9)
    k = math.floor(math.log10(target))
    return max((m * 10.0 ** k for m in (1, 2, 5) if m * 10.0 ** k <= target), default=10.0 ** k)


def _project(geoms: list[shapely.Geometry], epsg: int) -> list[shapely.Geometry]:
    if not geoms:
        return []
    return list(reproject(np.array(geoms, dtype=object), WGS84, epsg))


def _draw_polygon(ax: Any, geom: shapely.Geometry, **style: Any) -> None:
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    parts = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    for poly in parts:
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        verts: list[tuple[float, float]] = []
        codes: list[Any] = []
        for ring in [poly.exterior, *poly.interiors]:
            xy = list(ring.coords)
            verts += xy
            codes += [Path.MOVETO] + [Path.LINETO] * (len(xy) - 2) + [Path.CLOSEPOLY]
        ax.add_patch(PathPatch(Path(verts, codes), **style))


def _scale_bar(ax: Any, x0: float, y0: float, length: float, height: float) -> None:
    from matplotlib.patches import Rectangle

    half = length / 2
    ax.add_patch(Rectangle((x0, y0), half, height, facecolor="black", edgecolor="black", lw=0.6, zorder=6))
    ax.add_patch(Rectangle((x0 + half, y0), half, height, facecolor="white", edgecolor="black", lw=0.6, zorder=6))
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x0 + length / 2, y0 + height * 1.6, text, ha="center", va="bottom", fontsize=palette.FONT_PT - 1,
            zorder=6, bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})


def _north_arrow(ax: Any) -> None:
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.83), xycoords="axes fraction", ha="center", va="center",
                fontsize=palette.TITLE_PT, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.2}, zorder=7)
    ax.text(0.95, 0.79, "grid", transform=ax.transAxes, ha="center", va="top", fontsize=palette.FONT_PT - 2)


def site_map(site: dict[str, Any], *, title: str | None = None) -> Any:
    """A matplotlib figure of ``site`` (see the module docstring); the caller embeds and closes it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    epsg = int(str(site["crs"]).split(":")[1])
    style: Any = palette.matplotlib_style() | {"axes.grid": False}
    with plt.rc_context(style):
        fig, ax = plt.subplots(figsize=MAP_SIZE_IN, layout="constrained")
        hazard = _project([shapely.geometry.shape(site["hazard"])], epsg)[0]
        shapes = _project([shapely.geometry.shape(r["geometry"]) for r in site["released"]], epsg)
        released = [(r["kind"], g) for r, g in zip(site["released"], shapes, strict=True) if r.get("released", True)]
        waiting = [g for r, g in zip(site["released"], shapes, strict=True) if not r.get("released", True)]
        handles: list[Any] = []
        # Still hazardous = the hazard less its released land; land awaiting QC or approval stays hazardous.
        remaining = shapely.difference(hazard, shapely.union_all([g for _k, g in released])) if released else hazard
        _draw_polygon(ax, remaining, facecolor="#fbe3cc", edgecolor="none", hatch="////", zorder=1)
        if remaining.area > 1.0:
            handles.append(Patch(facecolor="#fbe3cc", edgecolor=palette.HAZARD_STATUS["CHA"], hatch="////",
                                 label="Still hazardous"))
        for kind in ("cancelled", "reduced", "cleared"):
            geoms = [g for k, g in released if k == kind]
            for g in geoms:
                _draw_polygon(ax, g, facecolor=palette.RELEASE[kind], edgecolor="white", lw=0.5, alpha=0.75, zorder=2)
            if geoms:
                handles.append(Patch(facecolor=palette.RELEASE[kind], alpha=0.75, label=kind.capitalize()))
        for g in waiting:
            _draw_polygon(ax, g, facecolor="none", edgecolor=palette.MUTED, lw=1.0, ls=":", zorder=2)
        if waiting:
            handles.append(Patch(facecolor="none", edgecolor=palette.MUTED, ls=":", label="Awaiting QC or approval"))
        _draw_polygon(ax, hazard, facecolor="none", edgecolor=palette.HAZARD_STATUS["CHA"], lw=1.6, zorder=3)
        handles.insert(0, Line2D([], [], color=palette.HAZARD_STATUS["CHA"], lw=1.6, label="Hazard boundary"))
        if site.get("activity"):
            act = _project([shapely.geometry.shape(site["activity"])], epsg)[0]
            _draw_polygon(ax, act, facecolor="none", edgecolor=palette.CATEGORICAL[4], lw=1.2, ls="--", zorder=3)
            handles.append(Line2D([], [], color=palette.CATEGORICAL[4], lw=1.2, ls="--", label="Activity area"))

        def xy(points: list[list[Any]], lon_at: int) -> np.ndarray:
            if not points:
                return np.empty((0, 2))
            pts = _project([shapely.Point(p[lon_at], p[lon_at + 1]) for p in points], epsg)
            return np.array([(p.x, p.y) for p in pts])

        finds = xy(site.get("finds", []), 0)
        if len(finds):
            ax.scatter(finds[:, 0], finds[:, 1], marker="x", s=14, lw=0.9, color=palette.CATEGORICAL[5], zorder=4)
            handles.append(Line2D([], [], marker="x", ls="none", color=palette.CATEGORICAL[5],
                                  label=f"Device found ({len(finds)})"))
        accidents = xy(site.get("accidents", []), 0)
        if len(accidents):
            ax.scatter(accidents[:, 0], accidents[:, 1], marker="*", s=70, color=palette.OUTCOME["killed"],
                       edgecolor="black", lw=0.4, zorder=5)
            handles.append(Line2D([], [], marker="*", ls="none", color=palette.OUTCOME["killed"],
                                  markeredgecolor="black", markersize=9, label=f"Accident ({len(accidents)})"))
        tps = xy(site.get("turning_points", []), 1)
        if len(tps):
            ax.scatter(tps[:, 0], tps[:, 1], s=9, color="black", zorder=5)
            step = max(1, math.ceil(len(tps) / MAX_TP_LABELS))
            cx, cy = hazard.centroid.x, hazard.centroid.y
            for i, (tx, ty) in enumerate(tps):
                if i % step:
                    continue
                dx, dy = tx - cx, ty - cy
                norm = math.hypot(dx, dy) or 1.0
                ax.annotate(str(site["turning_points"][i][0]), (tx, ty), xytext=(6 * dx / norm, 6 * dy / norm),
                            textcoords="offset points", ha="center", va="center", fontsize=palette.FONT_PT - 2,
                            zorder=6)
            handles.append(Line2D([], [], marker="o", ls="none", color="black", markersize=3,
                                  label="Turning point"))
        bms = xy(site.get("benchmarks", []), 1)
        if len(bms):
            ax.scatter(bms[:, 0], bms[:, 1], marker="^", s=60, color="white", edgecolor="black", lw=1.2, zorder=6)
            for (bx, by), b in zip(bms, site["benchmarks"], strict=True):
                ax.annotate(f"BM {b[0]}", (bx, by), xytext=(6, -8), textcoords="offset points",
                            fontsize=palette.FONT_PT - 2, zorder=6)
            handles.append(Line2D([], [], marker="^", ls="none", markerfacecolor="white", markeredgecolor="black",
                                  markersize=7, label="Benchmark"))

        every = [hazard, *(p for p in (shapely.MultiPoint(a) for a in (finds, accidents, tps, bms) if len(a)))]
        minx, miny, maxx, maxy = shapely.union_all(every).bounds
        span = max(maxx - minx, maxy - miny, 50.0)
        pad = span * 0.12
        ax.set_xlim(minx - pad, maxx + pad)
        ax.set_ylim(miny - pad, maxy + pad)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(True)
            ax.spines[side].set_linewidth(0.6)
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        length = nice_length(x1 - x0)
        _scale_bar(ax, x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04, length, (y1 - y0) * 0.012)
        _north_arrow(ax)
        ax.set_xlabel(f"WGS 84 / UTM ({site['crs']}); coordinates of every point in the tables",
                      fontsize=palette.FONT_PT - 1)
        if title:
            ax.set_title(title)
        # Outside the map, where constrained layout keeps it inside the saved figure.
        fig.legend(handles=handles, loc="outside right center", frameon=False)
    return fig
