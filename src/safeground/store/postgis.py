"""The server store: PostgreSQL with PostGIS, through psycopg 3, behind the same Store interface.

One connection per store, in autocommit mode with SafeGround's own ``BEGIN``/``COMMIT`` (nested
:meth:`transaction` calls join the outer one; :meth:`savepoint` uses SQL savepoints). Geometry is PostGIS
``geometry`` in EPSG:4326 with a GiST index; bounding boxes, extents and distances are computed by PostGIS
(distances in the UTM zone of the query geometry's centroid, as the GeoPackage store measures them).
Versions and the audit log come from the triggers of ``postgis_schema.py``. An update locks its row
(``SELECT ... FOR UPDATE``) before checking the version, so of two concurrent writers of the same version the
second waits, then gets ``store.version_conflict``. Every value is a bound parameter.
"""

from __future__ import annotations

import glob
import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely

from safeground.domain.errors import ConflictError, NotFoundError, StoreError, ValidationError
from safeground.domain.fields import FieldType
from safeground.domain.records import RecordType, record_type
from safeground.domain.timestamps import now_iso
from safeground.domain.uuids import time_ordered
from safeground.geo.crs import utm_epsg
from safeground.store.base import OPERATORS, Batch, Change, Record, Store, Where, change_mark, ref_number
from safeground.store.postgis_migrations import PG_MIGRATIONS, PG_SCHEMA_VERSION
from safeground.store.postgis_plans import PostGISPlanRuns
from safeground.store.postgis_schema import PARAM_TYPES
from safeground.store.postgis_tables import PostGISTables, no_nul
from safeground.store.postgis_users import PostGISUsers
from safeground.store.sqlite_schema import FID, GEOM, q
from safeground.store.sync_tables import SyncTables

_MANAGED = frozenset({"uuid", "ref", "version", "created_by", "created_at", "updated_by", "updated_at"})
#: Audit rows :meth:`PostGISStore.changes_since` reads a query.
CHANGES_PAGE = 10_000
_CHANGE_COLUMNS = "seq, layer, fid, uuid, op, actor, import_run, at, before, after"
_LAST_MARK = "SELECT seq, at, layer, fid FROM safeground_audit ORDER BY seq DESC LIMIT 1"


def redacted(url: str) -> str:
    """``url`` without its password, for messages.

    >>> redacted("postgresql://ana:secret@db.example.org:5432/safeground")
    'postgresql://ana:***@db.example.org:5432/safeground'
    """
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


