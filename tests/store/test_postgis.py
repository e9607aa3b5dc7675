"""What only the PostGIS store has: its migrations, plain-SQL edits audited by its triggers, the GiST index,
pg_dump backups, its errors; and the same answers as the GeoPackage store on the same real data."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import numpy as np
import psycopg
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeground.domain.errors import ConflictError, StoreError, ValidationError
from safeground.domain.records import record_type
from safeground.store import migrations, open_store, postgis_migrations
from safeground.store.base import Batch
from safeground.store.gpkg_binary import decode
from safeground.store.postgis import PostGISStore, pg_tool

REGISTER = Path(__file__).resolve().parents[2] / "data" / "colombia_aicma" / "events_1990_2014.csv"


def _hazards(n: int) -> Batch:
    geoms = np.array([shapely.MultiPolygon([shapely.box(-72.5 + i * 0.02, 5.0, -72.49 + i * 0.02, 5.01)])
                      for i in range(n)], dtype=object)
    return Batch({"name": [f"H{i}" for i in range(n)], "hazard_class": ["sha"] * n, "status": ["open"] * n}, geoms)


def test_every_geopackage_migration_has_its_postgresql_form() -> None:
    assert [(n, d) for n, d, _ in postgis_migrations.PG_MIGRATIONS] == [(n, d) for n, d, _ in migrations.MIGRATIONS]
    assert postgis_migrations.PG_SCHEMA_VERSION == migrations.SCHEMA_VERSION


def _columns(url: str) -> list[tuple[str, str, str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT table_name, column_name, data_type, coalesce(collation_name, '') "
                            "FROM information_schema.columns WHERE table_schema = 'public' "
                            "ORDER BY table_name, column_name").fetchall()


def test_an_older_database_upgrades_in_place(pg_empty_url: str, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A database made by a SafeGround that knew only migration 1 ...
    monkeypatch.setattr("safeground.store.postgis.PG_MIGRATIONS", postgis_migrations.PG_MIGRATIONS[:1])
    monkeypatch.setattr("safeground.store.postgis.PG_SCHEMA_VERSION", 1)
    with open_store(pg_empty_url, create=True) as s:
        s.insert("organisation", Batch({"name": ["Old NGO"]}), user="ana")
        assert s.schema_version == 1
        assert s.connection.execute("SELECT to_regclass('safeground_quarantine')").fetchone()[0] is None
    monkeypatch.undo()
    # ... is upgraded when today's SafeGround opens it, and keeps its data and its audit log.
    with open_store(pg_empty_url) as s:
        assert s.schema_version == migrations.SCHEMA_VERSION
        assert s.quarantined() == []
        assert [r["name"] for r in s.query("organisation")] == ["Old NGO"]
        run = s.write_risk_run({"kind": "fit", "cells_source": "t"}, None, user="ana")
        assert run["id"] == 1 and [c.op for c in s.changes_since(0)] == ["insert"]
    # Step by step, it has the very tables and columns of a database made new today.
    assert _columns(pg_empty_url) == _columns(pg_url)


def test_a_failed_migration_leaves_the_database_as_it_was(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(pg_url) as s:
        s.insert("organisation", Batch({"name": ["NGO"]}), user="ana")
    number = postgis_migrations.PG_SCHEMA_VERSION + 1

    def broken(conn: psycopg.Connection) -> None:
        conn.execute("CREATE TABLE x (a int)")
        conn.execute("ALTER TABLE organisation ADD COLUMN website text")
        raise RuntimeError("disk full")

    monkeypatch.setattr("safeground.store.postgis.PG_MIGRATIONS",
                        [*postgis_migrations.PG_MIGRATIONS, (number, "broken", broken)])
    monkeypatch.setattr("safeground.store.postgis.PG_SCHEMA_VERSION", number)
    with pytest.raises(RuntimeError):
        open_store(pg_url)
    monkeypatch.undo()
    with open_store(pg_url) as s:
        assert s.schema_version == migrations.SCHEMA_VERSION
        assert s.connection.execute("SELECT to_regclass('x')").fetchone()[0] is None
        assert "website" not in s.query("organisation")[0]


def test_plain_sql_edits_as_qgis_would_are_audited_as_external(pg_url: str) -> None:
    with open_store(pg_url) as s:
        [uuid] = s.insert("hazard_area", _hazards(1), user="ana")
    with psycopg.connect(pg_url, autocommit=True) as qgis:
        qgis.execute("UPDATE hazard_area SET name = 'edited in QGIS' WHERE uuid = %s", (uuid,))
        qgis.execute("INSERT INTO hazard_area (name, hazard_class, status, geom) VALUES ('digitised', 'sha', "
                     "'open', ST_GeomFromText('MULTIPOLYGON(((-72 5, -71.9 5, -71.9 5.1, -72 5)))', 4326))")
        with pytest.raises(psycopg.IntegrityError, match="never deleted"):
            qgis.execute("DELETE FROM hazard_area")
    with open_store(pg_url) as s:
        edited = s.get("hazard_area", uuid)
        assert edited["version"] == 2 and edited["name"] == "edited in QGIS"
        changes = list(s.changes_since(0))
        assert [(c.op, c.actor) for c in changes] == [("insert", "ana"), ("external", None), ("insert", None)]
        assert changes[1].before["name"] == "H0" and changes[1].after["name"] == "edited in QGIS"
        assert changes[1].before["geom"] is None  # the geometry did not change
        new = s.query("hazard_area", where={"name": "digitised"})[0]
        assert new["ref"] == "HA-000002" and len(new["uuid"]) == 36 and new["version"] == 1
        assert s.query("hazard_area", bbox=(-72.05, 4.95, -71.95, 5.05))[0]["uuid"] == new["uuid"]


def test_geometry_changes_are_audited_as_geopackage_binary(pg_url: str) -> None:
    with open_store(pg_url) as s:
        [uuid] = s.insert("hazard_area", _hazards(1), user="ana")
        moved = shapely.MultiPolygon([shapely.box(-72.40, 5.00, -72.39, 5.01)])
        s.update("hazard_area", uuid, {"geometry": moved}, user="bo")
        [move] = s.record_changes("hazard_area", uuid)[1:]
    before, after = decode([bytes.fromhex(move.before["geom"]), bytes.fromhex(move.after["geom"])])
    assert shapely.equals(before, _hazards(1).geometry[0]) and shapely.equals(after, moved)


def test_bounding_box_queries_use_the_gist_index(pg_url: str) -> None:
    with open_store(pg_url) as s:
        s.insert("hazard_area", _hazards(50), user="ana")
        conn = s.connection
        conn.execute("SET enable_seqscan = off")  # 50 rows: the planner would rather scan; is the index there?
        plan = " ".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT fid FROM hazard_area t WHERE t.geom && ST_MakeEnvelope(-72.5, 5, -72.4, 5.1, 4326)"))
        assert "idx_hazard_area_geom" in plan


def test_a_backup_restores_into_an_empty_database_with_everything(pg_url: str, pg_empty_url: str,
                                                                   tmp_path: Path) -> None:
    target = tmp_path / "backup.dump"
    with open_store(pg_url) as s:
        [uuid] = s.insert("hazard_area", _hazards(3), user="ana")[:1]
        s.update("hazard_area", uuid, {"name": "Renamed"}, user="bo")
        s.write_config_text("country: COL\n", "ana")
        s.add_attachment("hazard_area", uuid, "sketch.png", "image/png", b"\x89PNG...", user="ana")
        s.backup(str(target))
        with pytest.raises(StoreError) as info:
            s.backup(str(target))
        assert info.value.code == "backup.target_exists"
        expected = s.query("hazard_area", include_retired=True)
        history = list(s.changes_since(0))
    subprocess.run([pg_tool("pg_restore"), "--no-owner", f"--dbname={pg_empty_url}", str(target)], check=True,
                   capture_output=True)
    with open_store(pg_empty_url) as copy:
        back = copy.query("hazard_area", include_retired=True)
        assert [{k: v for k, v in r.items() if k != "geometry"} for r in back] == \
               [{k: v for k, v in r.items() if k != "geometry"} for r in expected]
        assert all(shapely.equals_exact(a["geometry"], b["geometry"], tolerance=0)
                   for a, b in zip(back, expected, strict=True))
        assert list(copy.changes_since(0)) == history
        assert copy.read_config_text() == "country: COL\n"
        [att] = copy.attachments()
        assert copy.attachment_data(att["uuid"]) == b"\x89PNG..."
        # The sequences came along: the next record continues the refs.
        [new] = copy.insert("hazard_area", _hazards(1), user="ana")
        assert copy.get("hazard_area", new)["ref"] == "HA-000004"


def test_errors_say_what_to_do(pg_empty_url: str, pg_admin_url: str) -> None:
    with pytest.raises(StoreError) as info:
        open_store(pg_empty_url)
    assert info.value.code == "store.not_found" and "safeground init" in info.value.hint
    base = pg_admin_url.rpartition("/")[0]
    with pytest.raises(StoreError) as info:
        open_store(base + "/no_such_database_here")
    assert info.value.code == "store.connection_failed"
    with pytest.raises(StoreError) as info:
        open_store("postgresql://ana:secret@127.0.0.1:1/x")
    assert info.value.code == "store.connection_failed" and "secret" not in info.value.message


def test_read_only_refuses_every_write(pg_url: str) -> None:
    with open_store(pg_url) as s:
        s.insert("organisation", Batch({"name": ["NGO"]}), user="ana")
    with open_store(pg_url, read_only=True) as s:
        assert s.read_only and s.count("organisation") == 1
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            s.write_config_text("country: UKR\n", "mallory")
    with open_store(pg_url) as s:
        assert s.read_config_text() is None


def test_a_stale_write_conflicts_and_overwrites_nothing(pg_url: str) -> None:
    with open_store(pg_url) as a, open_store(pg_url) as b:
        [uuid] = a.insert("hazard_area", _hazards(1), user="ana")
        a.update("hazard_area", uuid, {"name": "A"}, user="ana", expected_version=1)
        with pytest.raises(ConflictError) as info:
            b.update("hazard_area", uuid, {"name": "B"}, user="bo", expected_version=1)
        assert info.value.code == "store.version_conflict" and info.value.details["current_version"] == 2
        assert b.get("hazard_area", uuid)["name"] == "A"


@pytest.fixture(scope="module")
def register_rows() -> list[dict[str, str]]:
    with REGISTER.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return rows[::40]  # about 800 real events, spread over the country and the years


def test_both_backends_answer_the_same_on_real_events(register_rows: list[dict[str, str]], pg_url: str,
                                                      tmp_path: Path) -> None:
    """The Colombia register's events in both stores: the same filters, order, sums, boxes and distances."""
    rows = [r for r in register_rows if r["lon"] and r["lat"]]
    points = shapely.points([float(r["lon"]) for r in rows], [float(r["lat"]) for r in rows])
    batch = Batch({"event_type": [r["tipo_evento"] for r in rows], "admin1": [r["departamento"] for r in rows],
                   "admin2": [r["municipio"] for r in rows], "event_date": [f"{r['year']}-01-01" for r in rows],
                   "area_type": [r["tipo_area"] or None for r in rows]}, points)
    answers = []
    for db in (str(tmp_path / "a.gpkg"), pg_url):
        with open_store(db, create=True) as s:
            s.insert("event", batch, user="ana")
            centre = points[0]
            answers.append((
                [r["ref"] for r in s.query("event", where={"admin1": ("in", ["ANTIOQUIA", "META"])},
                                           order_by="-event_date")],
                [r["ref"] for r in s.query("event", order_by="admin2", limit=50, offset=10)],
                s.aggregate("event", group_by=["admin1", "area_type"],
                            metrics={"n": ("count", "*"), "last": ("max", "event_date")}),
                s.count("event", bbox=(-76.0, 5.0, -74.0, 8.0)),
                [(r["ref"], round(r["distance_m"], 3)) for r in s.within_distance("event", centre, 30_000)],
                s.extent("event"),
            ))
    gpkg, pg = answers
    assert gpkg[:5] == pg[:5]
    assert len(gpkg[4]) > 1 and gpkg[3] > 0
    assert np.allclose(gpkg[5], pg[5], atol=3e-5)


