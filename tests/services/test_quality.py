"""``safeground check``: each check finds what it should, names the record and says what to do."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import shapely
from tests.conftest import HAZARD_BOX, Builder

from safeground.services.quality import run_checks
from safeground.services.records import add_record
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

TODAY = dt.date(2026, 11, 28)


def by_check(ws: Workspace) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in run_checks(ws, today=TODAY):
        out.setdefault(f.check, []).append(f)
        assert f.problem and f.action
    return out


def test_a_clean_database_has_no_findings(ws: Workspace, build: Builder) -> None:
    hz = build.hazard("cha")
    build.evidence(hz)
    assert run_checks(ws, today=TODAY) == []


def test_future_and_out_of_order_dates(ws: Workspace, build: Builder) -> None:
    hz = build.hazard("sha", reported_date="2027-01-05")
    acc = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2020-05-01",
                                      "info_date": "2019-01-01", "geometry": HAZARD_BOX.centroid})
    act = build.activity(hz, "nts", start_date="2024-05-01", end_date="2024-04-01")
    found = by_check(ws)
    assert [f.ref for f in found["future_date"]] == [hz["ref"], hz["ref"]]  # reported date and info date
    assert {f.ref for f in found["date_order"]} == {acc["ref"], act["ref"]}


def test_overlapping_hazards_are_flagged_as_probable_duplicates(ws: Workspace, build: Builder) -> None:
    a = build.hazard("sha")
    b = build.hazard("sha", geometry=shapely.box(-72.499, 5.0, -72.489, 5.01))  # 90 % overlap
    c = build.hazard("sha", geometry=shapely.box(-72.40, 5.0, -72.39, 5.01))
    found = by_check(ws)["duplicate_hazard"]
    refs = {f.ref for f in found}
    assert b["ref"] in refs and c["ref"] not in refs
    assert any(a["ref"] in f.problem for f in found) and "retire" in found[0].action


def test_devices_outside_any_hazard_or_activity(ws: Workspace, build: Builder) -> None:
    hz = build.hazard("cha")
    inside = add_record(ws, "device", {"category": "ap_mine", "geometry": hz["geometry"].centroid})
    outside = add_record(ws, "device", {"category": "ap_mine", "geometry": shapely.Point(-72.3, 5.2)})
    found = by_check(ws)["device_outside_work"]
    assert [f.ref for f in found] == [outside["ref"]]
    assert inside["ref"] != outside["ref"]


def test_polygons_broken_outside_safeground_are_reported(ws: Workspace, build: Builder) -> None:
    good, bad = build.hazard("sha"), build.hazard("sha", geometry=shapely.box(-72.40, 5.0, -72.39, 5.01))
    bowtie = shapely.MultiPolygon([shapely.Polygon([(-72.4, 5.0), (-72.39, 5.01), (-72.39, 5.0), (-72.4, 5.01)])])
    gis_edit(ws.store.location, "hazard_area", bad["uuid"], bowtie)
    found = by_check(ws)["invalid_polygon"]
    assert [f.ref for f in found] == [bad["ref"]] and "Self-intersection" in found[0].problem
    assert good["ref"] != bad["ref"]


def gis_edit(db: str, layer: str, uuid: str, geometry: shapely.Geometry) -> None:
    """Change a geometry as a QGIS user would, bypassing SafeGround's checks (in the file, or in PostGIS)."""
    import sqlite3

    from safeground.store.gpkg_binary import encode, register_functions

    if db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute(f"UPDATE {layer} SET geom = ST_GeomFromWKB(%s, 4326) WHERE uuid = %s",
                         (shapely.to_wkb(geometry), uuid))
        return
    qgis = sqlite3.connect(db)
    register_functions(qgis)
    qgis.execute(f"UPDATE {layer} SET geom = ? WHERE uuid = ?", (encode(np.array([geometry]))[0], uuid))
    qgis.commit()
    qgis.close()


