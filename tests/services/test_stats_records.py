"""`stats records`: how far handed-over minefield records held, checked against figures computed here."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
import pyproj
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tests.conftest import HAZARD_BOX, WEST_HALF, Builder

from safeground.cli import main
from safeground.domain.config import Config
from safeground.services.minefields import match_minefield_records
from safeground.services.records import add_record, retire_record, set_review_state
from safeground.services.stats_records import record_accuracy
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

# A second field 11 km north of the first, worked by its own clearance.
NORTH_BOX = shapely.box(-72.50, 5.10, -72.49, 5.11)
NORTH_FIELD = shapely.box(-72.498, 5.102, -72.492, 5.108)
FAR_BOX = shapely.box(-72.30, 5.30, -72.29, 5.31)  # nobody has worked it
SCHEMA = json.loads(resources.files("safeground").joinpath("data/schemas/stats_records.schema.json").read_text())
UTM = pyproj.Transformer.from_crs(4326, 32618, always_xy=True).transform  # this test's own projection


def offset_m(record: shapely.Geometry, x: float, y: float) -> float:
    """Distance in metres from a find to the recorded perimeter, 0 inside: computed here, not by SafeGround."""
    def local(g: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(g, lambda xs, ys: UTM(xs, ys), interleaved=False)

    return float(local(record).distance(local(shapely.Point(x, y))))


@dataclass
class Find:
    record: str  # the ref of the record it belongs to
    offset: float
    qty: int
    counts: bool  # official and current


def _approve(ws: Workspace, layer: str, rec: dict[str, Any]) -> dict[str, Any]:
    return set_review_state(ws, layer, rec["uuid"], "approved")


def _worked(build: Builder, box: shapely.Geometry, org: dict[str, Any], *, approve: bool = True) -> dict[str, Any]:
    hazard = build.hazard(geometry=box)
    build.evidence(hazard)
    act = build.clearance(hazard, org, devices=0, geometry=box)
    return _approve(build.ws, "activity", act) if approve else act


def _device(ws: Workspace, x: float, y: float, qty: int = 1, *, approve: bool = True) -> dict[str, Any]:
    dev = add_record(ws, "device", {"category": "ap_mine", "quantity": qty, "found_date": "2024-03-20",
                                    "geometry": shapely.Point(x, y)})
    return _approve(ws, "device", dev) if approve else dev


@pytest.fixture
def world(ws: Workspace, build: Builder) -> dict[str, Any]:
    """Records of every grade, checked and not, with finds inside, outside, unapproved and retired."""
    org = build.organisation()
    rec = {}
    for ref, grade, count, geom, official in [("west", "a", 4, WEST_HALF, True), ("north", "c", 10, NORTH_FIELD, True),
                                              ("far", "b", 6, FAR_BOX, True), ("nocount", "a", None, WEST_HALF, True),
                                              ("draft", "d", 3, WEST_HALF, False)]:
        values = {"name": ref, "reliability": grade, "mine_count": count, "laid_date": "1998-05-01",
                  "geometry": geom}
        r = add_record(ws, "minefield_record", values)
        rec[ref] = _approve(ws, "minefield_record", r) if official else r
    _worked(build, HAZARD_BOX, org)
    _worked(build, NORTH_BOX, org)
    pending = _worked(build, FAR_BOX, org, approve=False)  # a clearance report not yet approved
    finds: list[Find] = []

    def put(x: float, y: float, qty: int = 1, *, approve: bool = True, retire: bool = False) -> None:
        dev = _device(ws, x, y, qty, approve=approve)
        if retire:
            retire_record(ws, "device", dev["uuid"], "entered twice")
        for name in ("west", "north", "far", "nocount"):
            off = offset_m(rec[name]["geometry"], x, y)
            if off <= 500:
                finds.append(Find(name, off, qty, approve and not retire))

    put(-72.4975, 5.005, 2)  # a pair inside the west field
    put(-72.4990, 5.008)
    put(-72.4940, 5.005)  # ~111 m east of the west field
    put(-72.4960, 5.002, approve=False)  # inside, but the report is not approved
    put(-72.4985, 5.003, retire=True)  # inside, but retired as a double entry
    put(-72.4950, 5.105, 3)  # north field
    put(-72.4900, 5.105)  # ~222 m east of the north field
    put(-72.4950, 5.1095)  # ~166 m north of it
    put(-72.2950, 5.305, approve=False)  # in the far field, reported by the pending clearance
    return {"rec": rec, "finds": finds, "pending": pending}


def _expected(finds: list[Find], rec: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Summary figures over ``names``, from this test's own list of finds."""
    mine = [f for f in finds if f.record in names and f.counts]
    dist = [f.offset for f in mine for _ in range(f.qty)]
    inside = sum(f.qty for f in mine if f.offset == 0)
    with_count = [n for n in names if rec[n]["mine_count"]]
    inside_counted = sum(f.qty for f in mine if f.offset == 0 and f.record in with_count)
    recorded = sum(rec[n]["mine_count"] for n in with_count)
    return {"found_inside": inside, "found_outside": len(dist) - inside, "mines_recorded": recorded,
            "found_share": inside_counted / recorded if recorded else None,
            "outside_share": (len(dist) - inside) / len(dist) if dist else None,
            "mean_offset_m": statistics.mean(dist) if dist else None,
            "median_offset_m": statistics.median(dist) if dist else None}