class PostGISStore(PostGISUsers, PostGISPlanRuns, PostGISTables, SyncTables, Store):
    """A SafeGround database in PostgreSQL/PostGIS."""

    _MARK = "%s"
    _JSON_MARK = "%s::jsonb"

    def __init__(self, conn: Any, url: str, *, read_only: bool = False) -> None:
        self._conn = conn
        self._url = url
        self.read_only = read_only
        self._depth = 0
        self._closed = False

    # --- lifecycle -------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, *, create: bool = False, read_only: bool = False) -> PostGISStore:
        """Connect to ``url`` and migrate it; an empty database gets the schema only when ``create`` is true.

        ``read_only`` sets the session read-only (PostgreSQL refuses any write) and migrates nothing."""
        try:
            conn = psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StoreError("store.connection_failed",
                             f"Cannot connect to {redacted(url)}: {str(exc).strip().splitlines()[-1]}.",
                             hint="Check the server is running, and the URL's host, port, database, user and "
                                  "password.", status=503) from None
        conn.execute("SET TIME ZONE 'UTC'")
        store = cls(conn, url, read_only=read_only)
        have = store._has_meta()
        if not have and not create:
            conn.close()
            raise StoreError("store.not_found", f"No SafeGround database at {redacted(url)}.",
                             hint="Create its schema with 'safeground init --db URL'.", status=404)
        if read_only:
            conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            version = store.schema_version
            if version != PG_SCHEMA_VERSION:
                conn.close()
                raise StoreError("store.read_only_outdated",
                                 f"{redacted(url)} has schema version {version}; this SafeGround reads version "
                                 f"{PG_SCHEMA_VERSION}, and a read-only open cannot upgrade it.",
                                 hint="Run any writing command on it once (e.g. 'safeground stats --db URL'), or "
                                      "upgrade SafeGround if the database is newer.")
            return store
        store._migrate(new=not have)
        return store

    def _has_meta(self) -> bool:
        row = self._conn.execute("SELECT to_regclass('safeground_meta')").fetchone()
        return row[0] is not None

    def _migrate(self, *, new: bool) -> None:
        with self.transaction():
            # One migrator at a time: a second process opening the same new database waits, then finds it done.
            self._conn.execute("SELECT pg_advisory_xact_lock(7400512)")
            if new and self._has_meta():
                new = False
            current = 0 if new else self.schema_version
            if current > PG_SCHEMA_VERSION:
                raise StoreError("store.schema_too_new",
                                 f"{redacted(self._url)} has schema version {current}; "
                                 f"this SafeGround knows up to {PG_SCHEMA_VERSION}.",
                                 hint="Upgrade SafeGround to open this database.")
            pending = [m for m in PG_MIGRATIONS if m[0] > current]
            if not pending:
                return
            if new:
                try:
                    with self.savepoint():
                        self._conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                except psycopg.Error as exc:
                    raise StoreError("store.postgis_missing",
                                     f"PostGIS is not available in {redacted(self._url)}: {str(exc).strip()}.",
                                     hint="Install PostGIS on the server (Debian: postgresql-15-postgis-3) and "
                                          "run 'CREATE EXTENSION postgis' as a superuser, or let SafeGround's "
                                          "user create it.") from None
            for number, _desc, fn in pending:
                fn(self._conn)
                self._conn.execute("INSERT INTO safeground_meta VALUES ('schema_version', %s) ON CONFLICT (key) "
                                   "DO UPDATE SET value = EXCLUDED.value", (str(number),))
            if new:
                self._conn.execute("INSERT INTO safeground_meta VALUES ('created_at', %s)", (now_iso(),))

    @property
    def schema_version(self) -> int:
        row = self._conn.execute("SELECT value FROM safeground_meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    @property
    def location(self) -> str:
        return redacted(self._url)

    @property
    def side_path(self) -> Path:
        return Path.cwd() / f"{self._conn.info.dbname}.gpkg"

    @property
    def connection(self) -> Any:
        """The raw psycopg connection, for backend-specific tests and benchmarks only."""
        return self._conn

    def close(self) -> None:
        """Close the connection (closing twice is harmless)."""
        if self._closed:
            return
        self._closed = True
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
        self._conn.execute("BEGIN")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            if not self._conn.closed:
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
                self._conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self._conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            self._conn.execute(f"RELEASE SAVEPOINT {name}")

    # --- configuration ---------------------------------------------------------------------------
    def read_config_text(self) -> str | None:
        row = self._conn.execute("SELECT yaml FROM safeground_config WHERE id = 1").fetchone()
        return row[0] if row else None

    def write_config_text(self, text: str, user: str) -> None:
        with self.transaction():
            self._conn.execute("INSERT INTO safeground_config VALUES (1, %s, %s, %s) ON CONFLICT (id) DO UPDATE "
                               "SET yaml = EXCLUDED.yaml, updated_by = EXCLUDED.updated_by, "
                               "updated_at = EXCLUDED.updated_at", (text, user, now_iso()))

    # --- writes ----------------------------------------------------------------------------------
    def insert(self, layer: str, batch: Batch, *, user: str, import_run: str | None = None,
               review_state: str = "submitted") -> list[str]:
        """Insert by ``COPY``: the fids are drawn from the layer's sequence first, so the refs are known."""
        rt = record_type(layer)
        n = len(batch)
        if n == 0:
            return []
        stamp = now_iso()
        given = {k: v for k, v in batch.columns.items() if k not in ("uuid", "ref")}
        for name in given:
            rt.field(name)
        uuids = [str(u) for u in batch.columns["uuid"]] if "uuid" in batch.columns else time_ordered(n)
        fixed = {"review_state": review_state, "import_run": import_run, "created_by": user, "created_at": stamp,
                 "updated_by": user, "updated_at": stamp}
        columns: dict[str, Sequence[Any]] = {k: [v] * n for k, v in fixed.items() if k not in given}
        columns |= {k: _column(rt, k, v) for k, v in given.items()}
        columns["uuid"] = uuids
        if rt.is_spatial:
            geoms = batch.geometry if batch.geometry is not None else np.full(n, None, dtype=object)
            columns[GEOM] = _ewkb_hex(geoms)
        with self.transaction():
            fids = [r[0] for r in self._conn.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'fid')) FROM generate_series(1, %s)",
                (q(layer), n)).fetchall()]
            columns[FID] = fids
            columns["ref"] = [_ref(rt.prefix, f) for f in fids]
            names = list(columns)
            try:
                with no_nul(), self.savepoint(), self._conn.cursor() as cur, cur.copy(
                        f"COPY {q(layer)} ({', '.join(map(q, names))}) FROM STDIN") as copy:
                    for row in zip(*columns.values(), strict=True):
                        copy.write_row(row)
            except psycopg.errors.UniqueViolation as exc:
                raise ValidationError("store.duplicate", f"Insert into {layer} refused: {exc.diag.message_detail}.",
                                      hint="A record with this uuid or ref exists already.") from None
        return uuids

    def insert_copies(self, layer: str, records: Sequence[Mapping[str, Any]]) -> None:
        rt = record_type(layer)
        if not records:
            return
        names = [f.name for f in rt.all_fields]
        columns: dict[str, Sequence[Any]] = {n: _column(rt, n, [r.get(n) for r in records]) for n in names}
        if rt.is_spatial:
            columns[GEOM] = _ewkb_hex(np.array([r.get("geometry") for r in records], dtype=object))
        with self.transaction():
            with no_nul(), self._conn.cursor() as cur, cur.copy(
                    f"COPY {q(layer)} ({', '.join(map(q, columns))}) FROM STDIN") as copy:
                for row in zip(*columns.values(), strict=True):
                    copy.write_row(row)
            # New records continue after the copied refs' numbers, so a ref made here never repeats a copied one.
            self._conn.execute("SELECT setval(pg_get_serial_sequence(%s, 'fid'), GREATEST(%s, (SELECT COALESCE("
                               f"MAX({FID}), 1) FROM {q(layer)})))", (q(layer), max(ref_number(records), 1)))

    def update(self, layer: str, uuid: str, changes: Mapping[str, Any], *, user: str,
               expected_version: int | None = None) -> Record:
        rt = record_type(layer)
        with self.transaction():
            current = self._row_meta(layer, uuid, lock=True)
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
                    sets.append(f"{q(GEOM)} = ST_GeomFromEWKB(decode(%s, 'hex'))")
                    params.append(_ewkb_hex(np.array([value], dtype=object))[0])
                    continue
                if name in _MANAGED:
                    raise ValidationError("record.managed_field", f"Field '{name}' cannot be changed.",
                                          hint="Leave it out of the update.")
                rt.field(name)
                sets.append(f"{q(name)} = %s")
                params.append(_value(rt, name, value))
            sets += ["updated_by = %s", "updated_at = sg_later(updated_at, %s)"]
            params += [user, now_iso(), current["fid"]]
            with no_nul():
                self._conn.execute(f"UPDATE {q(layer)} SET {', '.join(sets)} WHERE {FID} = %s", params)
        return self.get(layer, uuid)

    def update_many(self, layer: str, uuids: Sequence[str], columns: Mapping[str, Sequence[Any]], *,
                    user: str) -> int:
        rt = record_type(layer)
        names = list(columns)
        for name in names:
            if rt.field(name).name in _MANAGED:
                raise ValidationError("record.managed_field", f"Field '{name}' cannot be changed.",
                                      hint="Leave it out of the update.")
        stamp = now_iso()
        sets = [f"{q(n)} = %s" for n in names] + ["updated_by = %s", "updated_at = sg_later(updated_at, %s)"]
        sql = f"UPDATE {q(layer)} SET {', '.join(sets)} WHERE uuid = %s"
        cols = [_column(rt, n, columns[n]) for n in names]
        n = len(uuids)
        rows = list(zip(*cols, [user] * n, [stamp] * n, uuids, strict=True))
        if not rows:
            return 0
        with self.transaction(), no_nul(), self._conn.cursor() as cur:
            cur.executemany(sql, rows, returning=False)
            return int(cur.rowcount)

    def retire(self, layer: str, uuid: str, reason: str, *, user: str,
               expected_version: int | None = None) -> Record:
        if not reason or not reason.strip():
            raise ValidationError("record.retire_needs_reason", "A record can be retired only with a reason.",
                                  hint="Say why, e.g. 'duplicate of HA-000012'.")
        return self.update(layer, uuid, {"retired_at": now_iso(), "retired_reason": reason}, user=user,
                           expected_version=expected_version)

    def _row_meta(self, layer: str, uuid: str, *, lock: bool = False) -> dict[str, Any]:
        row = self._conn.execute(
            f"SELECT {FID}, ref, version, updated_by, updated_at FROM {q(layer)} WHERE uuid = %s"
            + (" FOR UPDATE" if lock else ""), (uuid,)).fetchone()
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
        clause, params = self._where(rt, where, include_retired, bbox)
        sql = f"SELECT {', '.join(f't.{q(n)}' for n in names)}"
        with_geom = rt.is_spatial and geometry
        if with_geom:
            sql += f", ST_AsBinary(t.{q(GEOM)})"
        sql += f" FROM {q(layer)} t {clause}"
        sql += " ORDER BY " + _order(rt, order_by)
        if limit is not None:
            sql += " LIMIT %s OFFSET %s"
            params += [int(limit), int(offset)]
        rows = self._conn.execute(sql, params).fetchall()
        geoms = shapely.from_wkb(np.array([r[-1] for r in rows], dtype=object)) if with_geom and rows else None
        out: list[Record] = []
        for k, row in enumerate(rows):
            rec = dict(zip(names, row[: len(names)], strict=True))
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
            conds.append(f"t.{q(GEOM)} && ST_MakeEnvelope(%s, %s, %s, %s, 4326)")
            params += [float(v) for v in bbox]
        for name, spec in (where or {}).items():
            f = rt.field(name)
            col = f"t.{q(name)}"
            cast = PARAM_TYPES.get(f.type, "text")
            op, value = _parse_condition(spec)
            if op in ("in", "not_in"):
                values = [_value(rt, name, v) for v in value]
                if not values:
                    conds.append("false" if op == "in" else "true")
                    continue
                conds.append(f"{'NOT ' if op == 'not_in' else ''}({col} = ANY(%s::{cast}[]))")
                params.append(values)
            elif op == "is_null":
                conds.append(f"{col} IS NULL")
            elif op == "not_null":
                conds.append(f"{col} IS NOT NULL")
            elif op == "between":
                low, high = value
                for cmp, bound in ((">=", low), ("<=", high)):
                    if bound is not None:
                        conds.append(f"{col} {cmp} %s::{cast}")
                        params.append(_value(rt, name, bound))
            else:
                conds.append(f"{col} {'<>' if op == '!=' else op} %s::{cast}")
                params.append(_value(rt, name, value))
        return ("WHERE " + " AND ".join(conds) if conds else ""), params

    def count(self, layer: str, *, where: Where | None = None, include_retired: bool = True,
              bbox: tuple[float, float, float, float] | None = None) -> int:
        rt = record_type(layer)
        clause, params = self._where(rt, where, include_retired, bbox)
        return int(self._conn.execute(f"SELECT COUNT(*) FROM {q(layer)} t {clause}", params).fetchone()[0])

    def extent(self, layer: str, *, where: Where | None = None,
               include_retired: bool = False) -> tuple[float, float, float, float] | None:
        """The matching records' bounding box, from PostGIS's ``ST_Extent``."""
        rt = record_type(layer)
        if not rt.is_spatial:
            return None
        clause, params = self._where(rt, where, include_retired, None)
        row = self._conn.execute(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                 f"(SELECT ST_Extent(t.{q(GEOM)}) AS e FROM {q(layer)} t {clause}) x",
                                 params).fetchone()
        return None if row is None or row[0] is None else (row[0], row[1], row[2], row[3])

    def remaining_areas(self, hazards: Sequence[str]) -> dict[str, float]:
        """In one query: each hazard's polygon minus the union of its released polygons (``ST_Difference``), its
        area (``ST_Area``) in the UTM zone of the remainder's centroid, as the GeoPackage store measures it."""
        wanted = sorted(set(hazards))
        if not wanted:
            return {}
        return {u: float(m2) for u, m2 in self._conn.execute(_REMAINING_SQL, (wanted, wanted))}

    def vector_tile(self, name: str, layer: str, fields: Sequence[str], z: int, x: int, y: int, *,
                    where: Where | None = None, area: shapely.Geometry | None = None, extent: int = 4096,
                    buffer: int = 64, simplification: float = 0.0) -> bytes | None:
        """``ST_AsMVT`` over ``ST_AsMVTGeom``: the records meeting the tile and its buffer (GiST index), in Web
        Mercator, simplified (``ST_Simplify``, collapsed parts kept) by ``simplification`` grid units, clipped and
        quantised to the tile's grid. Attributes keep the types GDAL's encoder gives them: integers, reals, and
        text for the rest (booleans as ``True``/``False``)."""
        rt = record_type(layer)
        clause, params = self._where(rt, where, False, None)
        conds = [clause.removeprefix("WHERE ")] if clause else []
        conds.append(f"t.{q(GEOM)} && ST_Transform(ST_TileEnvelope({int(z)}, {int(x)}, {int(y)}, "
                     f"margin => {buffer / extent!r}), 4326)")
        if area is not None:
            conds.append(f"ST_Intersects(t.{q(GEOM)}, ST_GeomFromWKB(%s, 4326))")
            params.append(shapely.to_wkb(area))
        columns = []
        for f in (rt.field(n) for n in fields):
            if f.type is FieldType.BOOLEAN:
                columns.append(f"CASE WHEN t.{q(f.name)} THEN 'True' WHEN NOT t.{q(f.name)} THEN 'False' END "
                               f"AS {q(f.name)}")
            elif f.type in (FieldType.INTEGER, FieldType.REAL):
                columns.append(f"t.{q(f.name)}")
            else:
                columns.append(f"t.{q(f.name)}::text AS {q(f.name)}")
        z, x, y, extent, buffer = int(z), int(x), int(y), int(extent), int(buffer)
        unit = 2 * _MERCATOR_HALF / 2 ** z / extent  # one grid unit, in metres
        geom = f"ST_Transform(t.{q(GEOM)}, 3857)"
        if simplification > 0:
            geom = f"ST_Simplify({geom}, {float(simplification) * unit!r}, true)"
        envelope = f"ST_TileEnvelope({z}, {x}, {y}), {extent}, {buffer}, true"
        # A polygon (or the part of one in the tile and its buffer) smaller than a grid unit is kept as a unit's box
        # (GDAL keeps such a sliver, or drops it when it collapses to a point): a small minefield or hazard never
        # vanishes from a map at low zoom.
        tiny = "ST_Dimension(s.g) = 2"
        margin = f"ST_TileEnvelope({z}, {x}, {y}, margin => {buffer / extent!r})"
        box = f"ST_Expand(ST_Envelope(ST_ClipByBox2D(s.g, {margin})), {unit / 2!r})"
        sql = (f"SELECT ST_AsMVT(m.*, %s, {extent}, 'mvt_geom') FROM (SELECT COALESCE(ST_AsMVTGeom(s.g, {envelope}), "
               f"CASE WHEN {tiny} THEN ST_AsMVTGeom({box}, "
               f"{envelope}) END) AS mvt_geom, {', '.join(columns)} "
               f"FROM {q(layer)} t CROSS JOIN LATERAL (SELECT {geom} AS g) s WHERE {' AND '.join(conds)} "
               f"ORDER BY t.{FID}) m WHERE m.mvt_geom IS NOT NULL")
        row = self._conn.execute(sql, [name, *params]).fetchone()
        return bytes(row[0]) if row and row[0] is not None else b""

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
            # SQLite sums and compares booleans as the integers it stores
            boolean = fld != "*" and rt.field(fld).type is FieldType.BOOLEAN
            arg = "*" if fld == "*" else f"t.{q(fld)}" + ("::int" if boolean else "")
            exprs.append(f"{fn.upper()}({arg}) AS {q(out_name)}")
        clause, params = self._where(rt, where, include_retired, None)
        sql = f"SELECT {', '.join(exprs)} FROM {q(layer)} t {clause}"
        if group_by:
            sql += " GROUP BY " + ", ".join(f"t.{q(g)}" for g in group_by)
            sql += " ORDER BY " + ", ".join(f"t.{q(g)} NULLS FIRST" for g in group_by)
        keys = list(group_by) + list(metrics)
        return [{k: _plain(v) for k, v in zip(keys, row, strict=True)}
                for row in self._conn.execute(sql, params)]

    def within_distance(self, layer: str, geom: shapely.Geometry, metres: float, *, where: Where | None = None,
                        include_retired: bool = False) -> list[Record]:
        """Candidates by the GiST index on a padded box, then the distance in the UTM zone of ``geom``'s
        centroid, by PostGIS: the GeoPackage store's semantics."""
        if metres < 0:
            raise ValidationError("query.bad_distance", "Distance must not be negative.", hint="Give metres >= 0.")
        rt = record_type(layer)
        c = shapely.centroid(geom)
        zone = utm_epsg(c.x, c.y)
        dlat = metres / 110_000.0 + 1e-9
        dlon = metres / (111_320.0 * max(np.cos(np.radians(min(abs(c.y) + dlat, 89.9))), 1e-6)) + 1e-9
        minx, miny, maxx, maxy = geom.bounds
        clause, params = self._where(rt, where, include_retired, (minx - dlon, miny - dlat, maxx + dlon, maxy + dlat))
        names = [f.name for f in rt.all_fields]
        sql = (f"WITH target AS (SELECT ST_Transform(ST_GeomFromWKB(%s, 4326), %s) AS g) "
               f"SELECT * FROM (SELECT {', '.join(f't.{q(n)}' for n in names)}, ST_AsBinary(t.{q(GEOM)}), "
               f"ST_Distance(ST_Transform(t.{q(GEOM)}, %s), target.g) AS distance_m, t.{FID} AS sg_fid "
               f"FROM {q(layer)} t, target {clause}) x WHERE distance_m <= %s ORDER BY distance_m, sg_fid")
        rows = self._conn.execute(sql, [shapely.to_wkb(geom), zone, zone, *params, float(metres)]).fetchall()
        geoms = shapely.from_wkb(np.array([r[len(names)] for r in rows], dtype=object)) if rows else []
        out = []
        for k, row in enumerate(rows):
            rec = dict(zip(names, row[: len(names)], strict=True))
            rec["geometry"] = geoms[k]
            rec["distance_m"] = float(row[len(names) + 1])
            out.append(rec)
        return out

    def existing_uuids(self, layer: str, uuids: Sequence[str]) -> set[str]:
        record_type(layer)
        wanted = sorted({u for u in uuids if u})
        sql = f"SELECT uuid FROM {q(layer)} WHERE uuid = ANY(%s::text[])"
        return {r[0] for r in self._conn.execute(sql, (wanted,))}

    def changes_since(self, seq: int = 0, *, limit: int | None = None) -> Iterator[Change]:
        """Read page by page (:data:`CHANGES_PAGE` rows), so a long log never sits in memory at once."""
        left = limit
        while left is None or left > 0:
            page = CHANGES_PAGE if left is None else min(CHANGES_PAGE, left)
            rows = self._conn.execute(f"SELECT {_CHANGE_COLUMNS} FROM safeground_audit WHERE seq > %s "
                                      "ORDER BY seq LIMIT %s", (seq, page)).fetchall()
            for row in rows:
                yield _change(row)
            if len(rows) < page:
                return
            seq = rows[-1][0]
            if left is not None:
                left -= len(rows)

    def record_changes(self, layer: str, uuid: str) -> list[Change]:
        record_type(layer)
        fid = self._row_meta(layer, uuid)["fid"]
        sql = f"SELECT {_CHANGE_COLUMNS} FROM safeground_audit WHERE layer = %s AND fid = %s ORDER BY seq"
        return [_change(r) for r in self._conn.execute(sql, (layer, fid))]

    def last_change_seq(self) -> int:
        row = self._conn.execute("SELECT max(seq) FROM safeground_audit").fetchone()
        return int(row[0] or 0)

    def last_change_mark(self) -> str:
        row = self._conn.execute(_LAST_MARK).fetchone()
        return "0" if row is None else change_mark(int(row[0]), row[1], row[2], int(row[3]))

    def backup(self, target: str) -> None:
        """A ``pg_dump`` archive in custom format (``pg_restore`` reads it), taken in one snapshot."""
        path = Path(target)
        if path.exists():
            raise StoreError("backup.target_exists", f"{path} exists already.",
                             hint="Choose a new file name; a backup never overwrites.", status=409)
        tool = pg_tool("pg_dump")
        done = subprocess.run([tool, "--format=custom", "--no-owner", f"--file={path}", f"--dbname={self._url}"],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            path.unlink(missing_ok=True)
            raise StoreError("backup.failed", f"pg_dump could not back up {self.location}: "
                                              f"{done.stderr.strip()}.",
                             hint="Check that pg_dump's version is at least the server's, and the user's rights.")

    @classmethod
    def restore(cls, backup: Path, url: str) -> None:
        """``pg_restore`` the ``pg_dump`` archive ``backup`` into the empty database at ``url`` in one transaction
        (a failure leaves it empty), then open it once so that an older backup is migrated."""
        listing = subprocess.run([pg_tool("pg_restore"), "--list", str(backup)], capture_output=True, text=True,
                                 check=False)
        if listing.returncode != 0 or " TABLE public safeground_meta " not in listing.stdout:
            raise StoreError("restore.not_a_backup", f"{backup} is not a pg_dump archive of a SafeGround database.",
                             hint="Give a file written by 'safeground backup' from a PostgreSQL database.",
                             status=422)
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                found = [r[0] for r in conn.execute(_USER_RELATIONS)]
        except psycopg.OperationalError as exc:
            raise StoreError("store.connection_failed",
                             f"Cannot connect to {redacted(url)}: {str(exc).strip().splitlines()[-1]}.",
                             hint="Create the empty database first (createdb), and check the URL.",
                             status=503) from None
        if found:
            raise StoreError("restore.target_not_empty",
                             f"{redacted(url)} is not empty: it holds {', '.join(found[:5])}"
                             f"{' and more' if len(found) > 5 else ''}.",
                             hint="Restore into a new, empty database (createdb NAME); a restore never "
                                  "overwrites a database.", status=409)
        done = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--single-transaction", "--exit-on-error",
                               f"--dbname={url}", str(backup)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StoreError("restore.failed", f"pg_restore could not restore {backup} into {redacted(url)}: "
                                               f"{done.stderr.strip()}.",
                             hint="Check that pg_restore's version is at least the backup's pg_dump's, that the "
                                  "server has PostGIS, and the user's rights.")
        cls.open(url).close()


#: Tables, views and sequences of a database that no extension (PostGIS's ``spatial_ref_sys``) owns.
_USER_RELATIONS = """SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
  AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1"""


#: Half the width of the Web Mercator square, in metres.
_MERCATOR_HALF = 20037508.342789244

#: Remaining area per hazard uuid (parameters: the uuids, twice). The zone is :func:`~safeground.geo.crs.utm_epsg`.
_REMAINING_SQL = """WITH cut AS (
  SELECT r.hazard, ST_Union(r.geom) AS g FROM released_area r
   WHERE r.hazard = ANY(%s::text[]) AND r.release_status = 'released' AND r.retired_at IS NULL AND r.geom IS NOT NULL
   GROUP BY r.hazard),
rem AS (
  SELECT h.uuid, CASE WHEN cut.g IS NULL THEN h.geom ELSE ST_Difference(h.geom, cut.g) END AS g
    FROM hazard_area h LEFT JOIN cut ON cut.hazard = h.uuid WHERE h.uuid = ANY(%s::text[])),
centred AS (SELECT uuid, g, ST_Centroid(g) AS c FROM rem)
SELECT uuid, CASE WHEN g IS NULL OR ST_IsEmpty(g) THEN 0 ELSE ST_Area(ST_Transform(g,
  (CASE WHEN ST_Y(c) >= 0 THEN 32600 ELSE 32700 END) + (floor((ST_X(c) + 180) / 6)::int %% 60) + 1)) END
  FROM centred"""


def pg_tool(name: str) -> str:
    """The newest Debian PostgreSQL client program ``name`` (``pg_dump``, ``pg_restore``), else the one on PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]))
    tool = found[-1] if found else shutil.which(name)
    if tool is None:
        raise StoreError("backup.failed", f"{name} is not installed.",
                         hint="Install PostgreSQL's client programs (Debian: postgresql-client).")
    return tool


def _ref(prefix: str, fid: int) -> str:
    return f"{prefix}-{fid:06d}"


def _order(rt: RecordType, order_by: str | None) -> str:
    """SQLite's order: NULL first going up, last going down; then the fid."""
    if not order_by:
        return f"t.{FID}"
    desc = order_by.startswith("-")
    col = order_by.lstrip("-")
    rt.field(col)
    return f"t.{q(col)} {'DESC NULLS LAST' if desc else 'ASC NULLS FIRST'}, t.{FID}"


def _parse_condition(spec: Any) -> tuple[str, Any]:
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str) and spec[0] in OPERATORS:
        return spec
    if isinstance(spec, (list, set, frozenset)):
        return "in", list(spec)
    if spec is None:
        return "is_null", None
    return "=", spec


