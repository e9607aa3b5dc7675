"""Field submissions as ODK Central and KoBoToolbox export them become records with their photos."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import DATA, Builder

from safeground.cli import main
from safeground.domain.errors import SafeGroundError
from safeground.domain.forms import FORMS
from safeground.io.odk import geometry_from_odk
from safeground.io.xlsform import form_sheets
from safeground.services.submissions import ingest
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

PHOTO = b"\xff\xd8\xff\xe0 site photo"
FACE = b"\xff\xd8\xff\xe0 casualty photo"
CENTRAL_META = ["meta-instanceID", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
                "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion"]


def _central_columns(form: str, section: str | None) -> list[str]:
    """The columns ODK Central writes for the generated form: main questions, or one repeat's."""
    survey = form_sheets(FORMS[form], ["en"])["survey"]
    cols: list[str] = []
    inside: str | None = None
    for row in survey:
        if row["type"] == "begin_repeat":
            inside = row["name"]
            continue
        if row["type"] == "end_repeat":
            inside = None
            continue
        if inside != section:
            continue
        if row["type"] == "geopoint":
            cols += [f"{row['name']}-{p}" for p in ("Latitude", "Longitude", "Altitude", "Accuracy")]
        else:
            cols.append(row["name"])
    return cols


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in columns})
    return out.getvalue()


def central_zip(path: Path, form: str, main: list[dict[str, Any]], repeats: dict[str, list[dict[str, Any]]],
                media: dict[str, bytes]) -> Path:
    """An ODK Central "all submissions with media" export of the generated form."""
    form_id = FORMS[form].form_id
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{form_id}.csv", _csv(["SubmissionDate", *_central_columns(form, None), *CENTRAL_META], main))
        for name, rows in repeats.items():
            zf.writestr(f"{form_id}-{name}.csv", _csv([*_central_columns(form, name), "PARENT_KEY", "KEY"], rows))
        for name, data in media.items():
            zf.writestr(f"media/{name}", data)
    return path


def _accident(key: str, **kw: Any) -> dict[str, Any]:
    return {"SubmissionDate": "2026-11-20T10:00:00.000Z", "geometry-Latitude": "5.004", "geometry-Longitude": "-72.497",
            "geometry-Altitude": "410", "geometry-Accuracy": "4.5", "accident_type": "mine_erw",
            "accident_date": "2026-11-19", "activity_at_time": "farming", "description": "Stepped on a mine",
            "meta-instanceID": key, "KEY": key, **kw}


def _casualty(parent: str, n: int, **kw: Any) -> dict[str, Any]:
    return {"outcome": "injured", "status": "civilian", "sex": "female", "age": "34", "given_name": "Ana",
            "PARENT_KEY": parent, "KEY": f"{parent}/casualty[{n}]", **kw}


@pytest.fixture
def accidents(tmp_path: Path) -> Path:
    good, vocab, child = "uuid:0b4e0f5e-0001", "uuid:0b4e0f5e-0002", "uuid:0b4e0f5e-0003"
    return central_zip(
        tmp_path / "safeground_accident.zip", "accident",
        [_accident(good, photo_1="site.jpg", photo_2="lost.jpg"), _accident(vocab, accident_type="landslide"),
         _accident(child)],
        {"casualty": [_casualty(good, 1, casualty_photo_1="face.jpg"), _casualty(good, 2, outcome="killed"),
                      _casualty(child, 1), _casualty(child, 2, outcome="")]},
        {"site.jpg": PHOTO, "face.jpg": FACE})


def test_central_zip_becomes_records_photos_and_quarantine(ws: Workspace, accidents: Path) -> None:
    report = ingest(ws, accidents, "accident")
    assert report.format == "odk_central_zip"
    assert (report.submissions_read, report.submissions_stored, report.submissions_quarantined) == (3, 1, 2)
    assert report.created_by_layer == {"accident": 1, "casualty": 2}
    [acc] = ws.store.query("accident")
    assert acc["geometry"].equals(shapely.Point(-72.497, 5.004))
    assert (acc["review_state"], acc["source"], acc["source_id"]) == ("submitted", "safeground_accident",
                                                                      "uuid:0b4e0f5e-0001")
    assert acc["accident_date"] == "2026-11-19" and acc["info_date"] == "2026-11-19"
    casualties = ws.store.query("casualty", order_by="source_id")
    assert [c["outcome"] for c in casualties] == ["injured", "killed"]
    assert {c["accident"] for c in casualties} == {acc["uuid"]} and casualties[0]["age"] == 34
    assert casualties[0]["source_id"] == "uuid:0b4e0f5e-0001/casualty[1]"
    [site] = ws.store.attachments(layer="accident")
    assert site["file_name"] == "site.jpg" and ws.store.attachment_data(site["uuid"]) == PHOTO
    [face] = ws.store.attachments(layer="casualty")
    assert face["record_uuid"] == casualties[0]["uuid"] and face["personal"]
    assert report.attachments_missing == ["uuid:0b4e0f5e-0001: lost.jpg"]
    rows = {r["raw"]["KEY"]: r for r in ws.store.quarantined(import_run=report.import_run)}
    assert rows["uuid:0b4e0f5e-0002"]["code"] == "record.not_in_vocabulary"
    assert "landslide" in rows["uuid:0b4e0f5e-0002"]["reason"]
    child = rows["uuid:0b4e0f5e-0003"]
    assert child["code"] == "record.required_field" and child["reason"].startswith("casualty 2:")
    assert child["layer"] == "casualty" and child["source_row"] == 3
    assert ws.store.count("accident") == 1, "a refused submission leaves none of its records behind"


