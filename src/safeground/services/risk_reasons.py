"""Each cell's top three reasons in plain words, for millions of cells: what a risk surface stores per cell.

The reasons are the three features with the largest SHAP contribution (LightGBM's ``pred_contrib``) to the
cell's score, worded by :func:`safeground.domain.risk.reason_text`, e.g. "raises risk: 1.2 km from a 2013
accident". Every cell gets them, exactly, at national scale, because two sharings make TreeSHAP cheap:

- cells on the same side of every split of every tree share their score and their contributions: one
  representative row per such *signature* (:func:`signatures`; :func:`signature_risk` scores the cells the same
  way);
- a tree's share of a row's contributions depends only on which side of *that tree's* few thresholds the row
  falls: each tree runs once per distinct pattern of its splits (hundreds) and the trees' shares are summed
  (:func:`_contributions`; the same numbers as ``pred_contrib`` up to the order of the sums, about 1e-14).

The top three are picked with ``argpartition``, and the words are made once per distinct (feature, shown value,
year, sign) and mapped back to the cells: a national grid has millions of cells but a few thousand distinct
phrases. A cell's reasons are stored as a JSON list of strings. When a distance baseline is served instead of
the model, the one reason is that distance.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from safeground.domain.risk import reason_text
from safeground.services.risk_model import RiskModel, platt_apply

_CHUNK = 250_000


def reason_lists(model: RiskModel, features: np.ndarray, years: Mapping[str, np.ndarray] | None = None,
                 top: int = 3, signature: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Each cell's reasons as a JSON list of plain-language strings (an object array of ``str``); ``signature``:
    the cells' :func:`signatures`, when already computed for the risk."""
    n = len(features)
    if model.served != "model":
        j = model.names.index(model.served)
        cols = np.full((n, 1), j)
        effect = np.ones((n, 1))
        served = True
    else:
        cols = np.zeros((n, top), dtype=np.int64)
        effect = np.zeros((n, top))
        reps, inverse = signature if signature is not None else signatures(model.booster, features)
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
    """Cells that fall on the same side of every split of every tree get the same score and the same SHAP
    contributions: one representative row per such signature, and each cell's signature. A cell's signature is,
    per feature, how many of the model's thresholds on it lie below its value (missing: a code of its own); far
    from all evidence, most cells share a few signatures, so the booster runs on far fewer rows.

    >>> import lightgbm as lgb
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]] * 50)
    >>> params = {"objective": "binary", "verbose": -1, "min_data_in_leaf": 5}
    >>> b = lgb.train(params, lgb.Dataset(x, (x[:, 0] > 1.5) * 1.0), 3)
    >>> reps, inverse = signatures(b, np.array([[0.1], [0.2], [2.5], [np.nan]]))
    >>> len(reps), inverse.tolist()  # 0.1 and 0.2 fall between the same thresholds; NaN has its own
    (3, [0, 0, 1, 2])
    """
    cuts: dict[int, set[float]] = {}
    for tree in _tree_cuts(booster):
        for j, thresholds in tree.items():
            cuts.setdefault(j, set()).update(thresholds.tolist())
    key = _split_key(features, {j: np.array(sorted(t)) for j, t in cuts.items()})
    _, reps, inverse = np.unique(key, return_index=True, return_inverse=True)
    return reps, inverse.ravel()


