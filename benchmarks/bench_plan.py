"""Clearance plan on issue 7's benchmark instance: gap at the time limit, time to 2 %.

Plain script, not a test.

    python benchmarks/bench_plan.py [--db national.gpkg] [--seconds 60]
    python benchmarks/bench_plan.py --synthetic [HAZARDS TEAMS WEEKS SECONDS]

**The issue's instance** (default): the 5,000 highest-priority open hazards of the ``national`` demo scenario
(``plan make --hazards 5000``: ``plan priorities``' score; targets waiting on other open hazards left out),
50 of its teams (every third by ref, so each method and region keeps its share) and 52 weeks from
2026-11-30, under the configured objective weights. Without ``--db`` the script builds the national demo
(``safeground demo --scale national``, about 2 minutes) in a temporary folder first.

**The synthetic instance** (``--synthetic``): the seeded generator of :mod:`safeground.scenario.planning`,
5,000 hazards, 50 teams at ten bases, 52 weeks and 1,500 targets by default; harder than the national one
(settlements wait on up to ten hazards spread over a region).

Both print one table. The reference is the greedy plan (value per area), run in the same run. Then the bound
(the pooled-crew prefix relaxation, timed on its own): weekly, and weekly with the whole-weeks columns (the
gap is to the lower); then the plan's value and gap at a sixth, half and all of the time limit, read from one
run's record of improvements, and the first time the plan's gap was within 2 %, if it was. The machine's load
average is printed: the planner's times scale with the CPU it gets.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from safeground.domain.plan import PlanInstance, check_plan
from safeground.scenario.planning import planning_instance
from safeground.services.plan_bound import plan_bound
from safeground.services.plan_greedy import greedy_plan
from safeground.services.plan_solve import improve_plan

START = dt.date(2026, 11, 30)  # a Monday; the scenario's project deadlines run from 2026-06-30 to 2030


def every_nth_team(instance: PlanInstance, n_teams: int) -> PlanInstance:
    """``n_teams`` of the instance's teams, spread evenly over them in ref order, with their travel only."""
    teams = instance.teams
    if len(teams) <= n_teams:
        return instance
    keep = tuple(teams[round(j * len(teams) / n_teams)] for j in range(n_teams))
    ids = {t.id for t in keep}
    return dataclasses.replace(instance, teams=keep,
                               travel_loss={k: v for k, v in instance.travel_loss.items() if k[0] in ids})


def national_instance(db: str | None, hazards: int, teams: int, weeks: int) -> tuple[PlanInstance, str]:
    """The issue's instance from the national demo at ``db`` (built in a temporary folder when ``None``)."""
    from safeground.services.plan_instance import build_instance
    from safeground.services.workspace import Workspace

    if db is None:
        folder = tempfile.mkdtemp(prefix="sg-bench-plan-")
        db = str(Path(folder) / "national.gpkg")
        exe = Path(sys.executable).with_name("safeground")
        subprocess.run([str(exe), "demo", "--scale", "national", "--db", db], check=True,
                       stdout=subprocess.DEVNULL)
    with Workspace.open(db, user="bench") as ws:
        built = build_instance(ws, START, weeks, hazards=hazards)
    inst = every_nth_team(built.instance, teams)
    return inst, (f"national demo, the {len(inst.hazards)} highest-priority open hazards, {len(inst.teams)} of "
                  f"{len(built.instance.teams)} teams, {weeks} weeks from {START}; {built.targets_left_out} "
                  "targets left out (they wait on open hazards outside these)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="An existing national demo database (default: build one).")
    parser.add_argument("--seconds", type=float, default=60.0, help="The planner's time limit.")
    parser.add_argument("--synthetic", nargs="*", type=int, metavar="N",
                        help="The synthetic instance instead: HAZARDS TEAMS WEEKS SECONDS (5000 50 52 60).")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    t = time.perf_counter()
    if args.synthetic is not None:
        n_hazards, n_teams, weeks, seconds = [*args.synthetic, *[5000, 50, 52, 60][len(args.synthetic):]][:4]
        inst = planning_instance(n_hazards, n_teams, weeks)
        what = f"synthetic, {n_hazards} hazards, {n_teams} teams, {weeks} weeks"
    else:
        seconds = args.seconds
        inst, what = national_instance(args.db, 5000, 50, 52)
    build = time.perf_counter() - t
    t = time.perf_counter()
    greedy = greedy_plan(inst)
    greedy_s = time.perf_counter() - t
    greedy_value = inst.value_of_release(check_plan(inst, greedy).released)
    plain = plan_bound(inst, time_limit=10 * seconds, whole_weeks=False)
    whole = plan_bound(inst, time_limit=10 * seconds, whole_weeks=True)  # tighter, slower: timed on its own
    bound = min((plain, whole), key=lambda b: b.bound)  # both are valid: the lower is the gap's reference
    load_plan = os.getloadavg()[0]
    result = improve_plan(inst, time_limit=seconds)
    check_plan(inst, result.plan)

    def gap(value: float) -> float:
        return (bound.bound - value) / bound.bound if bound.bound else 0.0

    rows = []
    for limit in (seconds / 6, seconds / 2, seconds):
        value = max((v for s, v in result.progress if s <= limit), default=greedy_value)
        rows.append((limit, value))
    to_2 = next((s for s, v in result.progress if gap(v) <= 0.02), None)
    w = inst.weights
    print(f"instance: {what}; {len(inst.targets)} targets; weights households {w.households:g}, project "
          f"{w.project:g}, risk {w.risk:g} (built in {build:.1f} s)")
    print(f"load average {load_before:.1f} before, {load_plan:.1f} at the plan, {os.getloadavg()[0]:.1f} after; "
          f"{os.cpu_count()} CPUs")
    print(f"{'what':<30} {'seconds':>8} {'value':>14} {'gap':>8} {'vs greedy':>10}")
    print(f"{'greedy (reference)':<30} {greedy_s:>8.2f} {greedy_value:>14.1f} {100 * gap(greedy_value):>7.2f}% "
          f"{1.0:>10.4f}")
    for name, b in (("bound (weekly)", plain), ("bound (weekly, whole weeks)", whole)):
        print(f"{name:<30} {b.seconds:>8.2f} {b.bound:>14.1f} {'optimal' if b.optimal else 'dual bd':>8}")
    for limit, value in rows:
        print(f"{f'plan at {limit:.0f} s':<30} {limit:>8.0f} {value:>14.1f} {100 * gap(value):>7.2f}% "
              f"{value / greedy_value if greedy_value else float('nan'):>10.4f}")
    print(f"plan: {result.seconds:.1f} s, {len(result.progress) - 1} improvements; "
          f"time to 2 %: {f'{to_2:.1f} s' if to_2 is not None else 'not reached'}")


if __name__ == "__main__":
    main()
