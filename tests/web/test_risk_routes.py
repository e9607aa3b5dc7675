"""The risk surface over HTTP: which run the map draws, and a clicked cell's risk, reasons, run id and date;
signed in only, and within a restricted user's areas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
import shapely
from fastapi.testclient import TestClient

from safeground.domain.config import Config
from safeground.services import credentials, users
from safeground.services.records import add_record
from safeground.services.workspace import Workspace
from safeground.web.app import create_app

REASONS = [{"text": "raises risk: 0.4 km from a 2012 find"}, {"text": "raises risk: 2 accidents within 5 km"},
           {"text": "lowers risk: 6.0 km from a hazard area"}, {"text": "raises risk: elevation = 900"}]
WEST = shapely.box(-72.6, 4.9, -72.5, 5.1)
EAST = shapely.box(-72.5, 4.9, -72.4, 5.1)
#: One risk cell inside each area (not touching the border they share).
CELLS = [shapely.box(-72.58, 4.95, -72.52, 5.05), shapely.box(-72.48, 4.95, -72.42, 5.05)]


@pytest.fixture(scope="module")
def served(any_module_db: str) -> Iterator[dict[str, Any]]:
    """On each backend in turn."""
    saved, credentials.HASHER = credentials.HASHER, credentials.FAST_FOR_TESTS
    db = any_module_db
    try:
        with Workspace.open(db, user="admin", create=True) as ws:
            ws.set_config(Config(country="COL"))
            add_record(ws, "admin_area", {"name": "Oeste", "level": 1, "code": "CO01", "geometry": WEST})
            add_record(ws, "admin_area", {"name": "Este", "level": 1, "code": "CO02", "geometry": EAST})
            users.add_user(ws, "vera", "viewer", None)
            users.add_user(ws, "omar", "viewer", None, areas=["CO02"])
            tokens = {name: users.create_token(ws, name)[0] for name in ("vera", "omar")}
            client = TestClient(create_app(db))
            yield {"client": client, "db": db, "auth": {n: {"Authorization": f"Bearer {t}"} for n, t in tokens.items()}}
    finally:
        credentials.HASHER = saved


def test_risk_routes_need_a_sign_in(served: dict[str, Any]) -> None:
    client = served["client"]
    for url in ("/api/risk/current", "/api/risk/runs/1/cells/0"):
        answer = client.get(url)
        assert (answer.status_code, answer.json()["code"]) == (401, "auth.required"), url


def test_the_map_names_the_current_run_and_shows_a_cells_reasons(served: dict[str, Any]) -> None:
    client, auth = served["client"], served["auth"]["vera"]
    assert client.get("/api/risk/current", headers=auth).json()["current"] is False
    with Workspace.open(served["db"], user="admin") as ws:
        run = ws.store.write_risk_run({"kind": "surface", "as_of": "2014-12-31", "cells_source": "grid"},
                                      {"cell_id": ["w", "e"], "risk": [0.25, 0.75], "geometry": CELLS,
                                       "reasons": [REASONS, REASONS[:1]]}, user="admin")
        ws.store.adopt_risk_run(run["id"], user="admin")
    current = client.get("/api/risk/current", headers=auth).json()
    assert (current["run"], current["date"], current["title"]) == (run["id"], "2014-12-31",
                                                                 f"Risk surface run {run['id']}, as of 2014-12-31")
    tile = client.get("/api/tiles/8/76/124.mvt", headers=auth)
    cells = {f["properties"]["cell"]: f["properties"]
             for f in mapbox_vector_tile.decode(tile.content)["risk_surface"]["features"]}
    assert cells == {0: {"cell": 0, "risk": 0.25, "run": run["id"]}, 1: {"cell": 1, "risk": 0.75, "run": run["id"]}}
    detail = client.get(f"/api/risk/runs/{run['id']}/cells/0", headers=auth).json()
    assert (detail["run"], detail["date"], detail["risk"]) == (run["id"], "2014-12-31", 0.25)
    assert detail["reasons"] == [r["text"] for r in REASONS[:3]]
    assert "not a hazard record" in detail["caveat"]

    # a user restricted to the eastern area sees only the eastern cell, in the tiles and on click
    omar = served["auth"]["omar"]
    tile = client.get("/api/tiles/8/76/124.mvt", headers=omar)
    assert [f["properties"]["cell"] for f in mapbox_vector_tile.decode(tile.content)["risk_surface"]["features"]] \
        == [1]
    assert client.get(f"/api/risk/runs/{run['id']}/cells/1", headers=omar).json()["risk"] == 0.75
    hidden = client.get(f"/api/risk/runs/{run['id']}/cells/0", headers=omar)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "risk.cell_not_found")
    missing = client.get(f"/api/risk/runs/{run['id'] + 5}/cells/0", headers=auth)
    assert (missing.status_code, missing.json()["code"]) == (404, "risk.run_not_found")


def test_the_public_view_has_no_risk_surface(served: dict[str, Any]) -> None:
    client = served["client"]
    tile = client.get("/api/public/tiles/8/76/124.mvt")
    assert tile.status_code == 200 and b"risk" not in tile.content
    assert "/api/risk" not in (Path(__file__).parents[2] / "src/safeground/web/static/js/public.js").read_text()
