"""``safeground plan gantt``: a stored plan as a Gantt chart, one row per team (matplotlib; PNG, SVG or PDF).

Each bar is a run of weeks of a team on a hazard, labelled with the hazard's ref where it fits; a hazard keeps
its colour on every row (shared hazards show on two rows), and a bar ending in the hazard's release week is
outlined in black. The x axis counts weeks from the plan's start, with the date of every few weeks' first day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeground.domain.errors import ValidationError
from safeground.services.plan_runs import get_run
from safeground.services.workspace import Workspace

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = (".png", ".svg", ".pdf")


def check_chart_out(path: str | Path) -> Path:
    """The chart path, refused (``plan.bad_out``) unless it ends in .png, .svg or .pdf."""
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise ValidationError("plan.bad_out", f"{p.name}: a Gantt chart is written as .png, .svg or .pdf.",
                              hint="Give --out a file name ending in .png, .svg or .pdf.")
    return p


def gantt_rows(ws: Workspace, run_id: int) -> dict[str, Any]:
    """The chart's data: the run and, per team of the plan (ref order, idle ones too), its bars (hazard, weeks,
    m², whether the bar ends with the hazard's release)."""
    run = get_run(ws, run_id)
    methods = {t["ref"]: t["method"] for t in run["parameters"].get("teams", [])}
    teams: dict[str, list[dict[str, Any]]] = {t: [] for t in methods}
    for item in ws.store.plan_items(run_id):
        methods.setdefault(item["team_ref"], item["method"])
        teams.setdefault(item["team_ref"], []).append(
            {"hazard": item["hazard_ref"], "start_week": item["start_week"], "end_week": item["end_week"],
             "area_m2": item["area_m2"], "method": item["method"],
             "releases": item["released_week"] is not None and item["released_week"] == item["end_week"]})
    return {"run": run["id"], "kind": run["kind"], "label": run["label"], "start_date": run["start_date"],
            "horizon_weeks": run["horizon_weeks"],
            "teams": [{"team": t, "method": methods[t], "bars": sorted(bars, key=lambda b: b["start_week"])}
                      for t, bars in sorted(teams.items())]}


def draw_gantt(doc: dict[str, Any], path: str | Path) -> Path:
    """Draw :func:`gantt_rows`' document to ``path`` (format from its suffix)."""
    p = check_chart_out(path)
    gantt_figure(doc).savefig(p)
    return p


def gantt_figure(doc: dict[str, Any]) -> Figure:
    """:func:`gantt_rows`' document as a matplotlib figure (not attached to pyplot: nothing to close)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    rows = doc["teams"]
    horizon = doc["horizon_weeks"]
    fig = Figure(figsize=(max(8.0, min(24.0, 2.0 + 0.35 * horizon)), max(2.5, 1.0 + 0.32 * len(rows))))
    ax = fig.add_subplot()
    cmap = colormaps["tab20"]
    hazards = sorted({b["hazard"] for r in rows for b in r["bars"]})
    colour = {h: cmap(i % 20) for i, h in enumerate(hazards)}
    for y, row in enumerate(rows):
        for b in row["bars"]:
            width = b["end_week"] - b["start_week"] + 1
            ax.broken_barh([(b["start_week"], width)], (y - 0.38, 0.76), facecolors=colour[b["hazard"]],
                           edgecolors="black" if b["releases"] else "none", linewidth=0.8)
            if width >= 2:
                ax.text(b["start_week"] + width / 2, y, b["hazard"], ha="center", va="center", fontsize=6)
    ax.set_yticks(range(len(rows)), [f"{r['team']} ({r['method']})" for r in rows], fontsize=7)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, horizon)
    start = dt.date.fromisoformat(doc["start_date"])
    step = max(1, horizon // 12)
    ticks = list(range(0, horizon + 1, step))
    ax.set_xticks(ticks, [f"{w}\n{(start + dt.timedelta(days=7 * w)).isoformat()}" for w in ticks], fontsize=6)
    ax.set_xlabel("week (first day)", fontsize=7)
    ax.grid(axis="x", linewidth=0.3)
    what = f"what-if '{doc['label']}'" if doc["kind"] == "what_if" else "plan"
    ax.set_title(f"Clearance {what}, run {doc['run']}: {horizon} weeks from {doc['start_date']} "
                 "(outlined: the hazard is released)", fontsize=8)
    fig.tight_layout()
    return fig
