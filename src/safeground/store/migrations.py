"""Numbered schema migrations for the GeoPackage store.

The schema version lives in ``safeground_meta`` (``PRAGMA user_version`` belongs to GeoPackage).
All pending migrations run in one transaction when a file is opened; a file newer than this
code is refused with ``store.schema_too_new``.

Migration 1 builds the schema from the record declarations. A later migration that adds a
declared field calls :func:`add_missing_columns`, which is idempotent, so a new file built by
migration 1 and an old file upgraded step by step end up with the same columns.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from safeground.domain.records import RECORD_TYPES
from safeground.store import related_tables
from safeground.store import sqlite_schema as ddl


def _m1_initial(conn: sqlite3.Connection) -> None:
    for stmt in ddl.GPKG_CORE + ddl.SAFEGROUND_TABLES:
        conn.execute(stmt)
    conn.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", ddl.GPKG_SRS_ROWS)
    for rt in RECORD_TYPES.values():
        for stmt in ddl.layer_ddl(rt):
            conn.execute(stmt)
        for sql, params in ddl.registration_sql(rt):
            conn.execute(sql, params)


def add_missing_columns(conn: sqlite3.Connection) -> None:
    """Add any declared field that a layer's table lacks (for migrations that add fields)."""
    for rt in RECORD_TYPES.values():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({ddl.q(rt.layer)})")}
        for f in rt.all_fields:
            if f.name not in have:
                conn.execute(f"ALTER TABLE {ddl.q(rt.layer)} ADD COLUMN {ddl.column_sql(f)}")


#: The roles migration 8 allows, frozen here as applied (a later migration that adds a role rebuilds the check;
#: a test compares them with ``domain.roles.Role``).
USER_ROLES = ("viewer", "data_entry", "qa", "admin")


def _m2_quarantine(conn: sqlite3.Connection) -> None:
    conn.execute("""CREATE TABLE safeground_quarantine (
  id INTEGER PRIMARY KEY AUTOINCREMENT, import_run TEXT NOT NULL, layer TEXT, source TEXT, source_row INTEGER,
  code TEXT NOT NULL, reason TEXT NOT NULL, hint TEXT, raw TEXT NOT NULL, created_at DATETIME NOT NULL,
  resolved_at DATETIME)""")
    conn.execute("CREATE INDEX idx_safeground_quarantine_run ON safeground_quarantine (import_run)")


def _m3_duplicate_links(conn: sqlite3.Connection) -> None:
    conn.execute("""CREATE TABLE safeground_duplicate_link (
  id INTEGER PRIMARY KEY AUTOINCREMENT, layer TEXT NOT NULL, uuid TEXT NOT NULL, duplicate_of TEXT NOT NULL,
  kind TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'proposed', reason TEXT, import_run TEXT,
  created_at DATETIME NOT NULL, decided_by TEXT, decided_at DATETIME)""")
    conn.execute("CREATE INDEX idx_safeground_duplicate_link_uuid ON safeground_duplicate_link (uuid)")


def _m4_attachments(conn: sqlite3.Connection) -> None:
    related_tables.create_media_table(conn)
    for rt in RECORD_TYPES.values():  # (source, source_id): re-imports and submissions look records up by it
        for stmt in ddl.index_sql(rt):
            conn.execute(stmt.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))


def _m5_minefield_matches(conn: sqlite3.Connection) -> None:
    # Derived data: which activities and finds fall in or near each minefield record. Recomputed whole
    # for a record by `safeground minefields match`; the records themselves are never touched.
    conn.execute("""CREATE TABLE safeground_minefield_match (
  id INTEGER PRIMARY KEY AUTOINCREMENT, minefield_record TEXT NOT NULL, layer TEXT NOT NULL, uuid TEXT NOT NULL,
  inside INTEGER NOT NULL, distance_m REAL NOT NULL, overlap_m2 REAL, quantity INTEGER,
  search_m REAL NOT NULL, computed_at DATETIME NOT NULL)""")
    conn.execute("CREATE INDEX idx_safeground_minefield_match_record ON safeground_minefield_match (minefield_record)")


