"""Priority scores for open hazards: a weighted sum and PROMETHEE II, explained criterion by criterion.

Every criterion is "more is more urgent". **Weighted sum**: each criterion is scaled to 0..1 by its largest
value among the hazards scored (all zero stays zero), and the score is ``Σ w_c · scaled_c / Σ w``; the
contribution of each criterion is its term. **PROMETHEE II** (Brans & Vincke 1985) with the linear preference
function: for hazards ``a``, ``b`` and criterion ``c``, ``P_c(a,b) = min(1, max(0, (g_c(a) − g_c(b)) / p_c))``
with ``p_c`` the criterion's range (largest minus smallest); the net flow is
``φ(a) = Σ_c w_c φ_c(a) / Σ w`` with ``φ_c(a) = (Σ_b P_c(a,b) − P_c(b,a)) / (n − 1)``, in −1..1; the
contribution of each criterion is its weighted ``φ_c``. Criteria with weight 0 contribute nothing.

>>> s = score({"casualties": [0.0, 2.0], "households": [10.0, 0.0]}, {"casualties": 1.0, "households": 3.0})
>>> [round(v, 3) for v in s.scores], s.contributions["households"]
([0.75, 0.25], [0.75, 0.0])
>>> p = score({"casualties": [0.0, 2.0], "households": [10.0, 0.0]}, {"casualties": 1.0, "households": 3.0},
...           method="promethee")
>>> [round(v, 3) for v in p.scores]
[0.5, -0.5]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from safeground.domain.errors import ValidationError

CRITERIA = ("households", "projects", "casualties", "population", "blockages", "contamination")
"""The criteria of issue 7 §1, in the order they are reported."""

METHODS = ("weighted", "promethee")


@dataclass(frozen=True)
class Scores:
    """Scores (one per hazard, in input order) and each criterion's contribution to them."""

    method: str
    scores: list[float]
    contributions: dict[str, list[float]]


def check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """The weights, refused (``plan.unknown_criterion``, ``plan.bad_weight``) when a name is unknown, a weight
    negative, or all are zero."""
    for name, w in weights.items():
        if name not in CRITERIA:
            raise ValidationError("plan.unknown_criterion", f"There is no priority criterion {name!r}.",
                                  hint=f"Use some of: {', '.join(CRITERIA)}.")
        if not isinstance(w, int | float) or w < 0 or not np.isfinite(w):
            raise ValidationError("plan.bad_weight", f"The weight of {name} must be a number ≥ 0, not {w!r}.",
                                  hint="Give every criterion a weight of 0 or more.")
    if not any(w > 0 for w in weights.values()):
        raise ValidationError("plan.bad_weight", "All priority weights are zero.",
                              hint="Give at least one criterion a positive weight.")
    return {k: float(v) for k, v in weights.items()}


def score(values: Mapping[str, Sequence[float]], weights: Mapping[str, float], method: str = "weighted") -> Scores:
    """Score hazards on ``values`` (criterion → one value per hazard) with ``weights`` (see module)."""
    if method not in METHODS:
        raise ValidationError("plan.bad_method", f"There is no scoring method {method!r}.",
                              hint="Use 'weighted' or 'promethee'.")
    w = check_weights({c: weights.get(c, 0.0) for c in values})
    total = sum(w.values())
    n = len(next(iter(values.values()), []))
    contributions: dict[str, list[float]] = {}
    for name, column in values.items():
        g = np.asarray(column, dtype=float)
        if method == "weighted":
            top = g.max() if n else 0.0
            part = g / top if top > 0 else np.zeros(n)
        else:
            span = (g.max() - g.min()) if n else 0.0
            if n < 2 or span <= 0:
                part = np.zeros(n)
            else:
                diff = np.clip((g[:, None] - g[None, :]) / span, 0.0, 1.0)
                part = (diff.sum(axis=1) - diff.sum(axis=0)) / (n - 1)
        contributions[name] = [float(v) for v in part * w[name] / total]
    scores = [float(sum(contributions[c][i] for c in contributions)) for i in range(n)]
    return Scores(method, scores, contributions)
