"""A seeded synthetic clearance-planning instance shaped like issue 7's benchmark, at any size.

Hazards of 500-40,000 m² (SHA, CHA and indications) scattered around ten team bases over 600 × 400 km;
teams of four methods (manual, mechanical, mine detection dogs, non-technical survey) with capacities drawn
around typical rates and about 8 % of weeks away; settlements that count only when all their (up to ten)
hazards are released and projects with deadlines, 0.3 targets per hazard; travel as lost days per distance
(a fifth of a week per 100 km). Each hazard has a terrain class (open ground, bush, forest, rocky, urban) and
each team a capacity on each class: the configuration's default ``plan.terrain_factor`` of its method times
its open-ground capacity, ±15 % per team (drawn from a second stream, so the rest is as without terrain).
``benchmarks/bench_plan.py`` plans the 5,000-hazard instance and the planner
tests plan small ones.
"""

from __future__ import annotations

import dataclasses
import math
import random

from safeground.domain.config import PlanConfig
from safeground.domain.plan import Hazard, PlanInstance, PlanWeights, Target, Team

EFFORT = {"sha": 0.3, "cha": 1.0, "indication": 0.2}
TERRAIN = {"open": 0.35, "vegetated": 0.3, "forest": 0.2, "rocky": 0.12, "urban": 0.03}


def planning_instance(n_hazards: int, n_teams: int, weeks: int, seed: int = 7) -> PlanInstance:
    """The seeded synthetic instance (see module).

    >>> inst = planning_instance(60, 5, 12, seed=1)
    >>> len(inst.hazards), len(inst.teams), len(inst.targets), inst.horizon
    (60, 5, 18, 12)
    """
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
    ground = random.Random(f"terrain-{seed}")
    factors = PlanConfig().terrain_factor
    teams = [dataclasses.replace(t, terrain_capacity=tuple(
        (c, t.capacity_m2_week * f * ground.uniform(0.85, 1.15)) for c, f in factors[t.method].items()))
        for t in teams]
    hazards = [dataclasses.replace(h, terrain=ground.choices(list(TERRAIN), list(TERRAIN.values()))[0])
               for h in hazards]
    return PlanInstance(tuple(hazards), tuple(teams), tuple(targets), weeks,
                        PlanWeights(households=1.0, project=0.01, risk=0.01), loss)
