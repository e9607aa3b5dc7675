"""`risk evaluate`: leave-one-group-out on real RELand cells, metrics on labelled cells, the served score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from safeground.domain.errors import ValidationError
from safeground.services.risk_cells import read_cell_table
from safeground.services.risk_evaluate import MODEL, ScoreResult, decide, evaluate, metrics
from safeground.services.risk_model import ModelSettings

SMALL = ModelSettings(trees=15, grid=((7, 20),), inner_folds=2)


def test_every_cell_is_predicted_by_a_model_that_never_saw_its_group(reland_csv: Path) -> None:
    table = read_cell_table(reland_csv, label_column="mines_outcome", group_column="Municipio")
    ev = evaluate(table, SMALL)
    assert ev.groups == 5 and ev.cells == len(table)
    assert [r.name for r in ev.results] == [MODEL, *[n for n in table.names if n.endswith("_dist")]]
    for r in ev.results:
        assert np.isfinite(r.risk).all() and ((r.risk > 0) & (r.risk < 1)).all()
        assert 0 <= r.metrics["recall_5pct"] <= r.metrics["recall_10pct"] <= 1
        assert 0 < r.metrics["roc_auc"] < 1 and 0 <= r.metrics["brier"] <= 1
    assert [c["group"] for c in ev.chosen] == sorted(set(table.groups))  # tuned inside each outer fold
    assert ev.served in {r.name for r in ev.results}
    assert len(ev.reasons) == len(table) and all(ev.reasons)


def test_metrics_score_labelled_cells_only_but_budget_the_whole_area() -> None:
    y = np.array([1, 0, 1, 0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan])
    p = np.array([0.9, 0.2, 0.8, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    m = metrics(y, p)
    assert m["roc_auc"] == 1.0
    p2 = p.copy()
    p2[4:] = [0.99, 0.98, 0.97, 0.96, 0.95, 0.94]  # unknown cells outrank everything: labelled metrics unchanged
    m2 = metrics(y, p2)
    assert m2["roc_auc"] == m["roc_auc"] and m2["brier"] == m["brier"] and m2["pr_auc"] == m["pr_auc"]
    assert m["recall_10pct"] == 0.5 and m2["recall_10pct"] == 0.0  # ... but they take up the survey budget


def _score(name: str, auc: float, recall: float) -> ScoreResult:
    return ScoreResult(name, {"roc_auc": auc, "recall_10pct": recall}, np.zeros(1))


def test_a_baseline_that_beats_the_model_is_named_and_served() -> None:
    served, wins, verdict = decide([_score(MODEL, 0.80, 0.40), _score("ev_any_dist", 0.94, 0.60),
                                    _score("roads_dist", 0.60, 0.20)])
    assert (served, wins) == ("ev_any_dist", False)
    assert "does not win" in verdict and "ev_any_dist is served" in verdict
    # Winning on ROC-AUC is not enough: the model must also find as many positives in the top 10%.
    served, wins, _ = decide([_score(MODEL, 0.95, 0.50), _score("ev_any_dist", 0.94, 0.60)])
    assert (served, wins) == ("ev_any_dist", False)
    served, wins, verdict = decide([_score(MODEL, 0.95, 0.65), _score("ev_any_dist", 0.94, 0.60)])
    assert (served, wins) == (MODEL, True) and "model is served" in verdict


def test_evaluation_needs_groups_and_labels(reland_csv: Path) -> None:
    no_group = read_cell_table(reland_csv, label_column="mines_outcome")
    with pytest.raises(ValidationError) as info:
        evaluate(no_group, SMALL)
    assert info.value.code == "risk.no_group"
    no_label = read_cell_table(reland_csv, group_column="Municipio")
    with pytest.raises(ValidationError) as info:
        evaluate(no_label, SMALL)
    assert info.value.code == "risk.no_label"
