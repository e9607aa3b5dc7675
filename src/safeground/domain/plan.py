"""The clearance-planning instance, a plan, its value and its checker (issue 7, pure: no store, no solver).

Time is in whole weeks ``0 .. horizon - 1``. In a week a team works on at most one hazard; a team clears
``capacity(terrain) / effort[method]`` m² of a hazard per week (its capacity on the hazard's terrain class),
less the travel days it loses in the first week of each run of weeks on that hazard. A hazard is *released*
in the week its cleared area reaches its remaining area; a target (a settlement or a reconstruction project)
counts only once all its blocking hazards are released. The plan's value is

- settlements: ``households_weight × households × (horizon − week released)``;
- projects: ``project_weight × value`` if released in or before the deadline week;
- hazards: ``risk_weight × risk × area × (horizon − week released) / horizon``.

>>> inst = PlanInstance(
...     hazards=(Hazard("HA-1", 1000.0, {"manual": 1.0}, risk=0.5),),
...     teams=(Team("TM-1", "manual", 600.0),),
...     targets=(Target("PT-1", "settlement", ("HA-1",), households=10),),
...     horizon=4)
>>> plan = Plan((Assignment("TM-1", "HA-1", 0, 600.0), Assignment("TM-1", "HA-1", 1, 400.0)))
>>> check_plan(inst, plan).released
{'HA-1': 1}
>>> plan_value(inst, plan)
405.0
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from safeground.domain.errors import ValidationError

METHODS = ("manual", "mechanical", "mdd", "bac")
"""Clearance methods: manual, mechanical, mine detection dogs, battle area clearance."""

STANDARD_TERRAIN = "open"
"""The terrain class a team's ``capacity_m2_week`` is given for (open or agricultural ground)."""

TOLERANCE_M2 = 1e-3
"""Rounding allowance (m²) on capacities and released areas, for solvers' floating point."""


class PlanError(ValidationError):
    """A planning instance that cannot be planned, or a plan that breaks a rule (a bug in a planner)."""


@dataclass(frozen=True)
class Hazard:
    """A hazard area to plan: remaining area (m²), effort per method (team-m² per m², absent = method cannot
    work there), risk (0..1, predicted contamination or 0), terrain class (vocabulary ``terrain_class``)."""

    id: str
    area_m2: float
    effort: Mapping[str, float]
    risk: float = 0.0
    region: str = ""
    terrain: str = STANDARD_TERRAIN


@dataclass(frozen=True)
class Team:
    """A clearance team: method, capacity (m² of open ground, the standard terrain, per week), the weeks it is
    available (``None`` = every week of the horizon), its base, and its capacity on other terrain classes
    (``(class, m² per week)`` pairs; a class not named is cleared at the standard capacity, 0 = cannot work)."""

    id: str
    method: str
    capacity_m2_week: float
    available_weeks: frozenset[int] | None = None
    base: str = ""
    terrain_capacity: tuple[tuple[str, float], ...] = ()

    def available(self, week: int) -> bool:
        """Whether the team can work in ``week``."""
        return self.available_weeks is None or week in self.available_weeks

    def capacity(self, terrain: str) -> float:
        """m² of ``terrain`` the team clears in a week at effort 1.

        >>> Team("T", "manual", 2000.0, terrain_capacity=(("forest", 800.0),)).capacity("forest")
        800.0
        >>> Team("T", "manual", 2000.0).capacity("forest")
        2000.0
        """
        for name, capacity in self.terrain_capacity:
            if name == terrain:
                return capacity
        return self.capacity_m2_week


@dataclass(frozen=True)
class Target:
    """A settlement (households wait to return) or a reconstruction project (value, deadline week)."""

    id: str
    kind: str
    blocking: tuple[str, ...]
    households: float = 0.0
    value: float = 0.0
    deadline_week: int = -1


@dataclass(frozen=True)
class PlanWeights:
    """Objective weights (configuration ``plan``): per household-week, per unit project value, per risk-m²."""

    households: float = 1.0
    project: float = 1.0
    risk: float = 1.0


