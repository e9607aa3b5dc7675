"""Cached tiles answered before routing (web/tile_front.py) say exactly what the routes say, to exactly whom."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import pytest
import shapely
from fastapi.testclient import TestClient

from safeground.services import credentials, users
from safeground.services.records import add_record, update_record
from safeground.services.workspace import Workspace
from safeground.web import tile_front
from safeground.web.app import create_app

#: A zoom-12 tile over Vistahermosa (Meta), where the first hazard lies; the second is in Antioquia.
TILE = "12/1223/1990"


@pytest.fixture()
def db(any_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """On each backend in turn."""
    monkeypatch.setattr(credentials, "HASHER", credentials.FAST_FOR_TESTS)
    path = any_db
    with Workspace.open(path, user="admin", create=True) as ws:
        for name, code, box in (("Meta", "CO50", (-73.0, 4.5, -72.0, 5.5)),
                                ("Antioquia", "CO05", (-76.0, 6.0, -75.0, 7.0))):
            add_record(ws, "admin_area", {"name": name, "level": 1, "code": code, "geometry": shapely.box(*box)})
        users.add_user(ws, "ana", "viewer", None)
        users.add_user(ws, "ben", "viewer", None, areas=["CO05"])  # Antioquia only
        add_record(ws, "hazard_area", {"name": "North field", "hazard_class": "cha", "status": "open",
                                       "geometry": shapely.box(-72.50, 5.00, -72.49, 5.01)})
        add_record(ws, "hazard_area", {"name": "Antioquia field", "hazard_class": "sha", "status": "open",
                                       "geometry": shapely.box(-75.50, 6.50, -75.49, 6.51)})
    return path


@pytest.fixture()
def tokens(db: str) -> dict[str, dict[str, str]]:
    with Workspace.open(db, user="admin") as ws:
        return {name: {"Authorization": f"Bearer {users.create_token(ws, name)[0]}"} for name in ("ana", "ben")}


@pytest.fixture()
def client(db: str, tokens: dict[str, dict[str, str]]) -> Iterator[TestClient]:
    with TestClient(create_app(db, tile_rate_limit="3/minute")) as c:
        yield c


@pytest.fixture()
def answered_in_front(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the front answered itself (it sends without calling the app)."""
    seen: list[str] = []
    original = tile_front.CachedTileFront.__call__

    async def spy(self: Any, scope: Any, receive: Any, send: Any) -> None:
        passed: list[bool] = []
        app = self.app

        async def through(*args: Any) -> None:
            passed.append(True)
            await app(*args)

        self.app = through
        try:
            await original(self, scope, receive, send)
        finally:
            self.app = app
        if scope["type"] == "http" and not passed:
            seen.append(scope["path"])

    monkeypatch.setattr(tile_front.CachedTileFront, "__call__", spy)
    return seen


def names(data: bytes) -> set[str]:
    return {f["properties"]["name"] for f in mapbox_vector_tile.decode(data).get("hazards", {}).get("features", [])}


def test_a_cached_tile_is_answered_in_front_with_the_routes_body_and_headers(
        client: TestClient, tokens: dict[str, dict[str, str]], answered_in_front: list[str]) -> None:
    url = f"/api/tiles/{TILE}.mvt"
    rendered = client.get(url, headers=tokens["ana"])  # rendered by the route, then cached
    assert answered_in_front == []
    cached = client.get(url, headers=tokens["ana"])
    assert answered_in_front == [url]
    assert cached.content == rendered.content and names(cached.content) == {"North field"}
    for header in ("content-type", "cache-control"):
        assert cached.headers[header] == rendered.headers[header]
    assert int(cached.headers["content-length"]) == len(cached.content)


def test_a_restricted_user_never_gets_the_unrestricted_cached_tile(
        client: TestClient, tokens: dict[str, dict[str, str]], answered_in_front: list[str]) -> None:
    url = f"/api/tiles/{TILE}.mvt"
    client.get(url, headers=tokens["ana"])
    assert names(client.get(url, headers=tokens["ana"]).content) == {"North field"}
    restricted = client.get(url, headers=tokens["ben"])  # Meta is outside ben's area
    assert restricted.status_code == 200 and names(restricted.content) == set()
    assert answered_in_front == [url]  # ana's second request only


def test_wrong_tokens_and_no_sign_in_still_get_the_routes_401(
        client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    url = f"/api/tiles/{TILE}.mvt"
    client.get(url, headers=tokens["ana"])
    for headers, code in (({}, "auth.required"), ({"Authorization": "Bearer nope"}, "auth.bad_token")):
        answer = client.get(url, headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (401, code)
        assert "Bearer" in answer.headers["www-authenticate"]


def test_an_edit_is_in_the_next_tile_even_when_it_was_cached(
        client: TestClient, db: str, tokens: dict[str, dict[str, str]]) -> None:
    url = f"/api/tiles/{TILE}.mvt"
    client.get(url, headers=tokens["ana"])
    with Workspace.open(db, user="admin") as ws:
        (hazard,) = ws.store.query("hazard_area", where={"name": "North field"})
        update_record(ws, "hazard_area", hazard["uuid"], {"name": "North field, fenced"},
                      expected_version=hazard["version"])
    assert names(client.get(url, headers=tokens["ana"]).content) == {"North field, fenced"}


def test_public_tiles_in_front_still_count_against_the_rate_limit(
        client: TestClient, answered_in_front: list[str]) -> None:
    url = f"/api/public/tiles/{TILE}.mvt"
    answers = [client.get(url) for _ in range(4)]  # the limit is 3 a minute
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answered_in_front == [url, url]  # the first was rendered by the route, the fourth refused by it
    assert int(answers[3].headers["retry-after"]) >= 1
    assert answers[1].content == answers[0].content and answers[1].headers["cache-control"] == "public, max-age=60"


def test_paths_that_are_not_tiles_go_to_the_routes(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    assert client.get("/api/tiles/12/5000/1990.mvt", headers=tokens["ana"]).json()["code"] == "tiles.bad_tile"
    assert client.get("/api/tiles/99/0/0.mvt", headers=tokens["ana"]).status_code == 422


def test_the_background_refresh_renders_edited_tiles_again_so_they_are_served_from_the_cache(
        client: TestClient, db: str, tokens: dict[str, dict[str, str]], answered_in_front: list[str]) -> None:
    url = f"/api/tiles/{TILE}.mvt"
    client.get(url, headers=tokens["ana"])
    with Workspace.open(db, user="admin") as ws:
        (hazard,) = ws.store.query("hazard_area", where={"name": "North field"})
        update_record(ws, "hazard_area", hazard["uuid"], {"name": "North field, marked"},
                      expected_version=hazard["version"])
    assert client.app.state.shared.refresh_tiles() >= 1  # what the app does every tile_refresh_s seconds
    assert names(client.get(url, headers=tokens["ana"]).content) == {"North field, marked"}
    assert answered_in_front == [url]  # from the cache, rendered again by the refresh
