"""The full time-indexed clearance model, as a HiGHS MILP (highspy: the open-source MILP solver with a
Python API; one solver for the plan, the pieces of the decomposition and the bound).

Variables, for each team ``t``, hazard ``h`` its method can work and week ``w`` it is available:
``x[t,h,w]`` (binary: t works on h in w), ``a[t,h,w]`` (m² cleared), ``s[t,h,w]`` (a run starts: travel);
``u[t,h]`` (binary: t ever works on h); ``z[h,w]`` (binary: h released by the end of week w);
``y[k,w]`` (target k safe by the end of week w). Rows::

    Σ_h x[t,h,w] ≤ 1                       one hazard per team and week
    a[t,h,w] ≤ rate·(x[t,h,w] − loss·s[t,h,w]),   s[t,h,w] ≥ x[t,h,w] − x[t,h,w−1]
    x[t,h,w] ≤ u[t,h],   Σ_t u[t,h] ≤ 2     team sharing
    z[h,w] ≤ z[h,w+1],   Σ_{t, w' ≤ w} a[t,h,w'] ≥ area_h · z[h,w]
    y[k,w] ≤ z[h,w] for each blocking hazard h of k

and the objective ``Σ_h hazard_value·Σ_w z[h,w] + Σ_settlements w·households·Σ_w y[k,w] +
Σ_projects w·value·y[k,deadline]``, which equals :func:`safeground.domain.plan.PlanInstance.value_of_release`.
:func:`solve_model` can restrict the model to some teams and hazards, the rest of a plan held fixed: that is
one piece of the decomposition in :mod:`safeground.services.plan_solve`.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import highspy
import numpy as np

from safeground.domain.plan import Assignment, Plan, PlanInstance

_QUIET = False


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance. The first one in a process prints HiGHS's banner on the C stdout before any
    option can be set, which would spoil ``--format json``; it is sent to the null device."""
    global _QUIET
    if _QUIET:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        try:
            h = highspy.Highs()
            ctypes.CDLL(None).fflush(None)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(null)
        _QUIET = True
    h.setOptionValue("output_flag", False)
    return h


@dataclass
class Model:
    """A MILP under construction: columns with bounds and costs, rows as sparse lists (maximised)."""

    cost: list[float] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    rows: list[tuple[float, float, dict[int, float]]] = field(default_factory=list)
    constant: float = 0.0

    def var(self, cost: float = 0.0, upper: float = 1.0, integer: bool = False) -> int:
        """Add a column with lower bound 0 and return its index."""
        self.cost.append(cost)
        self.lower.append(0.0)
        self.upper.append(upper)
        self.integer.append(integer)
        return len(self.cost) - 1

    def row(self, coefs: Mapping[int, float], lower: float = -highspy.kHighsInf,
            upper: float = highspy.kHighsInf) -> None:
        """Add ``lower ≤ Σ coef·col ≤ upper``."""
        self.rows.append((lower, upper, dict(coefs)))

    def solve(self, time_limit: float, start: list[float] | None = None, relax: bool = False,
              gap: float = 1e-6) -> Solved:
        """Solve with HiGHS; ``start`` is a feasible solution to warm-start from."""
        if not self.cost:
            return Solved([], self.constant, self.constant, True, True)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(self.cost), len(self.rows)
        lp.col_cost_ = np.array(self.cost, dtype=np.float64)
        lp.col_lower_ = np.array(self.lower, dtype=np.float64)
        lp.col_upper_ = np.array(self.upper, dtype=np.float64)
        lp.row_lower_ = np.array([r[0] for r in self.rows], dtype=np.float64)
        lp.row_upper_ = np.array([r[1] for r in self.rows], dtype=np.float64)
        starts: list[int] = [0]
        index: list[int] = []
        value: list[float] = []
        for _, _, coefs in self.rows:
            index.extend(coefs)
            value.extend(coefs.values())
            starts.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(value, dtype=np.float64)
        lp.sense_ = highspy.ObjSense.kMaximize
        if not relax and any(self.integer):
            lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                               for i in self.integer]
        h = new_highs()
        h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
        h.setOptionValue("mip_rel_gap", gap)
        h.setOptionValue("threads", 1)
        h.passModel(lp)
        if start is not None:
            warm = highspy.HighsSolution()
            warm.col_value = list(start)
            warm.value_valid = True
            h.setSolution(warm)
        h.run()
        info = h.getInfo()
        has = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        values = list(h.getSolution().col_value) if has else []
        optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        objective = info.objective_function_value + self.constant if has else -np.inf
        if has and start is not None:
            own = float(np.dot(self.cost, values)) + self.constant
            if abs(own - objective) > 1e-6 * max(1.0, abs(own)):
                # HiGHS 1.16 sometimes answers a warm-started MIP with the start's column values but another
                # objective and status; the answer cannot be trusted, so solve again from cold.
                return self.solve(time_limit, start=None, relax=relax, gap=gap)
        if relax or not any(self.integer):
            bound = objective if optimal else np.inf
        else:
            bound = info.mip_dual_bound + self.constant
        return Solved(values, objective, float(bound), optimal, has)


