"""The report's "Clearance plan" page (``templates/plan_page.html``), from the current plan only.

Its figures are :func:`~safeground.services.plan_outlook.plan_outlook`'s: the run (id, dates, start and horizon,
value, greedy value, bound, gap), the displaced households able to return per quarter and, per settlement and
project, the week and date it becomes safe and the hazards it waits on (``plan when``'s answers). This module
only orders them and draws two pictures: the Gantt chart per team (``plan gantt``'s figure) and a map of the
planned hazard areas coloured by the week the plan releases them, drawn like the report's other maps
(:mod:`~safeground.reports.maps`: national CRS, admin areas, locator, scale bar, legend beside the map). When no
plan is current the page is one line saying how to make one. A what-if from ``plan compare`` is never current,
so it never shows. The page holds refs, names, dates and household counts: nothing personal.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from safeground.geo.crs import WGS84, reproject
from safeground.reports.maps import _base, _context_note, _fill, _legend
from safeground.reports.palette import MUTED, UNKNOWN

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from safeground.services.map_layers import MapLayers

#: At most this many settlements and projects are listed (soonest first); ``plan when`` answers for any.
TARGET_ROWS = 150
#: At most this many colour classes of release weeks on the map.
WEEK_CLASSES = 6
ORDER = {"planned": 0, "not_in_horizon": 1, "not_in_plan": 2}
STATUS_WORDS = {"planned": "safe", "not_in_horizon": "not within the horizon",
                "not_in_plan": "blocked by hazards the plan does not hold"}


def week_classes(horizon: int) -> list[tuple[int, int]]:
    """Release weeks grouped into at most :data:`WEEK_CLASSES` equal runs ``(first, last)`` for the map legend.

    >>> week_classes(4)
    [(0, 0), (1, 1), (2, 2), (3, 3)]
    >>> week_classes(26)
    [(0, 4), (5, 9), (10, 14), (15, 19), (20, 24), (25, 25)]
    """
    size = max(1, math.ceil(horizon / WEEK_CLASSES))
    return [(a, min(a + size - 1, horizon - 1)) for a in range(0, horizon, size)]


def target_rows(targets: list[dict[str, Any]], limit: int = TARGET_ROWS) -> tuple[list[dict[str, Any]], int]:
    """The targets the plan concerns (not those nothing blocks), soonest first, then those still waiting;
    at most ``limit``, with how many more there are.

    >>> rows, more = target_rows([{"target": "PT-2", "status": "planned", "week": 3},
    ...                           {"target": "PT-1", "status": "not_in_horizon", "week": None},
    ...                           {"target": "PT-3", "status": "not_blocked", "week": None},
    ...                           {"target": "PT-4", "status": "planned", "week": 1}], limit=2)
    >>> [r["target"] for r in rows], more
    (['PT-4', 'PT-2'], 1)
    """
    shown = sorted((t for t in targets if t["status"] in ORDER),
                   key=lambda t: (ORDER[t["status"]], t["week"] if t["week"] is not None else 0, t["target"]))
    return shown[:limit], max(0, len(shown) - limit)


def plan_map(layers: MapLayers, items: list[dict[str, Any]], start: str, horizon: int) -> Figure:
    """The planned hazard areas coloured by release week (viridis classes, ordered and readable with the common
    forms of colour blindness), grey where the plan works on a hazard but does not release it in the horizon."""
    from matplotlib import colormaps
    from matplotlib.patches import Patch

    from safeground.services.plan_runs import week_date

    fig, ax, side = _base(layers, f"Planned hazard areas by release week, from {start}")
    hazards: dict[str, dict[str, Any]] = {}
    for item in items:
        if item["geometry"] is not None:
            hazards.setdefault(item["hazard_ref"], item)
    refs = sorted(hazards)
    geoms = reproject(np.array([hazards[r]["geometry"] for r in refs], dtype=object), WGS84, layers.crs) \
        if refs else np.array([], dtype=object)
    weeks = np.array([-1 if hazards[r]["released_week"] is None else hazards[r]["released_week"] for r in refs])
    classes = week_classes(horizon)
    colours = colormaps["viridis"](np.linspace(0.0, 0.9, len(classes)))
    handles = []
    pending = geoms[weeks < 0] if len(refs) else geoms
    _fill(ax, pending, UNKNOWN, edge=MUTED, lw=2.5, zorder=2)
    for i, ((first, last), colour) in enumerate(zip(classes, colours, strict=True)):
        group = geoms[(weeks >= first) & (weeks <= last)] if len(refs) else geoms
        _fill(ax, group, colour, lw=2.5, zorder=3 + i * 0.01)
        span = f"week {first}" if first == last else f"weeks {first}–{last}"
        handles.append(Patch(facecolor=colour, edgecolor=colour, label=f"{span} (by {week_date(start, last)}): "
                                                                       f"{len(group):,}"))
    handles.append(Patch(facecolor=UNKNOWN, edgecolor=MUTED, label=f"not released in the horizon: {len(pending):,}"))
    _legend(side, handles, "Released in (hazard areas)", _context_note(layers))
    return fig


def plan_section(doc: dict[str, Any] | None, layers: MapLayers | None, *, draw: bool = True) -> dict[str, Any] | None:
    """The page's context from ``plan_outlook``'s document (``None``: no plan is current), with the Gantt chart
    and the map as PNG ``data:`` URIs unless ``draw`` is false (``None`` where there is nothing to draw)."""
    if doc is None:
        return None
    rows, more = target_rows(doc["targets"])
    page = {"run": doc["run"], "totals": doc["totals"], "quarters": doc["households_by_quarter"],
            "targets": [{**t, "status_words": STATUS_WORDS[t["status"]]} for t in rows], "more_targets": more,
            "gantt": None, "map": None}
    if draw:
        page["gantt"], page["map"] = _pictures(doc, layers)
    return page


def _pictures(doc: dict[str, Any], layers: MapLayers | None) -> tuple[str | None, str | None]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from safeground.reports.palette import matplotlib_style
    from safeground.reports.render import figure_png_data_uri
    from safeground.services.plan_gantt import gantt_figure

    run = doc["run"]
    with plt.rc_context(matplotlib_style()):  # type: ignore[arg-type]
        gantt = figure_png_data_uri(gantt_figure(doc["gantt"]), dpi=150) if doc["gantt"]["teams"] else None
        drawn = layers is not None and layers.extent is not None and bool(doc["items"])
        where = figure_png_data_uri(plan_map(layers, doc["items"], run["start_date"], run["horizon_weeks"]),
                                    dpi=170) if drawn and layers is not None else None
    return gantt, where
