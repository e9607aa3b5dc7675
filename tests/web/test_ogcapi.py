"""OGC API – Features over HTTP (TestClient): landing page, conformance, collections, items with bbox, datetime
and paging, single items, the casualty collection by role, and a problem document for every error."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeground.domain.records import record_type
from safeground.services import credentials, users
from safeground.services.features import COLLECTION_LAYERS
from safeground.services.records import add_record, retire_record
from safeground.services.workspace import Workspace
from safeground.web.app import create_app

PASSWORD = "a long passphrase"
PROBLEM = "application/problem+json"
GEOJSON = "application/geo+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# An L-shaped hazard: its bounding box reaches (-72.95, 4.95) but the polygon itself does not.
L_SHAPE = shapely.Polygon([(-73.0, 4.9), (-72.9, 4.9), (-72.9, 4.92), (-72.98, 4.92), (-72.98, 5.0), (-73.0, 5.0)])
NOT_THE_L = "-72.96,4.94,-72.93,4.99"  # inside the L's bounding box, outside the L
AREA = (-72.6, 4.95, -72.4, 5.05)  # an admin area around La Esperanza (HA-000002) only


@pytest.fixture(scope="module")
def db(any_module_db: str) -> str:
    """Published hazards (one dated 2019, one 2020, one undated, one L-shaped), a submitted and a retired one,
    an accident with a casualty referred to assistance, an admin area, and a viewer, a data entry clerk, a QA
    officer and a viewer restricted to the admin area."""
    path = any_module_db  # on each backend in turn
    with pytest.MonkeyPatch.context() as mp, Workspace.open(path, user="ana", create=True) as ws:
        mp.setattr(credentials, "HASHER", credentials.FAST_FOR_TESTS)
        for name, role in (("vera", "viewer"), ("dora", "data_entry"), ("quinn", "qa")):
            users.add_user(ws, name, role, PASSWORD)

        def hazard(name: str, geometry: shapely.Geometry, day: str | None, state: str = "published") -> str:
            values = {"name": name, "hazard_class": "cha", "status": "open", "geometry": geometry,
                      "reported_date": day}
            return str(add_record(ws, "hazard_area", values, review_state=state)["ref"])

        hazard("Las Palmas", shapely.box(-73.70, 3.40, -73.69, 3.41), "2019-06-01")  # HA-000001
        hazard("La Esperanza", shapely.box(-72.50, 5.00, -72.49, 5.01), "2020-03-15")  # HA-000002
        hazard("El Alto", shapely.box(-74.10, 4.60, -74.09, 4.61), None)  # HA-000003
        hazard("La Ele", L_SHAPE, "2019-09-09")  # HA-000004
        hazard("Reported yesterday", shapely.box(-73.00, 4.00, -72.99, 4.01), "2020-01-01", "submitted")
        gone = add_record(ws, "hazard_area", {"name": "Gone", "hazard_class": "sha", "status": "open",
                                              "geometry": shapely.box(-75, 6, -74.99, 6.01)}, review_state="published")
        retire_record(ws, "hazard_area", gone["uuid"], "duplicate of HA-000001")
        accident = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2018-02-02",
                                               "geometry": shapely.Point(-73.5, 4.2)}, review_state="published")
        casualty = add_record(ws, "casualty", {"accident": accident["uuid"], "outcome": "injured",
                                               "status": "civilian", "given_name": "Maria", "family_name": "Lopez",
                                               "age": 34}, review_state="published")
        add_record(ws, "assistance_referral", {"casualty": casualty["uuid"], "service": "rehabilitation",
                                               "notes": "Maria asks for a visit at home"})
        add_record(ws, "admin_area", {"name": "Around La Esperanza", "level": 2, "code": "CO99001",
                                      "geometry": shapely.box(*AREA)})
        users.add_user(ws, "rita", "viewer", PASSWORD, areas=["CO99001"])
    return path


@pytest.fixture(scope="module")
def client(db: str) -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(credentials, "HASHER", credentials.FAST_FOR_TESTS)
        with TestClient(create_app(db)) as client:
            yield client


def basic(name: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}


def rels(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {link["rel"]: link for link in doc["links"]}


def refs(client: TestClient, query: str = "", headers: dict[str, str] | None = None,
         collection: str = "hazard_area") -> list[str]:
    answer = client.get(f"/ogc/collections/{collection}/items?limit=1000&{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    return [f["id"] for f in answer.json()["features"]]


def test_the_landing_page_links_the_api_definition_conformance_and_collections(client: TestClient) -> None:
    answer = client.get("/ogc")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    links = rels(answer.json())
    assert {"self", "service-desc", "conformance", "data"} <= set(links)
    assert links["service-desc"]["href"].endswith("/api/openapi.json")
    assert links["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    assert links["data"]["href"].endswith("/ogc/collections") and links["conformance"]["href"].endswith("/conformance")
    for rel in ("self", "conformance", "data"):
        followed = client.get(links[rel]["href"])
        assert followed.status_code == 200 and followed.headers["content-type"] == links[rel]["type"]
    assert client.get(links["service-desc"]["href"]).json()["openapi"].startswith("3.1")


def test_conformance_declares_core_and_geojson_only(client: TestClient) -> None:
    assert client.get("/ogc/conformance").json()["conformsTo"] == [
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"]


def test_the_public_collections_are_the_spatial_layers_not_about_persons(client: TestClient) -> None:
    doc = client.get("/ogc/collections").json()
    ids = [c["id"] for c in doc["collections"]]
    assert ids == [layer for layer in COLLECTION_LAYERS if record_type(layer).is_spatial]
    assert "casualty" not in ids and "assistance_referral" not in ids and "organisation" not in ids
    assert rels(doc)["self"]["href"].endswith("/ogc/collections")
    for c in doc["collections"]:
        assert (c["itemType"], c["crs"], c["title"]) == ("feature", [CRS84], record_type(c["id"]).title)
        links = rels(c)
        assert links["items"]["type"] == GEOJSON and links["items"]["href"].endswith(f"/collections/{c['id']}/items")
        assert client.get(links["self"]["href"]).json() == c


def test_a_collection_extent_is_computed_from_the_published_records(client: TestClient) -> None:
    """The submitted hazard (-73, 4) and the retired one (-75, 6) are not in the public extent."""
    c = client.get("/ogc/collections/hazard_area").json()
    (box,) = c["extent"]["spatial"]["bbox"]
    assert box == pytest.approx([-74.10, 3.40, -72.49, 5.01], abs=3e-5)
    assert c["extent"]["spatial"]["crs"] == CRS84
    assert c["extent"]["temporal"]["interval"] == [["2019-06-01", "2020-03-15"]]
    empty = client.get("/ogc/collections/device").json()["extent"]
    assert "spatial" not in empty and empty["temporal"]["interval"] == [[None, None]]


def test_items_are_a_geojson_feature_collection_of_the_published_records(client: TestClient) -> None:
    answer = client.get("/ogc/collections/hazard_area/items")
    assert answer.status_code == 200 and answer.headers["content-type"] == GEOJSON
    doc = answer.json()
    assert doc["type"] == "FeatureCollection"
    assert [f["id"] for f in doc["features"]] == ["HA-000001", "HA-000002", "HA-000003", "HA-000004"]
    assert (doc["numberMatched"], doc["numberReturned"]) == (4, 4)
    stamp = dt.datetime.fromisoformat(doc["timeStamp"])
    assert abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 60
    first = doc["features"][0]
    assert first["geometry"]["type"] == "MultiPolygon"
    assert shapely.geometry.shape(first["geometry"]).equals(shapely.box(-73.70, 3.40, -73.69, 3.41))
    assert first["properties"]["name"] == "Las Palmas" and first["properties"]["review_state"] == "published"
    assert "geometry" not in first["properties"]
    links = rels(doc)
    assert links["self"]["type"] == GEOJSON and "next" not in links and "prev" not in links


def test_a_bbox_selects_the_features_whose_geometry_meets_it_not_their_bounding_box(client: TestClient) -> None:
    assert refs(client, "bbox=-73.8,3.3,-73.6,3.5") == ["HA-000001"]
    assert refs(client, f"bbox={NOT_THE_L}") == []
    assert refs(client, "bbox=-73.0,4.9,-72.9,4.95") == ["HA-000004"]
    assert refs(client, "bbox=-73.8,3.3,-73.6,3.5").count("HA-000005") == 0
    assert refs(client, "bbox=-73.01,3.99,-72.98,4.02") == []  # the submitted hazard is not public
    answer = client.get("/ogc/collections/hazard_area/items?bbox=-80,-4,-66,13&limit=2").json()
    assert answer["numberMatched"] == 4 and "bbox=-80%2C-4%2C-66%2C13" in rels(answer)["next"]["href"]
    assert refs(client, "bbox=-80,-4,0,-66,13,100") == ["HA-000001", "HA-000002", "HA-000003", "HA-000004"]


@pytest.mark.parametrize(("value", "expected"), [
    ("2019-06-01", ["HA-000001"]),
    ("2019-06-01T23:30:00Z", ["HA-000001"]),
    ("2019-06-02T01:00:00+05:00", ["HA-000001"]),  # 2019-06-01 20:00 UTC
    ("2019-06-01/2019-12-31", ["HA-000001", "HA-000004"]),
    ("2019-06-02T00:00:00Z/2020-03-15T10:00:00Z", ["HA-000002", "HA-000004"]),
    ("../2019-12-31", ["HA-000001", "HA-000004"]),
    ("/2019-12-31", ["HA-000001", "HA-000004"]),
    ("2020-01-01/..", ["HA-000002"]),
    ("2020-01-01/", ["HA-000002"]),
    ("../..", ["HA-000001", "HA-000002", "HA-000003", "HA-000004"]),
    ("2021-01-01", []),
])
def test_datetime_instants_and_closed_and_open_intervals(client: TestClient, value: str, expected: list[str]) -> None:
    """On the event date (reported_date); the undated hazard matches only when no end is bounded."""
    assert refs(client, f"datetime={value.replace('+', '%2B')}") == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 5), bbox=st.sampled_from(["", "bbox=-80,-4,-66,13", "bbox=-74.2,3.3,-72.9,5.0"]))
def test_following_next_links_visits_every_feature_once(client: TestClient, limit: int, bbox: str) -> None:
    everything = refs(client, bbox)
    seen: list[str] = []
    url: str | None = f"/ogc/collections/hazard_area/items?limit={limit}&{bbox}"
    pages = 0
    while url is not None:
        doc = client.get(url).json()
        assert doc["numberMatched"] == len(everything) and doc["numberReturned"] == len(doc["features"]) <= limit
        links = rels(doc)
        assert ("prev" in links) == (pages > 0)
        seen += [f["id"] for f in doc["features"]]
        url = links["next"]["href"] if "next" in links else None
        pages += 1
    assert seen == everything
    assert pages == max(1, -(-len(everything) // limit))


def test_prev_links_back_and_a_limit_above_the_maximum_is_served_as_the_maximum(client: TestClient) -> None:
    second = client.get("/ogc/collections/hazard_area/items?limit=2&offset=2").json()
    assert [f["id"] for f in second["features"]] == ["HA-000003", "HA-000004"]
    first = client.get(rels(second)["prev"]["href"]).json()
    assert [f["id"] for f in first["features"]] == ["HA-000001", "HA-000002"]
    big = client.get("/ogc/collections/hazard_area/items?limit=5000")
    assert big.status_code == 200 and "limit=1000" in rels(big.json())["self"]["href"]
    assert client.get("/ogc/collections/hazard_area/items?offset=10").json()["numberReturned"] == 0


def test_an_item_by_ref_or_uuid_has_its_ref_as_id_and_links(client: TestClient) -> None:
    answer = client.get("/ogc/collections/hazard_area/items/HA-000002")
    assert answer.status_code == 200 and answer.headers["content-type"] == GEOJSON
    doc = answer.json()
    assert doc["type"] == "Feature" and doc["id"] == "HA-000002"
    links = rels(doc)
    assert links["self"]["href"].endswith("/ogc/collections/hazard_area/items/HA-000002")
    assert links["collection"]["href"].endswith("/ogc/collections/hazard_area")
    by_uuid = client.get(f"/ogc/collections/hazard_area/items/{doc['properties']['uuid']}").json()
    assert by_uuid == doc


def _casualties(client: TestClient, who: str | None) -> tuple[list[str], int, dict[str, Any] | None]:
    headers = basic(who) if who else None
    ids = [c["id"] for c in client.get("/ogc/collections", headers=headers).json()["collections"]]
    items = client.get("/ogc/collections/casualty/items", headers=headers)
    return ids, items.status_code, items.json()["features"][0] if items.status_code == 200 else items.json()


@pytest.mark.parametrize("who", [None, "vera"])
def test_the_casualty_collection_does_not_exist_for_the_public_or_a_viewer(client: TestClient, who: str | None) -> None:
    ids, status, doc = _casualties(client, who)
    assert "casualty" not in ids and "assistance_referral" not in ids and "hazard_area" in ids
    assert status == 404 and doc is not None and doc["code"] == "ogc.unknown_collection"
    headers = basic(who) if who else None
    for path in ("/ogc/collections/casualty", "/ogc/collections/casualty/items/CS-000001"):
        answer = client.get(path, headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (404, "ogc.unknown_collection")
        assert "Maria" not in answer.text


def test_casualties_are_served_at_their_accident_with_personal_fields_only_for_qa(client: TestClient) -> None:
    ids, status, entry = _casualties(client, "dora")
    assert "casualty" in ids and status == 200 and entry is not None
    assert entry["geometry"] == {"type": "Point", "coordinates": [-73.5, 4.2]}
    assert entry["id"] == "CS-000001" and entry["properties"]["outcome"] == "injured"
    assert not {"given_name", "family_name", "age"} & set(entry["properties"])
    _, _, qa = _casualties(client, "quinn")
    assert qa is not None and (qa["properties"]["given_name"], qa["properties"]["age"]) == ("Maria", 34)
    assert refs(client, "bbox=-73.6,4.1,-73.4,4.3", basic("dora"), "casualty") == ["CS-000001"]
    assert refs(client, "bbox=-73.4,4.1,-73.3,4.3", basic("dora"), "casualty") == []
    extent = client.get("/ogc/collections/casualty", headers=basic("dora")).json()["extent"]
    assert extent["spatial"]["bbox"] == [pytest.approx([-73.5, 4.2, -73.5, 4.2], abs=3e-5)]
    referral = client.get("/ogc/collections/assistance_referral/items/VR-000001", headers=basic("dora")).json()
    assert referral["geometry"] == entry["geometry"] and "notes" not in referral["properties"]
    assert "Maria" in client.get("/ogc/collections/assistance_referral/items", headers=basic("quinn")).text


def test_a_user_restricted_to_an_area_sees_its_features_and_an_extent_within_it(client: TestClient) -> None:
    rita = basic("rita")
    assert refs(client, headers=rita) == ["HA-000002"]
    assert client.get("/ogc/collections/hazard_area/items/HA-000001", headers=rita).status_code == 404
    (box,) = client.get("/ogc/collections/hazard_area", headers=rita).json()["extent"]["spatial"]["bbox"]
    assert shapely.box(*AREA).buffer(1e-6).contains(shapely.box(*box))
    assert shapely.box(*box).buffer(1e-6).contains(shapely.box(-72.50, 5.00, -72.49, 5.01))


@pytest.mark.parametrize(("url", "status", "code"), [
    ("/ogc/collections/minefields", 404, "ogc.unknown_collection"),
    ("/ogc/collections/organisation/items", 404, "ogc.unknown_collection"),  # no geometry: not a collection
    ("/ogc/collections/hazard_area/items/HA-000099", 404, "record.not_found"),
    ("/ogc/collections/hazard_area/items/HA-000005", 404, "record.not_found"),  # submitted: not public
    ("/ogc/collections/hazard_area/items/HA-000006", 404, "record.not_found"),  # retired
    ("/ogc/collections/accident/items/HA-000001", 404, "record.not_found"),  # another collection's
    ("/ogc/collections/hazard_area/items/AX-000001", 404, "record.not_found"),
    ("/ogc/collections/hazard_area/items/not-a-ref", 404, "record.not_found"),
    ("/ogc/collections/hazard_area/items?bbox=1,2,3", 400, "ogc.bad_bbox"),
    ("/ogc/collections/hazard_area/items?bbox=a,b,c,d", 400, "ogc.bad_bbox"),
    ("/ogc/collections/hazard_area/items?bbox=-73,5,-74,6", 400, "ogc.bad_bbox"),  # crosses the antimeridian
    ("/ogc/collections/hazard_area/items?bbox=-73,95,-72,96", 400, "ogc.bad_bbox"),
    ("/ogc/collections/hazard_area/items?bbox=-73,nan,-72,5", 400, "ogc.bad_bbox"),
    ("/ogc/collections/hazard_area/items?datetime=yesterday", 400, "ogc.bad_datetime"),
    ("/ogc/collections/hazard_area/items?datetime=2020-13-01", 400, "ogc.bad_datetime"),
    ("/ogc/collections/hazard_area/items?datetime=2021-01-01/2020-01-01", 400, "ogc.bad_datetime"),
    ("/ogc/collections/hazard_area/items?datetime=2020-01-01/2020-02-01/2020-03-01", 400, "ogc.bad_datetime"),
    ("/ogc/collections/hazard_area/items?limit=0", 400, "ogc.bad_limit"),
    ("/ogc/collections/hazard_area/items?limit=ten", 400, "ogc.bad_limit"),
    ("/ogc/collections/hazard_area/items?offset=-1", 400, "ogc.bad_limit"),
    ("/ogc/collections/hazard_area/items?bbbox=-74,3,-73,4", 400, "ogc.unknown_parameter"),
    ("/ogc/collections?limit=3", 400, "ogc.unknown_parameter"),
    ("/ogc?f=html", 400, "ogc.bad_format"),
])
def test_every_error_is_a_problem_document_with_its_code(client: TestClient, url: str, status: int,
                                                          code: str) -> None:
    answer = client.get(url)
    assert (answer.status_code, answer.headers["content-type"], answer.json()["code"]) == (status, PROBLEM, code)
    assert answer.json()["hint"]


def test_f_json_is_accepted_and_the_operation_ids_are_the_handler_names(client: TestClient) -> None:
    assert client.get("/ogc/collections/hazard_area/items?f=json").json()["numberMatched"] == 4
    spec = client.get("/api/openapi.json").json()
    ids = {op["operationId"] for path, ops in spec["paths"].items() if path.startswith("/ogc") for op in ops.values()}
    assert ids == {"ogc_landing", "ogc_conformance", "ogc_collections", "ogc_collection", "ogc_items", "ogc_item"}


def test_an_edit_shows_in_the_next_extent_and_items(any_db: str) -> None:
    """Extents are kept between requests until the audit log moves: publishing a hazard far away widens the
    collection's extent and the items at once, and retiring it narrows them again."""
    db = any_db
    with Workspace.open(db, user="ana", create=True) as ws:
        add_record(ws, "hazard_area", {"name": "Las Palmas", "hazard_class": "cha", "status": "open",
                                       "geometry": shapely.box(-73.70, 3.40, -73.69, 3.41)}, review_state="published")
    client = TestClient(create_app(db))

    def extent() -> list[float]:
        return client.get("/ogc/collections/hazard_area").json()["extent"]["spatial"]["bbox"][0]

    assert extent() == pytest.approx([-73.70, 3.40, -73.69, 3.41], abs=3e-5)
    whole = "bbox=-80,-5,-60,13"
    assert refs(client, whole) == ["HA-000001"]
    with Workspace.open(db, user="ana") as ws:
        far = add_record(ws, "hazard_area", {"name": "Far", "hazard_class": "sha", "status": "open",
                                             "geometry": shapely.box(-70.0, 10.0, -69.9, 10.1)},
                         review_state="published")
    assert extent() == pytest.approx([-73.70, 3.40, -69.9, 10.1], abs=3e-5)
    assert refs(client, whole) == ["HA-000001", "HA-000002"]
    assert refs(client, "bbox=-70.05,9.95,-69.95,10.05") == ["HA-000002"]
    with Workspace.open(db, user="ana") as ws:
        retire_record(ws, "hazard_area", far["uuid"], "entered twice")
    assert extent() == pytest.approx([-73.70, 3.40, -73.69, 3.41], abs=3e-5)
    assert refs(client, whole) == ["HA-000001"]
