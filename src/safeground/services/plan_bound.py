"""The bound: the optimum of the *pooled-crew prefix relaxation* of the whole clearance model.

For each week ``w`` (or each period end, with ``period`` weeks a period) the relaxation asks: with the
capacity of all weeks up to ``w``, teams pooled into one crew per method, what is the most valuable set of
hazards and targets that could be released by the end of ``w``? Its value per week is what releasing that
set earns in week ``w``; the bound sums these best values over the weeks (or ``period ×`` the best value at
each period's end), and adds each project's value in the week of its deadline. Each prefix is an LP:

- ``f[m,h]`` share of hazard ``h`` worked by the crew of method ``m``, ``W[h] ≤ Σ_m f[m,h]``, ``W[h] ≤ 1``;
- ``Y[k] ≤ W[h]`` for each blocking hazard ``h`` of target ``k``;
- ``Σ_h need[m,h]·f[m,h] ≤`` the capacity of ``m``'s teams over their available weeks up to ``w``, where
  ``need[m,h] = min over m's teams of capacity·max(1, area/rate + loss)``: a team spends a whole week on a
  hazard at least, and loses its travel (capacity: m² of standard terrain a week, which weighs a team's
  weeks; rate: m² of this hazard a week, on its terrain class);
- maximise ``Σ_h hazard_value·W[h] + Σ_settlements w·households·Y[k] + Σ_projects due in w  w·value·Y[k]``.

With *whole weeks* (the default up to ``WHOLE_WEEKS_HAZARDS``) ``f`` gives way to ``x[m,h]`` (``h`` released by
one team of ``m`` alone: its capacity need and its whole weeks, ``⌈area/rate + loss⌉`` at best, against the
team-weeks of ``m`` and of all teams) and, for a hazard two teams share, ``S[h]`` with shares ``s[m,h]``; see
docs/design.md.

The prefixes are independent LPs that differ only in the capacities and the projects due, so HiGHS solves
them one after another from the previous basis. docs/design.md ("Clearance planning") proves that the sum is
at least the optimum of the full model, so ``bound ≥ optimum ≥ any plan's value``. The bound of each LP is
the Lagrangian value of HiGHS's duals, ``λ·b + Σ_j u_j·max(0, c_j − (Aᵀλ)_j)`` with ``λ ≥ 0``: weak duality
makes it an upper bound on the LP for *any* such ``λ``, so it stays valid if HiGHS stops early.

>>> from safeground.domain.plan import Hazard, PlanInstance, Target, Team
>>> inst = PlanInstance((Hazard("A", 500.0, {"manual": 1.0}),), (Team("T", "manual", 500.0),),
...                     (Target("S", "settlement", ("A",), households=5),), 3)
>>> round(plan_bound(inst).bound, 6)
15.0
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np

from safeground.domain.plan import TOLERANCE_M2, PlanInstance
from safeground.services.plan_milp import new_highs

WHOLE_WEEKS_HAZARDS = 5000
"""Up to this many hazards the bound charges whole weeks by default (on the national benchmark, 5,000 hazards
and 52 weeks, they take the 52 LPs from about 3 s to about 12 s and tighten the bound by 1.2 %)."""


@dataclass(frozen=True)
class Bound:
    """The bound, the period length used, whether every prefix LP was solved to optimality, seconds, and each
    period's term of the sum (where a plan's gap comes from, week by week)."""

    bound: float
    period: int
    optimal: bool
    seconds: float
    terms: tuple[float, ...] = ()


def default_period(horizon: int, periods: int = 52) -> int:
    """Weeks per period so that there are at most ``periods`` prefixes.

    >>> default_period(52), default_period(104), default_period(6)
    (1, 2, 1)
    """
    return max(1, math.ceil(horizon / periods))


def rate_matrices(instance: PlanInstance) -> tuple[np.ndarray, np.ndarray]:
    """Matrices (teams × hazards) of the m² a team clears in a full week (0: cannot) and the fraction of its first
    week it loses to travel (0..1).

    >>> from safeground.domain.plan import Hazard, PlanInstance, Team
    >>> inst = PlanInstance((Hazard("A", 1.0, {"manual": 2.0}), Hazard("B", 1.0, {"mdd": 1.0})),
    ...                     (Team("T", "manual", 1000.0),), (), 4, travel_loss={("T", "A"): 0.25})
    >>> [m.tolist() for m in rate_matrices(inst)]
    [[[500.0, 0.0]], [[0.25, 0.0]]]
    """
    rate = np.zeros((len(instance.teams), len(instance.hazards)))
    loss = np.zeros_like(rate)
    travel = instance.travel_loss
    for ti, team in enumerate(instance.teams):
        for hi, hazard in enumerate(instance.hazards):
            r = instance.rate(team, hazard)  # the team's capacity on the hazard's terrain class over the effort
            if r > 0:
                rate[ti, hi] = r
                loss[ti, hi] = travel.get((team.id, hazard.id), 0.0)
    return rate, np.clip(loss, 0.0, 1.0)


def _release_slack(horizon: int) -> float:
    """How far below a hazard's area the checker still releases it: its allowance per assignment, for up to
    two teams' assignments in every week."""
    return TOLERANCE_M2 * (1 + 2 * horizon)


