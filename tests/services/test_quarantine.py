"""Quarantined rows go out to a file, are fixed, and come back: resolved entries link to their records."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest
from tests.conftest import DATA, GPKG_ONLY

from safeground.domain.errors import SafeGroundError
from safeground.services import records
from safeground.services.mapped_import import import_csv
from safeground.services.quarantine import export_quarantine
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS), but those marked
    GPKG_ONLY, which read the file itself."""
    return any_ws

REGISTER = DATA / "colombia_aicma" / "events_1990_2014.csv"


def sample(tmp_path: Path) -> Path:
    """Real rows around the two the register gets wrong: Bogotá at +74.23 (file line 5780) and the offshore
    Guapí seizure of 2014 (line 30757)."""
    lines = REGISTER.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "events.csv"
    path.write_text("\n".join([lines[0], *lines[5770:5790], *lines[30750:30760]]) + "\n", encoding="utf-8")
    return path


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@GPKG_ONLY
def test_fixed_rows_come_back_and_resolve_their_entries(ws: Workspace, tmp_path: Path, db_path: Path) -> None:
    first = import_csv(ws, sample(tmp_path), "colombia_aicma")
    assert (first.rows_read, first.rows_stored, first.rows_quarantined) == (30, 28, 2)
    fix = tmp_path / "fix.csv"
    assert export_quarantine(ws, fix) == 2
    rows = _read(fix)
    assert list(rows[0]) == ["year", "tipo_evento_code", "tipo_evento", "departamento", "municipio", "tipo_area",
                             "lat", "lon", "quarantine_id", "quarantine_reason"]
    bogota, guapi = rows
    assert bogota["lon"] == "74.23416667" and "km outside" in bogota["quarantine_reason"]
    bogota["lon"] = "-74.23416667"  # the sign the register lost
    with open(fix, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(bogota))
        writer.writeheader()
        writer.writerows([bogota, guapi])

    again = import_csv(ws, fix, "colombia_aicma")
    assert (again.rows_read, again.rows_stored, again.rows_quarantined, again.quarantine_resolved) == (2, 1, 1, 1)
    [still] = ws.store.quarantined()
    assert still["id"] == int(guapi["quarantine_id"]) and still["import_run"] == again.import_run
    assert still["source"] == "events.csv" and still["source_row"] == 27  # where it was in the original file
    [record] = ws.store.query("device", where={"admin2": "Bogotá DC"})
    assert record["source"] == "events.csv" and record["source_id"] == "10"  # its original file and row
    assert record["geometry"].x == pytest.approx(-74.23416667)
    with sqlite3.connect(db_path) as raw:  # resolved, never deleted, and linked to the record it became
        entries = raw.execute("SELECT id, resolved_at, resolved_layer, resolved_uuid, resolved_run FROM "
                              "safeground_quarantine ORDER BY id").fetchall()
    assert len(entries) == 2
    assert entries[0][0] == int(bogota["quarantine_id"]) and entries[0][1] is not None
    assert entries[0][2:] == ("device", record["uuid"], again.import_run)
    assert entries[1][1] is None

    with pytest.raises(SafeGroundError) as info:  # the fixed row is no longer an open entry
        import_csv(ws, fix, "colombia_aicma")
    assert info.value.code == "quarantine.unknown_entry" and info.value.hint
    assert len(ws.store.query("device", where={"admin2": "Bogotá DC"})) == 1  # nothing was imported


def test_export_never_overwrites_and_says_when_there_is_nothing(ws: Workspace, tmp_path: Path) -> None:
    assert export_quarantine(ws, tmp_path / "none.csv") == 0 and not (tmp_path / "none.csv").exists()
    import_csv(ws, sample(tmp_path), "colombia_aicma")
    (tmp_path / "taken.csv").write_text("x\n")
    with pytest.raises(SafeGroundError) as info:
        export_quarantine(ws, tmp_path / "taken.csv")
    assert info.value.code == "export.target_exists"


def test_many_bad_rows_are_found_in_one_validation_pass(ws: Workspace, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _read(REGISTER)[:2000]
    for row in rows[1::2]:  # every other longitude loses its sign: 1,000 rows land in Asia
        row["lon"] = row["lon"].lstrip("-")
    path = tmp_path / "flipped.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    calls: list[int] = []
    prepare = records.prepare
    monkeypatch.setattr(records, "prepare", lambda *a, **k: calls.append(len(a[2])) or prepare(*a, **k))
    report = import_csv(ws, path, "colombia_aicma")
    bad = sum(1 for row in rows if not row["lon"].startswith("-"))
    assert bad >= 1000 and report.rows_quarantined == bad and report.rows_stored == 2000 - bad
    assert report.quarantine_reasons == {"geometry.outside_country": bad}
    assert len(calls) == len(report.stored_by_layer)  # once per layer, not once per bad row
