"""Backup and restore on both backends: a demo restored into an empty database gives an identical full export;
a restore refuses a database that is not empty, and a file that is not a backup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from safeground.cli import main
from safeground.domain.errors import SafeGroundError, StoreError
from safeground.services.backup import full_export, restore_backup
from safeground.services.demo import build_demo
from safeground.services.workspace import Workspace
from safeground.store import open_store
from safeground.store.base import Batch


@pytest.fixture
def empty_target(any_db: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of the same backend as ``any_db``."""
    if any_db.startswith("postgresql://"):
        return str(request.getfixturevalue("pg_empty_url"))
    return str(tmp_path / "restored.gpkg")


def _backup_name(db: str, tmp_path: Path) -> Path:
    return tmp_path / ("backup.dump" if db.startswith("postgresql://") else "backup.gpkg")


def test_a_demo_restored_into_an_empty_database_exports_identically(any_db: str, empty_target: str,
                                                                   tmp_path: Path) -> None:
    with Workspace.open(any_db, user="ana", create=True) as ws:
        build_demo(ws, scale="small", seed=3)
        [hazard] = ws.store.query("hazard_area", limit=1)
        ws.store.update("hazard_area", hazard["uuid"], {"name": "Renamed after the demo"}, user="bo")
        ws.store.retire("hazard_area", hazard["uuid"], "duplicate of another", user="bo")
        ws.store.add_attachment("hazard_area", hazard["uuid"], "sketch.png", "image/png", b"\x89PNG...", user="ana")
        ws.store.add_user({"username": "eva", "display_name": "Eva", "role": "data_entry", "password_hash": "x",
                           "areas": ["05"]}, user="ana")
        ws.store.write_import_run({"id": "run-1", "layer": "event", "source": "events.csv", "format": "csv",
                                   "started_at": "2026-11-28T10:00:00.000Z", "user": "ana", "rows_read": 2,
                                   "rows_stored": 1, "rows_quarantined": 1, "status": "done",
                                   "report": {"quarantined": [{"row": 2, "code": "record.required_field"}]}})
        backup = _backup_name(any_db, tmp_path)
        ws.store.backup(str(backup))
        expected = full_export(ws.store)
    assert expected["import_runs"][0]["report"]["quarantined"][0]["row"] == 2
    assert len(expected["layers"]["hazard_area"]) > 50 and len(expected["audit"]) > 1000

    done = restore_backup(backup, empty_target)
    assert done["records"] == sum(len(rows) for rows in expected["layers"].values())
    with open_store(empty_target) as copy:
        got = full_export(copy)
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    # Restored, it goes on: the next record continues the refs and the audit log.
    with open_store(empty_target) as copy:
        [new] = copy.insert("organisation", copy_batch(), user="ana")
        assert copy.get("organisation", new)["ref"] == \
            f"OR-{len(expected['layers']['organisation']) + 1:06d}"
        [after] = copy.changes_since(expected["audit"][-1]["seq"])
        assert after.uuid == new and after.op == "insert"


def copy_batch() -> Batch:
    """One organisation."""
    return Batch({"name": ["After the restore"]})


def test_a_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(any_db: str, tmp_path: Path) -> None:
    with open_store(any_db, create=True) as store:
        store.insert("organisation", copy_batch(), user="ana")
        backup = _backup_name(any_db, tmp_path)
        store.backup(str(backup))
        before = full_export(store)
    with pytest.raises(StoreError) as info:
        restore_backup(backup, any_db)
    assert info.value.code == "restore.target_not_empty" and "empty" in info.value.hint
    with open_store(any_db) as store:
        assert full_export(store) == before


def test_a_restore_refuses_what_is_not_a_backup_of_its_kind(tmp_path: Path, pg_empty_url: str) -> None:
    gpkg = tmp_path / "a.gpkg"
    open_store(gpkg, create=True).close()
    text = tmp_path / "notes.txt"
    text.write_text("not a backup")
    for backup, target, code in ((text, tmp_path / "b.gpkg", "restore.not_a_backup"),
                                 (gpkg, pg_empty_url, "restore.wrong_backend"),
                                 (tmp_path / "missing.gpkg", tmp_path / "c.gpkg", "restore.not_found")):
        with pytest.raises(SafeGroundError) as info:
            restore_backup(backup, target)
        assert info.value.code == code
    assert not (tmp_path / "b.gpkg").exists()


def test_the_restore_command_says_what_it_restored(tmp_path: Path) -> None:
    db = tmp_path / "a.gpkg"
    with open_store(db, create=True) as store:
        store.insert("organisation", copy_batch(), user="ana")
    runner = CliRunner()
    assert runner.invoke(main, ["backup", "--db", str(db), "--to", str(tmp_path / "b.gpkg")]).exit_code == 0
    result = runner.invoke(main, ["restore", str(tmp_path / "b.gpkg"), "--db", str(tmp_path / "c.gpkg"),
                                  "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["records"] == 1
    again = runner.invoke(main, ["restore", str(tmp_path / "b.gpkg"), "--db", str(tmp_path / "c.gpkg")])
    assert again.exit_code == 1 and "restore.target_not_empty" in again.output