def _least_weeks(area: np.ndarray, rate: np.ndarray, loss: np.ndarray, horizon: int) -> np.ndarray:
    """Weeks a team of ``rate`` and travel ``loss`` works on a hazard of ``area`` alone at least, counting the
    checker's allowances (a week clears ``rate + TOLERANCE_M2``; release at ``area − slack``); ``inf`` where
    ``rate`` is 0. Without the allowances it is ``area/rate + loss``.

    >>> _least_weeks(np.array([2000.0]), np.array([1000.0]), np.array([0.2]), 4).round(3).tolist()
    [2.2]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        fast = rate + TOLERANCE_M2
        weeks = (np.maximum(0.0, area - _release_slack(horizon)) + rate * loss) / fast
    return np.where(rate > 0, weeks, np.inf)


def earliest_release(instance: PlanInstance, rate: np.ndarray, loss: np.ndarray, hazards: np.ndarray) -> np.ndarray:
    """For each hazard index in ``hazards``, the first week by whose end ``max_teams_per_hazard`` teams could
    have released it, each working on it in every week it is available from week 0 and losing its travel
    once (``rate·(available weeks − loss)`` m² at most); ``horizon`` when no teams could within the horizon.

    >>> from safeground.domain.plan import Hazard, PlanInstance, Team
    >>> inst = PlanInstance((Hazard("A", 5000.0, {"manual": 1.0}),),
    ...                     (Team("T1", "manual", 1000.0), Team("T2", "manual", 1000.0), Team("T3", "manual", 1000.0)),
    ...                     (), 6)
    >>> rate, loss = rate_matrices(inst)
    >>> earliest_release(inst, rate, loss, np.array([0])).tolist()  # two teams, 2,000 m² a week: in week 2
    [2]
    """
    horizon, k = instance.horizon, max(1, instance.max_teams_per_hazard)
    avail = np.cumsum([[t.available(w) for w in range(horizon)] for t in instance.teams], axis=1)
    r, lo = rate[:, hazards], loss[:, hazards]
    area = np.array([instance.hazards[h].area_m2 for h in hazards])
    slack = _release_slack(horizon) + 1e-9 * area
    out = np.full(len(hazards), horizon, dtype=np.int64)
    for w in range(horizon - 1, -1, -1):
        a = avail[:, w][:, None]
        cleared = np.where(a >= 1, r * np.maximum(0.0, a - lo) + a * TOLERANCE_M2, 0.0)  # the checker's allowance
        best = (-np.partition(-cleared, k - 1, axis=0)[:k]).sum(axis=0) if len(cleared) > k else cleared.sum(axis=0)
        out[best >= area - slack] = w
    return out


def _needs(instance: PlanInstance, rate: np.ndarray, loss: np.ndarray, method: str) -> dict[int, float]:
    """By hazard index, the least capacity a team of ``method`` spends to release it, counting each of its
    weeks at its standard-terrain capacity: ``min over teams of capacity·max(1, area/rate + loss)`` (``rate``
    on the hazard's terrain class)."""
    teams = [i for i, t in enumerate(instance.teams) if t.method == method]
    if not teams:
        return {}
    capacity = np.array([instance.teams[i].capacity_m2_week for i in teams])[:, None]
    area = np.array([h.area_m2 for h in instance.hazards])[None, :]
    r = rate[teams]
    with np.errstate(divide="ignore"):
        need = np.where(r > 0, np.maximum(capacity, area * capacity / np.where(r > 0, r, 1.0)
                                          + capacity * loss[teams]), np.inf).min(axis=0)
    return {int(i): float(need[i]) for i in np.flatnonzero(np.isfinite(need))}


@dataclass
class _Prefix:
    """One prefix LP (maximise ``cost·x``, ``A x ≤ row_upper``, ``0 ≤ x ≤ upper``) and what varies by prefix."""

    cost: np.ndarray
    upper: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    row_upper: np.ndarray
    w_cols: np.ndarray
    hazard_rate: np.ndarray  # value per week of each W column
    y_cols: np.ndarray
    settle_rate: np.ndarray  # value per week of each Y column (settlements)
    project_value: np.ndarray  # one-off value of each Y column (projects)
    deadline: np.ndarray  # deadline week of each Y column (projects; −1 otherwise)
    cap_rows: np.ndarray
    cumulative: np.ndarray  # by capacity row × weeks: each method's capacity, team-weeks, each method's team-weeks,
    # team-weeks again (the whole-weeks row), up to each week
    earliest: np.ndarray  # by W column: the first week its hazard could be released (horizon: never)


def _build(instance: PlanInstance, whole_weeks: bool = True) -> _Prefix:
    """The prefix LP with zero costs and capacities (set per prefix by :func:`plan_bound`)."""
    horizon, hazards = instance.horizon, instance.hazards
    methods = sorted({t.method for t in instance.teams})
    rate, loss = rate_matrices(instance)
    needs = [_needs(instance, rate, loss, m) for m in methods]
    workable = sorted(set().union(*needs)) if needs else []
    w_of = {h: j for j, h in enumerate(workable)}
    n_w = len(workable)
    w_cols = np.arange(n_w)
    hazard_rate = np.array([instance.hazard_value(hazards[h]) for h in workable])
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    cols_w = np.array(workable, dtype=np.int64)
    area = np.array([hazards[h].area_m2 for h in workable])
    fastest = rate[:, cols_w].max(axis=0, initial=0.0)
    # (with the checker's allowances: a week clears up to rate + TOLERANCE_M2, release at area − slack)
    fastest_weeks = _least_weeks(area, fastest, np.zeros(n_w), horizon)
    with np.errstate(invalid="ignore"):
        least_travel = np.where(rate[:, cols_w] > 0, _least_weeks(np.zeros(n_w)[None, :], rate[:, cols_w],
                                                                  loss[:, cols_w], horizon), np.inf
                                ).min(axis=0, initial=np.inf)
    # Rows 0..n_w−1 (cover): W[h] − Σ_m f[m,h] ≤ 0, or with the whole weeks W[h] − Σ_m x[m,h] − S[h] ≤ 0.
    rows.append(np.arange(n_w))
    cols.append(w_cols)
    vals.append(np.ones(n_w))
    n_col, n_row = n_w, n_w
    cap_rows = list(range(n_row, n_row + len(methods)))  # each method's capacity
    n_row += len(methods)
    team_weeks_row = n_row  # releasing h takes at least ceil(area/fastest rate + least loss) team-weeks in all
    n_row += 1
    rows.append(np.full(n_w, team_weeks_row))
    cols.append(w_cols)
    vals.append(np.ceil(fastest_weeks + least_travel - 1e-9))
    cap_rows.append(team_weeks_row)
    method_rows = np.arange(n_row, n_row + len(methods))  # each method's team-weeks (whole weeks only)
    total_row = n_row + len(methods)  # all team-weeks, counted by whole weeks (whole weeks only)
    n_row = total_row + 1
    share_rows = np.arange(n_row, n_row + n_w) if whole_weeks and instance.max_teams_per_hazard >= 2 else None
    if share_rows is not None:
        n_row += n_w
    for mi, method in enumerate(methods):
        hs = np.array([w_of[h] for h in needs[mi]], dtype=np.int64)
        need = np.array(list(needs[mi].values()), dtype=np.float64)
        if not whole_weeks:  # f[m,h]: the share of h the crew of m works
            f = np.arange(n_col, n_col + len(hs))
            n_col += len(hs)
            rows += [hs, np.full(len(hs), cap_rows[mi])]
            cols += [f, f]
            vals += [-np.ones(len(hs)), need]
            continue
        # x[m,h]: h released by one team of m alone, at its capacity need and its whole weeks, ⌈area/rate +
        # loss⌉ at best (a team works one hazard a week); s[m,h]: the share of a shared h that m's teams clear,
        # at the same capacity need and that share of max(1, area/rate + loss) weeks at least.
        teams = np.array([i for i, t in enumerate(instance.teams) if t.method == method], dtype=np.int64)
        alone = np.maximum(1.0, _least_weeks(area[None, :], rate[np.ix_(teams, cols_w)],
                                             loss[np.ix_(teams, cols_w)], horizon)).min(axis=0)[hs]
        whole = np.ceil(alone - 1e-9)
        x = np.arange(n_col, n_col + len(hs))
        n_col += len(hs)
        rows += [hs, np.full(len(hs), cap_rows[mi]), np.full(len(hs), method_rows[mi]), np.full(len(hs), total_row)]
        cols += [x, x, x, x]
        vals += [-np.ones(len(hs)), need, whole, whole]
        if share_rows is not None:
            sm = np.arange(n_col, n_col + len(hs))
            n_col += len(hs)
            rows += [share_rows[hs], np.full(len(hs), cap_rows[mi]), np.full(len(hs), method_rows[mi])]
            cols += [sm, sm, sm]
            vals += [-np.ones(len(hs)), need, alone]
    if share_rows is not None:
        # S[h]: h released by two teams together, at least max(2, ⌈area/fastest + 2·least loss⌉) team-weeks in
        # all; its shares cover it: S[h] − Σ_m s[m,h] ≤ 0.
        shared = np.arange(n_col, n_col + n_w)
        n_col += n_w
        rows += [np.arange(n_w), np.full(n_w, total_row), share_rows]
        cols += [shared, shared, shared]
        vals += [-np.ones(n_w), np.maximum(2.0, np.ceil(fastest_weeks + 2 * least_travel - 1e-9)), np.ones(n_w)]
    cap_rows += [*method_rows, total_row]
    index = {h.id: i for i, h in enumerate(hazards)}
    weights = instance.weights
    y_list, settle, project, deadline = [], [], [], []
    for target in instance.targets:
        blocking = [index[h] for h in target.blocking]
        if not all(h in w_of for h in blocking):
            continue
        y = n_col
        n_col += 1
        for h in blocking:
            rows.append(np.array([n_row, n_row]))
            cols.append(np.array([y, w_of[h]]))
            vals.append(np.array([1.0, -1.0]))
            n_row += 1
        y_list.append(y)
        is_settlement = target.kind == "settlement"
        settle.append(weights.households * target.households if is_settlement else 0.0)
        project.append(0.0 if is_settlement else weights.project * target.value)
        deadline.append(-1 if is_settlement else min(target.deadline_week, horizon - 1))
    team_weeks = np.cumsum([sum(t.available(w) for t in instance.teams) for w in range(horizon)])
    cumulative = np.array([np.cumsum([sum(t.capacity_m2_week for t in instance.teams
                                          if t.method == m and t.available(w)) for w in range(horizon)])
                           for m in methods] + [team_weeks] +
                          [np.cumsum([sum(t.available(w) for t in instance.teams if t.method == m)
                                      for w in range(horizon)]) for m in methods] + [team_weeks]
                          ).reshape(2 * len(methods) + 2, horizon)
    earliest = earliest_release(instance, rate, loss, cols_w)
    return _Prefix(np.zeros(n_col), np.ones(n_col), np.concatenate(rows) if rows else np.zeros(0, np.int64),
                   np.concatenate(cols) if cols else np.zeros(0, np.int64),
                   np.concatenate(vals) if vals else np.zeros(0), np.zeros(n_row), w_cols, hazard_rate,
                   np.array(y_list, dtype=np.int64), np.array(settle), np.array(project),
                   np.array(deadline, dtype=np.int64), np.array(cap_rows, dtype=np.int64), cumulative, earliest)


def _lagrangian(lp: _Prefix, cost: np.ndarray, row_upper: np.ndarray, duals: np.ndarray,
                upper: np.ndarray) -> float:
    """``λ·b + Σ_j u_j·max(0, c_j − (Aᵀλ)_j)`` for ``λ = max(0, duals)``: an upper bound on the LP."""
    lam = np.maximum(duals, 0.0)
    reduced = cost - np.bincount(lp.cols, weights=lam[lp.rows] * lp.vals, minlength=len(cost))
    return float(lam @ row_upper + upper @ np.maximum(reduced, 0.0))


def plan_bound(instance: PlanInstance, period: int | None = None, time_limit: float = 30.0,
               integral: bool = True, max_integral: int = 200, whole_weeks: bool | None = None) -> Bound:
    """Sum the prefix LPs' optima (see module) over the period ends and return the bound. With
    ``integral`` and at most ``max_integral`` hazards, ``W`` is binary in each prefix (a MILP, tighter;
    its dual bound is used). ``whole_weeks`` adds the whole-weeks rows (tighter, about twice the columns and
    five times the time); by default only up to ``WHOLE_WEEKS_HAZARDS`` hazards."""
    began = time.monotonic()
    horizon = instance.horizon
    length = period or default_period(horizon)
    if whole_weeks is None:
        whole_weeks = len(instance.hazards) <= WHOLE_WEEKS_HAZARDS
    lp = _build(instance, whole_weeks)
    if not len(lp.cost):
        return Bound(0.0, length, True, time.monotonic() - began)
    integral = integral and len(lp.w_cols) <= max_integral
    n_row = len(lp.row_upper)
    order = np.lexsort((lp.cols, lp.rows))
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
        model.integrality_ = [highspy.HighsVarType.kInteger if j < len(lp.w_cols) else
                              highspy.HighsVarType.kContinuous for j in range(len(lp.cost))]
    h = new_highs()
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.passModel(model)
    total, optimal, terms = 0.0, True, []
    ends = [*range(length - 1, horizon - 1, length), horizon - 1]
    start = 0
    for end in ends:
        weeks = end - start + 1
        cost = np.zeros(len(lp.cost))
        cost[lp.w_cols] = weeks * lp.hazard_rate
        due = (lp.deadline >= start) & (lp.deadline <= end)
        cost[lp.y_cols] = weeks * lp.settle_rate + np.where(due, lp.project_value, 0.0)
        row_upper = lp.row_upper.copy()
        row_upper[lp.cap_rows] = lp.cumulative[:, end]
        h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
        upper = lp.upper.copy()
        upper[lp.w_cols] = np.where(lp.earliest <= end, 1.0, 0.0)  # not releasable by ``end``: W = 0
        h.changeColsBounds(len(lp.w_cols), lp.w_cols.astype(np.int32), np.zeros(len(lp.w_cols)),
                           upper[lp.w_cols])
        for r in lp.cap_rows:
            h.changeRowBounds(int(r), -highspy.kHighsInf, float(row_upper[r]))
        # HiGHS's clock runs over all the runs of one instance: the limit is on that clock.
        h.setOptionValue("time_limit", h.getRunTime() + max(0.05, time_limit - (time.monotonic() - began)))
        h.run()
        status = h.getModelStatus()
        optimal = optimal and status == highspy.HighsModelStatus.kOptimal

        if integral:
            value = float(h.getInfo().mip_dual_bound)
            if not math.isfinite(value):
                value = float(np.maximum(cost, 0.0) @ upper)
        else:
            solution = h.getSolution()
            duals = np.asarray(solution.row_dual, dtype=np.float64) if solution.dual_valid else np.zeros(n_row)
            value = _lagrangian(lp, cost, row_upper, duals, upper)
        total += value
        terms.append(value)
        start = end + 1
    return Bound(total, length, optimal, time.monotonic() - began, tuple(terms))