def _close(got: dict[str, Any], want: dict[str, Any]) -> None:
    for key, value in want.items():
        if value is None or isinstance(value, int):
            assert got[key] == value, key
        else:
            assert got[key] == pytest.approx(value, abs=1.0 if key.endswith("_m") else 1e-3), key


def test_each_checked_record_reports_share_found_finds_outside_and_mean_offset(ws: Workspace, world: dict) -> None:
    doc = record_accuracy(ws)
    rec, finds = world["rec"], world["finds"]
    by_name = {r["name"]: r for r in doc["records"]}
    assert set(by_name) == {"west", "north", "nocount"}  # the far field's clearance is not approved yet
    for name, row in by_name.items():
        want = _expected(finds, rec, [name])
        _close(row, {k: want[k] for k in ("found_inside", "found_outside", "outside_share", "mean_offset_m")})
        assert row["found_share"] == (pytest.approx(want["found_inside"] / rec[name]["mine_count"], abs=1e-4)
                                      if rec[name]["mine_count"] else None)
        assert row["reliability"] == rec[name]["reliability"] and row["worked_share"] > 0
    # The west field: 3 of 4 recorded mines found; the unapproved and the retired find do not count.
    assert (by_name["west"]["found_inside"], by_name["west"]["found_outside"]) == (3, 1)
    assert by_name["west"]["max_offset_m"] == pytest.approx(max(f.offset for f in finds if f.record == "west"), abs=1)
    jsonschema.validate(doc, SCHEMA)


def test_records_not_yet_worked_are_listed_as_not_checked_not_as_zero(ws: Workspace, world: dict) -> None:
    doc = record_accuracy(ws)
    assert [r["name"] for r in doc["not_yet_checked"]] == ["far"]
    assert "far" not in {r["name"] for r in doc["records"]}
    assert doc["summary"]["records_not_checked"] == 1 and doc["summary"]["by_reliability"]["b"]["records_checked"] == 0
    assert doc["summary"]["by_reliability"]["b"]["found_share"] is None  # not 0 %
    assert "draft" not in {r["name"] for r in doc["records"] + doc["not_yet_checked"]}  # not approved


def test_summary_overall_and_by_grade_match_figures_computed_independently(ws: Workspace, world: dict) -> None:
    doc = record_accuracy(ws)
    rec, finds = world["rec"], world["finds"]
    checked = ["west", "north", "nocount"]
    _close(doc["summary"], _expected(finds, rec, checked))
    assert doc["summary"]["records_checked"] == 3 and doc["summary"]["records_without_count"] == 1
    for grade in ("a", "b", "c", "d"):
        names = [n for n in checked if rec[n]["reliability"] == grade]
        _close(doc["summary"]["by_reliability"][grade], _expected(finds, rec, names))
        assert doc["summary"]["by_reliability"][grade]["records_checked"] == len(names)