def test_ingesting_the_same_export_again_updates_instead_of_duplicating(ws: Workspace, accidents: Path,
                                                                        tmp_path: Path) -> None:
    ingest(ws, accidents, "accident")
    again = ingest(ws, accidents, "accident")
    assert again.records_created == 0 and again.records_unchanged == 3
    assert ws.store.count("accident") == 1 and ws.store.count("casualty") == 2
    assert len(ws.store.attachments()) == 2
    key = "uuid:0b4e0f5e-0001"
    later = central_zip(tmp_path / "later.zip", "accident", [_accident(key, description="Stepped on a PMN-2")],
                        {"casualty": [_casualty(key, 1), _casualty(key, 2, outcome="killed")]}, {})
    third = ingest(ws, later, "accident")
    assert (third.records_created, third.records_updated, third.records_unchanged) == (0, 1, 2)
    [acc] = ws.store.query("accident")
    assert acc["description"] == "Stepped on a PMN-2" and acc["version"] == 2


def test_nts_geoshape_becomes_a_polygon_and_evidence_links_to_its_activity(ws: Workspace, build: Builder,
                                                                           tmp_path: Path) -> None:
    hazard = build.hazard()
    key = "uuid:nts-1"
    shape = "5.001 -72.499 0 3;5.001 -72.495 0 3;5.005 -72.495 0 3;5.005 -72.499 0 3;5.001 -72.499 0 3"
    path = central_zip(
        tmp_path / "nts.zip", "nts",
        [{"geometry": shape, "hazard": hazard["ref"], "evidence_found": "no", "start_date": "2026-11-01",
          "end_date": "2026-11-02", "meta-instanceID": key, "KEY": key}],
        {"evidence": [{"kind": "indirect", "evidence_source": "verbal", "evidence_geometry-Latitude": "5.003",
                       "evidence_geometry-Longitude": "-72.497", "evidence_geometry-Altitude": "0",
                       "evidence_geometry-Accuracy": "5", "PARENT_KEY": key, "KEY": f"{key}/evidence[1]"}]}, {})
    report = ingest(ws, path, "nts")
    assert report.submissions_stored == 1, ws.store.quarantined()
    [act] = ws.store.query("activity")
    assert act["activity_type"] == "nts" and act["hazard"] == hazard["uuid"] and act["evidence_found"] is False
    assert act["geometry"].geom_type == "MultiPolygon"
    assert act["geometry"].equals(shapely.box(-72.499, 5.001, -72.495, 5.005))
    [ev] = ws.store.query("evidence")
    assert (ev["activity"], ev["hazard"]) == (act["uuid"], hazard["uuid"])
    assert ev["geometry"].equals(shapely.Point(-72.497, 5.003))


def test_central_odata_json_with_geojson_and_inline_repeats(ws: Workspace, tmp_path: Path) -> None:
    ring = [[-72.499, 5.001, 0], [-72.495, 5.001, 0], [-72.495, 5.005, 0], [-72.499, 5.001, 0]]
    doc = {"@odata.context": "https://central.example/v1/projects/1/forms/safeground_hazard_report.svc/$metadata",
           "value": [{"__id": "uuid:hr-1", "__system": {"submissionDate": "2026-11-20T10:00:00Z",
                                                        "reviewState": None},
                      "meta": {"instanceID": "uuid:hr-1"}, "name": "El Guamo", "hazard_class": "sha",
                      "status": "open", "blockages": "farming roads", "expected_returnees": 12,
                      "geometry": {"type": "Polygon", "coordinates": [ring]}, "photo_1": "marking.jpg",
                      "evidence": [{"kind": "direct", "evidence_source": "observed", "description": "PMN-2 seen",
                                    "evidence_geometry": {"type": "Point", "coordinates": [-72.497, 5.002, 0],
                                                          "properties": {"accuracy": 4}}}]}]}
    path = tmp_path / "submissions.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "marking.jpg").write_bytes(PHOTO)
    report = ingest(ws, path, "hazard_report")
    assert report.format == "odk_central_json" and report.submissions_stored == 1, ws.store.quarantined()
    [ha] = ws.store.query("hazard_area")
    assert ha["blockages"] == "farming roads" and ha["expected_returnees"] == 12 and ha["hazard_class"] == "sha"
    [ev] = ws.store.query("evidence")
    assert ev["hazard"] == ha["uuid"] and ev["source_id"] == "uuid:hr-1/evidence[1]"
    assert [a["file_name"] for a in ws.store.attachments(layer="hazard_area")] == ["marking.jpg"]


