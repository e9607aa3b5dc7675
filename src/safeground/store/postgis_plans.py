"""Clearance plan runs and their items in the PostGIS store (tables of migration 10, PostgreSQL form).

The GeoPackage store's semantics (``gpkg_plans.py``): a run is written once, with all its items, in one
transaction; afterwards only its current flag changes, through :meth:`adopt_plan_run`, which writes an audit row
(layer ``safeground_plan_run``); adoptions take a table lock, so two at once leave one current run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from safeground.domain.errors import NotFoundError
from safeground.domain.timestamps import now_iso
from safeground.domain.uuids import time_ordered
from safeground.store.base import Record
from safeground.store.postgis_tables import as_jsonb, select

PLAN_RUN_LAYER = "safeground_plan_run"
_RUN = ("id", "uuid", "kind", "label", "created_at", "created_by", "start_date", "horizon_weeks", "parameters",
        "value", "greedy_value", "bound", "gap", "solve_seconds", "bound_seconds", "status", "targets",
        "item_count", "current", "adopted_at", "adopted_by")
_ITEM = ("position", "team_uuid", "team_ref", "hazard_uuid", "hazard_ref", "start_week", "end_week", "area_m2",
         "method", "released_week")


class PostGISPlanRuns:
    """The planning half of :class:`~safeground.store.postgis.PostGISStore` (a mixin over its connection)."""

    _conn: Any

    def transaction(self) -> AbstractContextManager[None]:  # pragma: no cover - provided by the store
        raise NotImplementedError

    def write_plan_run(self, run: Mapping[str, Any], items: Sequence[Mapping[str, Any]], *, user: str) -> Record:
        values = {"uuid": time_ordered(1)[0], "kind": run["kind"], "label": run.get("label"),
                  "created_at": now_iso(), "created_by": user, "start_date": str(run["start_date"]),
                  "horizon_weeks": int(run["horizon_weeks"]),
                  "parameters": json.dumps(run.get("parameters") or {}, ensure_ascii=False, default=str),
                  "value": float(run["value"]), "greedy_value": float(run["greedy_value"]),
                  "bound": run.get("bound"), "gap": run.get("gap"), "solve_seconds": float(run["solve_seconds"]),
                  "bound_seconds": run.get("bound_seconds"), "status": run["status"],
                  "targets": json.dumps(run.get("targets") or [], ensure_ascii=False, default=str),
                  "item_count": len(items)}
        with self.transaction():
            run_id = int(self._conn.execute(f"INSERT INTO safeground_plan_run ({', '.join(values)}) "
                                            f"VALUES ({', '.join(['%s'] * len(values))}) RETURNING id",
                                            list(values.values())).fetchone()[0])
            if items:
                with self._conn.cursor() as cur:
                    cur.executemany(f"INSERT INTO safeground_plan_item (run, {', '.join(_ITEM)}) "
                                    f"VALUES ({', '.join(['%s'] * 11)})",
                                    [(run_id, i, *(item.get(k) for k in _ITEM[1:])) for i, item in enumerate(items)])
        return self.plan_runs(run_id=run_id)[0]

    def plan_runs(self, *, run_id: int | None = None, kind: str | None = None,
                  current: bool | None = None) -> list[Record]:
        rows = select(self._conn, "safeground_plan_run", _RUN, {"id": run_id, "kind": kind, "current": current}, "id")
        for r in rows:
            r["parameters"] = json.loads(r["parameters"])
            r["targets"] = json.loads(r["targets"])
        return rows

    def plan_items(self, run_id: int) -> list[Record]:
        if not self.plan_runs(run_id=run_id):
            raise _no_run(run_id)
        return select(self._conn, "safeground_plan_item", _ITEM, {"run": run_id}, "position")

    def adopt_plan_run(self, run_id: int, *, user: str) -> Record:
        with self.transaction():
            found = self.plan_runs(run_id=run_id)
            if not found:
                raise _no_run(run_id)
            self._conn.execute("LOCK TABLE safeground_plan_run IN SHARE ROW EXCLUSIVE MODE")
            before = self.plan_runs(current=True)
            stamp = now_iso()
            self._conn.execute("UPDATE safeground_plan_run SET current = false WHERE current")
            self._conn.execute("UPDATE safeground_plan_run SET current = true, adopted_at = %s, adopted_by = %s "
                               "WHERE id = %s", (stamp, user, run_id))
            after = self.plan_runs(run_id=run_id)[0]
            self._conn.execute(
                "INSERT INTO safeground_audit (layer, fid, uuid, op, actor, at, before, after) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (PLAN_RUN_LAYER, run_id, after["uuid"], "plan_adopt", user, stamp,
                 as_jsonb({"current_run": before[0]["id"] if before else None}), as_jsonb({"current_run": run_id})))
        return after


def _no_run(run_id: int) -> NotFoundError:
    return NotFoundError("plan.run_not_found", f"There is no plan run {run_id}.",
                         hint="List the runs with 'safeground plan runs --db DB'.")
