"""The nested plan: checkpoint by checkpoint, fix the targets that can be safe by each one (an LP each).

The horizon is cut at *checkpoints* (:func:`checkpoints`). At each checkpoint ``c``, one LP (HiGHS) chooses
which targets to make safe by the end of week ``c``, on top of what the earlier checkpoints fixed:

- ``z[t,h]``: team ``t`` clears hazard ``h`` alone, in ``k[t,h] = max(1, ⌈area/rate + loss⌉)`` weeks (a team
  works one hazard a week and loses its travel in the first); only pairs within a week of the hazard's best
  team are offered, which keeps each LP to tens of thousands of columns;
- ``Σ_h k[t,h]·z[t,h] ≤`` the weeks ``t`` is available up to ``c``, less the weeks fixed before;
- ``W[h] ≤ Σ_t z[t,h] ≤ 1``, and ``Y[b] ≤ W[h]`` for each open hazard ``h`` of bundle ``b``;
- maximise ``Σ_b value_b(c)·Y[b]``. A bundle is a target or a hazard with a value of its own: a settlement
  is worth its households × (horizon − c); a project its value, at the last checkpoint on or before its
  deadline; a hazard its value per week × (horizon − c).

The bundles whose ``Y`` is 1 are fixed, each hazard with the team the LP gives most of it (or the next
that has room), and go into the teams' sequences after what earlier checkpoints fixed, the densest bundle
first. The LPs are nearly integral on the national demo, so little is lost in rounding; what a checkpoint
leaves unused is there for the next. Each checkpoint maximises what is safe by then, and the sequences are
list-scheduled (:func:`safeground.services.plan_search.sequences_plan`), so the plan keeps every rule.

How far to look is the choice that matters: :func:`nested_plans` tries the checkpoint grid, the grid with
every project deadline added, and the grid with a lookahead (each LP also plans a later checkpoint on top of
its own, fixing only its own), and the caller keeps the best.

>>> from safeground.domain.plan import Hazard, PlanInstance, Target, Team, plan_value
>>> inst = PlanInstance((Hazard("A", 500.0, {"manual": 1.0}), Hazard("B", 500.0, {"manual": 1.0}),
...                      Hazard("C", 500.0, {"manual": 1.0})), (Team("T", "manual", 500.0),),
...                     (Target("S1", "settlement", ("A", "B"), households=10),
...                      Target("S2", "settlement", ("C",), households=8)), 3)
>>> plan = nested_plan(inst)
>>> [(a.hazard_id, a.week) for a in plan.assignments]  # S2 first: 8 households home a week earlier
[('C', 0), ('A', 1), ('B', 2)]
>>> plan_value(inst, plan)
34.0
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import highspy
import numpy as np
from scipy import sparse

from safeground.domain.plan import Plan, PlanInstance
from safeground.services.plan_bound import rate_matrices
from safeground.services.plan_milp import new_highs
from safeground.services.plan_search import sequences_plan

SLACK_WEEKS = 1
"""Pairs offered to the LP: a team that needs at most this many weeks more than the hazard's best team."""

CANDIDATE_ROOM = 20.0
"""Bundles offered to a checkpoint's LP: the densest, up to this many times the team-weeks left."""

LOOKAHEAD_WEEKS = 2
"""With a lookahead, each checkpoint's LP also plans the first checkpoint at least this many weeks later."""

LOOKAHEAD_COST = 12.0
"""About how many times longer the nested plan takes with a lookahead (10 on the national benchmark and on
the synthetic one: the LPs have twice the columns and are more degenerate), for :func:`nested_plans`."""


def checkpoints(instance: PlanInstance, deadlines: bool = True) -> list[int]:
    """The weeks at whose end the plan fixes what is safe: every week of the first eight, then about a sixth
    further apart each time, and the last week; with ``deadlines``, every project deadline in the horizon too.

    >>> from safeground.domain.plan import PlanInstance, Target, Hazard
    >>> inst = PlanInstance((Hazard("A", 1.0, {"manual": 1.0}),), (),
    ...                     (Target("P", "project", ("A",), value=1.0, deadline_week=10),), 30)
    >>> checkpoints(inst, deadlines=False)
    [0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 15, 17, 20, 23, 27, 29]
    >>> 10 in checkpoints(inst)
    True
    """
    horizon = instance.horizon
    weeks = {horizon - 1}
    week = 0
    while week < horizon:
        weeks.add(week)
        week = week + 1 if week < 7 else week + max(2, round(week / 6))
    if deadlines:
        weeks |= {t.deadline_week for t in instance.targets
                  if t.kind != "settlement" and 0 <= t.deadline_week < horizon}
    return sorted(weeks)


