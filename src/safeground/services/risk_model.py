"""The risk model: monotone gradient-boosted trees (LightGBM), Platt-calibrated, with each cell's reasons.

- **LightGBM** (``lightgbm.train``): fast on millions of cells, native missing values, monotone constraints and
  per-cell SHAP contributions (``pred_contrib``) in one library; scikit-learn is used only around it (folds,
  logistic calibration, metrics).
- **Monotone:** risk never rises with the distance from past evidence (``ev_*_dist``), nor with any column
  ``--monotone`` names (``domain.risk.is_monotone``), other things being equal. LightGBM enforces it in every
  tree. Distances to roads, schools or airports are not constrained by default: on the RELand grid, mines lie
  *far* from them, and forcing risk to fall with them cut the model's ROC-AUC from 0.64 to 0.48.
- **Tuning and calibration inside the data given:** a small grid is scored by ROC-AUC on inner folds (by group
  when groups are given); Platt scaling (a logistic fit of the label on the raw score) is fitted on the inner
  out-of-fold scores of the chosen settings. Its slope is kept positive, so calibration never reorders cells
  and never breaks monotonicity.
- **Reasons:** the three features with the largest SHAP contribution to a cell's score, in plain words.
- Only labelled cells are fitted (``services/risk_labels.py``).
"""

from __future__ import annotations

import json
import math
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from safeground.domain.errors import ValidationError
from safeground.domain.risk import is_distance_feature, is_monotone, reason_text

MODEL_FORMAT = "safeground-risk-model-1"


@dataclass(frozen=True)
class ModelSettings:
    """Model size and the tuning grid (tests use few trees; the defaults suit the RELand grid)."""

    trees: int = 200
    learning_rate: float = 0.05
    grid: tuple[tuple[int, int], ...] = ((7, 20), (15, 20), (7, 60), (15, 60))  # (num_leaves, min_data_in_leaf)
    inner_folds: int = 3
    seed: int = 1
    threads: int = 1
    monotone: tuple[str, ...] = ()  # column names or patterns constrained besides the evidence distances
    start_from_baseline: bool = False  # boost from the best monotone distance's log-odds (see _base)

    def to_dict(self) -> dict[str, Any]:
        return {"trees": self.trees, "learning_rate": self.learning_rate, "grid": [list(g) for g in self.grid],
                "inner_folds": self.inner_folds, "seed": self.seed,
                "monotone": list(self.monotone), "start_from_baseline": self.start_from_baseline}


