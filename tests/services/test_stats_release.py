"""Land release and contamination figures, each compared with a value computed here independently.

Areas are measured here with geopandas in each geometry's estimated UTM zone, not through SafeGround's
measuring code; dates, groups and labels are tallied from what the test itself built.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import Builder, box, utm_m2

from safeground.domain.config import Config, StatisticsConfig, parse_config
from safeground.domain.errors import ConfigError, ValidationError
from safeground.services.records import add_record, retire_record, set_review_state
from safeground.services.stats_release import DIMENSIONS, release_stats
from safeground.services.workspace import Workspace

KM2 = 1e6


@dataclass
class World:
    """What the test built, to tally the expected figures from."""

    released: list[dict[str, Any]] = field(default_factory=list)   # year, adm1, adm2, organisation, kind, m2
    submitted_released_m2: float = 0.0
    awaiting_qc_m2: float = 0.0
    remaining: dict[str, list[tuple[str, str, float]]] = field(default_factory=lambda: {"sha": [], "cha": []})
    devices: list[tuple[str, int, str | None]] = field(default_factory=list)  # category, quantity, found_date
    productivity: dict[str, dict[str, float]] = field(default_factory=dict)


def approved(ws: Workspace, layer: str, values: dict[str, Any]) -> dict[str, Any]:
    return add_record(ws, layer, values, review_state="approved")


def approve(ws: Workspace, rec: dict[str, Any], layer: str = "activity") -> None:
    set_review_state(ws, layer, rec["uuid"], "approved")


@pytest.fixture(scope="module")
def built(any_module_db: str) -> Iterator[tuple[Workspace, World]]:
    """The data is built once for the module and backend (it takes a second or two); tests only read it."""
    ws = Workspace.open(any_module_db, user="ana", create=True)
    ws.set_config(Config(country="COL"))
    yield ws, build_world(ws, Builder(ws))
    ws.close()


@pytest.fixture
def ws(built: tuple[Workspace, World]) -> Workspace:
    return built[0]


@pytest.fixture
def world(built: tuple[Workspace, World]) -> World:
    return built[1]


def build_world(ws: Workspace, build: Builder) -> World:
    w = World()
    alpha = build.organisation(name="Alpha Demining")
    beta = build.organisation(name="Beta Survey")
    t_alpha = approved(ws, "team", {"name": "A1", "organisation": alpha["uuid"], "method": "manual"})
    t_beta = approved(ws, "team", {"name": "B1", "organisation": beta["uuid"], "method": "mechanical"})

    def hazard(cls: str, geom: shapely.Geometry, adm1: str, adm2: str, name: str) -> dict[str, Any]:
        hz = approved(ws, "hazard_area", {"name": name, "hazard_class": cls, "status": "open", "geometry": geom,
                                          "admin1": adm1, "admin2": adm2})
        build.evidence(hz)
        return hz

    # 1. A CHA in Meta, west half cleared by Alpha, QC passed in 2024; the east half remains.
    g1 = box(-73.60, 3.40, 0.02, 0.01)
    west, east = box(-73.60, 3.40, 0.01, 0.01), box(-73.59, 3.40, 0.01, 0.01)
    hz1 = hazard("cha", g1, "Meta", "Vista Hermosa", "H1")
    act1 = build.clearance(hz1, alpha, devices=0, team=t_alpha["uuid"], start_date="2024-03-01",
                           end_date="2024-04-01", assets="mdd manual")
    approve(ws, act1)
    build.release(act1, hz1, "cleared", west, review_state="approved")
    build.qc(act1, day="2024-04-15")
    w.released.append({"year": 2024, "adm1": "Meta", "adm2": "Vista Hermosa", "organisation": "Alpha Demining",
                       "kind": "cleared", "m2": utm_m2(west)})
    w.remaining["cha"].append(("Meta", "Vista Hermosa", utm_m2(east)))
    w.productivity["manual+mdd"] = {"activities": 1, "team_days": 32, "area_m2": utm_m2(west)}

    # 2. An SHA in Antioquia, a strip reduced by Beta's technical survey, QC passed in 2025.
    g2 = box(-75.30, 5.80, 0.03, 0.02)
    strip = box(-75.30, 5.80, 0.03, 0.005)
    hz2 = hazard("sha", g2, "Antioquia", "Sonsón", "H2")
    ts = build.activity(hz2, "ts", organisation=beta["uuid"], team=t_beta["uuid"], assets="mechanical",
                        devices_found=0, start_date="2025-01-10", end_date="2025-01-19")
    approve(ws, ts)
    build.release(ts, hz2, "reduced", strip, review_state="approved")
    build.qc(ts, day="2025-02-01")
    w.released.append({"year": 2025, "adm1": "Antioquia", "adm2": "Sonsón", "organisation": "Beta Survey",
                       "kind": "reduced", "m2": utm_m2(strip)})
    w.remaining["sha"].append(("Antioquia", "Sonsón", utm_m2(g2.difference(strip))))
    w.productivity["mechanical"] = {"activities": 1, "team_days": 10, "area_m2": utm_m2(strip)}

    # 3. An SHA in Antioquia with no admin2, wholly cancelled by an NTS with no organisation: closed,
    #    counted from the report's approval (today).
    g3 = box(-75.10, 6.00, 0.01, 0.01)
    hz3 = approved(ws, "hazard_area", {"name": "H3", "hazard_class": "sha", "status": "open", "geometry": g3,
                                       "admin1": "Antioquia"})
    nts = build.activity(hz3, "nts", evidence_found=False, end_date="2025-06-01")
    build.release(nts, hz3, "cancelled", g3, review_state="approved")
    approve(ws, nts)
    w.released.append({"year": dt.date.today().year, "adm1": "Antioquia", "adm2": None, "organisation": None,
                       "kind": "cancelled", "m2": utm_m2(g3)})

    # 4. A CHA in Meta whose clearance awaits QC: not released, the whole hazard remains; productivity counts it.
    g4 = box(-73.70, 3.50, 0.015, 0.01)
    half4 = box(-73.70, 3.50, 0.0075, 0.01)
    hz4 = hazard("cha", g4, "Meta", "Mesetas", "H4")
    act4 = build.clearance(hz4, alpha, devices=0, team=t_alpha["uuid"], start_date="2024-05-01",
                           end_date="2024-05-10", assets="manual mdd")
    approve(ws, act4)
    build.release(act4, hz4, "cleared", half4, review_state="approved")
    w.awaiting_qc_m2 += utm_m2(half4)
    w.remaining["cha"].append(("Meta", "Mesetas", utm_m2(g4)))
    w.productivity["manual+mdd"]["activities"] += 1
    w.productivity["manual+mdd"]["team_days"] += 10
    w.productivity["manual+mdd"]["area_m2"] += utm_m2(half4)

    # 5. Submitted (not yet approved) work: a submitted hazard and reduction, counted only with submitted ones.
    g5 = box(-74.00, 4.00, 0.01, 0.01)
    p5 = box(-74.00, 4.00, 0.005, 0.01)
    hz5 = build.hazard("sha", g5, admin1="Meta", admin2="Uribe")
    build.evidence(hz5)
    ts5 = build.activity(hz5, "ts", assets="manual", devices_found=0)
    build.release(ts5, hz5, "reduced", p5)
    build.qc(ts5, day="2025-03-01")
    w.submitted_released_m2 = utm_m2(p5)

    # 6. An approved clearance with no team is left out of productivity; a retired SHA never counts.
    act6 = build.clearance(hz1, alpha, devices=0, start_date="2024-06-01", end_date="2024-06-02")
    approve(ws, act6)
    gone = approved(ws, "hazard_area", {"name": "H6", "hazard_class": "sha", "status": "open",
                                        "geometry": box(-74.50, 4.50, 0.01, 0.01), "admin1": "Meta"})
    retire_record(ws, "hazard_area", gone["uuid"], "duplicate of H1")

    # Devices: destroyed ones count by quantity (one when missing); others and submitted ones do not.
    for category, qty, day, disposal, state in [
        ("ap_mine", 3, "2024-03-10", "destroyed_in_situ", "approved"),
        ("ap_mine", None, "2025-01-12", "removed_and_destroyed", "approved"),
        ("av_mine", 2, "2025-05-05", "destroyed_in_situ", "approved"),
        ("improvised_mine", 4, None, "destroyed_in_situ", "approved"),
        ("other_erw", 5, "2024-08-01", "rendered_safe", "approved"),
        ("cluster_submunition", 7, "2024-08-01", "destroyed_in_situ", "submitted"),
    ]:
        values = {"category": category, "disposal": disposal, "geometry": g1.centroid, "found_date": day,
                  **({"quantity": qty} if qty else {})}
        add_record(ws, "device", values, review_state=state)
        if disposal != "rendered_safe" and state == "approved":
            w.devices.append((category, qty or 1, day))
    return w


def in_period(day: str | None, since: str | None, until: str | None) -> bool:
    if day is None:
        return since is None and until is None
    return (since is None or day >= since) and (until is None or day <= until)


def test_released_land_by_every_breakdown(ws: Workspace, world: World) -> None:
    for n in range(len(DIMENSIONS) + 1):
        for by in itertools.permutations(DIMENSIONS, n):
            doc = release_stats(ws, by=by)
            expected: dict[tuple[Any, ...], dict[str, float]] = defaultdict(lambda: defaultdict(float))
            for r in world.released:
                expected[tuple(r[d] for d in by)][r["kind"]] += r["m2"]
            got = {tuple(g[d] for d in by): g for g in doc["released"]["groups"]}
            assert set(got) == (set(expected) if by else set()), by
            for key, kinds in expected.items():
                if not by:
                    break
                g = got[key]
                for kind in ("cancelled", "reduced", "cleared"):
                    assert g[f"{kind}_km2"] == pytest.approx(kinds[kind] / KM2, rel=1e-3, abs=1e-6), (by, key)
                assert g["released_km2"] == pytest.approx(sum(kinds.values()) / KM2, rel=1e-3)
                assert g["polygons"] == sum(1 for r in world.released if tuple(r[d] for d in by) == key)
    total = release_stats(ws)["released"]
    assert total["total"]["polygons"] == len(world.released)
    assert total["total"]["released_km2"] == pytest.approx(sum(r["m2"] for r in world.released) / KM2, rel=1e-3)
    assert total["pending"]["awaiting_qc_km2"] == pytest.approx(world.awaiting_qc_m2 / KM2, rel=1e-3)
    assert total["missing"] == {d: sum(r[d] is None for r in world.released) for d in ("adm1", "adm2",
                                                                                        "organisation")}


@pytest.mark.parametrize(("since", "until"), [("2025-01-01", None), (None, "2024-12-31"),
                                              ("2024-04-15", "2025-02-01"), ("2024-04-16", "2025-01-31")])
def test_the_period_applies_to_the_date_that_counts(ws: Workspace, world: World, since: str | None,
                                                    until: str | None) -> None:
    doc = release_stats(ws, since=since, until=until, by=["year"])
    today = dt.date.today().isoformat()
    day = {"cleared": "2024-04-15", "reduced": "2025-02-01", "cancelled": today}
    kept = [r for r in world.released if in_period(day[r["kind"]], since, until)]
    assert doc["released"]["total"]["polygons"] == len(kept)
    assert doc["released"]["total"]["released_km2"] == pytest.approx(sum(r["m2"] for r in kept) / KM2, rel=1e-3)
    devices = [d for d in world.devices if in_period(d[2], since, until)]
    assert doc["devices_destroyed"]["total"] == sum(q for _, q, _ in devices)


def test_submitted_records_count_only_when_asked(ws: Workspace, world: World) -> None:
    official = release_stats(ws)["released"]["total"]["reduced_km2"]
    everything = release_stats(ws, include_submitted=True)
    assert everything["released"]["total"]["reduced_km2"] == pytest.approx(
        official + world.submitted_released_m2 / KM2, rel=1e-3)
    assert everything["devices_destroyed"]["by_category"]["cluster_submunition"] == 7


def test_remaining_contamination_and_labels(ws: Workspace, world: World) -> None:
    stats_cfg = StatisticsConfig(contamination_massive_km2=5.0, contamination_heavy_km2=1.5,
                                 contamination_medium_km2=1.0)
    ws.set_config(Config(country="COL", statistics=stats_cfg))
    try:
        doc = release_stats(ws)
    finally:
        ws.set_config(Config(country="COL"))
    rem = doc["remaining"]
    for cls in ("sha", "cha"):
        assert rem[f"{cls}_km2"] == pytest.approx(sum(m2 for *_, m2 in world.remaining[cls]) / KM2, rel=1e-3)
    assert rem["hazards"] == sum(len(v) for v in world.remaining.values())
    assert rem["total_km2"] == pytest.approx(rem["sha_km2"] + rem["cha_km2"], abs=1e-5)

    def label(km2: float) -> str:  # Landmine Monitor's bands, against the thresholds set above
        return "massive" if km2 > 5.0 else "heavy" if km2 >= 1.5 else "medium" if km2 >= 1.0 else "light"

    by_adm1: dict[str, float] = defaultdict(float)
    by_adm2: dict[tuple[str, str], float] = defaultdict(float)
    for adm1, adm2, m2 in itertools.chain(*world.remaining.values()):
        by_adm1[adm1] += m2 / KM2
        by_adm2[(adm1, adm2)] += m2 / KM2
    labels = doc["contamination_labels"]
    assert labels["thresholds_km2"] == {"massive": 5.0, "heavy": 1.5, "medium": 1.0}
    assert {a["adm1"]: a["label"] for a in labels["adm1"]} == {k: label(v) for k, v in by_adm1.items()}
    assert {(a["adm1"], a["adm2"]): a["label"] for a in labels["adm2"]} == {k: label(v) for k, v in by_adm2.items()}
    assert len({a["label"] for a in labels["adm2"]}) == 3, "the data exercises more than one band"
    assert labels["national"]["label"] == label(sum(by_adm1.values()))
    assert [a["remaining_km2"] for a in labels["adm1"]] == sorted((a["remaining_km2"] for a in labels["adm1"]),
                                                                  reverse=True)


def test_devices_destroyed_by_category(ws: Workspace, world: World) -> None:
    d = release_stats(ws)["devices_destroyed"]
    expected: dict[str, int] = defaultdict(int)
    for category, qty, _ in world.devices:
        expected[category] += qty
    assert {c: n for c, n in d["by_category"].items() if n} == dict(expected)
    assert d["total"] == sum(expected.values())
    assert d["undated"] == sum(q for _, q, day in world.devices if day is None)


def test_productivity_in_m2_per_team_day_by_method(ws: Workspace, world: World) -> None:
    p = release_stats(ws)["productivity"]
    assert set(p["by_method"]) == set(world.productivity)
    for method, exp in world.productivity.items():
        got = p["by_method"][method]
        assert got["activities"] == exp["activities"]
        assert got["team_days"] == exp["team_days"]
        assert got["area_m2"] == pytest.approx(exp["area_m2"], rel=1e-3)
        assert got["m2_per_team_day"] == pytest.approx(exp["area_m2"] / exp["team_days"], rel=1e-3)
    assert p["excluded"]["no_team"] == 1


def test_thresholds_must_rise() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"statistics": {"contamination_heavy_km2": 200}})
    assert err.value.code == "config.invalid"
    assert parse_config({}).statistics.contamination_massive_km2 == 100.0


@settings(max_examples=25, deadline=None)
@given(since=st.one_of(st.none(), st.dates(dt.date(2023, 1, 1), dt.date(2027, 1, 1))),
       until=st.one_of(st.none(), st.dates(dt.date(2023, 1, 1), dt.date(2027, 1, 1))))
def test_any_period_keeps_exactly_the_land_released_in_it(built: tuple[Workspace, World], since: dt.date | None,
                                                          until: dt.date | None) -> None:
    ws, world = built
    s, u = (since.isoformat() if since else None), (until.isoformat() if until else None)
    doc = release_stats(ws, since=s, until=u, by=["year", "adm1"])
    day = {"cleared": "2024-04-15", "reduced": "2025-02-01", "cancelled": dt.date.today().isoformat()}
    kept = [r for r in world.released if in_period(day[r["kind"]], s, u)]
    total = doc["released"]["total"]
    assert total["polygons"] == len(kept) == sum(g["polygons"] for g in doc["released"]["groups"])
    assert total["released_km2"] == pytest.approx(sum(g["released_km2"] for g in doc["released"]["groups"]),
                                                  abs=1e-5)
    assert total["released_km2"] == pytest.approx(total["cancelled_km2"] + total["reduced_km2"]
                                                  + total["cleared_km2"], abs=1e-5)


def test_unknown_breakdown_is_refused_and_repeats_are_dropped(ws: Workspace, world: World) -> None:
    with pytest.raises(ValidationError) as err:
        release_stats(ws, by=["year", "casualty"])
    assert err.value.code == "stats.unknown_breakdown" and err.value.hint
    assert release_stats(ws, by=["year", "year"])["by"] == ["year"]
