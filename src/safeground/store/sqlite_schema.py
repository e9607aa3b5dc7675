"""SQLite/GeoPackage DDL, generated from the record declarations and never written by hand.

For each layer: the table, its GeoPackage registration, its R-tree spatial index with the
standard GeoPackage 1.4 triggers, indexes on links, and SafeGround's own triggers, which are
the only thing that bumps ``version`` and writes audit rows. Those use only SQLite built-ins
(``json_object``, ``strftime``, ``printf``), so they also fire when QGIS or GDAL edit the file.

>>> from safeground.domain.records import HAZARD_AREA
>>> ddl = layer_ddl(HAZARD_AREA)
>>> ddl[0].split("(")[0]
'CREATE TABLE "hazard_area" '
>>> any("safeground_audit" in s for s in ddl)
True
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from safeground.domain.fields import Field, FieldType
from safeground.domain.records import RecordType

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
UUID4 = ("(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
         "substr(lower(hex(randomblob(2))),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || "
         "substr(lower(hex(randomblob(2))),2) || '-' || lower(hex(randomblob(6))))")

SQL_TYPES = {
    FieldType.TEXT: "TEXT", FieldType.INTEGER: "INTEGER", FieldType.REAL: "REAL", FieldType.BOOLEAN: "BOOLEAN",
    FieldType.DATE: "DATE", FieldType.DATETIME: "DATETIME", FieldType.LINK: "TEXT", FieldType.LINKS: "TEXT",
    FieldType.CHOICES: "TEXT",
}

_DEFAULTS = {
    "uuid": "UNIQUE",  # filled by the insert trigger when a GIS leaves it empty
    "ref": "UNIQUE",
    "version": "NOT NULL DEFAULT 1",
    "review_state": "NOT NULL DEFAULT 'submitted'",
    "created_at": f"NOT NULL DEFAULT ({NOW})",
    "updated_at": f"NOT NULL DEFAULT ({NOW})",
}

GEOM = "geom"
FID = "fid"


def q(name: str) -> str:
    """Quote an identifier (names come from the declarations, never from users)."""
    return '"' + name.replace('"', '""') + '"'


def column_sql(f: Field) -> str:
    return f"{q(f.name)} {SQL_TYPES[f.type]} {_DEFAULTS.get(f.name, '')}".rstrip()


def table_sql(rt: RecordType) -> str:
    cols = [f"{q(FID)} INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"]
    if rt.is_spatial:
        cols.append(f"{q(GEOM)} {rt.geometry_type}")
    cols += [column_sql(f) for f in rt.all_fields]
    return f"CREATE TABLE {q(rt.layer)} (\n  " + ",\n  ".join(cols) + "\n)"


def rtree_sql(table: str) -> list[str]:
    """The GeoPackage 1.4 R-tree index and its triggers (gpkg_rtree_index extension)."""
    t, c, i = table, GEOM, FID
    r = q(f"rtree_{t}_{c}")
    vals = f"NEW.{q(i)}, ST_MinX(NEW.{q(c)}), ST_MaxX(NEW.{q(c)}), ST_MinY(NEW.{q(c)}), ST_MaxY(NEW.{q(c)})"
    new_ok = f"(NEW.{q(c)} NOT NULL AND NOT ST_IsEmpty(NEW.{q(c)}))"
    new_gone = f"(NEW.{q(c)} ISNULL OR ST_IsEmpty(NEW.{q(c)}))"
    old_ok = f"(OLD.{q(c)} NOT NULL AND NOT ST_IsEmpty(OLD.{q(c)}))"
    old_gone = f"(OLD.{q(c)} ISNULL OR ST_IsEmpty(OLD.{q(c)}))"
    trig = f"rtree_{t}_{c}"
    return [
        f"CREATE VIRTUAL TABLE {r} USING rtree(id, minx, maxx, miny, maxy)",
        f"CREATE TRIGGER {q(trig + '_insert')} AFTER INSERT ON {q(t)} WHEN {new_ok} "
        f"BEGIN INSERT OR REPLACE INTO {r} VALUES ({vals}); END",
        f"CREATE TRIGGER {q(trig + '_update6')} AFTER UPDATE OF {q(c)} ON {q(t)} "
        f"WHEN OLD.{q(i)} = NEW.{q(i)} AND {new_ok} AND {old_ok} BEGIN UPDATE {r} SET "
        f"minx = ST_MinX(NEW.{q(c)}), maxx = ST_MaxX(NEW.{q(c)}), miny = ST_MinY(NEW.{q(c)}), "
        f"maxy = ST_MaxY(NEW.{q(c)}) WHERE id = NEW.{q(i)}; END",
        f"CREATE TRIGGER {q(trig + '_update7')} AFTER UPDATE OF {q(c)} ON {q(t)} "
        f"WHEN OLD.{q(i)} = NEW.{q(i)} AND {new_ok} AND {old_gone} "
        f"BEGIN INSERT INTO {r} VALUES ({vals}); END",
        f"CREATE TRIGGER {q(trig + '_update2')} AFTER UPDATE OF {q(c)} ON {q(t)} "
        f"WHEN OLD.{q(i)} = NEW.{q(i)} AND {new_gone} BEGIN DELETE FROM {r} WHERE id = OLD.{q(i)}; END",
        f"CREATE TRIGGER {q(trig + '_update4')} AFTER UPDATE ON {q(t)} WHEN OLD.{q(i)} != NEW.{q(i)} AND "
        f"{new_gone} BEGIN DELETE FROM {r} WHERE id IN (OLD.{q(i)}, NEW.{q(i)}); END",
        f"CREATE TRIGGER {q(trig + '_update5')} AFTER UPDATE ON {q(t)} WHEN OLD.{q(i)} != NEW.{q(i)} AND "
        f"{new_ok} BEGIN DELETE FROM {r} WHERE id = OLD.{q(i)}; INSERT OR REPLACE INTO {r} VALUES ({vals}); END",
        f"CREATE TRIGGER {q(trig + '_delete')} AFTER DELETE ON {q(t)} WHEN OLD.{q(c)} NOT NULL "
        f"BEGIN DELETE FROM {r} WHERE id = OLD.{q(i)}; END",
    ]


def rtree_insert_trigger(table: str) -> tuple[str, str]:
    """Name and SQL of the R-tree insert trigger; bulk inserts drop it and fill the index in one pass."""
    stmt = next(s for s in rtree_sql(table) if "_insert" in s.split(" AFTER ")[0])
    return f"rtree_{table}_{GEOM}_insert", stmt


def audit_insert_triggers(rt: RecordType) -> list[tuple[str, str]]:
    """Names and SQL of the per-row insert triggers (audit; uuid and ref filler); bulk inserts, which give uuid
    and ref, use :func:`audit_insert_sql` instead."""
    stmts = audit_triggers(rt)
    return [(f"sg_{rt.layer}_insert", stmts[0]), (f"sg_{rt.layer}_insert_fill", stmts[1])]


def audit_insert_sql(rt: RecordType) -> str:
    """One statement writing the insert audit rows of the records with fid between two parameters:
    the same rows the insert trigger writes, for a whole batch at once."""
    return (f"INSERT INTO safeground_audit (layer, fid, uuid, op, actor, import_run, at) "
            f"SELECT '{rt.layer}', fid, uuid, 'insert', created_by, import_run, {NOW} FROM {q(rt.layer)} "
            f"WHERE fid BETWEEN ? AND ? AND uuid IS NOT NULL AND ref IS NOT NULL ORDER BY fid")


def _row_json(rt: RecordType, alias: str) -> str:
    parts = []
    if rt.is_spatial:  # the geometry only when it changed: attribute edits stay small
        parts.append(f"'geom', CASE WHEN OLD.{q(GEOM)} IS NEW.{q(GEOM)} THEN NULL ELSE hex({alias}.{q(GEOM)}) END")
    for f in rt.all_fields:
        value = f"{alias}.{q(f.name)}"
        if f.name == "version" and alias == "NEW":
            value = "OLD.version + 1"
        parts.append(f"'{f.name}', {value}")
    return "json_object(" + ", ".join(parts) + ")"


def audit_triggers(rt: RecordType) -> list[str]:
    """Triggers that fill uuid and ref, bump the version, write the audit log and forbid deletes.

    A GIS that inserts a row without uuid or ref gets them filled in (``<prefix>-<fid>``).

    An update that leaves ``updated_at`` unchanged came from outside SafeGround (QGIS, plain SQL):
    it is audited as ``external`` and its ``updated_at`` is set to now.
    """
    t = q(rt.layer)
    external = "NEW.updated_at IS OLD.updated_at"
    return [
        f"CREATE TRIGGER {q('sg_' + rt.layer + '_insert')} AFTER INSERT ON {t} "
        f"WHEN NEW.uuid IS NOT NULL AND NEW.ref IS NOT NULL BEGIN "
        f"INSERT INTO safeground_audit (layer, fid, uuid, op, actor, import_run, at) VALUES "
        f"('{rt.layer}', NEW.fid, NEW.uuid, 'insert', NEW.created_by, NEW.import_run, {NOW}); END",
        f"CREATE TRIGGER {q('sg_' + rt.layer + '_insert_fill')} AFTER INSERT ON {t} "
        f"WHEN NEW.uuid IS NULL OR NEW.ref IS NULL BEGIN "
        f"UPDATE {t} SET uuid = COALESCE(NEW.uuid, {UUID4}), "
        f"ref = COALESCE(NEW.ref, '{rt.prefix}-' || printf('%06d', NEW.fid)) WHERE fid = NEW.fid; "
        f"INSERT INTO safeground_audit (layer, fid, uuid, op, actor, import_run, at) VALUES "
        f"('{rt.layer}', NEW.fid, (SELECT uuid FROM {t} WHERE fid = NEW.fid), 'insert', "
        f"NEW.created_by, NEW.import_run, {NOW}); END",
        f"CREATE TRIGGER {q('sg_' + rt.layer + '_audit_update')} AFTER UPDATE ON {t} "
        f"WHEN NOT ((OLD.ref IS NULL AND NEW.ref IS NOT NULL) OR (OLD.uuid IS NULL AND NEW.uuid IS NOT NULL)) BEGIN "
        f"UPDATE {t} SET version = OLD.version + 1, "
        f"updated_at = CASE WHEN {external} THEN {NOW} ELSE NEW.updated_at END WHERE fid = NEW.fid; "
        f"INSERT INTO safeground_audit (layer, fid, uuid, op, actor, import_run, at, before, after) VALUES "
        f"('{rt.layer}', NEW.fid, NEW.uuid, "
        f"CASE WHEN {external} THEN 'external' "
        f"WHEN OLD.retired_at IS NULL AND NEW.retired_at IS NOT NULL THEN 'retire' ELSE 'update' END, "
        f"CASE WHEN {external} THEN NULL ELSE NEW.updated_by END, NEW.import_run, {NOW}, "
        f"{_row_json(rt, 'OLD')}, {_row_json(rt, 'NEW')}); END",
        f"CREATE TRIGGER {q('sg_' + rt.layer + '_no_delete')} BEFORE DELETE ON {t} "
        f"BEGIN SELECT RAISE(ABORT, 'safeground: records are never deleted; set retired_at and "
        f"retired_reason to retire it'); END",
    ]


def index_sql(rt: RecordType) -> list[str]:
    """Indexes on links, the event date, and (source, source_id), which re-imports look records up by."""
    cols = [f.name for f in rt.fields if f.type is FieldType.LINK]
    if rt.event_date:
        cols.append(rt.event_date)
    out = [f"CREATE INDEX {q('idx_' + rt.layer + '_' + c)} ON {q(rt.layer)} ({q(c)})" for c in cols]
    return [*out, f"CREATE INDEX {q('idx_' + rt.layer + '_source')} ON {q(rt.layer)} (source, source_id)"]


def registration_sql(rt: RecordType) -> list[tuple[str, tuple[object, ...]]]:
    """Rows registering the layer in gpkg_contents, gpkg_geometry_columns and gpkg_extensions."""
    stmts: list[tuple[str, tuple[object, ...]]] = [(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES (?, ?, ?, ?, ?)",
        (rt.layer, "features" if rt.is_spatial else "attributes", rt.layer, rt.description,
         4326 if rt.is_spatial else None),
    )]
    if rt.is_spatial:
        stmts.append(("INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, 4326, 0, 0)",
                      (rt.layer, GEOM, rt.geometry_type)))
        stmts.append(("INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', "
                      "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')", (rt.layer, GEOM)))
    return stmts


def layer_ddl(rt: RecordType) -> list[str]:
    out = [table_sql(rt)]
    if rt.is_spatial:
        out += rtree_sql(rt.layer)
    return out + audit_triggers(rt) + index_sql(rt)


GPKG_CORE = [
    """CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL, m TINYINT NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
    """CREATE TABLE gpkg_tile_matrix_set (
  table_name TEXT NOT NULL PRIMARY KEY, srs_id INTEGER NOT NULL, min_x DOUBLE NOT NULL, min_y DOUBLE NOT NULL,
  max_x DOUBLE NOT NULL, max_y DOUBLE NOT NULL)""",
    """CREATE TABLE gpkg_tile_matrix (
  table_name TEXT NOT NULL, zoom_level INTEGER NOT NULL, matrix_width INTEGER NOT NULL,
  matrix_height INTEGER NOT NULL, tile_width INTEGER NOT NULL, tile_height INTEGER NOT NULL,
  pixel_x_size DOUBLE NOT NULL, pixel_y_size DOUBLE NOT NULL,
  CONSTRAINT pk_ttm PRIMARY KEY (table_name, zoom_level))""",
    """CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))""",
]

