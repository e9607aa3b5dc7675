"""The web pages in a real browser: Debian's chromium driven by Playwright against ``safeground serve`` on the
demo, as a user meets them: sign in, see the hazards drawn, click one and read its detail, switch the language
(Spanish, then Arabic right to left), open the dashboard and the public view.

Screenshots of the map, the dashboard and the public view are written to the test's temporary folder
(``pytest --basetemp DIR`` keeps them where you can look at them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import shapely
from playwright.sync_api import Browser, Page, sync_playwright
from tests.web.serving import served

from safeground.services import credentials, stats, users
from safeground.services.demo import build_demo
from safeground.services.records import add_record
from safeground.services.workspace import Workspace

CHROMIUM = "/usr/bin/chromium"
# WebGL without a GPU: chromium's software renderer (SwiftShader) through ANGLE.
CHROMIUM_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-sandbox"]
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The small demo region (a few seconds) with a QA officer's account."""
    folder = tmp_path_factory.mktemp("browser")
    db = folder / "demo.gpkg"
    saved, credentials.HASHER = credentials.HASHER, credentials.FAST_FOR_TESTS
    try:
        with Workspace.open(db, user="admin", create=True) as ws:
            build_demo(ws, scale="small", seed=7)
            users.add_user(ws, "ana", "qa", "a long passphrase", display_name="Ana Gómez")
    finally:
        credentials.HASHER = saved
    return {"db": db, "folder": folder, "user": "ana", "password": "a long passphrase"}


@pytest.fixture(scope="module")
def server(demo: dict[str, Any]) -> Iterator[str]:
    with served(demo["db"], log=demo["folder"] / "serve.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()
    assert not errors, f"script errors in the page: {errors}"


def _wait_for_map(page: Page) -> None:
    page.wait_for_function("window.safeground && window.safeground.ready === true")


def _sign_in(page: Page, server: str, demo: dict[str, Any]) -> None:
    page.goto(server + "/")
    page.fill("input[name=username]", demo["user"])
    page.fill("input[name=password]", demo["password"])
    page.click("#sign-in-form button[type=submit]")
    _wait_for_map(page)


def _click_hazard(page: Page, ref: str) -> None:
    """Zoom to the hazard ``ref`` and click a pixel where it is drawn."""
    page.evaluate("""(ref) => { const m = window.safeground.map;
        const f = m.queryRenderedFeatures({layers: ['hazards-0']}).find(f => f.properties.ref === ref);
        const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
        window.safeground.ready = false;
        m.jumpTo({center: ring[0], zoom: 14});
        m.once('idle', () => { window.safeground.ready = true; }); }""", ref)
    _wait_for_map(page)
    spot = page.evaluate("""(ref) => { const m = window.safeground.map, c = m.getCanvas();
        const w = c.clientWidth, h = c.clientHeight;
        for (let r = 0; r < Math.max(w, h) / 2; r += 3) for (let a = 0; a < 360; a += 10) {
          const x = w / 2 + r * Math.cos(a * Math.PI / 180), y = h / 2 + r * Math.sin(a * Math.PI / 180);
          const hits = m.queryRenderedFeatures([x, y], {layers: ['hazards-0']});
          if (hits.some(f => f.properties.ref === ref)) return {x, y};
        } return null; }""", ref)
    assert spot is not None, f"{ref} is drawn somewhere on the map"
    box = page.locator("#map canvas").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])


def test_an_anonymous_visitor_is_asked_to_sign_in_and_offered_the_public_page(page: Page, server: str) -> None:
    page.goto(server + "/")
    assert page.locator("#sign-in").is_visible() and not page.locator("#workspace").is_visible()
    assert page.locator("#sign-in a[href='/public']").is_visible()
    page.fill("input[name=username]", "demo-qa")
    page.fill("input[name=password]", "not the password")
    page.click("#sign-in-form button[type=submit]")
    problem = page.locator("#sign-in-problem")
    problem.wait_for(state="visible")
    assert "Hint" not in problem.inner_text() and "password" in problem.inner_text().lower()


