"""``safeground risk evaluate``: leave-one-group-out validation of the model beside the distance baselines.

- **Split:** leave one group out (``--group``, e.g. the municipality). Every cell is predicted exactly once, by
  a model that never saw its group; metrics are pooled over these out-of-fold predictions. A random split is
  never reported: neighbouring cells share their evidence, so it flatters every score.
- **Nested:** tuning and calibration happen inside each outer training part (``services/risk_model.py``), so the
  held-out group influences nothing but its own score.
- **Baselines on the same split:** each distance feature alone (every ``*_dist`` column, and with ``--evidence``
  the distance to each type of evidence known by the cut-off), nearer meaning riskier, Platt-calibrated on the
  same training parts.
- **Metrics** on labelled cells (unknown ones are never negatives): ROC-AUC, PR-AUC (average precision),
  Brier score, expected calibration error (10 equal-width bins). **Recall at an area budget** ranks *all* cells,
  unknown ones included (they are area a team would survey): the share of positives among the top 5% and
  10% of cells, ties shared out evenly.
- **The served score:** the model when it is at least as good as every baseline on both ROC-AUC and recall at
  10%; otherwise the best baseline by ROC-AUC, and the output says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from safeground.domain.errors import ValidationError
from safeground.domain.risk import is_distance_feature, reason_text
from safeground.services.risk_cells import CellTable
from safeground.services.risk_labels import labelled, require_both_classes
from safeground.services.risk_model import ModelSettings, distance_score, fit_model, platt_apply, platt_fit

Progress = Callable[[str, int, int], None]
MODEL = "model"


@dataclass
class ScoreResult:
    """One score's pooled out-of-fold metrics and its per-cell probabilities."""

    name: str
    metrics: dict[str, float]
    risk: np.ndarray


@dataclass
class Evaluation:
    """The comparison, the decision and the served score's cells."""

    split: str
    cells: int
    label_counts: dict[str, int]
    groups: int
    results: list[ScoreResult]
    served: str
    model_wins: bool
    verdict: str
    reasons: list[list[dict[str, Any]]]
    chosen: list[dict[str, Any]] = field(default_factory=list)

    def table(self) -> list[dict[str, Any]]:
        return [{"score": r.name, **{k: round(v, 4) for k, v in r.metrics.items()}} for r in self.results]

    def to_dict(self) -> dict[str, Any]:
        return {"split": self.split, "cells": self.cells, "labels": self.label_counts, "groups": self.groups,
                "scores": self.table(), "served": self.served, "model_wins": self.model_wins,
                "verdict": self.verdict, "tuning": self.chosen}


def evaluate(table: CellTable, settings: ModelSettings, *, years: Mapping[str, np.ndarray] | None = None,
             progress: Progress | None = None) -> Evaluation:
    """Leave-one-group-out evaluation of the model and every distance baseline on ``table``."""
    if table.labels is None:
        raise ValidationError("risk.no_label", "Evaluation needs a label column.", hint="Give it with --label.")
    if table.groups is None:
        raise ValidationError("risk.no_group", "Evaluation needs a group column for leave-one-group-out.",
                              hint="Give it with --group, e.g. the municipality.")
    require_both_classes(table.label_counts)
    names = sorted(set(table.groups.tolist()))
    if len(names) < 3:
        raise ValidationError("risk.too_few_groups", f"Leave-one-group-out needs at least 3 groups; "
                              f"{table.groups is not None and len(names)} found.",
                              hint="Group cells by a coarser or finer unit (municipality, spatial block).")
    y = table.labels
    known = labelled(y)
    x = table.features
    baselines = [j for j, n in enumerate(table.names) if is_distance_feature(n)]
    model_risk = np.full(len(table), np.nan)
    base_risk = np.full((len(table), len(baselines)), np.nan)
    reasons: list[list[dict[str, Any]]] = [[] for _ in range(len(table))]
    chosen: list[dict[str, Any]] = []
    for k, group in enumerate(names):
        if progress:
            progress("leave-one-group-out", k, len(names))
        test = table.groups == group
        train = ~test & known
        if len(set(y[train].tolist())) < 2:
            raise ValidationError("risk.one_class_fold", f"Without group {group!r} the labelled cells are all of "
                                  "one class.", hint="Use groups that each leave both classes in training.")
        model = fit_model(x[train], y[train], table.names, settings, table.groups[train], serve_baseline=False)
        chosen.append({"group": group, **model.chosen})
        model_risk[test] = model.risk(x[test])
        test_years = {n: v[test] for n, v in years.items()} if years else None
        for i, r in zip(np.flatnonzero(test), model.reasons(x[test], test_years), strict=True):
            reasons[i] = r
        for b, j in enumerate(baselines):
            s = distance_score(x[:, j])
            base_risk[test, b] = platt_apply(platt_fit(s[train], y[train]), s[test])
    if progress:
        progress("leave-one-group-out", len(names), len(names))
    results = [ScoreResult(MODEL, metrics(y, model_risk), model_risk)]
    results += [ScoreResult(table.names[j], metrics(y, base_risk[:, b]), base_risk[:, b])
                for b, j in enumerate(baselines)]
    served, wins, verdict = decide(results)
    if served != MODEL:
        j = table.names.index(served)
        reasons = [[{"feature": served, "value": None if math.isnan(v) else float(v), "effect": None,
                     "text": f"served baseline: {reason_text(served, float(v), year=_year(years, served, i))}"}]
                   for i, v in enumerate(x[:, j])]
    return Evaluation(f"leave one group out ({len(names)} groups), pooled out-of-fold", len(table),
                      table.label_counts, len(names), results, served, wins, verdict, reasons, chosen)


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Pooled metrics: ROC-AUC, PR-AUC, recall at 5% and 10% of all cells, Brier score, calibration error."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    known = labelled(y)
    yk, pk = y[known], p[known]
    return {"roc_auc": float(roc_auc_score(yk, pk)), "pr_auc": float(average_precision_score(yk, pk)),
            "recall_5pct": recall_at(y, p, 0.05), "recall_10pct": recall_at(y, p, 0.10),
            "brier": float(brier_score_loss(yk, pk)), "calibration_error": calibration_error(yk, pk)}


