"""Probable duplicate casualties across sources: proposed once, named by ref only, decided by a person."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import DATA

from safeground.domain.errors import SafeGroundError
from safeground.geo.crs import WGS84, reproject
from safeground.services.duplicates import decide, list_links, same_time_and_place
from safeground.services.mapped_import import import_csv
from safeground.services.quality import run_checks
from safeground.services.records import add_record
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

TODAY = dt.date(2026, 11, 28)
REGISTER = DATA / "colombia_aicma" / "events_1990_2014.csv"
VILLAGE = shapely.Point(-72.495, 5.005)
NEARBY = shapely.Point(-72.4915, 5.005)  # about 390 m east


def accident(ws: Workspace, source: str, where: shapely.Point = VILLAGE, day: str = "2021-03-14",
             **kw: Any) -> dict[str, Any]:
    return add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": day, "geometry": where,
                                       "source": source, **kw})


def casualty(ws: Workspace, acc: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return add_record(ws, "casualty", {"accident": acc["uuid"], "outcome": "injured", "status": "civilian",
                                       "source": acc["source"], **kw})


def duplicate_findings(ws: Workspace, **kw: Any) -> list:
    return [f for f in run_checks(ws, today=TODAY, **kw) if f.check == "duplicate_casualty"]


def test_the_same_person_in_two_sources_is_proposed_once_by_ref_never_by_name(ws: Workspace) -> None:
    report = accident(ws, "operator-report.csv")
    hospital = accident(ws, "hospital-list.csv", NEARBY)
    maria = casualty(ws, report, given_name="María", family_name="Pérez", age=12, sex="female")
    casualty(ws, report, given_name="Juan", family_name="Gómez", age=34, sex="male")
    again = casualty(ws, hospital, given_name="Maria", family_name="Peres", age=12, sex="female")
    [finding] = duplicate_findings(ws)
    assert (finding.ref, finding.uuid) == (again["ref"], again["uuid"])
    assert maria["ref"] in finding.problem and "km apart" in finding.problem and "names" in finding.problem
    text = json.dumps(finding.to_dict(), ensure_ascii=False)
    for personal in ("María", "Maria", "Pérez", "Peres", "Juan"):
        assert personal not in text
    assert " 12" not in finding.problem + finding.action, "nor the age"
    [link] = ws.store.duplicate_links(layer="casualty")
    assert (link["uuid"], link["duplicate_of"], link["status"], link["kind"]) == \
        (again["uuid"], maria["uuid"], "proposed", "probable_casualty")
    assert f"confirm {link['id']}" in finding.action
    assert [f.ref for f in duplicate_findings(ws)] == [again["ref"]], "a second run reports the open pair again"
    assert len(ws.store.duplicate_links()) == 1, "and proposes nothing twice"


@pytest.mark.parametrize("decision", ["confirmed", "rejected"])
def test_a_decided_pair_is_never_proposed_again(ws: Workspace, decision: str) -> None:
    a = casualty(ws, accident(ws, "a.csv"), given_name="Ana", family_name="Ruiz")
    b = casualty(ws, accident(ws, "b.csv"), given_name="Ana", family_name="Ruiz Gómez")
    [finding] = duplicate_findings(ws)
    [link] = list_links(ws)
    assert (link["ref"], link["duplicate_of_ref"]) == (b["ref"], a["ref"])
    shown = decide(ws, link["id"], decision)
    assert (shown["status"], shown["decided_by"]) == (decision, "ana") and shown["decided_at"]
    assert duplicate_findings(ws) == []
    assert [lk["status"] for lk in list_links(ws)] == [decision]
    with pytest.raises(SafeGroundError) as info:
        decide(ws, link["id"], "confirmed")
    assert info.value.code == "duplicate.already_decided" and info.value.status == 409
    with pytest.raises(SafeGroundError) as missing:
        decide(ws, link["id"] + 1, "confirmed")
    assert missing.value.code == "duplicate.not_found"
    assert finding.ref == b["ref"]


def test_people_of_one_report_are_different_people(ws: Workspace) -> None:
    acc = accident(ws, "operator-report.csv")
    casualty(ws, acc, age=19, sex="male", status="military")
    casualty(ws, acc, age=19, sex="male", status="military")
    assert duplicate_findings(ws) == []


def test_without_both_names_same_age_and_sex_decide(ws: Workspace) -> None:
    first = casualty(ws, accident(ws, "register.csv"), age=40, sex="male")
    luis = casualty(ws, accident(ws, "ngo.csv", NEARBY), given_name="Luis", family_name="Mora", age=40, sex="male")
    pedro = casualty(ws, accident(ws, "clinic.csv", NEARBY), given_name="Pedro", family_name="Lara", age=40,
                     sex="male")
    casualty(ws, accident(ws, "other.csv", NEARBY), age=41, sex="male")
    found = duplicate_findings(ws)
    # Luis and Pedro differ by name, so their equal age and sex do not make them one person
    assert sorted(f.ref for f in found) == sorted([luis["ref"], pedro["ref"]])
    assert all(f"same person as {first['ref']}:" in f.problem and "same age and sex" in f.problem for f in found)


def test_other_days_and_far_places_are_not_the_same_accident(ws: Workspace) -> None:
    casualty(ws, accident(ws, "a.csv"), given_name="Rosa", family_name="León")
    casualty(ws, accident(ws, "b.csv", day="2021-03-15"), given_name="Rosa", family_name="León")
    casualty(ws, accident(ws, "c.csv", shapely.Point(-72.40, 5.005)), given_name="Rosa", family_name="León")
    assert duplicate_findings(ws) == []
    assert len(duplicate_findings(ws, same_place_km=12)) == 1, "10.5 km apart: within 12 km"


def test_year_only_register_accidents_meet_dated_reports_in_the_same_municipality(ws: Workspace,
                                                                                tmp_path: Path) -> None:
    lines = REGISTER.read_text(encoding="utf-8").splitlines()
    rows = [ln for ln in lines[1:] if ln.startswith("2010,") and ",Accidente por MAP," in ln][:60]
    sample = tmp_path / "register-2010.csv"
    sample.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    import_csv(ws, sample, "colombia_aicma")
    register = ws.store.query("accident")
    assert len(register) == 60 and {a["date_precision"] for a in register} == {"year"}
    target = register[7]
    for acc in register:  # the register's victims: age and sex, no names
        add_record(ws, "casualty", {"accident": acc["uuid"], "outcome": "killed", "status": "civilian",
                                    "sex": "male", "age": 30 + register.index(acc),
                                    "source": acc["source"]})
    far = shapely.Point(target["geometry"].x + 0.05, target["geometry"].y)  # 5.5 km off, same municipality
    ngo = accident(ws, "ngo-survey.csv", far, day="2010-06-14",
                   admin1=target["admin1"].title(), admin2=target["admin2"].lower())  # spelt its own way
    person = casualty(ws, ngo, given_name="Jhon", family_name="Arias", sex="male", age=37)
    [finding] = duplicate_findings(ws)
    [victim] = ws.store.query("casualty", where={"accident": target["uuid"]})
    assert finding.ref == person["ref"] and victim["ref"] in finding.problem
    assert "same year 2010" in finding.problem
    assert f"same admin area {target['admin1']}/{target['admin2']}" in finding.problem


# --- the pairing rule against a brute-force reading of it -------------------------------------------------
CRS = 32618
people_strategy = st.lists(st.tuples(
    st.sampled_from(["2020-01-05", "2020-01-06", "2020-02-10"]), st.sampled_from(["day", "month", "year"]),
    st.sampled_from([None, "A", "B"]), st.booleans(),
    st.floats(0, 3000), st.floats(0, 3000)), min_size=0, max_size=25)


@settings(max_examples=60, deadline=None)
@given(people_strategy, st.sampled_from([0.5, 1.0, 2.0]))
def test_pairs_equal_a_brute_force_reading_of_the_rule(rows: list[tuple], km: float) -> None:
    origin = reproject(np.array([shapely.Point(-72.5, 5.0)], dtype=object), WGS84, CRS)[0]
    metric = [shapely.Point(origin.x + x, origin.y + y) if located else None for *_, located, x, y in rows]
    wgs = [None if p is None else reproject(np.array([p], dtype=object), CRS, WGS84)[0] for p in metric]
    people = {"date": np.array([r[0] for r in rows], dtype=object), "precision": np.array([r[1] for r in rows]),
              "admin": np.array([r[2] for r in rows], dtype=object), "point": np.array(wgs, dtype=object)}
    left, right, _ = same_time_and_place(people, km, CRS)
    got = set(zip(left.tolist(), right.tolist(), strict=True))
    units = {"day": 10, "month": 7, "year": 4}  # ISO prefix length per precision
    expected = set()
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            n = min(units[rows[i][1]], units[rows[j][1]])
            same_time = rows[i][0][:n] == rows[j][0][:n]
            same_admin = rows[i][2] is not None and rows[i][2] == rows[j][2]
            near = metric[i] is not None and metric[j] is not None and metric[i].distance(metric[j]) <= km * 1000
            if same_time and (same_admin or near):
                expected.add((i, j))
    # points exactly at the threshold may round either way through the reprojection
    borderline = {(i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))
                  if metric[i] is not None and metric[j] is not None
                  and abs(metric[i].distance(metric[j]) - km * 1000) < 1e-3}
    assert got - borderline == expected - borderline


def test_victims_leaving_imsma_meet_a_hospital_list(ws: Workspace, tmp_path: Path) -> None:
    from tests.services.test_imsma import ACCIDENTS, VICTIMS

    from safeground.io.mapping import Geometry, load_mapping

    (tmp_path / "accidents.csv").write_text(ACCIDENTS, encoding="utf-8")
    (tmp_path / "victims.csv").write_text(VICTIMS, encoding="utf-8")
    import_csv(ws, tmp_path / "accidents.csv", load_mapping("imsma_accident").model_copy(
        update={"geometry": Geometry(wkt="wkt")}))
    import_csv(ws, tmp_path / "victims.csv", "imsma_victim")
    victims = {c["source_id"]: c for c in ws.store.query("casualty")}
    assert duplicate_findings(ws) == [], "Ana and Luis Pérez, of one IMSMA accident, are two people"
    clinic = accident(ws, "hospital-list.csv", shapely.Point(-74.3437, 3.24), day="2019-06-03")
    patient = casualty(ws, clinic, given_name="Ana", family_name="Perez Gomez", sex="female")
    [finding] = duplicate_findings(ws)
    assert finding.ref == patient["ref"] and f"same person as {victims['VIC-1']['ref']}:" in finding.problem
    assert "0.7 km apart" in finding.problem and "names 100% alike" in finding.problem
