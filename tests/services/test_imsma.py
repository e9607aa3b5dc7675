"""Leaving IMSMA: accidents, then victims linked to them by IMSMA's own local ids."""

from __future__ import annotations

from pathlib import Path

from safeground.io.mapping import Geometry, load_mapping
from safeground.services.mapped_import import import_csv
from safeground.services.workspace import Workspace

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