def _m6_quarantine_resolution(conn: sqlite3.Connection) -> None:
    # A fixed row that was imported again keeps its entry, marked resolved and linked to the record it became.
    for column in ("resolved_layer TEXT", "resolved_uuid TEXT", "resolved_run TEXT", "resolved_by TEXT"):
        conn.execute(f"ALTER TABLE safeground_quarantine ADD COLUMN {column}")


def _m7_publications(conn: sqlite3.Connection) -> None:
    # Official figures frozen for a calendar year (`stats publish`). Publishing a year again adds the next
    # version; rows are never changed or deleted, so what was published can always be printed again.
    conn.execute("""CREATE TABLE safeground_publication (
  id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE, year INTEGER NOT NULL, version INTEGER NOT NULL,
  published_at DATETIME NOT NULL, published_by TEXT NOT NULL, note TEXT, official_only INTEGER NOT NULL,
  audit_seq INTEGER NOT NULL, fingerprint TEXT NOT NULL, fingerprint_layers TEXT NOT NULL, figures TEXT NOT NULL,
  UNIQUE (year, version))""")
    for op in ("UPDATE", "DELETE"):
        conn.execute(f"CREATE TRIGGER sg_publication_no_{op.lower()} BEFORE {op} ON safeground_publication "
                     f"BEGIN SELECT RAISE(ABORT, 'safeground: a publication is never changed; publish the year "
                     f"again for a new version'); END")


def _m8_users(conn: sqlite3.Connection) -> None:
    # Users, their API tokens and area restrictions. Only hashes are kept (argon2id for passwords, SHA-256 for
    # random tokens); users and tokens are retired or revoked, never deleted, so audit rows keep naming them.
    conn.execute(f"""CREATE TABLE safeground_user (
  id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE, username TEXT NOT NULL UNIQUE,
  display_name TEXT, role TEXT NOT NULL CHECK (role IN ({", ".join(repr(r) for r in USER_ROLES)})),
  password_hash TEXT, created_at DATETIME NOT NULL, created_by TEXT, updated_at DATETIME NOT NULL,
  retired_at DATETIME, retired_reason TEXT)""")
    conn.execute("""CREATE TABLE safeground_user_area (
  user_uuid TEXT NOT NULL REFERENCES safeground_user (uuid), code TEXT NOT NULL, PRIMARY KEY (user_uuid, code))""")
    conn.execute("""CREATE TABLE safeground_api_token (
  id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE,
  user_uuid TEXT NOT NULL REFERENCES safeground_user (uuid), name TEXT, token_sha256 TEXT NOT NULL UNIQUE,
  created_at DATETIME NOT NULL, created_by TEXT, last_used_at DATETIME, revoked_at DATETIME, revoked_by TEXT)""")
    conn.execute("CREATE INDEX idx_safeground_api_token_user ON safeground_api_token (user_uuid)")
    for table in ("safeground_user", "safeground_api_token"):
        conn.execute(f"CREATE TRIGGER sg_{table}_no_delete BEFORE DELETE ON {table} BEGIN SELECT RAISE(ABORT, "
                     f"'safeground: users are retired and tokens revoked, never deleted'); END")


def _m9_risk_runs(conn: sqlite3.Connection) -> None:
    # Contamination risk runs (`safeground risk`): one row per fit, evaluation, surface or prediction, with its
    # parameters, metrics and model; its cells in input order. At most one run is current (a partial unique
    # index); only `--adopt` or `risk adopt` sets it. Runs are kept, never changed but for the current flag.
    conn.execute("""CREATE TABLE safeground_risk_run (
  id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('fit', 'evaluate', 'surface', 'predict')),
  created_at DATETIME NOT NULL, created_by TEXT NOT NULL, as_of DATE, cells_source TEXT NOT NULL,
  parameters TEXT NOT NULL, metrics TEXT NOT NULL, model BLOB, served TEXT, cell_count INTEGER NOT NULL,
  current INTEGER NOT NULL DEFAULT 0 CHECK (current IN (0, 1)), adopted_at DATETIME, adopted_by TEXT)""")
    conn.execute("CREATE UNIQUE INDEX idx_safeground_risk_run_current ON safeground_risk_run (current) "
                 "WHERE current = 1")
    conn.execute("""CREATE TABLE safeground_risk_cell (
  run INTEGER NOT NULL REFERENCES safeground_risk_run (id), position INTEGER NOT NULL, cell_id TEXT NOT NULL,
  geometry BLOB, risk REAL NOT NULL, reasons TEXT NOT NULL, PRIMARY KEY (run, position)) WITHOUT ROWID""")
    conn.execute("CREATE TRIGGER sg_risk_run_no_delete BEFORE DELETE ON safeground_risk_run BEGIN SELECT "
                 "RAISE(ABORT, 'safeground: risk runs are kept; adopt another run instead'); END")


