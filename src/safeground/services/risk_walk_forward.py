"""Walk-forward validation over a grid: fit on one period, choose on it, predict the next, score on the one after.

The issue's check on Colombia's register (``risk evaluate --walk-forward 2004,2009,2014 --cell-size 5000``):

1. **Fit**: evidence features as of the end of the first year (2004); cells touched by any record that became
   known in the second period (2005-2009) are positive; every other cell is unlabelled and goes through the
   positive-unlabelled fit (``services/risk_pu.py``), never as a negative. The choice between the model and
   each distance baseline is made inside this fit, on spatial-block folds of 2005-2009 labels only.
2. **Predict** every cell with the features as of the end of the second period (2009).
3. **Score** against the third period (2010-2014): a cell is a test positive when a record known then touches
   it. Metrics: ROC-AUC of test-positive cells against all others, and the share of test-positive cells in
   the top 5% and 10% of cells (recall at an area budget), for the served score, the model and every
   evidence distance alone. The test years are never seen before this step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from safeground.domain.errors import ValidationError
from safeground.services.risk_evaluate import recall_at
from safeground.services.risk_features import evidence_features
from safeground.services.risk_labels import event_labels
from safeground.services.risk_layers import LayerSpec, layer_features, with_layers
from safeground.services.risk_model import ModelSettings, distance_score
from safeground.services.risk_pu import fit_pu_model
from safeground.services.risk_reasons import reason_lists, signature_risk, signatures
from safeground.services.risk_surface import in_model_order, surface_cells
from safeground.services.workspace import Workspace
from safeground.store.base import Record

Progress = Callable[[str, int, int], None]


@dataclass
class WalkForward:
    """The walk-forward table (one row per score), the served score and the stored run."""

    years: tuple[int, int, int]
    cells: int
    area: str
    train_positive: int
    test_positive: int
    served: str
    table: list[dict[str, Any]]
    tuning: dict[str, Any]
    run: Record

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run["id"], "split": "walk-forward", "years": list(self.years), "cells": self.cells,
                "area": self.area, "train_positive": self.train_positive, "test_positive": self.test_positive,
                "served": self.served, "scores": self.table, "tuning": self.tuning}


def parse_years(text: str) -> tuple[int, int, int]:
    """``2004,2009,2014`` -> (2004, 2009, 2014): fit features up to the first, labels up to the second, test
    up to the third.

    >>> parse_years("2004,2009,2014")
    (2004, 2009, 2014)
    """
    try:
        a, b, c = (int(p) for p in text.split(","))
    except ValueError:
        a = b = c = 0
    if not 1900 < a < b < c < 2200:
        raise ValidationError("risk.bad_walk_forward", f"--walk-forward {text!r} is not three increasing years.",
                              hint="Give e.g. --walk-forward 2004,2009,2014.")
    return a, b, c


def walk_forward(ws: Workspace, years: tuple[int, int, int], *, cell_size: float, area: str | None = None,
                 settings: ModelSettings | None = None, progress: Progress | None = None,
                 layers: list[LayerSpec] | None = None) -> WalkForward:
    """Fit up to ``years[0]`` with labels up to ``years[1]``, predict as of ``years[1]``, score on ``years[2]``;
    the context ``layers`` (undated) add the same features to both."""
    settings = settings or ModelSettings()
    cut = [dt.date(y, 12, 31) for y in years]
    sc = surface_cells(ws, cell_size=cell_size, area=area)
    past = evidence_features(ws, None, cut[0], crs=sc.crs, xy=sc.xy)
    if not past.names:
        raise ValidationError("risk.no_evidence", f"No evidence was known by {cut[0].isoformat()}.",
                              hint="Import the register first, or move the first year of --walk-forward.")
    context = layer_features(ws, layers or [], sc.xy, sc.crs)
    past = with_layers(past, context)
    train, train_records = event_labels(ws, sc.polygons, cut[0], cut[1])
    model = fit_pu_model(past.values, train, past.names, settings, sc.blocks, progress=progress)
    now = with_layers(evidence_features(ws, None, cut[1], crs=sc.crs, xy=sc.xy), context)
    x = in_model_order(now.names, now.values, model.names)
    test, test_records = event_labels(ws, sc.polygons, cut[1], cut[2])
    y = np.nan_to_num(test, nan=0.0)
    if not y.any():
        raise ValidationError("risk.no_positives", f"No record became known in {years[1] + 1}-{years[2]}: "
                              "nothing to score against.", hint="Check the last year of --walk-forward.")
    signature = signatures(model.booster, x) if model.served == "model" else None
    served_risk = signature_risk(model, x, signature)
    scores = {"served: " + model.served: served_risk}
    if model.served != "model":
        scores["model"] = model.risk_of_model(x)
    for j, n in enumerate(model.names):
        if n.endswith("_dist"):
            scores[n] = distance_score(x[:, j])
    table = [{"score": name, **_metrics(y, s)} for name, s in scores.items()]
    reasons = reason_lists(model, x, now.years, signature=signature)
    tuning = {**model.chosen, "train_records": train_records, "test_records": test_records}
    parameters = {"cells": "grid", "cell_size_m": cell_size, "area": area, "area_described": sc.described,
                  "walk_forward": list(years), "settings": settings.to_dict(), "features": model.names,
                  "layers": [spec.describe() for spec in layers or []]}
    run = ws.store.write_risk_run(
        {"kind": "evaluate", "as_of": cut[1].isoformat(), "cells_source": "grid", "parameters": parameters,
         "metrics": {"split": "walk-forward", "scores": table, "served": model.served, "tuning": tuning},
         "model": model.to_bytes(), "served": model.served},
        cast(Any, {**sc.stored(), "risk": served_risk, "reasons": reasons}),
        user=ws.user)
    return WalkForward(years, len(sc.ids), sc.described, int(np.nansum(train)), int(y.sum()), model.served,
                       table, tuning, run)


def _metrics(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    return {"roc_auc": round(float(roc_auc_score(y, score)), 4), "recall_5pct": round(recall_at(y, score, 0.05), 4),
            "recall_10pct": round(recall_at(y, score, 0.10), 4)}
