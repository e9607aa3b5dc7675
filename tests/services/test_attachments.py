"""Attachments: kept inside the one database file, idempotent, size-limited, retired not deleted."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import GPKG_ONLY, Builder

from safeground.cli import main
from safeground.domain.config import Config
from safeground.domain.errors import SafeGroundError
from safeground.services import attachments as att
from safeground.services.records import add_record
from safeground.services.transfer import export_layer, import_file
from safeground.services.workspace import Workspace
from safeground.store.base import Batch


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS), but those marked
    GPKG_ONLY, which read the file itself."""
    return any_ws

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4


@GPKG_ONLY
def test_a_photo_is_stored_inside_the_geopackage_with_its_record(ws: Workspace, build: Builder,
                                                                  tmp_path: Path, db_path: Path) -> None:
    hazard = build.hazard()
    photo = tmp_path / "marking.jpg"
    photo.write_bytes(JPEG)
    a = att.attach(ws, hazard["ref"], photo)
    assert (a["layer"], a["record_uuid"], a["file_name"]) == ("hazard_area", hazard["uuid"], "marking.jpg")
    assert a["content_type"] == "image/jpeg" and a["size"] == len(JPEG)
    assert a["sha256"] == hashlib.sha256(JPEG).hexdigest() and a["created_by"] == "ana"
    ws.close()
    photo.unlink()
    raw = sqlite3.connect(db_path)  # the file alone holds it, laid out as the Related Tables Extension says
    rel = raw.execute("SELECT base_table_name, base_primary_column, related_table_name, relation_name, "
                      "mapping_table_name FROM gpkgext_relations").fetchall()
    assert rel == [("hazard_area", "fid", "safeground_attachment", "media", "safeground_attachment_hazard_area")]
    [(data, kind)] = raw.execute("SELECT m.data, m.content_type FROM safeground_attachment_hazard_area r "
                                 "JOIN safeground_attachment m ON m.id = r.related_id JOIN hazard_area h "
                                 "ON h.fid = r.base_id WHERE h.uuid = ?", (hazard["uuid"],)).fetchall()
    assert data == JPEG and kind == "image/jpeg"
    registered = {r[0] for r in raw.execute("SELECT table_name FROM gpkg_extensions WHERE extension_name = "
                                            "'gpkg_related_tables'")}
    assert registered == {"gpkgext_relations", "safeground_attachment_hazard_area"}
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        raw.execute("DELETE FROM safeground_attachment")
    raw.close()
    again = Workspace.open(db_path, user="ben")
    assert again.store.attachment_data(a["uuid"]) == JPEG
    again.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=5000), name=st.from_regex(r"[a-z]{1,12}\.(jpg|png|pdf|txt)",
                                                                     fullmatch=True))
def test_any_bytes_come_back_exactly_and_attaching_twice_keeps_one(ws: Workspace, data: bytes, name: str) -> None:
    org = add_record(ws, "organisation", {"name": "HALO"})
    first = att.attach_bytes(ws, "organisation", org["uuid"], name, data)
    second = att.attach_bytes(ws, "organisation", org["uuid"], name, data)
    assert first["uuid"] == second["uuid"]
    assert ws.store.attachment_data(first["uuid"]) == data
    assert len(ws.store.attachments(record_uuids=[org["uuid"]])) == 1


def test_too_large_files_are_refused_and_nothing_is_kept(ws: Workspace, build: Builder, tmp_path: Path) -> None:
    ws.set_config(Config(country="COL", attachments={"max_mb": 0.001}))  # type: ignore[arg-type]
    hazard = build.hazard()
    big = tmp_path / "scan.tif"
    big.write_bytes(b"x" * 1500)
    with pytest.raises(SafeGroundError) as exc:
        att.attach(ws, hazard["uuid"], big)
    assert exc.value.code == "attachment.too_large" and "0.001 MB" in exc.value.message
    assert ws.store.attachments() == []


def test_casualty_photos_are_personal_and_retiring_keeps_the_file(ws: Workspace) -> None:
    accident = add_record(ws, "accident", {"accident_type": "mine_erw", "geometry": None})
    casualty = add_record(ws, "casualty", {"accident": accident["uuid"], "outcome": "injured", "status": "civilian"})
    a = att.attach_bytes(ws, "casualty", casualty["uuid"], "injury.jpg", JPEG)
    assert a["personal"] is True
    assert att.attach_bytes(ws, "accident", accident["uuid"], "site.jpg", JPEG)["personal"] is False
    retired = att.retire_attachment(ws, casualty["ref"], "injury.jpg", "consent withdrawn")
    assert retired["retired_reason"] == "consent withdrawn" and retired["retired_by"] == "ana"
    assert ws.store.attachments(layer="casualty") == []
    assert ws.store.attachment_data(a["uuid"]) == JPEG, "retired, never deleted"
    changes = list(ws.store.changes_since(0))
    log = [(c.op, c.after["file_name"]) for c in changes if c.uuid == casualty["uuid"] and "attach" in c.op]
    assert log == [("attach", "injury.jpg"), ("retire_attachment", "injury.jpg")], "the record's history names them"


def test_unknown_references_say_what_is_wrong(ws: Workspace) -> None:
    with pytest.raises(SafeGroundError) as exc:
        att.find_record(ws, "HA-000999")
    assert exc.value.code == "record.not_found"
    with pytest.raises(SafeGroundError) as exc:
        att.find_record(ws, "the big field")
    assert exc.value.code == "record.bad_reference"