def test_kobo_json_and_csv_exports(ws: Workspace, tmp_path: Path) -> None:
    doc = {"count": 1, "next": None, "previous": None, "results": [{
        "_id": 101, "_uuid": "5a2c-kobo", "meta/instanceID": "uuid:5a2c-kobo", "formhub/uuid": "f00",
        "_submission_time": "2026-11-20T10:00:00", "geometry": "5.002 -72.498 400 5", "_geolocation": [5.002, -72.498],
        "session_date": "2026-11-18", "method": "school", "women": "10", "girls": "22", "boys": "19", "men": "4",
        "photo_1": "class.jpg", "_attachments": [{"download_url": "https://kf.kobotoolbox.org/media/original?x",
                                                  "filename": "ana/attachments/f00/5a2c-kobo/class.jpg",
                                                  "mimetype": "image/jpeg"}]}]}
    (tmp_path / "kobo.json").write_text(json.dumps(doc), encoding="utf-8")
    (tmp_path / "class.jpg").write_bytes(PHOTO)
    report = ingest(ws, tmp_path / "kobo.json", "eore_session")
    assert report.format == "kobo_json" and report.submissions_stored == 1 and report.attachments_stored == 1
    [s] = ws.store.query("eore_session")
    assert (s["women"], s["girls"], s["boys"], s["men"]) == (10, 22, 19, 4)
    assert s["geometry"].equals(shapely.Point(-72.498, 5.002)) and s["source_id"] == "uuid:5a2c-kobo"
    header = ["start", "end", "geometry", "_geometry_latitude", "_geometry_longitude", "_geometry_altitude",
              "_geometry_precision", "session_date", "method", "women", "girls", "boys", "men", "meta/instanceID",
              "_id", "_uuid", "_submission_time", "_validation_status", "_index"]
    rows = [["", "", "5.002 -72.498 400 5", "5.002", "-72.498", "400", "5", "2026-11-18", "school", "11", "22", "19",
             "4", "uuid:5a2c-kobo", "101", "5a2c-kobo", "2026-11-20T10:00:00", "", "1"],
            ["", "", "5.003 -72.497 400 5", "5.003", "-72.497", "400", "5", "2026-11-21", "digital", "1", "2", "3",
             "4", "uuid:77-kobo", "102", "77-kobo", "2026-11-21T10:00:00", "", "2"]]
    text = "\n".join(";".join(f'"{c}"' for c in r) for r in [header, *rows])  # KoBo's default ';' separator
    (tmp_path / "kobo.csv").write_text(text, encoding="utf-8")
    again = ingest(ws, tmp_path / "kobo.csv", "eore_session")
    assert again.format == "kobo_csv"
    assert (again.records_created, again.records_updated) == (1, 1), "same instance id from JSON then CSV: updated"
    assert ws.store.count("eore_session") == 2
    assert ws.store.query("eore_session", where={"source_id": "uuid:5a2c-kobo"})[0]["women"] == 11


def test_unknown_form_and_broken_files_import_nothing(ws: Workspace, accidents: Path, tmp_path: Path) -> None:
    with pytest.raises(SafeGroundError) as exc:
        ingest(ws, accidents, "minefield")
    assert exc.value.code == "forms.unknown_form"
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(SafeGroundError) as exc:
        ingest(ws, bad, "accident")
    assert exc.value.code == "io.unreadable"
    assert ws.store.count("accident") == 0 and ws.store.quarantined() == []


