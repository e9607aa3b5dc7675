"""The context prior: where evidence turns up, given only the context layers (presence-background).

The surface's labels are few (finds and confirmed hazards of the label window: a few dozen cells on the demo)
and lie near earlier evidence, so the trees cannot learn what the line of contact, roads or bridges mean far
from it. The evidence itself is many more points: every accident, find, hazard and minefield record known by
the fit's cut-off. Following species-distribution modelling's *presence-background* idea (Phillips and Elith,
*On estimating probability of presence from use-availability or presence-background data*, Ecology 2013),
SafeGround fits a small model of ``P(evidence in a cell | context)`` on the ``ctx_*`` columns alone:
**presence** is a cell with evidence known by the cut-off within half a cell of its centre, **background** every
other cell. Its log-odds, centred, enter the positive-unlabelled fit as a fixed offset, weighted by ``weight``
(chosen on the fit's own inner folds, ``risk_pu.PRIOR_WEIGHTS``), so that far from evidence the context ranks
cells. Shallow LightGBM trees (the library the model already uses): they take the context's non-linear shape,
such as both sides of a line of contact, and their SHAP contributions name the layers in each cell's reasons.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The prior's size: few shallow trees, leaves of at least this many cells.
PRIOR_TREES = 100
PRIOR_LEAVES = 4
PRIOR_MIN_CELLS = 50


@dataclass
class ContextPrior:
    """A fitted context prior: its trees over the ``ctx_*`` columns ``names``, the mean log-odds it is centred
    on, the number of presence cells it learnt from, and the weight the fit chose for it."""

    booster: Any
    names: list[str]
    mean: float
    presence: int
    weight: float = 0.0

    def log_odds(self, names: list[str], values: np.ndarray) -> np.ndarray:
        """The prior's centred log-odds for cells whose columns are ``names`` (its own columns, by name)."""
        x = _columns(names, values, self.names)
        raw = self.booster.predict(x, raw_score=True, num_threads=os.cpu_count() or 1)
        return np.asarray(raw, dtype=float) - self.mean

    def offset(self, names: list[str], values: np.ndarray) -> np.ndarray:
        """The weighted log-odds the model adds to its score."""
        if self.weight == 0.0:
            return np.zeros(len(values))
        return self.weight * self.log_odds(names, values)

    def contributions(self, names: list[str], values: np.ndarray) -> np.ndarray:
        """The weighted offset split over ``names`` (TreeSHAP of the prior's trees; zero outside its columns)."""
        out = np.zeros((len(values), len(names)))
        if self.weight == 0.0:
            return out
        x = _columns(names, values, self.names)
        contrib = np.asarray(self.booster.predict(x, pred_contrib=True), dtype=float)[:, :-1]
        for j, n in enumerate(self.names):
            out[:, names.index(n)] = self.weight * contrib[:, j]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"names": self.names, "mean": self.mean, "presence": self.presence, "weight": self.weight,
                "booster": self.booster.model_to_string()}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ContextPrior:
        import lightgbm as lgb

        return cls(lgb.Booster(model_str=doc["booster"]), list(doc["names"]), float(doc["mean"]),
                   int(doc["presence"]), float(doc["weight"]))


def presence_cells(names: list[str], values: np.ndarray, radius_km: float) -> np.ndarray:
    """Cells with evidence of any type within ``radius_km`` of their centre (``ev_any_dist``).

    >>> presence_cells(["ev_any_dist"], np.array([[0.3], [1.5], [np.nan]]), 0.5).tolist()
    [True, False, False]
    """
    column = "ev_any_dist"
    if column not in names:
        return np.zeros(len(values), dtype=bool)
    d = values[:, names.index(column)]
    return np.asarray(np.nan_to_num(d, nan=np.inf) <= radius_km)


def fit_context_prior(names: list[str], values: np.ndarray, cell_size_m: float, *, seed: int = 1,
                      monotone: tuple[str, ...] = ()) -> ContextPrior | None:
    """The context prior from the evidence known at the fit's cut-off (``values``: evidence and context columns
    of every cell), or ``None`` without context columns or without both presence and background cells. Context
    columns that ``monotone`` names keep their constraint here too."""
    import lightgbm as lgb

    from safeground.services.risk_model import monotone_constraints

    context = [n for n in names if n.startswith("ctx_")]
    presence = presence_cells(names, values, cell_size_m / 2000.0)
    if not context or presence.all() or not presence.any():
        return None
    x = _columns(names, values, context)
    params = {"objective": "binary", "learning_rate": 0.05, "num_leaves": PRIOR_LEAVES,
              "min_data_in_leaf": PRIOR_MIN_CELLS, "seed": seed, "deterministic": True, "force_row_wise": True,
              "num_threads": 1, "verbose": -1, "monotone_constraints": monotone_constraints(context, monotone)}
    data = lgb.Dataset(x, label=presence.astype(float), feature_name=[f"f{j}" for j in range(len(context))])
    booster = lgb.train(params, data, num_boost_round=PRIOR_TREES)
    mean = float(np.mean(booster.predict(x, raw_score=True)))
    return ContextPrior(booster, context, mean, int(presence.sum()))


def _columns(names: list[str], values: np.ndarray, wanted: list[str]) -> np.ndarray:
    """The ``wanted`` columns (missing ones NaN), infinities as missing."""
    out = np.full((len(values), len(wanted)), np.nan)
    for j, n in enumerate(wanted):
        if n in names:
            out[:, j] = values[:, names.index(n)]
    return np.where(np.isfinite(out), out, np.nan)
