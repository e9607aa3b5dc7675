"""Clearance plan on an instance shaped like issue 7's benchmark: gap at the time limit, time to 2 %.

Plain script, not a test: python benchmarks/bench_plan.py [HAZARDS TEAMS WEEKS SECONDS]
(default 5000 50 52 60). The instance is synthetic and seeded: hazards of 500-40,000 m² (SHA, CHA and
indications) scattered over 600 × 400 km, teams of four methods at ten bases, settlements that count only when
all their (up to ten) hazards are released, projects with deadlines, travel as lost days per distance.
The reference is the greedy plan (value per area), run in the same run; the table gives the plan's value
against it, the bound (pooled-period relaxation, timed on its own) and the gap, and the first time the
plan's gap to the bound was within 2 %, if it was.
"""

from __future__ import annotations

import sys
import time

from safeground.domain.plan import check_plan
from safeground.scenario.planning import planning_instance as instance
from safeground.services.plan_bound import plan_bound
from safeground.services.plan_greedy import greedy_plan
from safeground.services.plan_solve import improve_plan


def main() -> None:
    args = [int(a) for a in sys.argv[1:5]] + [5000, 50, 52, 60][len(sys.argv[1:5]):]
    n_hazards, n_teams, weeks, seconds = args
    t = time.perf_counter()
    inst = instance(n_hazards, n_teams, weeks)
    build = time.perf_counter() - t
    t = time.perf_counter()
    greedy = greedy_plan(inst)
    greedy_s = time.perf_counter() - t
    greedy_value = inst.value_of_release(check_plan(inst, greedy).released)
    bound = plan_bound(inst, time_limit=seconds)
    rows = []
    to_2 = None
    for limit in (seconds / 6, seconds / 2, seconds):
        result = improve_plan(inst, time_limit=limit)
        check_plan(inst, result.plan)
        gap = (bound.bound - result.value) / bound.bound
        rows.append((limit, result.value, gap, result.seconds))
        if to_2 is None and gap <= 0.02:
            to_2 = result.seconds
    greedy_gap = (bound.bound - greedy_value) / bound.bound
    print(f"instance: {n_hazards} hazards, {n_teams} teams, {weeks} weeks, {len(inst.targets)} targets "
          f"(built in {build:.1f} s)")
    print(f"{'what':<28} {'seconds':>8} {'value':>14} {'gap':>8} {'vs greedy':>10}")
    print(f"{'greedy (reference)':<28} {greedy_s:>8.2f} {greedy_value:>14.1f} {100 * greedy_gap:>7.2f}% {1.0:>10.4f}")
    for limit, value, gap, spent in rows:
        print(f"{f'plan, limit {limit:.0f} s':<28} {spent:>8.2f} {value:>14.1f} {100 * gap:>7.2f}% "
              f"{value / greedy_value if greedy_value else float('nan'):>10.4f}")
    print(f"{f'bound (period {bound.period} w)':<28} {bound.seconds:>8.2f} {bound.bound:>14.1f} "
          f"{'optimal' if bound.optimal else 'dual bd':>8}")
    print(f"time to 2 %: {f'{to_2:.1f} s' if to_2 is not None else 'not reached'}")


if __name__ == "__main__":
    main()
