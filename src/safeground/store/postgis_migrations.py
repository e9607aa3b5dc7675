"""The numbered schema migrations of ``migrations.py`` in their PostgreSQL form.

Same numbers, same meaning, same tables and columns as the GeoPackage's, so both backends are at the same
schema version after the same code; all pending migrations run in one transaction when a database is opened
(PostgreSQL's DDL is transactional: a failure leaves the database as it was). Migration 1 builds every layer
from the declarations; a later migration that adds a declared field calls :func:`add_missing_columns`.
JSON documents that come from the data (a quarantined row, an import's report, frozen figures, a model's
parameters and metrics) are ``text`` holding Python's JSON, as in the GeoPackage, since they may hold NaN, which
``jsonb`` refuses; the audit log's ``before`` and ``after`` are ``jsonb``. What PostgreSQL lacks from the
GeoPackage (the ``gpkg_*`` tables, the Related Tables Extension's mapping tables) has no counterpart:
attachments are one table with a ``bytea`` column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from safeground.domain.records import RECORD_TYPES
from safeground.store import postgis_schema as ddl
from safeground.store.migrations import MIGRATIONS, SYNC_TABLES, TERRAIN_FIELDS, USER_ROLES
from safeground.store.sqlite_schema import q

T = ddl.TEXT


def _m1_initial(conn: Any) -> None:
    for stmt in ddl.FUNCTIONS + ddl.SAFEGROUND_TABLES:
        conn.execute(stmt)
    for rt in RECORD_TYPES.values():
        for stmt in ddl.layer_ddl(rt):
            conn.execute(stmt)


def add_missing_columns(conn: Any) -> None:
    """Add any declared field that a layer's table lacks (for migrations that add fields)."""
    for rt in RECORD_TYPES.values():
        have = {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                           "WHERE table_schema = current_schema() AND table_name = %s",
                                           (rt.layer,))}
        for f in rt.all_fields:
            if f.name not in have:
                conn.execute(f"ALTER TABLE {q(rt.layer)} ADD COLUMN {ddl.column_sql(f)}")


def _m2_quarantine(conn: Any) -> None:
    conn.execute(f"""CREATE TABLE safeground_quarantine (
  id bigserial PRIMARY KEY, import_run {T} NOT NULL, layer {T}, source {T}, source_row bigint,
  code {T} NOT NULL, reason text NOT NULL, hint text, raw text NOT NULL, created_at {T} NOT NULL,
  resolved_at {T})""")
    conn.execute("CREATE INDEX idx_safeground_quarantine_run ON safeground_quarantine (import_run)")


def _m3_duplicate_links(conn: Any) -> None:
    conn.execute(f"""CREATE TABLE safeground_duplicate_link (
  id bigserial PRIMARY KEY, layer {T} NOT NULL, uuid {T} NOT NULL, duplicate_of {T} NOT NULL,
  kind {T} NOT NULL, status {T} NOT NULL DEFAULT 'proposed', reason text, import_run {T},
  created_at {T} NOT NULL, decided_by {T}, decided_at {T})""")
    conn.execute("CREATE INDEX idx_safeground_duplicate_link_uuid ON safeground_duplicate_link (uuid)")


def _m4_attachments(conn: Any) -> None:
    conn.execute(f"""CREATE TABLE safeground_attachment (
  id bigserial PRIMARY KEY, data bytea NOT NULL, content_type {T} NOT NULL,
  uuid {T} NOT NULL UNIQUE, layer {T} NOT NULL, record_uuid {T} NOT NULL, record_fid bigint NOT NULL,
  file_name {T} NOT NULL, size bigint NOT NULL, sha256 {T} NOT NULL, personal boolean NOT NULL DEFAULT false,
  source {T}, created_at {T} NOT NULL, created_by {T}, retired_at {T}, retired_by {T}, retired_reason text)""")
    conn.execute("CREATE INDEX idx_safeground_attachment_record ON safeground_attachment (layer, record_uuid)")
    conn.execute(ddl.no_delete_sql("safeground_attachment",
                                   "attachments are never deleted; set retired_at and retired_reason"))
    for rt in RECORD_TYPES.values():
        for stmt in ddl.index_sql(rt):
            conn.execute(stmt.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))


def _m5_minefield_matches(conn: Any) -> None:
    conn.execute(f"""CREATE TABLE safeground_minefield_match (
  id bigserial PRIMARY KEY, minefield_record {T} NOT NULL, layer {T} NOT NULL, uuid {T} NOT NULL,
  inside boolean NOT NULL, distance_m double precision NOT NULL, overlap_m2 double precision, quantity bigint,
  search_m double precision NOT NULL, computed_at {T} NOT NULL)""")
    conn.execute("CREATE INDEX idx_safeground_minefield_match_record ON safeground_minefield_match (minefield_record)")


def _m6_quarantine_resolution(conn: Any) -> None:
    for column in ("resolved_layer", "resolved_uuid", "resolved_run", "resolved_by"):
        conn.execute(f"ALTER TABLE safeground_quarantine ADD COLUMN {column} {T}")


