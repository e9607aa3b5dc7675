"""The store on both backends (``store``: a GeoPackage file, then a PostGIS database): audit and versions by
trigger, transactions, queries; and what only the embedded store has: a valid GeoPackage, WAL, the R-tree,
GDAL and QGIS edits, its migrations and backup (the PostGIS counterparts are in test_postgis.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from safeground.domain.errors import ConflictError, StoreError
from safeground.domain.records import LAYERS, RECORD_TYPES
from safeground.store import migrations, open_store
from safeground.store.base import Batch
from safeground.store.gpkg import GeoPackageStore
from safeground.store.gpkg_binary import register_functions

BOX = shapely.MultiPolygon([shapely.box(-72.50, 5.00, -72.49, 5.01)])


def hazards(n: int, dx: float = 0.02) -> Batch:
    geoms = np.array([shapely.MultiPolygon([shapely.box(-72.5 + i * dx, 5.0, -72.49 + i * dx, 5.01)])
                      for i in range(n)], dtype=object)
    return Batch({"name": [f"H{i}" for i in range(n)], "hazard_class": ["sha"] * n, "status": ["open"] * n}, geoms)


@pytest.fixture
def store(any_db: str):
    """A new store of each backend in turn."""
    s = open_store(any_db, create=True)
    yield s
    s.close()


@pytest.fixture
def gpkg_store(db_path: Path):
    s = open_store(db_path, create=True)
    yield s
    s.close()


def test_file_is_a_geopackage_that_gdal_reads_layer_by_layer(gpkg_store, db_path: Path) -> None:
    gpkg_store.insert("hazard_area", hazards(3), user="ana")
    gpkg_store.insert("organisation", Batch({"name": ["HALO"]}), user="ana")
    gpkg_store.close()
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 10300
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    listed = dict(pyogrio.list_layers(db_path))
    assert set(listed) == set(LAYERS) | {"safeground_attachment"}  # the media table of the Related Tables Ext.
    for layer in LAYERS:
        df = pyogrio.read_dataframe(db_path, layer=layer)
        expected = {"hazard_area": 3, "organisation": 1}.get(layer, 0)
        assert len(df) == expected, layer
        assert {f.name for f in RECORD_TYPES[layer].all_fields} <= set(df.columns)
    assert pyogrio.read_info(db_path, layer="hazard_area")["capabilities"]["fast_spatial_filter"]


def test_close_checkpoints_so_the_file_alone_is_complete(db_path: Path, tmp_path: Path) -> None:
    s = open_store(db_path, create=True)
    s.insert("hazard_area", hazards(5), user="ana")
    s.close()
    wal = Path(str(db_path) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    lone = tmp_path / "copy.gpkg"
    lone.write_bytes(db_path.read_bytes())  # the main file only
    assert len(pyogrio.read_dataframe(lone, layer="hazard_area")) == 5


def test_bbox_query_uses_the_rtree(store) -> None:
    store.insert("hazard_area", hazards(10), user="ana")
    hits = store.query("hazard_area", bbox=(-72.455, 4.9, -72.405, 5.1))
    assert [h["name"] for h in hits] == ["H2", "H3", "H4"]
    assert store.count("hazard_area", bbox=(-72.455, 4.9, -72.405, 5.1)) == 3
    if isinstance(store, GeoPackageStore):  # PostGIS: its GiST index, in test_postgis.py
        plan = " ".join(str(r) for r in store.connection.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM rtree_hazard_area_geom WHERE maxx >= 0 AND minx <= 1"))
        assert "VIRTUAL TABLE INDEX" in plan


def test_within_distance_measures_metres(store) -> None:
    pts = np.array([shapely.Point(-72.5 + i * 0.001, 5.0) for i in range(5)], dtype=object)  # ~111 m apart
    store.insert("device", Batch({"category": ["ap_mine"] * 5}, pts), user="ana")
    near = store.within_distance("device", shapely.Point(-72.5, 5.0), 250)
    assert len(near) == 3
    assert [round(r["distance_m"] / 111) for r in near] == [0, 1, 2]


def test_insert_audit_rows_hold_no_values_and_updates_hold_before_and_after(store) -> None:
    [uuid] = store.insert("hazard_area", hazards(1), user="ana", import_run="run-1")
    store.update("hazard_area", uuid, {"name": "Renamed"}, user="bo", expected_version=1)
    changes = list(store.changes_since(0))
    assert [(c.op, c.actor) for c in changes] == [("insert", "ana"), ("update", "bo")]
    assert changes[0].import_run == "run-1"
    assert changes[0].before is None and changes[0].after is None
    assert changes[1].before["name"] == "H0" and changes[1].after["name"] == "Renamed"
    assert changes[1].before["version"] == 1 and changes[1].after["version"] == 2
    assert [c.seq for c in store.changes_since(changes[0].seq)] == [changes[1].seq]


def test_version_is_bumped_by_trigger_and_stale_writes_conflict(store) -> None:
    [uuid] = store.insert("hazard_area", hazards(1), user="ana")
    assert store.update("hazard_area", uuid, {"name": "A"}, user="ana", expected_version=1)["version"] == 2
    with pytest.raises(ConflictError) as info:
        store.update("hazard_area", uuid, {"name": "B"}, user="bo", expected_version=1)
    assert info.value.code == "store.version_conflict"
    assert store.get("hazard_area", uuid)["name"] == "A"


def test_plain_sqlite_edit_as_qgis_would_is_audited_as_external(gpkg_store, db_path: Path) -> None:
    [uuid] = gpkg_store.insert("hazard_area", hazards(1), user="ana")
    gpkg_store.close()
    qgis = sqlite3.connect(db_path)
    register_functions(qgis)  # GDAL registers these ST_ functions for its GeoPackage driver
    qgis.execute("UPDATE hazard_area SET name = 'edited in QGIS', status = 'worked_on' WHERE uuid = ?", (uuid,))
    qgis.execute("INSERT INTO hazard_area (name, hazard_class, status) VALUES ('digitised', 'sha', 'open')")
    qgis.commit()
    qgis.close()
    s = open_store(db_path)
    try:
        edited = s.get("hazard_area", uuid)
        assert edited["version"] == 2 and edited["name"] == "edited in QGIS"
        changes = list(s.changes_since(0))
        assert [c.op for c in changes] == ["insert", "external", "insert"]
        ext = changes[1]
        assert ext.before["name"] == "H0" and ext.after["name"] == "edited in QGIS"
        assert ext.after["status"] == "worked_on"
        new = s.query("hazard_area", where={"name": "digitised"})[0]
        assert new["ref"] == "HA-000002" and len(new["uuid"]) == 36 and new["version"] == 1
    finally:
        s.close()


def test_gdal_append_gets_uuid_ref_and_audit(gpkg_store, db_path: Path) -> None:
    gpkg_store.close()
    gdf = gpd.GeoDataFrame({"name": ["from GDAL"], "hazard_class": ["sha"], "status": ["open"]}, geometry=[BOX],
                           crs=4326)
    pyogrio.write_dataframe(gdf, db_path, layer="hazard_area", append=True)
    s = open_store(db_path)
    try:
        [row] = s.query("hazard_area")
        assert row["ref"] == "HA-000001" and len(row["uuid"]) == 36
        assert [c.uuid for c in s.changes_since(0)] == [row["uuid"]]
        assert s.query("hazard_area", bbox=(-72.6, 4.9, -72.4, 5.1))[0]["uuid"] == row["uuid"]
    finally:
        s.close()


def test_nothing_is_hard_deleted(store) -> None:
    [uuid] = store.insert("hazard_area", hazards(1), user="ana")
    with pytest.raises(Exception, match="never deleted"):  # sqlite3's or psycopg's IntegrityError
        store.connection.execute("DELETE FROM hazard_area")
    retired = store.retire("hazard_area", uuid, "duplicate of HA-000009", user="ana")
    assert retired["retired_at"] and retired["retired_reason"] == "duplicate of HA-000009"
    assert store.query("hazard_area") == []
    assert len(store.query("hazard_area", include_retired=True)) == 1
    assert [c.op for c in store.changes_since(0)] == ["insert", "retire"]


def test_transaction_rolls_back_everything(store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.insert("hazard_area", hazards(2), user="ana")
        raise RuntimeError("boom")
    assert store.count("hazard_area") == 0
    assert list(store.changes_since(0)) == []


def test_aggregate_groups_and_sums(store) -> None:
    b = hazards(4)
    b.columns["hazard_class"] = ["sha", "cha", "cha", "sha"]
    b.columns["estimated_area_m2"] = [1.0, 2.0, 3.0, None]
    store.insert("hazard_area", b, user="ana")
    rows = store.aggregate("hazard_area", group_by=["hazard_class"],
                           metrics={"n": ("count", "*"), "m2": ("sum", "estimated_area_m2")})
    assert rows == [{"hazard_class": "cha", "n": 2, "m2": 5.0}, {"hazard_class": "sha", "n": 2, "m2": 1.0}]


def test_filters_use_declared_fields_only(store) -> None:
    with pytest.raises(Exception) as info:
        store.query("hazard_area", where={"name; DROP TABLE hazard_area": 1})
    assert info.value.code == "record.unknown_field"  # type: ignore[attr-defined]
    store.insert("hazard_area", hazards(2), user="ana")
    assert [r["name"] for r in store.query("hazard_area", where={"name": "H1' OR '1'='1"})] == []


def test_schema_version_lives_in_safeground_meta_and_newer_files_are_refused(any_db: str) -> None:
    s = open_store(any_db, create=True)
    assert s.schema_version == migrations.SCHEMA_VERSION
    s.connection.execute("UPDATE safeground_meta SET value = '999' WHERE key = 'schema_version'")
    s.close()
    with pytest.raises(StoreError) as info:
        open_store(any_db)
    assert info.value.code == "store.schema_too_new"


def test_older_file_upgrades_in_place(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A file made by a SafeGround that knew only migration 1 ...
    monkeypatch.setattr("safeground.store.gpkg.MIGRATIONS", migrations.MIGRATIONS[:1])
    monkeypatch.setattr("safeground.store.gpkg.SCHEMA_VERSION", 1)
    s = open_store(db_path, create=True)
    s.insert("organisation", Batch({"name": ["Old NGO"]}), user="ana")
    assert s.schema_version == 1
    s.close()
    monkeypatch.undo()
    # ... is upgraded when today's SafeGround opens it, and keeps its data.
    s = open_store(db_path)
    try:
        assert s.schema_version == migrations.SCHEMA_VERSION >= 2
        assert s.quarantined() == []
        assert [r["name"] for r in s.query("organisation")] == ["Old NGO"]
    finally:
        s.close()
    next_number = migrations.SCHEMA_VERSION + 1

    def add_website(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE organisation ADD COLUMN website TEXT")
        conn.execute("UPDATE organisation SET website = 'https://example.org'")

    monkeypatch.setattr("safeground.store.gpkg.MIGRATIONS", [*migrations.MIGRATIONS, (next_number, "web", add_website)])
    monkeypatch.setattr("safeground.store.gpkg.SCHEMA_VERSION", next_number)
    s = open_store(db_path)
    try:
        assert s.schema_version == next_number
        assert s.connection.execute("SELECT name, website FROM organisation").fetchone() == ("Old NGO",
                                                                                             "https://example.org")
    finally:
        s.close()


def test_failed_migration_leaves_the_file_as_it_was(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    open_store(db_path, create=True).close()
    before = db_path.read_bytes()
    next_number = migrations.SCHEMA_VERSION + 1

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE x (a)")
        raise sqlite3.OperationalError("disk full")

    monkeypatch.setattr("safeground.store.gpkg.MIGRATIONS", [*migrations.MIGRATIONS, (next_number, "broken", broken)])
    monkeypatch.setattr("safeground.store.gpkg.SCHEMA_VERSION", next_number)
    with pytest.raises(sqlite3.OperationalError):
        open_store(db_path)
    monkeypatch.undo()
    s = open_store(db_path)
    assert s.schema_version == migrations.SCHEMA_VERSION
    s.close()
    assert db_path.read_bytes() == before


def test_opening_a_missing_or_foreign_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        open_store(tmp_path / "missing.gpkg")
    assert info.value.code == "store.not_found" and "safeground init" in info.value.hint
    other = tmp_path / "other.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)], crs=4326).to_file(other)
    with pytest.raises(StoreError) as info:
        open_store(other)
    assert info.value.code == "store.not_safeground"


def test_configuration_is_a_yaml_document_in_the_database(store) -> None:
    assert store.read_config_text() is None
    store.write_config_text("country: COL\n", "ana")
    assert store.read_config_text() == "country: COL\n"


def test_backup_is_a_complete_copy(gpkg_store, tmp_path: Path) -> None:
    gpkg_store.insert("hazard_area", hazards(3), user="ana")
    target = tmp_path / "backup.gpkg"
    gpkg_store.backup(str(target))
    copy = GeoPackageStore.open(target)
    try:
        assert copy.count("hazard_area") == 3
        assert len(list(copy.changes_since(0))) == 3
    finally:
        copy.close()
    with pytest.raises(StoreError) as info:
        gpkg_store.backup(str(target))
    assert info.value.code == "backup.target_exists"


coords = st.floats(-179.0, 179.0, allow_nan=False)
lats = st.floats(-85.0, 85.0, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(coords, lats, st.floats(1e-6, 1.0), st.floats(1e-6, 1.0), st.booleans()),
                min_size=1, max_size=20))
def test_geopackage_binary_round_trips_and_envelopes_match(boxes: list) -> None:
    from safeground.store.gpkg_binary import decode, encode, envelope

    geoms = np.array([shapely.Point(x, y) if point else shapely.box(x, y, x + w, y + h)
                      for x, y, w, h, point in boxes], dtype=object)
    blobs = encode(geoms)
    back = decode(blobs)
    for g, b, blob in zip(geoms, back, blobs, strict=True):
        assert shapely.equals_exact(g, b, tolerance=0)
        minx, miny, maxx, maxy = g.bounds
        assert envelope(blob) == (minx, maxx, miny, maxy)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False,
                                                                                        allow_infinity=False)),
                min_size=1, max_size=20))
def test_point_blobs_are_the_header_then_geos_wkb(points: list) -> None:
    """Points are laid out by numpy; the bytes are those of the general path (GEOS's ISO WKB) all the same."""
    from safeground.store.gpkg_binary import decode, encode

    geoms = shapely.points(np.array(points, dtype=float))
    blobs = encode(geoms)
    assert blobs == [b"GP\x00\x01" + (4326).to_bytes(4, "little") + shapely.to_wkb(g, byte_order=1, flavor="iso")
                     for g in geoms]
    assert all(shapely.equals_exact(a, b, tolerance=0) for a, b in zip(decode(blobs), geoms, strict=True))


def test_audit_keeps_geometry_only_when_it_changed(store) -> None:
    from safeground.store.gpkg_binary import decode

    [uuid] = store.insert("hazard_area", hazards(1), user="ana")
    store.update("hazard_area", uuid, {"name": "Renamed"}, user="ana")
    moved = shapely.MultiPolygon([shapely.box(-72.40, 5.00, -72.39, 5.01)])
    store.update("hazard_area", uuid, {"geometry": moved}, user="ana")
    rename, move = list(store.changes_since(0))[1:]
    assert rename.before["geom"] is None and rename.after["geom"] is None
    before, after = decode([bytes.fromhex(move.before["geom"]), bytes.fromhex(move.after["geom"])])
    assert shapely.equals(before, hazards(1).geometry[0]) and shapely.equals(after, moved)
