"""The greedy clearance plan: bundles by value per area, each hazard to the team that finishes it first.

A bundle is a target with its blocking hazards not yet planned, or a single hazard. The greedy repeatedly
takes the bundle with the highest value per m² still to clear (its value as if released at once), and plans
each of its hazards on the capable team that would finish it earliest (list scheduling, travel charged in the
first week, one team per hazard). Bundles that no team can finish within the horizon are dropped. The plan is
feasible by construction; :func:`safeground.domain.plan.check_plan` confirms it in the tests.

>>> from safeground.domain.plan import Hazard, PlanInstance, Target, Team, plan_value
>>> inst = PlanInstance((Hazard("A", 500.0, {"manual": 1.0}), Hazard("B", 500.0, {"manual": 1.0})),
...                     (Team("T", "manual", 500.0),), (Target("S", "settlement", ("B",), households=5),), 3)
>>> [(a.hazard_id, a.week) for a in greedy_plan(inst).assignments]
[('B', 0), ('A', 1)]
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping

from safeground.domain.plan import Assignment, Hazard, Plan, PlanInstance, Target, Team


def _bundle_value(instance: PlanInstance, target: Target | None, hazards: list[Hazard]) -> float:
    horizon = instance.horizon
    value = sum(instance.hazard_value(h) * horizon for h in hazards)
    if target is not None:
        w = instance.weights
        value += (w.households * target.households * horizon if target.kind == "settlement"
                  else w.project * target.value)
    return value


def _schedule(instance: PlanInstance, team: Team, hazard: Hazard, free: int) -> list[Assignment] | None:
    """The weeks ``team`` needs on ``hazard`` from week ``free`` on, or ``None`` if it cannot finish it."""
    rate = instance.rate(team, hazard)
    if rate <= 0:
        return None
    left, week, out, first = hazard.area_m2, free, [], True
    while left > 1e-9:
        if week >= instance.horizon:
            return None
        if not team.available(week):
            week, first = week + 1, True
            continue
        cap = rate * (1.0 - instance.loss(team, hazard)) if first else rate
        area = min(cap, left)
        out.append(Assignment(team.id, hazard.id, week, area))
        left -= area
        week, first = week + 1, False
    return out


def team_weeks(instance: PlanInstance) -> dict[str, float]:
    """Weeks the best capable team spends on each hazard: ``min over teams of max(1, area/rate + loss)`` (a
    team works one hazard a week, so a small hazard still costs a week; ``inf`` when no team can).

    >>> from safeground.domain.plan import Hazard, PlanInstance, Team
    >>> inst = PlanInstance((Hazard("A", 200.0, {"manual": 1.0}), Hazard("B", 1500.0, {"manual": 1.0})),
    ...                     (Team("T", "manual", 1000.0),), (), 4)
    >>> team_weeks(inst)
    {'A': 1.0, 'B': 1.5}
    """
    out = {}
    for hazard in instance.hazards:
        weeks = [max(1.0, hazard.area_m2 / r + instance.loss(t, hazard))
                 for t in instance.teams if (r := instance.rate(t, hazard)) > 0]
        out[hazard.id] = min(weeks, default=math.inf)
    return out


def greedy_plan(instance: PlanInstance, work: Mapping[str, float] | None = None, economical: bool = False) -> Plan:
    """The greedy plan for ``instance`` (deterministic: ties go to the earlier id). ``work`` measures what a
    hazard costs (default its area in m²; :func:`team_weeks` counts the weeks a team spends on it).

    Each hazard goes to the capable team that finishes it first; with ``economical``, to the team with the
    least finish week plus twice the weeks it spends there, then the least capacity left unused in them, so a
    fast team is not spent on a hazard a slower one clears in a week (a team works one hazard a week)."""
    free = {t.id: 0 for t in instance.teams}
    planned: set[str] = set()
    dropped: set[str] = set()
    assignments: list[Assignment] = []
    bundles: list[tuple[Target | None, list[Hazard]]] = [(None, [h]) for h in instance.hazards]
    bundles += [(t, [instance.hazard(h) for h in t.blocking]) for t in instance.targets]
    containing: dict[str, list[int]] = {}
    for i, (_, hazards) in enumerate(bundles):
        for h in hazards:
            containing.setdefault(h.id, []).append(i)

    def density(i: int) -> float:
        target, hazards = bundles[i]
        todo = [h for h in hazards if h.id not in planned]
        cost = sum(h.area_m2 for h in todo) if work is None else sum(work[h.id] for h in todo)
        return _bundle_value(instance, target, todo) / max(cost, 1.0 if work is None else 1e-9) if todo else math.inf

    # Lazy greedy: a heap of (−density, index, version); a bundle's entry is renewed whenever one of its
    # hazards is planned, so the top valid entry is always the bundle of highest current density.
    version = [0] * len(bundles)
    heap = [(-density(i), i, 0) for i in range(len(bundles))]
    heapq.heapify(heap)
    done = [False] * len(bundles)
    while heap:
        _, best, ver = heapq.heappop(heap)
        if done[best] or ver != version[best]:
            continue
        done[best] = True
        hazards = bundles[best][1]
        todo = sorted((h for h in hazards if h.id not in planned), key=lambda h: h.area_m2)
        if any(h.id in dropped for h in todo):
            continue
        trial = dict(free)
        chosen: list[list[Assignment]] = []
        for hazard in todo:
            options = []
            for team in instance.teams:
                weeks = _schedule(instance, team, hazard, trial[team.id])
                if weeks:
                    end = weeks[-1].week
                    key = ((end + 2 * len(weeks), len(weeks) * instance.rate(team, hazard) - hazard.area_m2)
                           if economical else (end, 0.0))
                    options.append((key, team.id, weeks))
            if not options:
                chosen = []
                dropped.add(hazard.id)
                break
            _, team_id, weeks = min(options, key=lambda o: (o[0], o[1]))
            end = weeks[-1].week
            trial[team_id] = end + 1
            chosen.append(weeks)
        if len(chosen) != len(todo):
            continue
        free = trial
        touched: set[int] = set()
        for weeks in chosen:
            assignments.extend(weeks)
            planned.add(weeks[0].hazard_id)
            touched.update(containing[weeks[0].hazard_id])
        for i in touched:
            if not done[i]:
                version[i] += 1
                heapq.heappush(heap, (-density(i), i, version[i]))
    return Plan(tuple(sorted(assignments, key=lambda a: (a.team_id, a.week))))