def test_the_map_draws_the_hazards_and_a_click_shows_the_detail_in_the_chosen_language(
        page: Page, server: str, demo: dict[str, Any]) -> None:
    _sign_in(page, server, demo)
    with Workspace.open(demo["db"], read_only=True) as ws:
        hazards = {h["ref"]: h for h in ws.store.query("hazard_area", geometry=False)}
    drawn = page.evaluate("() => [...new Set(window.safeground.map.queryRenderedFeatures("
                          "{layers: ['hazards-0']}).map(f => f.properties.ref))]")
    assert set(drawn) <= set(hazards)
    # At the opening zoom (8) a polygon under a pixel is dropped by the tile encoder; every larger one is drawn.
    visible = {r for r, h in hazards.items() if (h["area_m2"] or 0) >= 10_000}
    assert len(visible) > 50 and visible <= set(drawn), "every hazard area over a hectare is drawn"
    page.screenshot(path=str(demo["folder"] / "map.png"))
    count = "() => window.safeground.map.queryRenderedFeatures({layers: ['hazards-0']}).length"
    page.uncheck("#layers input[data-layer=hazards]")
    page.wait_for_function(f"({count})() === 0")
    page.check("#layers input[data-layer=hazards]")
    page.wait_for_function(f"({count})() > 0")

    page.click("summary[data-i18n='panel.entry']")  # the data-entry form, generated from the declaration
    page.locator("form.entry select[name=hazard_class]").wait_for()
    assert "Confirmed hazardous area (CHA)" in page.inner_text("form.entry select[name=hazard_class]")
    assert page.locator("form.entry label.required").count() >= 3
    draw = page.locator("form.entry button[type=button]")
    draw.click()  # a polygon: three clicks on the map, then finish
    box = page.locator("#map canvas").bounding_box()
    assert box is not None
    for dx, dy in ((100, 100), (200, 100), (150, 200)):
        page.mouse.click(box["x"] + dx, box["y"] + dy)
    draw.click()
    drawn = json.loads(page.input_value("form.entry textarea[name=geometry]"))
    assert drawn["type"] == "Polygon" and len(drawn["coordinates"][0]) == 4
    assert drawn["coordinates"][0][0] == drawn["coordinates"][0][-1]
    assert page.locator("#detail").is_hidden(), "clicks while drawing open no feature"
    page.click("summary[data-i18n='panel.entry']")

    ref = sorted(r for r, h in hazards.items() if h["hazard_class"] == "cha")[0]
    _click_hazard(page, ref)
    detail = page.locator("#detail")
    page.locator("#detail .detail-attachments").wait_for()
    text = detail.inner_text()
    assert ref in page.inner_text("#detail-title") and hazards[ref]["name"] in text
    assert "Confirmed hazardous area (CHA)" in text
    record = page.inner_text("#detail .detail-record")
    assert "Marking status" in record and f"{hazards[ref]['area_m2']} m²" in record  # the record, with units
    if hazards[ref]["organisation"]:  # a linked record by its ref and name, never by its uuid
        assert "OR-" in record and hazards[ref]["organisation"] not in record
    assert "Created" in page.inner_text("#detail .detail-history")  # its audit trail
    assert "No attachments." in page.inner_text("#detail .detail-attachments")
    page.screenshot(path=str(demo["folder"] / "detail.png"))

    page.select_option("#language", "es")
    page.wait_for_function("document.documentElement.lang === 'es'")
    page.locator("#detail .detail-attachments").wait_for()
    assert "Áreas peligrosas" in page.inner_text("#layers")
    assert "Área peligrosa confirmada (APC)" in detail.inner_text() and "Historial" in detail.inner_text()
    assert page.inner_text("#sign-out") == "Cerrar sesión"

    page.select_option("#language", "ar")
    page.wait_for_function("document.documentElement.dir === 'rtl'")
    side, map_box = page.locator("#side").bounding_box(), page.locator("#map").bounding_box()
    assert side is not None and map_box is not None
    assert side["x"] < map_box["x"], "right to left: the side panel moves to the left of the map"
    page.screenshot(path=str(demo["folder"] / "map-ar.png"))
    page.select_option("#language", "en")


def test_an_edit_is_on_the_map_at_the_next_refresh(page: Page, server: str, demo: dict[str, Any]) -> None:
    """The map asks for fresh tiles every minute and after its own edits; the tiles then hold the edit."""
    _sign_in(page, server, demo)
    lon, lat = page.evaluate("() => window.safeground.map.getCenter().toArray()")
    with Workspace.open(demo["db"], user="ana") as ws:
        new = add_record(ws, "hazard_area", {"name": "Reported today", "hazard_class": "sha", "status": "open",
                                             "geometry": shapely.box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)})
    drawn = ("() => window.safeground.map.queryRenderedFeatures({layers: ['hazards-0']})"
             f".some(f => f.properties.ref === '{new['ref']}')")
    assert not page.evaluate(drawn)
    page.evaluate("() => window.safeground.refresh()")
    page.wait_for_function(drawn)


def test_the_dashboard_shows_the_official_figures_and_charts(page: Page, server: str, demo: dict[str, Any]) -> None:
    token = httpx.post(f"{server}/api/auth/token", json={"username": demo["user"], "password": demo["password"]})
    page.add_init_script(f"sessionStorage.setItem('safeground.token', {token.json()['token']!r})")
    page.goto(server + "/dashboard")
    page.wait_for_selector("body[data-ready=true]")
    with Workspace.open(demo["db"], read_only=True) as ws:
        hazards = stats.summary(ws)["contamination"]["hazards"]
    assert page.inner_text(".figure:first-child strong") == f"{hazards:,}"
    assert page.locator(".chart svg").count() == 8
    assert page.locator(".chart svg rect").count() > 20
    page.screenshot(path=str(demo["folder"] / "dashboard.png"), full_page=True)