@dataclass(frozen=True)
class Solved:
    """A solver's answer: column values, objective, dual bound, proven optimal, a solution found."""

    values: list[float]
    objective: float
    bound: float
    optimal: bool
    found: bool


def _release_of(plan: Plan, instance: PlanInstance) -> dict[str, int]:
    from safeground.domain.plan import check_plan

    return check_plan(instance, plan).released


def solve_model(instance: PlanInstance, plan: Plan | None = None, *, teams: Collection[str] | None = None,
                hazards: Collection[str] | None = None, time_limit: float = 10.0,
                gap: float = 1e-6) -> tuple[Plan | None, Solved]:
    """Solve the full model, or the piece over ``teams`` × ``hazards`` with the rest of ``plan`` fixed.

    ``plan`` (feasible) warm-starts the solver; its assignments of other teams or hazards stay as they are.
    Returns the new plan (``None`` when HiGHS found none) and the solver's answer.
    """
    horizon = instance.horizon
    team_ids = {t.id for t in instance.teams} if teams is None else set(teams)
    hazard_ids = {h.id for h in instance.hazards} if hazards is None else set(hazards)
    kept = [a for a in (plan.assignments if plan else ())
            if not (a.team_id in team_ids and a.hazard_id in hazard_ids)]
    busy = {(a.team_id, a.week) for a in kept}
    assert not any(a.hazard_id in hazard_ids for a in kept), "a piece's hazards are worked only by its teams"
    fixed_release = _release_of(Plan(tuple(kept)), instance)
    m = Model()
    x: dict[tuple[str, str, int], int] = {}
    a_col: dict[tuple[str, str, int], int] = {}
    s_col: dict[tuple[str, str, int], int] = {}
    on_hazard: dict[str, list[tuple[str, int]]] = defaultdict(list)
    by_team_week: dict[tuple[str, int], list[int]] = defaultdict(list)
    u: dict[tuple[str, str], int] = {}
    for team in instance.teams:
        if team.id not in team_ids:
            continue
        for hazard in instance.hazards:
            rate = instance.rate(team, hazard)
            if hazard.id not in hazard_ids or rate <= 0:
                continue
            loss = instance.loss(team, hazard)
            u[(team.id, hazard.id)] = m.var(integer=True)
            for w in range(horizon):
                if not team.available(w) or (team.id, w) in busy:
                    continue
                key = (team.id, hazard.id, w)
                x[key] = m.var(integer=True)
                a_col[key] = m.var(upper=rate)
                s_col[key] = m.var()
                m.row({a_col[key]: 1.0, x[key]: -rate, s_col[key]: rate * loss}, upper=0.0)
                prev = x.get((team.id, hazard.id, w - 1))
                m.row({s_col[key]: 1.0, x[key]: -1.0, **({prev: 1.0} if prev is not None else {})}, lower=0.0)
                m.row({x[key]: 1.0, u[(team.id, hazard.id)]: -1.0}, upper=0.0)
                by_team_week[(team.id, w)].append(x[key])
                on_hazard[hazard.id].append((team.id, w))
    for cols in by_team_week.values():
        m.row({c: 1.0 for c in cols}, upper=1.0)
    u_by_hazard: dict[str, list[int]] = defaultdict(list)
    for (_, h), c in u.items():
        u_by_hazard[h].append(c)
    for sharing in u_by_hazard.values():
        if len(sharing) > instance.max_teams_per_hazard:
            m.row({c: 1.0 for c in sharing}, upper=instance.max_teams_per_hazard)
    z: dict[tuple[str, int], int] = {}
    for hazard in instance.hazards:
        if hazard.id not in on_hazard:
            continue
        hv = instance.hazard_value(hazard)
        for w in range(horizon):
            z[(hazard.id, w)] = m.var(cost=hv, integer=True)
            if w:
                m.row({z[(hazard.id, w - 1)]: 1.0, z[(hazard.id, w)]: -1.0}, upper=0.0)
            coefs = {a_col[(t, hazard.id, v)]: 1.0 for t, v in on_hazard[hazard.id] if v <= w}
            coefs[z[(hazard.id, w)]] = -hazard.area_m2
            m.row(coefs, lower=0.0)
    for hazard_id, week in fixed_release.items():
        m.constant += instance.hazard_value(instance.hazard(hazard_id)) * (horizon - week)
    y: dict[tuple[str, int], int] = {}
    weights = instance.weights
    for target in instance.targets:
        settlement = target.kind == "settlement"
        deadline = min(target.deadline_week, horizon - 1)
        for w in range(horizon):
            cost = weights.households * target.households if settlement else (
                weights.project * target.value if w == deadline else 0.0)
            fixed_ok = all(fixed_release.get(h, horizon) <= w for h in target.blocking
                           if (h, w) not in z)
            if not fixed_ok:
                continue
            movable = [z[(h, w)] for h in target.blocking if (h, w) in z]
            if not movable:
                m.constant += cost
                continue
            y[(target.id, w)] = col = m.var(cost=cost)
            for zc in movable:
                m.row({col: 1.0, zc: -1.0}, upper=0.0)
    start = _start(m, instance, plan, x, a_col, s_col, u, z, y) if plan is not None else None
    solved = m.solve(time_limit, start=start, gap=gap)
    if not solved.found:
        return None, solved
    vals = solved.values
    new = list(kept)
    for key, col in x.items():
        if vals[col] > 0.5:
            team_id, hazard_id, w = key
            new.append(Assignment(team_id, hazard_id, w, max(0.0, vals[a_col[key]])))
    return Plan(tuple(sorted(new, key=lambda a: (a.team_id, a.week)))), solved


