"""The improved clearance plan: greedy, better greedy starts, local search, then HiGHS, within a time limit.

1. *Greedy* (the reference); the *nested plan* (:mod:`safeground.services.plan_nested`: checkpoint by
   checkpoint, an LP fixes the targets that can be safe by then); and greedy *variants* that measure a
   hazard's cost in the weeks the best team spends on it (a team works one hazard a week, so small hazards
   cost more than their area says) and give each hazard to the team that spends the fewest weeks on it for
   an early finish (``economical``). The best of them is the start.
2. *Local search* (:mod:`safeground.services.plan_search`) moves and reorders hazards in the teams'
   sequences, keeping moves that do not lower the value.
3. *HiGHS*: an instance small enough (``whole_columns``) is solved whole, warm-started from the incumbent;
   otherwise HiGHS works on pieces (teams grouped by base) with the time that is left.

Each piece is the full model (:mod:`safeground.services.plan_milp`) over one group of teams and the hazards
that only that group works on in the current plan, or that nobody works on; the rest of the plan is held
fixed. The piece is warm-started from the current plan, so HiGHS starts from a plan at least as good, and a
new plan replaces the current one only when its checked value is higher: the result is never worse than
greedy. Rounds over the groups repeat while time is left and a round improves the plan; an instance small
enough (``whole_columns``) is solved whole first.

>>> from safeground.domain.plan import Hazard, PlanInstance, Target, Team
>>> inst = PlanInstance((Hazard("A", 900.0, {"manual": 1.0}), Hazard("B", 900.0, {"manual": 1.0})),
...                     (Team("T1", "manual", 500.0), Team("T2", "manual", 400.0)),
...                     (Target("S", "settlement", ("A", "B"), households=5),), 3)
>>> result = improve_plan(inst, time_limit=5)
>>> result.value >= result.greedy_value
True
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass

from safeground.domain.plan import Plan, PlanInstance, plan_value
from safeground.services.plan_greedy import greedy_plan, team_weeks
from safeground.services.plan_milp import solve_model
from safeground.services.plan_nested import nested_plans
from safeground.services.plan_search import local_search


@dataclass(frozen=True)
class PlanResult:
    """The improved plan, its value, the greedy plan's value, the seconds spent and ``(seconds, value)`` each
    time the incumbent improved (the first entry is the greedy plan)."""

    plan: Plan
    value: float
    greedy_value: float
    seconds: float
    progress: tuple[tuple[float, float], ...] = ()


def _groups(instance: PlanInstance, max_teams: int) -> list[list[str]]:
    """Teams grouped by base, groups split into chunks of at most ``max_teams``."""
    groups: dict[str, list[str]] = defaultdict(list)
    for team in instance.teams:
        groups[team.base].append(team.id)
    return [groups[k][i:i + max_teams] for k in sorted(groups) for i in range(0, len(groups[k]), max_teams)]


def _size(instance: PlanInstance) -> int:
    return sum(1 for t in instance.teams for h in instance.hazards if instance.rate(t, h) > 0) * instance.horizon


def _density(instance: PlanInstance) -> dict[str, float]:
    """Value per m² of each hazard: its own value and its targets' shared among their blocking hazards."""
    horizon, w = instance.horizon, instance.weights
    value = {h.id: instance.hazard_value(h) * horizon for h in instance.hazards}
    for t in instance.targets:
        v = w.households * t.households * horizon if t.kind == "settlement" else w.project * t.value
        for h in t.blocking:
            value[h] += v / len(t.blocking)
    return {h.id: value[h.id] / max(h.area_m2, 1.0) for h in instance.hazards}


def _variants(instance: PlanInstance) -> list[dict[str, float]]:
    """Work measures for the greedy variants: team-weeks, whole team-weeks, and team-weeks to the power 1.5."""
    weeks = team_weeks(instance)
    return [weeks, {h: float(math.ceil(w - 1e-9)) if math.isfinite(w) else w for h, w in weeks.items()},
            {h: w ** 1.5 for h, w in weeks.items()}]


def improve_plan(instance: PlanInstance, time_limit: float = 60.0, whole_columns: int = 4000,
                 piece_columns: int = 20000, max_group_teams: int = 4, search_share: float = 0.75,
                 seed: int = 0, nested_share: float = 0.5) -> PlanResult:
    """Greedy, the nested plan, greedy variants, local search, then HiGHS until ``time_limit`` seconds; never
    worse than greedy.

    The nested plans (:func:`~safeground.services.plan_nested.nested_plans`) get at most ``nested_share`` of
    the time. The local search gets ``search_share`` of the time left after the starts (at most half of it when
    the whole model is small enough for HiGHS). A piece holds the hazards its teams work on in the current
    plan and, up to about ``piece_columns`` team-hazard-week columns, the densest hazards nobody works on."""
    began = time.monotonic()
    plan = greedy_plan(instance)
    greedy_value = value = plan_value(instance, plan)
    progress = [(time.monotonic() - began, value)]
    density = _density(instance)

    def left() -> float:
        return time_limit - (time.monotonic() - began)

    def offer(new: Plan, new_value: float | None = None) -> None:
        nonlocal plan, value
        new_value = plan_value(instance, new) if new_value is None else new_value
        if new_value > value + 1e-9:
            plan, value = new, new_value
            progress.append((time.monotonic() - began, value))

    if left() > 0.05:
        for nested in nested_plans(instance, time_limit=nested_share * left()):
            offer(nested)
    for work in _variants(instance):
        for economical in (True, False):
            if left() <= 0.05:
                break
            offer(greedy_plan(instance, work, economical=economical))
    small = _size(instance) <= whole_columns
    if left() > 0.05:

        def gained(v: float) -> None:
            if v > value + 1e-9:
                progress.append((time.monotonic() - began, v))

        mark = len(progress)
        share = left() * (min(search_share, 0.5) if small else search_share)
        searched = local_search(instance, plan, time_limit=share, seed=seed, on_gain=gained)
        if searched.value > value + 1e-9:  # the intermediate gains stay in the progress
            plan, value = searched.plan, searched.value
            progress.append((time.monotonic() - began, value))
        else:
            del progress[mark:]
    def attempt(teams: list[str] | None, share: float) -> None:
        if teams is None:
            hazards = None
        else:
            own = set(teams)
            elsewhere = {a.hazard_id for a in plan.assignments if a.team_id not in own}
            mine = {a.hazard_id for a in plan.assignments if a.team_id in own} - elsewhere
            room = max(0, piece_columns // (len(teams) * instance.horizon) - len(mine))
            free = sorted((h.id for h in instance.hazards if h.id not in elsewhere and h.id not in mine),
                          key=lambda h: (-density[h], h))
            hazards = sorted(mine) + free[:room]
        new, _ = solve_model(instance, plan, teams=teams, hazards=hazards, time_limit=share)
        if new is not None:
            offer(new)

    if small and left() > 0.05:
        attempt(None, left())
    groups = _groups(instance, max_group_teams)
    for _ in range(100):
        if left() <= 0.05 or (len(groups) < 2 and small):
            break
        before = value
        for i, teams in enumerate(groups):
            if left() <= 0.05:
                break
            attempt(teams, left() / (len(groups) - i))
        if value <= before:
            break
    return PlanResult(plan, value, greedy_value, time.monotonic() - began, tuple(progress))
