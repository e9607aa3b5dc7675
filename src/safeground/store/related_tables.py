"""Attachments inside a GeoPackage, as the GeoPackage Related Tables Extension (OGC 18-000) lays them out.

One media table, ``safeground_attachment`` (``id``, ``data``, ``content_type``, plus SafeGround's own
columns: the record's layer and uuid, file name, size, sha256, personal flag, who and when, retirement),
and per record layer that has attachments a mapping table ``safeground_attachment_<layer>``
(``base_id`` = the record's fid, ``related_id`` = the attachment's id), listed in ``gpkgext_relations``
with relation ``media``. QGIS and GDAL read the relation, so a record's photos show in its form.
The same functions write the tables into an exported GeoPackage.

Nothing is deleted: a trigger refuses deletes on the media table; attachments are retired.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

MEDIA = "safeground_attachment"
RTE = "gpkg_related_tables"
RTE_DEFINITION = "http://docs.opengeospatial.org/is/18-000/18-000.html"

#: Columns of the media table after ``id``, in order.
COLUMNS = ("uuid", "layer", "record_uuid", "file_name", "content_type", "size", "sha256", "personal", "source",
           "created_at", "created_by", "retired_at", "retired_by", "retired_reason")


def mapping_table(layer: str) -> str:
    """The mapping table of ``layer``'s attachments."""
    return f"{MEDIA}_{layer}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def create_media_table(conn: sqlite3.Connection) -> None:
    """Create the media table, ``gpkgext_relations`` and their registration (idempotent)."""
    have = _tables(conn)
    if MEDIA not in have:
        conn.execute(f"""CREATE TABLE {MEDIA} (
  id INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL, content_type TEXT NOT NULL,
  uuid TEXT NOT NULL UNIQUE, layer TEXT NOT NULL, record_uuid TEXT NOT NULL, file_name TEXT NOT NULL,
  size INTEGER NOT NULL, sha256 TEXT NOT NULL, personal BOOLEAN NOT NULL DEFAULT 0, source TEXT,
  created_at DATETIME NOT NULL, created_by TEXT, retired_at DATETIME, retired_by TEXT, retired_reason TEXT)""")
        conn.execute(f"CREATE INDEX idx_{MEDIA}_record ON {MEDIA} (layer, record_uuid)")
        conn.execute(f"CREATE TRIGGER sg_{MEDIA}_no_delete BEFORE DELETE ON {MEDIA} BEGIN SELECT RAISE(ABORT, "
                     "'safeground: attachments are never deleted; set retired_at and retired_reason'); END")
        conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
                     "VALUES (?, 'attributes', ?, ?)", (MEDIA, MEDIA, "Photos, scans and sketches of records"))
    if "gpkgext_relations" not in have:
        conn.execute("""CREATE TABLE gpkgext_relations (
  id INTEGER PRIMARY KEY AUTOINCREMENT, base_table_name TEXT NOT NULL, base_primary_column TEXT NOT NULL DEFAULT 'id',
  related_table_name TEXT NOT NULL, related_primary_column TEXT NOT NULL DEFAULT 'id', relation_name TEXT NOT NULL,
  mapping_table_name TEXT NOT NULL UNIQUE)""")
        conn.execute("INSERT OR IGNORE INTO gpkg_extensions (table_name, column_name, extension_name, definition, "
                     "scope) VALUES ('gpkgext_relations', NULL, ?, ?, 'read-write')", (RTE, RTE_DEFINITION))


