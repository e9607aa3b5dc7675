"""Every land-release rule (DESIGN.md, IMAS 07.11, 08.10, 08.20, 09.10, 09.11): what it refuses and accepts."""

from __future__ import annotations

import pytest
import shapely
from tests.conftest import EAST_HALF, HAZARD_BOX, WEST_HALF, Builder

from safeground.domain.errors import ReleaseRuleError, SafeGroundError, TransitionError
from safeground.geo.measure import area_m2
from safeground.services.records import set_review_state, update_record
from safeground.services.stats import summary
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws


class refused:
    """Expect a :class:`SafeGroundError` with exactly this code, and a hint."""

    def __init__(self, code: str) -> None:
        self.code = code
        self._ctx = pytest.raises(SafeGroundError)

    def __enter__(self) -> None:
        self._ctx.__enter__()

    def __exit__(self, *exc: object) -> bool:
        handled = self._ctx.__exit__(*exc)  # type: ignore[arg-type]
        assert self._ctx.excinfo is not None
        err = self._ctx.excinfo.value
        assert err.code == self.code, err.one_line()
        assert err.hint, "every refusal carries a hint"
        return bool(handled)


# --- cancellation only through NTS ------------------------------------------------------------------
def test_cancellation_through_nts_counts_from_report_approval(ws, build: Builder) -> None:
    hz = build.hazard("sha")
    nts = build.activity(hz, "nts", evidence_found=False, end_date="2024-05-01")
    area = build.release(nts, hz, "cancelled", HAZARD_BOX)
    assert area["release_status"] == "awaiting_approval"
    assert area["released_on"] is None
    assert ws.store.get("hazard_area", hz["uuid"])["remaining_area_m2"] == pytest.approx(hz["area_m2"])

    set_review_state(ws, "activity", nts["uuid"], "approved")
    area = ws.store.get("released_area", area["uuid"])
    approved_on = ws.store.get("activity", nts["uuid"])["report_approved_on"]
    assert approved_on is not None
    assert (area["release_status"], area["released_on"]) == ("released", approved_on)
    hazard = ws.store.get("hazard_area", hz["uuid"])
    assert hazard["remaining_area_m2"] == pytest.approx(0.0, abs=1.0)
    assert hazard["status"] == "closed"


@pytest.mark.parametrize("activity_type", ["ts", "clearance", "eod_spot_task", "completion"])
def test_cancellation_refused_through_anything_but_nts(ws, build: Builder, activity_type: str) -> None:
    hz = build.hazard("cha")
    build.evidence(hz)
    act = build.activity(hz, activity_type, assets="manual", devices_found=0, depth_cm=13)
    with refused("release.cancellation_requires_nts"):
        build.release(act, hz, "cancelled")


def test_cancellation_refused_when_nts_found_evidence(ws, build: Builder) -> None:
    hz = build.hazard("sha")
    nts = build.activity(hz, "nts", evidence_found=True)
    with refused("release.cancellation_requires_no_evidence"):
        build.release(nts, hz, "cancelled")


# --- reduction only through TS, with assets and finds -------------------------------------------------
def test_reduction_through_ts_with_assets_and_finds_is_accepted(ws, build: Builder) -> None:
    hz = build.hazard("sha")
    build.evidence(hz, "indirect")
    ts = build.activity(hz, "ts", assets="mechanical", devices_found=2)
    build.devices(ts, hz, 2)
    area = build.release(ts, hz, "reduced", EAST_HALF)
    assert area["release_status"] == "awaiting_qc"
    build.qc(ts, day="2024-06-30")
    area = ws.store.get("released_area", area["uuid"])
    assert (area["release_status"], area["released_on"]) == ("released", "2024-06-30")


@pytest.mark.parametrize("activity_type", ["nts", "clearance"])
def test_reduction_refused_through_anything_but_ts(ws, build: Builder, activity_type: str) -> None:
    hz = build.hazard("cha")
    build.evidence(hz)
    act = build.activity(hz, activity_type, assets="manual", devices_found=0, depth_cm=13, evidence_found=False)
    with refused("release.reduction_requires_ts"):
        build.release(act, hz, "reduced")


def test_reduction_refused_without_assets(ws, build: Builder) -> None:
    hz = build.hazard("sha")
    build.evidence(hz)
    ts = build.activity(hz, "ts", devices_found=0)
    with refused("release.reduction_requires_assets"):
        build.release(ts, hz, "reduced")


