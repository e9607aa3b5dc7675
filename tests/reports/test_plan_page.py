"""The report's Clearance plan page (issue 7 §4): the current plan's figures as the plan services give them, one
line when no plan is current, never a what-if, nothing personal.

The small database has known answers: one manual team that needs two weeks per hazard area, three settlements
each blocked by one hazard (10 households at Arriba, 5 at Medio, 1 at Abajo), a road project waiting on Medio's
hazard (due 2 April 2026, in week 3) and a settlement nothing blocks; five weeks from Monday 9 March 2026. The
plan clears Arriba's hazard first (safe in week 1, 22 March: first quarter), then Medio's (week 3, 5 April:
second quarter, the road in time); Abajo waits past the horizon.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import shapely
from tests.conftest import HAZARD_BOX, Builder

from safeground.reports.plan_page import plan_section
from safeground.reports.render import render_html
from safeground.reports.situation import SECTIONS, build_context, gather
from safeground.services.map_layers import map_layers
from safeground.services.plan_compare import compare
from safeground.services.plan_make import make_plan
from safeground.services.plan_outlook import plan_outlook
from safeground.services.plan_runs import get_run
from safeground.services.plan_teams import import_teams
from safeground.services.plan_when import when
from safeground.services.records import add_record
from safeground.services.workspace import Workspace

START = dt.date(2026, 3, 9)
TEAMS_HEADER = "ref,name,organisation,method,capacity_m2_week,lon,lat,available_from,available_until\n"
BOXES = {"Arriba": HAZARD_BOX, "Medio": shapely.box(-72.485, 5.02, -72.475, 5.03),
         "Abajo": shapely.box(-72.47, 5.00, -72.46, 5.01)}
HOUSEHOLDS = {"Arriba": 10, "Medio": 5, "Abajo": 1}


@pytest.fixture
def three_settlements(ws: Workspace, build: Builder, tmp_path: Path) -> dict[str, str]:
    """The small database of the module docstring, no plan yet; returns refs by name."""
    build.organisation(acronym="DNGO")
    teams = tmp_path / "teams.csv"
    teams.write_text(TEAMS_HEADER + ",Manual 1,DNGO,manual,700000,-72.48,5.005,,\n", encoding="utf-8")
    assert import_teams(ws, teams).created == ["TM-000001"]
    refs = {}
    for name, box in BOXES.items():
        hazard = build.hazard("cha", geometry=box, name=f"{name} 1")
        target = add_record(ws, "priority_target", {"name": name, "kind": "settlement",
                                                     "displaced_households": HOUSEHOLDS[name],
                                                     "blocking_hazards": hazard["uuid"],
                                                     "geometry": box.centroid})
        refs[name], refs[f"{name} hazard"] = target["ref"], hazard["ref"]
        if name == "Medio":
            road = add_record(ws, "priority_target", {"name": "Camino", "kind": "road", "value": 1,
                                                      "deadline": "2026-04-02", "blocking_hazards": hazard["uuid"],
                                                      "geometry": box.centroid})
            refs["Camino"] = road["ref"]
    refs["Lejos"] = add_record(ws, "priority_target", {"name": "Lejos", "kind": "settlement",
                                                       "displaced_households": 7,
                                                       "geometry": shapely.Point(-72.3, 5.2)})["ref"]
    return refs


def _plan_html(ws: Workspace, *, draw: bool = False) -> tuple[dict[str, Any], str]:
    """The page's context and the page's HTML, as the report makes them (charts of the other pages left out)."""
    docs = gather(ws, 2026)
    ctx = build_context(docs, charts=False)
    ctx["charts"], ctx["maps"] = defaultdict(lambda: None), defaultdict(lambda: None)  # the other pages' pictures
    if draw:
        ctx["plan"] = plan_section(docs.plan, docs.maps, draw=True)
    page = render_html("report.html", **ctx)
    start = page.index('<section id="plan"')
    return ctx, page[start:page.index("</section>", start)]


def _rows(html: str, table: str) -> list[list[str]]:
    body = html[html.index(table):]
    body = body[:body.index("</table>")]
    return [[unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)]


def test_the_page_shows_the_current_plan_as_the_plan_services_give_it(ws: Workspace,
                                                                      three_settlements: dict[str, str]) -> None:
    refs = three_settlements
    made = make_plan(ws, start=START, horizon=5, time_limit=5, bound_time_limit=5, adopt_run=True)
    run = get_run(ws, made["run"])
    ctx, html = _plan_html(ws)
    page = ctx["plan"]
    assert page["run"] == {"id": run["id"], "uuid": run["uuid"], "made": run["created_at"][:10],
                           "adopted": run["adopted_at"][:10], "start_date": "2026-03-09", "horizon_weeks": 5,
                           "end_date": "2026-04-12", "value": run["value"], "greedy_value": run["greedy_value"],
                           "bound": run["bound"], "gap": run["gap"], "status": run["status"]}
    # households × weeks home, plus the road's value (1 USD) at the configured project weight
    assert run["value"] == pytest.approx(10 * (5 - 1) + 5 * (5 - 3) + ws.config.plan.project_weight * 1)
    assert [(t["target"], t["status"], t["week"], t["date"]) for t in page["targets"]] == [
        (refs["Arriba"], "planned", 1, "2026-03-22"), (refs["Medio"], "planned", 3, "2026-04-05"),
        (refs["Camino"], "planned", 3, "2026-04-05"), (refs["Abajo"], "not_in_horizon", None, None)]
    for row in page["targets"]:
        answer = when(ws, row["target"])
        assert (row["status"], row["week"], row["date"], row["waits_on"]) == (
            answer["status"], answer["week"], answer["date"], answer["waits_on"])
    assert page["targets"][2]["by_deadline"] is True and page["targets"][2]["households"] is None
    assert page["totals"] == {"teams": 1, "hazards_planned": 2, "hazards_released": 2, "area_m2": page["totals"][
        "area_m2"], "targets_planned": 4, "targets_safe": 3, "households_returning": 15, "households_waiting": 1,
        "settlements_waiting": 1, "targets_not_blocked": 1}
    assert page["totals"]["area_m2"] == pytest.approx(sum(i["area_m2"] for i in ws.store.plan_items(run["id"])),
                                                      abs=0.1)
    # What the reader sees: the run and its figures, the quarters, each target's date and what it waits on.
    text = " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())
    assert f"run {run['id']}, made on {run['created_at'][:10]}" in text
    assert "5 weeks from 2026-03-09 to 2026-04-12" in text and "15 displaced households can return" in text
    assert [r for r in _rows(html, "<th>Quarter</th>")] == [
        ["2026 Q1", "1", "10", "10"], ["2026 Q2", "1", "5", "15"], ["After the horizon", "1", "1", "–"]]
    targets = _rows(html, "<th>Target</th>")
    assert targets[0] == [f"{refs['Arriba']} Arriba", "settlement", "10", "1", "2026-03-22",
                          f"{refs['Arriba hazard']} (1)"]
    assert targets[2][1] == "road, due 2026-04-02 (met)"
    assert targets[3] == [f"{refs['Abajo']} Abajo", "settlement", "1", "–", "not within the horizon",
                          f"{refs['Abajo hazard']} (–)"]
    assert "Lejos" not in text and "1 settlement or project is not blocked" in text
    assert "1 settlement (1 household) still waits after it" in text
    values = dict(r for r in _rows(html, f"<th>Plan run {run['id']}</th>"))
    assert values["Plan value"] == f"{run['value']:,.0f}" and values["Bound (no plan can do better)"] == (
        f"{run['bound']:,.0f}") and values["Gap"] == f"{run['gap']:.1%}"


def test_without_a_current_plan_the_page_is_one_line_and_a_what_if_never_shows(
        ws: Workspace, three_settlements: dict[str, str]) -> None:
    first = compare(ws, start=START, horizon=5, add=1, method="manual", time_limit=2)
    assert [r["kind"] for r in ws.store.plan_runs()] == ["what_if", "what_if"]
    assert plan_outlook(ws) is None
    ctx, html = _plan_html(ws)
    assert ctx["plan"] is None
    lines = re.findall(r"<p[^>]*>(.*?)</p>", html, flags=re.S)
    assert len(lines) == 1 and "No clearance plan is current" in lines[0]
    assert "safeground plan make --start DATE --horizon WEEKS --adopt" in unescape(lines[0])
    adopted = make_plan(ws, start=START, horizon=5, time_limit=5, bound_time_limit=5, adopt_run=True)["run"]
    later = compare(ws, start=START, horizon=5, add=1, method="manual", time_limit=2)
    what_ifs = [s["run"] for s in first["scenarios"] + later["scenarios"]]
    assert len(what_ifs) == 4 and max(what_ifs) > adopted, "what-ifs were stored after the adopted plan"
    ctx, html = _plan_html(ws)
    page = ctx["plan"]
    assert page["run"]["id"] == adopted
    assert page["run"]["value"] == get_run(ws, adopted)["value"]
    assert (page["targets"][0]["target"], page["targets"][0]["week"]) == (three_settlements["Arriba"], 1), \
        "the +1 team what-if would make Arriba safe in week 0"
    for run in what_ifs:
        assert f"run {run}" not in html
    assert "+1 manual team" not in html and "NEW-manual" not in html and "what-if '" not in html
    docs = gather(ws, 2026)
    assert docs.plan is not None and docs.plan["gantt"]["run"] == adopted
    assert {t["team"] for t in docs.plan["gantt"]["teams"]} == {"TM-000001"}


@pytest.fixture(scope="module")
def demo_plan(small_demo: tuple[Workspace, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A copy of the small demo with an adopted 6-week plan."""
    copy = tmp_path_factory.mktemp("planpage") / "demo.gpkg"
    small_demo[0].store.backup(str(copy))  # the shared demo is open in WAL mode: a file copy may miss pages
    with Workspace.open(copy, user="ana") as ws:
        make_plan(ws, start=dt.date(2026, 1, 5), horizon=6, time_limit=5, bound_time_limit=5, adopt_run=True)
        yield ws