@dataclass
class RiskModel:
    """A fitted model: the booster, its feature names, the Platt coefficients and the chosen settings."""

    booster: Any
    names: list[str]
    binary: list[bool]
    platt: tuple[float, float]
    chosen: dict[str, Any] = field(default_factory=dict)
    served: str = "model"  # or the distance column served instead, when it beat the model in the inner folds
    served_platt: tuple[float, float] = (1.0, 0.0)
    base: str | None = None  # the distance the trees start from (boosting from the best ruler), if any
    base_platt: tuple[float, float] = (0.0, 0.0)
    base_mean: float = 0.0
    prior: Any = None  # a ``risk_prior.ContextPrior`` whose weighted log-odds the score adds, if any

    def base_term(self, features: np.ndarray) -> np.ndarray:
        """The starting score: the best distance's log-odds (0 when the model has no base)."""
        if self.base is None:
            return np.zeros(len(features))
        d = distance_score(features[:, self.names.index(self.base)])
        return np.asarray(self.base_platt[0] * d + self.base_platt[1], dtype=float)

    def prior_term(self, features: np.ndarray) -> np.ndarray:
        """The context prior's weighted log-odds (0 when the model has none)."""
        if self.prior is None:
            return np.zeros(len(features))
        return np.asarray(self.prior.offset(self.names, features), dtype=float)

    def raw(self, features: np.ndarray) -> np.ndarray:
        threads = os.cpu_count() or 1
        return (np.asarray(self.booster.predict(features, raw_score=True, num_threads=threads), dtype=float)
                + self.base_term(features) + self.prior_term(features))

    def risk(self, features: np.ndarray) -> np.ndarray:
        """Calibrated probability that a cell holds explosive ordnance, from the served score."""
        if self.served != "model":
            return platt_apply(self.served_platt, distance_score(features[:, self.names.index(self.served)]))
        return self.risk_of_model(features)

    def risk_of_model(self, features: np.ndarray) -> np.ndarray:
        """The model's own calibrated probability, even where a baseline is served."""
        return platt_apply(self.platt, self.raw(features))

    def reasons(self, features: np.ndarray, years: Mapping[str, np.ndarray] | None = None,
                top: int = 3) -> list[list[dict[str, Any]]]:
        """Each cell's ``top`` features by absolute SHAP contribution, with their value and words."""
        contrib = np.asarray(self.booster.predict(features, pred_contrib=True), dtype=float)[:, :-1]
        if self.base is not None:  # the starting distance's own share, against its training mean
            contrib[:, self.names.index(self.base)] += self.base_term(features) - self.base_mean
        if self.prior is not None:  # the context prior's share, over the context columns it reads
            contrib += self.prior.contributions(self.names, features)
        order = np.argsort(-np.abs(contrib), axis=1)[:, :top]
        out: list[list[dict[str, Any]]] = []
        for i, cols in enumerate(order):
            cell = []
            for j in cols:
                effect = float(contrib[i, j])
                if effect == 0.0:
                    continue
                name = self.names[j]
                year = _year(years, name, i)
                words = reason_text(name, float(features[i, j]), year=year)
                cell.append({"feature": name, "value": _plain(features[i, j]), "effect": round(effect, 4),
                             "text": f"{'raises' if effect > 0 else 'lowers'} risk: {words}"})
            out.append(cell)
        return out

    def to_bytes(self) -> bytes:
        doc = {"format": MODEL_FORMAT, "names": self.names, "binary": self.binary, "platt": list(self.platt),
               "chosen": self.chosen, "served": self.served, "served_platt": list(self.served_platt),
               "base": self.base, "base_platt": list(self.base_platt), "base_mean": self.base_mean,
               "booster": self.booster.model_to_string()}
        if self.prior is not None:
            doc["prior"] = self.prior.to_dict()
        return zlib.compress(json.dumps(doc, ensure_ascii=False).encode())

    @classmethod
    def from_bytes(cls, data: bytes) -> RiskModel:
        import lightgbm as lgb

        try:
            doc = json.loads(zlib.decompress(data))
            if doc.get("format") != MODEL_FORMAT:
                raise ValueError(doc.get("format"))
            booster = lgb.Booster(model_str=doc["booster"])
        except (zlib.error, ValueError, KeyError, lgb.basic.LightGBMError):
            raise ValidationError("risk.bad_model", "This is not a SafeGround risk model file.",
                                  hint="Give a file written by 'safeground risk fit --out', or use --run ID.") from None
        from safeground.services.risk_prior import ContextPrior

        prior = ContextPrior.from_dict(doc["prior"]) if doc.get("prior") else None
        return cls(booster, doc["names"], doc["binary"], (doc["platt"][0], doc["platt"][1]), doc["chosen"],
                   doc["served"], (doc["served_platt"][0], doc["served_platt"][1]), doc["base"],
                   (doc["base_platt"][0], doc["base_platt"][1]), doc["base_mean"], prior)


def monotone_constraints(names: list[str], patterns: tuple[str, ...] = ()) -> list[int]:
    """-1 (never rising) for evidence distances and the columns ``patterns`` name, 0 otherwise.

    >>> monotone_constraints(["roads_dist", "elevation", "ev_any_dist"])
    [0, 0, -1]
    >>> monotone_constraints(["roads_dist", "elevation", "ev_any_dist"], ("*_dist",))
    [-1, 0, -1]
    """
    return [-1 if is_monotone(n, patterns) else 0 for n in names]


def fit_model(features: np.ndarray, labels: np.ndarray, names: list[str], settings: ModelSettings,
              groups: np.ndarray | None = None, *, serve_baseline: bool = True) -> RiskModel:
    """Tune on inner folds, calibrate on their out-of-fold scores, then fit on every labelled cell. With
    ``serve_baseline``, a distance column whose ROC-AUC beats the model's inner out-of-fold one is served
    instead (evaluation turns it off: it compares the model itself with the baselines)."""
    known = ~np.isnan(labels)
    x, y = features[known], labels[known]
    g = groups[known] if groups is not None else None
    folds = inner_folds(y, g, settings)
    base, base_platt = _base(x, y, names, settings)
    start = base_platt[0] * distance_score(x[:, names.index(base)]) + base_platt[1] if base else np.zeros(len(y))
    best: tuple[float, tuple[int, int], np.ndarray] | None = None
    for leaves_min in settings.grid:
        oof = np.zeros(len(y))
        for train, test in folds:
            booster = _train(x[train], y[train], names, settings, leaves_min, start[train])
            oof[test] = booster.predict(x[test], raw_score=True) + start[test]
        score = _auc(y, oof)
        if best is None or score > best[0]:
            best = (score, leaves_min, oof)
    assert best is not None
    platt = platt_fit(best[2], y)
    booster = _train(x, y, names, settings, best[1], start)
    binary = [bool(np.isin(features[:, j][~np.isnan(features[:, j])], (0.0, 1.0)).all()) for j in range(len(names))]
    chosen: dict[str, Any] = {"num_leaves": best[1][0], "min_data_in_leaf": best[1][1],
                              "inner_roc_auc": round(best[0], 4), "inner_folds": len(folds)}
    model = RiskModel(booster, list(names), binary, platt, chosen, base=base, base_platt=base_platt,
                      base_mean=float(start.mean()))
    chosen["base"] = base
    # The distance baselines on the same labelled cells (they learn nothing but a calibration): the model is
    # served only if none beats its inner out-of-fold ROC-AUC.
    baselines = {n: _auc(y, distance_score(x[:, j])) for j, n in enumerate(names) if is_distance_feature(n)}
    chosen["baselines_roc_auc"] = {n: round(v, 4) for n, v in baselines.items()}
    if baselines and serve_baseline:
        name = max(baselines, key=lambda n: baselines[n])
        if baselines[name] > best[0]:
            model.served = name
            model.served_platt = platt_fit(distance_score(x[:, names.index(name)]), y)
    return model


