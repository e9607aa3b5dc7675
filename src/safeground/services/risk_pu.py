"""Positive-unlabelled fitting: cells where nothing is known are never negatives, nor left out.

Over a study area almost every cell is **unlabelled**: nobody has surveyed it. Treating those cells as
negatives would teach the model that unsurveyed land is safe; leaving them out (labelled-only training) leaves
nothing to learn from where there are no released cells at all (the walk-forward register check). SafeGround
uses **Elkan and Noto's weighted method** (*Learning classifiers from only positive and unlabeled data*, KDD
2008, §4), under their assumption that the labelled positives are a random sample of all positives (SCAR):

1. A first model ``g(x) = P(labelled positive | x)`` is fitted on every cell: labelled positives against
   everything else. Its out-of-fold scores (group folds: spatial blocks) give the **label frequency**
   ``c = mean g(x)`` over the labelled positives (their estimator e1).
2. Each unlabelled cell enters the final fit **twice**: as a positive with weight
   ``w(x) = (1 - c) / c * g(x) / (1 - g(x))`` (clipped to [0, 1]), the probability that it is a positive
   nobody has found, and as a negative with weight ``1 - w(x)``. Labelled positives weigh 1; cells released
   with nothing found are real negatives and weigh 1.
3. The model (monotone trees, the same grid) is tuned, calibrated (Platt, with the weights) and compared with
   the distance baselines on out-of-fold scores over the same group folds. Model and baselines are compared
   by the ROC-AUC of the labelled positives against all other cells: under SCAR it is an increasing linear
   function of the true ROC-AUC, so it orders scores the same way without needing a negative label.

Why this one: it is the simplest PU method with a calibrated output (unlike a ranking-only positive-vs-
unlabelled classifier), needs no reliable-negative heuristic (spy or two-step methods pick negatives by a
threshold), works with any classifier that takes weights (LightGBM does), and uses real negatives where they
exist. Its assumption fails where finds depend on who looked where (survey bias): the labels then measure
survey effort as much as contamination, which is why the distance baselines stay beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from safeground.domain.errors import ValidationError
from safeground.domain.risk import is_distance_feature, is_monotone
from safeground.services.risk_model import (
    ModelSettings,
    RiskModel,
    _auc,
    _train,
    distance_score,
    inner_folds,
)
from safeground.services.risk_prior import ContextPrior

Progress = Callable[[str, int, int], None]

#: Weights tried for the context prior's log-odds (``risk_prior``), chosen on the inner folds.
PRIOR_WEIGHTS = (0.0, 0.5, 1.0, 2.0)


def label_frequency(s: np.ndarray, g: np.ndarray) -> float:
    """Elkan and Noto's e1: the mean first-stage probability over the labelled positives.

    >>> label_frequency(np.array([True, True, False]), np.array([0.6, 0.4, 0.1]))
    0.5
    """
    return float(np.clip(g[s].mean(), 1e-3, 1.0))


def unlabelled_weight(g: np.ndarray, c: float) -> np.ndarray:
    """The probability that an unlabelled cell is a positive nobody has found, given ``g(x)`` and ``c``.

    >>> unlabelled_weight(np.array([0.0, 0.1, 0.5, 0.99]), 0.5).round(3).tolist()
    [0.0, 0.111, 1.0, 1.0]
    """
    odds = g / np.clip(1.0 - g, 1e-9, None)
    return np.asarray(np.clip((1.0 - c) / c * odds, 0.0, 1.0), dtype=float)


def fit_pu_model(features: np.ndarray, labels: np.ndarray, names: list[str], settings: ModelSettings,
                 groups: np.ndarray, *, progress: Progress | None = None,
                 prior: ContextPrior | None = None) -> RiskModel:
    """Fit with labelled positives, real negatives and weighted unlabelled cells (1 / 0 / NaN in ``labels``);
    ``groups`` (spatial blocks) keep neighbouring cells in one fold. Serves a distance instead of the model when
    one beats the model's out-of-fold ROC-AUC of positives against all other cells. A context ``prior``
    (``risk_prior``) adds its log-odds with the weight of ``PRIOR_WEIGHTS`` that the inner folds score best
    (0, no prior, unless another weight beats it)."""
    s = labels == 1
    if not s.any():
        raise ValidationError("risk.no_positives", "No cell holds a find or a confirmed hazard known by the "
                              "cut-off: there is nothing to learn from.",
                              hint="Check --as-of, or the review state of the finds and hazards.")
    folds = inner_folds(s.astype(float), groups, settings)
    steps = 1 + len(settings.grid) + 1
    # 1. g(x): labelled positives against every other cell, out of fold.
    g = np.zeros(len(s))
    for train, test in folds:
        booster = _train(features[train], s[train].astype(float), names, settings, settings.grid[0], None)
        g[test] = booster.predict(features[test])
    if progress:
        progress("positive-unlabelled fit", 1, steps)
    c = label_frequency(s, g)
    w = unlabelled_weight(g, c)
    # 2. Each unlabelled cell twice: found-to-be (w) and not (1 - w); real labels once, weight 1.
    unl = np.isnan(labels)
    idx = np.concatenate([np.flatnonzero(~unl), np.flatnonzero(unl), np.flatnonzero(unl)])
    y2 = np.concatenate([labels[~unl], np.ones(int(unl.sum())), np.zeros(int(unl.sum()))])
    w2 = np.concatenate([np.ones(int((~unl).sum())), w[unl], 1.0 - w[unl]])
    keep = w2 > 0
    idx, y2, w2 = idx[keep], y2[keep], w2[keep]
    x2 = features[idx]
    base, base_platt = _base(features, s, names, settings, idx, y2, w2)
    start = (base_platt[0] * distance_score(features[:, names.index(base)]) + base_platt[1] if base
             else np.zeros(len(s)))
    prior_odds = prior.log_odds(names, features) if prior is not None else np.zeros(len(s))
    weights = PRIOR_WEIGHTS if prior is not None else (0.0,)
    # 3. Tune the prior's weight and the trees on the same folds (by original cell), scored by ROC-AUC of
    # positives against the rest.
    best: tuple[float, tuple[int, int], np.ndarray, float] | None = None
    for k, leaves_min in enumerate(settings.grid):
        for weight in weights:
            offset = start + weight * prior_odds
            oof = np.zeros(len(s))
            for train, test in folds:
                inside = np.isin(idx, train)
                booster = _train(x2[inside], y2[inside], names, settings, leaves_min, offset[idx][inside],
                                 w2[inside])
                oof[test] = booster.predict(features[test], raw_score=True) + offset[test]
            score = _auc(s.astype(float), oof)
            if best is None or score > best[0]:
                best = (score, leaves_min, oof, weight)
        if progress:
            progress("positive-unlabelled fit", 2 + k, steps)
    assert best is not None
    platt = _weighted_platt(best[2][idx], y2, w2)
    start = start + best[3] * prior_odds
    booster = _train(x2, y2, names, settings, best[1], start[idx], w2)
    if progress:
        progress("positive-unlabelled fit", steps, steps)
    binary = [bool(np.isin(features[:, j][~np.isnan(features[:, j])], (0.0, 1.0)).all()) for j in range(len(names))]
    chosen: dict[str, Any] = {
        "method": "positive-unlabelled (Elkan-Noto weighted)", "label_frequency": round(c, 4),
        "num_leaves": best[1][0], "min_data_in_leaf": best[1][1], "inner_roc_auc": round(best[0], 4),
        "inner_folds": len(folds), "base": base, "labels": {"positive": int(s.sum()),
                                                            "negative": int((labels == 0).sum()),
                                                            "unlabelled": int(unl.sum())},
        "expected_hidden_positives": round(float(w[unl].sum()), 1)}
    if prior is not None:
        prior.weight = best[3]
        chosen["context_prior"] = {"presence_cells": prior.presence, "weight": best[3]}
    model = RiskModel(booster, list(names), binary, platt, chosen, base=base, base_platt=base_platt,
                      base_mean=float(np.average(start[idx] - best[3] * prior_odds[idx], weights=w2)),
                      prior=prior if prior is not None and best[3] > 0 else None)
    baselines = {n: _auc(s.astype(float), distance_score(features[:, j]))
                 for j, n in enumerate(names) if is_distance_feature(n)}
    chosen["baselines_roc_auc"] = {n: round(v, 4) for n, v in baselines.items()}
    if baselines:
        name = max(baselines, key=lambda n: baselines[n])
        if baselines[name] > best[0]:
            model.served = name
            model.served_platt = _weighted_platt(distance_score(features[idx, names.index(name)]), y2, w2)
    return model


def _base(features: np.ndarray, s: np.ndarray, names: list[str], settings: ModelSettings, idx: np.ndarray,
          y2: np.ndarray, w2: np.ndarray) -> tuple[str | None, tuple[float, float]]:
    """With ``start_from_baseline``: the monotone distance that best ranks the labelled positives above the
    other cells, and its weighted logistic fit; the trees start from its log-odds and learn corrections."""
    if not settings.start_from_baseline:
        return None, (0.0, 0.0)
    scores = {n: _auc(s.astype(float), distance_score(features[:, j]))
              for j, n in enumerate(names) if is_monotone(n, settings.monotone)}
    if not scores or max(scores.values()) <= 0.5:
        return None, (0.0, 0.0)
    name = max(scores, key=lambda n: scores[n])
    return name, _weighted_platt(distance_score(features[idx, names.index(name)]), y2, w2)


def _weighted_platt(scores: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Platt scaling with sample weights, the slope kept positive (calibration never reorders cells)."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=1e6, max_iter=1000).fit(scores.reshape(-1, 1), y, sample_weight=w)
    a, b = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    if a <= 0:
        prior = float(np.clip(np.average(y, weights=w), 1e-6, 1 - 1e-6))
        return 1e-6, float(np.log(prior / (1 - prior)))
    return a, b
