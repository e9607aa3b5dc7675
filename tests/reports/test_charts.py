"""Charts draw exactly the numbers of the documents they are given, and nothing when there is nothing."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.reports.conftest import YEAR, World

from safeground.reports import charts
from safeground.services.stats_casualties import casualty_stats
from safeground.services.stats_release import release_stats
from safeground.services.workspace import Workspace

matplotlib.use("Agg")
import matplotlib.pyplot as plt

km2 = st.floats(0, 500, allow_nan=False).map(lambda x: round(x, 6))


def _bar_totals(ax: object, vertical: bool = True) -> dict[float, float]:
    totals: dict[float, float] = defaultdict(float)
    for bar in ax.patches:  # type: ignore[attr-defined]
        if vertical:
            totals[round(bar.get_x() + bar.get_width() / 2, 6)] += bar.get_height()
        else:
            totals[round(bar.get_y() + bar.get_height() / 2, 6)] += bar.get_width()
    return totals


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.integers(1990, 2030), st.tuples(km2, km2, km2), min_size=1, max_size=20))
def test_land_released_bars_stack_to_each_year_total(years: dict[int, tuple[float, float, float]]) -> None:
    groups = [{"year": y, "cancelled_km2": c, "reduced_km2": r, "cleared_km2": k, "released_km2": c + r + k,
               "polygons": 1} for y, (c, r, k) in sorted(years.items())]
    fig = charts.land_released_per_year({"released": {"groups": groups}}, year=max(years))
    assert fig is not None
    totals = _bar_totals(fig.axes[0])
    for y, (c, r, k) in years.items():
        assert totals[float(y)] == pytest.approx(c + r + k, abs=1e-9)
    assert all(totals[x] == 0 for x in totals if int(x) not in years)  # the gaps are empty years
    plt.close(fig)


def test_casualty_charts_draw_the_services_numbers(built: tuple[Path, World]) -> None:
    with Workspace.open(built[0], read_only=True) as ws:
        over_time = casualty_stats(ws, by=["year", "status"])
        year = casualty_stats(ws, since=f"{YEAR}-01-01", until=f"{YEAR}-12-31", by=["age_group", "sex"])
        release = release_stats(ws, since=f"{YEAR}-01-01", until=f"{YEAR}-12-31")
    fig = charts.casualties_over_time(over_time, YEAR)
    assert fig is not None
    for ax, outcome in zip(fig.axes[:2], ("killed", "injured"), strict=True):
        want: dict[float, float] = defaultdict(float)
        for r in over_time["breakdown"]:
            want[float(r["key"]["year"])] += r[outcome]
        got = _bar_totals(ax)
        assert {x: v for x, v in got.items() if v} == {x: v for x, v in want.items() if v}
    fig = charts.casualties_by_device(year)
    assert fig is not None
    widths = [b.get_width() for b in fig.axes[0].patches]
    assert widths == [year["device"][c] for c in (*charts.DEVICE_CATEGORY.codes, "not_broken_down")]
    fig = charts.casualties_by_age_sex(year)
    assert fig is not None and sum(b.get_width() for b in fig.axes[0].patches) == year["records"]["people"]
    fig = charts.devices_destroyed(release)
    assert fig is not None and sum(b.get_width() for b in fig.axes[0].patches) == release["devices_destroyed"]["total"]
    fig = charts.productivity_by_method(release)
    assert fig is not None
    assert sorted(b.get_width() for b in fig.axes[0].patches) == \
        sorted(v["m2_per_team_day"] for v in release["productivity"]["by_method"].values())
    plt.close("all")


def test_nothing_to_draw_draws_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.gpkg"
    Workspace.open(path, user="ana", create=True).close()
    with Workspace.open(path, read_only=True) as ws:
        cas = casualty_stats(ws, by=["year", "status"])
        age = casualty_stats(ws, by=["age_group", "sex"])
        rel = release_stats(ws)
    assert charts.casualties_over_time(cas) is None
    assert charts.casualties_by_device(cas) is None
    assert charts.casualties_by_age_sex(age) is None
    assert charts.land_released_per_year(rel) is None
    assert charts.devices_destroyed(rel) is None
    assert charts.productivity_by_method(rel) is None