@GPKG_ONLY
def test_cli_attach_list_and_extract(ws: Workspace, build: Builder, db_path: Path, tmp_path: Path) -> None:
    hazard = build.hazard()
    ws.close()
    sketch = tmp_path / "sketch.png"
    sketch.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    runner = CliRunner()
    res = runner.invoke(main, ["attach", hazard["ref"], str(sketch), "--db", str(db_path), "--user", "ana"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["attachments", hazard["ref"], "--db", str(db_path), "--extract",
                               str(tmp_path / "out"), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert [a["file_name"] for a in doc["attachments"]] == ["sketch.png"]
    assert (tmp_path / "out" / "sketch.png").read_bytes() == sketch.read_bytes()
    res = runner.invoke(main, ["attachments", hazard["ref"], "--db", str(db_path), "--extract", str(tmp_path / "out")])
    assert res.exit_code == 1 and "export.target_exists" in res.output


def _fresh(tmp_path: Path, name: str) -> Workspace:
    other = Workspace.open(tmp_path / name, user="ben", create=True)
    other.set_config(Config(country="COL"))
    return other


def test_geopackage_export_carries_attachments_and_a_reimport_restores_them(ws: Workspace, build: Builder,
                                                                           tmp_path: Path) -> None:
    hazard = build.hazard()
    build.hazard(name="Sin fotos", geometry=shapely.box(-72.48, 5.0, -72.47, 5.01))
    att.attach_bytes(ws, "hazard_area", hazard["uuid"], "marking.jpg", JPEG)
    att.attach_bytes(ws, "hazard_area", hazard["uuid"], "minefield-record.pdf", b"%PDF scan")
    target = tmp_path / "hazards.gpkg"
    assert export_layer(ws, "hazard_area", target) == 2
    assert len(pyogrio.read_dataframe(target, layer="hazard_area")) == 2, "GDAL still reads the export"
    raw = sqlite3.connect(target)
    assert raw.execute("SELECT relation_name, mapping_table_name FROM gpkgext_relations").fetchall() == \
        [("media", "safeground_attachment_hazard_area")]
    raw.close()
    other = _fresh(tmp_path, "other.gpkg")
    report = import_file(other, target, "hazard_area")
    assert report.attachments == 2 and "attachments" not in report.ignored_columns
    back = other.store.attachments(record_uuids=[hazard["uuid"]])  # the uuid travels with the record
    assert sorted(a["file_name"] for a in back) == ["marking.jpg", "minefield-record.pdf"]
    assert {other.store.attachment_data(a["uuid"]) for a in back} == {JPEG, b"%PDF scan"}
    other.close()


@pytest.mark.parametrize("suffix", [".geojson", ".csv", ".shp.zip", ".fgb", ".kml"])
def test_other_formats_write_a_sibling_folder_that_a_reimport_restores(ws: Workspace, build: Builder,
                                                                       tmp_path: Path, suffix: str) -> None:
    hazard = build.hazard()
    plain = build.hazard(name="Sin fotos", geometry=shapely.box(-72.48, 5.0, -72.47, 5.01))
    att.attach_bytes(ws, "hazard_area", hazard["uuid"], "marking.jpg", JPEG)
    target = tmp_path / f"hazards{suffix}"
    export_layer(ws, "hazard_area", target)
    folder = tmp_path / "hazards_attachments"
    assert (folder / hazard["ref"] / "marking.jpg").read_bytes() == JPEG
    other = _fresh(tmp_path, "other.gpkg")
    report = import_file(other, target, "hazard_area")
    assert report.attachments == 1
    [back] = other.store.attachments()
    assert back["record_uuid"] == hazard["uuid"] and other.store.attachment_data(back["uuid"]) == JPEG
    assert other.store.attachments(record_uuids=[plain["uuid"]]) == []
    other.close()
    (folder / hazard["ref"] / "marking.jpg").unlink()
    third = _fresh(tmp_path, "third.gpkg")
    with pytest.raises(SafeGroundError) as exc:
        import_file(third, target, "hazard_area")
    assert exc.value.code == "attachment.missing_file"
    assert third.store.count("hazard_area") == 0, "all or nothing"
    third.close()


def test_casualty_photos_leave_only_with_personal_data(ws: Workspace, tmp_path: Path) -> None:
    accident = add_record(ws, "accident", {"accident_type": "mine_erw", "geometry": None})
    casualty = add_record(ws, "casualty", {"accident": accident["uuid"], "outcome": "injured", "status": "civilian"})
    att.attach_bytes(ws, "casualty", casualty["uuid"], "injury.jpg", JPEG)
    export_layer(ws, "casualty", tmp_path / "public.csv")
    assert not (tmp_path / "public_attachments").exists()
    assert "attachments" not in (tmp_path / "public.csv").read_text().splitlines()[0]
    export_layer(ws, "casualty", tmp_path / "public.gpkg")
    raw = sqlite3.connect(tmp_path / "public.gpkg")
    assert "safeground_attachment" not in {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
    raw.close()
    export_layer(ws, "casualty", tmp_path / "internal.csv", include_personal=True)
    assert (tmp_path / "internal_attachments" / casualty["ref"] / "injury.jpg").read_bytes() == JPEG


def test_a_schema_3_database_gains_the_attachment_table_on_open(tmp_path: Path) -> None:
    from safeground.store import open_store
    from safeground.store.migrations import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "old.gpkg"
    raw = sqlite3.connect(path)
    with raw:
        for number, _desc, fn in MIGRATIONS[:3]:
            fn(raw)
            raw.execute("INSERT OR REPLACE INTO safeground_meta VALUES ('schema_version', ?)", (str(number),))
    raw.close()
    with open_store(path) as store:
        assert store.schema_version == SCHEMA_VERSION >= 4
        org = store.insert("organisation", Batch({"name": ["HALO"]}), user="ana")[0]
        a = store.add_attachment("organisation", org, "logo.png", "image/png", b"png", user="ana")
        assert store.attachment_data(a["uuid"]) == b"png"
