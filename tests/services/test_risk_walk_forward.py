"""Walk-forward validation on the register's real Antioquia events: the test years never reach the fit."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from safeground.domain.errors import ValidationError
from safeground.services.records import add_record
from safeground.services.risk_model import ModelSettings
from safeground.services.risk_walk_forward import parse_years, walk_forward
from safeground.services.workspace import Workspace

SMALL = ModelSettings(trees=20, grid=((7, 20),), inner_folds=3)
ANTIOQUIA = "-77.2,5.4,-73.8,8.9"


def _risks(ws: Workspace, run_id: int) -> np.ndarray:
    return np.array([c["risk"] for c in ws.store.risk_cells(run_id)])


def test_walk_forward_scores_the_served_choice_beside_every_baseline_and_never_sees_the_test_years(
        antioquia_ws: Workspace) -> None:
    wf = walk_forward(antioquia_ws, (2004, 2009, 2014), cell_size=10_000, area=ANTIOQUIA, settings=SMALL)
    assert wf.cells > 1000 and 0 < wf.train_positive < wf.cells and wf.test_positive > 50
    names = [r["score"] for r in wf.table]
    assert names[0] == f"served: {wf.served}" and {"ev_accident_dist", "ev_any_dist"} <= set(names)
    for r in wf.table:
        assert 0.5 < r["roc_auc"] <= 1 and 0 <= r["recall_5pct"] <= r["recall_10pct"] <= 1
    run = antioquia_ws.store.risk_runs(run_id=wf.run["id"])[0]
    assert (run["kind"], run["as_of"], run["cell_count"]) == ("evaluate", "2009-12-31", wf.cells)
    assert wf.tuning["labels"]["negative"] == 0  # all non-event cells are unlabelled, none negative
    # A record of the test years (known in 2012) changes the score sheet, never the fit nor the prediction.
    add_record(antioquia_ws, "accident", {"accident_type": "mine_erw", "accident_date": "2012-06-01",
                                          "info_date": "2012-06-02", "geometry": shapely.Point(-76.9, 8.7)},
               review_state="approved")
    again = walk_forward(antioquia_ws, (2004, 2009, 2014), cell_size=10_000, area=ANTIOQUIA, settings=SMALL)
    np.testing.assert_array_equal(_risks(antioquia_ws, again.run["id"]), _risks(antioquia_ws, wf.run["id"]))
    assert again.tuning["baselines_roc_auc"] == wf.tuning["baselines_roc_auc"]
    assert again.tuning["test_records"] == wf.tuning["test_records"] + 1


def test_walk_forward_years_must_increase() -> None:
    for bad in ("2009,2004,2014", "2004,2009", "a,b,c"):
        with pytest.raises(ValidationError) as info:
            parse_years(bad)
        assert info.value.code == "risk.bad_walk_forward"
