"""``safeground plan make``: build the instance, plan (greedy, then HiGHS), bound it, store the run (issue 7 §2).

Every run is stored (:mod:`safeground.services.plan_runs`); ``--adopt`` also makes it the current plan.
``--out`` writes a copy of the plan as CSV or as a GeoPackage layer ``plan_item`` (with each hazard's polygon),
with the columns ``team_id``, ``hazard_id``, ``start_week``, ``end_week``, ``area_m2`` and ``method``.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

from safeground.domain.errors import ValidationError
from safeground.domain.plan import PlanInstance
from safeground.io.vector import new_file, write_vector
from safeground.services.plan_bound import plan_bound
from safeground.services.plan_instance import build_instance, check_hazard_limit
from safeground.services.plan_runs import Solved, adopt, store_run
from safeground.services.plan_solve import improve_plan
from safeground.services.plan_teams import import_teams
from safeground.services.workspace import Workspace

COLUMNS = ("team_id", "hazard_id", "start_week", "end_week", "area_m2", "method")
OUT_SUFFIXES = (".csv", ".gpkg")


def check_out(path: str | Path) -> Path:
    """The export path, refused (``plan.bad_out``) unless it ends in ``.csv`` or ``.gpkg``."""
    p = Path(path)
    if p.suffix.lower() not in OUT_SUFFIXES:
        raise ValidationError("plan.bad_out", f"{p.name}: plans are exported as .csv or .gpkg.",
                              hint="Give --out a file name ending in .csv or .gpkg.")
    return p


def write_plan(ws: Workspace, rows: list[dict[str, Any]], path: str | Path) -> None:
    """Write the export rows as CSV, or as a GeoPackage layer ``plan_item`` with the hazards' polygons."""
    p = check_out(path)
    if p.suffix.lower() == ".csv":
        with open(p, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows({k: r[k] for k in COLUMNS} for r in rows)
        return
    refs = sorted({r["hazard_id"] for r in rows})
    geoms = {h["ref"]: h["geometry"] for h in ws.store.query("hazard_area", where={"ref": refs}, fields=[],
                                                              include_retired=True)} if refs else {}
    kinds: dict[str, Any] = {"team_id": object, "hazard_id": object, "method": object, "area_m2": float}
    columns: dict[str, tuple[np.ndarray, np.ndarray | None]] = {
        k: (np.array([r[k] for r in rows], dtype=kinds.get(k, np.int32)), None) for k in COLUMNS}
    write_vector(new_file(p), "plan_item", geometry=np.array([geoms.get(r["hazard_id"]) for r in rows], dtype=object),
                 geometry_type="MULTIPOLYGON", columns=columns)


def solve(instance: PlanInstance, start: dt.date, *, time_limit: float, bound_time_limit: float | None) -> Solved:
    """Plan ``instance`` (greedy, then HiGHS within ``time_limit``) and bound it unless ``bound_time_limit`` is
    ``None``; the plan is checked."""
    result = improve_plan(instance, time_limit=time_limit)
    bound = plan_bound(instance, time_limit=bound_time_limit) if bound_time_limit is not None else None
    return Solved(instance, result.plan, start, result.value, result.greedy_value, result.seconds,
                  bound.bound if bound else None, bound.seconds if bound else None, bound.period if bound else None)


def parameters(instance: PlanInstance, start: dt.date, skipped: list[str], time_limit: float,
               bound_time_limit: float | None, hazard_limit: int | None = None,
               targets_left_out: int = 0) -> dict[str, Any]:
    """What a run was made from: start, horizon, teams, weights, time limits, sizes (and the limit on the
    hazards planned, with the targets it left out)."""
    w = instance.weights
    return {"start": start.isoformat(), "horizon_weeks": instance.horizon,
            "teams": [{"ref": t.id, "method": t.method, "capacity_m2_week": t.capacity_m2_week,
                       "capacity_by_terrain": dict(t.terrain_capacity)} for t in instance.teams],
            "skipped_teams": skipped, "weights": {"households": w.households, "project": w.project, "risk": w.risk},
            "time_limit": time_limit, "bound_time_limit": bound_time_limit, "hazards": len(instance.hazards),
            "targets": len(instance.targets), "hazard_limit": hazard_limit, "targets_left_out": targets_left_out}


def make_plan(ws: Workspace, *, start: dt.date, horizon: int, time_limit: float = 60.0,
              bound_time_limit: float = 30.0, teams: str | Path | None = None, adopt_run: bool = False,
              hazards: int | None = None) -> dict[str, Any]:
    """Import ``teams`` if given, plan ``horizon`` weeks from ``start`` (only the ``hazards`` most urgent open
    hazards when given), store the run (current if ``adopt_run``): value, greedy value, bound, gap, target
    weeks and the rows."""
    if horizon < 1 or horizon > 520:  # before any write: a refused plan leaves the teams as they were
        raise ValidationError("plan.bad_horizon", f"The horizon must be 1 to 520 weeks, not {horizon}.",
                              hint="Pass --horizon with a number of weeks, e.g. 52.")
    check_hazard_limit(hazards)
    imported = import_teams(ws, teams) if teams else None
    built = build_instance(ws, start, horizon, hazards)
    instance = built.instance
    solved = solve(instance, start, time_limit=time_limit, bound_time_limit=bound_time_limit)
    run = store_run(ws, solved, kind="plan",
                    parameters=parameters(instance, start, built.skipped_teams, time_limit, bound_time_limit,
                                          hazards, built.targets_left_out))
    if adopt_run:
        run = adopt(ws, run["id"])
    released = solved.released
    return {
        "run": run["id"], "current": run["current"], "status": run["status"],
        "teams_import": imported.to_dict() if imported else None,
        "start": start.isoformat(), "horizon_weeks": horizon,
        "teams": len(instance.teams), "skipped_teams": built.skipped_teams, "hazards": len(instance.hazards),
        "targets": len(instance.targets), "targets_left_out": built.targets_left_out,
        "value": solved.value, "greedy_value": solved.greedy_value,
        "bound": solved.bound, "gap": solved.gap, "bound_period_weeks": solved.bound_period,
        "solve_seconds": round(solved.solve_seconds, 3), "bound_seconds": round(solved.bound_seconds or 0.0, 3),
        "hazards_released": len(released),
        "target_weeks": [{"ref": t["ref"], "week": t["week"], "date": t["date"]} for t in run["targets"]],
        "items": solved.rows(),
    }
