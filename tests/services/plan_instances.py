"""Random clearance-planning instances for the planner tests (hypothesis strategy and a seeded builder)."""

from __future__ import annotations

import dataclasses
import random

from hypothesis import strategies as st

from safeground.domain.plan import Hazard, PlanInstance, PlanWeights, Target, Team
from safeground.domain.vocabularies import TERRAIN_CLASS

METHODS = ("manual", "mechanical", "mdd")
TERRAINS = TERRAIN_CLASS.codes


def random_instance(seed: int, hazards: int = 10, teams: int = 2, weeks: int = 6, targets: int = 3) -> PlanInstance:
    """A random instance: hazards of 200–3,000 m² in two regions on random terrain classes, teams with
    400–1,500 m²/week on open ground and 0–1.2 times that on other classes (0: cannot work there), some weeks
    unavailable, travel losses up to half a week, settlements and projects blocked by 1–4 hazards."""
    rnd = random.Random(seed)
    team_list = tuple(
        Team(f"TM-{i}", rnd.choice(METHODS[:2]), rnd.uniform(400, 1500),
             frozenset(w for w in range(weeks) if rnd.random() > 0.15), base=f"B{i % 2}")
        for i in range(teams))
    hazard_list = []
    for i in range(hazards):
        effort = {m: rnd.uniform(0.5, 2.0) for m in METHODS if rnd.random() > 0.3} or {"manual": 1.0}
        hazard_list.append(Hazard(f"HA-{i}", rnd.uniform(200, 3000), effort, risk=rnd.choice([0.0, rnd.random()]),
                                  region=f"R{i % 2}"))
    target_list = []
    for i in range(targets):
        blocking = tuple(sorted({h.id for h in rnd.sample(hazard_list, rnd.randint(1, min(4, hazards)))}))
        if rnd.random() < 0.6:
            target_list.append(Target(f"PT-{i}", "settlement", blocking, households=rnd.randint(1, 200)))
        else:
            target_list.append(Target(f"PT-{i}", "project", blocking, value=rnd.uniform(100, 5000),
                                      deadline_week=rnd.randint(0, weeks)))
    loss = {(t.id, h.id): rnd.uniform(0, 0.5) for t in team_list for h in hazard_list}
    ground = random.Random(-seed - 1)  # terrain from a second stream: the rest is as without it
    team_list = tuple(dataclasses.replace(t, terrain_capacity=tuple(
        (c, 0.0 if ground.random() < 0.1 else t.capacity_m2_week * ground.uniform(0.3, 1.2)) for c in TERRAINS[1:]))
        for t in team_list)
    hazard_list = [dataclasses.replace(h, terrain=ground.choice(TERRAINS)) for h in hazard_list]
    return PlanInstance(tuple(hazard_list), team_list, tuple(target_list), weeks,
                        PlanWeights(households=1.0, project=1.0, risk=rnd.choice([0.0, 0.1, 1.0])), loss)


def small_instances() -> st.SearchStrategy[PlanInstance]:
    """Instances with at most 10 hazards, 2 teams and 6 weeks (the size the exact optimum is checked on)."""
    return st.builds(random_instance, st.integers(0, 2**31), st.integers(1, 10), st.integers(1, 2),
                     st.integers(1, 6), st.integers(0, 4))
