"""Greedy plan, improved plan and bound: feasibility, bound ≥ optimum ≥ plan ≥ greedy (issue 7)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from safeground.domain.plan import check_plan, plan_value
from safeground.services.plan_bound import plan_bound
from safeground.services.plan_greedy import greedy_plan
from safeground.services.plan_milp import solve_model
from safeground.services.plan_solve import improve_plan

from .plan_instances import random_instance, small_instances

SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(small_instances())
def test_greedy_and_improved_plans_pass_the_checker_and_improved_is_never_worse(instance) -> None:  # type: ignore[no-untyped-def]
    greedy = greedy_plan(instance)
    check_plan(instance, greedy)
    result = improve_plan(instance, time_limit=5)
    check_plan(instance, result.plan)
    assert result.greedy_value == pytest.approx(plan_value(instance, greedy))
    assert result.value == pytest.approx(plan_value(instance, result.plan))
    assert result.value >= result.greedy_value - 1e-9
    pieces = improve_plan(instance, time_limit=5, whole_columns=0)
    check_plan(instance, pieces.plan)
    assert pieces.value >= pieces.greedy_value - 1e-9


@SLOW
@given(small_instances())
def test_bound_is_at_least_the_exact_optimum_which_is_at_least_the_plan(instance) -> None:  # type: ignore[no-untyped-def]
    exact_plan, exact = solve_model(instance, time_limit=30)
    assert exact.optimal and exact_plan is not None
    optimum = plan_value(instance, exact_plan)
    assert optimum == pytest.approx(exact.objective, rel=1e-6, abs=1e-3)
    bound = plan_bound(instance, period=2, time_limit=30)
    assert bound.bound >= optimum - 1e-6 * max(1.0, optimum)
    lp_bound = plan_bound(instance, period=3, integral=False)
    assert lp_bound.bound >= optimum - 1e-6 * max(1.0, optimum)
    result = improve_plan(instance, time_limit=5)
    assert optimum >= result.value - 1e-6 * max(1.0, optimum)


def test_improved_plan_beats_greedy_on_most_seeded_instances() -> None:
    better = 0
    for seed in range(10):
        instance = random_instance(seed, hazards=10, teams=2, weeks=6, targets=4)
        result = improve_plan(instance, time_limit=5)
        check_plan(instance, result.plan)
        better += result.value > result.greedy_value + 1e-6
    assert better >= 5
