"""``safeground plan compare``: the base plan and what-ifs side by side (issue 7 §3). None becomes current.

Each what-if changes one thing in the base instance (teams, open hazards and targets from the database, as
``plan make`` builds them) and is planned the same way (greedy, then HiGHS within the time limit; no bound):

- **add teams**: ``N`` new teams of a method, each a copy of that method's team of median capacity (its capacity,
  base and so travel), available every week;
- **remove a team**: the plan without it;
- **weights**: the objective's weights (``households_weight``, ``project_weight``, ``risk_weight`` from a YAML
  file, as in the configuration's ``plan`` section);
- **pin a target to a week**: the target must be safe by then. It becomes a project due in that week whose value
  outweighs everything else the plan can earn, so every planner serves it first when it can be served at all;
  ``pin_met`` says whether it was.

Every plan, and its greedy start, is valued under the *base* objective (``value``, ``greedy_value``: comparable
across what-ifs), the plan also under its own (``own_value``); the targets whose safe week changed from the base
plan are listed. Every plan is stored as a run of kind ``what_if``, which can never be adopted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.domain.plan import PlanInstance, PlanWeights, Target, Team, check_plan, target_weeks
from safeground.services.configuration import load_config_file
from safeground.services.plan_greedy import greedy_plan
from safeground.services.plan_instance import BuiltInstance, build_instance
from safeground.services.plan_make import parameters, solve
from safeground.services.plan_runs import Solved, store_run, week_date
from safeground.services.workspace import Workspace

PIN_PREFIX = "pin:"
WEIGHT_KEYS = {"households_weight": "households", "project_weight": "project", "risk_weight": "risk"}


def _bad(message: str, hint: str) -> ValidationError:
    return ValidationError("plan.bad_what_if", message, hint=hint)


def add_teams(instance: PlanInstance, count: int, method: str) -> PlanInstance:
    """``instance`` with ``count`` copies of ``method``'s team of median capacity (with its capacities by
    terrain class), available every week."""
    same = sorted((t for t in instance.teams if t.method == method), key=lambda t: (t.capacity_m2_week, t.id))
    if not same:
        raise _bad(f"No team of method '{method}' to copy.",
                   "Add teams of a method the database has teams of (see 'safeground plan runs' parameters).")
    model = same[(len(same) - 1) // 2]
    new = [Team(f"NEW-{method}-{i + 1}", method, model.capacity_m2_week, None, model.base, model.terrain_capacity)
           for i in range(count)]
    loss = dict(instance.travel_loss)
    for team in new:
        loss.update({(team.id, h.id): instance.travel_loss.get((model.id, h.id), 0.0) for h in instance.hazards})
    return dataclasses.replace(instance, teams=instance.teams + tuple(new), travel_loss=loss)


def remove_team(instance: PlanInstance, ref: str) -> PlanInstance:
    """``instance`` without team ``ref``."""
    if ref not in {t.id for t in instance.teams}:
        raise _bad(f"Team {ref} is not in the plan (unknown, retired, or without capacity or base).",
                   "Give the ref of a team the plan uses, e.g. TM-000001.")
    return dataclasses.replace(instance, teams=tuple(t for t in instance.teams if t.id != ref),
                               travel_loss={k: v for k, v in instance.travel_loss.items() if k[0] != ref})


def read_plan_weights(path: str | Path, base: PlanWeights) -> PlanWeights:
    """Objective weights from a YAML file naming some of ``households_weight``, ``project_weight``,
    ``risk_weight``; the others keep their base value."""
    data = load_config_file(path)
    unknown = sorted(set(data) - set(WEIGHT_KEYS))
    if unknown:
        raise _bad(f"{Path(path).name}: unknown weight {', '.join(unknown)}.",
                   "Name only households_weight, project_weight and risk_weight.")
    values = dataclasses.asdict(base)
    for key, value in data.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ValidationError("plan.bad_weight", f"{key} is {value!r}; a weight is a number ≥ 0.",
                                  hint="Give each weight as a number, e.g. 'households_weight: 2'.")
        values[WEIGHT_KEYS[key]] = float(value)
    return PlanWeights(**values)


def pin_target(instance: PlanInstance, ref: str, week: int) -> PlanInstance:
    """``instance`` where target ``ref`` must be safe by ``week``: a project due then, worth more than all else."""
    target = next((t for t in instance.targets if t.id == ref), None)
    if target is None:
        raise _bad(f"Target {ref} is not in the plan: no open hazard blocks it, or it does not exist.",
                   "Pin a settlement or project that open hazards block, e.g. PT-000001=4.")
    if not 0 <= week < instance.horizon:
        raise _bad(f"Week {week} is outside the horizon (0 to {instance.horizon - 1}).",
                   "Pin to a week within --horizon.")
    w, horizon = instance.weights, instance.horizon
    ceiling = (sum(w.households * t.households * horizon + w.project * t.value for t in instance.targets)
               + sum(instance.hazard_value(h) * horizon for h in instance.hazards))
    if w.project <= 0:
        raise _bad("Pins need a positive project_weight (a pin is a project due in its week).",
                   "Compare pins under weights with project_weight above 0.")
    pin = Target(PIN_PREFIX + ref, "project", target.blocking, value=(10.0 * ceiling + 1.0) / w.project,
                 deadline_week=week)
    return dataclasses.replace(instance, targets=(*instance.targets, pin))


def parse_pin(text: str) -> tuple[str, int]:
    """``TARGET=WEEK`` as a pair.

    >>> parse_pin("PT-000004=3")
    ('PT-000004', 3)
    """
    ref, _, week = text.partition("=")
    if not ref or not week.strip().isdigit():
        raise _bad(f"'{text}' is not TARGET=WEEK.", "Write a pin as a target ref and a week, e.g. PT-000004=3.")
    return ref.strip(), int(week)


def _scenario(ws: Workspace, base: PlanInstance, instance: PlanInstance, start: dt.date, label: str,
              time_limit: float, built: BuiltInstance, hazard_limit: int | None,
              base_weeks: dict[str, int | None] | None) -> dict[str, Any]:
    solved = solve(instance, start, time_limit=time_limit, bound_time_limit=None)
    released = solved.released
    value = base.value_of_release(released)
    # Stored under the base objective (its targets and weights), so its values and dates read like the base plan's;
    # the greedy plan of the what-if is valued the same way (the solver reports it under the what-if's objective).
    stored = dataclasses.replace(instance, targets=base.targets, weights=base.weights)
    greedy = base.value_of_release(check_plan(instance, greedy_plan(instance)).released)
    as_base = Solved(stored, solved.plan, start, value, greedy, solved.solve_seconds)
    run = store_run(ws, as_base, kind="what_if", label=label,
                    parameters={**parameters(instance, start, built.skipped_teams, time_limit, None, hazard_limit,
                                              built.targets_left_out), "what_if": label,
                                "own_value": solved.value, "own_greedy_value": solved.greedy_value})
    weeks = target_weeks(base, released)
    out: dict[str, Any] = {
        "label": label, "run": run["id"], "value": value, "own_value": solved.value, "greedy_value": greedy,
        "teams": len(instance.teams), "hazards_released": len(released),
        "targets_safe": sum(w is not None for w in weeks.values()), "target_weeks": weeks}
    if base_weeks is not None:
        out["changed"] = [{"ref": k, "base_week": base_weeks[k], "base_date": week_date(start, base_weeks[k]),
                           "week": w, "date": week_date(start, w)} for k, w in weeks.items() if w != base_weeks[k]]
    return out


def compare(ws: Workspace, *, start: dt.date, horizon: int, add: int = 0, method: str | None = None,
            remove: tuple[str, ...] = (), weights_file: str | Path | None = None,
            pins: tuple[tuple[str, int], ...] = (), time_limit: float = 10.0,
            hazards: int | None = None) -> dict[str, Any]:
    """Plan the base instance (only the ``hazards`` most urgent open hazards when given) and each what-if (see
    module); store every plan as a what-if run."""
    if add and not method:
        raise _bad("--add-teams needs --method.", "Say which kind of team to add, e.g. --method manual.")
    built = build_instance(ws, start, horizon, hazards)
    base = built.instance
    what_ifs: list[tuple[str, PlanInstance]] = []
    if add:
        assert method is not None
        what_ifs.append((f"+{add} {method} team{'s' if add > 1 else ''}", add_teams(base, add, method)))
    what_ifs += [(f"without {ref}", remove_team(base, ref)) for ref in remove]
    if weights_file:
        what_ifs.append((f"weights {Path(weights_file).name}",
                         dataclasses.replace(base, weights=read_plan_weights(weights_file, base.weights))))
    what_ifs += [(f"pin {ref} by week {week}", pin_target(base, ref, week)) for ref, week in pins]
    if not what_ifs:
        raise _bad("No what-if given.", "Add --add-teams N --method M, --remove-team ID, --weights FILE or "
                                        "--pin TARGET=WEEK.")
    first = _scenario(ws, base, base, start, "base", time_limit, built, hazards, None)
    rows = [first]
    for label, instance in what_ifs:
        row = _scenario(ws, base, instance, start, label, time_limit, built, hazards, first["target_weeks"])
        if label.startswith("pin "):
            ref, week = next((r, w) for r, w in pins if label == f"pin {r} by week {w}")
            got = row["target_weeks"][ref]
            row["pin"] = {"target": ref, "week": week, "met": got is not None and got <= week}
        rows.append(row)
    for row in rows:
        row["delta"] = row["value"] - first["value"]
        row["target_weeks"] = [{"ref": k, "week": w, "date": week_date(start, w)}
                               for k, w in row["target_weeks"].items()]
    return {"start": start.isoformat(), "horizon_weeks": horizon, "time_limit": time_limit,
            "teams": len(base.teams), "hazards": len(base.hazards), "targets": len(base.targets),
            "targets_left_out": built.targets_left_out, "scenarios": rows}