def recall_at(y: np.ndarray, p: np.ndarray, share: float) -> float:
    """The share of positive cells among the top ``share`` of all cells by score, ties shared evenly.

    >>> recall_at(np.array([1, 1, 0, np.nan]), np.array([0.9, 0.5, 0.5, 0.1]), 0.5)
    0.75
    """
    budget = share * len(p)
    positives = y == 1
    if not positives.any():
        return math.nan
    order = np.sort(p)[::-1]
    threshold = order[max(0, min(len(p) - 1, math.ceil(budget) - 1))]
    above = p > threshold
    tied = p == threshold
    room = budget - above.sum()
    found = positives[above].sum() + (positives[tied].sum() * room / tied.sum() if tied.any() else 0)
    return float(found / positives.sum())


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the cell-weighted gap between mean risk and observed rate, in equal bins.

    >>> calibration_error(np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.5, 0.5]))
    0.0
    """
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(p[inside].mean() - y[inside].mean())
    return float(total / len(p))


def decide(results: list[ScoreResult]) -> tuple[str, bool, str]:
    """Which score to serve: the model if no baseline beats it on ROC-AUC or on recall at 10% of cells."""
    model, baselines = results[0], results[1:]
    if not baselines:
        return MODEL, True, "The model is served (no distance baseline to compare with)."
    best_auc = max(baselines, key=lambda r: (r.metrics["roc_auc"], r.metrics["recall_10pct"]))
    best_recall = max(baselines, key=lambda r: r.metrics["recall_10pct"])
    lost = [f"{best_auc.name} has ROC-AUC {best_auc.metrics['roc_auc']:.3f}"
            for _ in [0] if best_auc.metrics["roc_auc"] > model.metrics["roc_auc"]]
    lost += [f"{best_recall.name} finds {best_recall.metrics['recall_10pct']:.1%} of positives in the top 10%"
             for _ in [0] if best_recall.metrics["recall_10pct"] > model.metrics["recall_10pct"]]
    if not lost:
        return MODEL, True, (f"The model wins: ROC-AUC {model.metrics['roc_auc']:.3f} and recall at 10% "
                             f"{model.metrics['recall_10pct']:.1%}, at least as good as every baseline. "
                             "The model is served.")
    return best_auc.name, False, (f"The model does not win ({'; '.join(lost)}, against the model's ROC-AUC "
                                  f"{model.metrics['roc_auc']:.3f} and recall at 10% "
                                  f"{model.metrics['recall_10pct']:.1%}). The baseline {best_auc.name} is served.")


def _year(years: Mapping[str, np.ndarray] | None, name: str, i: int) -> int | None:
    if not years or name not in years:
        return None
    v = years[name][i]
    return None if v is None or math.isnan(v) or v <= 0 else int(v)