def test_reduction_refused_without_finds_recorded(ws, build: Builder) -> None:
    hz = build.hazard("sha")
    build.evidence(hz)
    ts = build.activity(hz, "ts", assets="manual")
    with refused("release.reduction_requires_finds"):
        build.release(ts, hz, "reduced")


def test_reduction_refused_when_finds_have_no_location(ws, build: Builder) -> None:
    hz = build.hazard("sha")
    build.evidence(hz)
    ts = build.activity(hz, "ts", assets="manual", devices_found=3)
    build.devices(ts, hz, 1)
    with refused("release.finds_without_location"):
        build.release(ts, hz, "reduced")


# --- clearance: depth, parent CHA, accredited organisation, passed QC ---------------------------------
def test_clearance_awaits_qc_and_does_not_count_until_it_passes(ws, build: Builder) -> None:
    org = build.organisation()
    hz = build.hazard("cha")
    build.evidence(hz)
    act = build.clearance(hz, org, devices=2)
    set_review_state(ws, "activity", act["uuid"], "approved")
    area = build.release(act, hz, "cleared", WEST_HALF, review_state="approved")
    assert area["release_status"] == "awaiting_qc"
    hazard = ws.store.get("hazard_area", hz["uuid"])
    assert hazard["remaining_area_m2"] == pytest.approx(hz["area_m2"]), "awaiting QC must not reduce the area"
    assert hazard["status"] == "worked_on"
    assert summary(ws)["land_release"]["cleared_km2"] == 0.0
    assert summary(ws)["land_release"]["awaiting_qc_km2"] > 0

    build.qc(act, result="fail", day="2024-04-10")
    assert ws.store.get("released_area", area["uuid"])["release_status"] == "awaiting_qc"

    build.qc(act, result="pass", day="2024-04-20")
    area = ws.store.get("released_area", area["uuid"])
    assert (area["release_status"], area["released_on"]) == ("released", "2024-04-20")
    hazard = ws.store.get("hazard_area", hz["uuid"])
    assert hazard["remaining_area_m2"] == pytest.approx(area_m2(EAST_HALF), rel=1e-3)
    assert summary(ws)["land_release"]["cleared_km2"] == pytest.approx(area["area_m2"] / 1e6, abs=1e-4)


def test_clearance_refused_without_depth(ws, build: Builder) -> None:
    org, hz = build.organisation(), build.hazard("cha")
    build.evidence(hz)
    act = build.clearance(hz, org, depth_cm=None)
    with refused("release.clearance_requires_depth"):
        build.release(act, hz, "cleared")


def test_clearance_refused_below_national_depth_standard(ws, build: Builder) -> None:
    org, hz = build.organisation(), build.hazard("cha")
    build.evidence(hz)
    act = build.clearance(hz, org, depth_cm=5)
    with refused("release.clearance_depth_below_standard"):
        build.release(act, hz, "cleared")


def test_clearance_refused_without_parent_cha(ws, build: Builder) -> None:
    org, hz = build.organisation(), build.hazard("sha")
    build.evidence(hz)
    act = build.clearance(hz, org)
    with refused("release.clearance_requires_cha"):
        build.release(act, hz, "cleared")


def test_clearance_refused_without_organisation(ws, build: Builder) -> None:
    hz = build.hazard("cha")
    build.evidence(hz)
    act = build.activity(hz, "clearance", depth_cm=13, assets="manual", devices_found=0, start_date="2024-03-01")
    with refused("release.clearance_requires_organisation"):
        build.release(act, hz, "cleared")


@pytest.mark.parametrize("accreditation", [{"accredited_from": None}, {"accredited_until": "2023-12-31"},
                                           {"accredited_from": "2025-01-01"}])
def test_clearance_refused_by_unaccredited_organisation(ws, build: Builder, accreditation: dict) -> None:
    org, hz = build.organisation(**accreditation), build.hazard("cha")
    build.evidence(hz)
    act = build.clearance(hz, org)
    with refused("release.clearance_requires_accreditation"):
        build.release(act, hz, "cleared")


def test_released_polygon_must_overlap_its_hazard(ws, build: Builder) -> None:
    org, hz = build.organisation(), build.hazard("cha")
    build.evidence(hz)
    act = build.clearance(hz, org)
    with refused("release.outside_hazard"):
        build.release(act, hz, "cleared", shapely.box(-72.40, 5.00, -72.39, 5.01))


