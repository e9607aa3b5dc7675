"""No personal data in any public answer: every GET route of the OpenAPI document, and the public POSTs,
are called without signing in, following their paging, and every answer is scanned for every personal value
of the demo's casualties and victim-assistance referrals (as whole words: a casualty named "Nota" is not
leaked by the label "Notas")."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import pytest
import shapely
from fastapi.testclient import TestClient

from safeground.domain.records import LAYERS, record_type
from safeground.services.demo import build_demo
from safeground.services.tiles import tiles_covering
from safeground.services.workspace import Workspace
from safeground.web.app import create_app

PERSON_LAYERS = ("casualty", "assistance_referral")
MAX_PAGES = 30


@pytest.fixture(scope="module")
def demo(any_module_db: str) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """The small demo (seed 5) on each backend in turn."""
    db = any_module_db
    with Workspace.open(db, user="admin", create=True) as ws:
        build_demo(ws, scale="small", seed=5)
        secrets: set[str] = set()
        for layer in PERSON_LAYERS:
            personal = record_type(layer).personal_fields
            for row in ws.store.query(layer, geometry=False, include_retired=True):
                secrets |= {str(row[f]) for f in personal if isinstance(row[f], str) and len(row[f]) >= 4}
        accidents = [r["geometry"] for r in ws.store.query("accident") if r["geometry"] is not None]
        refs = {layer: [r["ref"] for r in ws.store.query(layer, geometry=False, limit=3)]
                + [r["ref"] for r in ws.store.query(layer, where={"review_state": "published"}, geometry=False,
                                                    limit=3)] for layer in LAYERS}
    assert len(secrets) > 50, "the demo has named casualties to look for"
    context = {"secrets": re.compile(r"\b(" + "|".join(map(re.escape, sorted(secrets))) + r")\b"),
               "accidents": accidents, "refs": refs,
               "bounds": shapely.MultiPoint(accidents).bounds}
    yield TestClient(create_app(db, rate_limit=None, tile_rate_limit=None)), context


def _fill(path: str, ctx: dict[str, Any]) -> Iterator[str]:
    """Concrete URLs for a path template: every layer, each with a few of its own refs; tiles over the demo."""
    names = re.findall(r"{(\w+)}", path)
    if {"z", "x", "y"} & set(names):
        for z in (8, 12):
            for x, y in itertools.islice(((x, y) for _z, x, y in tiles_covering(ctx["bounds"], z)), 4):
                yield path.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
        return
    layer_names = [n for n in names if n in ("layer", "collectionId")]
    ref_names = [n for n in names if n in ("ref_or_uuid", "featureId", "ref")]
    if set(names) - set(layer_names) - set(ref_names):
        return
    for layer in LAYERS if layer_names else [""]:
        refs = ctx["refs"][layer] if ref_names and layer else \
            sorted({r for rs in ctx["refs"].values() for r in rs}) if ref_names else [""]
        for ref in refs:
            url = path
            for name in layer_names:
                url = url.replace("{" + name + "}", layer)
            for name in ref_names:
                url = url.replace("{" + name + "}", ref)
            yield url


def _next_links(doc: Any) -> list[str]:
    if not isinstance(doc, dict):
        return []
    found = [doc["next"]] if isinstance(doc.get("next"), str) else []
    found += [link["href"] for link in doc.get("links", []) if isinstance(link, dict) and link.get("rel") == "next"]
    return found


def _text(response: Any) -> str:
    kind = response.headers.get("content-type", "")
    if "vector-tile" in kind:
        return repr(mapbox_vector_tile.decode(response.content)) if response.content else ""
    return response.content.decode("utf-8", errors="replace")


def _point_queries(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"lat": p.y, "lon": p.x, "distance": 500} for p in ctx["accidents"][:10]]


def test_no_public_answer_holds_a_personal_value(demo: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = demo
    spec = client.get("/api/openapi.json").json()
    answered: dict[str, int] = {}
    for path, operations in spec["paths"].items():
        if "get" not in operations:
            continue
        required = [p["name"] for p in operations["get"].get("parameters", [])
                    if p.get("in") == "query" and p.get("required")]
        declared = {p["name"] for p in operations["get"].get("parameters", []) if p.get("in") == "query"}
        queries: list[dict[str, Any]] = [{"limit": 1000} if "limit" in declared else {}]
        if required:
            queries = _point_queries(ctx) if {"lat", "lon"} >= set(required) else []
        for url in _fill(path, ctx):
            for query in queries:
                todo, pages = [(url, query)], 0
                while todo and pages < MAX_PAGES:
                    target, params = todo.pop()
                    response = client.get(target, params=params)
                    pages += 1
                    if response.status_code != 200:
                        continue
                    answered[path] = answered.get(path, 0) + 1
                    text = _text(response)
                    leaked = ctx["secrets"].findall(text)
                    assert not leaked, f"GET {target} {params} shows personal values {leaked[:3]}"
                    if "json" in response.headers.get("content-type", ""):
                        todo += [(link, {}) for link in _next_links(json.loads(text))]
    for path, operations in spec["paths"].items():
        if "post" in operations and path.startswith("/api/public/"):
            area = shapely.geometry.mapping(shapely.MultiPoint(ctx["accidents"]).envelope)
            for body in (area, {"type": "Feature", "geometry": area, "properties": {}}):
                response = client.post(path, json=body)
                text = _text(response)
                assert not ctx["secrets"].findall(text), f"POST {path} shows personal values"
                if response.status_code == 200:
                    answered[path] = answered.get(path, 0) + 1
    public = [p for p in spec["paths"] if p.startswith("/api/public/") or p.startswith("/ogc")]
    assert all(answered.get(p) for p in public if "{" not in p), \
        f"every public route answered at least once: {sorted(set(public) - set(answered))}"
    assert answered.get("/api/layers"), "the crawl reached the catalogue"
