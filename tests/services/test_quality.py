"""``safeground check``: each check finds what it should, names the record and says what to do."""

from __future__ import annotations

import datetime as dt

import numpy as np
import shapely
from tests.conftest import HAZARD_BOX, Builder

from safeground.services.quality import run_checks
from safeground.services.records import add_record
from safeground.services.workspace import Workspace

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


def test_polygons_broken_outside_safeground_are_reported(ws: Workspace, build: Builder, db_path) -> None:
    import sqlite3

    from safeground.store.gpkg_binary import encode, register_functions

    good, bad = build.hazard("sha"), build.hazard("sha", geometry=shapely.box(-72.40, 5.0, -72.39, 5.01))
    bowtie = shapely.MultiPolygon([shapely.Polygon([(-72.4, 5.0), (-72.39, 5.01), (-72.39, 5.0), (-72.4, 5.01)])])
    qgis = sqlite3.connect(db_path)  # as a QGIS user would, bypassing SafeGround's checks
    register_functions(qgis)
    qgis.execute("UPDATE hazard_area SET geom = ? WHERE uuid = ?", (encode(np.array([bowtie]))[0], bad["uuid"]))
    qgis.commit()
    qgis.close()
    found = by_check(ws)["invalid_polygon"]
    assert [f.ref for f in found] == [bad["ref"]] and "Self-intersection" in found[0].problem
    assert good["ref"] != bad["ref"]