# --- no technical asset without recorded evidence ------------------------------------------------------
@pytest.mark.parametrize("activity_type", ["ts", "clearance", "bac"])
def test_technical_assets_refused_without_evidence(ws, build: Builder, activity_type: str) -> None:
    hz = build.hazard("cha")
    with refused("release.assets_require_evidence"):
        build.activity(hz, activity_type, assets="manual")
    build.evidence(hz)
    assert build.activity(hz, activity_type, assets="manual")["activity_type"] == activity_type


def test_nts_needs_no_prior_evidence(ws, build: Builder) -> None:
    hz = build.hazard("sha")
    assert build.activity(hz, "nts")["ref"].startswith("AC-")


# --- remaining area = polygon minus released polygons ----------------------------------------------------
def test_remaining_area_is_polygon_minus_released_and_cannot_be_typed(ws, build: Builder) -> None:
    org, hz = build.organisation(), build.hazard("cha")
    build.evidence(hz)
    act = build.clearance(hz, org)
    build.qc(act)
    build.release(act, hz, "cleared", WEST_HALF)
    hazard = ws.store.get("hazard_area", hz["uuid"])
    expected = area_m2(shapely.difference(HAZARD_BOX, WEST_HALF))
    assert hazard["remaining_area_m2"] == pytest.approx(expected, rel=1e-3)
    with refused("record.managed_field"):
        update_record(ws, "hazard_area", hz["uuid"], {"remaining_area_m2": 0})


def test_retiring_released_land_restores_remaining_area(ws, build: Builder) -> None:
    from safeground.services.records import retire_record

    org, hz = build.organisation(), build.hazard("cha")
    build.evidence(hz)
    act = build.clearance(hz, org)
    build.qc(act)
    area = build.release(act, hz, "cleared", WEST_HALF)
    retire_record(ws, "released_area", area["uuid"], "entered against the wrong hazard")
    assert ws.store.get("hazard_area", hz["uuid"])["remaining_area_m2"] == pytest.approx(hz["area_m2"])


# --- status transitions through the use case -------------------------------------------------------------
def test_hazard_status_transition_refused_with_rule_name(ws, build: Builder) -> None:
    hz = build.hazard("sha")
    update_record(ws, "hazard_area", hz["uuid"], {"status": "worked_on"})
    with pytest.raises(TransitionError) as info:
        update_record(ws, "hazard_area", hz["uuid"], {"status": "handed_over"})
    assert info.value.code == "transition.hazard_status"


def test_cha_cannot_be_downgraded_to_sha(ws, build: Builder) -> None:
    hz = build.hazard("cha")
    with pytest.raises(TransitionError) as info:
        update_record(ws, "hazard_area", hz["uuid"], {"hazard_class": "sha"})
    assert info.value.code == "transition.hazard_class"


def test_rule_refusal_leaves_nothing_written(ws, build: Builder) -> None:
    hz = build.hazard("sha")
    nts = build.activity(hz, "nts", evidence_found=True)
    before = ws.store.count("released_area"), list(ws.store.changes_since(0))
    with pytest.raises(ReleaseRuleError):
        build.release(nts, hz, "cancelled")
    assert (ws.store.count("released_area"), list(ws.store.changes_since(0))) == before


def test_hazard_cannot_be_closed_while_cleared_land_awaits_qc(ws, build: Builder) -> None:
    org, hz = build.organisation(), build.hazard("cha")
    build.evidence(hz)
    act = build.clearance(hz, org)
    build.release(act, hz, "cleared", HAZARD_BOX)
    with refused("release.clearance_requires_qc"):
        update_record(ws, "hazard_area", hz["uuid"], {"status": "closed"})
    build.qc(act)
    assert ws.store.get("hazard_area", hz["uuid"])["status"] == "closed"


def test_hazard_cannot_be_closed_with_land_left(ws, build: Builder) -> None:
    hz = build.hazard("sha")
    with refused("release.remaining_area_not_released"):
        update_record(ws, "hazard_area", hz["uuid"], {"status": "closed"})


def test_released_area_counts_only_the_part_inside_the_hazard(ws, build: Builder) -> None:
    org, hz = build.organisation(), build.hazard("cha")
    build.evidence(hz)
    act = build.clearance(hz, org)
    spilling = shapely.box(-72.495, 4.995, -72.485, 5.015)  # the east half of the hazard and land beyond it
    area = build.release(act, hz, "cleared", spilling)
    assert area["area_m2"] == pytest.approx(area_m2(EAST_HALF), rel=1e-3)
    inside = build.release(act, hz, "cleared", WEST_HALF)
    assert inside["area_m2"] == pytest.approx(area_m2(WEST_HALF), rel=1e-6)