def _m10_plan_runs(conn: sqlite3.Connection) -> None:
    # Clearance plans (`safeground plan make`, `plan compare`): one row per run with its parameters (start, horizon,
    # teams, weights, time limit), value, greedy value, bound, gap and what each target waits for; its items (a
    # team's run of weeks on a hazard) in plan order. At most one run is current (a partial unique index); only
    # `--adopt` or `plan adopt` sets it, and what-ifs never become current. Runs are kept, never changed but for
    # the current flag.
    conn.execute("""CREATE TABLE safeground_plan_run (
  id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('plan', 'what_if')), label TEXT,
  created_at DATETIME NOT NULL, created_by TEXT NOT NULL, start_date DATE NOT NULL, horizon_weeks INTEGER NOT NULL,
  parameters TEXT NOT NULL, value REAL NOT NULL, greedy_value REAL NOT NULL, bound REAL, gap REAL,
  solve_seconds REAL NOT NULL, bound_seconds REAL, status TEXT NOT NULL CHECK (status IN ('optimal', 'feasible')),
  targets TEXT NOT NULL, item_count INTEGER NOT NULL,
  current INTEGER NOT NULL DEFAULT 0 CHECK (current IN (0, 1)), adopted_at DATETIME, adopted_by TEXT,
  CHECK (kind = 'plan' OR current = 0))""")
    conn.execute("CREATE UNIQUE INDEX idx_safeground_plan_run_current ON safeground_plan_run (current) "
                 "WHERE current = 1")
    conn.execute("""CREATE TABLE safeground_plan_item (
  run INTEGER NOT NULL REFERENCES safeground_plan_run (id), position INTEGER NOT NULL,
  team_uuid TEXT, team_ref TEXT NOT NULL, hazard_uuid TEXT, hazard_ref TEXT NOT NULL,
  start_week INTEGER NOT NULL, end_week INTEGER NOT NULL, area_m2 REAL NOT NULL, method TEXT NOT NULL,
  released_week INTEGER, PRIMARY KEY (run, position)) WITHOUT ROWID""")
    conn.execute("CREATE INDEX idx_safeground_plan_item_hazard ON safeground_plan_item (hazard_uuid)")
    conn.execute("CREATE TRIGGER sg_plan_run_no_delete BEFORE DELETE ON safeground_plan_run BEGIN SELECT "
                 "RAISE(ABORT, 'safeground: plan runs are kept; adopt another run instead'); END")
    conn.execute("CREATE TRIGGER sg_plan_item_no_change BEFORE UPDATE ON safeground_plan_item BEGIN SELECT "
                 "RAISE(ABORT, 'safeground: a stored plan is never changed; make a new one'); END")


#: Layers and the declared fields migration 11 added (terrain classes for clearance planning).
TERRAIN_FIELDS = {"hazard_area": ("terrain",),
                  "team": ("capacity_m2_week_vegetated", "capacity_m2_week_forest", "capacity_m2_week_rocky",
                           "capacity_m2_week_urban")}


def _m11_terrain(conn: sqlite3.Connection) -> None:
    # Terrain class of a hazard (hazard_area.terrain) and a team's capacity on each class other than open ground
    # (team.capacity_m2_week_<class>), all optional: empty means open ground, or capacity_m2_week times the
    # configured plan.terrain_factor. The update audit trigger lists a layer's columns, so it is made again.
    for layer, names in TERRAIN_FIELDS.items():
        rt = RECORD_TYPES[layer]
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({ddl.q(layer)})")}
        for f in rt.all_fields:
            if f.name in names and f.name not in have:
                conn.execute(f"ALTER TABLE {ddl.q(layer)} ADD COLUMN {ddl.column_sql(f)}")
        conn.execute(f"DROP TRIGGER IF EXISTS {ddl.q('sg_' + layer + '_audit_update')}")
        conn.execute(next(t for t in ddl.audit_triggers(rt) if "_audit_update" in t.split(" AFTER ")[0]))