def test_the_public_page_answers_is_this_place_safe_without_a_sign_in(page: Page, server: str,
                                                                      demo: dict[str, Any]) -> None:
    page.goto(server + "/public")
    _wait_for_map(page)
    assert page.evaluate("() => window.safeground.map.queryRenderedFeatures({layers: ['land']}).length") > 0
    assert page.evaluate("() => window.safeground.map.queryRenderedFeatures({layers: ['hazards-fill']}).length") > 0
    spot = page.evaluate("""() => { const m = window.safeground.map, c = m.getCanvas();
        for (let y = 40; y < c.clientHeight; y += 3) for (let x = 40; x < c.clientWidth; x += 3)
          if (m.queryRenderedFeatures([x, y], {layers: ['hazards-fill']}).length) return {x, y};
        return null; }""")
    box = page.locator("#map canvas").bounding_box()
    assert spot is not None and box is not None
    page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])
    answer = page.locator("#safety-answer")
    answer.wait_for()
    assert answer.get_attribute("data-result") == "inside"
    assert "Inside a known hazard area" in answer.inner_text()
    assert "No known hazard is not the same as safe" in answer.inner_text()
    page.screenshot(path=str(demo["folder"] / "public.png"))
    page.fill("#place", "5.2, -72.1")
    page.click("#search button[type=submit]")
    page.wait_for_function("document.querySelector('#safety-answer')?.textContent.includes('5.20000, -72.10000')")
    assert page.locator("#settlements li").count() == 3
    assert "Is this place safe?" in page.inner_text("h1")

def test_a_record_entered_in_the_form_is_approved_from_the_queue(page: Page, server: str,
                                                                 demo: dict[str, Any]) -> None:
    _sign_in(page, server, demo)
    page.click("summary[data-i18n='panel.entry']")
    form = page.locator("form.entry")
    form.locator("select[name=hazard_class]").wait_for()
    page.click("form.entry button[type=submit]")  # nothing filled in: the browser asks for the required fields
    assert form.locator("input[name=name]").evaluate("el => !el.validity.valid")
    form.locator("input[name=name]").fill("Entered in the browser")
    form.locator("select[name=hazard_class]").select_option("sha")
    form.locator("select[name=status]").select_option("open")
    lon, lat = page.evaluate("() => window.safeground.map.getCenter().toArray()")
    square = [[lon, lat], [lon + 0.002, lat], [lon + 0.002, lat + 0.002], [lon, lat + 0.002], [lon, lat]]
    form.locator("textarea[name=geometry]").fill(json.dumps({"type": "Polygon", "coordinates": [square]}))
    page.click("form.entry button[type=submit]")
    saved = page.locator("form.entry .ok")
    saved.wait_for()
    ref = re.search(r"HA-\d+", saved.inner_text())
    assert ref is not None
    with Workspace.open(demo["db"], read_only=True) as ws:
        stored = ws.store.query("hazard_area", where={"ref": ref.group(0)}, geometry=False)
    assert [(r["name"], r["review_state"]) for r in stored] == [("Entered in the browser", "submitted")]

    page.click("summary[data-i18n='panel.review']")
    item = page.locator("ul.queue li", has_text=ref.group(0))
    item.wait_for()
    item.locator("button").first.click()  # approve
    item.wait_for(state="detached")
    with Workspace.open(demo["db"], read_only=True) as ws:
        assert ws.store.query("hazard_area", where={"ref": ref.group(0)}, geometry=False)[0]["review_state"] == \
            "approved"


