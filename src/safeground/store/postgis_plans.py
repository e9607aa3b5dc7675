"""Clearance plan runs and their items in the PostGIS store (tables of migration 10, PostgreSQL form).

The GeoPackage store's semantics (``gpkg_plans.py``): a run is written once, with all its items, in one
transaction; afterwards only its current flag changes, through :meth:`adopt_plan_run`, which writes an audit row
(layer ``safeground_plan_run``); adoptions take a table lock, so two at once leave one current run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from safeground.domain.timestamps import now_iso
from safeground.store.base import Record
from safeground.store.plan_rows import (
    ITEM_COLUMNS,
    PLAN_RUN_LAYER,
    RUN_COLUMNS,
    decoded_runs,
    item_rows,
    no_run,
    run_values,
)
from safeground.store.postgis_tables import as_jsonb, select


class PostGISPlanRuns:
    """The planning half of :class:`~safeground.store.postgis.PostGISStore` (a mixin over its connection)."""

    _conn: Any

    def transaction(self) -> AbstractContextManager[None]:  # pragma: no cover - provided by the store
        raise NotImplementedError

    def write_plan_run(self, run: Mapping[str, Any], items: Sequence[Mapping[str, Any]], *, user: str) -> Record:
        values = run_values(run, items, user)
        with self.transaction():
            run_id = int(self._conn.execute(f"INSERT INTO safeground_plan_run ({', '.join(values)}) "
                                            f"VALUES ({', '.join(['%s'] * len(values))}) RETURNING id",
                                            list(values.values())).fetchone()[0])
            if items:
                with self._conn.cursor() as cur:
                    cur.executemany(f"INSERT INTO safeground_plan_item (run, {', '.join(ITEM_COLUMNS)}) "
                                    f"VALUES ({', '.join(['%s'] * 11)})",
                                    item_rows(run_id, items))
        return self.plan_runs(run_id=run_id)[0]

    def plan_runs(self, *, run_id: int | None = None, kind: str | None = None,
                  current: bool | None = None) -> list[Record]:
        where = {"id": run_id, "kind": kind, "current": current}
        return decoded_runs(select(self._conn, "safeground_plan_run", RUN_COLUMNS, where, "id"))

    def plan_items(self, run_id: int) -> list[Record]:
        if not self.plan_runs(run_id=run_id):
            raise no_run(run_id)
        return select(self._conn, "safeground_plan_item", ITEM_COLUMNS, {"run": run_id}, "position")

    def adopt_plan_run(self, run_id: int, *, user: str) -> Record:
        with self.transaction():
            found = self.plan_runs(run_id=run_id)
            if not found:
                raise no_run(run_id)
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

