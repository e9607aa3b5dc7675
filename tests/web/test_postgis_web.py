"""``serve`` on a PostGIS database: the same public answers as on the GeoPackage file, and edits show at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

from safeground.domain.config import Config
from safeground.services.records import add_record, retire_record
from safeground.services.tiles import tiles_covering
from safeground.services.workspace import Workspace
from safeground.web.app import create_app

HAZARD = shapely.box(-72.50, 5.00, -72.49, 5.01)


@pytest.fixture
def served(any_db: str) -> Iterator[tuple[TestClient, str, str]]:
    with Workspace.open(any_db, user="ana", create=True) as ws:
        ws.set_config(Config(country="COL"))
        hz = add_record(ws, "hazard_area", {"name": "La Esperanza", "hazard_class": "cha", "status": "open",
                                            "geometry": HAZARD}, review_state="approved")
    with TestClient(create_app(any_db, rate_limit=None, tile_rate_limit=None)) as client:
        yield client, any_db, hz["uuid"]


def test_public_answers_and_an_edit_shows_in_the_next_one(served: tuple[TestClient, str, str]) -> None:
    client, db, uuid = served
    landing = client.get("/api").json()
    assert "postgresql" not in landing["database"] and "@" not in landing["database"]
    assert client.get("/api/health").json()["records"]["hazard_area"] == 1
    inside = client.get("/api/public/safety", params={"lat": 5.005, "lon": -72.495}).json()
    assert inside["result"] == "inside" and inside["hazards"][0]["ref"] == "HA-000001"
    near = client.get("/api/public/safety", params={"lat": 5.005, "lon": -72.4895}).json()
    assert near["result"] == "within" and 0 < near["nearest_hazard_m"] < 60  # to the published polygon
    assert [f["id"] for f in client.get("/api/public/hazards").json()["features"]] == ["HA-000001"]
    [(z, x, y)] = tiles_covering((-72.495, 5.005, -72.495, 5.005), 12)
    tile = client.get(f"/api/public/tiles/{z}/{x}/{y}.mvt")
    assert tile.status_code == 200 and len(tile.content) > 0
    with Workspace.open(db, user="ana") as ws:  # another connection, as another server would
        retire_record(ws, "hazard_area", uuid, "duplicate of HA-000009")
    assert client.get("/api/public/safety", params={"lat": 5.005, "lon": -72.495}).json()["result"] == "clear"
    assert client.get("/api/public/hazards").json()["features"] == []


def test_a_missing_file_or_database_is_refused(tmp_path: Path, pg_empty_url: str) -> None:
    from safeground.domain.errors import NotFoundError, StoreError

    with pytest.raises(NotFoundError):
        create_app(tmp_path / "missing.gpkg")
    with pytest.raises(StoreError) as info:
        create_app(pg_empty_url)
    assert info.value.code == "store.not_found"
