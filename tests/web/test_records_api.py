"""The records API over HTTP: every route, its refusals (401, 403, 404, 409, 413, 422), filters, paging, the
review workflow, attachments and the promise that a casualty's personal fields never reach a data-entry or
viewer user."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import shapely
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import DATA, HAZARD_BOX, backend_db, db_content

from safeground.domain.config import AttachmentsConfig, Config
from safeground.io.naturalearth import country_outline
from safeground.services import credentials, users
from safeground.services.records import add_record, add_records
from safeground.services.workspace import Workspace
from safeground.store.base import Batch
from safeground.web.app import create_app

PASSWORD = "a long passphrase"
#: Who signs in: role and admin areas.
PEOPLE = {"vera": ("viewer", ()), "dana": ("data_entry", ()), "quinn": ("qa", ()),
          "rita": ("data_entry", ("CO50",)), "rosa": ("qa", ("CO50",))}
#: A casualty's personal values: none may reach a data-entry or viewer user.
PERSONAL = {"given_name": "Maríafernanda", "family_name": "Quintero-Zuluaga", "contact": "+57 310 555 0199",
            "national_id": "CC1098765432", "age": 37}
ANTIOQUIA_BOX = shapely.box(-75.52, 6.50, -75.51, 6.51)


def _auth(name: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}


def _geojson(geom: shapely.Geometry) -> dict[str, Any]:
    return json.loads(shapely.to_geojson(geom))


def _build(db: str, *, max_mb: float = 25.0) -> None:
    """Colombia with Meta (and Vistahermosa in it) and Antioquia, the people above, a hazard in each
    department, and an accident in Meta with one casualty."""
    with Workspace.open(db, user="admin", create=True) as ws:
        ws.set_config(Config(country="COL", attachments=AttachmentsConfig(max_mb=max_mb)))
        add_record(ws, "admin_area", {"name": "Colombia", "level": 0, "code": "CO", "geometry": country_outline("COL")})
        add_record(ws, "admin_area", {"name": "Meta", "level": 1, "code": "CO50", "parent_code": "CO",
                                      "geometry": shapely.box(-73.0, 4.5, -72.0, 5.5)})
        add_record(ws, "admin_area", {"name": "Vistahermosa", "level": 2, "code": "CO50711", "parent_code": "CO50",
                                      "geometry": shapely.box(-72.6, 4.9, -72.4, 5.1)})
        add_record(ws, "admin_area", {"name": "Antioquia", "level": 1, "code": "CO05", "parent_code": "CO",
                                      "geometry": shapely.box(-76.0, 6.0, -75.0, 7.0)})
        for name, (role, areas) in PEOPLE.items():
            users.add_user(ws, name, role, PASSWORD, areas=areas)
        add_record(ws, "hazard_area", {"name": "La Esperanza", "hazard_class": "cha", "status": "open",
                                       "reported_date": "2023-05-01", "admin2_code": "CO50711",
                                       "geometry": HAZARD_BOX})
        add_record(ws, "hazard_area", {"name": "El Retiro", "hazard_class": "sha", "status": "open",
                                       "reported_date": "2024-02-10", "geometry": ANTIOQUIA_BOX})
        accident = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2024-01-15",
                                               "admin2_code": "CO50711", "geometry": shapely.Point(-72.495, 5.005)})
        add_record(ws, "casualty", {"accident": accident["uuid"], "outcome": "injured", "status": "civilian",
                                    "sex": "female", **PERSONAL})


@pytest.fixture()
def db(any_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The database of each backend in turn, built by ``_build``."""
    monkeypatch.setattr(credentials, "HASHER", credentials.FAST_FOR_TESTS)
    _build(any_db)
    return any_db


@pytest.fixture()
def client(db: str) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as client:
        yield client