def _m7_publications(conn: Any) -> None:
    conn.execute(f"""CREATE TABLE safeground_publication (
  id bigserial PRIMARY KEY, uuid {T} NOT NULL UNIQUE, year integer NOT NULL, version integer NOT NULL,
  published_at {T} NOT NULL, published_by {T} NOT NULL, note text, official_only boolean NOT NULL,
  audit_seq bigint NOT NULL, fingerprint {T} NOT NULL, fingerprint_layers text NOT NULL, figures text NOT NULL,
  UNIQUE (year, version))""")
    conn.execute("CREATE TRIGGER sg_publication_no_change BEFORE UPDATE OR DELETE ON safeground_publication "
                 "FOR EACH ROW EXECUTE FUNCTION sg_refuse_delete('a publication is never changed; publish the "
                 "year again for a new version')")


def _m8_users(conn: Any) -> None:
    roles = ", ".join(f"'{r}'" for r in USER_ROLES)
    conn.execute(f"""CREATE TABLE safeground_user (
  id bigserial PRIMARY KEY, uuid {T} NOT NULL UNIQUE, username {T} NOT NULL UNIQUE, display_name text,
  role {T} NOT NULL CHECK (role IN ({roles})), password_hash text, created_at {T} NOT NULL, created_by {T},
  updated_at {T} NOT NULL, retired_at {T}, retired_reason text)""")
    conn.execute(f"""CREATE TABLE safeground_user_area (
  user_uuid {T} NOT NULL REFERENCES safeground_user (uuid), code {T} NOT NULL, PRIMARY KEY (user_uuid, code))""")
    conn.execute(f"""CREATE TABLE safeground_api_token (
  id bigserial PRIMARY KEY, uuid {T} NOT NULL UNIQUE, user_uuid {T} NOT NULL REFERENCES safeground_user (uuid),
  name text, token_sha256 {T} NOT NULL UNIQUE, created_at {T} NOT NULL, created_by {T}, last_used_at {T},
  revoked_at {T}, revoked_by {T})""")
    conn.execute("CREATE INDEX idx_safeground_api_token_user ON safeground_api_token (user_uuid)")
    for table in ("safeground_user", "safeground_api_token"):
        conn.execute(ddl.no_delete_sql(table, "users are retired and tokens revoked, never deleted"))


def _m9_risk_runs(conn: Any) -> None:
    conn.execute(f"""CREATE TABLE safeground_risk_run (
  id bigserial PRIMARY KEY, uuid {T} NOT NULL UNIQUE,
  kind {T} NOT NULL CHECK (kind IN ('fit', 'evaluate', 'surface', 'predict')),
  created_at {T} NOT NULL, created_by {T} NOT NULL, as_of {T}, cells_source text NOT NULL,
  parameters text NOT NULL, metrics text NOT NULL, model bytea, served {T}, cell_count bigint NOT NULL,
  current boolean NOT NULL DEFAULT false, adopted_at {T}, adopted_by {T})""")
    conn.execute("CREATE UNIQUE INDEX idx_safeground_risk_run_current ON safeground_risk_run (current) "
                 "WHERE current")
    conn.execute(f"""CREATE TABLE safeground_risk_cell (
  run bigint NOT NULL REFERENCES safeground_risk_run (id), position bigint NOT NULL, cell_id {T} NOT NULL,
  geometry geometry CHECK (ST_SRID(geometry) = 4326), risk double precision NOT NULL, reasons text NOT NULL,
  PRIMARY KEY (run, position))""")
    conn.execute(ddl.no_delete_sql("safeground_risk_run", "risk runs are kept; adopt another run instead"))


def _m10_plan_runs(conn: Any) -> None:
    conn.execute(f"""CREATE TABLE safeground_plan_run (
  id bigserial PRIMARY KEY, uuid {T} NOT NULL UNIQUE, kind {T} NOT NULL CHECK (kind IN ('plan', 'what_if')), label text,
  created_at {T} NOT NULL, created_by {T} NOT NULL, start_date {T} NOT NULL, horizon_weeks bigint NOT NULL,
  parameters text NOT NULL, value double precision NOT NULL, greedy_value double precision NOT NULL,
  bound double precision, gap double precision, solve_seconds double precision NOT NULL,
  bound_seconds double precision, status {T} NOT NULL CHECK (status IN ('optimal', 'feasible')),
  targets text NOT NULL, item_count bigint NOT NULL, current boolean NOT NULL DEFAULT false, adopted_at {T},
  adopted_by {T}, CHECK (kind = 'plan' OR NOT current))""")
    conn.execute("CREATE UNIQUE INDEX idx_safeground_plan_run_current ON safeground_plan_run (current) WHERE current")
    conn.execute(f"""CREATE TABLE safeground_plan_item (
  run bigint NOT NULL REFERENCES safeground_plan_run (id), position bigint NOT NULL,
  team_uuid {T}, team_ref {T} NOT NULL, hazard_uuid {T}, hazard_ref {T} NOT NULL,
  start_week bigint NOT NULL, end_week bigint NOT NULL, area_m2 double precision NOT NULL, method {T} NOT NULL,
  released_week bigint, PRIMARY KEY (run, position))""")
    conn.execute("CREATE INDEX idx_safeground_plan_item_hazard ON safeground_plan_item (hazard_uuid)")
    conn.execute(ddl.no_delete_sql("safeground_plan_run", "plan runs are kept; adopt another run instead"))
    conn.execute("CREATE TRIGGER sg_plan_item_no_change BEFORE UPDATE ON safeground_plan_item FOR EACH ROW "
                 "EXECUTE FUNCTION sg_refuse_delete('a stored plan is never changed; make a new one')")


