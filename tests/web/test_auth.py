"""Signing in over HTTP: tokens, Basic, the 401 challenge, sign-out and the acting user in the audit log."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

from safeground.services import credentials, users
from safeground.services.records import add_record
from safeground.services.workspace import Workspace
from safeground.web.app import create_app


@pytest.fixture()
def client(any_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """On each backend in turn."""
    monkeypatch.setattr(credentials, "HASHER", credentials.FAST_FOR_TESTS)
    db = any_db
    with Workspace.open(db, user="admin", create=True) as ws:
        users.add_user(ws, "ana", "qa", "a long passphrase")
        users.add_user(ws, "old", "viewer", "another passphrase")
        users.retire_user(ws, "old")
        add_record(ws, "hazard_area", {"name": "North field", "hazard_class": "cha", "status": "open",
                                       "geometry": shapely.box(-72.50, 5.00, -72.49, 5.01)})
    with TestClient(create_app(db)) as client:
        yield client


def _basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def test_sign_in_gives_a_token_that_identifies_the_user_until_signed_out(client: TestClient) -> None:
    answer = client.post("/api/auth/token", json={"username": "Ana", "password": "a long passphrase"})
    assert answer.status_code == 201
    token = answer.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/auth/me", headers=bearer).json()
    assert (me["username"], me["role"], me["can"]["review"], me["can"]["manage_users"]) == ("ana", "qa", True, False)
    assert "password_hash" not in me
    assert client.delete("/api/auth/token", headers=bearer).status_code == 204
    gone = client.get("/api/auth/me", headers=bearer)
    assert (gone.status_code, gone.json()["code"]) == (401, "auth.bad_token")


def test_every_401_carries_a_challenge_and_a_code(client: TestClient) -> None:
    cases = [({}, "auth.required"), ({"Authorization": "Bearer nope"}, "auth.bad_token"),
             (_basic("ana", "wrong"), "auth.bad_credentials"), (_basic("old", "another passphrase"),
                                                                "auth.bad_credentials"),
             ({"Authorization": "Basic !!!"}, "auth.bad_header"), ({"Authorization": "Digest x"}, "auth.bad_header")]
    for headers, code in cases:
        answer = client.get("/api/auth/me", headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (401, code), headers
        assert "Bearer" in answer.headers["www-authenticate"]
        assert answer.headers["content-type"] == "application/problem+json"


def test_basic_credentials_work_and_a_wrong_password_at_sign_in_is_refused(client: TestClient) -> None:
    assert client.get("/api/auth/me", headers=_basic("ana", "a long passphrase")).json()["username"] == "ana"
    refused = client.post("/api/auth/token", json={"username": "ana", "password": "guess"})
    assert (refused.status_code, refused.json()["code"]) == (401, "auth.bad_credentials")


def test_tiles_need_sign_in_and_a_restricted_user_sees_only_their_areas(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/api/tiles/12/1223/1990.mvt").status_code == 401
    headers = _basic("ana", "a long passphrase")
    answer = client.get("/api/tiles/12/1223/1990.mvt", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert len(answer.content) > 0
    assert client.get("/api/tiles/12/5000/1990.mvt", headers=headers).json()["code"] == "tiles.bad_tile"


def test_the_signed_in_user_is_the_acting_user_in_the_audit_log(client: TestClient, any_db: str) -> None:
    client.post("/api/auth/token", json={"username": "ana", "password": "a long passphrase"})
    with Workspace.open(any_db, read_only=True) as ws:
        tokens = users.list_tokens(ws, "ana")
    assert tokens[-1]["created_by"] == "ana"
