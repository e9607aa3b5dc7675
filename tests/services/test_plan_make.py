"""`plan make` on the small demo, both backends: a checked plan, value ≥ greedy, bound ≥ value, CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from safeground.cli import main
from safeground.domain.plan import check_plan
from safeground.services.plan_greedy import greedy_plan
from safeground.services.plan_instance import build_instance
from safeground.services.workspace import Workspace

START = dt.date(2026, 1, 5)


@pytest.fixture(scope="module")
def demo(any_small_demo: str) -> Iterator[Workspace]:
    """A copy of the small demo on each backend in turn (plan make stores its run: never in the shared demo)."""
    with Workspace.open(any_small_demo, user="ana") as ws:
        yield ws


def test_instance_holds_the_open_hazards_teams_and_targets(demo: Workspace) -> None:
    ws = demo
    built = build_instance(ws, START, 12)
    inst = built.instance
    open_hazards = [h for h in ws.store.query("hazard_area", geometry=False, fields=["status", "remaining_area_m2"])
                    if h["status"] in ("open", "worked_on") and (h["remaining_area_m2"] or 0) > 1.0]
    assert {h.id for h in inst.hazards} == {h["ref"] for h in open_hazards}
    assert sum(h.area_m2 for h in inst.hazards) == pytest.approx(sum(h["remaining_area_m2"] for h in open_hazards))
    assert len(inst.teams) + len(built.skipped_teams) == ws.store.count("team")
    assert all(v >= 0 for v in inst.travel_loss.values()) and any(v > 0 for v in inst.travel_loss.values())
    ids = {h.id for h in inst.hazards}
    assert inst.targets and all(set(t.blocking) <= ids for t in inst.targets)
    check_plan(inst, greedy_plan(inst))


def test_plan_make_reports_a_checked_plan_and_exports_it(demo: Workspace, tmp_path: Path) -> None:
    path = demo.store.location
    out = tmp_path / "plan.csv"
    result = CliRunner().invoke(main, ["plan", "make", "--db", str(path), "--start", START.isoformat(),
                                       "--horizon", "6", "--time-limit", "5", "--out", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["value"] >= doc["greedy_value"] - 1e-6
    assert doc["bound"] >= doc["value"] - 1e-6 * max(1.0, doc["value"])
    assert 0.0 <= doc["gap"] <= 1.0
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and list(rows[0]) == ["team_id", "hazard_id", "start_week", "end_week", "area_m2", "method"]
    assert len(rows) == len(doc["items"])
    by_team: dict[str, list[tuple[int, int]]] = {}
    for r in rows:
        assert 0 <= int(r["start_week"]) <= int(r["end_week"]) < 6
        by_team.setdefault(r["team_id"], []).append((int(r["start_week"]), int(r["end_week"])))
    for spans in by_team.values():
        spans.sort()
        assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
    for t in doc["target_weeks"]:
        assert t["week"] is None or dt.date.fromisoformat(t["date"]) == START + dt.timedelta(days=7 * t["week"] + 6)
    bad = CliRunner().invoke(main, ["plan", "make", "--db", str(path), "--start", START.isoformat(),
                                    "--horizon", "2", "--out", str(tmp_path / "plan.xlsx")])
    assert bad.exit_code == 1 and "plan.bad_out" in bad.output


def test_instance_of_the_most_urgent_hazards_leaves_out_targets_that_wait_on_others(demo: Workspace) -> None:
    from safeground.services.plan_priorities import priorities

    ws = demo
    full = build_instance(ws, START, 12).instance
    n = len({h for t in full.targets for h in t.blocking}) - 1  # so at least one blocking hazard is left out
    built = build_instance(ws, START, 12, hazards=n)
    inst = built.instance
    ranked = [r["ref"] for r in priorities(ws, as_of=START)["hazards"] if r["ref"] in {h.id for h in full.hazards}]
    assert [h.id for h in inst.hazards] == sorted(ranked[:n])  # the n most urgent, in ref order
    planned = {h.id for h in inst.hazards}
    kept = {t.id for t in inst.targets}
    for target in full.targets:  # a target is planned exactly when all its open hazards are
        assert (target.id in kept) == (set(target.blocking) <= planned)
    assert built.targets_left_out == len(full.targets) - len(inst.targets) > 0
    assert {(t, h) for t, h in inst.travel_loss} == {(t.id, h) for t in inst.teams for h in planned}
    same = build_instance(ws, START, 12, hazards=len(full.hazards) + 5)
    assert [h.id for h in same.instance.hazards] == [h.id for h in full.hazards] and same.targets_left_out == 0


def test_plan_make_plans_only_the_most_urgent_hazards_when_asked(demo: Workspace) -> None:
    path = demo.store.location
    result = CliRunner().invoke(main, ["plan", "make", "--db", str(path), "--start", START.isoformat(),
                                       "--horizon", "6", "--time-limit", "2", "--hazards", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["hazards"] == 3 and doc["targets_left_out"] > 0
    assert len({i["hazard_id"] for i in doc["items"]}) <= 3
    text = CliRunner().invoke(main, ["plan", "make", "--db", str(path), "--start", START.isoformat(),
                                     "--horizon", "6", "--time-limit", "1", "--hazards", "3"])
    assert text.exit_code == 0 and "targets left out: they also wait on hazards outside the 3 planned" in text.output
    bad = CliRunner().invoke(main, ["plan", "make", "--db", str(path), "--start", START.isoformat(),
                                    "--horizon", "6", "--hazards", "0"])
    assert bad.exit_code == 1 and "plan.bad_hazards" in bad.output and "--hazards" in bad.output