@contextmanager
def _module_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new database of the backend ``request.param`` for a module-scoped client (side files in a folder of its
    own), with the fast password hasher while it is built."""
    folder = tmp_path_factory.mktemp(request.param)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setattr(credentials, "HASHER", credentials.FAST_FOR_TESTS)
        yield backend_db(request.param, folder, "r", request)


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def _code(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    return str(answer.json()["code"])


def _new_hazard(**kw: Any) -> dict[str, Any]:
    return {"name": "Caño Claro", "hazard_class": "sha", "status": "open", "geometry": _geojson(HAZARD_BOX), **kw}


# --- every route answers ------------------------------------------------------------------------------------
def test_every_route_of_the_records_api_is_in_the_openapi_document_with_its_operation_id(client: TestClient) -> None:
    doc = client.get("/api/openapi.json").json()
    ids = {op["operationId"] for path, item in doc["paths"].items() if path.startswith("/api/records")
           for op in item.values()}
    assert ids == {"list_records", "create_record", "get_record", "update_record", "retire_record", "review_record",
                   "record_history", "list_record_attachments", "upload_record_attachment",
                   "download_record_attachment"}


def test_create_answers_201_with_the_stored_record_its_location_and_the_user_in_the_audit(client: TestClient,
                                                                                         db: str) -> None:
    answer = client.post("/api/records/hazard_area", json=_new_hazard(marking="fenced"), headers=_auth("dana"))
    record = _ok(answer, 201)
    assert (record["ref"], record["review_state"], record["version"], record["marking"]) == \
        ("HA-000003", "submitted", 1, "fenced")
    assert record["geometry"]["type"] == "MultiPolygon"
    assert shapely.geometry.shape(record["geometry"]).equals(HAZARD_BOX)
    assert answer.headers["location"].endswith("/api/records/hazard_area/HA-000003")
    again = _ok(client.get(answer.headers["location"], headers=_auth("vera")))
    assert again == record
    with Workspace.open(db, read_only=True) as ws:
        assert ws.store.get("hazard_area", record["uuid"])["created_by"] == "dana"


def test_get_by_uuid_and_by_ref_give_the_same_record_with_iso_dates(client: TestClient) -> None:
    by_ref = _ok(client.get("/api/records/hazard_area/HA-000001", headers=_auth("vera")))
    by_uuid = _ok(client.get(f"/api/records/hazard_area/{by_ref['uuid']}", headers=_auth("vera")))
    assert by_ref == by_uuid
    assert by_ref["reported_date"] == "2023-05-01"
    assert dt.datetime.fromisoformat(by_ref["created_at"])


# --- 401 and 403 -------------------------------------------------------------------------------------------
def test_every_write_without_sign_in_is_401_with_a_challenge_and_changes_nothing(client: TestClient, db: str) -> None:
    before = db_content(db)
    writes = [client.post("/api/records/hazard_area", json=_new_hazard()),
              client.patch("/api/records/hazard_area/HA-000001", json={"version": 1, "changes": {"status": "open"}}),
              client.delete("/api/records/hazard_area/HA-000001", params={"reason": "duplicate", "version": 1}),
              client.post("/api/records/hazard_area/HA-000001/review", json={"state": "approved", "version": 1}),
              client.post("/api/records/hazard_area/HA-000001/attachments", files={"file": ("a.txt", b"x")}),
              client.get("/api/records/hazard_area/HA-000001/history"),
              client.get("/api/records/hazard_area/HA-000001/attachments")]
    for answer in writes:
        assert _code(answer, 401) == "auth.required"
        assert "Bearer" in answer.headers["www-authenticate"]
    assert db_content(db) == before


def test_a_viewer_may_read_but_not_write(client: TestClient) -> None:
    viewer = _auth("vera")
    assert _code(client.post("/api/records/hazard_area", json=_new_hazard(), headers=viewer), 403) == "auth.forbidden"
    patch = {"version": 1, "changes": {"marking": "fenced"}}
    assert _code(client.patch("/api/records/hazard_area/HA-000001", json=patch, headers=viewer), 403) == \
        "auth.forbidden"
    upload = client.post("/api/records/hazard_area/HA-000001/attachments", files={"file": ("a.txt", b"x")},
                         headers=viewer)
    assert _code(upload, 403) == "auth.forbidden"
    assert _ok(client.get("/api/records/hazard_area/HA-000001", headers=viewer))["marking"] is None


def test_data_entry_may_not_approve_retire_or_edit_an_approved_record(client: TestClient) -> None:
    dana, quinn = _auth("dana"), _auth("quinn")
    review = client.post("/api/records/hazard_area/HA-000001/review", json={"state": "approved", "version": 1},
                         headers=dana)
    assert _code(review, 403) == "auth.forbidden"
    retire = client.delete("/api/records/hazard_area/HA-000001", params={"reason": "dup", "version": 1}, headers=dana)
    assert _code(retire, 403) == "auth.forbidden"
    _ok(client.post("/api/records/hazard_area/HA-000001/review", json={"state": "approved", "version": 1},
                    headers=quinn))
    edit = client.patch("/api/records/hazard_area/HA-000001", json={"version": 2, "changes": {"marking": "fenced"}},
                        headers=dana)
    assert _code(edit, 403) == "auth.forbidden"
    assert "approved" in edit.json()["title"]
    # QA may still correct it, whatever its review state.
    fixed = client.patch("/api/records/hazard_area/HA-000001", json={"version": 2, "changes": {"marking": "fenced"}},
                         headers=quinn)
    assert (_ok(fixed)["marking"], fixed.json()["version"]) == ("fenced", 3)


def test_a_restricted_user_writes_only_in_their_areas_and_cannot_see_others(client: TestClient, db: str) -> None:
    rita = _auth("rita")  # data entry, Meta only
    inside = client.post("/api/records/hazard_area", json=_new_hazard(), headers=rita)
    assert _ok(inside, 201)["ref"] == "HA-000003"
    outside = client.post("/api/records/hazard_area", json=_new_hazard(geometry=_geojson(ANTIOQUIA_BOX)), headers=rita)
    assert _code(outside, 403) == "records.outside_area"
    assert "CO50" in outside.json()["title"]
    coded_out = client.post("/api/records/event", headers=rita, json={"event_type": "suspicious_item",
                                                                      "admin2_code": "CO05001"})
    assert _code(coded_out, 403) == "records.outside_area"
    # Moving their own record out of their areas is refused too, and leaves it where it was.
    moved = client.patch("/api/records/hazard_area/HA-000003", headers=rita,
                         json={"version": 1, "changes": {"geometry": _geojson(ANTIOQUIA_BOX)}})
    assert _code(moved, 403) == "records.outside_area"
    assert shapely.geometry.shape(_ok(client.get("/api/records/hazard_area/HA-000003", headers=rita))["geometry"]) \
        .equals(HAZARD_BOX)
    # A record in Antioquia does not exist for them: 404 on read and write, never 403.
    assert _code(client.get("/api/records/hazard_area/HA-000002", headers=rita), 404) == "record.not_found"
    patch = {"version": 1, "changes": {"marking": "fenced"}}
    assert _code(client.patch("/api/records/hazard_area/HA-000002", json=patch, headers=rita), 404) == \
        "record.not_found"
    retire = client.delete("/api/records/hazard_area/HA-000002", params={"reason": "x", "version": 1},
                           headers=_auth("rosa"))
    assert _code(retire, 404) == "record.not_found"
    with Workspace.open(db, read_only=True) as ws:
        assert ws.store.count("hazard_area") == 3
        assert ws.store.count("event") == 0


# --- 404, 409, 422 -----------------------------------------------------------------------------------------
def test_unknown_records_and_layers_are_404(client: TestClient) -> None:
    quinn = _auth("quinn")
    assert _code(client.get("/api/records/hazard_area/HA-999999", headers=quinn), 404) == "record.not_found"
    # A ref of another layer is not a hazard area.
    assert _code(client.get("/api/records/accident/HA-000001", headers=quinn), 404) == "record.not_found"
    assert _code(client.get("/api/records/minefields", headers=quinn), 404) == "record.unknown_layer"
    assert _code(client.post("/api/records/minefields", json={}, headers=quinn), 404) == "record.unknown_layer"
    assert _code(client.get("/api/records/hazard_area/HA-000001/attachments/nope.jpg", headers=quinn), 404) == \
        "attachment.not_found"
    patch = {"version": 1, "changes": {"marking": "fenced"}}
    assert _code(client.patch("/api/records/hazard_area/HA-999999", json=patch, headers=quinn), 404) == \
        "record.not_found"


def test_two_clients_editing_the_same_version_the_second_gets_409_and_the_first_change_stays(
        client: TestClient) -> None:
    first, second = _auth("dana"), _auth("quinn")
    read_by_first = _ok(client.get("/api/records/hazard_area/HA-000001", headers=first))
    read_by_second = _ok(client.get("/api/records/hazard_area/HA-000001", headers=second))
    assert read_by_first["version"] == read_by_second["version"] == 1
    saved = client.patch("/api/records/hazard_area/HA-000001", headers=first,
                         json={"version": read_by_first["version"], "changes": {"marking": "fenced"}})
    assert _ok(saved)["version"] == 2
    stale = client.patch("/api/records/hazard_area/HA-000001", headers=second,
                         json={"version": read_by_second["version"], "changes": {"marking": "unmarked"}})
    assert _code(stale, 409) == "store.version_conflict"
    assert stale.json()["details"] == {"current_version": 2, "expected_version": 1}
    now = _ok(client.get("/api/records/hazard_area/HA-000001", headers=second))
    assert (now["marking"], now["version"]) == ("fenced", 2)
    # The same holds for a retirement and a review based on a stale version.
    assert _code(client.delete("/api/records/hazard_area/HA-000001", params={"reason": "dup", "version": 1},
                               headers=second), 409) == "store.version_conflict"
    assert _code(client.post("/api/records/hazard_area/HA-000001/review", json={"state": "approved", "version": 1},
                             headers=second), 409) == "store.version_conflict"


@pytest.mark.parametrize(("body", "code"), [
    (_new_hazard(hazard_class="dangerous"), "record.not_in_vocabulary"),
    (_new_hazard(expected_returnees="many"), "record.bad_value"),
    (_new_hazard(expected_returnees=2**70), "record.bad_value"),  # beyond SQLite's 64-bit integers
    (_new_hazard(name={"text": "La Esperanza"}), "record.bad_value"),
    (_new_hazard(colour="red"), "record.unknown_field"),
    (_new_hazard(review_state="published"), "record.managed_field"),
    (_new_hazard(ref="HA-000777"), "record.managed_field"),
    ({k: v for k, v in _new_hazard().items() if k != "name"}, "record.required_field"),
    ({}, "record.required_field"),
    ({k: v for k, v in _new_hazard().items() if k != "geometry"}, "geometry.missing"),
    (_new_hazard(geometry={"type": "Polygon", "coordinates": [[[-72.5, 5.0], [-72.49, 5.0]]]}), "geometry.bad_geojson"),
    (_new_hazard(geometry={"type": "Circle", "coordinates": [-72.5, 5.0]}), "geometry.bad_geojson"),
    (_new_hazard(geometry="POINT (1 2)"), "request.invalid"),
    (_new_hazard(geometry={"type": "Point", "coordinates": [-72.5, 5.0]}), "geometry.wrong_type"),
    # A bow tie: the ring crosses itself.
    (_new_hazard(geometry={"type": "Polygon", "coordinates": [[[-72.5, 5.0], [-72.49, 5.01], [-72.49, 5.0],
                                                               [-72.5, 5.01], [-72.5, 5.0]]]}), "geometry.invalid"),
    # Latitude and longitude swapped: in the sea off Antarctica, not in Colombia.
    (_new_hazard(geometry=_geojson(shapely.box(5.0, -72.5, 5.01, -72.49))), "geometry.swapped_lat_lon"),
])
def test_bad_records_are_422_with_the_domain_code_and_nothing_is_stored(client: TestClient, db: str,
                                                                       body: dict[str, Any], code: str) -> None:
    before = db_content(db)
    assert _code(client.post("/api/records/hazard_area", json=body, headers=_auth("dana")), 422) == code
    assert db_content(db) == before


def test_bad_changes_are_422(client: TestClient) -> None:
    dana = _auth("dana")
    url = "/api/records/hazard_area/HA-000001"
    missing_version = client.patch(url, json={"changes": {"marking": "fenced"}}, headers=dana)
    assert _code(missing_version, 422) == "request.invalid"
    assert "version" in missing_version.json()["title"]
    assert _code(client.patch(url, json={"version": 1, "changes": {}}, headers=dana), 422) == "request.invalid"
    assert _code(client.patch(url, json={"version": 1, "changes": {"marking": "painted"}}, headers=dana), 422) == \
        "record.not_in_vocabulary"
    bowtie = {"type": "Polygon", "coordinates": [[[-72.5, 5.0], [-72.49, 5.01], [-72.49, 5.0], [-72.5, 5.01],
                                                  [-72.5, 5.0]]]}
    assert _code(client.patch(url, json={"version": 1, "changes": {"geometry": bowtie}}, headers=dana), 422) == \
        "geometry.invalid"
    # A confirmed hazard (CHA) does not go back to suspected (the class transition table): 409, nothing changed.
    quinn = _auth("quinn")
    assert _code(client.patch(url, json={"version": 1, "changes": {"hazard_class": "sha"}}, headers=quinn), 409) == \
        "transition.hazard_class"
    assert _ok(client.get(url, headers=quinn))["hazard_class"] == "cha"
    assert _code(client.delete(url, params={"version": 1}, headers=quinn), 422) == "request.invalid"
    assert _code(client.delete(url, params={"reason": "dup"}, headers=quinn), 422) == "request.invalid"
    assert _code(client.get("/api/records/hazard_area/not a ref", headers=quinn), 422) == "record.bad_reference"


# --- filters and paging ------------------------------------------------------------------------------------
def _refs(client: TestClient, params: dict[str, Any] | list[tuple[str, str]], user: str = "quinn",
          layer: str = "hazard_area") -> list[str]:
    page = _ok(client.get(f"/api/records/{layer}", params=params, headers=_auth(user)))
    return [r["ref"] for r in page["records"]]


def test_filters_select_by_box_date_status_admin_area_and_review_state(client: TestClient) -> None:
    assert _refs(client, {}) == ["HA-000001", "HA-000002"]
    assert _refs(client, {"bbox": "-73,4.5,-72,5.5"}) == ["HA-000001"]
    assert _refs(client, {"date_from": "2024-01-01"}) == ["HA-000002"]
    assert _refs(client, {"date_from": "2023-01-01", "date_to": "2023-12-31"}) == ["HA-000001"]
    assert _refs(client, {"admin": "CO50"}) == ["HA-000001"]  # Vistahermosa is in Meta
    assert _refs(client, [("admin", "CO50"), ("admin", "CO05")]) == ["HA-000001", "HA-000002"]
    quinn = _auth("quinn")
    _ok(client.patch("/api/records/hazard_area/HA-000002", json={"version": 1, "changes": {"status": "worked_on"}},
                     headers=quinn))
    assert _refs(client, {"status": "worked_on"}) == ["HA-000002"]
    assert _refs(client, {"status": "open,worked_on"}) == ["HA-000001", "HA-000002"]
    assert _refs(client, [("status", "open"), ("status", "worked_on")]) == ["HA-000001", "HA-000002"]
    _ok(client.post("/api/records/hazard_area/HA-000001/review", json={"state": "approved", "version": 1},
                    headers=quinn))
    assert _refs(client, {"review_state": "approved"}) == ["HA-000001"]
    assert _refs(client, {"review_state": "submitted"}) == ["HA-000002"]
    _ok(client.delete("/api/records/hazard_area/HA-000002", params={"reason": "duplicate of HA-000001", "version": 2},
                      headers=quinn))
    assert _refs(client, {}) == ["HA-000001"]
    assert _refs(client, {"include_retired": "true"}) == ["HA-000001", "HA-000002"]
    # The casualty is seen through its accident, in Vistahermosa.
    assert len(_refs(client, {"admin": "CO50711"}, layer="casualty")) == 1
    assert _refs(client, {"admin": "CO05"}, layer="casualty") == []


@pytest.mark.parametrize(("params", "code"), [
    ({"bbox": "-73,4.5,-72"}, "records.bad_bbox"), ({"bbox": "a,b,c,d"}, "records.bad_bbox"),
    ({"bbox": "-72,4.5,-73,5.5"}, "records.bad_bbox"), ({"bbox": "nan,1,2,3"}, "records.bad_bbox"),
    ({"date_from": "2024-13-01"}, "request.invalid"), ({"date_from": "2024-02-01", "date_to": "2024-01-01"},
                                                       "records.bad_dates"),
    ({"limit": 0}, "request.invalid"), ({"offset": 2**64}, "request.invalid"), ({"limit": 1001}, "request.invalid"),
    ({"offset": -1}, "request.invalid"),
    ({"admin": "XX99"}, "records.unknown_admin"),
])
def test_bad_filters_are_422_with_a_code(client: TestClient, params: dict[str, Any], code: str) -> None:
    answer = client.get("/api/records/hazard_area", params=params, headers=_auth("vera"))
    assert _code(answer, 422) == code


def _register_rows(n: int) -> list[dict[str, str]]:
    with (DATA / "colombia_aicma" / "events_1990_2014.csv").open(encoding="utf-8") as f:
        return [r for _, r in zip(range(n), csv.DictReader(f), strict=False)]


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def register_client(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The first 120 events of the real Colombia register (1990–), stored as accidents and events."""
    with _module_db(request, tmp_path_factory) as db:
        with Workspace.open(db, user="admin", create=True) as ws:
            ws.set_config(Config(country="COL"))
            users.add_user(ws, "quinn", "qa", PASSWORD)
            rows = _register_rows(120)
            add_records(ws, "event", Batch(
                {"event_type": ["landmine_accident" if r["tipo_evento_code"] == "1" else "suspicious_item"
                                for r in rows],
                 "event_date": [f"{r['year']}-07-01" for r in rows],
                 "admin1": [r["departamento"] for r in rows], "admin2": [r["municipio"] for r in rows]},
                geometry=shapely.points([(float(r["lon"]), float(r["lat"])) for r in rows])))
        with TestClient(create_app(db)) as client:
            yield client


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(3, 130))
def test_following_next_pages_through_every_record_exactly_once(register_client: TestClient, limit: int) -> None:
    url: str | None = f"/api/records/event?limit={limit}"
    seen: list[str] = []
    pages = 0
    while url is not None:
        page = _ok(register_client.get(url, headers=_auth("quinn")))
        assert page["total"] == 120 and page["limit"] == limit and len(page["records"]) <= limit
        seen += [r["uuid"] for r in page["records"]]
        url = page["next"]
        pages += 1
    assert len(seen) == len(set(seen)) == 120
    assert pages == -(-120 // limit)


def test_a_date_range_on_the_register_counts_what_the_csv_counts(register_client: TestClient) -> None:
    rows = _register_rows(120)
    expected = sum(1 for r in rows if 1991 <= int(r["year"]) <= 1992)
    page = _ok(register_client.get("/api/records/event", params={"date_from": "1991-01-01", "date_to": "1992-12-31",
                                                                 "limit": 1}, headers=_auth("quinn")))
    assert page["total"] == expected > 0
    antioquia = [r for r in rows if r["departamento"] == "ANTIOQUIA"]
    lons, lats = [float(r["lon"]) for r in antioquia], [float(r["lat"]) for r in antioquia]
    bbox = f"{min(lons)},{min(lats)},{max(lons)},{max(lats)}"
    inside = _ok(register_client.get("/api/records/event", params={"bbox": bbox, "limit": 1000},
                                     headers=_auth("quinn")))["records"]
    assert {r["admin1"] for r in inside} >= {"ANTIOQUIA"}
    assert sum(r["admin1"] == "ANTIOQUIA" for r in inside) == len(antioquia)


# --- the review workflow -----------------------------------------------------------------------------------
def test_the_review_workflow_by_qa_and_what_the_public_sees_at_each_step(client: TestClient) -> None:
    quinn = _auth("quinn")
    url = "/api/records/hazard_area/HA-000001"

    def step(state: str, version: int) -> dict[str, Any]:
        record: dict[str, Any] = _ok(client.post(f"{url}/review", json={"state": state, "version": version},
                                                 headers=quinn))
        assert (record["review_state"], record["version"]) == (state, version + 1)
        return record

    def public_refs() -> list[str]:
        return [r["ref"] for r in _ok(client.get("/api/records/hazard_area"))["records"]]

    assert public_refs() == []
    assert _code(client.get(url), 404) == "record.not_found"
    skip = client.post(f"{url}/review", json={"state": "published", "version": 1}, headers=quinn)
    assert _code(skip, 409) == "transition.review_state"
    step("approved", 1)
    assert public_refs() == []
    step("published", 2)
    assert public_refs() == ["HA-000001"]
    assert _ok(client.get(url))["review_state"] == "published"
    step("approved", 3)  # withdrawn from public outputs
    assert public_refs() == []
    step("submitted", 4)  # returned to its author
    assert _code(client.post(f"{url}/review", json={"state": "rejected", "version": 5}, headers=quinn), 422) == \
        "request.invalid"
    history = _ok(client.get(f"{url}/history", headers=quinn))
    assert (history["ref"], history["layer"]) == ("HA-000001", "hazard_area")
    reviews = [(e["actor"], e["after"].get("review_state")) for e in history["history"]
               if "review_state" in e["changed"]]
    assert reviews == [("quinn", "approved"), ("quinn", "published"), ("quinn", "approved"), ("quinn", "submitted")]


def test_retire_keeps_the_record_readable_with_its_reason_and_refuses_a_second_retirement(client: TestClient) -> None:
    quinn = _auth("quinn")
    url = "/api/records/hazard_area/HA-000002"
    retired = _ok(client.delete(url, params={"reason": "duplicate of HA-000001", "version": 1}, headers=quinn))
    assert retired["retired_reason"] == "duplicate of HA-000001" and retired["retired_at"]
    assert _ok(client.get(url, headers=quinn))["retired_at"] == retired["retired_at"]
    assert _code(client.delete(url, params={"reason": "again", "version": 2}, headers=quinn), 422) == "record.retired"
    history = _ok(client.get(f"{url}/history", headers=_auth("vera")))["history"]
    assert history[-1]["actor"] == "quinn" and "retired_reason" in history[-1]["changed"]


# --- attachments -------------------------------------------------------------------------------------------
def test_attachment_round_trip_upload_list_download_identical(client: TestClient) -> None:
    dana = _auth("dana")
    photo = bytes(range(256)) * 400  # 100 KB, every byte value
    url = "/api/records/hazard_area/HA-000001/attachments"
    up = client.post(url, files={"file": ("señal norte.jpg", photo, "image/jpeg")}, headers=dana)
    meta = _ok(up, 201)
    assert (meta["name"], meta["size"], meta["content_type"], meta["personal"], meta["created_by"]) == \
        ("señal norte.jpg", len(photo), "image/jpeg", False, "dana")
    assert up.headers["location"] == meta["href"]
    listed = _ok(client.get(url, headers=_auth("vera")))
    assert listed["ref"] == "HA-000001" and [a["uuid"] for a in listed["attachments"]] == [meta["uuid"]]
    for where in (meta["href"], f"{url}/se%C3%B1al%20norte.jpg"):
        down = client.get(where, headers=_auth("vera"))
        assert down.status_code == 200 and down.content == photo
        assert down.headers["content-type"] == "image/jpeg"
        assert down.headers["content-disposition"].startswith("attachment;")
        assert "filename*=UTF-8''se%C3%B1al%20norte.jpg" in down.headers["content-disposition"]
    history = _ok(client.get("/api/records/hazard_area/HA-000001/history", headers=dana))["history"]
    assert history[-1]["op"] == "attach" and history[-1]["actor"] == "dana"


def test_a_file_over_the_limit_is_413_and_not_stored(any_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "HASHER", credentials.FAST_FOR_TESTS)
    db = any_db
    _build(db, max_mb=0.01)  # 10,000 bytes
    client = TestClient(create_app(db))
    url = "/api/records/hazard_area/HA-000001/attachments"
    assert _ok(client.post(url, files={"file": ("ok.bin", b"x" * 10_000)}, headers=_auth("dana")), 201)
    big = client.post(url, files={"file": ("big.bin", b"x" * 10_001)}, headers=_auth("dana"))
    assert _code(big, 413) == "attachment.too_large"
    assert [a["name"] for a in _ok(client.get(url, headers=_auth("dana")))["attachments"]] == ["ok.bin"]


def test_casualty_attachments_are_personal_seen_only_by_qa(client: TestClient) -> None:
    casualty = _ok(client.get("/api/records/casualty", headers=_auth("quinn")))["records"][0]
    url = f"/api/records/casualty/{casualty['ref']}/attachments"
    meta = _ok(client.post(url, files={"file": ("id-card.png", b"\x89PNG...", "image/png")}, headers=_auth("dana")),
               201)
    assert meta["personal"] is True
    assert _ok(client.get(url, headers=_auth("dana")))["attachments"] == []
    assert _code(client.get(f"{url}/id-card.png", headers=_auth("dana")), 404) == "attachment.not_found"
    assert [a["name"] for a in _ok(client.get(url, headers=_auth("quinn")))["attachments"]] == ["id-card.png"]
    assert client.get(f"{url}/id-card.png", headers=_auth("quinn")).content == b"\x89PNG..."
    # An uploaded HTML page is served as a download, never rendered by the browser.
    _ok(client.post("/api/records/hazard_area/HA-000001/attachments", headers=_auth("dana"),
                    files={"file": ("x.html", b"<script>alert(1)</script>", "text/html")}), 201)
    down = client.get("/api/records/hazard_area/HA-000001/attachments/x.html", headers=_auth("vera"))
    assert down.headers["x-content-type-options"] == "nosniff"
    assert down.headers["content-disposition"].startswith("attachment;")


# --- personal data -----------------------------------------------------------------------------------------
def _keys(doc: Any) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(doc, dict):
        return set(doc) | {k for v in doc.values() for k in _keys(v)}
    if isinstance(doc, list):
        return {k for v in doc for k in _keys(v)}
    return set()


def test_a_casualtys_personal_fields_never_reach_a_data_entry_or_viewer_user(client: TestClient) -> None:
    dana, vera, quinn = _auth("dana"), _auth("vera"), _auth("quinn")
    accident = _ok(client.get("/api/records/accident", headers=dana))["records"][0]
    created = client.post("/api/records/casualty", headers=dana, json={
        "accident": accident["uuid"], "outcome": "killed", "status": "civilian", "given_name": "Yurley",
        "family_name": "Cárdenas", "national_id": "TI1002003004", "contact": "Vereda La Cristalina", "age": 14})
    new_ref = _ok(created, 201)["ref"]
    secrets = [str(v) for v in PERSONAL.values() if isinstance(v, str)] + ["Yurley", "Cárdenas", "TI1002003004",
                                                                          "Vereda La Cristalina"]
    changed = client.patch(f"/api/records/casualty/{new_ref}", headers=dana,
                           json={"version": 1, "changes": {"family_name": "Cárdenas Ruiz", "severity": "serious"}})
    _ok(changed)
    old_ref = _ok(client.get("/api/records/casualty", params={"limit": 1}, headers=quinn))["records"][0]["ref"]
    answers = [created, changed]
    for headers in (dana, vera):
        for ref in (old_ref, new_ref):
            answers += [client.get("/api/records/casualty", params={"include_retired": "true"}, headers=headers),
                        client.get(f"/api/records/casualty/{ref}", headers=headers),
                        client.get(f"/api/records/casualty/{ref}/history", headers=headers),
                        client.get(f"/api/records/casualty/{ref}/attachments", headers=headers)]
    for answer in answers:
        assert answer.status_code in (200, 201, 403), answer.text
        for secret in secrets:
            assert secret not in answer.text
            assert json.dumps(secret)[1:-1] not in answer.text  # nor escaped in JSON
        assert not _keys(answer.json()) & set(PERSONAL), answer.text  # the ages (numbers) by their field name
    # The viewer sees casualties only as aggregates; data entry reads them without personal fields.
    assert _code(client.get("/api/records/casualty", headers=vera), 403) == "auth.forbidden"
    record = _ok(client.get(f"/api/records/casualty/{new_ref}", headers=dana))
    assert record["severity"] == "serious" and not set(PERSONAL) & set(record)
    # QA reads them: the data was stored, not dropped.
    full = _ok(client.get(f"/api/records/casualty/{new_ref}", headers=quinn))
    assert (full["given_name"], full["family_name"], full["age"]) == ("Yurley", "Cárdenas Ruiz", 14)


# --- round trip --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def roundtrip_client(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with _module_db(request, tmp_path_factory) as db:
        with Workspace.open(db, user="admin", create=True) as ws:
            ws.set_config(Config(country="COL"))
            users.add_user(ws, "quinn", "qa", PASSWORD)
        with TestClient(create_app(db)) as client:
            yield client


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_text.filter(lambda s: s.strip() == s),
       hazard_class=st.sampled_from(["sha", "cha"]),
       marking=st.sampled_from(["unmarked", "temporary", "permanent", "fenced", "unknown", None]),
       returnees=st.none() | st.integers(0, 10**6),
       estimated=st.none() | st.floats(0, 1e7, allow_nan=False, allow_infinity=False),
       reported=st.none() | st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)),
       corner=st.tuples(st.floats(-75.0, -70.0), st.floats(2.0, 7.0)),
       size=st.floats(0.0005, 0.05))
def test_what_is_created_reads_back_the_same(roundtrip_client: TestClient, name: str, hazard_class: str,
                                            marking: str | None, returnees: int | None, estimated: float | None,
                                            reported: dt.date | None, corner: tuple[float, float],
                                            size: float) -> None:
    geometry = shapely.box(corner[0], corner[1], corner[0] + size, corner[1] + size)
    sent = {"name": name, "hazard_class": hazard_class, "status": "open", "marking": marking,
            "expected_returnees": returnees, "estimated_area_m2": estimated,
            "reported_date": reported.isoformat() if reported else None}
    created = _ok(roundtrip_client.post("/api/records/hazard_area", json={**sent, "geometry": _geojson(geometry)},
                                        headers=_auth("quinn")), 201)
    read = _ok(roundtrip_client.get(f"/api/records/hazard_area/{created['uuid']}", headers=_auth("quinn")))
    assert read == created
    assert {k: read[k] for k in sent} == sent
    # Stored as the layer's MultiPolygon, with the coordinates sent.
    assert shapely.geometry.shape(read["geometry"]).normalize().equals_exact(
        shapely.MultiPolygon([geometry]).normalize(), 1e-12)