WGS84_WKT = ('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
             'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",'
             '0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],'
             'AUTHORITY["EPSG","4326"]]')

GPKG_SRS_ROWS = [
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
    ("WGS 84 geodetic", 4326, "EPSG", 4326, WGS84_WKT, "longitude/latitude coordinates in decimal degrees on WGS 84"),
]

SAFEGROUND_TABLES = [
    "CREATE TABLE safeground_meta (key TEXT PRIMARY KEY, value TEXT)",
    """CREATE TABLE safeground_config (
  id INTEGER PRIMARY KEY CHECK (id = 1), yaml TEXT NOT NULL, updated_by TEXT, updated_at DATETIME NOT NULL)""",
    """CREATE TABLE safeground_audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, layer TEXT NOT NULL, fid INTEGER NOT NULL, uuid TEXT,
  op TEXT NOT NULL, actor TEXT, import_run TEXT, at DATETIME NOT NULL, before TEXT, after TEXT)""",
    "CREATE INDEX idx_safeground_audit_record ON safeground_audit (layer, fid)",
    """CREATE TABLE safeground_import_run (
  id TEXT PRIMARY KEY, layer TEXT, source TEXT, format TEXT, started_at DATETIME NOT NULL, finished_at DATETIME,
  user TEXT, rows_read INTEGER, rows_stored INTEGER, rows_quarantined INTEGER, status TEXT, report TEXT)""",
]


def select_rows(conn: sqlite3.Connection, table: str, columns: Sequence[str], where: Mapping[str, Any],
                order_by: str) -> list[dict[str, Any]]:
    """Rows of one of SafeGround's own tables as dicts of ``columns``, filtered by equality on every
    ``where`` entry whose value is not ``None`` (names are the code's own; values are bound).

    >>> conn = sqlite3.connect(":memory:")
    >>> _ = conn.execute("CREATE TABLE t (id INTEGER, year INTEGER)")
    >>> _ = conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, 2023), (2, 2024)])
    >>> select_rows(conn, "t", ("id", "year"), {"year": 2024, "id": None}, "id")
    [{'id': 2, 'year': 2024}]
    """
    conds = [f"{q(name)} = ?" for name, value in where.items() if value is not None]
    params = [value for value in where.values() if value is not None]
    sql = f"SELECT {', '.join(q(c) for c in columns)} FROM {q(table)}"
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    return [dict(zip(columns, row, strict=True)) for row in conn.execute(f"{sql} ORDER BY {order_by}", params)]
