"""The improved clearance plan: greedy, then HiGHS on pieces (teams grouped by base), within a time limit.

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

import time
from collections import defaultdict
from dataclasses import dataclass

from safeground.domain.plan import Plan, PlanInstance, plan_value
from safeground.services.plan_greedy import greedy_plan
from safeground.services.plan_milp import solve_model


@dataclass(frozen=True)
class PlanResult:
    """The improved plan, its value, the greedy plan's value and the seconds spent."""

    plan: Plan
    value: float
    greedy_value: float
    seconds: float


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


def improve_plan(instance: PlanInstance, time_limit: float = 60.0, whole_columns: int = 4000,
                 piece_columns: int = 20000, max_group_teams: int = 4) -> PlanResult:
    """Greedy, then decomposed HiGHS solves until ``time_limit`` seconds; never worse than greedy.

    A piece holds the hazards its teams work on in the current plan and, up to about ``piece_columns``
    team-hazard-week columns, the densest hazards nobody works on."""
    began = time.monotonic()
    plan = greedy_plan(instance)
    greedy_value = value = plan_value(instance, plan)
    density = _density(instance)

    def left() -> float:
        return time_limit - (time.monotonic() - began)

    def attempt(teams: list[str] | None, share: float) -> None:
        nonlocal plan, value
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
            new_value = plan_value(instance, new)
            if new_value > value + 1e-9:
                plan, value = new, new_value

    if _size(instance) <= whole_columns:
        attempt(None, left())
    groups = _groups(instance, max_group_teams)
    for _ in range(100):
        if left() <= 0.05 or (len(groups) < 2 and _size(instance) <= whole_columns):
            break
        before = value
        for i, teams in enumerate(groups):
            if left() <= 0.05:
                break
            attempt(teams, left() / (len(groups) - i))
        if value <= before:
            break
    return PlanResult(plan, value, greedy_value, time.monotonic() - began)
