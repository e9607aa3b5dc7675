"""PostgreSQL/PostGIS DDL, generated from the record declarations and never written by hand.

The same declarations as the GeoPackage schema (``sqlite_schema.py``) give, per layer: the table (a ``fid``
key from a sequence, ``geom geometry`` (SRID 4326 checked, any type and dimension) with a GiST index, one column
per declared field), its indexes on links, the event date and ``(source, source_id)``, and triggers, which are the
only thing that bumps ``version`` and writes audit rows, so that they also fire for QGIS or plain-SQL edits:

- ``sg_<layer>_fill`` (before insert, only when ``uuid`` or ``ref`` is empty): a v4 uuid and ``<prefix>-<fid:06>``;
- ``sg_<layer>_insert`` (after insert, once a statement, from its transition table): one ``insert`` audit row a
  record, without values;
- ``sg_<layer>_update`` (before update): ``version + 1``, and an audit row with the row before and after as
  JSON (the geometry as hex GeoPackage binary, only when it changed); ``external`` when ``updated_at`` did not
  move, as in the GeoPackage;
- ``sg_<layer>_no_delete``: refuses; records are retired.

Text, dates and timestamps are ``text COLLATE "C"``: values come back exactly as stored (ISO 8601 strings, as
in the GeoPackage) and sort bytewise, as SQLite sorts them.

>>> from safeground.domain.records import HAZARD_AREA
>>> ddl = layer_ddl(HAZARD_AREA)
>>> ddl[0].split("(")[0]
'CREATE TABLE "hazard_area" '
>>> any("USING gist" in s for s in ddl)
True
"""

from __future__ import annotations

from safeground.domain.fields import Field, FieldType
from safeground.domain.records import RecordType
from safeground.store.sqlite_schema import FID, GEOM, index_sql, q

TEXT = 'text COLLATE "C"'

PG_TYPES = {
    FieldType.TEXT: TEXT, FieldType.INTEGER: "bigint", FieldType.REAL: "double precision",
    FieldType.BOOLEAN: "boolean", FieldType.DATE: TEXT, FieldType.DATETIME: TEXT, FieldType.LINK: TEXT,
    FieldType.LINKS: TEXT, FieldType.CHOICES: TEXT,
}

#: The type a bound value is cast to in a filter on a field of this type.
PARAM_TYPES = {FieldType.INTEGER: "bigint", FieldType.REAL: "double precision", FieldType.BOOLEAN: "boolean"}

_DEFAULTS = {
    "uuid": "UNIQUE",
    "ref": "UNIQUE",
    "version": "NOT NULL DEFAULT 1",
    "review_state": "NOT NULL DEFAULT 'submitted'",
    "created_at": "NOT NULL DEFAULT sg_now()",
    "updated_at": "NOT NULL DEFAULT sg_now()",
}

#: Functions every layer's triggers use (migration 1). ``sg_now()`` is SafeGround's timestamp format
#: (UTC, milliseconds, ``Z``); ``sg_gpkg_hex`` writes a geometry as the GeoPackage audit rows hold it.
FUNCTIONS = [
    """CREATE FUNCTION sg_now() RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$""",
    """CREATE FUNCTION sg_later(stored text, stamp text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN stamp > stored THEN stamp ELSE to_char((stored::timestamp + interval '1 millisecond'),
         'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END $$""",
    """CREATE FUNCTION sg_ref(prefix text, fid bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT prefix || '-' || CASE WHEN fid < 1000000 THEN lpad(fid::text, 6, '0') ELSE fid::text END $$""",
    # GeoPackage binary without envelope (flags: little endian), SRS 4326, then little-endian WKB.
    """CREATE FUNCTION sg_gpkg_hex(g geometry) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN g IS NULL THEN NULL ELSE upper(encode(
    (CASE WHEN ST_IsEmpty(g) THEN '\\x47500011e6100000'::bytea ELSE '\\x47500001e6100000'::bytea END)
    || ST_AsBinary(g, 'NDR'), 'hex')) END $$""",
    """CREATE FUNCTION sg_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.uuid := COALESCE(NEW.uuid, gen_random_uuid()::text);
  NEW.ref := COALESCE(NEW.ref, sg_ref(TG_ARGV[0], NEW.fid));
  RETURN NEW;
END $$""",
    """CREATE FUNCTION sg_audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO safeground_audit (layer, fid, uuid, op, actor, import_run, at)
  SELECT TG_TABLE_NAME, n.fid, n.uuid, 'insert', n.created_by, n.import_run, sg_now() FROM new_rows n ORDER BY n.fid;
  RETURN NULL;
END $$""",
    """CREATE FUNCTION sg_audit_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  external boolean := NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at;
  before jsonb;
  after jsonb;
BEGIN
  NEW.version := OLD.version + 1;
  IF external THEN
    NEW.updated_at := sg_now();
  END IF;
  before := to_jsonb(OLD) - 'fid';
  after := to_jsonb(NEW) - 'fid';
  IF TG_ARGV[0] = 'spatial' THEN
    IF OLD.geom::bytea IS NOT DISTINCT FROM NEW.geom::bytea THEN
      before := before || '{"geom": null}'::jsonb;
      after := after || '{"geom": null}'::jsonb;
    ELSE
      before := before || jsonb_build_object('geom', sg_gpkg_hex(OLD.geom));
      after := after || jsonb_build_object('geom', sg_gpkg_hex(NEW.geom));
    END IF;
  END IF;
  INSERT INTO safeground_audit (layer, fid, uuid, op, actor, import_run, at, before, after) VALUES (
    TG_TABLE_NAME, NEW.fid, NEW.uuid,
    CASE WHEN external THEN 'external'
         WHEN OLD.retired_at IS NULL AND NEW.retired_at IS NOT NULL THEN 'retire' ELSE 'update' END,
    CASE WHEN external THEN NULL ELSE NEW.updated_by END, NEW.import_run, sg_now(), before, after);
  RETURN NEW;
END $$""",
    """CREATE FUNCTION sg_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'safeground: %', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END $$""",
]