def nested_plans(instance: PlanInstance, time_limit: float = 30.0) -> Iterator[Plan]:
    """The nested plans worth trying within ``time_limit`` seconds, each when the time it should take (from
    the first one's) still fits: on the checkpoint grid; with every project deadline a checkpoint too (when
    that adds checkpoints); on the grid with a lookahead of ``LOOKAHEAD_WEEKS``.

    Which is best depends on the instance. On the national benchmark the deadlines gain 0.3 % and the
    lookahead loses 1.3 % (and takes ten times as long); where settlements wait on many hazards of several
    weeks each, the lookahead gains 5-13 % on 400 hazards, and a deadline in every week makes each checkpoint
    a week and the plan short-sighted (0.89 times the grid's value on the 5,000-hazard synthetic instance)."""
    began = time.monotonic()

    def left() -> float:
        return time_limit - (time.monotonic() - began)

    yield nested_plan(instance, time_limit=left(), deadlines=False)
    first = time.monotonic() - began
    grid, every = len(checkpoints(instance, deadlines=False)), len(checkpoints(instance))
    if every > grid and first * every / grid < left():
        yield nested_plan(instance, time_limit=left())
    if LOOKAHEAD_COST * first < left():
        yield nested_plan(instance, time_limit=left(), lookahead=LOOKAHEAD_WEEKS, deadlines=False)


