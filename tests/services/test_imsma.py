"""Leaving IMSMA: accidents, then victims linked to them by IMSMA's own local ids."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from safeground.io.mapping import Geometry, load_mapping
from safeground.services.mapped_import import import_csv
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

ACCIDENTS = """accident_localid,accident_type,device_category,victim_activity,description,province,district,\
date_of_accident,date_of_information,wkt
ACC-2019-001,Mine/ERW Accident,AP Mine,Farming,stepped on a mine,META,URIBE,2019-06-03,2019-06-10,POINT (-74.35 3.24)
ACC-2019-002,Demining Accident,AT Mine,Demining,,META,MESETAS,2019-08-21,,POINT (-74.04 3.38)
"""
VICTIMS = """victim_localid,accident_localid,killed_injured,injury_severity,victim_type,gender,age,first_name,last_name
VIC-1,ACC-2019-001,Injured,Severe,Civilian,Female,14,Ana,Pérez
VIC-2,ACC-2019-001,Killed,,Civilian,Male,41,Luis,Pérez
VIC-3,ACC-2019-002,Injured,Slight,Deminer,Male,29,Jorge,Ruiz
VIC-4,ACC-2019-999,Killed,,Military,Male,22,,
"""


def test_victims_link_to_accidents_by_imsma_local_id(ws: Workspace, tmp_path: Path) -> None:
    accidents_csv, victims_csv = tmp_path / "accidents.csv", tmp_path / "victims.csv"
    accidents_csv.write_text(ACCIDENTS, encoding="utf-8")
    victims_csv.write_text(VICTIMS, encoding="utf-8")
    # A table export has no geometry column of its own; name its WKT column.
    accidents = load_mapping("imsma_accident").model_copy(update={"geometry": Geometry(wkt="wkt")})
    first = import_csv(ws, accidents_csv, accidents)
    assert (first.rows_stored, first.rows_quarantined) == (2, 0)
    acc = {r["source_id"]: r for r in ws.store.query("accident")}
    assert acc["ACC-2019-001"]["accident_date"] == "2019-06-03" and acc["ACC-2019-001"]["info_date"] == "2019-06-10"
    assert acc["ACC-2019-002"]["info_date"] == "2019-08-21"  # no information date: the accident's own date
    assert (acc["ACC-2019-002"]["accident_type"], acc["ACC-2019-002"]["device_category"]) == ("demining", "av_mine")

    victims = import_csv(ws, victims_csv, "imsma_victim")
    assert (victims.rows_read, victims.rows_stored, victims.rows_quarantined) == (4, 3, 1)
    cas = {r["source_id"]: r for r in ws.store.query("casualty")}
    assert cas["VIC-1"]["accident"] == cas["VIC-2"]["accident"] == acc["ACC-2019-001"]["uuid"]
    assert (cas["VIC-1"]["outcome"], cas["VIC-1"]["severity"], cas["VIC-1"]["sex"]) == ("injured", "serious", "female")
    assert cas["VIC-3"]["status"] == "deminer" and cas["VIC-1"]["review_state"] == "approved"
    [q] = ws.store.quarantined(import_run=victims.import_run)
    assert "ACC-2019-999" in q["reason"] and "import the accident records first" in q["reason"]


def _gdb(tmp_path: Path) -> Path:
    """A small File Geodatabase laid out as IMSMA Core exports it: feature classes and a victim table."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    import shapely

    gdb = tmp_path / "imsma_export.gdb"
    box = shapely.box(-74.36, 3.23, -74.35, 3.24)
    layers = {
        "Hazard": gpd.GeoDataFrame({
            "hazard_localid": ["HAZ-0001", "HAZ-0002"], "hazard_name": ["La Julia", "Caño Rojo"],
            "hazard_type": ["Confirmed Hazardous Area", "Suspected Hazardous Area"], "status": ["Active", "Active"],
            "marking": ["Fenced", None], "contamination_type": ["AP Mines", "Unknown"], "area": [1200.0, None],
            "province": ["META", "META"], "district": ["URIBE", "URIBE"],
            "date_of_information": pd.to_datetime(["2018-02-01", "2018-03-15"])},
            geometry=[box, shapely.box(-74.30, 3.20, -74.29, 3.21)], crs=4326),
        "HazardReduction": gpd.GeoDataFrame({
            "hazreduc_localid": ["HR-0001", "HR-0002"], "hazreduc_type": ["Non-Technical Survey", "Clearance"],
            "hazard_localid": ["HAZ-0001", "HAZ-0002"], "start_date": pd.to_datetime(["2018-04-01", "2019-01-10"]),
            "end_date": pd.to_datetime(["2018-04-03", "2019-02-10"]), "clearance_depth_cm": [None, 13.0],
            "devices_found": [None, 0.0]},
            geometry=[box, shapely.box(-74.30, 3.20, -74.29, 3.21)], crs=4326),
        "ExplosiveOrdnance": gpd.GeoDataFrame({
            "ordnance_localid": ["EO-1"], "ordnance_category": ["AP Mine"], "ordnance_model": ["PMN-2"],
            "quantity": [2.0], "disposal": ["Destroyed in Situ"], "hazreduc_localid": ["HR-0001"],
            "province": ["META"], "district": ["URIBE"], "date_found": pd.to_datetime(["2018-04-02"]),
            "date_of_information": pd.to_datetime(["2018-04-03"])},
            geometry=[shapely.Point(-74.355, 3.235)], crs=4326),
    }
    for name, frame in layers.items():
        frame.to_file(gdb, layer=name, driver="OpenFileGDB")
    pyogrio.write_dataframe(pd.DataFrame({"victim_localid": ["V-1"], "accident_localid": ["A-1"]}), gdb,
                            layer="Victim", driver="OpenFileGDB")
    return gdb