def signature_risk(model: RiskModel, features: np.ndarray,
                   signature: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """``model.risk(features)``, the same numbers, with the booster run once per signature (see
    :func:`signatures`; pass them when the reasons need them too) instead of once per cell."""
    if model.served != "model":
        return model.risk(features)
    reps, inverse = signature if signature is not None else signatures(model.booster, features)
    threads = os.cpu_count() or 1
    raw = np.asarray(model.booster.predict(features[reps], raw_score=True, num_threads=threads), dtype=float)
    return platt_apply(model.platt, raw[inverse] + model.base_term(features) + model.prior_term(features))


def _tree_cuts(booster: Any) -> list[dict[int, np.ndarray]]:
    """Per tree, the sorted thresholds of each feature it splits on."""
    out: list[dict[int, np.ndarray]] = []

    def walk(node: dict[str, Any], cuts: dict[int, set[float]]) -> None:
        if "split_feature" in node:
            cuts.setdefault(int(node["split_feature"]), set()).add(float(node["threshold"]))
            walk(node["left_child"], cuts)
            walk(node["right_child"], cuts)

    for tree in booster.dump_model()["tree_info"]:
        cuts: dict[int, set[float]] = {}
        walk(tree["tree_structure"], cuts)
        out.append({j: np.array(sorted(t)) for j, t in sorted(cuts.items())})
    return out


def _split_key(features: np.ndarray, cuts: Mapping[int, np.ndarray]) -> np.ndarray:
    """One int64 per row that is equal for two rows exactly when they fall on the same side of every threshold
    in ``cuts``: per feature, the count of thresholds below the value (LightGBM goes left when value <=
    threshold), missing values counted apart, combined in mixed radix and renumbered before it could overflow."""
    key = np.zeros(len(features), dtype=np.int64)
    bound = 1
    for j, thresholds in cuts.items():
        col = features[:, j]
        radix = len(thresholds) + 2
        code = np.searchsorted(thresholds, col, side="left")
        code[np.isnan(col)] = radix - 1
        if bound * radix >= 2**62:
            uniq, dense = np.unique(key, return_inverse=True)
            key, bound = dense.ravel().astype(np.int64), len(uniq)
        key = key * radix + code
        bound *= radix
    return key


def _contributions(model: RiskModel, rows: np.ndarray) -> np.ndarray:
    """SHAP contributions of ``rows`` (the bias column dropped): exact TreeSHAP, tree by tree. A tree's
    contributions to a row depend only on which side of that tree's own thresholds the row falls, so each tree
    runs once per distinct pattern of its few splits (hundreds) rather than once per row, and the trees' shares
    are summed. The same numbers as ``pred_contrib`` on the whole model, up to the order of the sums (1e-13)."""
    threads = os.cpu_count() or 1
    trees = _tree_cuts(model.booster)
    merged: dict[int, np.ndarray] = {}
    for tree in trees:
        for j, thresholds in tree.items():
            merged[j] = np.union1d(merged.get(j, np.empty(0)), thresholds)
    # Each row's place among all the model's thresholds on a feature (missing: one past the last); a tree's
    # own place is then a lookup, not a search.
    place = {j: np.where(np.isnan(rows[:, j]), len(g) + 1, np.searchsorted(g, rows[:, j], side="left"))
             for j, g in merged.items()}
    out = np.zeros((len(model.names), len(rows)))
    for t, cuts in enumerate(trees):
        if not cuts:  # a single leaf: only the bias, which is dropped
            continue
        key = np.zeros(len(rows), dtype=np.int64)
        bound = 1
        for j, thresholds in cuts.items():
            radix = len(thresholds) + 2
            own = np.concatenate([[0], np.cumsum(np.isin(merged[j], thresholds)), [radix - 1]])
            if bound * radix >= 2**62:
                uniq, dense = np.unique(key, return_inverse=True)
                key, bound = dense.ravel().astype(np.int64), len(uniq)
            key = key * radix + own[place[j]]
            bound *= radix
        first, back = _patterns(key, bound)
        share = np.asarray(model.booster.predict(rows[first], pred_contrib=True, start_iteration=t, num_iteration=1,
                                                 num_threads=threads), dtype=float)
        for j in cuts:
            out[j] += share[back, j]
    return out.T


def _patterns(key: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """One row of each distinct ``key`` (values in ``[0, bound)``) and each row's pattern number; by a table of
    ``bound`` flags when that is small, else by sorting."""
    if bound > 8 * len(key) + 4096:
        _, first, back = np.unique(key, return_index=True, return_inverse=True)
        return first, back.ravel()
    present = np.zeros(bound, dtype=bool)
    present[key] = True
    back = (np.cumsum(present) - 1)[key]
    first = np.empty(int(present.sum()), dtype=np.int64)
    first[back] = np.arange(len(key))  # any row of a pattern stands for it
    return first, back


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
    # One integer key per (feature, shown value, year, sign), from the dense ranks of each part: sorting
    # int64 is many times faster than sorting records, and a national grid has tens of millions of slots.
    parts = [np.unique(p, return_inverse=True) for p in (np.nan_to_num(shown, nan=-9e99), year, sign)]
    key = j.astype(np.int64)
    for uniq_part, rank in parts:
        key = key * len(uniq_part) + rank.ravel()
    _, first, back = np.unique(key, return_index=True, return_inverse=True)
    words = []
    for jj, v, y, sg in zip(j[first].tolist(), parts[0][0][parts[0][1].ravel()[first]].tolist(),
                            year[first].tolist(), sign[first].tolist(), strict=True):
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
    # a context distance reads in tens of metres below 1 km and in tenths of a km above (_distance_words)
    ctx_km = np.array([n.startswith("ctx_") and not n.endswith("_n5km") for n in names])[j]
    digits = np.where(ctx_km & (np.abs(value) >= 0.995), 1, digits)
    return np.asarray(np.round(value * 10.0 ** digits) / 10.0 ** digits, dtype=float)
