"""Priority scores on the small demo, both backends: every open hazard scored, explained, weights from a file."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from safeground.cli import main
from safeground.domain.errors import ValidationError
from safeground.domain.priority import CRITERIA, score
from safeground.services.plan_priorities import priorities
from safeground.services.workspace import Workspace

AS_OF = dt.date(2024, 6, 1)


@pytest.fixture(scope="module")
def demo(any_small_demo: str) -> Iterator[Workspace]:
    with Workspace.open(any_small_demo, user="ana") as ws:
        yield ws


def test_every_open_hazard_is_scored_once_and_explained(demo: Workspace) -> None:
    ws = demo
    for method in ("weighted", "promethee"):
        doc = priorities(ws, method=method, as_of=AS_OF)
        open_refs = {h["ref"] for h in ws.store.query("hazard_area", geometry=False, fields=["status"])
                     if h["status"] in ("open", "worked_on")}
        assert sorted(r["ref"] for r in doc["hazards"]) == sorted(open_refs) and doc["count"] == len(open_refs)
        scores = [r["score"] for r in doc["hazards"]]
        assert scores == sorted(scores, reverse=True)
        for row in doc["hazards"]:
            assert row["score"] == pytest.approx(sum(c["contribution"] for c in row["criteria"].values()))
            assert row["criteria"]["contamination"]["contribution"] == 0.0
        assert doc["skipped"] == ["contamination"]
    promethee = priorities(ws, method="promethee", as_of=AS_OF)
    assert sum(r["score"] for r in promethee["hazards"]) == pytest.approx(0.0, abs=1e-9)


def test_displaced_households_are_shared_among_open_blocking_hazards(demo: Workspace) -> None:
    ws = demo
    doc = priorities(ws, as_of=AS_OF)
    open_uuids = {r["uuid"] for r in doc["hazards"]}
    waiting = sum(t["displaced_households"] or 0
                  for t in ws.store.query("priority_target", where={"kind": "settlement"}, geometry=False,
                                          fields=["displaced_households", "blocking_hazards"])
                  if set((t["blocking_hazards"] or "").split()) & open_uuids)
    assert waiting > 0
    assert sum(r["criteria"]["households"]["value"] for r in doc["hazards"]) == pytest.approx(waiting)


def test_weights_file_reorders_and_bad_weights_are_refused(demo: Workspace, tmp_path: Path) -> None:
    ws, path = demo, demo.store.location
    weights = tmp_path / "w.yaml"
    weights.write_text("households: 0\nprojects: 0\npopulation: 0\nblockages: 0\ncasualties: 1\n")
    runner = CliRunner()
    out = runner.invoke(main, ["plan", "priorities", "--db", str(path), "--weights", str(weights),
                               "--as-of", "2024-06-01", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    casualties = [r["criteria"]["casualties"]["value"] for r in doc["hazards"]]
    assert casualties == sorted(casualties, reverse=True) and casualties[0] > 0
    for name in ("given_name", "family_name", "national_id"):
        assert name not in out.output
    for c in ws.store.query("casualty", geometry=False, fields=["family_name"]):
        if c["family_name"]:
            assert c["family_name"] not in out.output
    weights.write_text("housholds: 2\n")
    bad = runner.invoke(main, ["plan", "priorities", "--db", str(path), "--weights", str(weights)])
    assert bad.exit_code == 1 and "plan.unknown_criterion" in bad.output
    text = runner.invoke(main, ["plan", "priorities", "--db", str(path), "--method", "promethee", "--limit", "3"])
    assert text.exit_code == 0 and "promethee" in text.output and len(text.output.splitlines()) == 5



@settings(max_examples=60, deadline=None)
@given(st.data())
def test_scores_are_bounded_and_scale_free(data) -> None:  # type: ignore[no-untyped-def]
    n = data.draw(st.integers(2, 30))
    values = {c: data.draw(st.lists(st.floats(0, 1e6), min_size=n, max_size=n)) for c in CRITERIA[:4]}
    weights = {c: data.draw(st.floats(0.1, 10)) for c in values}
    weighted = score(values, weights)
    assert all(-1e-9 <= s <= 1 + 1e-9 for s in weighted.scores)
    promethee = score(values, weights, "promethee")
    assert sum(promethee.scores) == pytest.approx(0.0, abs=1e-6)
    assert all(-1 - 1e-9 <= s <= 1 + 1e-9 for s in promethee.scores)
    scaled = score({c: [3.0 * v for v in col] for c, col in values.items()}, weights, "promethee")
    assert scaled.scores == pytest.approx(promethee.scores, abs=1e-9)


def test_unknown_criterion_or_negative_weight_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        score({"casualties": [1.0, 2.0]}, {"casualties": -1.0})
    assert err.value.code == "plan.bad_weight"
    with pytest.raises(ValidationError) as err:
        score({"casualties": [1.0, 2.0]}, {"casualties": 1.0}, method="topsis")
    assert err.value.code == "plan.bad_method"
