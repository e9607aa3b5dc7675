"""Each cell's top three reasons in plain words, for millions of cells: what a risk surface stores per cell.

The reasons are the three features with the largest SHAP contribution (LightGBM's ``pred_contrib``) to the
cell's score, worded by :func:`safeground.domain.risk.reason_text`, e.g. "raises risk: 1.2 km from a 2013
accident". For speed, the contributions are computed in chunks on every core, the top three are picked with
``argpartition``, and the words are made once per distinct (feature, shown value, year) and then mapped back
to the cells: a national grid has millions of cells but a few thousand distinct phrases. A cell's reasons are
stored as a JSON list of strings. When a distance baseline is served instead of the model, the one reason is
that distance.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import numpy as np

from safeground.domain.risk import reason_text
from safeground.services.risk_model import RiskModel

_CHUNK = 250_000


def reason_lists(model: RiskModel, features: np.ndarray, years: Mapping[str, np.ndarray] | None = None,
                 top: int = 3) -> np.ndarray:
    """Each cell's reasons as a JSON list of plain-language strings (an object array of ``str``)."""
    n = len(features)
    if model.served != "model":
        j = model.names.index(model.served)
        cols = np.full((n, 1), j)
        effect = np.ones((n, 1))
        served = True
    else:
        cols = np.zeros((n, top), dtype=np.int64)
        effect = np.zeros((n, top))
        threads = os.cpu_count() or 1
        for start in range(0, n, _CHUNK):
            part = features[start: start + _CHUNK]
            contrib = np.asarray(model.booster.predict(part, pred_contrib=True, num_threads=threads),
                                 dtype=float)[:, :-1]
            if model.base is not None:
                contrib[:, model.names.index(model.base)] += model.base_term(part) - model.base_mean
            k = min(top, contrib.shape[1])
            pick = np.argpartition(-np.abs(contrib), k - 1, axis=1)[:, :k]
            val = np.take_along_axis(contrib, pick, axis=1)
            order = np.argsort(-np.abs(val), axis=1)
            cols[start: start + len(part), :k] = np.take_along_axis(pick, order, axis=1)
            effect[start: start + len(part), :k] = np.take_along_axis(val, order, axis=1)
        served = False
    phrases = _phrases(model, features, years, cols, effect, served)
    out = np.full(n, "[", dtype=object)
    for slot in range(cols.shape[1]):
        text = phrases[:, slot]
        has = text != ""
        sep = np.where(has & (out != "["), ", ", "")
        out = out + sep + text
    return out + "]"


def _phrases(model: RiskModel, features: np.ndarray, years: Mapping[str, np.ndarray] | None, cols: np.ndarray,
             effect: np.ndarray, served: bool) -> np.ndarray:
    """The JSON-quoted phrase of each (cell, slot), ``""`` where the contribution is nil."""
    n, slots = cols.shape
    rows = np.repeat(np.arange(n), slots)
    j = cols.ravel()
    value = features[rows, j]
    year = np.full(len(j), -1.0)
    for name, ys in (years or {}).items():
        if name in model.names:
            at = j == model.names.index(name)
            year[at] = np.nan_to_num(ys[rows[at]], nan=-1.0)
    shown = np.where(np.isnan(value), np.nan, _shown(model.names, j, value))
    sign = np.sign(effect.ravel()) if not served else np.full(len(j), 2.0)
    keys = np.rec.fromarrays([j, np.nan_to_num(shown, nan=-9e99), year, sign])
    uniq, back = np.unique(keys, return_inverse=True)
    words = []
    for jj, v, y, sg in uniq.tolist():
        if sg == 0:
            words.append("")
            continue
        name = model.names[int(jj)]
        text = reason_text(name, float("nan") if v == -9e99 else v, year=int(y) if y > 0 else None)
        lead = "served baseline" if sg == 2 else ("raises risk" if sg > 0 else "lowers risk")
        words.append(json.dumps(f"{lead}: {text}", ensure_ascii=False))
    return np.asarray(words, dtype=object)[back.ravel()].reshape(n, slots)


def _shown(names: list[str], j: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Values rounded as their words show them (so that equal words share one key)."""
    digits = np.array([1 if n.endswith("_dist") and n.startswith("ev_") else
                       2 if n.startswith("ev_") else 6 for n in names])[j]
    return np.asarray(np.round(value * 10.0 ** digits) / 10.0 ** digits, dtype=float)
