"""Contamination risk runs and their cells in the GeoPackage store (tables of migration 9).

Not GeoPackage layers: a run's cells are exported as a layer by ``--out``. A run is written once, with all its
cells, in one transaction; afterwards only its current flag changes, through :meth:`adopt_risk_run`, which
writes an audit row (layer ``safeground_risk_run``) naming who adopted it and which run it replaced.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from itertools import repeat
from typing import Any

import numpy as np

from safeground.domain.errors import NotFoundError
from safeground.domain.timestamps import now_iso
from safeground.domain.uuids import time_ordered
from safeground.store import gpkg_binary
from safeground.store.base import Record
from safeground.store.sqlite_schema import select_rows

RISK_RUN_LAYER = "safeground_risk_run"
_RUN = ("id", "uuid", "kind", "created_at", "created_by", "as_of", "cells_source", "parameters", "metrics", "served",
        "cell_count", "current", "adopted_at", "adopted_by")
_CELLS_PER_STATEMENT = 5_000


class GeoPackageRiskRuns:
    """The risk half of :class:`~safeground.store.gpkg.GeoPackageStore` (a mixin over its connection)."""

    _conn: sqlite3.Connection

    def transaction(self) -> AbstractContextManager[None]:  # pragma: no cover - provided by the store
        raise NotImplementedError

    def write_risk_run(self, run: Mapping[str, Any], cells: Mapping[str, Sequence[Any]] | None, *,
                       user: str) -> Record:
        cell_ids: Sequence[Any] = cells["cell_id"] if cells else ()
        values = {"uuid": time_ordered(1)[0], "kind": run["kind"], "created_at": now_iso(), "created_by": user,
                  "as_of": run.get("as_of"), "cells_source": run["cells_source"],
                  "parameters": json.dumps(run.get("parameters") or {}, ensure_ascii=False, default=str),
                  "metrics": json.dumps(run.get("metrics") or {}, ensure_ascii=False, default=str),
                  "model": run.get("model"), "served": run.get("served"), "cell_count": len(cell_ids)}
        with self.transaction():
            cur = self._conn.execute(f"INSERT INTO safeground_risk_run ({', '.join(values)}) "
                                     f"VALUES ({', '.join('?' * len(values))})", list(values.values()))
            run_id = int(cur.lastrowid or 0)
            if cells:
                self._conn.executemany("INSERT INTO safeground_risk_cell VALUES (?, ?, ?, ?, ?, ?)",
                                       _cell_rows(run_id, cells))
        return self.risk_runs(run_id=run_id)[0]

    def risk_runs(self, *, run_id: int | None = None, kind: str | None = None,
                  current: bool | None = None) -> list[Record]:
        where = {"id": run_id, "kind": kind, "current": None if current is None else int(current)}
        rows = select_rows(self._conn, "safeground_risk_run", _RUN, where, "id")
        for r in rows:
            r["parameters"] = json.loads(r["parameters"])
            r["metrics"] = json.loads(r["metrics"])
            r["current"] = bool(r["current"])
        return rows

    def risk_run_model(self, run_id: int) -> bytes | None:
        row = self._conn.execute("SELECT model FROM safeground_risk_run WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise _no_run(run_id)
        return None if row[0] is None else bytes(row[0])

    def risk_cells(self, run_id: int) -> Iterator[Record]:
        cur = self._conn.execute("SELECT position, cell_id, geometry, risk, reasons FROM safeground_risk_cell "
                                 "WHERE run = ? ORDER BY position", (run_id,))
        for position, cell_id, blob, risk, reasons in cur:
            geom = gpkg_binary.decode([blob])[0] if blob is not None else None
            yield {"position": position, "cell_id": cell_id, "geometry": geom, "risk": risk,
                   "reasons": json.loads(reasons)}

    def adopt_risk_run(self, run_id: int, *, user: str) -> Record:
        with self.transaction():
            found = self.risk_runs(run_id=run_id)
            if not found:
                raise _no_run(run_id)
            before = self.risk_runs(current=True)
            stamp = now_iso()
            self._conn.execute("UPDATE safeground_risk_run SET current = 0 WHERE current = 1")
            self._conn.execute("UPDATE safeground_risk_run SET current = 1, adopted_at = ?, adopted_by = ? "
                               "WHERE id = ?", (stamp, user, run_id))
            after = self.risk_runs(run_id=run_id)[0]
            self._conn.execute(
                "INSERT INTO safeground_audit (layer, fid, uuid, op, actor, at, before, after) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (RISK_RUN_LAYER, run_id, after["uuid"], "risk_adopt", user, stamp,
                 json.dumps({"current_run": before[0]["id"] if before else None}),
                 json.dumps({"current_run": run_id})))
        return after


def _cell_rows(run_id: int, cells: Mapping[str, Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    n = len(cells["cell_id"])
    geoms = cells.get("geometry")
    rings = cells.get("rings")  # a grid's cells as (n, 5, 2) closed rings, without shapely objects
    for start in range(0, n, _CELLS_PER_STATEMENT):
        stop = min(n, start + _CELLS_PER_STATEMENT)
        if rings is not None:
            blobs: Sequence[bytes | None] = ring_blobs(np.asarray(rings[start:stop], dtype=float))
        elif geoms is not None:
            blobs = gpkg_binary.encode(np.asarray(geoms[start:stop], dtype=object))
        else:
            blobs = [None] * (stop - start)
        ids = [str(i) for i in cells["cell_id"][start:stop]]
        risk = np.asarray(cells["risk"][start:stop], dtype=float).tolist()
        reasons = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in cells["reasons"][start:stop]]
        # Tuples made by zip in C: at millions of cells the loop's own cost is what a write takes.
        yield from zip(repeat(run_id), range(start, stop), ids, blobs, risk, reasons)


_RING = np.dtype([("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs_id", "<i4"), ("env", "<f8", (4,)),
                  ("order", "u1"), ("type", "<u4"), ("rings", "<u4"), ("points", "<u4"), ("xy", "<f8", (5, 2))])


def ring_blobs(rings: np.ndarray, srs_id: int = 4326) -> list[bytes]:
    """GeoPackage blobs of polygons with one closed ring of five points (grid cells), laid out by numpy: the
    header with its envelope (minx, maxx, miny, maxy), then little-endian ISO WKB.

    >>> import shapely
    >>> ring = np.array([[[0, 0], [2, 0], [2, 1], [0, 1], [0, 0]]], dtype=float)
    >>> blob = ring_blobs(ring)[0]
    >>> blob == gpkg_binary.encode(np.array([shapely.Polygon(ring[0])]))[0]
    True
    """
    out = np.zeros(len(rings), dtype=_RING)
    out["magic"], out["flags"], out["srs_id"] = b"GP", 0b0000_0011, srs_id
    out["env"] = np.stack([rings[:, :, 0].min(axis=1), rings[:, :, 0].max(axis=1), rings[:, :, 1].min(axis=1),
                           rings[:, :, 1].max(axis=1)], axis=1)
    out["order"], out["type"], out["rings"], out["points"] = 1, 3, 1, 5
    out["xy"] = rings
    raw = out.tobytes()
    size = _RING.itemsize
    return [raw[i: i + size] for i in range(0, len(raw), size)]


def _no_run(run_id: int) -> NotFoundError:
    return NotFoundError("risk.run_not_found", f"There is no risk run {run_id}.",
                         hint="List the runs with 'safeground risk runs --db DB'.")
