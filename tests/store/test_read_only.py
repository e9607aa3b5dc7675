"""Opening a database read-only (what a report does) leaves the file as it was and refuses every write (the file's
own tests; ``test_postgis.py`` has the server's, and the record-accuracy test runs on both backends)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TypeVar

import pytest
import shapely
from tests.conftest import copy_db, db_content

from safeground.domain.config import Config
from safeground.domain.errors import StoreError
from safeground.services.minefields import match_minefield_records
from safeground.services.records import add_record
from safeground.services.stats_records import record_accuracy
from safeground.services.workspace import Workspace
from safeground.store import open_store

#: A GeoPackage path, or a server URL.
P = TypeVar("P", str, Path)


def _database(path: P) -> P:
    with Workspace.open(path, user="ana", create=True) as ws:
        ws.set_config(Config(country="COL"))
        hz = add_record(ws, "hazard_area", {"name": "H", "hazard_class": "cha", "status": "open",
                                            "geometry": shapely.box(-73.70, 3.40, -73.68, 3.41)},
                        review_state="approved")
        add_record(ws, "evidence", {"hazard": hz["uuid"], "kind": "direct", "evidence_source": "observed",
                                    "geometry": hz["geometry"].centroid})
        add_record(ws, "activity", {"activity_type": "ts", "hazard": hz["uuid"], "assets": "manual",
                                    "geometry": shapely.box(-73.70, 3.40, -73.69, 3.41)}, review_state="approved")
        add_record(ws, "minefield_record", {"reliability": "c", "mine_count": 4,
                                            "geometry": shapely.box(-73.701, 3.399, -73.689, 3.411)},
                   review_state="approved")
        for x, qty in ((-73.695, 2), (-73.6885, 1)):  # one inside the record, one 55 m outside it
            add_record(ws, "device", {"category": "ap_mine", "quantity": qty, "geometry": shapely.Point(x, 3.405)},
                       review_state="approved")
    return path


def test_reading_changes_no_byte_and_writing_is_refused(tmp_path: Path) -> None:
    path = _database(tmp_path / "a.gpkg")
    before = path.read_bytes()
    store = open_store(path, read_only=True)
    assert store.read_only and store.count("hazard_area") == 1
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.write_config_text("country: UKR\n", "mallory")
    store.close()
    store.close()  # twice is harmless
    assert path.read_bytes() == before


def test_a_file_of_another_schema_version_is_refused_not_migrated(tmp_path: Path) -> None:
    path = _database(tmp_path / "old.gpkg")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE safeground_meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError) as info:
        open_store(path, read_only=True)
    assert info.value.code == "store.read_only_outdated"
    assert path.read_bytes() == before


def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        open_store(tmp_path / "none.gpkg", read_only=True)
    assert info.value.code == "store.not_found" and not (tmp_path / "none.gpkg").exists()


def test_record_accuracy_read_only_matches_in_memory_as_the_stored_matches_say(any_db: str, tmp_path: Path,
                                                                              request: pytest.FixtureRequest) -> None:
    path = _database(any_db)
    (tmp_path / "copy").mkdir()
    copy = copy_db(path, tmp_path / "copy", request)
    before = db_content(path)
    with Workspace.open(path, read_only=True) as ws:
        assert ws.store.minefield_matches() == []
        memory = record_accuracy(ws)
        assert ws.store.minefield_matches() == []  # nothing stored
    assert db_content(path) == before
    with Workspace.open(copy, user="ana") as ws:
        match_minefield_records(ws)
        stored = record_accuracy(ws)
    for doc in (memory, stored):
        doc.pop("generated_at")
        doc.pop("database")
        doc.pop("rematched")
    assert memory == stored
    assert memory["records"][0]["found_inside"] == 2 and memory["records"][0]["found_outside"] == 1
