"""The embedded store: one SQLite file that is a valid GeoPackage 1.3 (WAL mode, R-tree indexes).

Uses the standard library's sqlite3. Geometry is GeoPackage binary; bounding-box search uses the
GeoPackage R-tree; exact predicates and distances run in shapely, in metres (UTM).
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain, islice
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from safeground.domain.errors import ConflictError, NotFoundError, StoreError, ValidationError
from safeground.domain.fields import FieldType
from safeground.domain.records import RecordType, record_type
from safeground.domain.timestamps import now_iso
from safeground.domain.uuids import time_ordered
from safeground.geo.crs import WGS84, reproject, utm_epsg
from safeground.store import gpkg_binary, related_tables, rtree, sync_tiles
from safeground.store.base import OPERATORS, Batch, Change, Record, Store, Where, change_mark, ref_number
from safeground.store.gpkg_plans import GeoPackagePlanRuns
from safeground.store.gpkg_risk import GeoPackageRiskRuns
from safeground.store.gpkg_users import GeoPackageUsers
from safeground.store.migrations import MIGRATIONS, SCHEMA_VERSION
from safeground.store.sqlite_schema import (
    FID,
    GEOM,
    audit_insert_sql,
    audit_insert_triggers,
    index_sql,
    q,
    rtree_insert_trigger,
    select_rows,
)
from safeground.store.sync_tables import SyncTables

#: From this many rows, an insert replaces the per-row triggers by set-based work in the same transaction:
#: one audit statement for the batch, and boxes from numpy for the R-tree instead of the ST_ functions
#: called row by row (same index, no Python callbacks); an empty table gets its indexes built after the load.
BULK_ROWS = 2000

#: Rows a bulk insert puts in one statement.
ROWS_PER_STATEMENT = 200

#: Page cache (negative: KiB) during a bulk load, instead of the usual 256 MiB.
BULK_CACHE_KIB = -16384

#: SafeGround's own updates must always change ``updated_at``, or the audit trigger takes them for
#: external edits: use now, or 1 ms after the stored value when the clock has not moved past it.
_LATER = ("CASE WHEN ? > updated_at THEN ? "
          "ELSE strftime('%Y-%m-%dT%H:%M:%fZ', updated_at, '+0.001 seconds') END")

APPLICATION_ID = 0x47504B47  # "GPKG"
GPKG_USER_VERSION = 10300


class GeoPackageStore(GeoPackageUsers, GeoPackageRiskRuns, GeoPackagePlanRuns, SyncTables, Store):
    """A SafeGround database in one GeoPackage file."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, read_only: bool = False) -> None:
        self._conn = conn
        self._path = path
        self.read_only = read_only
        self._depth = 0
        self._closed = False
        self._bulk = 0  # depth of bulk_load()
        self._pending: set[str] = set()  # layers whose new boxes wait for their R-tree
        self._packing: dict[str, rtree.Packer] = {}  # layers whose R-tree is being built anew in this load
        self._unindexed: set[str] = set()  # layers loaded from empty, whose indexes are built at the end

    # --- lifecycle -------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, *, create: bool = False, read_only: bool = False) -> GeoPackageStore:
        """Open (and migrate) ``path``; create a new GeoPackage there only when ``create`` is true.

        ``read_only`` opens the file through SQLite's read-only mode: the journal mode, the schema and the
        file are left exactly as they are (no migration, no checkpoint on close), and any write is refused.
        """
        if read_only:
            return cls._open_read_only(path)
        exists = path.exists() and path.stat().st_size > 0
        if not exists and not create:
            raise StoreError("store.not_found", f"No SafeGround database at {path}.",
                             hint="Create one with 'safeground init --db PATH' or 'safeground demo --db PATH'.",
                             status=404)
        if not exists:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            if exists:
                _check_is_safeground(conn, path)
        except sqlite3.DatabaseError as exc:
            raise StoreError("store.not_a_database", f"{path} is not a SQLite/GeoPackage file ({exc}).",
                             hint="Give the path of a SafeGround .gpkg file.") from None
        gpkg_binary.register_functions(conn)
        if not exists:
            # Written straight into the file header before WAL mode, so that GDAL sees them at once.
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {GPKG_USER_VERSION}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB at most: uuid indexes thrash the default 2 MiB
        conn.execute("PRAGMA recursive_triggers = OFF")
        store = cls(conn, path)
        store._migrate(new=not exists)
        return store

    @classmethod
    def _open_read_only(cls, path: Path) -> GeoPackageStore:
        if not (path.exists() and path.stat().st_size > 0):
            raise StoreError("store.not_found", f"No SafeGround database at {path}.",
                             hint="Create one with 'safeground init --db PATH' or 'safeground demo --db PATH'.",
                             status=404)
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            _check_is_safeground(conn, path)
        except sqlite3.DatabaseError as exc:
            raise StoreError("store.not_a_database", f"{path} is not a SQLite/GeoPackage file ({exc}).",
                             hint="Give the path of a SafeGround .gpkg file.") from None
        gpkg_binary.register_functions(conn)
        conn.execute("PRAGMA cache_size = -262144")
        store = cls(conn, path, read_only=True)
        version = store.schema_version
        if version != SCHEMA_VERSION:
            conn.close()
            raise StoreError("store.read_only_outdated",
                             f"{path} has schema version {version}; this SafeGround reads version "
                             f"{SCHEMA_VERSION}, and a read-only open cannot upgrade it.",
                             hint="Run any writing command on it once (e.g. 'safeground stats --db PATH'), or "
                                  "upgrade SafeGround if the file is newer.")
        return store

    def _migrate(self, *, new: bool) -> None:
        current = 0 if new else self.schema_version
        if current > SCHEMA_VERSION:
            self._conn.close()
            raise StoreError("store.schema_too_new",
                             f"{self._path} has schema version {current}; "
                             f"this SafeGround knows up to {SCHEMA_VERSION}.",
                             hint="Upgrade SafeGround to open this file.")
        pending = [m for m in MIGRATIONS if m[0] > current]
        if not pending:
            return
        with self.transaction():
            for number, _desc, fn in pending:
                fn(self._conn)
                self._conn.execute("INSERT OR REPLACE INTO safeground_meta VALUES ('schema_version', ?)",
                                   (str(number),))
            if new:
                self._conn.execute("INSERT INTO safeground_meta VALUES ('created_at', ?)", (now_iso(),))

    @property
    def schema_version(self) -> int:
        row = self._conn.execute("SELECT value FROM safeground_meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    @property
    def location(self) -> str:
        return str(self._path)

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for backend-specific tests and benchmarks only."""
        return self._conn

    def close(self) -> None:
        """Checkpoint the WAL into the main file, so that the file alone is complete, then close.

        Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        if self.read_only:
            self._conn.close()
            return
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._pending.clear()  # the temporary tables go with the rollback
            self._packing.clear()
            self._unindexed.clear()
            self._conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self._conn.execute("COMMIT")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        with self.transaction():
            name = f"sg_savepoint_{self._depth}"
            self._conn.execute(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                self._conn.execute(f"ROLLBACK TO {name}")
                self._conn.execute(f"RELEASE {name}")
                raise
            self._conn.execute(f"RELEASE {name}")

    # --- configuration ---------------------------------------------------------------------------
    def read_config_text(self) -> str | None:
        row = self._conn.execute("SELECT yaml FROM safeground_config WHERE id = 1").fetchone()
        return row[0] if row else None

    def write_config_text(self, text: str, user: str) -> None:
        with self.transaction():
            self._conn.execute("INSERT OR REPLACE INTO safeground_config VALUES (1, ?, ?, ?)", (text, user, now_iso()))

    # --- writes ----------------------------------------------------------------------------------
    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """A transaction in which large inserts leave their spatial index to the end.

        Inside it, each bulk insert's boxes wait in a temporary table, and the R-tree is filled once on the
        way out (packed from scratch when the new boxes outnumber the old ones), still inside the
        transaction: a failure rolls everything back. Reads and updates that need the index fill it first.
        """
        with self.transaction():
            self._bulk += 1
            cache = self._conn.execute("PRAGMA cache_size").fetchone()[0]
            if self._bulk == 1:  # memory must not grow with the load: appends need few pages, sorts spill to disk
                self._conn.execute(f"PRAGMA cache_size = {BULK_CACHE_KIB}")
            try:
                yield
                if self._bulk == 1:
                    for layer in sorted(self._pending | set(self._packing) | self._unindexed):
                        self._flush_rtree(layer)
            finally:
                self._bulk -= 1
                if not self._bulk:
                    self._conn.execute(f"PRAGMA cache_size = {int(cache)}")
                    self._pending.clear()
                    self._packing.clear()
                    self._unindexed.clear()

    def insert(self, layer: str, batch: Batch, *, user: str, import_run: str | None = None,
               review_state: str = "submitted") -> list[str]:
        rt = record_type(layer)
        n = len(batch)
        if n == 0:
            return []
        stamp = now_iso()
        given = {k: v for k, v in batch.columns.items() if k not in ("uuid", "ref")}
        for name in given:
            rt.field(name)
        uuids = [str(u) for u in batch.columns["uuid"]] if "uuid" in batch.columns else time_ordered(n)
        fixed = {"version": 1, "review_state": review_state, "import_run": import_run, "created_by": user,
                 "created_at": stamp, "updated_by": user, "updated_at": stamp}
        bulk = n >= BULK_ROWS
        if bulk:  # an all-empty column is left to its NULL default: binding a million Nones costs seconds
            given = {k: v for k, v in given.items() if any(x is not None for x in v)}
        if bulk:  # the column default gives version 1 (and a row binds one parameter less)
            fixed.pop("version")
        # Each value is bound once a row: a column with one value throughout becomes a literal of the statement
        # (in a bulk insert) and a column equal to an earlier one reuses its numbered parameter.
        bound: dict[str, Sequence[Any]] = {FID: [None] * n, "uuid": uuids}
        exprs: dict[str, str | int] = {FID: 1, "uuid": 2, "ref": 1}  # an SQL literal, or a parameter's number
        values: dict[str, Sequence[Any]] = {k: [v] * n for k, v in fixed.items() if k not in given}
        values |= {k: _to_sql_column(rt, k, v) for k, v in given.items()}
        geoms = None
        if rt.is_spatial:
            geoms = batch.geometry if batch.geometry is not None else np.full(n, None, dtype=object)
            values[GEOM] = gpkg_binary.encode(geoms)
        for name, column in values.items():
            literal = _literal(column[0]) if bulk and _constant(column) else None
            twin = next((k for k in bound if k != FID and _same(bound[k], column)), None)
            if literal is not None:
                exprs[name] = literal
            elif twin is not None:
                exprs[name] = exprs[twin]
            else:
                bound[name] = column
                exprs[name] = len(bound)
        columns = list(bound.values())
        head = f"INSERT INTO {q(layer)} ({', '.join(map(q, exprs))}) VALUES "
        # A bulk insert puts many rows in one statement: SQLite then does its per-statement work (the
        # AUTOINCREMENT counter in sqlite_sequence, read and written back) once for them all, not once a row.
        per = min(ROWS_PER_STATEMENT, 32766 // len(bound)) if bulk else 1
        prefix = _literal(rt.prefix)

        def tuples(count: int) -> str:
            """``count`` rows of parameters and literals, the ref made by SQLite from the fid: <prefix>-<fid>."""
            width = len(bound)
            return ", ".join("(" + ", ".join(f"printf('%s-%06d', {prefix}, ?{1 + j * width})" if name == "ref"
                                             else f"?{e + j * width}" if isinstance(e, int) else e
                                             for name, e in exprs.items()) + ")" for j in range(count))

        with self.transaction():
            if not bulk:
                self._flush_rtree(layer)  # the per-row triggers need a finished index
            first = self._next_fid(layer)
            fids = range(first, first + n)
            columns[0] = fids
            # Bulk: the per-row triggers (R-tree, audit) are replaced by set-based statements in this transaction;
            # even a trigger whose WHEN is false (the uuid/ref filler: both are given) costs microseconds a row.
            triggers = audit_insert_triggers(rt) + ([rtree_insert_trigger(layer)] if rt.is_spatial else [])
            # Loading an empty table: build its indexes afterwards (at the end of a bulk load).
            reindex = bulk and first == 1 and layer not in self._unindexed
            if bulk:
                for trigger, _sql in triggers:
                    self._conn.execute(f"DROP TRIGGER {q(trigger)}")
            if reindex:
                for stmt in index_sql(rt):
                    self._conn.execute(f"DROP INDEX IF EXISTS {stmt.split()[2]}")
                if self._bulk:
                    self._unindexed.add(layer)
                    reindex = False
            try:
                rows = zip(*columns, strict=True)
                if n >= per > 1:
                    self._conn.executemany(head + tuples(per), (tuple(chain.from_iterable(islice(rows, per)))
                                                                for _ in range(n // per)))
                self._conn.executemany(head + tuples(1), rows)  # the rest
            except sqlite3.IntegrityError as exc:
                raise ValidationError("store.duplicate", f"Insert into {layer} refused: {exc}.",
                                      hint="A record with this uuid or ref exists already.") from None
            if bulk:
                self._conn.execute(audit_insert_sql(rt), (first, first + n - 1))
                if geoms is not None:
                    self._queue_rtree(layer, np.asarray(fids), geoms)
                for _trigger, trigger_sql in triggers:
                    self._conn.execute(trigger_sql)
            if reindex:
                for stmt in index_sql(rt):
                    self._conn.execute(stmt)
            if bulk and not self._bulk:
                self._flush_rtree(layer)
        return uuids

    def insert_copies(self, layer: str, records: Sequence[Mapping[str, Any]]) -> None:
        rt = record_type(layer)
        if not records:
            return
        names = [f.name for f in rt.all_fields]
        geoms = gpkg_binary.encode(np.array([r.get("geometry") for r in records], dtype=object)) \
            if rt.is_spatial else None
        rows = []
        for i, r in enumerate(records):
            row = [_to_sql_value(rt, name, r.get(name)) for name in names]
            if geoms is not None:
                row.append(geoms[i])
            rows.append(row)
        columns = [*names, *([GEOM] if geoms is not None else [])]
        with self.transaction():
            self._flush_rtree(layer)
            self._conn.executemany(f"INSERT INTO {q(layer)} ({', '.join(map(q, columns))}) "
                                   f"VALUES ({', '.join('?' * len(columns))})", rows)
            # New records continue after the copied refs' numbers, so a ref made here never repeats a copied one.
            last = ref_number(records)
            self._conn.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", (last, layer))

    def add_basemap_tiles(self, tiles: list[tuple[int, int, int, bytes]]) -> int:
        """Add offline basemap tiles ``(zoom, column, row from the north, bytes)`` as the GeoPackage tile pyramid
        ``basemap`` (a field copy's; see :mod:`safeground.store.sync_tiles`); return how many."""
        with self.transaction():
            return sync_tiles.write_tiles(self._conn, tiles)

    def _queue_rtree(self, layer: str, fids: np.ndarray, geoms: np.ndarray) -> None:
        """Keep the boxes of new rows in a temporary table until :meth:`_flush_rtree`."""
        keep = ~shapely.is_missing(geoms)
        keep[keep] = ~shapely.is_empty(geoms[keep])
        if not keep.any():
            return
        b = _bounds(geoms[keep])
        packer = self._packing.get(layer)
        if packer is None and layer not in self._pending and not self._conn.execute(
                f"SELECT 1 FROM {q(f'rtree_{layer}_{GEOM}')} LIMIT 1").fetchone():
            packer = self._packing[layer] = rtree.Packer(self._conn, f"rtree_{layer}_{GEOM}")
        if packer is not None:  # an empty index: pack the leaves now
            packer.add(fids[keep], b[:, 0], b[:, 2], b[:, 1], b[:, 3])
            return
        table = _pending_table(layer)
        if layer not in self._pending:
            self._conn.execute(f"DROP TABLE IF EXISTS {table}")
            self._conn.execute(f"CREATE TEMP TABLE {table.split('.')[1]} ({rtree.PENDING_COLUMNS})")
            self._pending.add(layer)
        key = rtree.hilbert((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)
        self._conn.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?)",
                               zip(fids[keep].tolist(), b[:, 0].tolist(), b[:, 2].tolist(), b[:, 1].tolist(),
                                   b[:, 3].tolist(), key.tolist(), strict=True))

    def _flush_rtree(self, layer: str) -> None:
        """Finish the index work left for later on ``layer``: the packed R-tree's upper levels, the waiting
        boxes (packed anew with the indexed ones when they outnumber them, else inserted through the R*Tree
        module in one statement), and indexes dropped for a load from empty."""
        if layer in self._unindexed:
            self._unindexed.discard(layer)
            for stmt in index_sql(record_type(layer)):
                self._conn.execute(stmt)
        packer = self._packing.pop(layer, None)
        if packer is not None:
            packer.finish()
        if layer not in self._pending:
            return
        self._pending.discard(layer)
        table, index = _pending_table(layer), q(f"rtree_{layer}_{GEOM}")
        waiting = self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        indexed = self._conn.execute(f"SELECT COUNT(*) FROM {index}").fetchone()[0]
        if waiting >= indexed:
            old = self._conn.execute(f"SELECT id, minx, maxx, miny, maxy FROM {index}")
            while rows := old.fetchmany(100_000):
                b = np.array(rows, dtype=float)
                key = rtree.hilbert((b[:, 1] + b[:, 2]) / 2, (b[:, 3] + b[:, 4]) / 2)
                self._conn.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?)",
                                       [(*r, k) for r, k in zip(rows, key.tolist(), strict=True)])
            rtree.rebuild(self._conn, f"rtree_{layer}_{GEOM}", table)
        else:
            self._conn.execute(f"INSERT INTO {index} SELECT id, minx, maxx, miny, maxy FROM {table}")
        self._conn.execute(f"DROP TABLE {table}")

    def _next_fid(self, layer: str) -> int:
        row = self._conn.execute(f"SELECT COALESCE(MAX({FID}), 0) FROM {q(layer)}").fetchone()
        seq = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (layer,)).fetchone()
        return max(row[0], seq[0] if seq else 0) + 1

    def update(self, layer: str, uuid: str, changes: Mapping[str, Any], *, user: str,
               expected_version: int | None = None) -> Record:
        rt = record_type(layer)
        with self.transaction():
            self._flush_rtree(layer)
            current = self._row_meta(layer, uuid)
            if expected_version is not None and current["version"] != expected_version:
                raise ConflictError(
                    "store.version_conflict",
                    f"{current['ref']} was changed by {current['updated_by']} at {current['updated_at']} "
                    f"(version {current['version']}); your edit was based on version {expected_version}.",
                    hint="Reload the record, reapply your change and save again.",
                    details={"current_version": current["version"], "expected_version": expected_version})
            sets: list[str] = []
            params: list[Any] = []
            for name, value in changes.items():
                if name == "geometry":
                    sets.append(f"{q(GEOM)} = ?")
                    params.append(gpkg_binary.encode(np.array([value], dtype=object))[0])
                    continue
                if name in ("uuid", "ref", "version", "created_by", "created_at", "updated_by", "updated_at"):
                    raise ValidationError("record.managed_field", f"Field '{name}' cannot be changed.",
                                          hint="Leave it out of the update.")
                rt.field(name)
                sets.append(f"{q(name)} = ?")
                params.append(_to_sql_value(rt, name, value))
            sets += ["updated_by = ?", f"updated_at = {_LATER}"]
            stamp = now_iso()
            params += [user, stamp, stamp, current["fid"]]
            self._conn.execute(f"UPDATE {q(layer)} SET {', '.join(sets)} WHERE {FID} = ?", params)
        return self.get(layer, uuid)

    def update_many(self, layer: str, uuids: Sequence[str], columns: Mapping[str, Sequence[Any]], *,
                    user: str) -> int:
        rt = record_type(layer)
        names = list(columns)
        for name in names:
            if rt.field(name).name in ("uuid", "ref", "version", "created_by", "created_at", "updated_by",
                                       "updated_at"):
                raise ValidationError("record.managed_field", f"Field '{name}' cannot be changed.",
                                      hint="Leave it out of the update.")
        stamp = now_iso()
        sets = [f"{q(n)} = ?" for n in names] + ["updated_by = ?", f"updated_at = {_LATER}"]
        sql = f"UPDATE {q(layer)} SET {', '.join(sets)} WHERE uuid = ?"
        cols = [_to_sql_column(rt, n, columns[n]) for n in names]
        n = len(uuids)
        rows = zip(*cols, [user] * n, [stamp] * n, [stamp] * n, uuids, strict=True)
        with self.transaction():
            self._flush_rtree(layer)
            cur = self._conn.executemany(sql, rows)
        return cur.rowcount

    def retire(self, layer: str, uuid: str, reason: str, *, user: str,
               expected_version: int | None = None) -> Record:
        if not reason or not reason.strip():
            raise ValidationError("record.retire_needs_reason", "A record can be retired only with a reason.",
                                  hint="Say why, e.g. 'duplicate of HA-000012'.")
        return self.update(layer, uuid, {"retired_at": now_iso(), "retired_reason": reason}, user=user,
                           expected_version=expected_version)

    def _row_meta(self, layer: str, uuid: str) -> dict[str, Any]:
        row = self._conn.execute(
            f"SELECT {FID}, ref, version, updated_by, updated_at FROM {q(layer)} WHERE uuid = ?", (uuid,)).fetchone()
        if row is None:
            raise NotFoundError("record.not_found", f"No {layer} record with uuid {uuid}.",
                                hint="Check the uuid; retired records are still found by uuid.")
        return dict(zip(("fid", "ref", "version", "updated_by", "updated_at"), row, strict=True))

    # --- reads -----------------------------------------------------------------------------------
    def get(self, layer: str, uuid: str) -> Record:
        rows = self.query(layer, where={"uuid": uuid}, include_retired=True)
        if not rows:
            raise NotFoundError("record.not_found", f"No {layer} record with uuid {uuid}.",
                                hint="Check the uuid; retired records are still found by uuid.")
        return rows[0]

    def query(self, layer: str, *, where: Where | None = None, bbox: tuple[float, float, float, float] | None = None,
              include_retired: bool = False, order_by: str | None = None, limit: int | None = None,
              offset: int = 0, geometry: bool = True, fields: Sequence[str] | None = None) -> list[Record]:
        rt = record_type(layer)
        names = [f.name for f in rt.all_fields] if fields is None else \
            list(dict.fromkeys(["uuid", "ref", *(rt.field(n).name for n in fields)]))
        select = [f"t.{q(n)}" for n in names]
        if rt.is_spatial and geometry:
            select.append(f"t.{q(GEOM)}")
        clause, params = self._where(rt, where, include_retired, bbox)
        sql = f"SELECT {', '.join(select)} FROM {q(layer)} t {clause}"
        if order_by:
            desc = order_by.startswith("-")
            col = order_by.lstrip("-")
            rt.field(col)
            sql += f" ORDER BY t.{q(col)}{' DESC' if desc else ''}, t.{FID}"
        else:
            sql += f" ORDER BY t.{FID}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [int(limit), int(offset)]
        rows = self._conn.execute(sql, params).fetchall()
        bools = [i for i, n in enumerate(names) if rt.field(n).type is FieldType.BOOLEAN]
        out: list[Record] = []
        geoms = gpkg_binary.decode([r[-1] for r in rows]) if rt.is_spatial and geometry else None
        for k, row in enumerate(rows):
            rec = dict(zip(names, row[: len(names)], strict=True))
            for i in bools:
                if row[i] is not None:
                    rec[names[i]] = bool(row[i])
            if geoms is not None:
                rec["geometry"] = geoms[k]
            out.append(rec)
        return out

    def _where(self, rt: RecordType, where: Where | None, include_retired: bool,
               bbox: tuple[float, float, float, float] | None) -> tuple[str, list[Any]]:
        conds: list[str] = []
        params: list[Any] = []
        if not include_retired:
            conds.append("t.retired_at IS NULL")
        if bbox is not None:
            if not rt.is_spatial:
                raise ValidationError("query.not_spatial", f"Layer '{rt.layer}' has no geometry.",
                                      hint="Drop the bounding box for this layer.")
            minx, miny, maxx, maxy = (float(v) for v in bbox)
            self._flush_rtree(rt.layer)
            conds.append(f"t.{FID} IN (SELECT id FROM {q('rtree_' + rt.layer + '_geom')} "
                         "WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?)")
            params += [minx, maxx, miny, maxy]
        for name, spec in (where or {}).items():
            rt.field(name)
            col = f"t.{q(name)}"
            op, value = _parse_condition(spec)
            if op in ("in", "not_in"):
                values = [_to_sql_value(rt, name, v) for v in value]
                if not values:
                    conds.append("0" if op == "in" else "1")
                    continue
                conds.append(f"{col} {'NOT ' if op == 'not_in' else ''}IN (SELECT value FROM json_each(?))")
                params.append(json.dumps(values))
            elif op == "is_null":
                conds.append(f"{col} IS NULL")
            elif op == "not_null":
                conds.append(f"{col} IS NOT NULL")
            elif op == "between":
                low, high = value
                for cmp, bound in ((">=", low), ("<=", high)):
                    if bound is not None:
                        conds.append(f"{col} {cmp} ?")
                        params.append(_to_sql_value(rt, name, bound))
            else:
                conds.append(f"{col} {op} ?")
                params.append(_to_sql_value(rt, name, value))
        return ("WHERE " + " AND ".join(conds) if conds else ""), params

    def count(self, layer: str, *, where: Where | None = None, include_retired: bool = True,
              bbox: tuple[float, float, float, float] | None = None) -> int:
        rt = record_type(layer)
        clause, params = self._where(rt, where, include_retired, bbox)
        return int(self._conn.execute(f"SELECT COUNT(*) FROM {q(layer)} t {clause}", params).fetchone()[0])

    def extent(self, layer: str, *, where: Where | None = None,
               include_retired: bool = False) -> tuple[float, float, float, float] | None:
        """The matching records' bounding box from the R-tree's boxes (float32, rounded outwards)."""
        rt = record_type(layer)
        if not rt.is_spatial:
            return None
        self._flush_rtree(layer)
        clause, params = self._where(rt, where, include_retired, None)
        sql = (f"SELECT MIN(r.minx), MIN(r.miny), MAX(r.maxx), MAX(r.maxy) FROM {q(layer)} t "
               f"JOIN {q('rtree_' + layer + '_geom')} r ON r.id = t.{FID} {clause}")
        row = self._conn.execute(sql, params).fetchone()
        return None if row is None or row[0] is None else (row[0], row[1], row[2], row[3])

    def aggregate(self, layer: str, *, group_by: Sequence[str] = (),
                  metrics: Mapping[str, tuple[str, str]] | None = None,
                  where: Where | None = None, include_retired: bool = False) -> list[Record]:
        rt = record_type(layer)
        metrics = metrics or {"count": ("count", "*")}
        exprs: list[str] = []
        for g in group_by:
            rt.field(g)
            exprs.append(f"t.{q(g)}")
        for out_name, (fn, fld) in metrics.items():
            if fn not in ("count", "sum", "min", "max"):
                raise ValidationError("query.bad_metric", f"Unknown aggregate '{fn}'.",
                                      hint="Use count, sum, min, max.")
            if fld != "*":
                rt.field(fld)
            arg = "*" if fld == "*" else f"t.{q(fld)}"
            exprs.append(f"{fn.upper()}({arg}) AS {q(out_name)}")
        clause, params = self._where(rt, where, include_retired, None)
        sql = f"SELECT {', '.join(exprs)} FROM {q(layer)} t {clause}"
        if group_by:
            sql += " GROUP BY " + ", ".join(f"t.{q(g)}" for g in group_by)
            sql += " ORDER BY " + ", ".join(f"t.{q(g)}" for g in group_by)
        keys = list(group_by) + list(metrics)
        return [dict(zip(keys, row, strict=True)) for row in self._conn.execute(sql, params)]

    def within_distance(self, layer: str, geom: shapely.Geometry, metres: float, *, where: Where | None = None,
                        include_retired: bool = False) -> list[Record]:
        if metres < 0:
            raise ValidationError("query.bad_distance", "Distance must not be negative.", hint="Give metres >= 0.")
        c = shapely.centroid(geom)
        zone = utm_epsg(c.x, c.y)
        # Degrees per metre is largest near the poles; pad the search box generously, then test exactly.
        dlat = metres / 110_000.0 + 1e-9
        dlon = metres / (111_320.0 * max(math.cos(math.radians(min(abs(c.y) + dlat, 89.9))), 1e-6)) + 1e-9
        minx, miny, maxx, maxy = geom.bounds
        candidates = self.query(layer, where=where, include_retired=include_retired,
                                bbox=(minx - dlon, miny - dlat, maxx + dlon, maxy + dlat))
        if not candidates:
            return []
        target = reproject(np.array([geom], dtype=object), WGS84, zone)[0]
        projected = reproject(np.array([r["geometry"] for r in candidates], dtype=object), WGS84, zone)
        dist = shapely.distance(projected, target)
        keep = [(float(d), r) for d, r in zip(dist, candidates, strict=True) if d <= metres]
        keep.sort(key=lambda pair: pair[0])
        for d, r in keep:
            r["distance_m"] = d
        return [r for _d, r in keep]

    def existing_uuids(self, layer: str, uuids: Sequence[str]) -> set[str]:
        record_type(layer)
        wanted = json.dumps(sorted({u for u in uuids if u}))
        sql = f"SELECT uuid FROM {q(layer)} WHERE uuid IN (SELECT value FROM json_each(?))"
        return {r[0] for r in self._conn.execute(sql, (wanted,))}

    def changes_since(self, seq: int = 0, *, limit: int | None = None) -> Iterator[Change]:
        sql = f"SELECT {_CHANGE_COLUMNS} FROM safeground_audit WHERE seq > ? ORDER BY seq"
        params: list[Any] = [seq]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        for row in self._conn.execute(sql, params):
            yield _change(row)

    def record_changes(self, layer: str, uuid: str) -> list[Change]:
        record_type(layer)
        row = self._conn.execute(f"SELECT {FID} FROM {q(layer)} WHERE uuid = ?", (uuid,)).fetchone()
        if row is None:
            raise NotFoundError("record.not_found", f"No {layer} record with uuid {uuid}.",
                                hint="Check the uuid; retired records are still found by uuid.")
        sql = f"SELECT {_CHANGE_COLUMNS} FROM safeground_audit WHERE layer = ? AND fid = ? ORDER BY seq"
        return [_change(r) for r in self._conn.execute(sql, (layer, row[0]))]

    def last_change_seq(self) -> int:
        row = self._conn.execute("SELECT max(seq) FROM safeground_audit").fetchone()
        return int(row[0] or 0)

    def last_change_mark(self) -> str:
        row = self._conn.execute(_LAST_MARK).fetchone()
        return "0" if row is None else change_mark(int(row[0]), row[1], row[2], int(row[3]))

    def backup(self, target: str) -> None:
        path = Path(target)
        if path.exists():
            raise StoreError("backup.target_exists", f"{path} exists already.",
                             hint="Choose a new file name; a backup never overwrites.", status=409)
        dest = sqlite3.connect(str(path))
        try:
            self._conn.backup(dest)
            dest.execute("PRAGMA journal_mode = DELETE")
        finally:
            dest.close()

    @classmethod
    def restore(cls, backup: Path, target: Path) -> None:
        """Copy the GeoPackage ``backup`` to ``target``, a new (or empty) file, through SQLite's backup API, then
        open it once so that an older backup is migrated. The copy is written beside ``target`` and renamed into
        place: a failed restore leaves no half-written database."""
        if target.exists() and target.stat().st_size > 0:
            raise StoreError("restore.target_not_empty", f"{target} exists already and is not empty.",
                             hint="Restore into a new, empty file; a restore never overwrites a database.", status=409)
        partial = target.with_name(target.name + ".restoring")
        partial.unlink(missing_ok=True)
        source = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "safeground_meta" not in tables:
                raise sqlite3.DatabaseError("it has no safeground_meta table")
            dest = sqlite3.connect(str(partial))
            try:
                source.backup(dest)
                dest.execute("PRAGMA journal_mode = DELETE")
            finally:
                dest.close()
        except sqlite3.DatabaseError as exc:
            partial.unlink(missing_ok=True)
            raise StoreError("restore.not_a_backup", f"{backup} is not a SafeGround GeoPackage ({exc}).",
                             hint="Give a file written by 'safeground backup'.", status=422) from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            source.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.replace(target)
        cls.open(target).close()

    # --- attachments -------------------------------------------------------------------------------
    def add_attachment(self, layer: str, record_uuid: str, file_name: str, content_type: str, data: bytes, *,
                       user: str, personal: bool = False, source: str | None = None) -> Record:
        record_type(layer)
        digest = hashlib.sha256(data).hexdigest()
        with self.transaction():
            row = self._conn.execute(f"SELECT {FID} FROM {q(layer)} WHERE uuid = ?", (record_uuid,)).fetchone()
            if row is None:
                raise NotFoundError("record.not_found", f"No {layer} record with uuid {record_uuid}.",
                                    hint="Check the reference; retired records are still found.")
            same = related_tables.select_media(
                self._conn, where="layer = ? AND record_uuid = ? AND file_name = ? AND sha256 = ? "
                "AND retired_at IS NULL", params=(layer, record_uuid, file_name, digest))
            if same:
                return same[0]
            meta = {"uuid": time_ordered(1)[0], "layer": layer, "record_uuid": record_uuid, "file_name": file_name,
                    "content_type": content_type, "size": len(data), "sha256": digest, "personal": personal,
                    "source": source, "created_at": now_iso(), "created_by": user}
            related_tables.insert_media(self._conn, int(row[0]), meta, data)
            self._audit_attachment(layer, int(row[0]), record_uuid, "attach", user, None, meta)
        return self._attachment(str(meta["uuid"]))

    def _audit_attachment(self, layer: str, fid: int, record_uuid: str, op: str, user: str,
                          before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> None:
        """The record's audit log names each file attached or retired (metadata, never the bytes)."""
        self._conn.execute(
            "INSERT INTO safeground_audit (layer, fid, uuid, op, actor, at, before, after) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (layer, fid, record_uuid, op, user, now_iso(), json.dumps(before, default=str) if before else None,
             json.dumps(after, default=str)))

    def attachments(self, *, layer: str | None = None, record_uuids: Sequence[str] | None = None,
                    include_retired: bool = False) -> list[Record]:
        conds: list[str] = []
        params: list[Any] = []
        if layer is not None:
            record_type(layer)
            conds.append("layer = ?")
            params.append(layer)
        if record_uuids is not None:
            conds.append("record_uuid IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(record_uuids)))
        if not include_retired:
            conds.append("retired_at IS NULL")
        return related_tables.select_media(self._conn, where=" AND ".join(conds), params=params)

    def _attachment(self, uuid: str, *, data: bool = False) -> Record:
        rows = related_tables.select_media(self._conn, where="uuid = ?", params=(uuid,), data=data)
        if not rows:
            raise NotFoundError("attachment.not_found", f"No attachment with uuid {uuid}.",
                                hint="List a record's attachments with 'safeground attachments REF'.")
        return rows[0]

    def attachment_data(self, uuid: str) -> bytes:
        return bytes(self._attachment(uuid, data=True)["data"])

    def retire_attachment(self, uuid: str, reason: str, *, user: str) -> Record:
        if not reason or not reason.strip():
            raise ValidationError("record.retire_needs_reason", "An attachment can be retired only with a reason.",
                                  hint="Say why, e.g. 'wrong photo'.")
        with self.transaction():
            before = self._attachment(uuid)
            self._conn.execute(f"UPDATE {related_tables.MEDIA} SET retired_at = ?, retired_by = ?, retired_reason = ? "
                               "WHERE uuid = ? AND retired_at IS NULL", (now_iso(), user, reason, uuid))
            after = self._attachment(uuid)
            row = self._conn.execute(f"SELECT {FID} FROM {q(after['layer'])} WHERE uuid = ?",
                                     (after["record_uuid"],)).fetchone()
            self._audit_attachment(after["layer"], int(row[0]), after["record_uuid"], "retire_attachment", user,
                                   before, after)
        return after

    # --- quarantine -----------------------------------------------------------------------------------
    _QUARANTINE = ("import_run", "layer", "source", "source_row", "code", "reason", "hint", "raw", "created_at")

    def write_quarantine(self, rows: Sequence[Mapping[str, Any]]) -> None:
        stamp = now_iso()
        values = [tuple(json.dumps(r["raw"], ensure_ascii=False, default=str) if c == "raw" else
                        r.get(c, stamp if c == "created_at" else None) for c in self._QUARANTINE) for r in rows]
        with self.transaction():
            self._conn.executemany(f"INSERT INTO safeground_quarantine ({', '.join(self._QUARANTINE)}) "
                                   f"VALUES ({', '.join('?' * len(self._QUARANTINE))})", values)

    def quarantined(self, *, import_run: str | None = None, source: str | None = None,
                    ids: Sequence[int] | None = None) -> list[Record]:
        cols = ("id", *self._QUARANTINE)
        sql = f"SELECT {', '.join(cols)} FROM safeground_quarantine WHERE resolved_at IS NULL"
        params: list[Any] = []
        for name, value in (("import_run", import_run), ("source", source)):
            if value is not None:
                sql += f" AND {name} = ?"
                params.append(value)
        if ids is not None:
            sql += " AND id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps([int(i) for i in ids]))
        out = []
        for row in self._conn.execute(sql + " ORDER BY id", params):
            rec = dict(zip(cols, row, strict=True))
            rec["raw"] = json.loads(rec["raw"])
            out.append(rec)
        return out

    def requarantine(self, rows: Sequence[Mapping[str, Any]]) -> None:
        values = [(r["import_run"], r["code"], r["reason"], r.get("hint"),
                   json.dumps(r["raw"], ensure_ascii=False, default=str), now_iso(), r["id"]) for r in rows]
        with self.transaction():
            self._conn.executemany("UPDATE safeground_quarantine SET import_run = ?, code = ?, reason = ?, hint = ?, "
                                   "raw = ?, created_at = ? WHERE id = ? AND resolved_at IS NULL", values)

    def resolve_quarantine(self, resolved: Sequence[tuple[int, str, str]], *, import_run: str, user: str) -> None:
        stamp = now_iso()
        with self.transaction():
            self._conn.executemany(
                "UPDATE safeground_quarantine SET resolved_at = ?, resolved_layer = ?, resolved_uuid = ?, "
                "resolved_run = ?, resolved_by = ? WHERE id = ? AND resolved_at IS NULL",
                [(stamp, layer, uuid, import_run, user, qid) for qid, layer, uuid in resolved])

    # --- source rows of one import, for exact duplicates ----------------------------------------------
    def stage_source_rows(self, layer: str, uuids: Sequence[str], rows: Sequence[str]) -> None:
        # A row is known by a 128-bit key: Python's keyed string hash (SipHash, a pseudo-random function) of
        # the row and of the row with a marker put before it. Two different rows share it with odds of 2**-128.
        with self.transaction():
            self._conn.execute("CREATE TEMP TABLE IF NOT EXISTS sg_source_row (h1 INTEGER, h2 INTEGER, layer TEXT, "
                               "uuid TEXT)")
            staged = zip(map(hash, rows), map(hash, map("\x1e".__add__, rows)), [layer] * len(rows), uuids,
                         strict=True)
            per = ROWS_PER_STATEMENT  # many rows a statement, as in a bulk insert
            if len(rows) >= per:
                self._conn.executemany("INSERT INTO temp.sg_source_row VALUES " + ", ".join(["(?, ?, ?, ?)"] * per),
                                       (tuple(chain.from_iterable(islice(staged, per)))
                                        for _ in range(len(rows) // per)))
            self._conn.executemany("INSERT INTO temp.sg_source_row VALUES (?, ?, ?, ?)", staged)

    def link_exact_duplicates(self, import_run: str, reason: str) -> int:
        with self.transaction():
            if not self._conn.execute("SELECT 1 FROM temp.sqlite_master WHERE name = 'sg_source_row'").fetchone():
                return 0
            # Rows whose first half of the key is seen more than once first (a sort of one integer), then their
            # groups of the whole key: the first of each, in staging order, is the original, as a person reading
            # the file would see it (a row alone in its group is its own first, so it links to nothing).
            cur = self._conn.execute(
                f"INSERT INTO safeground_duplicate_link ({', '.join(self._LINK)}) "
                "SELECT layer, uuid, first_uuid, 'exact_source_row', 'proposed', ?, ?, ? FROM ("
                "  SELECT rowid AS seq, layer, uuid, first_value(uuid) OVER w AS first_uuid, "
                "  first_value(layer) OVER w AS first_layer FROM temp.sg_source_row "
                "  WHERE h1 IN (SELECT h1 FROM temp.sg_source_row GROUP BY h1 HAVING COUNT(*) > 1) "
                "  WINDOW w AS (PARTITION BY h1, h2 ORDER BY rowid)) "
                "WHERE uuid != first_uuid AND layer = first_layer ORDER BY seq", (reason, import_run, now_iso()))
            self._conn.execute("DROP TABLE temp.sg_source_row")
        return cur.rowcount

    # --- duplicate links -----------------------------------------------------------------------------
    _LINK = ("layer", "uuid", "duplicate_of", "kind", "status", "reason", "import_run", "created_at")

    def write_duplicate_links(self, links: Sequence[Mapping[str, Any]]) -> None:
        stamp = now_iso()
        defaults = {"status": "proposed", "created_at": stamp}
        values = [tuple(link.get(c, defaults.get(c)) for c in self._LINK) for link in links]
        with self.transaction():
            self._conn.executemany(f"INSERT INTO safeground_duplicate_link ({', '.join(self._LINK)}) "
                                   f"VALUES ({', '.join('?' * len(self._LINK))})", values)

    def duplicate_links(self, *, layer: str | None = None, status: str | None = None,
                        link_id: int | None = None) -> list[Record]:
        return select_rows(self._conn, "safeground_duplicate_link", ("id", *self._LINK, "decided_by", "decided_at"),
                           {"layer": layer, "status": status, "id": link_id}, "id")

    def decide_duplicate_link(self, link_id: int, status: str, *, user: str) -> None:
        with self.transaction():
            self._conn.execute("UPDATE safeground_duplicate_link SET status = ?, decided_by = ?, decided_at = ? "
                               "WHERE id = ?", (status, user, now_iso(), link_id))

    _MATCH = ("minefield_record", "layer", "uuid", "inside", "distance_m", "overlap_m2", "quantity", "search_m",
              "computed_at")

    def replace_minefield_matches(self, record: str, matches: Sequence[Mapping[str, Any]], *, search_m: float) -> None:
        fixed = {"minefield_record": record, "search_m": search_m, "computed_at": now_iso()}
        values = [tuple(fixed[c] if c in fixed else m.get(c) for c in self._MATCH) for m in matches]
        with self.transaction():
            self._conn.execute("DELETE FROM safeground_minefield_match WHERE minefield_record = ?", (record,))
            self._conn.executemany(f"INSERT INTO safeground_minefield_match ({', '.join(self._MATCH)}) "
                                   f"VALUES ({', '.join('?' * len(self._MATCH))})", values)

    def minefield_matches(self, record: str | None = None, *, counted: Sequence[str] | None = None) -> list[Record]:
        cols = ("id", *self._MATCH)
        select = f"SELECT {', '.join('m.' + c for c in cols)} FROM safeground_minefield_match m"
        by_record = " AND m.minefield_record = ?" if record is not None else ""
        if counted is None:
            sql = select + (" WHERE m.minefield_record = ?" if record is not None else "")
            params: list[Any] = [record] if record is not None else []
        else:  # one inner join per matched layer: each an index lookup by uuid
            marks = ", ".join("?" * len(counted))
            sql = " UNION ALL ".join(
                f"{select} JOIN {q(layer)} r ON r.uuid = m.uuid WHERE m.layer = '{layer}' AND r.retired_at IS NULL "
                f"AND r.review_state IN ({marks}){by_record}" for layer in ("activity", "device"))
            params = [*counted, *([record] if record is not None else [])] * 2
        rows = [dict(zip(cols, row, strict=True)) for row in self._conn.execute(sql + " ORDER BY 1", params)]
        for r in rows:
            r["inside"] = bool(r["inside"])
        return rows

    # --- publications ----------------------------------------------------------------------------
    _PUBLICATION = ("id", "uuid", "year", "version", "published_at", "published_by", "note", "official_only",
                    "audit_seq", "fingerprint", "fingerprint_layers")

    def write_publication(self, publication: Mapping[str, Any], *, user: str) -> Record:
        with self.transaction():
            year = int(publication["year"])
            version = int(self._conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM safeground_publication "
                                             "WHERE year = ?", (year,)).fetchone()[0])
            seq = int(self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM safeground_audit").fetchone()[0])
            row = {"uuid": time_ordered(1)[0], "year": year, "version": version, "published_at": now_iso(),
                   "published_by": user, "note": publication.get("note"),
                   "official_only": int(bool(publication["official_only"])), "audit_seq": seq,
                   "fingerprint": publication["fingerprint"],
                   "fingerprint_layers": json.dumps(publication["fingerprint_layers"], sort_keys=True),
                   "figures": json.dumps(publication["figures"], ensure_ascii=False, sort_keys=True, default=str)}
            cur = self._conn.execute(f"INSERT INTO safeground_publication ({', '.join(row)}) "
                                     f"VALUES ({', '.join('?' * len(row))})", list(row.values()))
            meta = {k: v for k, v in row.items() if k not in ("figures", "fingerprint_layers")}
            self._conn.execute("INSERT INTO safeground_audit (layer, fid, uuid, op, actor, at, after) "
                               "VALUES ('safeground_publication', ?, ?, 'publish', ?, ?, ?)",
                               (cur.lastrowid, row["uuid"], user, row["published_at"], json.dumps(meta)))
        [stored] = self.publications(year=year, version=version)
        return stored

    def publications(self, *, year: int | None = None, version: int | None = None,
                     figures: bool = False) -> list[Record]:
        cols = (*self._PUBLICATION, *(("figures",) if figures else ()))
        where = {"year": None if year is None else int(year), "version": None if version is None else int(version)}
        out = []
        for rec in select_rows(self._conn, "safeground_publication", cols, where, "year, version"):
            rec["official_only"] = bool(rec["official_only"])
            rec["fingerprint_layers"] = json.loads(rec["fingerprint_layers"])
            if figures:
                rec["figures"] = json.loads(rec["figures"])
            out.append(rec)
        return out

    # --- import runs -----------------------------------------------------------------------------
    def write_import_run(self, run: Mapping[str, Any]) -> None:
        """Insert or replace an import run's summary row."""
        cols = ["id", "layer", "source", "format", "started_at", "finished_at", "user", "rows_read",
                "rows_stored", "rows_quarantined", "status", "report"]
        values = [json.dumps(run[c]) if c == "report" and run.get(c) is not None else run.get(c) for c in cols]
        with self.transaction():
            self._conn.execute(f"INSERT OR REPLACE INTO safeground_import_run ({', '.join(cols)}) "
                               f"VALUES ({', '.join('?' * len(cols))})", values)

    def import_runs(self) -> list[Record]:
        cur = self._conn.execute("SELECT * FROM safeground_import_run ORDER BY started_at, id")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        return [r | {"report": json.loads(r["report"]) if r["report"] else None} for r in rows]


_CHANGE_COLUMNS = "seq, layer, fid, uuid, op, actor, import_run, at, before, after"
_LAST_MARK = "SELECT seq, at, layer, fid FROM safeground_audit ORDER BY seq DESC LIMIT 1"


def _change(row: Sequence[Any]) -> Change:
    return Change(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                  json.loads(row[8]) if row[8] else None, json.loads(row[9]) if row[9] else None)


def _parse_condition(spec: Any) -> tuple[str, Any]:
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str) and spec[0] in OPERATORS:
        return spec
    if isinstance(spec, (list, set, frozenset)):
        return "in", list(spec)
    if spec is None:
        return "is_null", None
    return "=", spec


def _to_sql_value(rt: RecordType, name: str, value: Any) -> Any:
    if value is None:
        return None
    if rt.field(name).type is FieldType.BOOLEAN:
        return int(bool(value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def _to_sql_column(rt: RecordType, name: str, values: Sequence[Any]) -> Sequence[Any]:
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if rt.field(name).type is FieldType.BOOLEAN:
        return [None if v is None else int(bool(v)) for v in values]
    return values if isinstance(values, list) else list(values)


def _literal(value: Any) -> str | None:
    """``value`` as an SQL literal, or ``None`` where it must be bound (bytes, text with NUL, non-finite)."""
    if value is None:
        return "NULL"
    if type(value) is int:
        return str(value)
    if type(value) is float and math.isfinite(value):
        return repr(value)
    if type(value) is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


def _constant(column: Sequence[Any]) -> bool:
    """Whether every value of ``column`` is the same value of the same type."""
    first = column[0]
    return column.count(first) == len(column) and (type(first) is str or all(type(v) is type(first)
                                                                                 for v in column))


def _same(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Whether two columns hold the very same objects (cheap when they differ early)."""
    return len(a) == len(b) and all(map(operator.is_, a, b))


def _pending_table(layer: str) -> str:
    return "temp." + q(f"sg_rtree_pending_{layer}")


def _bounds(geoms: np.ndarray) -> np.ndarray:
    """``(minx, miny, maxx, maxy)`` per geometry; points without building envelopes."""
    if (shapely.get_type_id(geoms) == 0).all():
        x, y = shapely.get_x(geoms), shapely.get_y(geoms)
        return np.column_stack([x, y, x, y])
    return shapely.bounds(geoms)


def _check_is_safeground(conn: sqlite3.Connection, path: Path) -> None:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "safeground_meta" not in tables:
        conn.close()
        raise StoreError("store.not_safeground", f"{path} is a database but not a SafeGround database.",
                         hint="Import its layers into a SafeGround database with 'safeground import'.")
