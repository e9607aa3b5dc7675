"""The public view over HTTP (no sign-in), its rate limit, the signed-in batch safety check and the shared state.

Most tests run on the small demo (a seeded region with hazards, settlements and casualties with names), built once.
"""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from tests.conftest import backend_of, copy_db
from tests.web.serving import served

from safeground.domain.records import record_type
from safeground.services import safety, tiles, users
from safeground.services.demo import build_demo
from safeground.services.public_hazards import PUBLIC_FIELDS
from safeground.services.records import add_record, retire_record
from safeground.services.workspace import Workspace
from safeground.web.app import create_app
from safeground.web.routes.safety_batch import MAX_POINTS

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def demo_source(any_module_db: str) -> tuple[str, str]:
    """The small demo with one viewer and their API token, on each backend in turn."""
    db = any_module_db
    with Workspace.open(db, user="admin", create=True) as ws:
        build_demo(ws, scale="small", seed=1)
        users.add_user(ws, "vera", "viewer", None)
        token, _ = users.create_token(ws, "vera")
    return db, token


@pytest.fixture(scope="module")
def demo(demo_source: tuple[str, str], request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The demo the tests that only read share: on a server a copy, so that nobody is connected to the source
    while ``db`` copies it."""
    source, token = demo_source
    if backend_of(source) == "gpkg":
        return source, token
    return copy_db(source, tmp_path_factory.mktemp("shared"), request), token


@pytest.fixture()
def db(demo_source: tuple[str, str], tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A private copy of the demo, for tests that edit it."""
    return copy_db(demo_source[0], tmp_path, request)


@pytest.fixture()
def client(demo: tuple[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(demo[0], rate_limit=None)) as c:
        yield c


@pytest.fixture()
def bearer(demo: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo[1]}"}


def index_of(db: str) -> safety.SafetyIndex:
    with Workspace.open(db, read_only=True) as ws:
        return safety.safety_index(ws)


def grid(db: str, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Points (lat, lon): a grid over the public polygons' extent and a little beyond, and for each polygon a point
    inside it and one about 40 m east of its easternmost vertex (inside, within and clear all occur)."""
    public = index_of(db).hazards.geometry
    minx, miny, maxx, maxy = shapely.total_bounds(public)
    lon, lat = np.meshgrid(np.linspace(minx - 0.01, maxx + 0.01, n), np.linspace(miny - 0.01, maxy + 0.01, n))
    inner = shapely.get_coordinates(shapely.point_on_surface(public))
    east = np.array([max(shapely.get_coordinates(g), key=lambda xy: xy[0]) for g in public])
    east[:, 0] += 0.0004
    xy = np.vstack([np.column_stack([lon.ravel(), lat.ravel()]), inner, east])
    return xy[:, 1], xy[:, 0]


def test_safety_point_says_inside_within_or_clear_with_the_caveat(client: TestClient, demo: tuple[str, str],
                                                                   bearer: dict[str, str]) -> None:
    lat, lon = grid(demo[0])
    batch = client.post("/api/safety/batch", headers=bearer, json={"lat": lat.tolist(), "lon": lon.tolist()}).json()
    seen = set()
    for code in (safety.INSIDE, safety.WITHIN, safety.CLEAR):
        i = batch["class"].index(code)  # the grid holds all three
        answer = client.get("/api/public/safety", params={"lat": lat[i], "lon": lon[i]})
        assert answer.status_code == 200
        doc = answer.json()
        assert doc["result"] == safety.CLASSES[code] and doc["caveat"] == safety.CAVEAT
        assert doc["nearest_hazard"].startswith("HA-")
        if code == safety.CLEAR:
            assert doc["nearest_hazard_m"] > 100 and doc["hazards"] == []
        else:
            assert doc["nearest_hazard_m"] == pytest.approx(batch["distance"][i], abs=0.01)
            assert doc["hazards"][0]["ref"] == doc["nearest_hazard"]
        seen.add(doc["result"])
    assert seen == {"inside", "within", "clear"}
    wide = client.get("/api/public/safety", params={"lat": lat[i], "lon": lon[i], "distance": 50_000}).json()
    assert wide["result"] == "within" and wide["distance_m"] == 50_000


def test_safety_post_checks_a_route_and_an_area(client: TestClient, demo: tuple[str, str]) -> None:
    public = index_of(demo[0]).hazards
    inner = public.geometry[0].representative_point()
    route = {"type": "LineString", "coordinates": [[inner.x - 0.02, inner.y], [inner.x + 0.02, inner.y]]}
    doc = client.post("/api/public/safety", json=route).json()
    assert doc["result"] == "inside" and public.refs[0] in [h["ref"] for h in doc["hazards"]]
    feature = {"type": "Feature", "properties": {"name": "path to school"}, "geometry": route}
    assert client.post("/api/public/safety", json=feature).json() == doc
    far = shapely.box(-60.0, -10.0, -59.99, -9.99)
    area = client.post("/api/public/safety", params={"distance": 10}, json=shapely.geometry.mapping(far)).json()
    assert (area["result"], area["hazards"], area["distance_m"]) == ("clear", [], 10)


@pytest.mark.parametrize(("method", "params", "body", "code"), [
    ("GET", {"lat": 91, "lon": -72}, None, "request.invalid"),
    ("GET", {"lat": "north", "lon": -72}, None, "request.invalid"),
    ("GET", {"lat": 5}, None, "request.invalid"),
    ("GET", {"lat": 5, "lon": -72, "distance": -1}, None, "request.invalid"),
    ("POST", {}, {"type": "Circle", "coordinates": [1, 2]}, "safety.unsupported_geometry"),
    ("POST", {}, {"type": "LineString", "coordinates": [[200, 5], [201, 5]]}, "safety.bad_coordinates"),
    ("POST", {}, {"type": "LineString", "coordinates": [[-72]]}, "safety.bad_geometry"),
    ("POST", {}, {"type": "Polygon", "coordinates": []}, "safety.bad_geometry"),
    ("POST", {"distance": 1e9}, {"type": "Point", "coordinates": [-72, 5]}, "request.invalid"),
])
def test_bad_coordinates_and_geometries_are_422_with_a_hint(client: TestClient, method: str, params: dict[str, Any],
                                                            body: Any, code: str) -> None:
    answer = client.request(method, "/api/public/safety", params=params, json=body)
    assert (answer.status_code, answer.headers["content-type"]) == (422, PROBLEM)
    assert answer.json()["code"] == code and answer.json()["hint"]


def test_public_hazards_page_through_every_public_polygon_and_filter_by_box(client: TestClient,
                                                                           demo: tuple[str, str]) -> None:
    public = index_of(demo[0]).hazards
    refs: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = client.get("/api/public/hazards", params={"limit": 7, "offset": offset}).json()
        assert page["type"] == "FeatureCollection" and page["numberMatched"] == len(public)
        assert page["numberReturned"] == len(page["features"]) <= 7
        refs += [f["id"] for f in page["features"]]
        assert all(set(f["properties"]) == set(PUBLIC_FIELDS) for f in page["features"])
        offset = page["next_offset"]
    assert refs == public.refs, "every public polygon once, in ref order"
    first = shapely.geometry.shape(client.get("/api/public/hazards", params={"limit": 1}).json()["features"][0]
                                   ["geometry"])
    assert first.equals_exact(public.geometry[0], 1e-12)
    minx, miny, maxx, maxy = shapely.total_bounds(public.geometry)
    box = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    inside = client.get("/api/public/hazards", params={"bbox": ",".join(map(str, box)), "limit": 5000}).json()
    expected = [r for r, g in zip(public.refs, public.geometry, strict=True) if g.intersects(shapely.box(*box))]
    assert [f["id"] for f in inside["features"]] == expected and 0 < len(expected) < len(public)


@pytest.mark.parametrize(("params", "code"), [({"bbox": "1,2,3"}, "public.bad_bbox"),
                                              ({"bbox": "10,5,-10,6"}, "public.bad_bbox"),
                                              ({"bbox": "a,b,c,d"}, "public.bad_bbox"),
                                              ({"limit": 100_000}, "request.invalid"),
                                              ({"offset": -1}, "request.invalid")])
def test_public_hazards_refuse_a_bad_box_or_page(client: TestClient, params: dict[str, Any], code: str) -> None:
    answer = client.get("/api/public/hazards", params=params)
    assert (answer.status_code, answer.json()["code"]) == (422, code)


def test_settlements_and_casualty_figures(client: TestClient, demo: tuple[str, str]) -> None:
    doc = client.get("/api/public/settlements").json()
    with Workspace.open(demo[0], read_only=True) as ws:
        settlements = ws.store.query("priority_target", where={"kind": "settlement"}, geometry=False)
    assert [s["ref"] for s in doc["settlements"]] == sorted(s["ref"] for s in settlements)
    assert {s["status"] for s in doc["settlements"]} <= {"released", "partly_released", "blocked"}
    for level in ("adm1", "adm2"):
        figures = client.get("/api/public/casualties", params={"level": level, "period": "year"}).json()
        assert figures["cells"], "the demo has casualties"
        numbers = [c["people"] for c in figures["cells"] + figures["areas"] if isinstance(c["people"], int)]
        assert all(n >= 5 for n in numbers), "no count under 5 is ever published"
    answer = client.get("/api/public/casualties", params={"level": "village"})
    assert (answer.status_code, answer.json()["code"]) == (422, "request.invalid")


def personal_values(db: str) -> set[str]:
    with Workspace.open(db, read_only=True) as ws:
        people = ws.store.query("casualty", geometry=False, include_retired=True)
    fields = record_type("casualty").personal_fields
    values = {str(p[f]) for p in people for f in fields if isinstance(p[f], str) and len(p[f]) >= 4}
    assert len(values) > 20, "the demo's casualties have names"
    return values


def keys_of(doc: Any) -> set[str]:
    if isinstance(doc, dict):
        return set(doc) | {k for v in doc.values() for k in keys_of(v)}
    if isinstance(doc, list):
        return {k for v in doc for k in keys_of(v)}
    return set()


def test_no_personal_field_in_any_public_answer(client: TestClient, demo: tuple[str, str],
                                                bearer: dict[str, str]) -> None:
    """Every public route, and the batch, scanned for the demo's casualties' personal values and field names."""
    public = index_of(demo[0]).hazards
    c = public.geometry[0].representative_point()
    answers = [client.get("/api/public/safety", params={"lat": c.y, "lon": c.x}),
               client.post("/api/public/safety", json={"type": "Point", "coordinates": [c.x, c.y]}),
               client.get("/api/public/hazards", params={"limit": 5000}),
               client.get("/api/public/settlements"),
               *[client.get("/api/public/casualties", params={"level": lv, "period": p})
                 for lv in ("adm1", "adm2") for p in ("month", "year")],
               client.post("/api/safety/batch", headers=bearer, json={"points": [[c.x, c.y]]})]
    docs = [a.json() for a in answers]
    assert all(a.status_code == 200 for a in answers)
    z = 10
    keys = {k for k in tiles.tiles_covering(public.geometry[0].bounds, z)}
    tiles_seen = [mapbox_vector_tile.decode(client.get("/api/public/tiles/{}/{}/{}.mvt".format(*k)).content)
                  for k in keys]
    assert all(set(t) == {"public_hazards"} for t in tiles_seen) and tiles_seen
    tile_props = [f["properties"] for t in tiles_seen for f in t["public_hazards"]["features"]]
    assert tile_props and all(set(p) <= set(PUBLIC_FIELDS) for p in tile_props)
    text = json.dumps([docs, tile_props], ensure_ascii=False)
    leaked = [v for v in personal_values(demo[0]) if v in text]
    assert not leaked, f"personal values in public answers: {leaked[:5]}"
    fields = set(record_type("casualty").personal_fields) | {"created_by", "changed_by"}
    assert not fields & (keys_of(docs) | {k for p in tile_props for k in p})


def test_over_the_limit_is_429_with_retry_after_per_client(demo: tuple[str, str]) -> None:
    client = TestClient(create_app(demo[0], rate_limit="3/minute"))
    for _ in range(3):
        assert client.get("/api/public/settlements").status_code == 200
    refused = client.get("/api/public/safety", params={"lat": 5, "lon": -72})
    assert (refused.status_code, refused.headers["content-type"]) == (429, PROBLEM)
    assert refused.json()["code"] == "http.too_many_requests" and "batch" in refused.json()["hint"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    spoofed = client.get("/api/public/settlements", headers={"X-Forwarded-For": "203.0.113.9"})
    assert spoofed.status_code == 429, "X-Forwarded-For is not trusted unless configured"
    assert client.get("/api/health").status_code == 200, "only the public routes are limited"


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(demo: tuple[str, str]) -> None:
    client = TestClient(create_app(demo[0], rate_limit="2/minute", trusted_proxies="*"))
    for ip in ("203.0.113.1", "203.0.113.2"):
        codes = [client.get("/api/public/settlements", headers={"X-Forwarded-For": ip}).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 429], ip


def test_public_tiles_have_their_own_limit(demo: tuple[str, str]) -> None:
    client = TestClient(create_app(demo[0], rate_limit="1/minute", tile_rate_limit="2/minute"))
    codes = [client.get("/api/public/tiles/10/300/500.mvt").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get("/api/public/settlements").status_code == 200


def test_batch_needs_sign_in_and_is_not_rate_limited(demo: tuple[str, str], bearer: dict[str, str]) -> None:
    client = TestClient(create_app(demo[0], rate_limit="2/minute"))
    body = {"points": [[-72.0, 5.0], [-71.9, 5.6]], "distance": 100}
    anonymous = client.post("/api/safety/batch", json=body)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "auth.required")
    assert "Bearer" in anonymous.headers["www-authenticate"]
    assert [client.post("/api/safety/batch", json=body, headers=bearer).status_code for _ in range(5)] == [200] * 5
    assert client.get("/api/public/settlements").status_code == 200, "batches do not use the public allowance"


def test_batch_gives_each_point_the_single_check_answer(client: TestClient, demo: tuple[str, str],
                                                        bearer: dict[str, str]) -> None:
    lat, lon = grid(demo[0], 30)
    rows = client.post("/api/safety/batch", headers=bearer,
                       json={"distance": 100, "points": np.column_stack([lon, lat]).tolist()}).json()
    cols = client.post("/api/safety/batch", headers=bearer,
                       json={"distance": 100, "lon": lon.tolist(), "lat": lat.tolist()}).json()
    assert rows == cols and rows["count"] == len(lat) and rows["classes"] == list(safety.CLASSES)
    assert rows["caveat"] == safety.CAVEAT
    klass, dist = np.array(rows["class"]), rows["distance"]
    assert {0, 1, 2} <= set(klass.tolist())
    assert all((d is None) == (k == safety.CLEAR) for k, d in zip(klass, dist, strict=True))
    for i in np.flatnonzero(klass != safety.CLEAR)[:20].tolist() + np.flatnonzero(klass == safety.CLEAR)[:5].tolist():
        single = client.get("/api/public/safety", params={"lat": lat[i], "lon": lon[i]}).json()
        assert single["result"] == safety.CLASSES[klass[i]]
        if dist[i] is not None:
            assert single["nearest_hazard_m"] == pytest.approx(dist[i], abs=0.006)


@pytest.mark.parametrize(("body", "code"), [
    ({"points": [[-72.0, 5.0]] * (MAX_POINTS + 1)}, "safety.too_many_points"),
    ({"points": [[-72.0, 5.0]], "lon": [-72.0], "lat": [5.0]}, "safety.bad_points"),
    ({"lon": [-72.0]}, "safety.bad_points"),
    ({"lon": [-72.0, -72.1], "lat": [5.0]}, "safety.bad_coordinates"),
    ({"points": [[5.0, 95.0]]}, "safety.bad_coordinates"),
    ({"points": [[-72.0, 5.0, 3.0]]}, "request.invalid"),
    ({"points": [[-72.0, 5.0]], "distance": -5}, "request.invalid"),
])
def test_batch_refuses_bad_input_with_a_hint(client: TestClient, bearer: dict[str, str], body: dict[str, Any],
                                             code: str) -> None:
    answer = client.post("/api/safety/batch", headers=bearer, json=body)
    assert (answer.status_code, answer.json()["code"]) == (422, code)
    assert answer.json()["hint"]
    if code == "safety.too_many_points":
        assert "10,000" in answer.json()["hint"]


def test_an_edit_shows_in_the_next_answer_without_rebuilding_the_index(db: str, bearer: dict[str, str],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[int] = []
    build = safety.SafetyIndex.build
    monkeypatch.setattr(safety.SafetyIndex, "build", classmethod(lambda cls, ws: builds.append(1) or build(ws)))
    client = TestClient(create_app(db, rate_limit=None))
    spot = {"lat": 5.7003, "lon": -71.6003}
    key = next(iter(tiles.tiles_covering((-71.601, 5.699, -71.599, 5.701), 12)))
    tile_url = "/api/public/tiles/{}/{}/{}.mvt".format(*key)

    def tile_refs() -> set[str]:
        layer = mapbox_vector_tile.decode(client.get(tile_url).content).get("public_hazards", {"features": []})
        return {f["properties"]["ref"] for f in layer["features"]}

    assert client.get("/api/public/safety", params=spot).json()["result"] == "clear"
    before = tile_refs()
    with Workspace.open(db, user="ana") as ws:  # another connection: a REST request, the CLI, an import
        hazard = add_record(ws, "hazard_area", {"name": "New report", "hazard_class": "sha", "status": "open",
                                                "geometry": shapely.box(-71.601, 5.699, -71.599, 5.701)})
    answer = client.get("/api/public/safety", params=spot).json()
    assert (answer["result"], answer["nearest_hazard"]) == ("inside", hazard["ref"])
    assert tile_refs() == before | {hazard["ref"]}
    with Workspace.open(db, user="ana") as ws:
        retire_record(ws, "hazard_area", hazard["uuid"], reason="duplicate report")
    assert client.get("/api/public/safety", params=spot).json()["result"] == "clear"
    assert tile_refs() == before
    for _ in range(5):
        client.get("/api/public/safety", params=spot)
    assert builds == [1], "the index is built once for the app, then only brought up to date"


def test_concurrent_requests_share_the_state_safely(db: str, bearer: dict[str, str]) -> None:
    client = TestClient(create_app(db, rate_limit=None))
    lat, lon = grid(db, 10)
    bounds = index_of(db).hazards.geometry[0].bounds
    keys = [k for z in (10, 11, 12, 13) for k in tiles.tiles_covering(bounds, z)]

    def ask(i: int) -> int:
        if i % 3 == 0:
            return client.post("/api/safety/batch", headers=bearer, json={"lat": lat.tolist(),
                                                                          "lon": lon.tolist()}).status_code
        if i % 3 == 1:
            return client.get("/api/public/tiles/{}/{}/{}.mvt".format(*keys[i % len(keys)])).status_code
        return client.get("/api/public/safety", params={"lat": lat[i], "lon": lon[i]}).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        jobs = [pool.submit(ask, i) for i in range(60)]
        with Workspace.open(db, user="ana") as ws:
            hazard = add_record(ws, "hazard_area", {"name": "Late report", "hazard_class": "sha", "status": "open",
                                                    "geometry": shapely.box(-71.601, 5.699, -71.599, 5.701)})
        assert [j.result() for j in jobs] == [200] * 60
    after = client.get("/api/public/safety", params={"lat": 5.7, "lon": -71.6}).json()
    assert after["nearest_hazard"] == hazard["ref"]


def test_signed_in_and_public_tiles_use_separate_caches(db: str, bearer: dict[str, str]) -> None:
    client = TestClient(create_app(db, rate_limit=None))
    key = next(iter(tiles.tiles_covering(index_of(db).hazards.geometry[0].bounds, 12)))
    signed_in = mapbox_vector_tile.decode(client.get("/api/tiles/{}/{}/{}.mvt".format(*key), headers=bearer).content)
    public = mapbox_vector_tile.decode(client.get("/api/public/tiles/{}/{}/{}.mvt".format(*key)).content)
    assert "hazards" in signed_in and "public_hazards" not in signed_in
    assert set(public) == {"public_hazards"}
    with Workspace.open(db, read_only=True) as ws:
        side = ws.store.side_path
    assert Path(f"{side}.tiles").is_file() and Path(f"{side}.public.tiles").is_file()


def test_a_real_server_limits_by_remote_address_and_ignores_forwarded_for(demo: tuple[str, str],
                                                                          tmp_path: Path) -> None:
    """``safeground serve --rate-limit``: uvicorn's own X-Forwarded-For handling is off unless --trust-proxy."""
    with served(demo[0], "--rate-limit", "2/minute", log=tmp_path / "limit.log", ready="/api") as base:
        codes = [httpx.get(f"{base}/api/public/settlements", headers={"X-Forwarded-For": f"198.51.100.{i}"})
                 for i in range(3)]
        assert [r.status_code for r in codes] == [200, 200, 429]
        assert int(codes[2].headers["retry-after"]) >= 1


def test_a_revoked_token_is_refused_at_once_by_the_shared_sign_in_check(db: str) -> None:
    with Workspace.open(db, user="admin") as ws:
        token, info = users.create_token(ws, "vera", name="laptop")
    client = TestClient(create_app(db, rate_limit=None))
    headers = {"Authorization": f"Bearer {token}"}
    body = {"points": [[-72.0, 5.0]]}
    assert client.post("/api/safety/batch", json=body, headers=headers).status_code == 200
    assert client.get("/api/tiles/10/300/500.mvt", headers=headers).status_code == 200
    with Workspace.open(db, user="admin") as ws:
        users.revoke_token(ws, info["uuid"])
    for answer in (client.post("/api/safety/batch", json=body, headers=headers),
                   client.get("/api/tiles/10/300/500.mvt", headers=headers)):
        assert (answer.status_code, answer.json()["code"]) == (401, "auth.bad_token")