def column_sql(f: Field) -> str:
    return f"{q(f.name)} {PG_TYPES[f.type]} {_DEFAULTS.get(f.name, '')}".rstrip()


def table_sql(rt: RecordType) -> str:
    cols = [f"{q(FID)} bigserial PRIMARY KEY"]
    if rt.is_spatial:
        # Any type and dimension (an ODK geoshape has heights), as the GeoPackage keeps them; SRID 4326 checked
        cols.append(f"{q(GEOM)} geometry CONSTRAINT {q('enforce_srid_' + rt.layer)} CHECK (ST_SRID({q(GEOM)}) = 4326)")
    cols += [column_sql(f) for f in rt.all_fields]
    return f"CREATE TABLE {q(rt.layer)} (\n  " + ",\n  ".join(cols) + "\n)"


def no_delete_sql(table: str, why: str) -> str:
    """A trigger refusing deletes on ``table`` with the message ``why``."""
    return (f"CREATE TRIGGER {q('sg_' + table + '_no_delete')} BEFORE DELETE ON {q(table)} FOR EACH ROW "
            f"EXECUTE FUNCTION sg_refuse_delete('{why}')")


def trigger_sql(rt: RecordType) -> list[str]:
    t = q(rt.layer)
    kind = "spatial" if rt.is_spatial else "plain"
    return [
        f"CREATE TRIGGER {q('sg_' + rt.layer + '_fill')} BEFORE INSERT ON {t} FOR EACH ROW "
        f"WHEN (NEW.uuid IS NULL OR NEW.ref IS NULL) EXECUTE FUNCTION sg_fill('{rt.prefix}')",
        f"CREATE TRIGGER {q('sg_' + rt.layer + '_insert')} AFTER INSERT ON {t} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION sg_audit_insert()",
        f"CREATE TRIGGER {q('sg_' + rt.layer + '_update')} BEFORE UPDATE ON {t} FOR EACH ROW "
        f"EXECUTE FUNCTION sg_audit_update('{kind}')",
        no_delete_sql(rt.layer, "records are never deleted; set retired_at and retired_reason to retire it"),
    ]


def layer_ddl(rt: RecordType) -> list[str]:
    out = [table_sql(rt)]
    if rt.is_spatial:
        out.append(f"CREATE INDEX {q('idx_' + rt.layer + '_geom')} ON {q(rt.layer)} USING gist ({q(GEOM)})")
    return out + trigger_sql(rt) + index_sql(rt)


SAFEGROUND_TABLES = [
    f"CREATE TABLE safeground_meta (key {TEXT} PRIMARY KEY, value text)",
    f"""CREATE TABLE safeground_config (
  id integer PRIMARY KEY CHECK (id = 1), yaml text NOT NULL, updated_by text, updated_at {TEXT} NOT NULL)""",
    f"""CREATE TABLE safeground_audit (
  seq bigserial PRIMARY KEY, layer {TEXT} NOT NULL, fid bigint NOT NULL, uuid {TEXT}, op {TEXT} NOT NULL,
  actor {TEXT}, import_run {TEXT}, at {TEXT} NOT NULL, before jsonb, after jsonb)""",
    "CREATE INDEX idx_safeground_audit_record ON safeground_audit (layer, fid)",
    f"""CREATE TABLE safeground_import_run (
  id {TEXT} PRIMARY KEY, layer {TEXT}, source {TEXT}, format {TEXT}, started_at {TEXT} NOT NULL,
  finished_at {TEXT}, "user" {TEXT}, rows_read bigint, rows_stored bigint, rows_quarantined bigint,
  status {TEXT}, report text)""",
]
