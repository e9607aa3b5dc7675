"""``safeground serve``: a real server on a free port, its landing page, health, record catalogue, OpenAPI
operation ids, and problem documents for every kind of error."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import shapely
from tests.web.serving import free_port, served

from safeground.domain.records import LAYERS, record_type
from safeground.services.records import add_record
from safeground.services.workspace import Workspace
from safeground.web.app import create_app

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "web.gpkg"
    with Workspace.open(path, user="ana", create=True) as ws:
        add_record(ws, "hazard_area", {"name": "Las Palmas", "hazard_class": "sha", "status": "open",
                                       "geometry": shapely.box(-73.70, 3.40, -73.69, 3.41)})
    return path


@pytest.fixture(scope="module")
def server(db: Path) -> Iterator[str]:
    """``safeground serve`` started as a user would, on a free port; stopped after the tests."""
    with served(db, log=db.parent / "serve.log") as base:
        yield base


def test_landing_and_health_describe_the_database(server: str, db: Path) -> None:
    landing = httpx.get(f"{server}/api").json()
    assert landing["database"] == db.name
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert rels["service-desc"] == f"{server}/api/openapi.json"
    assert httpx.get(rels["service-desc"]).status_code == 200
    health = httpx.get(f"{server}/api/health").json()
    with Workspace.open(db, read_only=True) as ws:
        assert health["schema_version"] == ws.store.schema_version
        assert health["records"] == {layer: ws.store.count(layer) for layer in LAYERS}
    assert health["records"]["hazard_area"] == 1


def test_the_catalogue_declares_every_layer_and_marks_personal_fields(server: str) -> None:
    doc = httpx.get(f"{server}/api/layers").json()
    assert [d["layer"] for d in doc["layers"]] == list(LAYERS)
    casualty = httpx.get(f"{server}/api/layers/casualty").json()
    assert casualty["personal_fields"] == list(record_type("casualty").personal_fields)
    assert {f["name"] for f in casualty["fields"] if f["personal"]} == set(record_type("casualty").personal_fields)


def test_errors_are_problem_documents_with_codes(server: str) -> None:
    r = httpx.get(f"{server}/api/layers/minefield")
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    doc = r.json()
    assert doc["code"] == "record.unknown_layer" and "hazard_area" in doc["hint"]
    assert doc["type"].endswith("/record.unknown_layer") and doc["status"] == 404
    r = httpx.get(f"{server}/api/nowhere")
    assert (r.status_code, r.headers["content-type"], r.json()["code"]) == (404, PROBLEM, "http.not_found")
    r = httpx.post(f"{server}/api/layers")
    assert (r.status_code, r.json()["code"]) == (405, "http.method_not_allowed")


def test_operation_ids_are_the_handler_names(server: str) -> None:
    """Stable operation ids: clients generated from the OpenAPI document keep working."""
    spec = httpx.get(f"{server}/api/openapi.json").json()
    ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {"landing", "health", "list_layers", "get_layer"} <= ids
    assert all(i.isidentifier() for i in ids)


def test_a_missing_database_is_refused_with_how_to_make_one(tmp_path: Path) -> None:
    from safeground.domain.errors import NotFoundError

    with pytest.raises(NotFoundError) as err:
        create_app(tmp_path / "none.gpkg")
    assert err.value.code == "store.not_found" and "safeground demo" in err.value.hint
    done = subprocess.run([sys.executable, "-m", "safeground.cli", "serve", "--db", str(tmp_path / "none.gpkg"),
                           "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "store.not_found" in done.stderr
    assert not (tmp_path / "none.gpkg").exists()


def test_an_unexpected_failure_is_a_500_problem_without_a_traceback(db: Path) -> None:
    from fastapi.testclient import TestClient

    app = create_app(db)

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    r = TestClient(app, raise_server_exceptions=False).get("/api/boom")
    assert r.status_code == 500 and r.json()["code"] == "server.error"
    assert "secret internals" not in r.text and "Traceback" not in r.text