@dataclass(frozen=True)
class PlanInstance:
    """Everything a planner needs. ``travel_loss`` gives, per (team, hazard), the fraction of a week lost to
    travel at the start of each run of weeks on the hazard (0 when absent). ``max_teams_per_hazard`` is 2."""

    hazards: tuple[Hazard, ...]
    teams: tuple[Team, ...]
    targets: tuple[Target, ...]
    horizon: int
    weights: PlanWeights = field(default_factory=PlanWeights)
    travel_loss: Mapping[tuple[str, str], float] = field(default_factory=dict)
    max_teams_per_hazard: int = 2

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise PlanError("plan.bad_horizon", f"The horizon must be at least one week, not {self.horizon}.",
                            hint="Pass --horizon with a positive number of weeks.")
        ids = {h.id for h in self.hazards}
        for target in self.targets:
            missing = [h for h in target.blocking if h not in ids]
            if missing or not target.blocking:
                raise PlanError("plan.bad_target", f"Target {target.id} is blocked by no open hazard "
                                f"or by hazards not in the plan: {missing}.",
                                hint="Leave out targets without open blocking hazards; they are already safe.")
        for team in self.teams:
            if team.capacity_m2_week <= 0:
                raise PlanError("plan.bad_team", f"Team {team.id} has no capacity ({team.capacity_m2_week} m²/week).",
                                hint="Give every team a positive capacity in m² per week.")
            if any(c < 0 for _, c in team.terrain_capacity):
                raise PlanError("plan.bad_team", f"Team {team.id} has a negative capacity on some terrain class.",
                                hint="Give capacities by terrain class as m² per week, 0 or more.")

    def hazard(self, hazard_id: str) -> Hazard:
        """The hazard with this id."""
        return self._hazards()[hazard_id]

    def _hazards(self) -> dict[str, Hazard]:
        cache = self.__dict__.get("_hazard_index")
        if cache is None:
            cache = {h.id: h for h in self.hazards}
            object.__setattr__(self, "_hazard_index", cache)
        return cache

    def rate(self, team: Team, hazard: Hazard) -> float:
        """m² of ``hazard`` that ``team`` clears in a full week: its capacity on the hazard's terrain class over
        the method's effort (0 when its method cannot work there)."""
        effort = hazard.effort.get(team.method)
        return team.capacity(hazard.terrain) / effort if effort else 0.0

    def loss(self, team: Team, hazard: Hazard) -> float:
        """Fraction of the first week of a run on ``hazard`` that ``team`` loses to travel (0..1)."""
        return min(1.0, max(0.0, self.travel_loss.get((team.id, hazard.id), 0.0)))

    def hazard_value(self, hazard: Hazard) -> float:
        """Value of releasing ``hazard`` per week it is released before the horizon's end."""
        return self.weights.risk * hazard.risk * hazard.area_m2 / self.horizon

    def value_of_release(self, released: Mapping[str, int]) -> float:
        """The objective for hazards released in the given weeks (absent = not released in the horizon)."""
        h_total = self.horizon
        value = sum(self.hazard_value(h) * (h_total - released[h.id]) for h in self.hazards if h.id in released)
        for target in self.targets:
            if not all(h in released for h in target.blocking):
                continue
            week = max(released[h] for h in target.blocking)
            if target.kind == "settlement":
                value += self.weights.households * target.households * (h_total - week)
            elif week <= target.deadline_week:
                value += self.weights.project * target.value
        return value


@dataclass(frozen=True)
class Assignment:
    """Team ``team_id`` works on ``hazard_id`` in ``week`` and clears ``area_m2`` there."""

    team_id: str
    hazard_id: str
    week: int
    area_m2: float


@dataclass(frozen=True)
class Plan:
    """A plan: one assignment per team and week at most."""

    assignments: tuple[Assignment, ...]

    def runs(self) -> list[tuple[str, str, int, int, float]]:
        """Contiguous runs ``(team_id, hazard_id, start_week, end_week, area_m2)``, for export and Gantt charts.

        >>> Plan((Assignment("T", "H", 0, 5.0), Assignment("T", "H", 1, 5.0))).runs()
        [('T', 'H', 0, 1, 10.0)]
        """
        out: list[tuple[str, str, int, int, float]] = []
        for a in sorted(self.assignments, key=lambda a: (a.team_id, a.week)):
            if out and out[-1][0] == a.team_id and out[-1][1] == a.hazard_id and out[-1][3] == a.week - 1:
                t, h, s, _, area = out[-1]
                out[-1] = (t, h, s, a.week, area + a.area_m2)
            else:
                out.append((a.team_id, a.hazard_id, a.week, a.week, a.area_m2))
        return out


