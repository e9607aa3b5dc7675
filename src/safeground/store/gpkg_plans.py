"""Clearance plan runs and their items in the GeoPackage store (tables of migration 10).

Not GeoPackage layers: a plan's items are exported as a layer by ``plan make --out``. A run is written once, with
all its items, in one transaction; afterwards only its current flag changes, through :meth:`adopt_plan_run`,
which writes an audit row (layer ``safeground_plan_run``) naming who adopted it and which run it replaced.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from safeground.domain.errors import NotFoundError
from safeground.domain.timestamps import now_iso
from safeground.domain.uuids import time_ordered
from safeground.store.base import Record
from safeground.store.sqlite_schema import select_rows

PLAN_RUN_LAYER = "safeground_plan_run"
_RUN = ("id", "uuid", "kind", "label", "created_at", "created_by", "start_date", "horizon_weeks", "parameters",
        "value", "greedy_value", "bound", "gap", "solve_seconds", "bound_seconds", "status", "targets",
        "item_count", "current", "adopted_at", "adopted_by")
_ITEM = ("position", "team_uuid", "team_ref", "hazard_uuid", "hazard_ref", "start_week", "end_week", "area_m2",
         "method", "released_week")


class GeoPackagePlanRuns:
    """The planning half of :class:`~safeground.store.gpkg.GeoPackageStore` (a mixin over its connection)."""

    _conn: sqlite3.Connection

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
            cur = self._conn.execute(f"INSERT INTO safeground_plan_run ({', '.join(values)}) "
                                     f"VALUES ({', '.join('?' * len(values))})", list(values.values()))
            run_id = int(cur.lastrowid or 0)
            self._conn.executemany(
                f"INSERT INTO safeground_plan_item (run, {', '.join(_ITEM)}) VALUES ({', '.join('?' * 11)})",
                [(run_id, i, *(item.get(k) for k in _ITEM[1:])) for i, item in enumerate(items)])
        return self.plan_runs(run_id=run_id)[0]

    def plan_runs(self, *, run_id: int | None = None, kind: str | None = None,
                  current: bool | None = None) -> list[Record]:
        where = {"id": run_id, "kind": kind, "current": None if current is None else int(current)}
        rows = select_rows(self._conn, "safeground_plan_run", _RUN, where, "id")
        for r in rows:
            r["parameters"] = json.loads(r["parameters"])
            r["targets"] = json.loads(r["targets"])
            r["current"] = bool(r["current"])
        return rows

    def plan_items(self, run_id: int) -> list[Record]:
        if not self.plan_runs(run_id=run_id):
            raise _no_run(run_id)
        return select_rows(self._conn, "safeground_plan_item", _ITEM, {"run": run_id}, "position")

    def adopt_plan_run(self, run_id: int, *, user: str) -> Record:
        with self.transaction():
            found = self.plan_runs(run_id=run_id)
            if not found:
                raise _no_run(run_id)
            before = self.plan_runs(current=True)
            stamp = now_iso()
            self._conn.execute("UPDATE safeground_plan_run SET current = 0 WHERE current = 1")
            self._conn.execute("UPDATE safeground_plan_run SET current = 1, adopted_at = ?, adopted_by = ? "
                               "WHERE id = ?", (stamp, user, run_id))
            after = self.plan_runs(run_id=run_id)[0]
            self._conn.execute(
                "INSERT INTO safeground_audit (layer, fid, uuid, op, actor, at, before, after) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (PLAN_RUN_LAYER, run_id, after["uuid"], "plan_adopt", user, stamp,
                 json.dumps({"current_run": before[0]["id"] if before else None}),
                 json.dumps({"current_run": run_id})))
        return after


def _no_run(run_id: int) -> NotFoundError:
    return NotFoundError("plan.run_not_found", f"There is no plan run {run_id}.",
                         hint="List the runs with 'safeground plan runs --db DB'.")