texts = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=20)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(texts, st.integers(-2**53, 2**53) | st.none()), min_size=1, max_size=20))
def test_values_round_trip_as_they_went_in(pg_url: str, values: list) -> None:
    with PostGISStore.open(pg_url) as s:
        uuids = s.insert("casualty", Batch({"family_name": [v[0] for v in values], "age": [v[1] for v in values],
                                            "contact": [v[0] + "'; --" for v in values]}), user="ana")
        back = {r["uuid"]: r for r in s.query("casualty", where={"uuid": uuids})}
        for uuid, v in zip(uuids, values, strict=True):
            assert back[uuid]["family_name"] == v[0] and back[uuid]["age"] == v[1]
            assert back[uuid]["contact"] == v[0] + "'; --"


def test_a_bulk_load_audits_every_record_and_the_index_finds_them(pg_url: str) -> None:
    rng = np.random.default_rng(1)
    n = 6000
    with open_store(pg_url) as s:
        with s.bulk_load():
            for _ in range(3):
                s.insert("device", Batch({"category": ["ap_mine"] * (n // 3)},
                                         shapely.points(rng.uniform(-75, -71, n // 3), rng.uniform(3, 8, n // 3))),
                         user="ana", import_run="r1")
        everything = s.query("device")
        assert len(everything) == n and len({r["ref"] for r in everything}) == n
        changes = list(s.changes_since(0))
        assert len(changes) == n and {(c.op, c.actor, c.import_run) for c in changes} == {("insert", "ana", "r1")}
        assert sorted(c.uuid for c in changes) == sorted(r["uuid"] for r in everything)
        box = (-74.0, 4.0, -73.0, 6.5)
        inside = shapely.intersects(np.array([r["geometry"] for r in everything]), shapely.box(*box))
        assert {r["uuid"] for r in s.query("device", bbox=box, geometry=False)} == \
               {r["uuid"] for r, yes in zip(everything, inside, strict=True) if yes}


def test_changes_are_read_page_by_page_without_gap_or_repeat(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("safeground.store.postgis.CHANGES_PAGE", 7)
    with open_store(pg_url) as s:
        s.insert("organisation", Batch({"name": [f"NGO {i}" for i in range(30)]}), user="ana")
        seqs = [c.seq for c in s.changes_since(0)]
        assert len(seqs) == 30 and seqs == sorted(set(seqs))
        assert [c.seq for c in s.changes_since(seqs[4], limit=10)] == seqs[5:15]
        assert [c.seq for c in s.changes_since(seqs[4], limit=7)] == seqs[5:12]
        assert list(s.changes_since(seqs[-1])) == []


def test_both_audit_logs_read_the_same(any_db: str) -> None:
    with open_store(any_db, create=True) as s:
        [uuid] = s.insert("casualty", Batch({"outcome": ["injured"], "age": [30]}), user="ana")
        s.update("casualty", uuid, {"age": 31, "outcome": "killed"}, user="bo")
        [change] = s.record_changes("casualty", uuid)[1:]
    assert (change.op, change.actor) == ("update", "bo")
    assert {k: change.before[k] for k in ("age", "outcome", "version")} == {"age": 30, "outcome": "injured",
                                                                           "version": 1}
    assert {k: change.after[k] for k in ("age", "outcome", "version")} == {"age": 31, "outcome": "killed",
                                                                          "version": 2}
    assert set(change.before) == set(change.after) == {f.name for f in record_type("casualty").all_fields}


def test_a_nul_character_is_refused_with_what_to_do_and_nothing_is_written(pg_url: str) -> None:
    with open_store(pg_url) as s:
        [uuid] = s.insert("organisation", Batch({"name": ["NGO"]}), user="ana")
        for write in (lambda: s.insert("organisation", Batch({"name": ["bad\x00name"]}), user="ana"),
                      lambda: s.update("organisation", uuid, {"name": "bad\x00"}, user="ana"),
                      lambda: s.write_risk_run({"kind": "fit", "cells_source": "t"},
                                               {"cell_id": ["a\x00"], "risk": [0.5], "reasons": [[]]}, user="ana")):
            with pytest.raises(ValidationError) as info:
                write()
            assert info.value.code == "store.nul_character" and "NUL" in info.value.hint
        assert [r["name"] for r in s.query("organisation")] == ["NGO"] and s.risk_runs() == []
        assert len(list(s.changes_since(0))) == 1