def _weeks_alone(instance: PlanInstance) -> np.ndarray:
    """Teams × hazards: the weeks a team works a hazard alone from a fresh start (``inf``: it cannot)."""
    rate, loss = rate_matrices(instance)
    area = np.array([h.area_m2 for h in instance.hazards])[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        weeks = np.maximum(1.0, np.ceil((area - 1e-9) / rate + loss - 1e-9))
    return np.where(rate > 0, weeks, np.inf)


def nested_plan(instance: PlanInstance, time_limit: float = 30.0, slack: int = SLACK_WEEKS,
                lookahead: int = 0, deadlines: bool = True) -> Plan:
    """The nested plan (see module) at :func:`checkpoints` (``deadlines`` passed on), each LP also planning the
    first checkpoint ``lookahead`` weeks or more later when ``lookahead`` is positive; after ``time_limit``
    seconds the checkpoints left are not planned."""
    began = time.monotonic()
    horizon, n_teams, n_hazards = instance.horizon, len(instance.teams), len(instance.hazards)
    if not n_teams or not n_hazards:
        return Plan(())
    k = _weeks_alone(instance)
    best = k.min(axis=0)
    index = {h.id: i for i, h in enumerate(instance.hazards)}
    w = instance.weights
    bundles: list[np.ndarray] = []
    per_week: list[float] = []  # value per week safe before the horizon's end (settlements, hazards)
    once: list[float] = []  # value if safe by the deadline (projects)
    deadline: list[int] = []
    for target in instance.targets:
        bundles.append(np.array([index[h] for h in target.blocking], dtype=np.int64))
        settlement = target.kind == "settlement"
        per_week.append(w.households * target.households if settlement else 0.0)
        once.append(0.0 if settlement else w.project * target.value)
        deadline.append(min(target.deadline_week, horizon - 1))
    for hi, hazard in enumerate(instance.hazards):
        if instance.hazard_value(hazard) > 0:
            bundles.append(np.array([hi], dtype=np.int64))
            per_week.append(instance.hazard_value(hazard))
            once.append(0.0)
            deadline.append(-1)
    rate_week, value_once, due = np.array(per_week), np.array(once), np.array(deadline)
    wanted = np.zeros(n_hazards, dtype=bool)
    for members in bundles:
        wanted[members] = True
    pair_team, pair_hazard = np.nonzero(np.isfinite(k) & (k <= best[None, :] + slack) & wanted[None, :])
    pair_weeks = k[pair_team, pair_hazard]
    available = np.cumsum([[t.available(wk) for wk in range(horizon)] for t in instance.teams], axis=1)
    used = np.zeros(n_teams)
    team_of = np.full(n_hazards, -1)
    fixed_at = np.full(n_hazards, -1)
    density = np.zeros(n_hazards)
    done = np.zeros(len(bundles), dtype=bool)
    stops = checkpoints(instance, deadlines)
    for ci, week in enumerate(stops):
        if time.monotonic() - began > time_limit:
            break
        ahead = [i for i in range(ci + 1, len(stops)) if stops[i] >= week + lookahead] if lookahead else []
        looks = [ci, *ahead[:1]]
        rooms = [available[:, stops[i]] - used for i in looks]
        values = []
        for i in looks:
            nxt = stops[i + 1] if i + 1 < len(stops) else horizon
            values.append(rate_week * (horizon - stops[i])
                          + np.where((due >= stops[i]) & (due < nxt), value_once, 0.0))
        value = values[0]
        live = (team_of[pair_hazard] < 0) & (pair_weeks <= rooms[-1][pair_team])
        reachable = np.zeros(n_hazards, dtype=bool)
        reachable[pair_hazard[live]] = True
        chosen = _candidates(bundles, done, np.maximum.reduce(values), team_of, reachable, best, rooms[-1].sum())
        if not chosen:
            continue
        needed = np.zeros(n_hazards, dtype=bool)
        for _, open_ in chosen:
            needed[open_] = True
        live &= needed[pair_hazard]
        fixed = _checkpoint(instance, pair_team[live], pair_hazard[live], pair_weeks[live], rooms, chosen, values,
                            time_limit - (time.monotonic() - began))
        for b, picks in fixed:
            done[b] = True
            total = sum(float(k[t, h]) for t, h in picks)
            for t, h in picks:
                team_of[h], fixed_at[h] = t, ci
                density[h] = value[b] / max(1.0, total)
                used[t] += k[t, h]
    sequences: list[list[int]] = [[] for _ in range(n_teams)]
    for h in np.lexsort((np.arange(n_hazards), -density, fixed_at)):
        if team_of[h] >= 0:
            sequences[team_of[h]].append(int(h))
    return sequences_plan(instance, sequences)


def _candidates(bundles: list[np.ndarray], done: np.ndarray, value: np.ndarray, team_of: np.ndarray,
                reachable: np.ndarray, best: np.ndarray, room: float) -> list[tuple[int, np.ndarray]]:
    """Bundles not yet safe, worth something now, whose open hazards some team with room can clear: the
    densest (value per week of the hazards' best teams), up to ``CANDIDATE_ROOM`` times the weeks left in
    all. Marks the bundles already safe ``done``."""
    found: list[tuple[float, int, np.ndarray]] = []
    for found_b in np.flatnonzero(~done & (value > 0)):
        b = int(found_b)
        open_ = bundles[b][team_of[bundles[b]] < 0]
        if not len(open_):  # made safe with other bundles' hazards
            done[b] = True
        elif reachable[open_].all():
            found.append((-float(value[b]) / max(1.0, float(best[open_].sum())), b, open_))
    found.sort(key=lambda f: (f[0], f[1]))
    kept: list[tuple[int, np.ndarray]] = []
    weeks = 0.0
    for _, bundle, open_ in found:
        if weeks > CANDIDATE_ROOM * room:
            break
        kept.append((bundle, open_))
        weeks += float(best[open_].sum())
    return kept


def _checkpoint(instance: PlanInstance, p_team: np.ndarray, p_hazard: np.ndarray, p_weeks: np.ndarray,
                rooms: list[np.ndarray], chosen: list[tuple[int, np.ndarray]], values: list[np.ndarray],
                time_limit: float) -> list[tuple[int, list[tuple[int, int]]]]:
    """Solve one checkpoint's LP and round it: ``(bundle, [(team, hazard), ...])`` for each bundle fixed.

    With two ``rooms`` (and ``values``) the LP also plans a later checkpoint, on top of this one, so that
    this one's choice leaves room for what is worth more later; only this checkpoint's bundles are fixed."""
    hazards, h_col = np.unique(p_hazard, return_inverse=True)
    col_of = np.full(len(instance.hazards), -1)
    col_of[hazards] = np.arange(len(hazards))
    nz, nw, ny, nb = len(p_team), len(hazards), len(chosen), len(rooms)
    teams, t_row = np.unique(p_team, return_inverse=True)
    link_y = np.concatenate([np.full(len(o), y) for y, (_, o) in enumerate(chosen)])
    link_w = col_of[np.concatenate([o for _, o in chosen])]
    nt, nl = len(teams), len(link_y)
    per = nz + nw + ny  # columns per checkpoint: z, W, Y
    # Rows: each hazard cleared once (Σ_b Σ_t z_b ≤ 1); then per checkpoint b a block of capacity by team
    # (the z of b and earlier), W_b − (the z of b and earlier) ≤ 0 and Y_b − W_b ≤ 0; then Σ_b Y_b ≤ 1.
    def block(b: int) -> int:
        return nw + b * (nt + nw + nl)

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for b in range(nb):
        z = b * per + np.arange(nz)
        w_cols, y0 = b * per + nz + np.arange(nw), b * per + nz + nw
        rows += [h_col, block(b) + nt + np.arange(nw), block(b) + nt + nw + np.arange(nl),
                 block(b) + nt + nw + np.arange(nl)]
        cols += [z, w_cols, y0 + link_y, w_cols[link_w]]
        vals += [np.ones(nz), np.ones(nw), np.ones(nl), -np.ones(nl)]
        for later in range(b, nb):
            rows += [block(later) + t_row, block(later) + nt + h_col]
            cols += [z, z]
            vals += [p_weeks, -np.ones(nz)]
        if nb > 1:
            rows.append(block(nb) + np.arange(ny))
            cols.append(y0 + np.arange(ny))
            vals.append(np.ones(ny))
    n_row = block(nb) + (ny if nb > 1 else 0)
    row_upper = np.zeros(n_row)
    row_upper[:nw] = 1.0
    row_upper[block(nb):] = 1.0
    for b in range(nb):
        row_upper[block(b) + np.arange(nt)] = rooms[b][teams]
    n_col = nb * per
    matrix = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                               shape=(n_row, n_col))
    col_upper = np.ones(n_col)
    for b in range(nb):  # a pair that does not fit by checkpoint b cannot be done by then
        col_upper[b * per + np.flatnonzero(p_weeks > rooms[b][p_team])] = 0.0
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, n_row
    lp.col_cost_ = np.concatenate([np.concatenate([np.zeros(nz + nw), v[[b for b, _ in chosen]]]) for v in values])
    lp.col_lower_, lp.col_upper_ = np.zeros(n_col), col_upper
    lp.row_lower_ = np.full(n_row, -highspy.kHighsInf)
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data
    lp.sense_ = highspy.ObjSense.kMaximize
    h = new_highs()
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", max(0.05, time_limit))
    h.passModel(lp)
    h.run()
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    if len(x) != n_col:
        return []
    z_val, y = x[:nz], x[nz + nw:per]
    by_hazard = np.argsort(h_col, kind="stable")
    starts = np.searchsorted(h_col[by_hazard], np.arange(nw + 1))
    left = rooms[0].astype(np.float64).copy()
    taken = np.zeros(nw, dtype=bool)
    out = []
    for j in sorted(np.flatnonzero(y >= 0.5), key=lambda j: (-float(y[j] > 1 - 1e-6), -y[j], j)):
        bundle, open_ = chosen[j]
        trial, picks = left.copy(), []
        for c in col_of[open_]:
            if taken[c]:
                continue
            pairs = by_hazard[starts[c]:starts[c + 1]]
            for p in pairs[np.argsort(-z_val[pairs], kind="stable")]:
                if p_weeks[p] <= trial[p_team[p]]:
                    trial[p_team[p]] -= p_weeks[p]
                    picks.append(p)
                    break
            else:
                break
        else:
            left = trial
            taken[h_col[picks]] = True
            out.append((bundle, [(int(p_team[p]), int(p_hazard[p])) for p in picks]))
    return out

