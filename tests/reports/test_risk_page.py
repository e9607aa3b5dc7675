"""The report's risk page: the current run's id and date, the score served, its validation as stored with the
run, its cells by risk band, a map, and the caveat; one line when no run was adopted."""

from __future__ import annotations

import re
import shutil
from html import unescape
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
import shapely
from tests.reports.conftest import META, YEAR, World

from safeground.reports import maps
from safeground.reports.situation import build_context, gather, render_report_html
from safeground.services.map_layers import map_layers
from safeground.services.risk_map import CAVEAT, run_summary
from safeground.services.risk_targets import survey_targets
from safeground.services.workspace import Workspace

SCORES = [{"score": "model", "roc_auc": 0.951, "pr_auc": 0.41, "recall_5pct": 0.44, "recall_10pct": 0.598,
           "brier": 0.061, "calibration_error": 0.012},
          {"score": "ev_any_dist", "roc_auc": 0.935, "pr_auc": 0.38, "recall_5pct": 0.41, "recall_10pct": 0.593,
           "brier": 0.066, "calibration_error": 0.02}]


def section(html: str) -> str:
    return unescape(html[html.index('<section id="risk"'):html.index('<section id="eore"')])


@pytest.fixture(scope="module")
def with_run(built: tuple[Path, World], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A copy of the report's database with an adopted risk surface of 30 x 30 cells over Meta."""
    path = tmp_path_factory.mktemp("risk-report") / "report.gpkg"
    shutil.copy(built[0], path)
    minx, miny, maxx, maxy = META.bounds
    n = 30
    dx, dy = (maxx - minx) / n, (maxy - miny) / n
    cells = [shapely.box(minx + i * dx, miny + j * dy, minx + (i + 1) * dx, miny + (j + 1) * dy)
             for i in range(n) for j in range(n)]
    risks = np.linspace(0.0, 1.0, len(cells)).round(4).tolist()
    with Workspace.open(path, user="ana") as ws:
        run = ws.store.write_risk_run(
            {"kind": "surface", "as_of": "2023-12-31", "cells_source": "grid", "served": "model",
             "metrics": {"split": "leave one group out", "verdict": "The model beats every baseline.",
                         "scores": SCORES}},
            {"cell_id": [str(i) for i in range(len(cells))], "risk": risks, "geometry": cells,
             "reasons": [[{"text": "raises risk: 1.2 km from a 2013 accident"}]] * len(cells)}, user="ana")
        ws.store.adopt_risk_run(run["id"], user="ana")
    return path, {"run": run, "risks": risks}


def test_without_a_current_run_the_page_says_so_in_one_line(built: tuple[Path, World]) -> None:
    with Workspace.open(built[0], read_only=True) as ws:
        d = gather(ws, YEAR)
    page = section(render_report_html(d))
    assert re.findall(r"<p[^>]*>(.*?)</p>", page) == [
        "No risk surface has been adopted, so this report shows no predicted risk."]
    assert build_context(d, charts=False)["risk"] == {"current": False, "caveat": CAVEAT}


def test_the_page_names_the_run_its_score_validation_bands_and_caveat(with_run: tuple[Path, dict[str, Any]]
                                                                       ) -> None:
    path, built = with_run
    run = built["run"]
    with Workspace.open(path, read_only=True) as ws:
        d = gather(ws, YEAR)
        summary = run_summary(ws)
    ctx = build_context(d)
    assert ctx["risk"] == summary and summary["run"] == run["id"]
    page = section(render_report_html(d))
    assert f"Risk surface run {run['id']}, as of 2023-12-31" in page
    assert "Score served: <strong class=\"risk-served\">the model</strong>" in page
    assert "The model beats every baseline." in page
    rows = re.findall(r"<tr[^>]*><td>(model|ev_any_dist)</td>(.*?)</tr>", page)
    assert [(name, re.findall(r'<td class="num">(.*?)</td>', cells)) for name, cells in rows] == [
        (s["score"], [f"{s[k]:.3f}" for k in ("roc_auc", "pr_auc", "recall_5pct", "recall_10pct", "brier",
                                              "calibration_error")]) for s in SCORES]
    # every cell once in its band, as the band table shows it
    risks = np.array(built["risks"])
    expected = [int(((risks >= lo) & (risks < hi)).sum()) for lo, hi in
                ((0, 0.05), (0.05, 0.1), (0.1, 0.2), (0.2, 0.4))] + [int((risks >= 0.4).sum())]
    shown = [int(n.replace(",", "")) for n in re.findall(r'%</td><td class="num">([\d,]+)</td>', page)]
    assert shown == expected and sum(shown) == 900
    assert CAVEAT in page
    assert 'src="data:image/png;base64,' in page and ctx["maps"]["risk"] is not None


def test_the_risk_map_draws_each_band_once_with_its_count(with_run: tuple[Path, dict[str, Any]]) -> None:
    with Workspace.open(with_run[0], read_only=True) as ws:
        layers = map_layers(ws, year=YEAR)
    assert layers is not None and len(layers.risk_cells) == 900
    assert layers.risk_title == f"Risk surface run {with_run[1]['run']['id']}, as of 2023-12-31"
    try:
        fig = maps.risk_map(layers)
        legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
        assert "40% to 100%: 540 cells" in legend and "Open hazard areas (recorded)" in legend
        assert fig.texts[0].get_text() == layers.risk_title  # the map's title names the run
    finally:
        plt.close("all")


def test_the_page_lists_the_survey_targets_as_risk_targets_finds_them(with_run: tuple[Path, dict[str, Any]]) -> None:
    path, built = with_run
    with Workspace.open(path, read_only=True) as ws:
        d = gather(ws, YEAR)
        _run, targets = survey_targets(ws)
    page = section(render_report_html(d))
    assert "<h3>Survey targets</h3>" in page
    rows = re.findall(r'<table class="risk-targets">.*?<tbody>(.*?)</tbody>', page, re.S)[0]
    shown = [re.findall(r"<td[^>]*>(.*?)</td>", r)[:4] for r in re.findall(r"<tr>(.*?)</tr>", rows)]
    assert shown == [[str(t.rank), f"{len(t.cells):,}", f"{t.area_m2 / 1e6:,.2f}", f"{t.expected_finds:.2f}"]
                     for t in targets[:10]]
    # the top 10% of the 900 cells, as the fixture's risks rank them: one block of 90 touching cells
    top = np.sort(np.array(built["risks"]))[-90:]
    assert len(targets) == 1 and len(targets[0].cells) == 90
    assert abs(targets[0].expected_finds - float(top.sum())) < 1e-6


def test_without_a_surface_there_are_no_targets(built: tuple[Path, World]) -> None:
    with Workspace.open(built[0], read_only=True) as ws:
        assert gather(ws, YEAR).risk_targets == []
