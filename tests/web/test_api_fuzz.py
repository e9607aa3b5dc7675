"""Property-based requests against every operation of the OpenAPI document: none may cause a server error.

schemathesis generates at least 50 requests per operation from the app's own OpenAPI document, once as an
administrator (every route's deepest path) and once as nobody signed in (the public's path); any 5xx fails.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation.case import Case

from safeground.services import credentials, users
from safeground.services.demo import build_demo
from safeground.services.workspace import Workspace
from safeground.web.app import create_app

EXAMPLES = 50


class Target:
    """The ASGI app schemathesis calls: the OpenAPI document is read at import (the routes do not depend on
    the data) from an app over an empty database; the module's fixture then points it at the demo's."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp())
        empty = self.folder / "empty.gpkg"
        Workspace.open(empty, user="admin", create=True).close()
        self.app: Any = create_app(empty)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


TARGET = Target()
schema = schemathesis.openapi.from_asgi("/api/openapi.json", TARGET)


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    saved, credentials.HASHER = credentials.HASHER, credentials.FAST_FOR_TESTS
    db = tmp_path_factory.mktemp("fuzz") / "demo.gpkg"
    with Workspace.open(db, user="admin", create=True) as ws:
        build_demo(ws, scale="small", seed=5)
        users.add_user(ws, "root", "admin", "a long passphrase")
        token, _ = users.create_token(ws, "root", name="fuzz")
    try:
        yield db, token
    finally:
        credentials.HASHER = saved


@pytest.fixture(scope="module", autouse=True)
def demo_app(fuzz_db: tuple[Path, str]) -> Iterator[None]:
    TARGET.app = create_app(fuzz_db[0], rate_limit=None, tile_rate_limit=None)  # 429 is tested on its own
    yield
    shutil.rmtree(TARGET.folder, ignore_errors=True)


fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@fuzz
def test_no_server_error_for_an_administrator(case: Case, fuzz_db: tuple[Path, str]) -> None:
    response = case.call(headers={"Authorization": f"Bearer {fuzz_db[1]}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"


@schema.parametrize()
@fuzz
def test_no_server_error_for_the_public(case: Case) -> None:
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.headers = headers
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