def _start(m: Model, instance: PlanInstance, plan: Plan, x: Mapping[tuple[str, str, int], int],
           a_col: Mapping[tuple[str, str, int], int], s_col: Mapping[tuple[str, str, int], int],
           u: Mapping[tuple[str, str], int], z: Mapping[tuple[str, int], int],
           y: Mapping[tuple[str, int], int]) -> list[float] | None:
    """The column values of ``plan`` (the warm start), or ``None`` if the piece cannot express it."""
    vals = [0.0] * len(m.cost)
    for a in plan.assignments:
        key = (a.team_id, a.hazard_id, a.week)
        if key in x:
            vals[x[key]] = 1.0
            vals[a_col[key]] = a.area_m2
            vals[u[(a.team_id, a.hazard_id)]] = 1.0
    for key, col in s_col.items():
        prev = x.get((key[0], key[1], key[2] - 1))
        vals[col] = max(0.0, vals[x[key]] - (vals[prev] if prev is not None else 0.0))
    released = _release_of(plan, instance)
    for (hazard_id, w), col in z.items():
        vals[col] = 1.0 if released.get(hazard_id, instance.horizon) <= w else 0.0
    targets = {t.id: t for t in instance.targets}
    for (target_id, w), col in y.items():
        ok = all(released.get(h, instance.horizon) <= w for h in targets[target_id].blocking)
        vals[col] = 1.0 if ok else 0.0
    return vals
