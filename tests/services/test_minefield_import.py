"""Minefield records and hazard perimeters as deminers write them: DMS, MGRS, bearings and distances."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
import yaml
from tests.conftest import REPO, refused_unchanged

from safeground.domain.errors import SafeGroundError
from safeground.geo.measure import areas_m2
from safeground.io.mapping import load_mapping
from safeground.services.mapped_import import import_csv
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

RECORDS = REPO / "tests" / "data" / "minefield_records.csv"


def test_handed_over_records_import_with_their_perimeters_and_reliability(ws: Workspace) -> None:
    report = import_csv(ws, RECORDS, "minefield_records")
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (3, 2, 1)
    assert report.perimeters == 2 and 1.0 < report.max_misclosure_m < 1.2  # MF-002 misses by 1.1 m
    mf1, mf2 = sorted(ws.store.query("minefield_record"), key=lambda r: r["name"])
    assert (mf1["reliability"], mf1["mine_count"], mf1["rows"], mf1["pattern"]) == ("b", 40, 2, "rows")
    assert (mf2["reliability"], mf2["pattern"], mf2["laid_date"]) == ("c", "rows", "1998-04-02")
    assert mf1["review_state"] == "submitted"  # a former party's record is graded before approval
    # 100 m x 100 m walked from the reference point, which is kept as the record's reference point.
    assert areas_m2([mf1["geometry"]])[0] == pytest.approx(10_000, rel=1e-3)
    first_corner = shapely.get_coordinates(mf1["geometry"])[0]
    assert tuple(first_corner) == pytest.approx((mf1["reference_lon"], mf1["reference_lat"]))
    [q] = ws.store.quarantined()
    assert q["raw"]["record_no"] == "MF-003" and "18O/50" in q["reason"]


def test_a_perimeter_that_fails_to_close_fails_the_file_and_changes_nothing(ws: Workspace, db_path: Path,
                                                                           tmp_path: Path) -> None:
    lines = RECORDS.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("270/81", "270/95")  # a misread distance: 15 m open
    broken = tmp_path / "records.csv"
    broken.write_text("\n".join(lines), encoding="utf-8")
    err = refused_unchanged(ws, db_path, lambda w: import_csv(w, broken, "minefield_records"))
    assert err.code == "geometry.perimeter_not_closed" and err.message.startswith("Row 2:")
    assert "15.0 m" in err.message and err.hint


def _mapping(tmp_path: Path, geometry: dict[str, object], **extra: object) -> Path:
    doc = {"name": "survey", "route": {"default": "device"}, "geometry": geometry,
           "layers": {"device": {"fields": {"category": "category"}}}, **extra}
    path = tmp_path / "survey.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_points_in_mgrs_and_dms_become_the_same_place(ws: Workspace, tmp_path: Path) -> None:
    csv = tmp_path / "finds.csv"
    csv.write_text("category,mgrs,lat,lon\n"
                   "ap_mine,18N VL 05964 09047,4°36'17.67\"N,75°50'51.94\"W\n"
                   "ap_mine,18NVL0596409047,N 4 36 17.67,W 75 50 51.94\n"
                   "ap_mine,not a grid ref,4°36'N,75°50'W\n", encoding="utf-8")
    by_mgrs = import_csv(ws, csv, load_mapping(_mapping(tmp_path, {"mgrs": "mgrs"})))
    assert (by_mgrs.rows_stored, by_mgrs.rows_quarantined) == (2, 1)
    [bad] = ws.store.quarantined(import_run=by_mgrs.import_run)
    assert bad["code"] == "mapping.row" and "not an MGRS grid reference" in bad["reason"]
    same = csv.rename(tmp_path / "finds_dms.csv")  # another file: the same name would update the first records
    by_dms = import_csv(ws, same, load_mapping(_mapping(tmp_path, {"x": "lon", "y": "lat", "format": "dms"})))
    assert by_dms.rows_stored == 3
    mgrs_pts = [r["geometry"] for r in ws.store.query("device", where={"import_run": by_mgrs.import_run})]
    dms_pts = [r["geometry"] for r in ws.store.query("device", where={"import_run": by_dms.import_run})]
    for a in mgrs_pts:  # MGRS at 1 m precision and DMS at 0.01" agree to about a metre
        assert min(a.distance(b) for b in dms_pts) < 2e-5


@pytest.mark.parametrize(("geometry", "extra", "fragment"), [
    ({"x": "lon", "wkt": "wkt"}, {}, "exactly one of"),
    ({"mgrs": "grid"}, {"crs": 3116}, "WGS84 by definition"),
    ({"perimeter": {"reference_bearing": "b", "reference_distance": "d", "legs": "l"}}, {}, "benchmark"),
])
def test_contradictory_coordinate_settings_are_refused(tmp_path: Path, geometry: dict[str, object],
                                                       extra: dict[str, object], fragment: str) -> None:
    with pytest.raises(SafeGroundError) as info:
        load_mapping(_mapping(tmp_path, geometry, **extra))
    assert info.value.code == "mapping.invalid" and fragment in info.value.message