@dataclass(frozen=True)
class PlanCheck:
    """What the checker found: the week each released hazard is released."""

    released: dict[str, int]


def _broken(rule: str, message: str) -> PlanError:
    return PlanError(f"plan.{rule}", message, hint="A plan that breaks a rule is a bug in the planner: report it.")


def check_plan(instance: PlanInstance, plan: Plan) -> PlanCheck:
    """Check every rule (horizon, availability, one hazard per team-week, method, capacity with travel, at
    most ``max_teams_per_hazard`` teams per hazard, no work on an unknown hazard) and return release weeks.

    Raises :class:`PlanError` with codes ``plan.horizon``, ``plan.double_booked``, ``plan.capacity``,
    ``plan.sharing`` or ``plan.unknown``.
    """
    teams = {t.id: t for t in instance.teams}
    hazards = instance._hazards()
    by_team_week: dict[tuple[str, int], Assignment] = {}
    for a in plan.assignments:
        if a.team_id not in teams or a.hazard_id not in hazards:
            raise _broken("unknown", f"Assignment {a} names an unknown team or hazard.")
        if not 0 <= a.week < instance.horizon or not teams[a.team_id].available(a.week):
            raise _broken("horizon", f"Team {a.team_id} is not available in week {a.week}.")
        if (a.team_id, a.week) in by_team_week:
            raise _broken("double_booked", f"Team {a.team_id} has two assignments in week {a.week}.")
        by_team_week[(a.team_id, a.week)] = a
    teams_on: dict[str, set[str]] = defaultdict(set)
    cleared: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for a in plan.assignments:
        team, hazard = teams[a.team_id], hazards[a.hazard_id]
        before = by_team_week.get((a.team_id, a.week - 1))
        first = before is None or before.hazard_id != a.hazard_id
        cap = instance.rate(team, hazard) * (1.0 - (instance.loss(team, hazard) if first else 0.0))
        if a.area_m2 < -TOLERANCE_M2 or a.area_m2 > cap + TOLERANCE_M2:
            raise _broken("capacity", f"Team {a.team_id} clears {a.area_m2:.1f} m² of {a.hazard_id} in week "
                          f"{a.week}; it can clear {cap:.1f} m².")
        teams_on[a.hazard_id].add(a.team_id)
        cleared[a.hazard_id].append((a.week, a.area_m2))
    for hazard_id, on in teams_on.items():
        if len(on) > instance.max_teams_per_hazard:
            raise _broken("sharing", f"Hazard {hazard_id} is worked by {len(on)} teams "
                          f"(at most {instance.max_teams_per_hazard}).")
    return PlanCheck(released=_release_weeks(instance, cleared))


def _release_weeks(instance: PlanInstance, cleared: Mapping[str, list[tuple[int, float]]]) -> dict[str, int]:
    released: dict[str, int] = {}
    for hazard_id, weeks in cleared.items():
        need, total = instance.hazard(hazard_id).area_m2, 0.0
        for week, area in sorted(weeks):
            total += area
            if total >= need - TOLERANCE_M2 * (1 + len(weeks)):
                released[hazard_id] = week
                break
    return released


def plan_value(instance: PlanInstance, plan: Plan) -> float:
    """The plan's objective value, after checking it (see :func:`check_plan`)."""
    return instance.value_of_release(check_plan(instance, plan).released)


def target_weeks(instance: PlanInstance, released: Mapping[str, int]) -> dict[str, int | None]:
    """The week each target becomes safe (all blocking hazards released), ``None`` when not in the horizon."""
    out: dict[str, int | None] = {}
    for target in instance.targets:
        done = all(h in released for h in target.blocking)
        out[target.id] = max(released[h] for h in target.blocking) if done else None
    return out