def test_on_the_demo_every_blocked_target_is_listed_with_its_plan_when_answer_and_pictures(
        demo_plan: Workspace) -> None:
    ws = demo_plan
    run = ws.store.plan_runs(current=True)[0]
    page = plan_section(plan_outlook(ws), map_layers(ws, year=2026), draw=True)
    assert page is not None
    html = render_html("plan_page.html", plan=page, sections=SECTIONS)
    targets = ws.store.query("priority_target", fields=["kind", "displaced_households"], geometry=False)
    answers = {t["ref"]: when(ws, t["ref"]) for t in targets}
    listed = {t["target"]: t for t in page["targets"]}
    assert set(listed) == {r for r, a in answers.items() if a["status"] != "not_blocked"}
    assert listed and page["more_targets"] == 0
    for ref, row in listed.items():
        assert (row["week"], row["date"], row["waits_on"]) == (answers[ref]["week"], answers[ref]["date"],
                                                               answers[ref]["waits_on"])
        assert f"<td>{ref} " in html
    assert page["totals"]["targets_not_blocked"] == sum(a["status"] == "not_blocked" for a in answers.values())
    households = {t["ref"]: t["displaced_households"] or 0 for t in targets if t["kind"] == "settlement"}
    by_quarter: dict[str, int] = {}
    for ref, a in answers.items():
        if ref in households and a["status"] == "planned":
            day = dt.date.fromisoformat(a["date"])
            key = f"{day.year} Q{(day.month + 2) // 3}"
            by_quarter[key] = by_quarter.get(key, 0) + households[ref]
    assert {q["quarter"]: q["households"] for q in page["quarters"] if q["households"]} == by_quarter
    assert page["quarters"][-1]["cumulative_households"] == page["totals"]["households_returning"] == sum(
        by_quarter.values()) > 0
    assert page["run"]["id"] == run["id"] and page["run"]["gap"] == run["gap"]
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', html)
    assert [alt for _, alt in images] == [f"Gantt chart of plan run {run['id']}, one row per team",
                                          "Planned hazard areas by release week"]
    assert all(base64.b64decode(data).startswith(b"\x89PNG") for data, _ in images)
    public = " ".join(r["name"] or "" for layer in ("priority_target", "hazard_area", "admin_area")
                      for r in ws.store.query(layer, fields=["name"], geometry=False))
    personal = {v for c in ws.store.query("casualty", fields=["given_name", "family_name"], geometry=False)
                for v in (c["given_name"], c["family_name"]) if v and v not in public}
    assert len(personal) > 10
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    assert not [v for v in personal if re.search(rf"\b{re.escape(v)}\b", text)]
    assert list(SECTIONS).index("plan") == list(SECTIONS).index("operations") + 1