def test_the_risk_surface_is_on_the_map_and_a_cell_shows_its_reasons(page: Page, server: str,
                                                                     demo: dict[str, Any]) -> None:
    """The current risk run drawn under the records, its run named in the legend, and a click on a cell giving
    its risk, its top three reasons and the run's id and date."""
    from safeground.web.routes.pages import data_bounds

    reasons = [{"text": "raises risk: 1.2 km from a 2013 accident"}, {"text": "raises risk: 3 finds within 5 km"},
               {"text": "lowers risk: 4.0 km from a hazard area"}, {"text": "raises risk: elevation = 900"}]
    with Workspace.open(demo["db"], user="ana") as ws:
        bounds = data_bounds(ws)
        assert bounds is not None
        minx, miny, maxx, maxy = bounds
        n = 24
        dx, dy = (maxx - minx) / n, (maxy - miny) / n
        cells = [shapely.box(minx + i * dx, miny + j * dy, minx + (i + 1) * dx, miny + (j + 1) * dy)
                 for i in range(n) for j in range(n)]
        risks = [round((i % n) / n, 3) for i in range(len(cells))]
        run = ws.store.write_risk_run({"kind": "surface", "as_of": "2014-12-31", "cells_source": "grid"},
                                      {"cell_id": [f"c{i}" for i in range(len(cells))], "risk": risks,
                                       "geometry": cells, "reasons": [reasons] * len(cells)}, user="ana")
        ws.store.adopt_risk_run(run["id"], user="ana")
    _sign_in(page, server, demo)
    title = f"Risk surface run {run['id']}, as of 2014-12-31"
    page.locator(".legend-about[data-layer=risk_surface]", has_text=title).wait_for()
    drawn = "() => window.safeground.map.queryRenderedFeatures({layers: ['risk_surface-0']})"
    page.wait_for_function(f"({drawn})().length > 0")
    features = page.evaluate(f"() => ({drawn})().map(f => f.properties)")
    assert {f["run"] for f in features} == {run["id"]}
    assert len({f["risk"] for f in features}) > 5, "cells drawn with their own risk"
    page.screenshot(path=str(demo["folder"] / "risk.png"))
    # a spot where the risk surface is the top layer (no hazard, target or record above it)
    spot = page.evaluate("""() => { const m = window.safeground.map, c = m.getCanvas();
        const layers = m.getStyle().layers.filter(l => l.source === 'records').map(l => l.id);
        for (let y = 40; y < c.clientHeight - 40; y += 7) for (let x = 40; x < c.clientWidth - 40; x += 7) {
          const hits = m.queryRenderedFeatures([x, y], {layers});
          if (hits.length && hits.every(f => f.sourceLayer === 'risk_surface'))
            return {x, y, cell: hits[0].properties.cell};
        } return null; }""")
    box = page.locator("#map canvas").bounding_box()
    assert spot is not None and box is not None
    page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])
    detail = page.locator("#detail .detail-risk_surface")
    detail.wait_for()
    assert page.inner_text("#detail .risk-run") == title
    assert page.inner_text("#detail .risk-value") == f"Predicted risk: {round(risks[spot['cell']] * 100, 1):g} %"
    assert page.locator("#detail .risk-reasons li").all_inner_texts() == [r["text"] for r in reasons[:3]]
    assert "not a hazard record" in detail.inner_text()
    page.screenshot(path=str(demo["folder"] / "risk-detail.png"))
    page.select_option("#language", "es")
    page.wait_for_function("document.documentElement.lang === 'es'")
    page.locator(".legend-about", has_text=f"Superficie de riesgo, corrida {run['id']}").wait_for()
    page.select_option("#language", "en")


def test_the_clearance_plan_is_on_the_map_by_week(page: Page, server: str, demo: dict[str, Any]) -> None:
    """The current plan's hazards drawn over the hazard areas, coloured by release week, the plan named in the
    legend; a click opens the hazard with its teams and weeks."""
    import datetime as dt

    from safeground.services.plan_make import make_plan
    from safeground.services.plan_runs import current_plan_items

    with Workspace.open(demo["db"], user="ana") as ws:
        make_plan(ws, start=dt.date(2026, 1, 5), horizon=8, time_limit=5, bound_time_limit=5, adopt_run=True)
        doc = current_plan_items(ws)
    planned = {i["hazard_ref"]: i["released_week"] for i in doc["items"]}
    assert planned
    _sign_in(page, server, demo)
    title = f"Plan run {doc['run']['id']}, from 2026-01-05 (8 weeks)"
    page.locator(".legend-about[data-layer=plan]", has_text=title).wait_for()
    shown = "() => window.safeground.map.queryRenderedFeatures({layers: ['plan-0']}).map(f => f.properties)"
    page.wait_for_function(f"({shown})().length > 0")
    features = page.evaluate(shown)
    assert {f["ref"] for f in features} <= set(planned) and {f["plan"] for f in features} == {doc["run"]["id"]}
    assert all(f.get("released_week") == planned[f["ref"]] for f in features)
    page.screenshot(path=str(demo["folder"] / "plan.png"))
    spot = page.evaluate("""() => { const m = window.safeground.map, c = m.getCanvas();
        const layers = m.getStyle().layers.filter(l => l.source === 'records').map(l => l.id);
        for (let y = 40; y < c.clientHeight - 40; y += 3) for (let x = 40; x < c.clientWidth - 40; x += 3) {
          const hits = m.queryRenderedFeatures([x, y], {layers});
          if (hits.length && hits[0].sourceLayer === 'plan') return {x, y, ref: hits[0].properties.ref};
        } return null; }""")
    box = page.locator("#map canvas").bounding_box()
    assert spot is not None and box is not None
    page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])
    page.locator("#detail .detail-record").wait_for()
    assert spot["ref"] in page.inner_text("#detail-title")
    assert "Clearance plan (current)" in page.inner_text("#detail")