def test_an_imsma_core_file_geodatabase_migrates_feature_class_by_feature_class(ws: Workspace,
                                                                                tmp_path: Path) -> None:
    gdb = _gdb(tmp_path)
    hazards = import_csv(ws, gdb, "imsma_hazard", source_layer="Hazard")
    assert (hazards.rows_read, hazards.rows_stored) == (2, 2)
    ha = {r["source_id"]: r for r in ws.store.query("hazard_area")}
    assert ha["HAZ-0001"]["hazard_class"] == "cha" and ha["HAZ-0001"]["marking"] == "fenced"
    assert ha["HAZ-0001"]["reported_date"] == "2018-02-01" and ha["HAZ-0002"]["estimated_area_m2"] is None
    # The feature's own polygon (a File Geodatabase snaps coordinates to its 1e-9° grid).
    assert ha["HAZ-0001"]["geometry"].symmetric_difference(shapely.box(-74.36, 3.23, -74.35, 3.24)).area < 1e-14

    activities = import_csv(ws, gdb, "imsma_hazard_reduction", source_layer="HazardReduction")
    # The clearance has no recorded evidence on its hazard: the IMAS rule quarantines it, with the reason.
    assert (activities.rows_read, activities.rows_stored, activities.rows_quarantined) == (2, 1, 1)
    [nts] = ws.store.query("activity")
    assert (nts["activity_type"], nts["hazard"], nts["end_date"]) == ("nts", ha["HAZ-0001"]["uuid"], "2018-04-03")
    [q] = ws.store.quarantined(import_run=activities.import_run)
    assert q["code"] == "release.assets_require_evidence" and q["raw"]["hazreduc_localid"] == "HR-0002"

    devices = import_csv(ws, gdb, "imsma_device", source_layer="ExplosiveOrdnance")
    [dev] = ws.store.query("device")
    assert devices.rows_stored == 1 and dev["activity"] == nts["uuid"] and dev["quantity"] == 2

    again = import_csv(ws, gdb, "imsma_hazard", source_layer="Hazard")
    assert (again.rows_unchanged, ws.store.count("hazard_area")) == (2, 2)  # idempotent
