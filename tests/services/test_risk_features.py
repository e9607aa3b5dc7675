"""Evidence features as of a cut-off, from the Colombia register's events in Antioquia: no future leaks in."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeground.domain.errors import ValidationError
from safeground.services.records import add_record
from safeground.services.risk_features import evidence_features
from safeground.services.workspace import Workspace

CUT = dt.date(2009, 12, 31)
# Cells in eastern Antioquia (RELand's area), and one far out in the Llanos with no evidence near it.
CELLS = np.array([shapely.Point(-75.0, 6.0), shapely.Point(-74.9, 6.1), shapely.Point(-75.2, 5.8),
                  shapely.Point(-71.0, 4.5), None], dtype=object)


def _features(ws: Workspace, as_of: dt.date = CUT) -> dict[str, np.ndarray]:
    f = evidence_features(ws, CELLS, as_of)
    return {n: f.values[:, j] for j, n in enumerate(f.names)}


def _accident(ws: Workspace, where: shapely.Point, accident_date: str, info_date: str) -> None:
    add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": accident_date, "info_date": info_date,
                                "geometry": where}, review_state="approved")


def test_features_count_only_what_was_known_by_the_cut_off(antioquia_ws: Workspace) -> None:
    f = evidence_features(antioquia_ws, CELLS, CUT)
    counts = f.report["types"]
    assert counts["accident"]["known_by_cut_off"] + counts["accident"]["after_cut_off"] == counts["accident"][
        "records"] > 0
    assert counts["device"]["after_cut_off"] > 0  # 2010-2014 finds exist and are left out
    assert {"ev_accident_dist", "ev_device_n5km", "ev_any_dist", "ev_any_recent_dist"} <= set(f.names)
    assert "ev_hazard_dist" not in f.names  # no hazard area in the register: no feature, not a column of NaN
    values = {n: f.values[:, j] for j, n in enumerate(f.names)}
    assert np.isnan(values["ev_any_dist"][4])  # a cell without a location has no distance, not 0
    assert values["ev_any_dist"][3] > 100  # the Llanos cell is far from every Antioquia event
    assert (values["ev_any_dist"][:4] <= values["ev_accident_dist"][:4]).all()
    years = f.years["ev_accident_dist"]
    assert (years[:4] <= CUT.year).all()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dx=st.floats(-0.3, 0.3), dy=st.floats(-0.3, 0.3), days_after=st.integers(1, 4000),
       entered_before=st.booleans())
def test_a_record_known_after_the_cut_off_changes_no_feature(antioquia_ws: Workspace, dx: float, dy: float,
                                                             days_after: int, entered_before: bool) -> None:
    before = _features(antioquia_ws)
    known = (CUT + dt.timedelta(days=days_after)).isoformat()
    # The accident itself may predate the cut-off: what counts is when it became known (info_date).
    accident_date = (CUT - dt.timedelta(days=30)).isoformat() if entered_before else known
    _accident(antioquia_ws, shapely.Point(-75.0 + dx, 6.0 + dy), accident_date, known)  # entered now
    after = _features(antioquia_ws)
    for name, col in before.items():
        np.testing.assert_array_equal(col, after[name], err_msg=name)


def test_a_record_entered_today_about_an_earlier_accident_counts(antioquia_ws: Workspace) -> None:
    before = _features(antioquia_ws)
    _accident(antioquia_ws, shapely.Point(-75.0, 6.0), "2005-03-01", "2005-03-02")
    after = _features(antioquia_ws)
    assert before["ev_accident_dist"][0] > 0.1
    assert after["ev_accident_dist"][0] == pytest.approx(0.0, abs=1e-6)
    assert after["ev_accident_n5km"][0] == before["ev_accident_n5km"][0] + 1
    assert after["ev_any_dist"][0] == pytest.approx(0.0, abs=1e-6)


def test_evidence_needs_locations(antioquia_ws: Workspace) -> None:
    with pytest.raises(ValidationError) as info:
        evidence_features(antioquia_ws, None, CUT)
    assert info.value.code == "risk.no_locations"
