"""The seeded scenario generator: reproducible, fictional but plausible, and its evidence not a copy of the truth."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from safeground.domain.errors import ValidationError
from safeground.domain.records import record_type
from safeground.io.naturalearth import country_outline
from safeground.scenario import generate, params_for
from safeground.scenario.generate import Scenario, simulate
from safeground.scenario.params import SCALES, ScenarioParams
from safeground.scenario.truth import FileLayer, read_layer, truth_path, write_layers
from safeground.scenario.world import World

#: A smaller variant of the small scale, for property tests over many seeds.
TINY = params_for("small", minefields=30, settlements=12, projects=4, accidents=10, eore_sessions=5, events=2)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate("small", seed=1)


@pytest.fixture(scope="module")
def world() -> World:
    return simulate(params_for("small"), 1)


def _truth_digest(s: Scenario) -> list[str]:
    out = []
    for layer in s.truth:
        cols = [repr(layer.fields[k].tolist()) for k in sorted(layer.fields)]
        geom = "" if layer.geometry is None else repr(shapely.to_wkt(layer.geometry, rounding_precision=3).tolist())
        xy = "" if layer.x is None or layer.y is None else repr(np.round(np.r_[layer.x, layer.y], 7).tolist())
        out.append(layer.name + "".join(cols) + geom + xy)
    return out


def test_same_seed_gives_identical_records_and_truth(scenario: Scenario) -> None:
    again = generate("small", seed=1)
    assert again.digest() == scenario.digest()
    assert _truth_digest(again) == _truth_digest(scenario)
    assert again.counts() == scenario.counts()


def test_a_different_seed_gives_different_data(scenario: Scenario) -> None:
    other = generate("small", seed=2)
    assert other.digest() != scenario.digest()
    uuids = {u for r in scenario.steps if "uuid" in r.columns for u in r.columns["uuid"]}
    other_uuids = {u for r in other.steps if "uuid" in r.columns for u in r.columns["uuid"]}
    assert not uuids & other_uuids


def test_every_layer_is_generated_with_declared_fields_only(scenario: Scenario) -> None:
    counts = scenario.counts()
    assert set(counts) == set(record_type(r.layer).layer for r in scenario.steps)
    assert len(counts) == 16 and all(n > 0 for n in counts.values()), counts
    for rows in scenario.steps:
        rt = record_type(rows.layer)
        for name in rows.columns:
            f = rt.field(name)
            assert not f.managed or name in ("uuid", "report_approved_on"), (rows.layer, name)
        for f in rt.fields:
            if f.required:
                assert f.name in rows.columns, (rows.layer, f.name)
        assert rows.wgs84


def test_uuids_are_unique_and_source_ids_stable(scenario: Scenario) -> None:
    seen: set[str] = set()
    for rows in scenario.steps:
        if "uuid" in rows.columns:
            batch = set(rows.columns["uuid"].tolist())
            assert len(batch) == len(rows) and not batch & seen
            seen |= batch
        assert all(str(s).startswith(f"small-1-{rows.layer}-") for s in rows.columns["source_id"])
        assert set(rows.columns["source"]) == {"SafeGround scenario generator"}


def test_info_date_is_always_set_and_never_before_the_event(scenario: Scenario) -> None:
    for rows in scenario.steps:
        info = rows.columns["info_date"].astype("datetime64[D]")
        assert not np.isnat(info).any(), rows.layer
        event = record_type(rows.layer).event_date
        if event and event in rows.columns:
            when = rows.columns[event].astype("datetime64[D]")
            known = ~np.isnat(when)
            assert (info[known] >= when[known]).all(), rows.layer
        assert (info <= np.datetime64(scenario.params.as_of)).all(), rows.layer


def test_review_states_are_mostly_approved_or_published(scenario: Scenario) -> None:
    states = np.concatenate([r.review_state for r in scenario.steps])
    submitted = float(np.mean(states == "submitted"))
    assert 0.02 < submitted < 0.3
    assert set(states) == {"submitted", "approved", "published"}


def test_everything_lies_in_the_region_inside_colombia(scenario: Scenario) -> None:
    minx, miny, maxx, maxy = scenario.params.bbox
    outline = shapely.buffer(country_outline("COL"), 0.01)
    for rows in scenario.steps:
        if rows.geometry is None:
            continue
        geoms = rows.geometry[~shapely.is_missing(rows.geometry)]
        b = shapely.bounds(geoms)
        assert (b[:, 0] > minx - 0.1).all() and (b[:, 2] < maxx + 0.1).all(), rows.layer
        assert (b[:, 1] > miny - 0.1).all() and (b[:, 3] < maxy + 0.1).all(), rows.layer
        assert shapely.contains_xy(outline, *shapely.get_coordinates(shapely.point_on_surface(geoms)).T).all()
        assert shapely.is_valid(geoms).all(), rows.layer


def test_admin_areas_nest_and_have_codes(scenario: Scenario) -> None:
    (rows,) = scenario.rows("admin_area")
    assert rows.geometry is not None
    level, code, parent = rows.columns["level"], rows.columns["code"], rows.columns["parent_code"]
    assert set(level) == {1, 2}
    provinces = set(code[level == 1])
    assert all(str(c).startswith("XS") and len(str(c)) == 4 for c in provinces)
    assert all(len(str(c)) == 6 and str(c)[:4] == p and p in provinces for c, p in
               zip(code[level == 2], parent[level == 2], strict=True))
    union = shapely.union_all(rows.geometry[level == 2])
    for prov in rows.geometry[level == 1]:
        assert shapely.area(shapely.difference(prov, union)) < 1e-6


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_mines_lie_inside_their_true_minefield(seed: int) -> None:
    w = simulate(TINY, seed)
    mines, fields = w.mines, w.fields
    assert shapely.contains_xy(fields.polygon[mines.minefield], mines.x, mines.y).all()
    assert (np.bincount(mines.minefield, minlength=len(fields)) == fields.n_mines).all()
    assert (fields.n_mines >= 1).all()
    rows = fields.pattern == "rows"
    assert ((fields.rows[rows] >= 2) & (fields.rows[rows] <= 4)).all()


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_minefield_records_exist_for_a_fraction_only(seed: int) -> None:
    w = simulate(TINY, seed)
    n, k = len(w.fields), len(w.records.uuid)
    assert 0 < k < n
    assert len(set(w.records.minefield.tolist())) == k
    # Records are imprecise: perimeters are shifted, never the truth itself.
    assert (w.records.shift_m > 0).all()
    assert not shapely.equals(w.records.polygon, w.fields.polygon[w.records.minefield]).any()


def test_record_fraction_and_accuracy_are_parameters() -> None:
    none = simulate(params_for("small", record_fraction=0.0), 1)
    assert len(none.records.uuid) == 0
    exact = simulate(params_for("small", record_fraction=1.0, record_offset_m=1e-6, record_rotation_deg=0.0,
                                record_count_error=0.0), 1)
    assert len(exact.records.uuid) == len(exact.fields)
    assert (exact.records.mine_count == exact.fields.n_mines).all()
    assert exact.records.shift_m.max() < 1e-3


def test_worse_reliability_grades_mean_larger_errors() -> None:
    w = simulate(params_for("small", minefields=600, record_fraction=1.0), 3)
    r = w.records
    a = r.shift_m[r.reliability == "a"]
    d = r.shift_m[r.reliability == "d"]
    assert len(a) > 20 and len(d) > 20
    assert np.median(a) < np.median(d)


def test_hazards_are_bigger_than_the_truth_and_some_are_false(world: World) -> None:
    hz, fields = world.hazards, world.fields
    true = np.flatnonzero(hz.minefield >= 0)
    bigger = shapely.area(hz.polygon[true]) > shapely.area(fields.polygon[hz.minefield[true]])
    assert bigger.mean() > 0.9
    assert hz.false.sum() > 0
    # Some minefields are never recorded as a hazard: unknown contamination.
    assert 0 < len(set(hz.minefield[true].tolist())) < len(fields)


def test_evidence_is_a_noisy_incomplete_function_of_the_truth(world: World) -> None:
    w = world
    sv, hz = w.survey, w.hazards
    _near, dist = w.index.nearest(sv.ev_x, sv.ev_y)
    # False positives: evidence far from every mine.
    assert (dist > 500).sum() > 0
    assert hz.false[sv.ev_hazard].sum() > 0
    # Misses: minefields outlined by a surveyed hazard that yielded no evidence, and minefields never surveyed.
    surveyed_true = sv.surveyed & (hz.minefield >= 0)
    assert (surveyed_true & ~sv.evidence_found).sum() > 0
    assert (w.fields.silent).sum() > 0
    # No evidence item sits exactly on a mine; direct evidence is near one, indirect often is not.
    assert (dist > 0).all()
    assert np.median(dist[sv.ev_direct]) < w.params.direct_max_m + 3 * w.params.direct_sigma_m
    # Evidence is likelier on true hazards than on false ones, but not certain on either.
    on_true = sv.evidence_found[sv.surveyed & (hz.minefield >= 0)].mean()
    on_false = sv.evidence_found[sv.surveyed & hz.false].mean()
    assert 0 < on_false < on_true < 1


def test_silent_minefields_never_produce_evidence() -> None:
    w = simulate(params_for("small", minefields=200, silent_fraction=1.0), 5)
    assert w.survey.ev_direct.sum() == 0
    on_true = w.survey.evidence_found[w.survey.surveyed & (w.hazards.minefield >= 0)].mean()
    assert on_true < 0.6  # only the false-positive rate remains


def test_land_release_follows_the_flow(world: World) -> None:
    w = world
    rl, sv = w.release, w.survey
    hz_of = rl.act_hazard
    assert sv.evidence_found[hz_of].all(), "technical assets only where evidence was recorded"
    cleared = rl.act_type == "clearance"
    assert (rl.hazard_class[hz_of[cleared]] == "cha").all()
    assert (rl.act_depth_cm[cleared] >= 10).all()
    cancelled = rl.ra_kind == "cancelled"
    assert (~sv.evidence_found[rl.ra_hazard[cancelled]]).all()
    done = ~np.isnan(rl.act_devices)
    assert (np.bincount(rl.dev_activity, minlength=len(rl.act_uuid))[done] == rl.act_devices[done]).all()
    assert not np.isin(np.arange(len(rl.act_uuid))[~done], rl.dev_activity).any()
    # Devices are the true mines plus GPS noise, found once each.
    assert len(set(rl.dev_mine.tolist())) == len(rl.dev_mine)
    gps = np.hypot(rl.dev_x - w.mines.x[rl.dev_mine], rl.dev_y - w.mines.y[rl.dev_mine])
    assert gps.max() < 8 * w.params.gps_sigma_m and gps.mean() > 0


def test_clearance_finds_almost_every_mine_in_cleared_land(world: World) -> None:
    w, rl = world, world.release
    clear = np.flatnonzero((rl.act_type == "clearance") & ~np.isnat(rl.act_end))
    _p, inside = w.index.inside(rl.act_polygon[clear])
    found = np.isin(np.unique(inside), rl.dev_mine)
    assert len(found) > 100
    assert found.mean() > 0.9


def test_accidents_happen_near_true_mines(world: World) -> None:
    a = world.accidents
    _near, dist = world.index.nearest(a.ac_x, a.ac_y)
    mine_erw = a.ac_type == "mine_erw"
    assert (dist[mine_erw] <= 15.0 + 1e-6).all()
    assert set(a.cs_status[np.isin(a.cs_accident, np.flatnonzero(~mine_erw))]) <= {"deminer"}
    assert "deminer" not in set(a.cs_status[np.isin(a.cs_accident, np.flatnonzero(mine_erw))])
    counts = np.bincount(a.cs_accident, minlength=len(a.ac_uuid))
    assert counts.min() >= 1 and counts.max() <= 3


def test_truth_layers_are_complete(scenario: Scenario, world: World) -> None:
    layers = {t.name: t for t in scenario.truth}
    mine = layers["mine"]
    assert len(mine) == len(world.mines)
    assert (mine.fields["fate"] == "found").sum() == scenario.counts()["device"]
    hz = layers["hazard_truth"]
    assert len(hz) == scenario.counts()["hazard_area"]
    assert (hz.fields["true_mines"][hz.fields["false_hazard"]] == 0).mean() > 0.9


def test_side_files_round_trip(tmp_path: object, scenario: Scenario) -> None:
    from pathlib import Path

    path = truth_path(Path(str(tmp_path)) / "x.gpkg")
    assert path.name == "x.truth.gpkg"
    small = FileLayer("pts", "Point", None, {"v": np.array([1, 2])}, x=np.array([-72.0, -71.5]),
                      y=np.array([5.0, 5.5]))
    write_layers(path, [small, scenario.context[0]])
    back = read_layer(path, "pts")
    assert back.geometry is not None
    assert shapely.get_coordinates(back.geometry).tolist() == [[-72.0, 5.0], [-71.5, 5.5]]
    assert back.fields["v"].tolist() == [1, 2]


def test_parameters_are_checked() -> None:
    with pytest.raises(ValidationError) as exc:
        params_for("small", p_fp=1.5)
    assert exc.value.code == "scenario.bad_param"
    with pytest.raises(ValidationError) as exc:
        params_for("large")
    assert exc.value.code == "scenario.unknown_scale"
    assert isinstance(SCALES["small"], ScenarioParams)


def test_national_preset_is_sized_for_about_100k_hazards() -> None:
    p = SCALES["national"]
    hazards = p.minefields * p.hazard_fraction * (1 + p.false_hazard_ratio)
    assert 90_000 < hazards < 110_000
    small = SCALES["small"]
    assert small.minefields * small.hazard_fraction * (1 + small.false_hazard_ratio) < 300


def test_the_parameter_table_in_the_docs_is_current() -> None:
    from tests.conftest import REPO

    from safeground.scenario.params import params_markdown

    text = (REPO / "docs" / "scenario.md").read_text(encoding="utf-8")
    start, end = "<!-- generated:scenario-params -->\n", "<!-- /generated:scenario-params -->"
    table = text[text.index(start) + len(start):text.index(end)]
    assert table == params_markdown(), "regenerate the table in docs/scenario.md from params_markdown()"