def _base(x: np.ndarray, y: np.ndarray, names: list[str], settings: ModelSettings
          ) -> tuple[str | None, tuple[float, float]]:
    """The monotone distance with the best ROC-AUC on the labelled cells, and its logistic fit: the trees start
    from it (LightGBM's ``init_score``) and learn corrections. Its log-odds fall as the distance grows, so the
    sum keeps the monotone guarantee, and near distances keep their full resolution (trees see distances only
    in quantile bins, too coarse where the few positives lie)."""
    if not settings.start_from_baseline:
        return None, (0.0, 0.0)
    scores = {n: _auc(y, distance_score(x[:, j])) for j, n in enumerate(names) if is_monotone(n, settings.monotone)}
    if not scores:
        return None, (0.0, 0.0)
    name = max(scores, key=lambda n: scores[n])
    if scores[name] <= 0.5:
        return None, (0.0, 0.0)
    a, b = platt_fit(distance_score(x[:, names.index(name)]), y)
    return name, (a, b)


def distance_score(d: np.ndarray) -> np.ndarray:
    """A distance as a score, nearer meaning higher; a missing distance scores lowest.

    >>> distance_score(np.array([0.0, 1.0, np.nan])).round(3).tolist()
    [-0.0, -0.693, -50.0]
    """
    s = -np.log1p(np.clip(d, 0, None))
    return np.where(np.isnan(s), -50.0, s)


def inner_folds(y: np.ndarray, groups: np.ndarray | None, settings: ModelSettings) -> list[tuple[np.ndarray, ...]]:
    """Folds for tuning and calibration: by group (at most one fold per group) when groups are given, else
    stratified."""
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    if groups is not None and len(set(groups)) >= 2:
        k = min(settings.inner_folds, len(set(groups)))
        return list(GroupKFold(n_splits=k).split(y, y, groups))
    k = max(2, min(settings.inner_folds, int(min((y == 1).sum(), (y == 0).sum()))))
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=settings.seed).split(y, y))


def platt_fit(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Logistic calibration ``p = 1 / (1 + exp(-(a * score + b)))`` with ``a`` kept positive."""
    from sklearn.linear_model import LogisticRegression

    if len(set(y.tolist())) < 2:
        prior = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
        return 1e-6, math.log(prior / (1 - prior))
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(scores.reshape(-1, 1), y)
    a, b = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    if a <= 0:  # a score no better than chance: keep its order, give everyone the base rate
        prior = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
        return 1e-6, math.log(prior / (1 - prior))
    return a, b


def platt_apply(platt: tuple[float, float], scores: np.ndarray) -> np.ndarray:
    z = np.clip(platt[0] * scores + platt[1], -500, 500)
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=float)


def _train(x: np.ndarray, y: np.ndarray, names: list[str], settings: ModelSettings,
           leaves_min: tuple[int, int], start: np.ndarray | None, weight: np.ndarray | None = None) -> Any:
    import lightgbm as lgb

    params = {"objective": "binary", "learning_rate": settings.learning_rate, "num_leaves": leaves_min[0],
              "min_data_in_leaf": leaves_min[1], "monotone_constraints": monotone_constraints(names, settings.monotone),
              "monotone_constraints_method": "basic", "feature_fraction": 0.9, "seed": settings.seed,
              "deterministic": True, "force_row_wise": True, "num_threads": settings.threads, "verbose": -1}
    # LightGBM refuses JSON-special characters in feature names; the model keeps the real names itself.
    data = lgb.Dataset(x, label=y, init_score=start, weight=weight, feature_name=[f"f{j}" for j in range(len(names))],
                       free_raw_data=True)
    return lgb.train(params, data, num_boost_round=settings.trees)


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score)) if len(set(y.tolist())) == 2 else 0.5


def _year(years: Mapping[str, np.ndarray] | None, name: str, i: int) -> int | None:
    if not years or name not in years:
        return None
    y = years[name][i]
    return None if y is None or (isinstance(y, float) and math.isnan(y)) or y <= 0 else int(y)


def _plain(v: Any) -> float | None:
    f = float(v)
    return None if math.isnan(f) else round(f, 6)
