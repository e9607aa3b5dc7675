"""What both stores write and read for clearance plan runs (tables of migration 10): the columns, a run's row
from what the planner gives, its items' rows, and the error for a run that does not exist. Each backend's mixin
(``gpkg_plans.py``, ``postgis_plans.py``) only adds its SQL dialect and its locking."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from safeground.domain.errors import NotFoundError
from safeground.domain.timestamps import now_iso
from safeground.domain.uuids import time_ordered
from safeground.store.base import Record

PLAN_RUN_LAYER = "safeground_plan_run"
RUN_COLUMNS = ("id", "uuid", "kind", "label", "created_at", "created_by", "start_date", "horizon_weeks",
               "parameters", "value", "greedy_value", "bound", "gap", "solve_seconds", "bound_seconds", "status",
               "targets", "item_count", "current", "adopted_at", "adopted_by")
ITEM_COLUMNS = ("position", "team_uuid", "team_ref", "hazard_uuid", "hazard_ref", "start_week", "end_week",
                "area_m2", "method", "released_week")


def run_values(run: Mapping[str, Any], items: Sequence[Mapping[str, Any]], user: str) -> dict[str, Any]:
    """The new run's row (without its id), by column: JSON text for its parameters and targets."""
    return {"uuid": time_ordered(1)[0], "kind": run["kind"], "label": run.get("label"),
            "created_at": now_iso(), "created_by": user, "start_date": str(run["start_date"]),
            "horizon_weeks": int(run["horizon_weeks"]),
            "parameters": json.dumps(run.get("parameters") or {}, ensure_ascii=False, default=str),
            "value": float(run["value"]), "greedy_value": float(run["greedy_value"]),
            "bound": run.get("bound"), "gap": run.get("gap"), "solve_seconds": float(run["solve_seconds"]),
            "bound_seconds": run.get("bound_seconds"), "status": run["status"],
            "targets": json.dumps(run.get("targets") or [], ensure_ascii=False, default=str),
            "item_count": len(items)}


def item_rows(run_id: int, items: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """The run's items as rows of ``(run, *ITEM_COLUMNS)``, numbered in the planner's order."""
    return [(run_id, i, *(item.get(k) for k in ITEM_COLUMNS[1:])) for i, item in enumerate(items)]


def decoded_runs(rows: list[Record]) -> list[Record]:
    """Runs as read: parameters and targets parsed, ``current`` a bool."""
    for r in rows:
        r["parameters"] = json.loads(r["parameters"])
        r["targets"] = json.loads(r["targets"])
        r["current"] = bool(r["current"])
    return rows


def no_run(run_id: int) -> NotFoundError:
    return NotFoundError("plan.run_not_found", f"There is no plan run {run_id}.",
                         hint="List the runs with 'safeground plan runs --db DB'.")
