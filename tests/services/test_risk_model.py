"""The risk model on real RELand cells with register evidence: monotone, unknown never negative, reasons."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeground.domain.risk import is_monotone
from safeground.services.risk_cells import CellTable, read_cell_table
from safeground.services.risk_features import evidence_features
from safeground.services.risk_model import ModelSettings, RiskModel, fit_model
from safeground.services.workspace import Workspace

SMALL = ModelSettings(trees=15, grid=((7, 20),), inner_folds=2, monotone=("*_dist",))


@pytest.fixture(scope="module")
def with_years(reland_csv: Path, antioquia_db: Path) -> tuple[CellTable, dict[str, np.ndarray]]:
    table = read_cell_table(reland_csv, label_column="mines_outcome", group_column="Municipio")
    with Workspace.open(antioquia_db, user="ana", read_only=True) as ws:
        ev = evidence_features(ws, table.points, dt.date(2009, 12, 31))
    return table.with_features(ev.names, ev.values), ev.years


@pytest.fixture(scope="module")
def cells(with_years: tuple[CellTable, dict[str, np.ndarray]]) -> CellTable:
    return with_years[0]


@pytest.fixture(scope="module", params=[False, True], ids=["trees", "trees-from-distance"])
def model(cells: CellTable, request: pytest.FixtureRequest) -> RiskModel:
    settings = dataclasses.replace(SMALL, start_from_baseline=request.param)
    fitted = fit_model(cells.features, cells.labels, cells.names, settings, cells.groups)
    assert (fitted.base is not None) == request.param
    return fitted


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_moving_a_cell_further_from_evidence_never_raises_its_risk(model: RiskModel, cells: CellTable,
                                                                   data: st.DataObject) -> None:
    constrained = [j for j, n in enumerate(cells.names) if is_monotone(n, SMALL.monotone)]
    assert any(cells.names[j].startswith("ev_") for j in constrained)
    i = data.draw(st.integers(0, len(cells) - 1))
    j = data.draw(st.sampled_from(constrained))
    further = data.draw(st.floats(0.01, 200.0))
    x = cells.features[i: i + 1].copy()
    if np.isnan(x[0, j]):
        x[0, j] = 0.0
    moved = x.copy()
    moved[0, j] += further
    assert model.risk(moved)[0] <= model.risk(x)[0] + 1e-12


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000))
def test_unknown_cells_never_change_the_fit(cells: CellTable, seed: int) -> None:
    rng = np.random.default_rng(seed)
    known = ~np.isnan(cells.labels)
    fitted = fit_model(cells.features[known], cells.labels[known], cells.names, SMALL, cells.groups[known])
    # Unknown cells, with any features at all (here: shuffled real rows), are left out of fitting and tuning.
    extra = cells.features[rng.permutation(len(cells))[:200]]
    features = np.vstack([cells.features[known], extra])
    labels = np.concatenate([cells.labels[known], np.full(len(extra), np.nan)])
    groups = np.concatenate([cells.groups[known], cells.groups[known][:len(extra)]])
    with_unknown = fit_model(features, labels, cells.names, SMALL, groups)
    np.testing.assert_array_equal(fitted.risk(cells.features), with_unknown.risk(cells.features))
    assert with_unknown.platt == fitted.platt


def test_the_model_keeps_its_risks_through_storage_and_explains_each_cell(
        model: RiskModel, cells: CellTable, with_years: tuple[CellTable, dict[str, np.ndarray]]) -> None:
    again = RiskModel.from_bytes(model.to_bytes())
    np.testing.assert_array_equal(again.risk(cells.features), model.risk(cells.features))
    risk = model.risk(cells.features)
    assert ((risk > 0) & (risk < 1)).all()
    reasons = model.reasons(cells.features, with_years[1])
    assert len(reasons) == len(cells) and all(1 <= len(r) <= 3 for r in reasons)
    texts = [x["text"] for r in reasons for x in r]
    assert all(t.startswith(("raises risk: ", "lowers risk: ")) for t in texts)
    # Evidence distances read as plain words with the year of the nearest record known by the cut-off.
    evidence = [t for t in texts if " km from a" in t]
    assert evidence and all(any(f" a {y} " in t for y in range(1990, 2010)) for t in evidence), evidence[:5]


def test_reasons_for_millions_come_from_one_contribution_per_signature_and_read_as_the_model_explains(
        model: RiskModel, cells: CellTable, with_years: tuple[CellTable, dict[str, np.ndarray]]) -> None:
    import json

    from safeground.services.risk_reasons import reason_lists, signatures

    x = cells.features
    reps, inverse = signatures(model.booster, x)
    assert len(reps) < len(x)  # cells share signatures ...
    full = model.booster.predict(x, pred_contrib=True)
    np.testing.assert_allclose(full[reps][inverse], full, atol=1e-12)  # ... and with them their contributions
    as_model = dataclasses.replace(model, served="model")  # the fixture's fit may serve a distance instead
    lists = reason_lists(as_model, x, with_years[1])
    explained = as_model.reasons(x, with_years[1])
    for stored, words in zip(lists, explained, strict=True):
        assert sorted(json.loads(stored)) == sorted(r["text"] for r in words)
