"""The bound: the optimum of the *pooled-period relaxation* of the whole clearance model.

The relaxation pools the teams of each method into one crew whose capacity in a period is the sum of its
teams' capacities over their available weeks in the period, aggregates weeks into periods of ``period``
weeks, credits a release for every week of the period it happens in, and drops travel, team sharing and the
one-hazard-per-team-week rule. docs/design.md ("Clearance planning") proves that its optimum is at least
the optimum of the full model, so ``bound ≥ optimum ≥ any plan's value``. When HiGHS stops at its time
limit the reported bound is its dual bound on the relaxation, higher still.

>>> from safeground.domain.plan import Hazard, PlanInstance, Target, Team
>>> inst = PlanInstance((Hazard("A", 500.0, {"manual": 1.0}),), (Team("T", "manual", 500.0),),
...                     (Target("S", "settlement", ("A",), households=5),), 3)
>>> plan_bound(inst).bound
15.0
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from safeground.domain.plan import PlanInstance
from safeground.services.plan_milp import Model


@dataclass(frozen=True)
class Bound:
    """The bound, the period length used, whether the relaxation was solved to optimality, seconds."""

    bound: float
    period: int
    optimal: bool
    seconds: float


def default_period(horizon: int, periods: int = 13) -> int:
    """Weeks per period so that there are at most ``periods`` periods.

    >>> default_period(52), default_period(6)
    (4, 1)
    """
    return max(1, math.ceil(horizon / periods))


def plan_bound(instance: PlanInstance, period: int | None = None, time_limit: float = 30.0,
               integral: bool = True, max_integral: int = 20000) -> Bound:
    """Solve the pooled-period relaxation (a MILP in the release indicators, or its LP when ``integral`` is
    false, when it has more than ``max_integral`` release indicators, or when HiGHS found no finite dual
    bound in time) and return its optimum or dual bound."""
    began = time.monotonic()
    horizon = instance.horizon
    length = period or default_period(horizon)
    bounds = [(b, min(b + length, horizon)) for b in range(0, horizon, length)]
    methods = sorted({t.method for t in instance.teams})
    m = Model()
    work: dict[tuple[str, str, int], int] = {}
    for method in methods:
        for p, (b, e) in enumerate(bounds):
            capacity = sum(t.capacity_m2_week for t in instance.teams if t.method == method
                           for w in range(b, e) if t.available(w))
            cols = {}
            for hazard in instance.hazards:
                effort = hazard.effort.get(method)
                if effort and capacity > 0:
                    work[(method, hazard.id, p)] = col = m.var(upper=hazard.area_m2)
                    cols[col] = effort
            if cols:
                m.row(cols, upper=capacity)
    z: dict[tuple[str, int], int] = {}
    for hazard in instance.hazards:
        hv = instance.hazard_value(hazard)
        cols_by_p = [[work[(mm, hazard.id, p)] for mm in methods if (mm, hazard.id, p) in work]
                     for p in range(len(bounds))]
        if not any(cols_by_p):
            continue
        for p, (b, e) in enumerate(bounds):
            z[(hazard.id, p)] = col = m.var(cost=hv * (e - b), integer=True)
            if p:
                m.row({z[(hazard.id, p - 1)]: 1.0, col: -1.0}, upper=0.0)
            coefs = {c: 1.0 for q in range(p + 1) for c in cols_by_p[q]}
            coefs[col] = -hazard.area_m2
            m.row(coefs, lower=0.0)
    weights = instance.weights
    for target in instance.targets:
        if not all((h, 0) in z for h in target.blocking):
            continue
        deadline = min(target.deadline_week, horizon - 1)
        for p, (b, e) in enumerate(bounds):
            if target.kind == "settlement":
                cost = weights.households * target.households * (e - b)
            else:
                cost = weights.project * target.value if b <= deadline < e else 0.0
            col = m.var(cost=cost)
            for h in target.blocking:
                m.row({col: 1.0, z[(h, p)]: -1.0}, upper=0.0)
    integral = integral and len(z) <= max_integral
    solved = m.solve(time_limit, relax=not integral)
    if integral and not math.isfinite(solved.bound):
        solved = m.solve(max(1.0, time_limit - (time.monotonic() - began)), relax=True)
    return Bound(solved.bound, length, solved.optimal, time.monotonic() - began)