def _value(rt: RecordType, name: str, value: Any) -> Any:
    """A value as its column holds it: SQLite's column affinity, spelled out (text for text, numbers
    for numbers where they are numbers, booleans for booleans)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    kind = rt.field(name).type
    if kind is FieldType.BOOLEAN:
        return bool(value)
    if kind is FieldType.INTEGER:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    if kind is FieldType.REAL:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if isinstance(value, bool):
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _column(rt: RecordType, name: str, values: Sequence[Any]) -> list[Any]:
    if isinstance(values, np.ndarray):
        values = values.tolist()
    return [_value(rt, name, v) for v in values]


def _ewkb_hex(geoms: np.ndarray) -> list[str | None]:
    """Hex EWKB with SRID 4326 (what PostGIS's geometry input reads); ``None`` stays ``None``."""
    geoms = np.asarray(geoms, dtype=object)
    out: list[str | None] = [None] * len(geoms)
    present = np.flatnonzero(~shapely.is_missing(geoms))
    if len(present):
        hexes = shapely.to_wkb(shapely.set_srid(geoms[present], 4326), hex=True, include_srid=True)
        for i, h in zip(present.tolist(), hexes.tolist(), strict=True):
            out[i] = h
    return out


def _plain(value: Any) -> Any:
    """PostgreSQL's sums of integers are numeric: back to int (or float), as SQLite gives them."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _change(row: Sequence[Any]) -> Change:
    """An audit row; booleans as 0 and 1, as the GeoPackage's JSON holds them, so both logs read the same."""
    def doc(v: Any) -> dict[str, Any] | None:
        if v is None:
            return None
        values = json.loads(v) if isinstance(v, str) else dict(v)
        return {k: int(x) if isinstance(x, bool) else x for k, x in values.items()}

    return Change(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], doc(row[8]), doc(row[9]))