def test_cli_import_form(ws: Workspace, accidents: Path) -> None:
    ws.close()
    res = CliRunner().invoke(main, ["import", str(accidents), "--form", "accident", "--db", ws.store.location,
                                    "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["submissions_read"] == 3 and doc["submissions_quarantined"] == 2


@given(lat=st.floats(-89.9, 89.9), lon=st.floats(-179.9, 179.9))
def test_odk_locations_read_latitude_first(lat: float, lon: float) -> None:
    assert geometry_from_odk(f"{lat!r} {lon!r} 0 5", "POINT").equals(shapely.Point(lon, lat))
    ring = f"{lat!r} {lon!r} 0 0;{lat!r} {lon + 0.01!r} 0 0;{lat + 0.01!r} {lon!r} 0 0"
    poly = geometry_from_odk(ring, "MULTIPOLYGON")
    assert poly.exterior.coords[0] == poly.exterior.coords[-1] == (lon, lat)


def test_kobo_json_repeat_groups_become_child_records(ws: Workspace, tmp_path: Path) -> None:
    doc = {"results": [{
        "_id": 7, "_uuid": "acc-kobo", "meta/instanceID": "uuid:acc-kobo", "geometry": "5.004 -72.497 0 5",
        "accident_type": "mine_erw", "accident_date": "2026-10-02", "_attachments": [],
        "casualty": [{"casualty/outcome": "killed", "casualty/status": "civilian", "casualty/sex": "male",
                      "casualty/age_group": "child"},
                     {"casualty/outcome": "injured", "casualty/status": "civilian", "casualty/severity": "serious"}]}]}
    (tmp_path / "kobo-accidents.json").write_text(json.dumps(doc), encoding="utf-8")
    report = ingest(ws, tmp_path / "kobo-accidents.json", "accident")
    assert report.created_by_layer == {"accident": 1, "casualty": 2}
    [acc] = ws.store.query("accident")
    rows = ws.store.query("casualty", order_by="source_id")
    assert [(c["outcome"], c["age_group"], c["severity"]) for c in rows] == [("killed", "child", None),
                                                                          ("injured", None, "serious")]
    assert [c["source_id"] for c in rows] == ["uuid:acc-kobo/casualty[1]", "uuid:acc-kobo/casualty[2]"]
    assert {c["accident"] for c in rows} == {acc["uuid"]}


def test_real_register_accidents_ingest_and_a_sign_error_is_quarantined(ws: Workspace, tmp_path: Path) -> None:
    with open(DATA / "colombia_aicma" / "events_1990_2014.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["tipo_evento"].startswith("Accidente")][:200]
    bogota = {"lat": "4.197777778", "lon": "74.23416667", "departamento": "BOGOTA DC", "municipio": "Bogotá DC",
              "tipo_area": "Rural", "year": "2004"}  # the register's own sign error, as a team might send it
    main = [{"geometry-Latitude": r["lat"], "geometry-Longitude": r["lon"], "geometry-Altitude": "0",
             "geometry-Accuracy": "5", "accident_type": "mine_erw", "accident_date": f"{r['year']}-12-31",
             "area_type": "rural" if r["tipo_area"] == "Rural" else "urban", "admin1": r["departamento"],
             "admin2": r["municipio"], "meta-instanceID": f"uuid:reg-{i}", "KEY": f"uuid:reg-{i}"}
            for i, r in enumerate([*rows, bogota])]
    report = ingest(ws, central_zip(tmp_path / "register.zip", "accident", main, {}, {}), "accident")
    assert (report.submissions_read, report.submissions_stored, report.submissions_quarantined) == (201, 200, 1)
    [bad] = ws.store.quarantined(import_run=report.import_run)
    assert bad["code"] in ("geometry.outside_country", "geometry.swapped_lat_lon")
    assert bad["raw"]["KEY"] == "uuid:reg-200" and bad["source_row"] == 201
    first = ws.store.query("accident", where={"source_id": "uuid:reg-0"})[0]
    assert (first["admin1"], first["admin2"]) == (rows[0]["departamento"], rows[0]["municipio"])
    assert first["geometry"].equals(shapely.Point(float(rows[0]["lon"]), float(rows[0]["lat"])))


def test_submissions_a_reviewer_rejected_on_the_server_are_quarantined(ws: Workspace, tmp_path: Path) -> None:
    path = central_zip(tmp_path / "reviewed.zip", "accident",
                       [_accident("uuid:ok", ReviewState="approved"), _accident("uuid:no", ReviewState="rejected")],
                       {}, {})
    report = ingest(ws, path, "accident")
    assert (report.submissions_stored, report.quarantine_reasons) == (1, {"submission.rejected": 1})
    doc = {"results": [{"_uuid": "k1", "meta/instanceID": "uuid:k1", "geometry": "5.004 -72.497 0 5",
                        "accident_type": "mine_erw", "_validation_status": {"uid": "validation_status_not_approved",
                                                                            "label": "Not Approved"}}]}
    (tmp_path / "kobo.json").write_text(json.dumps(doc), encoding="utf-8")
    kobo = ingest(ws, tmp_path / "kobo.json", "accident")
    assert kobo.submissions_quarantined == 1 and ws.store.count("accident") == 1
