"""The bound: the optimum of the *pooled-crew relaxation* of the whole clearance model.

The relaxation pools the teams of each method into one crew whose capacity in a period is the sum of its
teams' capacities over their available weeks in the period, aggregates weeks into periods of ``period``
weeks, lets the crew split its capacity over any hazards, and credits a release for every week of the
period it happens in. Travel is kept as a lower bound: releasing a hazard with method ``m`` costs its area
times the effort times ``1 + ρ[m,h]``, where ``ρ[m,h] = min over m's teams of rate·loss / area``. Team
sharing and the one-hazard-per-team-week rule are dropped. Variables are fractions: ``f[m,h,p]`` of
hazard ``h`` done by the crew of ``m`` in period ``p``, ``W[h,p]`` (≤ 1) of ``h`` done by the end of ``p``,
``Y[k,p] ≤ W[h,p]`` for each blocking hazard of target ``k``. docs/design.md ("Clearance planning") proves
that its optimum is at least the optimum of the full model, so ``bound ≥ optimum ≥ any plan's value``.

At national scale the relaxation is solved as an LP. The reported bound is the Lagrangian value of the
duals HiGHS returns, ``λ·b + Σ_j u_j·max(0, c_j − (Aᵀλ)_j)`` with ``λ ≥ 0``: weak duality makes it an upper
bound on the LP for *any* such ``λ``, so it stays valid when HiGHS stops early or its duals are inexact.

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

import highspy
import numpy as np

from safeground.domain.plan import PlanInstance
from safeground.services.plan_milp import new_highs

_LP_SOLVER = "ipm"


@dataclass(frozen=True)
class Bound:
    """The bound, the period length used, whether the relaxation was solved to optimality, seconds."""

    bound: float
    period: int
    optimal: bool
    seconds: float


def default_period(horizon: int, periods: int = 52) -> int:
    """Weeks per period so that there are at most ``periods`` periods.

    >>> default_period(52), default_period(104), default_period(6)
    (1, 2, 1)
    """
    return max(1, math.ceil(horizon / periods))


@dataclass
class _Lp:
    """The relaxation as arrays: maximise ``cost·x`` subject to ``A x ≤ upper_row``, ``0 ≤ x ≤ upper``."""

    cost: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    row_upper: np.ndarray


def _needs(instance: PlanInstance, method: str) -> dict[str, float]:
    """The least capacity (m² of standard terrain) a team of ``method`` spends to release each hazard it can
    work: ``min over teams of max(capacity, area·effort + capacity·loss)``, a whole week at least, travel in."""
    teams = [t for t in instance.teams if t.method == method]
    out = {}
    for hazard in instance.hazards:
        effort = hazard.effort.get(method)
        if effort:
            work = hazard.area_m2 * effort
            out[hazard.id] = min(max(t.capacity_m2_week, work + t.capacity_m2_week * instance.loss(t, hazard))
                                 for t in teams)
    return out


def _build(instance: PlanInstance, length: int) -> tuple[_Lp, int]:
    """The pooled-crew relaxation with periods of ``length`` weeks; also the number of ``W`` columns."""
    horizon = instance.horizon
    spans = [(b, min(b + length, horizon)) for b in range(0, horizon, length)]
    periods = len(spans)
    hazards = instance.hazards
    index = {h.id: i for i, h in enumerate(hazards)}
    n_h = len(hazards)
    cost: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    integer: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    row_upper: list[np.ndarray] = []
    n_col = n_row = 0

    def columns(c: np.ndarray, u: np.ndarray, is_int: bool) -> np.ndarray:
        nonlocal n_col
        cost.append(c)
        upper.append(u)
        integer.append(np.full(len(c), is_int))
        n_col += len(c)
        return np.arange(n_col - len(c), n_col)

    def constraints(count: int, rhs: np.ndarray | float) -> np.ndarray:
        nonlocal n_row
        row_upper.append(np.broadcast_to(np.asarray(rhs, dtype=np.float64), (count,)).copy())
        n_row += count
        return np.arange(n_row - count, n_row)

    def coefficients(r: np.ndarray, c: np.ndarray, v: np.ndarray | float) -> None:
        rows.append(r)
        cols.append(c)
        vals.append(np.broadcast_to(np.asarray(v, dtype=np.float64), r.shape).copy())

    # f[m,h,p]: the W row of (h,p) gets −f for each method's share.
    work: list[tuple[np.ndarray, int, np.ndarray]] = []  # (hazard indices, period, their f columns)
    workable = np.zeros(n_h, dtype=bool)
    for method in sorted({t.method for t in instance.teams}):
        capacity = np.array([sum(t.capacity_m2_week for t in instance.teams if t.method == method
                                 for w in range(b, e) if t.available(w)) for b, e in spans])
        needs = _needs(instance, method)
        hs = np.array([index[h] for h in needs], dtype=np.int64)
        if not len(hs) or not capacity.any():
            continue
        need = np.array(list(needs.values()))
        workable[hs] = True
        for p in np.flatnonzero(capacity > 0):
            f = columns(np.zeros(len(hs)), capacity[p] / need, False)
            cap_row = constraints(1, 1.0)
            coefficients(np.full(len(hs), cap_row[0]), f, need / capacity[p])
            work.append((hs, int(p), f))
    # W[h,p] for workable hazards, laid out hazard-major; row (h,p): W[h,p] − W[h,p−1] − Σ_m f[m,h,p] ≤ 0.
    hw = np.flatnonzero(workable)
    value = np.array([instance.hazard_value(hazards[i]) for i in hw])
    widths = np.array([e - b for b, e in spans], dtype=np.float64)
    n_w = len(hw) * periods
    w_cols = columns(np.outer(value, widths).ravel(), np.ones(n_w), True)
    w_at = np.full(n_h, -1, dtype=np.int64)
    w_at[hw] = np.arange(len(hw))
    w_rows = constraints(n_w, 0.0)
    coefficients(w_rows, w_cols, 1.0)
    prev = w_rows.reshape(len(hw), periods)[:, 1:].ravel()
    coefficients(prev, w_cols.reshape(len(hw), periods)[:, :-1].ravel(), -1.0)
    for hs, p, f in work:
        coefficients(w_rows[w_at[hs] * periods + p], f, -1.0)
    # Y[k,p] ≤ W[h,p] for every blocking hazard h of target k.
    weights = instance.weights
    for target in instance.targets:
        blocking = [index[h] for h in target.blocking]
        if not all(workable[i] for i in blocking):
            continue
        if target.kind == "settlement":
            c = weights.households * target.households * widths
        else:
            deadline = min(target.deadline_week, horizon - 1)
            c = np.array([weights.project * target.value if b <= deadline < e else 0.0 for b, e in spans])
        y = columns(c, np.ones(periods), False)
        for i in blocking:
            r = constraints(periods, 0.0)
            coefficients(r, y, 1.0)
            coefficients(r, w_cols[w_at[i] * periods + np.arange(periods)], -1.0)

    def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    lp = _Lp(cat(cost, np.float64), cat(upper, np.float64), cat(integer, bool), cat(rows, np.int64),
             cat(cols, np.int64), cat(vals, np.float64), cat(row_upper, np.float64))
    return lp, n_w


def _lagrangian(lp: _Lp, duals: np.ndarray) -> float:
    """``λ·b + Σ_j u_j·max(0, c_j − (Aᵀλ)_j)`` for ``λ = max(0, duals)``: an upper bound on the LP."""
    lam = np.maximum(duals, 0.0)
    reduced = lp.cost - np.bincount(lp.cols, weights=lam[lp.rows] * lp.vals, minlength=len(lp.cost))
    return float(lam @ lp.row_upper + lp.upper @ np.maximum(reduced, 0.0))


def _solve(lp: _Lp, time_limit: float, integral: bool) -> tuple[float, bool]:
    """Solve with HiGHS; the bound (MIP dual bound, or the Lagrangian of the LP duals) and optimality."""
    order = np.lexsort((lp.cols, lp.rows))
    n_row = len(lp.row_upper)
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = len(lp.cost), n_row
    model.col_cost_ = lp.cost
    model.col_lower_ = np.zeros(len(lp.cost))
    model.col_upper_ = lp.upper
    model.row_lower_ = np.full(n_row, -highspy.kHighsInf)
    model.row_upper_ = lp.row_upper
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.start_ = np.searchsorted(lp.rows[order], np.arange(n_row + 1)).astype(np.int32)
    model.a_matrix_.index_ = lp.cols[order].astype(np.int32)
    model.a_matrix_.value_ = lp.vals[order]
    model.sense_ = highspy.ObjSense.kMaximize
    if integral:
        model.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                              for i in lp.integer]
    h = new_highs()
    h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 1e-6)
    if not integral:
        h.setOptionValue("solver", _LP_SOLVER)
        h.setOptionValue("run_crossover", "off")
    h.passModel(model)
    h.run()
    optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    if integral:
        return float(h.getInfo().mip_dual_bound), optimal
    solution = h.getSolution()
    duals = np.asarray(solution.row_dual, dtype=np.float64) if solution.dual_valid else np.zeros(n_row)
    # HiGHS's sign convention for a maximisation's row duals: try both signs; each is a valid bound.
    return min(_lagrangian(lp, duals), _lagrangian(lp, -duals)), optimal


def plan_bound(instance: PlanInstance, period: int | None = None, time_limit: float = 30.0,
               integral: bool = True, max_integral: int = 20000) -> Bound:
    """Solve the pooled-crew relaxation (a MILP in ``W`` when ``integral`` and it has at most
    ``max_integral`` such columns and HiGHS finds a finite dual bound in time, otherwise its LP) and return
    its optimum or a valid upper bound on it."""
    began = time.monotonic()
    length = period or default_period(instance.horizon)
    lp, n_w = _build(instance, length)
    if not len(lp.cost):
        return Bound(0.0, length, True, time.monotonic() - began)
    integral = integral and n_w <= max_integral
    bound, optimal = _solve(lp, time_limit, integral)
    if integral and not math.isfinite(bound):
        bound, optimal = _solve(lp, max(1.0, time_limit - (time.monotonic() - began)), False)
    return Bound(bound, length, optimal, time.monotonic() - began)
