"""The dashboard's figures over HTTP: signed in only, the same documents as the statistics services, bad
breakdowns refused with the services' codes, and no personal value of a casualty in any answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safeground.domain.records import record_type
from safeground.services import credentials, stats, stats_casualties, stats_outreach, stats_release, users
from safeground.services.demo import build_demo
from safeground.services.workspace import Workspace
from safeground.web.app import create_app


@pytest.fixture(scope="module")
def demo(any_module_db: str) -> Iterator[tuple[TestClient, str, dict[str, str]]]:
    """The small demo (seed 11) on each backend in turn, with a viewer and their API token."""
    saved, credentials.HASHER = credentials.HASHER, credentials.FAST_FOR_TESTS
    db = any_module_db
    try:
        with Workspace.open(db, user="admin", create=True) as ws:
            build_demo(ws, scale="small", seed=11)
            users.add_user(ws, "vera", "viewer", "a long passphrase")
            token, _ = users.create_token(ws, "vera")
        yield TestClient(create_app(db)), db, {"Authorization": f"Bearer {token}"}
    finally:
        credentials.HASHER = saved


def _same(answer: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal but for the time of generation and the database, named by file name only over HTTP."""
    for doc in (answer, expected):
        doc.pop("generated_at")
    assert answer.pop("database") == Path(expected.pop("database")).name
    assert answer == expected


def test_every_figure_route_needs_a_sign_in(demo: tuple[TestClient, str, dict[str, str]]) -> None:
    client, _, _ = demo
    for route in ("summary", "casualties", "release", "eore"):
        answer = client.get(f"/api/stats/{route}")
        assert (answer.status_code, answer.json()["code"]) == (401, "auth.required"), route


def test_the_dashboard_figures_are_the_services_documents(demo: tuple[TestClient, str, dict[str, str]]) -> None:
    client, db, auth = demo
    with Workspace.open(db, read_only=True) as ws:
        summary = stats.summary(ws)
        people = stats_casualties.casualty_stats(ws, by=["sex", "age_group"])
        release = stats_release.release_stats(ws, by=["year"])
        with_submitted = stats.summary(ws, include_submitted=True)
    _same(client.get("/api/stats/summary", headers=auth).json(), summary)
    _same(client.get("/api/stats/casualties?by=sex&by=age_group", headers=auth).json(), people)
    _same(client.get("/api/stats/release", headers=auth).json(), release)
    _same(client.get("/api/stats/summary?include_submitted=true", headers=auth).json(), with_submitted)
    assert summary["contamination"]["hazards"] > 0 and people["records"]["people"] > 0
    with Workspace.open(db, read_only=True) as ws:
        eore = stats_outreach.eore_stats(ws)
    _same(client.get("/api/stats/eore", headers=auth).json(), eore)
    assert eore["total"]["sessions"] > 0


def test_a_bad_breakdown_or_period_is_refused_with_the_services_codes(
        demo: tuple[TestClient, str, dict[str, str]]) -> None:
    client, _, auth = demo
    cases = [("/api/stats/casualties?by=name", 422, "stats.bad_dimension"),
             ("/api/stats/release?by=colour", 422, "stats.unknown_breakdown"),
             ("/api/stats/casualties?since=2020-05-01&until=2020-01-01", 422, "stats.bad_period"),
             ("/api/stats/eore?since=yesterday", 422, "stats.bad_date")]
    for url, status, code in cases:
        answer = client.get(url, headers=auth)
        assert (answer.status_code, answer.json()["code"]) == (status, code), url


def test_no_answer_names_a_casualty(demo: tuple[TestClient, str, dict[str, str]]) -> None:
    client, db, auth = demo
    with Workspace.open(db, read_only=True) as ws:
        personal = record_type("casualty").personal_fields
        values = {str(r[f]) for r in ws.store.query("casualty", geometry=False) for f in personal
                  if isinstance(r[f], str) and len(r[f]) >= 4}
    assert len(values) > 20
    for url in ("/api/stats/summary", "/api/stats/casualties?by=sex&by=age_group&by=status&by=adm2",
                "/api/stats/release?by=adm2"):
        text = client.get(url, headers=auth).text
        assert not [v for v in values if f'"{v}"' in text], url
