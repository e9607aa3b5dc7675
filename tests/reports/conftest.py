"""The data the report tests read: built once per module with the rules enforced, tallied as it is built."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import shapely
from tests.conftest import Builder

from safeground.domain.config import Config
from safeground.services.records import add_record, set_review_state
from safeground.services.workspace import Workspace

YEAR = 2024
#: Personal fields of the casualties built below: none may appear in any output.
PERSONAL = ("Ana María", "Zubiría", "1023456789", "+57 300 123 4567", "Pedro", "Quintero-Olaya", "80765432",
            "pedro.quintero@example.org", "was referred after a home visit")

META = shapely.box(-73.80, 3.30, -73.40, 3.70)
VISTA = shapely.box(-73.80, 3.30, -73.60, 3.70)
MESETAS = shapely.box(-73.60, 3.30, -73.40, 3.70)
HAZARD = shapely.box(-73.70, 3.40, -73.68, 3.41)
WEST = shapely.box(-73.70, 3.40, -73.69, 3.41)


@dataclass
class World:
    """What the test built, to count the expected figures from."""

    casualties: list[dict[str, Any]] = field(default_factory=list)  # year, outcome, severity, status, state
    accidents: dict[int, int] = field(default_factory=dict)  # year -> official accidents
    eore: dict[str, int] = field(default_factory=dict)
    referrals: int = 0


def approved(ws: Workspace, layer: str, values: dict[str, Any]) -> dict[str, Any]:
    return add_record(ws, layer, values, review_state="approved")


def build_world(ws: Workspace) -> World:
    w = World()
    build = Builder(ws)
    approved(ws, "admin_area", {"name": "Meta", "level": 1, "code": "CO50", "geometry": META})
    approved(ws, "admin_area", {"name": "Vista Hermosa", "level": 2, "code": "CO50711", "parent_code": "CO50",
                                "geometry": VISTA})
    approved(ws, "admin_area", {"name": "Mesetas", "level": 2, "code": "CO50330", "parent_code": "CO50",
                                "geometry": MESETAS})
    org = build.organisation(name="Alpha Demining")
    team = approved(ws, "team", {"name": "A1", "organisation": org["uuid"], "method": "manual"})
    hz = approved(ws, "hazard_area", {"name": "H1", "hazard_class": "cha", "status": "open", "geometry": HAZARD,
                                      "admin1": "Meta", "admin2": "Vista Hermosa"})
    build.evidence(hz)
    act = build.clearance(hz, org, devices=0, team=team["uuid"], start_date="2024-03-01", end_date="2024-04-01",
                          assets="manual mdd", geometry=WEST)
    set_review_state(ws, "activity", act["uuid"], "approved")
    build.release(act, hz, "cleared", WEST, review_state="approved")
    build.qc(act, day="2024-04-15")
    approved(ws, "hazard_area", {"name": "H2", "hazard_class": "sha", "status": "open", "admin1": "Meta",
                                 "geometry": shapely.box(-73.50, 3.50, -73.49, 3.51)})
    for qty, day in ((3, "2024-03-10"), (2, "2023-05-01")):
        approved(ws, "device", {"category": "ap_mine", "quantity": qty, "disposal": "destroyed_in_situ",
                                "found_date": day, "activity": act["uuid"], "geometry": WEST.centroid})
    approved(ws, "minefield_record", {"name": "Campo 7", "reliability": "b", "mine_count": 10,
                                      "geometry": shapely.box(-73.701, 3.399, -73.689, 3.411)})

    def accident(day: str, adm2: str, state: str, people: list[dict[str, Any]]) -> None:
        acc = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": day,
                                          "device_category": "improvised_mine", "admin1": "Meta", "admin2": adm2,
                                          "geometry": HAZARD.centroid}, review_state=state)
        if state == "approved":
            w.accidents[int(day[:4])] = w.accidents.get(int(day[:4]), 0) + 1
        for p in people:
            cas = add_record(ws, "casualty", {"accident": acc["uuid"], **p}, review_state=state)
            w.casualties.append({"year": int(day[:4]), "state": state, "uuid": cas["uuid"],
                                 **{k: p.get(k) for k in ("outcome", "severity", "status")}})

    accident("2024-02-03", "Vista Hermosa", "approved", [
        {"outcome": "killed", "status": "civilian", "sex": "female", "age": 12, "given_name": "Ana María",
         "family_name": "Zubiría", "national_id": "1023456789", "contact": "+57 300 123 4567"},
        {"outcome": "injured", "severity": "serious", "status": "military", "sex": "male", "age_group": "adult",
         "given_name": "Pedro", "family_name": "Quintero-Olaya", "national_id": "80765432",
         "contact": "pedro.quintero@example.org"}])
    accident("2024-09-20", "Mesetas", "approved", [
        {"outcome": "injured", "severity": "minor", "status": "civilian", "sex": "male", "age": 40}])
    accident("2023-07-07", "Mesetas", "approved", [
        {"outcome": "injured", "severity": "serious", "status": "civilian", "sex": "female", "age": 30}])
    accident("2024-11-11", "Mesetas", "submitted", [{"outcome": "killed", "status": "civilian"}])
    first = next(c for c in w.casualties if c["status"] == "military")
    approved(ws, "assistance_referral", {"casualty": first["uuid"], "service": "rehabilitation",
                                         "referral_date": "2024-03-01", "notes": PERSONAL[-1]})
    w.referrals = 1
    w.eore = {"women": 11, "girls": 7, "boys": 5, "men": 9}
    approved(ws, "eore_session", {"session_date": "2024-05-05", **w.eore, "geometry": HAZARD.centroid})
    ws.store.write_quarantine([{"import_run": "r1", "layer": "accident", "source": "acc.csv", "source_row": 4,
                                "code": "record.not_in_vocabulary", "reason": "bad status",
                                "raw": {"estado": "x"}}])
    return w


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, World]]:
    path = tmp_path_factory.mktemp("report") / "report.gpkg"
    ws = Workspace.open(path, user="ana", create=True)
    ws.set_config(Config(country="COL"))
    world = build_world(ws)
    ws.close()
    yield path, world




@pytest.fixture(scope="module")
def built_any(any_module_db: str) -> tuple[str, World]:
    """As ``built``, on each backend in turn (the report opens a server database read-only too)."""
    with Workspace.open(any_module_db, user="ana", create=True) as ws:
        ws.set_config(Config(country="COL"))
        world = build_world(ws)
    return any_module_db, world
