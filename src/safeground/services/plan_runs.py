"""Stored clearance plans: store a solved plan as a run, list runs, adopt one, read the current plan (issue 7 §2).

Every plan ``plan make`` or ``plan compare`` computes is stored (``safeground_plan_run`` with its
``safeground_plan_item`` rows, one transaction). A run of kind ``plan`` (from ``plan make``) becomes *current*
only through ``plan make --adopt`` or ``plan adopt RUN``; a run of kind ``what_if`` (from ``plan compare``) never
does (``plan.not_adoptable``). Public settlement dates, ``plan when``, the map and the report read the current
plan. A run keeps, for each target it planned, the week it becomes safe and the hazards it waits on, as the
plan was made.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.domain.plan import Plan, PlanInstance, check_plan, target_weeks
from safeground.services.workspace import Workspace
from safeground.store.base import Record

#: Relative difference under which a plan's value equals its bound (status ``optimal``).
OPTIMAL_TOLERANCE = 1e-6


def week_date(start: dt.date | str, week: int | None) -> str | None:
    """The last day of ``week`` of a plan starting on ``start`` (ISO), or ``None`` for no week.

    >>> week_date(dt.date(2026, 1, 5), 0), week_date("2026-01-05", 2), week_date("2026-01-05", None)
    ('2026-01-11', '2026-01-25', None)
    """
    if week is None:
        return None
    first = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start)[:10])
    return (first + dt.timedelta(days=7 * week + 6)).isoformat()


@dataclass(frozen=True)
class Solved:
    """A checked plan of an instance, with the values a run keeps."""

    instance: PlanInstance
    plan: Plan
    start: dt.date
    value: float
    greedy_value: float
    solve_seconds: float
    bound: float | None = None
    bound_seconds: float | None = None
    bound_period: int | None = None

    @property
    def gap(self) -> float | None:
        """(bound − value) / bound, or ``None`` without a bound."""
        if self.bound is None:
            return None
        return (self.bound - self.value) / self.bound if self.bound > 0 else 0.0

    @property
    def released(self) -> dict[str, int]:
        """The week each released hazard is released (the checker's)."""
        return check_plan(self.instance, self.plan).released

    def status(self) -> str:
        """``optimal`` when the value meets the bound, else ``feasible`` (a checked plan with a gap)."""
        if self.bound is not None and self.bound - self.value <= OPTIMAL_TOLERANCE * max(1.0, abs(self.bound)):
            return "optimal"
        return "feasible"

    def targets(self, refs: dict[str, str]) -> list[dict[str, Any]]:
        """Per target: ref, uuid, kind, week and date it becomes safe, and the hazards it waits on."""
        released = self.released
        weeks = target_weeks(self.instance, released)
        return [{"ref": t.id, "uuid": refs.get(t.id), "kind": t.kind, "week": weeks[t.id],
                 "date": week_date(self.start, weeks[t.id]),
                 "waits_on": [{"ref": h, "week": released.get(h), "date": week_date(self.start, released.get(h))}
                              for h in t.blocking]} for t in self.instance.targets]

    def rows(self) -> list[dict[str, Any]]:
        """The plan as export rows: team_id, hazard_id (refs), start_week, end_week, area_m2, method."""
        methods = {t.id: t.method for t in self.instance.teams}
        return [{"team_id": t, "hazard_id": h, "start_week": s, "end_week": e, "area_m2": round(area, 1),
                 "method": methods[t]} for t, h, s, e, area in self.plan.runs()]


def _uuids(ws: Workspace, layer: str) -> dict[str, str]:
    return {r["ref"]: r["uuid"] for r in ws.store.query(layer, fields=[], geometry=False, include_retired=True)}


def store_run(ws: Workspace, solved: Solved, *, kind: str, parameters: dict[str, Any],
              label: str | None = None) -> Record:
    """Store ``solved`` as a run of ``kind`` (``plan`` or ``what_if``) with its items, in one transaction."""
    teams, hazards = _uuids(ws, "team"), _uuids(ws, "hazard_area")
    released = solved.released
    items = [{"team_uuid": teams.get(r["team_id"]), "team_ref": r["team_id"],
              "hazard_uuid": hazards.get(r["hazard_id"]), "hazard_ref": r["hazard_id"],
              "start_week": r["start_week"], "end_week": r["end_week"],
              "area_m2": r["area_m2"], "method": r["method"], "released_week": released.get(r["hazard_id"])}
             for r in solved.rows()]
    run = {"kind": kind, "label": label, "start_date": solved.start.isoformat(),
           "horizon_weeks": solved.instance.horizon, "parameters": parameters, "value": solved.value,
           "greedy_value": solved.greedy_value, "bound": solved.bound, "gap": solved.gap,
           "solve_seconds": round(solved.solve_seconds, 3),
           "bound_seconds": None if solved.bound_seconds is None else round(solved.bound_seconds, 3),
           "status": solved.status(), "targets": solved.targets(_uuids(ws, "priority_target"))}
    return ws.store.write_plan_run(run, items, user=ws.user)


def list_runs(ws: Workspace, *, kind: str | None = None) -> list[Record]:
    """Stored plan runs, oldest first (targets left out: see :func:`get_run`)."""
    return [{k: v for k, v in r.items() if k != "targets"} for r in ws.store.plan_runs(kind=kind)]


def get_run(ws: Workspace, run_id: int) -> Record:
    """One run with its targets; ``plan.run_not_found`` when there is none."""
    found = ws.store.plan_runs(run_id=run_id)
    if not found:
        raise NotFoundError("plan.run_not_found", f"There is no plan run {run_id}.",
                            hint="List the runs with 'safeground plan runs --db DB'.")
    return found[0]


def adopt(ws: Workspace, run_id: int) -> Record:
    """Make a ``plan`` run the current plan; what-ifs are refused (``plan.not_adoptable``)."""
    run = get_run(ws, run_id)
    if run["kind"] != "plan":
        raise ValidationError("plan.not_adoptable", f"Run {run_id} is a what-if from 'plan compare'; what-ifs "
                              "never become the current plan.",
                              hint="Make the plan with 'safeground plan make ... --adopt', or adopt a run of "
                                   "'plan make' ('safeground plan runs' lists them).")
    return ws.store.adopt_plan_run(run_id, user=ws.user)


def current_run(ws: Workspace, *, required: bool = True) -> Record | None:
    """The current plan run, or ``None`` (``plan.no_current`` when ``required``)."""
    found = ws.store.plan_runs(current=True)
    if found:
        return found[0]
    if required:
        raise NotFoundError("plan.no_current", "No plan is current yet, so there are no planned dates.",
                            hint="Make one with 'safeground plan make --start DATE --horizon WEEKS --adopt', or "
                                 "adopt a stored run with 'safeground plan adopt RUN'.")
    return None


def current_plan_items(ws: Workspace) -> dict[str, Any]:
    """The current plan for maps and reports: the run (id, start, horizon, adopted) and its items, each with the
    hazard's geometry (WGS84, ``None`` when the hazard is gone), weeks and dates (``plan.no_current`` if none)."""
    run = current_run(ws)
    assert run is not None
    items = ws.store.plan_items(run["id"])
    uuids = sorted({i["hazard_uuid"] for i in items if i["hazard_uuid"]})
    geoms = {h["uuid"]: h["geometry"] for h in ws.store.query("hazard_area", where={"uuid": uuids}, fields=[],
                                                               include_retired=True)} if uuids else {}
    start = run["start_date"]
    for item in items:
        item["geometry"] = geoms.get(item["hazard_uuid"])
        item["start_date"] = (dt.date.fromisoformat(start) + dt.timedelta(days=7 * item["start_week"])).isoformat()
        item["end_date"] = week_date(start, item["end_week"])
        item["released_date"] = week_date(start, item["released_week"])
    return {"run": {k: run[k] for k in ("id", "uuid", "start_date", "horizon_weeks", "created_at", "adopted_at",
                                        "value", "status")}, "items": items}
