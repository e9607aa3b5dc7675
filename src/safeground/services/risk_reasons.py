"""Each cell's top three reasons in plain words, for millions of cells: what a risk surface stores per cell.

The reasons are the three features with the largest SHAP contribution (LightGBM's ``pred_contrib``) to the
cell's score, worded by :func:`safeground.domain.risk.reason_text`, e.g. "raises risk: 1.2 km from a 2013
accident". For speed, the contributions are computed only once per *signature* (cells on the same side of
every split share their contributions; see :func:`signatures`), in chunks on every core, the top three are
picked with ``argpartition``, and the words are made once per distinct (feature, shown value, year) and then mapped back
to the cells: a national grid has millions of cells but a few thousand distinct phrases. A cell's reasons are
stored as a JSON list of strings. When a distance baseline is served instead of the model, the one reason is
that distance.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

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
        reps, inverse = signatures(model.booster, features)
        unique = _contributions(model, features[reps])
        base = model.names.index(model.base) if model.base is not None else None
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            contrib = unique[inverse[start:stop]]
            if base is not None:  # the starting distance's own share, against its training mean
                contrib[:, base] += model.base_term(features[start:stop]) - model.base_mean
            if model.prior is not None:  # the context prior's share (its few shallow trees: cheap per cell)
                contrib += model.prior.contributions(model.names, features[start:stop])
            c, e = _top(contrib, top)
            cols[start:stop, : c.shape[1]] = c
            effect[start:stop, : e.shape[1]] = e
        served = False
    phrases = _phrases(model, features, years, cols, effect, served)
    out = np.full(n, "[", dtype=object)
    for slot in range(cols.shape[1]):
        text = phrases[:, slot]
        has = text != ""
        sep = np.where(has & (out != "["), ", ", "")
        out = out + sep + text
    return out + "]"


def signatures(booster: Any, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells that fall on the same side of every split of every tree get the same SHAP contributions: one
    representative row per such signature, and each cell's signature. A cell's signature is, per feature, how
    many of the model's thresholds on it lie below its value (``-1`` when missing); far from all evidence,
    most cells share a few signatures, so the costly contributions are computed for far fewer rows.

    >>> import lightgbm as lgb
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]] * 50)
    >>> params = {"objective": "binary", "verbose": -1, "min_data_in_leaf": 5}
    >>> b = lgb.train(params, lgb.Dataset(x, (x[:, 0] > 1.5) * 1.0), 3)
    >>> reps, inverse = signatures(b, np.array([[0.1], [0.2], [2.5], [np.nan]]))
    >>> len(reps), inverse.tolist()  # 0.1 and 0.2 fall between the same thresholds; NaN has its own
    (3, [0, 0, 1, 2])
    """
    cuts: dict[int, set[float]] = {}

    def walk(node: dict[str, Any]) -> None:
        if "split_feature" in node:
            cuts.setdefault(int(node["split_feature"]), set()).add(float(node["threshold"]))
            walk(node["left_child"])
            walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    codes = np.zeros(features.shape, dtype=np.int32)
    for j, thresholds in cuts.items():
        col = features[:, j]
        codes[:, j] = np.searchsorted(np.array(sorted(thresholds)), col, side="left")
        codes[np.isnan(col), j] = -1
    rows = np.ascontiguousarray(codes).view(np.dtype((np.void, codes.dtype.itemsize * features.shape[1]))).ravel()
    _, reps, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return reps, inverse.ravel()


def _contributions(model: RiskModel, rows: np.ndarray) -> np.ndarray:
    """SHAP contributions of ``rows`` (the bias column dropped), in chunks, on every core."""
    threads = os.cpu_count() or 1
    out = np.empty((len(rows), len(model.names)))
    for start in range(0, len(rows), _CHUNK):
        part = rows[start: start + _CHUNK]
        out[start: start + len(part)] = np.asarray(
            model.booster.predict(part, pred_contrib=True, num_threads=threads), dtype=float)[:, :-1]
    return out


def _top(contrib: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``top`` columns by absolute contribution, largest first, and their contributions."""
    k = min(top, contrib.shape[1])
    pick = np.argpartition(-np.abs(contrib), k - 1, axis=1)[:, :k]
    val = np.take_along_axis(contrib, pick, axis=1)
    order = np.argsort(-np.abs(val), axis=1)
    return np.take_along_axis(pick, order, axis=1), np.take_along_axis(val, order, axis=1)


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
                       2 if n.startswith(("ev_", "ctx_")) else 6 for n in names])[j]
    return np.asarray(np.round(value * 10.0 ** digits) / 10.0 ** digits, dtype=float)