def test_include_submitted_counts_the_pending_clearance_record_and_finds(ws: Workspace, world: dict) -> None:
    doc = record_accuracy(ws, include_submitted=True)
    finds = world["finds"]
    by_name = {r["name"]: r for r in doc["records"]}
    assert set(by_name) == {"west", "north", "nocount", "far", "draft"} and not doc["not_yet_checked"]
    west_inside = sum(f.qty for f in finds if f.record == "west" and f.offset == 0) - 1  # less the retired one
    assert by_name["west"]["found_inside"] == west_inside == 4
    assert by_name["far"]["found_inside"] == 1 and by_name["far"]["found_share"] == pytest.approx(1 / 6, abs=1e-4)
    assert doc["review_states"] == ["submitted", "approved", "published"] and not doc["official_only"]
    jsonschema.validate(doc, SCHEMA)


def test_stored_matches_are_reused_while_current_and_recomputed_after_a_change(ws: Workspace, world: dict) -> None:
    assert record_accuracy(ws)["rematched"]  # nothing stored yet
    assert not record_accuracy(ws)["rematched"]
    assert record_accuracy(ws, search_m=100)["rematched"]  # another distance
    after = record_accuracy(ws, search_m=100)
    assert not after["rematched"] and after["search_m"] == 100
    west = next(r for r in after["records"] if r["name"] == "west")
    assert west["found_outside"] == 0  # the find 111 m out is beyond 100 m
    _device(ws, -72.4970, 5.004)  # a late find inside the west field
    doc = record_accuracy(ws, search_m=100)
    assert doc["rematched"] and next(r for r in doc["records"] if r["name"] == "west")["found_inside"] == 4
    assert record_accuracy(ws, search_m=100, rematch=True)["rematched"]


def test_matches_made_by_minefields_match_are_used(ws: Workspace, world: dict) -> None:
    match_minefield_records(ws, search_m=250)
    doc = record_accuracy(ws, search_m=250)
    assert not doc["rematched"]
    _close(doc["summary"], _expected([f for f in world["finds"] if f.offset <= 250], world["rec"],
                                     ["west", "north", "nocount"]))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(-72.5060, -72.4890), st.floats(4.9940, 5.0160), st.integers(1, 5)),
                min_size=1, max_size=6))
def test_every_find_within_the_distance_is_counted_once_inside_or_outside(
        tmp_path_factory: pytest.TempPathFactory, points: list[tuple[float, float, int]]) -> None:
    db = tmp_path_factory.mktemp("prop") / "p.gpkg"
    ws = Workspace.open(db, user="ana", create=True)
    try:
        ws.set_config(Config(country="COL"))
        build = Builder(ws)
        record = _approve(ws, "minefield_record", add_record(ws, "minefield_record", {
            "reliability": "b", "mine_count": 5, "geometry": WEST_HALF}))
        _worked(build, HAZARD_BOX, build.organisation())
        offsets = []
        for x, y, qty in points:
            off = offset_m(record["geometry"], x, y)
            assume(off == 0 or (off > 1 and abs(off - 300) > 2))  # no find on a boundary
            _device(ws, x, y, qty)
            offsets += [off] * qty
        [row] = record_accuracy(ws, search_m=300)["records"]
    finally:
        ws.close()
    assert row["found_inside"] == sum(1 for o in offsets if o == 0)
    assert row["found_inside"] + row["found_outside"] == sum(1 for o in offsets if o <= 300)
    assert row["found_share"] == pytest.approx(row["found_inside"] / 5, abs=1e-4)
    within = [o for o in offsets if o <= 300]
    assert row["mean_offset_m"] == (pytest.approx(statistics.mean(within), abs=1.0) if within else None)


def test_cli_prints_a_table_and_schema_valid_json(ws: Workspace, world: dict) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["stats", "records", "--db", ws.store.location])
    assert out.exit_code == 0, out.output
    assert "Not yet checked" in out.output and world["rec"]["far"]["ref"] in out.output
    assert world["rec"]["west"]["ref"] in out.output
    out = runner.invoke(main, ["stats", "records", "--db", ws.store.location, "--distance", "200", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    jsonschema.validate(doc, SCHEMA)
    assert doc["search_m"] == 200 and doc["official_only"]
    out = runner.invoke(main, ["stats", "--include-submitted", "records", "--db", ws.store.location, "--format",
                               "json"])
    assert not json.loads(out.output)["official_only"]
    out = runner.invoke(main, ["stats", "records", "--db", ws.store.location, "--distance", "-5"])
    assert out.exit_code != 0