def _m11_terrain(conn: Any) -> None:
    # The GeoPackage's migration 11: hazard_area.terrain and team.capacity_m2_week_<class>, all optional. The
    # update audit trigger here reads the whole row, so it needs no change.
    for layer, names in TERRAIN_FIELDS.items():
        have = {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                           "WHERE table_schema = current_schema() AND table_name = %s", (layer,))}
        for f in RECORD_TYPES[layer].all_fields:
            if f.name in names and f.name not in have:
                conn.execute(f"ALTER TABLE {q(layer)} ADD COLUMN {ddl.column_sql(f)}")


def _m12_sync(conn: Any) -> None:
    for stmt in SYNC_TABLES:
        conn.execute(stmt.format(serial="bigserial PRIMARY KEY", big="bigint", text=T))


#: The advisory lock a committing writer holds while it numbers its audit rows (until its commit is visible).
AUDIT_COMMIT_LOCK = 7400514


def _m13_commit_ordered_audit(conn: Any) -> None:
    """Audit rows get their final ``seq`` as their transaction commits, so seq order is commit order.

    A number drawn at insert time alone is not: writer A draws 10, B draws 11 and commits, a reader reads up to 11
    and keeps 11 as its high-water mark, then A commits 10, which that reader never reads. Now a row is inserted
    with a provisional number (drawn as before, so the transaction reads its own changes in order) and
    ``pending``; the first audit row of a transaction registers it in ``safeground_audit_pending``, whose deferred
    constraint trigger runs just before the commit: it takes an advisory lock (held until the commit is visible),
    gives the transaction's rows new numbers from the same sequence, in their order (drawn one by one, since
    other writers draw provisional numbers meanwhile), and unregisters. Other readers only ever see final numbers,
    each above every number committed before."""
    conn.execute("ALTER TABLE safeground_audit ADD COLUMN pending boolean")
    conn.execute("ALTER TABLE safeground_audit ALTER COLUMN pending SET DEFAULT true")
    conn.execute("CREATE INDEX idx_safeground_audit_pending ON safeground_audit (seq) WHERE pending")
    conn.execute("CREATE TABLE safeground_audit_pending (xid xid8 PRIMARY KEY)")
    # Once a transaction (the setting is local to it, and undone with a rolled-back savepoint, as the row is).
    conn.execute("""CREATE FUNCTION sg_audit_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('safeground.audit_pending', true) IS DISTINCT FROM 'yes' THEN
    PERFORM set_config('safeground.audit_pending', 'yes', true);
    INSERT INTO safeground_audit_pending VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$""")
    conn.execute(f"""CREATE FUNCTION sg_audit_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock({AUDIT_COMMIT_LOCK});
  -- One number at a time from the sequence (others draw provisional numbers from it meanwhile), in order.
  UPDATE safeground_audit a SET seq = o.final, pending = NULL
    FROM (SELECT x.seq, nextval('safeground_audit_seq_seq') AS final
            FROM (SELECT seq FROM safeground_audit WHERE pending ORDER BY seq) x) o
   WHERE a.seq = o.seq AND a.pending;
  DELETE FROM safeground_audit_pending WHERE xid = NEW.xid;
  PERFORM set_config('safeground.audit_pending', '', true);
  RETURN NULL;
END $$""")
    conn.execute("CREATE TRIGGER sg_audit_pending AFTER INSERT ON safeground_audit FOR EACH STATEMENT "
                 "EXECUTE FUNCTION sg_audit_pending()")
    conn.execute("CREATE CONSTRAINT TRIGGER sg_audit_number AFTER INSERT ON safeground_audit_pending "
                 "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sg_audit_number()")


_FORMS: dict[int, Callable[[Any], None]] = {
    1: _m1_initial, 2: _m2_quarantine, 3: _m3_duplicate_links, 4: _m4_attachments, 5: _m5_minefield_matches,
    6: _m6_quarantine_resolution, 7: _m7_publications, 8: _m8_users, 9: _m9_risk_runs, 10: _m10_plan_runs,
    11: _m11_terrain,
    12: _m12_sync,
    13: _m13_commit_ordered_audit,
}

#: (number, description, function): the GeoPackage's migrations, each in its PostgreSQL form. A GeoPackage
#: migration without one stops the PostGIS schema before it (a test says which form is missing).
PG_MIGRATIONS: list[tuple[int, str, Callable[[Any], None]]] = [
    (number, description, _FORMS[number]) for number, description, _fn in MIGRATIONS if number in _FORMS]

PG_SCHEMA_VERSION = PG_MIGRATIONS[-1][0]
