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


def _connections(url: str) -> int:
    """How many connections the server holds to ``url``'s database now, besides this one."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid()").fetchone()
    return int(row[0])


def test_serve_on_postgis_answers_concurrent_requests_through_a_bounded_pool(pg_url: str, tmp_path: Path) -> None:
    """`serve --db postgresql://...` under load: 16 clients at once, reading and writing, against a pool of three
    connections (server.max_connections). Every request succeeds, every write is stored once with its audit row,
    and the server never holds more connections than the pool and the shared reader."""
    import concurrent.futures
    import json
    import threading
    import time

    import httpx
    from tests.web.serving import served

    from safeground.domain.config import ServerConfig
    from safeground.services import users

    with Workspace.open(pg_url, user="admin") as ws:
        ws.set_config(Config(country="COL", server=ServerConfig(max_connections=3)))
        users.add_user(ws, "dana", "data_entry", "a long passphrase")
        token, _ = users.create_token(ws, "dana")
        add_record(ws, "hazard_area", {"name": "La Esperanza", "hazard_class": "cha", "status": "open",
                                       "geometry": HAZARD}, review_state="approved")
    headers = {"Authorization": f"Bearer {token}"}
    hazard = {"name": "Caño Claro", "hazard_class": "sha", "status": "open",
              "geometry": json.loads(shapely.to_geojson(HAZARD))}
    with served(pg_url, "--rate-limit", "none", "--tile-rate-limit", "none", "--tile-refresh", "0",
                log=tmp_path / "serve.log") as base, httpx.Client(base_url=base, timeout=60) as http:

        def one(i: int) -> tuple[int, int]:
            if i % 3 == 0:
                answer = http.post("/api/records/hazard_area", json={**hazard, "name": f"Caño Claro {i}"},
                                   headers=headers)
            elif i % 3 == 1:
                answer = http.get("/api/records/hazard_area", params={"limit": 5}, headers=headers)
            else:
                answer = http.get("/api/health")
            return i, answer.status_code

        held: list[int] = []
        done = threading.Event()

        def watch() -> None:  # the connections the server holds, while the clients run
            while not done.is_set():
                held.append(_connections(pg_url))
                time.sleep(0.01)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            with concurrent.futures.ThreadPoolExecutor(16) as clients:
                codes = dict(clients.map(one, range(96)))
        finally:
            done.set()
            watcher.join()
    assert {i: c for i, c in codes.items() if c not in (200, 201)} == {}
    assert held and max(held) <= 3 + 1  # the pool, and the shared reader of the public answers
    with Workspace.open(pg_url, user="admin") as ws:
        names = [r["name"] for r in ws.store.query("hazard_area", geometry=False)]
        made = [c for c in ws.store.changes_since(0) if c.layer == "hazard_area" and c.op == "insert"]
    assert sorted(names) == sorted(["La Esperanza"] + [f"Caño Claro {i}" for i in range(0, 96, 3)])
    assert len(made) == len(names)


def test_a_request_waits_for_a_pooled_connection_then_gets_a_503_never_one_more(pg_url: str) -> None:
    from safeground.domain.config import ServerConfig
    from safeground.domain.errors import StoreError
    from safeground.services.workspace import WorkspacePool

    with Workspace.open(pg_url, user="admin") as ws:
        ws.set_config(Config(country="COL", server=ServerConfig(max_connections=1, pool_timeout_s=0.5)))
    pool = WorkspacePool(pg_url)
    try:
        first = pool.open(user="ana")
        with pytest.raises(StoreError) as info:
            pool.open(user="ana")
        assert (info.value.code, info.value.status) == ("store.pool_exhausted", 503)
        assert "max_connections" in info.value.hint
        first.close()
        with pool.open(user="ana") as again:  # the connection given back is lent again
            assert again.store.count("hazard_area") == 0
    finally:
        pool.close()
