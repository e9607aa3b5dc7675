"""``safeground plan make``: build the instance, plan (greedy, then HiGHS), bound it, report (issue 7 §2).

Runs are not stored yet (``plan_run``/``plan_item`` come with the next migration); ``--out`` writes the plan
as CSV with the columns ``team_id``, ``hazard_id``, ``start_week``, ``end_week``, ``area_m2`` and ``method``.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.domain.plan import Plan, PlanInstance, check_plan, target_weeks
from safeground.services.plan_bound import plan_bound
from safeground.services.plan_instance import build_instance
from safeground.services.plan_solve import improve_plan
from safeground.services.workspace import Workspace

COLUMNS = ("team_id", "hazard_id", "start_week", "end_week", "area_m2", "method")


def plan_rows(instance: PlanInstance, plan: Plan) -> list[dict[str, Any]]:
    """The plan as export rows (one per run of weeks of a team on a hazard)."""
    methods = {t.id: t.method for t in instance.teams}
    return [{"team_id": t, "hazard_id": h, "start_week": s, "end_week": e, "area_m2": round(area, 1),
             "method": methods[t]} for t, h, s, e, area in plan.runs()]


def check_out(path: str | Path) -> Path:
    """The export path, refused (``plan.bad_out``) unless it ends in ``.csv``."""
    p = Path(path)
    if p.suffix.lower() != ".csv":
        raise ValidationError("plan.bad_out", f"{p.name}: plans are exported as .csv.",
                              hint="Give --out a file name ending in .csv.")
    return p


def write_plan_csv(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Write the export rows as CSV (see :func:`check_out`)."""
    p = check_out(path)
    with open(p, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def make_plan(ws: Workspace, *, start: dt.date, horizon: int, time_limit: float = 60.0,
              bound_time_limit: float = 30.0) -> dict[str, Any]:
    """Plan ``horizon`` weeks from ``start``: value, greedy value, bound, gap, target weeks and the rows."""
    built = build_instance(ws, start, horizon)
    instance = built.instance
    result = improve_plan(instance, time_limit=time_limit)
    bound = plan_bound(instance, time_limit=bound_time_limit)
    released = check_plan(instance, result.plan).released
    weeks = target_weeks(instance, released)
    gap = (bound.bound - result.value) / bound.bound if bound.bound > 0 else 0.0
    return {
        "start": start.isoformat(), "horizon_weeks": horizon,
        "teams": len(instance.teams), "skipped_teams": built.skipped_teams, "hazards": len(instance.hazards),
        "targets": len(instance.targets), "value": result.value, "greedy_value": result.greedy_value,
        "bound": bound.bound, "gap": gap, "bound_period_weeks": bound.period,
        "solve_seconds": round(result.seconds, 3), "bound_seconds": round(bound.seconds, 3),
        "hazards_released": len(released),
        "target_weeks": [{"ref": k, "week": w,
                          "date": (start + dt.timedelta(days=7 * w + 6)).isoformat() if w is not None else None}
                         for k, w in weeks.items()],
        "items": plan_rows(instance, result.plan),
    }
