"""The browser pages and their files: pages, static files (vendored MapLibre included), the map's settings,
the offline basemap, labels for forms and legends, the language catalogues and the map's layer declarations."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from safeground.domain.config import Config
from safeground.domain.records import record_type
from safeground.domain.vocabularies import OUTCOME
from safeground.services import credentials, tiles, users
from safeground.services.demo import build_demo
from safeground.services.workspace import Workspace
from safeground.web.app import create_app
from safeground.web.routes.pages import STATIC_DIR

JS = STATIC_DIR / "js"


@pytest.fixture(scope="module")
def demo_db(any_module_db: str) -> str:
    """The small demo (seed 3) on each backend in turn."""
    db = any_module_db
    with Workspace.open(db, user="admin", create=True) as ws:
        build_demo(ws, scale="small", seed=3)
    return db


@pytest.fixture(scope="module")
def client(demo_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(demo_db)) as client:
        yield client


@pytest.mark.parametrize(("url", "script"), [("/", "map.js"), ("/dashboard", "dashboard.js"),
                                              ("/public", "public.js")])
def test_each_page_is_html_that_loads_its_module_from_the_app(client: TestClient, url: str, script: str) -> None:
    page = client.get(url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'src="/static/js/{script}"' in page.text
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert ref.startswith("/"), f"{url} loads {ref} from elsewhere: offline offices could not"
        assert client.get(ref).status_code == 200, ref


def test_static_files_are_served_with_their_types_and_nothing_comes_from_a_cdn(client: TestClient) -> None:
    lib = client.get("/static/vendor/maplibre-gl.mjs")
    assert lib.status_code == 200 and "javascript" in lib.headers["content-type"]
    assert client.get("/static/vendor/maplibre-gl-worker.mjs").status_code == 200
    assert client.get("/static/i18n/es.json").json()["nav.map"] == "Mapa"
    again = client.get("/static/app.css", headers={"If-None-Match": client.get("/static/app.css").headers["etag"]})
    assert again.status_code == 304
    files = [*JS.glob("*.js"), *STATIC_DIR.glob("*.html"), STATIC_DIR / "app.css"]
    own = "\n".join(p.read_text("utf-8") for p in files)
    assert not re.findall(r"https?://(?!www\.w3\.org/2000/svg)", own), "the pages must work offline"


def test_a_missing_or_escaping_static_path_is_a_404_problem(client: TestClient) -> None:
    for path in ("/static/nothing.js", "/static/../routes/pages.py", "/static/%2e%2e/app.py"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["code"] == "http.not_found"


def test_map_settings_open_on_the_admin_areas_with_the_configured_basemap(demo_db: str, client: TestClient) -> None:
    settings = client.get("/api/map").json()
    with Workspace.open(demo_db, read_only=True) as ws:
        areas = [r["geometry"] for r in ws.store.query("admin_area", fields=[])]
    minx, miny, maxx, maxy = settings["bounds"]
    assert all(minx <= a.bounds[0] and a.bounds[2] <= maxx and miny <= a.bounds[1] and a.bounds[3] <= maxy
               for a in areas)
    assert settings["basemap_url"] is None
    assert [layer["name"] for layer in settings["layers"]] == [t.name for t in tiles.LAYERS]
    with Workspace.open(demo_db, user="admin") as ws:
        ws.set_config(Config(**{**ws.config.model_dump(), "basemap_url": "https://tiles.example.org/{z}/{x}/{y}.png"}))
    try:
        assert client.get("/api/map").json()["basemap_url"] == "https://tiles.example.org/{z}/{x}/{y}.png"
    finally:
        with Workspace.open(demo_db, user="admin") as ws:
            ws.set_config(Config(**{**ws.config.model_dump(), "basemap_url": None}))


def test_a_user_restricted_to_an_area_opens_the_map_on_it(demo_db: str, client: TestClient,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "HASHER", credentials.FAST_FOR_TESTS)
    with Workspace.open(demo_db, user="admin") as ws:
        area = ws.store.query("admin_area", where={"level": 2}, fields=["code"])[0]
        users.add_user(ws, "rosa", "viewer", "a long passphrase", areas=[area["code"]])
        token, _ = users.create_token(ws, "rosa")
    mine = client.get("/api/map", headers={"Authorization": f"Bearer {token}"}).json()["bounds"]
    assert mine == pytest.approx(list(area["geometry"].bounds))
    assert client.get("/api/map").json()["bounds"] != mine


def test_the_offline_basemap_is_natural_earth_geojson(client: TestClient) -> None:
    answer = client.get("/api/map/outlines")
    assert answer.headers["content-type"] == "application/geo+json"
    doc = answer.json()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) > 150
    assert any(f["properties"].get("ISO_A3", f["properties"].get("iso_a3")) == "COL" for f in doc["features"])


def test_labels_give_every_field_and_term_in_english_and_spanish(client: TestClient) -> None:
    doc = client.get("/api/layers/casualty/labels").json()
    rt = record_type("casualty")
    assert set(doc["fields"]) == {f.name for f in rt.all_fields}
    assert doc["own"] == [f.name for f in rt.fields]
    assert doc["units"] == {f.name: f.unit for f in rt.all_fields if f.unit}
    assert all("en" in labels for labels in doc["fields"].values())
    killed = next(t for t in OUTCOME.terms if t.code == "killed")
    assert doc["terms"]["outcome"]["killed"] == {"en": killed.label, "es": killed.es}
    assert doc["links"] == {"accident": "accident"}, "the casualty's accident is named as a record, not a uuid"
    assert client.get("/api/layers/nowhere/labels").json()["code"] == "record.unknown_layer"


def _catalogue(lang: str) -> dict[str, str]:
    return json.loads((STATIC_DIR / "i18n" / f"{lang}.json").read_text("utf-8"))


def test_spanish_has_every_string_and_arabic_falls_back_to_english_for_the_rest() -> None:
    en, es, ar = _catalogue("en"), _catalogue("es"), _catalogue("ar")
    assert set(es) == set(en)
    assert set(ar) <= set(en) and len(ar) >= 20
    for lang in (es, ar):
        for key, text in lang.items():
            assert set(re.findall(r"{\w+}", text)) == set(re.findall(r"{\w+}", en[key])), key


def test_every_string_the_pages_use_is_in_the_english_catalogue() -> None:
    en = _catalogue("en")
    used: set[str] = set()
    for path in [*JS.glob("*.js"), *STATIC_DIR.glob("*.html")]:
        text = path.read_text("utf-8")
        used |= set(re.findall(r"\bt\('([a-z_]+\.[a-z_]+)'", text))
        used |= set(re.findall(r"""data-i18n(?:-placeholder|-title)?="([a-z_.]+)\"""", text))
        used |= set(re.findall(r"(?:title|note): '([a-z_]+\.[a-z_]+)'", text))
    assert len(used) > 60
    assert not sorted(used - set(en)), "strings used by the pages but missing from en.json"


def test_every_map_layer_declaration_draws_a_tile_layer_and_opens_a_record_layer() -> None:
    source = (JS / "layers.js").read_text("utf-8")
    declared = re.findall(r"id: '(\w+)', record: (?:'(\w+)'|null)", source)
    assert [name for name, _ in declared] == [t.name for t in tiles.LAYERS], "declared in drawing order"
    sources = {t.name: t.source for t in tiles.LAYERS}
    for name, record in declared:
        assert record in ("", sources[name]), f"{name} opens {record}"
