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

import math
import random
import sys
import time

from safeground.domain.plan import Hazard, PlanInstance, PlanWeights, Target, Team, check_plan
from safeground.services.plan_bound import plan_bound
from safeground.services.plan_greedy import greedy_plan
from safeground.services.plan_solve import improve_plan

EFFORT = {"sha": 0.3, "cha": 1.0, "indication": 0.2}


def instance(n_hazards: int, n_teams: int, weeks: int, seed: int = 7) -> PlanInstance:
    """The seeded synthetic instance (see module)."""
    rnd = random.Random(seed)
    bases = [(rnd.uniform(0, 600), rnd.uniform(0, 400)) for _ in range(10)]
    methods = ["manual"] * 5 + ["mechanical"] * 2 + ["mdd"] * 2 + ["nts"]
    teams, where = [], {}
    for i in range(n_teams):
        b = i % len(bases)
        method = methods[i % len(methods)]
        cap = {"manual": 2500, "mechanical": 8000, "mdd": 5000, "nts": 60000}[method] * rnd.uniform(0.7, 1.3)
        off = {w for w in range(weeks) if rnd.random() < 0.08}
        teams.append(Team(f"TM-{i:03d}", method, cap, frozenset(set(range(weeks)) - off), base=f"B{b}"))
        where[teams[-1].id] = bases[b]
    hazards, points = [], {}
    for i in range(n_hazards):
        cls = rnd.choices(["sha", "cha", "indication"], [0.55, 0.3, 0.15])[0]
        effort = {m: EFFORT[cls] for m in ("manual", "mechanical", "mdd")}
        if cls != "cha":
            effort["nts"] = 1.0
        hid = f"HA-{i:05d}"
        hazards.append(Hazard(hid, rnd.lognormvariate(8.5, 1.0) // 1 + 500, effort, risk=rnd.random() ** 2))
        bx, by = rnd.choice(bases)
        points[hid] = (bx + rnd.gauss(0, 60), by + rnd.gauss(0, 60))
    loss = {}
    for t in teams:
        tx, ty = where[t.id]
        for h in hazards:
            px, py = points[h.id]
            loss[(t.id, h.id)] = math.hypot(px - tx, py - ty) / 100.0 / 5.0
    targets = []
    ids = [h.id for h in hazards]
    for i in range(int(0.3 * n_hazards)):
        anchor = rnd.randrange(n_hazards)
        blocking = tuple(sorted({ids[min(n_hazards - 1, anchor + rnd.randint(0, 20))]
                                 for _ in range(rnd.randint(1, 10))}))
        if rnd.random() < 0.8:
            targets.append(Target(f"PT-{i:05d}", "settlement", blocking, households=rnd.randint(5, 400)))
        else:
            targets.append(Target(f"PT-{i:05d}", "project", blocking, value=rnd.uniform(2e4, 5e5),
                                  deadline_week=rnd.randint(4, weeks + 10)))
    return PlanInstance(tuple(hazards), tuple(teams), tuple(targets), weeks,
                        PlanWeights(households=1.0, project=0.01, risk=0.01), loss)


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
