"""``safeground plan when --target REF``: when a settlement or project becomes safe under the current plan.

The answer comes from the current plan run as it was made (``plan.no_current`` when none is current): the week the
target's last blocking hazard is released (and that week's last day), and each hazard it waits on with its own
release week and the teams planned on it. A target the plan did not hold is either not blocked (no open blocking
hazard: nothing to wait for) or blocked by hazards recorded after the plan was made (make a new plan).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from safeground.domain.errors import NotFoundError
from safeground.services.plan_priorities import OPEN
from safeground.services.plan_runs import current_run
from safeground.services.workspace import Workspace
from safeground.store.base import Record

#: What ``status`` says: planned within the horizon, blocked past it, nothing blocks it, or not in the plan.
STATUSES = ("planned", "not_in_horizon", "not_blocked", "not_in_plan")


def find_target(ws: Workspace, ref: str) -> Record:
    """A priority target by ref, uuid or (unique, any case) name; ``plan.unknown_target`` otherwise."""
    targets = ws.store.query("priority_target", fields=["name", "kind", "blocking_hazards"], geometry=False)
    key = ref.strip().lower()
    found = [t for t in targets if key in (t["ref"].lower(), t["uuid"])]
    found = found or [t for t in targets if (t["name"] or "").lower() == key]
    if len(found) != 1:
        why = "several targets have that name" if found else "there is no such target"
        raise NotFoundError("plan.unknown_target", f"'{ref}': {why}.",
                            hint="Give a priority target's ref, e.g. PT-000001 ('safeground export --layer "
                                 "priority_target' lists them).")
    return found[0]


def when(ws: Workspace, ref: str) -> dict[str, Any]:
    """The week and date ``ref`` becomes safe under the current plan, and the hazards it waits on (see module)."""
    run = current_run(ws)
    assert run is not None
    return _answers(ws, run, [find_target(ws, ref)])[0]


def when_all(ws: Workspace) -> list[dict[str, Any]]:
    """:func:`when`'s answer for every priority target (not retired), in ref order, read in one pass
    (``plan.no_current`` when no plan is current)."""
    run = current_run(ws)
    assert run is not None
    targets = ws.store.query("priority_target", fields=["name", "kind", "blocking_hazards"], geometry=False,
                             order_by="ref")
    return _answers(ws, run, targets)


def _answers(ws: Workspace, run: Record, targets: list[Record]) -> list[dict[str, Any]]:
    teams: dict[str, set[str]] = defaultdict(set)
    for item in ws.store.plan_items(run["id"]):
        teams[item["hazard_ref"]].add(item["team_ref"])
    names = {h["ref"]: h["name"] for h in ws.store.query("hazard_area", fields=["name"], geometry=False,
                                                         include_retired=True)}
    open_now = {h["uuid"]: h for h in ws.store.query("hazard_area", fields=["name", "status"], geometry=False)
                if h["status"] in OPEN}
    planned_by_ref = {t["ref"]: t for t in run["targets"]}
    plan = {"run": run["id"], "start_date": run["start_date"], "horizon_weeks": run["horizon_weeks"],
            "made": run["created_at"][:10], "adopted": (run["adopted_at"] or "")[:10] or None}
    out = []
    for target in targets:
        planned = planned_by_ref.get(target["ref"])
        if planned is not None:
            status = "planned" if planned["week"] is not None else "not_in_horizon"
            week, date = planned["week"], planned["date"]
            waits = [{**w, "name": names.get(w["ref"]), "teams": sorted(teams[w["ref"]])}
                     for w in planned["waits_on"]]
        else:
            blocking = (target["blocking_hazards"] or "").split()
            still = [open_now[u] for u in dict.fromkeys(blocking) if u in open_now]
            status, week, date = ("not_in_plan" if still else "not_blocked"), None, None
            waits = [{"ref": h["ref"], "name": h["name"], "week": None, "date": None, "teams": []}
                     for h in sorted(still, key=lambda h: h["ref"])]
        out.append({"target": target["ref"], "name": target["name"], "kind": target["kind"], "status": status,
                    "week": week, "date": date, "waits_on": waits, "plan": dict(plan)})
    return out
