"""The current clearance plan on the web map, week by week: each planned hazard with the teams on it, the weeks
they work and the week it is released (issue 7 §4, "a plan map by week").

One feature per hazard of the current plan (the run adopted with ``plan make --adopt`` or ``plan adopt``; at most
one), drawn at the hazard's polygon: ``ref``, ``teams`` (refs, a hazard may be shared by two), ``method``,
``start_week`` and ``end_week`` (first and last week worked, counted from 0 at the plan's start),
``released_week`` (absent when not released within the horizon), ``released_on`` (that week's last day) and
``plan`` (the run's id). The map colours hazards by the week they are released. Read from
:func:`~safeground.services.plan_runs.current_plan_items`, once per state of the database (its last audit
sequence number). Adopting another plan drops the layer's cached tiles; editing a hazard does not (that would
drop the layer from every cached tile on each edit): a cached plan tile keeps the polygon the hazard had when it
was drawn, while the hazard layer below it is always current.

>>> import os, tempfile, shapely
>>> from safeground.services.records import add_record
>>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "p.gpkg"), user="ana", create=True)
>>> plan_features(ws, None)[0].size, plan_summary(ws)["current"]
(0, False)
>>> h = add_record(ws, "hazard_area", {"name": "H", "hazard_class": "cha", "status": "open",
...                                     "geometry": shapely.box(-72.50, 5.00, -72.49, 5.01)})
>>> run = ws.store.write_plan_run({"kind": "plan", "start_date": "2026-01-05", "horizon_weeks": 26, "value": 1.0,
...     "greedy_value": 1.0, "solve_seconds": 0.1, "status": "feasible"}, [{"team_ref": "TM-000001",
...     "hazard_uuid": h["uuid"], "hazard_ref": h["ref"], "start_week": 0, "end_week": 2, "area_m2": 9e5,
...     "method": "manual", "released_week": 2}], user="ana")
>>> _ = ws.store.adopt_plan_run(run["id"], user="ana")
>>> geoms, columns = plan_features(ws, None)
>>> columns["teams"], columns["released_week"], columns["released_on"], plan_summary(ws)["title"]
(['TM-000001'], [2], ['2026-01-25'], 'Plan run 1, from 2026-01-05 (26 weeks)')
>>> ws.close()
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np
import shapely

from safeground.services.plan_runs import current_plan_items, current_run
from safeground.services.workspace import Workspace

FIELDS = ("ref", "teams", "method", "start_week", "end_week", "released_week", "released_on", "plan")

_MEMO: weakref.WeakKeyDictionary[Workspace, tuple[int, np.ndarray, dict[str, list[Any]], shapely.STRtree]] = \
    weakref.WeakKeyDictionary()
_LOCK = threading.RLock()


def plan_title(run: dict[str, Any]) -> str:
    """How the map names a plan run.

    >>> plan_title({"id": 4, "start_date": "2026-01-05", "horizon_weeks": 52})
    'Plan run 4, from 2026-01-05 (52 weeks)'
    """
    return f"Plan run {run['id']}, from {run['start_date']} ({run['horizon_weeks']} weeks)"


def plan_summary(ws: Workspace) -> dict[str, Any]:
    """The current plan as the map's legend names it; ``{"current": False}`` when none was adopted."""
    run = current_run(ws, required=False)
    if run is None:
        return {"current": False}
    return {"current": True, "run": run["id"], "title": plan_title(run), "start_date": run["start_date"],
            "horizon_weeks": run["horizon_weeks"], "adopted_at": run["adopted_at"], "status": run["status"]}


def plan_features(ws: Workspace, bbox: tuple[float, float, float, float] | None
                  ) -> tuple[np.ndarray, dict[str, list[Any]]]:
    """The tile layer's features: the current plan's hazards meeting ``bbox`` (WGS84; ``None``: all)."""
    with _LOCK:
        seq = ws.store.last_change_seq()
        memo = _MEMO.get(ws)
        if memo is None or memo[0] != seq:
            geoms, columns = _read_plan(ws)
            memo = _MEMO[ws] = (seq, geoms, columns, shapely.STRtree(geoms))
    _seq, geoms, columns, tree = memo
    if bbox is None or not len(geoms):
        return geoms, columns
    idx = np.sort(tree.query(shapely.box(*bbox), predicate="intersects")).tolist()
    return geoms[idx], {k: [v[i] for i in idx] for k, v in columns.items()}


def _read_plan(ws: Workspace) -> tuple[np.ndarray, dict[str, list[Any]]]:
    if current_run(ws, required=False) is None:
        return np.array([], dtype=object), {f: [] for f in FIELDS}
    doc = current_plan_items(ws)
    hazards: dict[str, dict[str, Any]] = {}
    for item in doc["items"]:
        if item["geometry"] is None:
            continue  # a hazard no longer stored: nothing to draw
        h = hazards.setdefault(item["hazard_ref"], {"geometry": item["geometry"], "teams": [], "methods": [],
                                                    "start_week": item["start_week"], "end_week": item["end_week"],
                                                    "released_week": item["released_week"],
                                                    "released_on": item["released_date"]})
        for key, value in (("teams", item["team_ref"]), ("methods", item["method"])):
            if value and value not in h[key]:
                h[key].append(value)
        h["start_week"] = min(h["start_week"], item["start_week"])
        h["end_week"] = max(h["end_week"], item["end_week"])
    refs = sorted(hazards)
    run_id = doc["run"]["id"]
    return (np.array([hazards[r]["geometry"] for r in refs], dtype=object),
            {"ref": refs, "teams": [", ".join(hazards[r]["teams"]) for r in refs],
             "method": [", ".join(hazards[r]["methods"]) for r in refs],
             "start_week": [hazards[r]["start_week"] for r in refs], "end_week": [hazards[r]["end_week"] for r in refs],
             "released_week": [hazards[r]["released_week"] for r in refs],
             "released_on": [hazards[r]["released_on"] for r in refs], "plan": [run_id] * len(refs)})
