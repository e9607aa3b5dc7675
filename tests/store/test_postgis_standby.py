"""The public read path on a hot-standby replica (README, "How an installation grows"): a streaming replica of
the test server, made with pg_basebackup, answers the safety check, the public tiles and the public hazards
through ``serve --read-only``, follows an edit made on the primary, and refuses every write."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from tests.conftest import running_cluster

from safeground.services import safety
from safeground.services.records import add_record
from safeground.services.workspace import Workspace
from safeground.store.base import Batch
from safeground.web.app import create_app


@pytest.fixture
def standby_of(pg_admin_url: str) -> Iterator[str]:
    """A hot standby of the test server (streaming replication), on loopback and a free port: its URL prefix."""
    with running_cluster("sg-test-standby-", ["pg_basebackup", f"--dbname={pg_admin_url}", "-R", "-X", "stream"],
                         "-c hot_standby=on") as port:
        yield f"127.0.0.1:{port}"


def test_the_public_read_path_works_on_a_hot_standby(pg_url: str, pg_admin_url: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      request: pytest.FixtureRequest) -> None:
    monkeypatch.chdir(tmp_path)  # the web server's tile caches go beside it
    with Workspace.open(pg_url, user="ana") as ws:
        ws.store.write_config_text("country: COL\n", "ana")
        add_record(ws, "hazard_area", {"name": "North field", "hazard_class": "cha", "status": "open",
                                       "geometry": shapely.box(-72.50, 5.00, -72.49, 5.01)})
    host = request.getfixturevalue("standby_of")
    parts = urlsplit(pg_url)
    replica = parts._replace(netloc=f"{parts.username}@{host}").geturl()
    with psycopg.connect(replica) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True

    with Workspace.open(replica, user="web", read_only=True) as ws:
        assert safety.check_point(ws, 5.005, -72.495)["result"] == "inside"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            ws.store.insert("organisation", Batch({"name": ["Not here"]}), user="web")

    client = TestClient(create_app(replica, read_only=True, tile_refresh_s=None))
    answer = client.get("/api/public/safety", params={"lat": 4.985, "lon": -72.495})
    assert answer.status_code == 200 and answer.json()["result"] == "clear"
    # An edit on the primary reaches the replica's web server through the replicated audit log.
    with Workspace.open(pg_url, user="ana") as ws:
        add_record(ws, "hazard_area", {"name": "South field", "hazard_class": "sha", "status": "open",
                                       "geometry": shapely.box(-72.50, 4.98, -72.49, 4.99)})
    deadline = time.monotonic() + 30
    while client.get("/api/public/safety", params={"lat": 4.985, "lon": -72.495}).json()["result"] != "inside":
        assert time.monotonic() < deadline, "the replica's server never saw the edit"
        time.sleep(0.2)
    tile = client.get("/api/public/tiles/12/1223/1991.mvt")
    assert tile.status_code == 200 and tile.content
    hazards = client.get("/api/public/hazards")
    assert hazards.status_code == 200 and len(hazards.json()["features"]) == 2
