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
from safeground.store.sqlite_schema import select_rows


class GeoPackagePlanRuns:
    """The planning half of :class:`~safeground.store.gpkg.GeoPackageStore` (a mixin over its connection)."""

    _conn: sqlite3.Connection

    def transaction(self) -> AbstractContextManager[None]:  # pragma: no cover - provided by the store
        raise NotImplementedError

    def write_plan_run(self, run: Mapping[str, Any], items: Sequence[Mapping[str, Any]], *, user: str) -> Record:
        values = run_values(run, items, user)
        with self.transaction():
            cur = self._conn.execute(f"INSERT INTO safeground_plan_run ({', '.join(values)}) "
                                     f"VALUES ({', '.join('?' * len(values))})", list(values.values()))
            run_id = int(cur.lastrowid or 0)
            self._conn.executemany(
                f"INSERT INTO safeground_plan_item (run, {', '.join(ITEM_COLUMNS)}) VALUES ({', '.join('?' * 11)})",
                item_rows(run_id, items))
        return self.plan_runs(run_id=run_id)[0]

    def plan_runs(self, *, run_id: int | None = None, kind: str | None = None,
                  current: bool | None = None) -> list[Record]:
        where = {"id": run_id, "kind": kind, "current": None if current is None else int(current)}
        rows = select_rows(self._conn, "safeground_plan_run", RUN_COLUMNS, where, "id")
        return decoded_runs(rows)

    def plan_items(self, run_id: int) -> list[Record]:
        if not self.plan_runs(run_id=run_id):
            raise no_run(run_id)
        return select_rows(self._conn, "safeground_plan_item", ITEM_COLUMNS, {"run": run_id}, "position")

    def adopt_plan_run(self, run_id: int, *, user: str) -> Record:
        with self.transaction():
            found = self.plan_runs(run_id=run_id)
            if not found:
                raise no_run(run_id)
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