def _m12_sync(conn: sqlite3.Connection) -> None:
    # Offline field sync (`safeground sync`, `conflicts`): one row per field copy made or merge applied (its id is
    # the idempotence key of a merge: a server holding it has applied that merge), the version each record of a
    # field copy had on the server when it was copied or last merged, and the conflicts a merge found (both
    # versions kept for a person to resolve). Numbered 12: number 11 is the hazard terrain class.
    for stmt in SYNC_TABLES:
        conn.execute(stmt.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT", big="INTEGER", text="TEXT"))


#: The tables of migration 12, for both backends (``{serial}``, ``{big}`` and ``{text}`` are each one's types).
SYNC_TABLES = (
    """CREATE TABLE safeground_sync (
  id {text} PRIMARY KEY, kind {text} NOT NULL CHECK (kind IN ('copy', 'merge')),
  status {text} NOT NULL CHECK (status IN ('started', 'done')), server {text}, field_copy {text}, area {text},
  username {text}, role {text}, server_seq {big}, field_seq {big}, started_at {text} NOT NULL, finished_at {text},
  summary text)""",
    """CREATE TABLE safeground_sync_record (
  layer {text} NOT NULL, uuid {text} NOT NULL, version {big} NOT NULL, sync_id {text} NOT NULL,
  PRIMARY KEY (layer, uuid))""",
    """CREATE TABLE safeground_sync_conflict (
  id {serial}, sync_id {text} NOT NULL, layer {text} NOT NULL, uuid {text} NOT NULL, ref {text},
  base_version {big} NOT NULL, server_version {big} NOT NULL, server_record text NOT NULL, field_record text NOT NULL,
  field_changes text NOT NULL, created_at {text} NOT NULL, created_by {text},
  status {text} NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
  resolution {text} CHECK (resolution IN ('server', 'field', 'merged')), resolved_by {text}, resolved_at {text},
  result_version {big}, UNIQUE (sync_id, layer, uuid))""",
    "CREATE INDEX idx_safeground_sync_conflict_record ON safeground_sync_conflict (layer, uuid)",
)


def _m13_commit_ordered_audit(conn: sqlite3.Connection) -> None:
    """Nothing to do in a GeoPackage: SQLite has one writer at a time, so audit numbers already follow commit
    order. The PostgreSQL form numbers each transaction's audit rows as it commits."""


#: (number, description, function). Never renumber or edit an applied migration; append a new one.
MIGRATIONS: list[tuple[int, str, Callable[[sqlite3.Connection], None]]] = [
    (1, "GeoPackage core, SafeGround tables and every declared layer", _m1_initial),
    (2, "Quarantine of imported rows that failed validation", _m2_quarantine),
    (3, "Duplicate links, proposed by imports and checks, confirmed by a person", _m3_duplicate_links),
    (4, "Attachments (media table of the GeoPackage Related Tables Extension); index on (source, source_id)",
     _m4_attachments),
    (5, "Minefield-record matches: activities and finds in or near each handed-over record", _m5_minefield_matches),
    (6, "Quarantine entries resolved by a later import, linked to the record they became",
     _m6_quarantine_resolution),
    (7, "Publications: official figures frozen per calendar year, in numbered versions", _m7_publications),
    (8, "Users with roles and password hashes, hashed API tokens, area restrictions", _m8_users),
    (9, "Contamination risk runs (fit, evaluate, surface, predict) and their cells; at most one current",
     _m9_risk_runs),
    (10, "Clearance plan runs (plans and what-ifs) and their items; at most one current", _m10_plan_runs),
    (11, "Terrain class of hazard areas and team capacity by terrain class (clearance planning)", _m11_terrain),
    (12, "Offline field sync: field copies and merges, each record's version at copy time, conflicts to resolve",
     _m12_sync),
    (13, "Audit sequence numbers follow commit order, so a reader of changes never skips one",
     _m13_commit_ordered_audit),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]