def ensure_mapping(conn: sqlite3.Connection, layer: str, base_primary_column: str = "fid") -> str:
    """Create and register ``layer``'s mapping table when it is missing; return its name."""
    table = mapping_table(layer)
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone():
        return table
    conn.execute(f"CREATE TABLE {_q(table)} (base_id INTEGER NOT NULL, related_id INTEGER NOT NULL)")
    conn.execute(f"CREATE INDEX {_q('idx_' + table)} ON {_q(table)} (base_id)")
    conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
                 "VALUES (?, 'attributes', ?, ?)", (table, table, f"Attachments of {layer} records"))
    conn.execute("INSERT OR IGNORE INTO gpkg_extensions (table_name, column_name, extension_name, definition, "
                 "scope) VALUES (?, NULL, ?, ?, 'read-write')", (table, RTE, RTE_DEFINITION))
    conn.execute("INSERT INTO gpkgext_relations (base_table_name, base_primary_column, related_table_name, "
                 "related_primary_column, relation_name, mapping_table_name) VALUES (?, ?, ?, 'id', 'media', ?)",
                 (layer, base_primary_column, MEDIA, table))
    return table


def insert_media(conn: sqlite3.Connection, base_fid: int, row: Mapping[str, Any], data: bytes) -> int:
    """Insert one attachment (``row`` holds :data:`COLUMNS`) and map it to the record ``base_fid``; return its id."""
    table = ensure_mapping(conn, row["layer"])
    cols = ("data", *COLUMNS)
    values = [data, *(int(bool(row.get(c))) if c == "personal" else row.get(c) for c in COLUMNS)]
    cur = conn.execute(f"INSERT INTO {MEDIA} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", values)
    media_id = int(cur.lastrowid or 0)
    conn.execute(f"INSERT INTO {_q(table)} (base_id, related_id) VALUES (?, ?)", (base_fid, media_id))
    return media_id


def select_media(conn: sqlite3.Connection, *, where: str = "", params: Iterable[Any] = (),
                 data: bool = False) -> list[dict[str, Any]]:
    """Attachments as dicts (``data`` bytes only when asked), oldest first."""
    cols = ("id", *COLUMNS) + (("data",) if data else ())
    sql = f"SELECT {', '.join(cols)} FROM {MEDIA} {'WHERE ' + where if where else ''} ORDER BY id"
    out = []
    for row in conn.execute(sql, list(params)):
        rec = dict(zip(cols, row, strict=True))
        rec["personal"] = bool(rec["personal"])
        out.append(rec)
    return out


def read_related_media(conn: sqlite3.Connection, layer: str, key_column: str = "uuid") -> list[dict[str, Any]]:
    """Attachments of ``layer`` in any GeoPackage with this layout, each with ``key`` = the record's
    ``key_column`` (its uuid) and its ``data``; none when the file has no such relation."""
    have = _tables(conn)
    table = mapping_table(layer)
    if MEDIA not in have or table not in have:
        return []
    rows = conn.execute(
        f"SELECT t.{_q(key_column)}, m.file_name, m.content_type, m.personal, m.source, m.data "
        f"FROM {_q(table)} r JOIN {_q(layer)} t ON t.fid = r.base_id JOIN {MEDIA} m ON m.id = r.related_id "
        "WHERE m.retired_at IS NULL ORDER BY m.id").fetchall()
    return [{"key": r[0], "file_name": r[1], "content_type": r[2], "personal": bool(r[3]), "source": r[4],
             "data": bytes(r[5])} for r in rows]


def add_to_geopackage(path: Path, layer: str, items: Iterable[tuple[Mapping[str, Any], bytes]]) -> None:
    """Write attachments (metadata with ``record_uuid``, bytes) into another GeoPackage whose ``layer`` has a
    ``uuid`` column, such as an export."""
    conn = sqlite3.connect(str(path))
    try:
        with conn:
            fids = dict(conn.execute(f"SELECT uuid, fid FROM {_q(layer)}").fetchall())
            create_media_table(conn)
            for meta, data in items:
                insert_media(conn, int(fids[meta["record_uuid"]]), meta, data)
    finally:
        conn.close()


def read_geopackage(path: Path, layer: str) -> list[dict[str, Any]]:
    """The attachments of ``layer`` in the GeoPackage at ``path`` (see :func:`read_related_media`)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return read_related_media(conn, layer)
    finally:
        conn.close()
