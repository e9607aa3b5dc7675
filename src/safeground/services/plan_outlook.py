"""The current clearance plan summarised for the report's plan page (issue 7 §4): one call, every figure.

:func:`plan_outlook` reads the *current* plan run only (``plan make --adopt`` or ``plan adopt``; a what-if from
``plan compare`` is never current, so it never shows) and returns ``None`` when no plan is current. The document
holds the run (id, dates, start and horizon, value, greedy value, bound, gap, status), a few totals, the Gantt
chart's rows (:func:`~safeground.services.plan_gantt.gantt_rows`), the plan items with each hazard's polygon
(:func:`~safeground.services.plan_runs.current_plan_items`), :func:`~safeground.services.plan_when.when_all`'s
answer for every priority target (with a settlement's displaced households, and a project's deadline and whether
the plan makes it safe by then: within the week holding the deadline, as the planner counts it), and the
displaced households able to return per calendar quarter: a settlement's households count in the quarter
holding the day it becomes safe (the last day of its release week). Only refs, names, counts and dates are
returned: nothing about people but household counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from safeground.services.plan_gantt import gantt_rows
from safeground.services.plan_runs import current_plan_items, current_run, week_date
from safeground.services.plan_when import when_all
from safeground.services.workspace import Workspace

#: ``when`` statuses that leave a blocked target waiting past the plan (not safe within its horizon).
WAITING = ("not_in_horizon", "not_in_plan")


def quarter(day: dt.date | str) -> str:
    """The calendar quarter holding ``day``, as ``YYYY Qn``.

    >>> quarter("2026-01-11"), quarter(dt.date(2026, 4, 1)), quarter("2026-12-31")
    ('2026 Q1', '2026 Q2', '2026 Q4')
    """
    d = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10])
    return f"{d.year} Q{(d.month - 1) // 3 + 1}"


def quarters_between(first: dt.date | str, last: dt.date | str) -> list[str]:
    """Every calendar quarter from the one holding ``first`` to the one holding ``last``.

    >>> quarters_between("2026-01-05", "2026-07-05")
    ['2026 Q1', '2026 Q2', '2026 Q3']
    >>> quarters_between("2026-11-30", "2027-01-10")
    ['2026 Q4', '2027 Q1']
    """
    a = first if isinstance(first, dt.date) else dt.date.fromisoformat(str(first)[:10])
    b = last if isinstance(last, dt.date) else dt.date.fromisoformat(str(last)[:10])
    out, y, q = [], a.year, (a.month - 1) // 3
    while (y, q) <= (b.year, (b.month - 1) // 3):
        out.append(f"{y} Q{q + 1}")
        y, q = (y + 1, 0) if q == 3 else (y, q + 1)
    return out


def households_by_quarter(targets: list[dict[str, Any]], start: str, horizon: int) -> list[dict[str, Any]]:
    """Per quarter of the plan (start to the horizon's last day, empty quarters too): settlements that become
    safe in it, their displaced households, and the households able to return by its end (cumulative).

    >>> t = [{"kind": "settlement", "status": "planned", "date": "2026-01-18", "households": 10},
    ...      {"kind": "settlement", "status": "planned", "date": "2026-05-03", "households": 4},
    ...      {"kind": "project", "status": "planned", "date": "2026-01-18", "households": None}]
    >>> [(r["quarter"], r["settlements"], r["households"], r["cumulative_households"])
    ...  for r in households_by_quarter(t, "2026-01-05", 26)]
    [('2026 Q1', 1, 10, 10), ('2026 Q2', 1, 4, 14), ('2026 Q3', 0, 0, 14)]
    """
    last = week_date(start, horizon - 1)
    assert last is not None
    settlements = dict.fromkeys(quarters_between(start, last), 0)
    households = dict.fromkeys(settlements, 0)
    for t in targets:
        if t["kind"] == "settlement" and t["status"] == "planned":
            settlements[quarter(t["date"])] += 1
            households[quarter(t["date"])] += t["households"] or 0
    total = 0
    out = []
    for q, n in settlements.items():
        total += households[q]
        out.append({"quarter": q, "settlements": n, "households": households[q], "cumulative_households": total})
    return out


def plan_outlook(ws: Workspace) -> dict[str, Any] | None:
    """The current plan for the report (see module), or ``None`` when no plan is current."""
    run = current_run(ws, required=False)
    if run is None:
        return None
    start, horizon = run["start_date"], run["horizon_weeks"]
    extra = {t["ref"]: t for t in ws.store.query("priority_target", fields=["displaced_households", "deadline"],
                                                 geometry=False)}
    targets = []
    for answer in when_all(ws):
        more = extra.get(answer["target"], {})
        households = more.get("displaced_households") if answer["kind"] == "settlement" else None
        deadline = str(more["deadline"])[:10] if more.get("deadline") and answer["kind"] != "settlement" else None
        due = (dt.date.fromisoformat(deadline) - dt.date.fromisoformat(start)).days // 7 if deadline else None
        targets.append({**{k: v for k, v in answer.items() if k != "plan"},
                        "households": int(households) if households is not None else None, "deadline": deadline,
                        "by_deadline": None if due is None or answer["status"] not in ("planned", *WAITING)
                        else answer["week"] is not None and answer["week"] <= due})
    items = current_plan_items(ws)["items"]
    released = {i["hazard_ref"]: i["released_week"] for i in items}
    settlements = [t for t in targets if t["kind"] == "settlement"]
    waiting = [t for t in settlements if t["status"] in WAITING]
    return {
        "run": {"id": run["id"], "uuid": run["uuid"], "made": run["created_at"][:10],
                "adopted": (run["adopted_at"] or "")[:10] or None, "start_date": start, "horizon_weeks": horizon,
                "end_date": week_date(start, horizon - 1), "value": run["value"],
                "greedy_value": run["greedy_value"], "bound": run["bound"], "gap": run["gap"],
                "status": run["status"]},
        "totals": {"teams": len(run["parameters"].get("teams", [])),
                   "hazards_planned": len(released),
                   "hazards_released": sum(1 for w in released.values() if w is not None),
                   "area_m2": round(sum(i["area_m2"] for i in items), 1),
                   "targets_planned": sum(1 for t in targets if t["status"] in ("planned", *WAITING)),
                   "targets_safe": sum(1 for t in targets if t["status"] == "planned"),
                   "households_returning": sum(t["households"] or 0 for t in settlements
                                               if t["status"] == "planned"),
                   "households_waiting": sum(t["households"] or 0 for t in waiting),
                   "settlements_waiting": len(waiting),
                   "targets_not_blocked": sum(1 for t in targets if t["status"] == "not_blocked")},
        "targets": targets,
        "households_by_quarter": households_by_quarter(targets, start, horizon),
        "gantt": gantt_rows(ws, run["id"]),
        "items": items,
    }
