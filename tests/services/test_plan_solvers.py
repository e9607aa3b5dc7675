"""Greedy plan, local search, improved plan and bound: feasibility, bound ≥ optimum ≥ plan ≥ greedy (issue 7)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from safeground.domain.plan import check_plan, plan_value
from safeground.scenario.planning import planning_instance
from safeground.services.plan_bound import plan_bound
from safeground.services.plan_greedy import greedy_plan, team_weeks
from safeground.services.plan_milp import solve_model
from safeground.services.plan_nested import checkpoints, nested_plan, nested_plans
from safeground.services.plan_search import local_search
from safeground.services.plan_solve import improve_plan

from .plan_instances import small_instances

SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(small_instances())
def test_greedy_and_improved_plans_pass_the_checker_and_improved_is_never_worse(instance) -> None:  # type: ignore[no-untyped-def]
    greedy = greedy_plan(instance)
    check_plan(instance, greedy)
    for economical in (False, True):  # every greedy variant keeps every rule
        check_plan(instance, greedy_plan(instance, team_weeks(instance), economical=economical))
        check_plan(instance, greedy_plan(instance, economical=economical))
    check_plan(instance, nested_plan(instance))
    check_plan(instance, nested_plan(instance, lookahead=2, slack=0))
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
    weekly = plan_bound(instance, integral=False)  # the default: one prefix LP per week, whole-weeks rows
    assert weekly.period == 1 and weekly.bound >= optimum - 1e-6 * max(1.0, optimum)
    plain = plan_bound(instance, integral=False, whole_weeks=False)  # as at national scale
    assert plain.bound >= optimum - 1e-6 * max(1.0, optimum)
    assert weekly.bound <= plain.bound + 1e-6 * max(1.0, plain.bound)  # the whole-weeks rows only tighten
    result = improve_plan(instance, time_limit=5)
    assert optimum >= result.value - 1e-6 * max(1.0, optimum)


@SLOW
@given(small_instances())
def test_local_search_keeps_every_rule_and_never_loses_value(instance) -> None:  # type: ignore[no-untyped-def]
    for start in (greedy_plan(instance), greedy_plan(instance, team_weeks(instance))):
        result = local_search(instance, start, time_limit=2, seed=3)
        check_plan(instance, result.plan)
        assert result.value == pytest.approx(plan_value(instance, result.plan))
        assert result.value >= plan_value(instance, start) - 1e-9
        assert [v for _, v in result.progress] == sorted(v for _, v in result.progress)


def test_plan_beats_greedy_on_twenty_seeded_benchmark_shaped_instances() -> None:
    """The issue's test: 60 hazards, 5 teams, 12 weeks, 18 targets, shaped like the national benchmark."""
    better = 0
    for seed in range(20):
        instance = planning_instance(60, 5, 12, seed=seed)
        result = improve_plan(instance, time_limit=0.25, seed=seed)
        check_plan(instance, result.plan)
        assert result.value == pytest.approx(plan_value(instance, result.plan))
        assert result.value >= result.greedy_value - 1e-9
        better += result.value > result.greedy_value * (1 + 1e-6)
    assert better >= 15


def test_bound_holds_above_the_plan_on_a_benchmark_shaped_instance() -> None:
    instance = planning_instance(300, 6, 26, seed=5)
    result = improve_plan(instance, time_limit=2)
    bound = plan_bound(instance)
    assert bound.optimal and bound.period == 1
    assert result.greedy_value <= result.value <= bound.bound
    assert bound.bound < 2 * result.value  # a bound that means something, not the sum of all values
    assert len(bound.terms) == instance.horizon and sum(bound.terms) == pytest.approx(bound.bound)


def test_economical_greedy_spends_the_slow_team_on_the_small_hazard() -> None:
    from safeground.domain.plan import Hazard, PlanInstance, Target, Team

    # A fast team (10,000 m² a week) and a slow one (1,000): the fast one is free first for both hazards, so
    # the earliest-finish rule spends it on both and the big hazard waits a week; the economical rule leaves
    # the small hazard to the slow team, which clears it in a week, and both settlements are home after week 0.
    inst = PlanInstance((Hazard("BIG", 9000.0, {"manual": 1.0}), Hazard("SMALL", 900.0, {"manual": 1.0})),
                        (Team("FAST", "manual", 10000.0), Team("SLOW", "manual", 1000.0)),
                        (Target("S1", "settlement", ("BIG",), households=10),
                         Target("S2", "settlement", ("SMALL",), households=2)), 4)
    first = check_plan(inst, greedy_plan(inst)).released
    economical = check_plan(inst, greedy_plan(inst, economical=True)).released
    assert economical == {"BIG": 0, "SMALL": 0}
    assert first["BIG"] + first["SMALL"] > 0
    assert plan_value(inst, greedy_plan(inst, economical=True)) > plan_value(inst, greedy_plan(inst))


def test_nested_plan_clears_for_a_project_just_in_time_and_brings_families_home_first() -> None:
    from safeground.domain.plan import Hazard, PlanInstance, Target, Team

    # One team clears one hazard a week. The project (value 100, due at the end of week 2) is denser than the
    # settlement (20 households × 3 weeks = 60), so the greedy clears for it first and the families wait a
    # week. The nested plan sees that the project is only worth something by its deadline: the settlement
    # first (home from week 0), the project's hazard in week 1, still in time.
    inst = PlanInstance((Hazard("A", 500.0, {"manual": 1.0}), Hazard("C", 500.0, {"manual": 1.0})),
                        (Team("T", "manual", 500.0),),
                        (Target("S", "settlement", ("A",), households=20),
                         Target("P", "project", ("C",), value=100.0, deadline_week=2)), 3)
    assert checkpoints(inst) == [0, 1, 2]
    nested = check_plan(inst, nested_plan(inst)).released
    assert nested == {"A": 0, "C": 1}
    assert plan_value(inst, nested_plan(inst)) == 160.0
    assert check_plan(inst, greedy_plan(inst)).released == {"C": 0, "A": 1}
    assert plan_value(inst, greedy_plan(inst)) == 140.0
    assert improve_plan(inst, time_limit=2).value == 160.0


def test_nested_plan_with_a_lookahead_beats_greedy_where_settlements_wait_on_many_hazards() -> None:
    # The synthetic instance's settlements wait on up to ten hazards of several weeks each, and its projects
    # are due in every week. With a checkpoint at every deadline the LPs spend the teams on what is safe
    # soonest; on the coarser grid, and more so planning a later checkpoint too, the settlements get room.
    instance = planning_instance(400, 8, 26, seed=11)
    greedy = plan_value(instance, greedy_plan(instance))
    every_deadline = plan_value(instance, nested_plan(instance))
    grid = plan_value(instance, nested_plan(instance, deadlines=False))
    ahead = nested_plan(instance, lookahead=2, deadlines=False)
    check_plan(instance, ahead)
    assert plan_value(instance, ahead) > grid > every_deadline
    assert plan_value(instance, ahead) > 1.1 * greedy
    assert plan_value(instance, ahead) <= plan_bound(instance).bound
    tried = [plan_value(instance, p) for p in nested_plans(instance, time_limit=30)]
    assert len(tried) == 3 and max(tried) == plan_value(instance, ahead)  # all three fit in the time
    result = improve_plan(instance, time_limit=10)  # the search starts from the best of them
    assert result.value >= plan_value(instance, ahead)
