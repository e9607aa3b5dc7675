"""The planning instance from the database: teams, open hazards' remaining area, priority targets (issue 7 §2).

- **Teams**: every team (not retired) with a capacity; its capacity on each terrain class other than open
  ground is its own ``capacity_m2_week_<class>`` where set, else ``capacity_m2_week ×
  plan.terrain_factor[method][class]`` (1 where the table names none); week ``w`` (``start + 7w`` .. ``+ 6`` days) is
  available when it overlaps ``available_from`` .. ``available_until``. Teams are grouped for the
  decomposition by the one-degree cell of their base.
- **Hazards**: open or worked-on hazards with remaining area; the effort per method is the configured
  ``plan.effort[method][hazard_class]`` (a class a method lacks is one it cannot release); its terrain class
  is ``terrain``, open ground when empty. Risk is 0 until
  risk runs exist.
- **Travel**: ``loss = distance(base, hazard) / 100 km × plan.travel_days_per_100km / plan.workdays_per_week``
  of a week, on the ellipsoid (pyproj's Geod).
- **Targets**: priority targets with at least one open blocking hazard; settlements weigh their displaced
  households, other kinds their value, due in the week holding their deadline.
- **The most urgent hazards only** (``hazards=N``, ``plan make --hazards N``): the ``N`` open hazards ranked
  highest by ``plan priorities`` (the configured score); a target that waits on an open hazard outside them
  cannot become safe in this plan and is left out (counted in ``targets_left_out``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Geod

from safeground.domain.errors import ValidationError
from safeground.domain.plan import STANDARD_TERRAIN, Hazard, PlanInstance, PlanWeights, Target, Team
from safeground.domain.vocabularies import TERRAIN_CLASS
from safeground.services.plan_priorities import OPEN, priorities
from safeground.services.workspace import Workspace

_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class BuiltInstance:
    """The instance, the refs of teams left out (no capacity or no base), the start date and how many targets
    were left out because they also wait on open hazards outside the planned ones."""

    instance: PlanInstance
    skipped_teams: list[str]
    start: dt.date
    targets_left_out: int = 0


def _weeks(start: dt.date, horizon: int, since: str | None, until: str | None) -> frozenset[int]:
    """Weeks of the horizon that overlap the availability window.

    >>> sorted(_weeks(dt.date(2026, 1, 5), 4, "2026-01-14", "2026-01-20"))
    [1, 2]
    """
    lo = dt.date.fromisoformat(str(since)[:10]) if since else None
    hi = dt.date.fromisoformat(str(until)[:10]) if until else None
    out = set()
    for w in range(horizon):
        first, last = start + dt.timedelta(days=7 * w), start + dt.timedelta(days=7 * w + 6)
        if (lo is None or lo <= last) and (hi is None or hi >= first):
            out.add(w)
    return frozenset(out)


def check_hazard_limit(hazards: int | None) -> None:
    """Refuse a limit on the planned hazards below 1 (``plan.bad_hazards``)."""
    if hazards is not None and hazards < 1:
        raise ValidationError("plan.bad_hazards", f"The number of hazards to plan must be at least 1, not {hazards}.",
                              hint="Pass --hazards with a positive number, e.g. 5000, or leave it out to plan "
                                   "every open hazard.")


def most_urgent(ws: Workspace, n: int, among: set[str], as_of: dt.date) -> set[str]:
    """The uuids of the ``n`` hazards of ``among`` ranked highest by ``plan priorities`` on ``as_of``."""
    ranked = [row["uuid"] for row in priorities(ws, as_of=as_of)["hazards"] if row["uuid"] in among]
    return set(ranked[:n])


def build_instance(ws: Workspace, start: dt.date, horizon: int, hazards: int | None = None) -> BuiltInstance:
    """The planning instance for ``horizon`` weeks from ``start`` (see module); only the ``hazards`` most
    urgent open hazards when given."""
    if horizon < 1 or horizon > 520:
        raise ValidationError("plan.bad_horizon", f"The horizon must be 1 to 520 weeks, not {horizon}.",
                              hint="Pass --horizon with a number of weeks, e.g. 52.")
    check_hazard_limit(hazards)
    cfg = ws.config.plan
    terrains = [c for c in TERRAIN_CLASS.codes if c != STANDARD_TERRAIN]
    teams_rows = ws.store.query("team", fields=["method", "capacity_m2_week", "available_from", "available_until",
                                                *(f"capacity_m2_week_{c}" for c in terrains)], order_by="ref")
    teams, skipped, bases = [], [], []
    for t in teams_rows:
        if not t["capacity_m2_week"] or t["geometry"] is None:
            skipped.append(t["ref"])
            continue
        base = shapely.get_coordinates(t["geometry"])[0]
        bases.append(base)
        capacity = float(t["capacity_m2_week"])
        factors = cfg.terrain_factor.get(t["method"], {})
        by_terrain = tuple((c, float(t[f"capacity_m2_week_{c}"]) if t[f"capacity_m2_week_{c}"] is not None
                            else capacity * factors.get(c, 1.0)) for c in terrains)
        teams.append(Team(t["ref"], t["method"], capacity,
                          _weeks(start, horizon, t["available_from"], t["available_until"]),
                          base=f"{math.floor(base[1])},{math.floor(base[0])}", terrain_capacity=by_terrain))
    fields = ["status", "hazard_class", "remaining_area_m2", "terrain"]
    rows = [h for h in ws.store.query("hazard_area", fields=fields, order_by="ref")
            if h["status"] in OPEN and (h["remaining_area_m2"] or 0) > ws.config.release.remaining_area_tolerance_m2
            and h["geometry"] is not None]
    outside: set[str] = set()
    if hazards is not None and len(rows) > hazards:
        chosen = most_urgent(ws, hazards, {h["uuid"] for h in rows}, start)
        outside = {h["uuid"] for h in rows if h["uuid"] not in chosen}
        rows = [h for h in rows if h["uuid"] in chosen]
    planned = []
    for h in rows:
        effort = {m: e[h["hazard_class"]] for m, e in cfg.effort.items() if h["hazard_class"] in e}
        planned.append(Hazard(h["ref"], float(h["remaining_area_m2"]), effort, risk=0.0,
                              terrain=h["terrain"] or STANDARD_TERRAIN))
    loss: dict[tuple[str, str], float] = {}
    if planned and teams:
        points = shapely.get_coordinates(shapely.point_on_surface(np.array([h["geometry"] for h in rows])))
        per_km = cfg.travel_days_per_100km / 100.0 / cfg.workdays_per_week
        for team, base in zip(teams, bases, strict=True):
            _, _, dist = _GEOD.inv(np.full(len(points), base[0]), np.full(len(points), base[1]),
                                   points[:, 0], points[:, 1])
            for hazard, d in zip(planned, dist, strict=True):
                loss[(team.id, hazard.id)] = float(d) / 1000.0 * per_km
    by_uuid = {h["uuid"]: h["ref"] for h in rows}
    targets, left_out = [], 0
    for t in ws.store.query("priority_target", fields=["kind", "displaced_households", "value", "deadline",
                                                       "blocking_hazards"], geometry=False, order_by="ref"):
        uuids = (t["blocking_hazards"] or "").split()
        if any(u in outside for u in uuids):  # waits on an open hazard this plan leaves out
            left_out += 1
            continue
        blocking = tuple(sorted({by_uuid[u] for u in uuids if u in by_uuid}))
        if not blocking:
            continue
        if t["kind"] == "settlement":
            targets.append(Target(t["ref"], "settlement", blocking, households=float(t["displaced_households"] or 0)))
        else:
            deadline = (dt.date.fromisoformat(str(t["deadline"])[:10]) - start).days // 7 if t["deadline"] else -1
            targets.append(Target(t["ref"], "project", blocking, value=float(t["value"] or 0.0),
                                  deadline_week=deadline))
    weights = PlanWeights(cfg.households_weight, cfg.project_weight, cfg.risk_weight)
    instance = PlanInstance(tuple(planned), tuple(teams), tuple(targets), horizon, weights, loss)
    return BuiltInstance(instance, skipped, start, left_out)