def test_a_ring_that_collapsed_to_two_vertices_is_named_as_such(ws: Workspace, build: Builder) -> None:
    hz = build.hazard("sha")
    holed = shapely.MultiPolygon([shapely.Polygon(HAZARD_BOX.exterior.coords, [[(-72.498, 5.002), (-72.497, 5.003),
                                                                               (-72.498, 5.002), (-72.497, 5.003)]])])
    gis_edit(ws.store.location, "hazard_area", hz["uuid"], holed)
    [found] = by_check(ws)["invalid_polygon"]
    assert found.ref == hz["ref"] and "fewer than 3 distinct vertices" in found.problem


def test_coordinates_swapped_by_an_edit_outside_safeground_are_reported(ws: Workspace) -> None:
    dev = add_record(ws, "device", {"category": "ap_mine", "geometry": shapely.Point(-72.4951, 5.0049)})
    ok = add_record(ws, "device", {"category": "ap_mine", "geometry": shapely.Point(-72.4952, 5.0048)})
    gis_edit(ws.store.location, "device", dev["uuid"], shapely.Point(5.0049, -72.4951))
    found = by_check(ws)
    assert [f.ref for f in found["swapped_lat_lon"]] == [dev["ref"]]
    assert "(-72.4951, 5.0049) is inside" in found["swapped_lat_lon"][0].problem
    assert "outside_country" not in found, "a swapped point is reported once, as swapped"
    assert ok["ref"] not in {f.ref for fs in found.values() for f in fs if f.check != "device_outside_work"}
    from safeground.domain.config import Config, GeometryConfig

    ws.set_config(Config(country="COL", geometry=GeometryConfig(check_swapped_coordinates=False)))
    assert "swapped_lat_lon" not in by_check(ws), "turned off as on input"


def test_real_register_rows_swapped_after_import_are_found_and_no_others(ws: Workspace, tmp_path) -> None:
    from tests.conftest import DATA

    from safeground.services.mapped_import import import_csv

    lines = (DATA / "colombia_aicma" / "events_1990_2014.csv").read_text(encoding="utf-8").splitlines()
    sample = tmp_path / "register-2012.csv"
    sample.write_text("\n".join([lines[0], *[ln for ln in lines if ln.startswith("2012,")][:400]]) + "\n",
                      encoding="utf-8")
    report = import_csv(ws, sample, "colombia_aicma")
    accidents = ws.store.query("accident")
    assert report.rows_stored == 400 and len(accidents) > 300
    swapped = [accidents[3], accidents[240]]
    for a in swapped:
        gis_edit(ws.store.location, "accident", a["uuid"], shapely.Point(a["geometry"].y, a["geometry"].x))
    found = by_check(ws)
    assert sorted(f.ref for f in found["swapped_lat_lon"]) == sorted(a["ref"] for a in swapped)
    assert "outside_country" not in found


def test_locations_far_outside_the_country_are_reported_beyond_the_tolerance(ws: Workspace) -> None:
    from safeground.domain.config import Config, GeometryConfig
    from safeground.geo.placement import outside_km

    caracas, border = shapely.Point(-66.9, 10.5), shapely.Point(-72.30, 7.9)
    distances = outside_km(np.array([caracas, border]), ws.outline, crs=ws.national_crs)
    assert distances[0] > 400 and 0 < distances[1] < 10  # Natural Earth 1:110m: the border point is just out
    ws.set_config(Config(country="COL", geometry=GeometryConfig(outside_tolerance_km=None)))
    far = add_record(ws, "eore_session", {"session_date": "2024-02-01", "geometry": caracas})
    add_record(ws, "eore_session", {"session_date": "2024-02-01", "geometry": border})
    assert "outside_country" not in by_check(ws), "tolerance null: the check is off"
    ws.set_config(Config(country="COL"))
    [found] = by_check(ws)["outside_country"]
    assert found.ref == far["ref"] and f"{distances[0]:,.1f} km outside" in found.problem
    assert "outside_tolerance_km" in found.action
