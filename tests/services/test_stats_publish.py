"""Publishing a year's figures and the revisions since: frozen, versioned, reproducible, never touching a record."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
import pandas as pd
import psycopg
import pyproj
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import DATA, WEST_HALF, Builder

from safeground.domain.config import Config
from safeground.domain.errors import NotFoundError, ValidationError
from safeground.domain.records import LAYERS
from safeground.services.duplicates import decide
from safeground.services.mapped_import import import_csv
from safeground.services.records import add_record, retire_record, set_review_state, update_record
from safeground.services.stats_publish import diff, flatten, publish, published_view, revisions
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS), but those marked
    GPKG_ONLY, which read the file itself."""
    return any_ws


def schema(name: str) -> dict[str, Any]:
    return json.loads(resources.files("safeground").joinpath(f"data/schemas/{name}.schema.json").read_text())


@dataclass
class Case:
    """One casualty as the test sees it, for independent counting."""

    year: int
    outcome: str
    status: str = "civilian"
    severity: str | None = None
    state: str = "approved"
    retired: bool = False


CASES = [
    Case(2023, "killed"), Case(2023, "killed", "military"), Case(2023, "killed", "deminer"),
    Case(2023, "injured", severity="serious"), Case(2023, "injured", "military", "minor"),
    Case(2023, "injured", severity="serious", state="published"), Case(2023, "unknown"),
    Case(2023, "killed", state="submitted"), Case(2023, "injured", severity="serious", state="submitted"),
    Case(2023, "killed", retired=True),
    Case(2022, "killed"), Case(2022, "injured", severity="serious"), Case(2024, "killed", "military"),
]
#: EORE sessions: (date, state, women, girls, boys, men)
SESSIONS = [("2023-02-01", "approved", 5, 7, 6, 2), ("2023-11-30", "published", 1, 0, 3, 4),
            ("2023-06-06", "submitted", 50, 50, 50, 50), ("2022-12-31", "approved", 9, 9, 9, 9)]


def accident(ws: Workspace, day: str, state: str = "approved", admin1: str = "Meta") -> dict[str, Any]:
    return add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": day, "device_category": "ap_mine",
                                       "admin1": admin1, "geometry": shapely.Point(-73.6, 3.9)}, review_state=state)


def casualty(ws: Workspace, acc: dict[str, Any], outcome: str, status: str = "civilian", severity: str | None = None,
             state: str = "approved", **kw: Any) -> dict[str, Any]:
    return add_record(ws, "casualty", {"accident": acc["uuid"], "outcome": outcome, "status": status,
                                       "severity": severity, "sex": "female", "given_name": "Ana María",
                                       "family_name": "Quintero", **kw}, review_state=state)


def build_year(ws: Workspace, build: Builder) -> dict[str, Any]:
    """Casualties, EORE, a referral, a register event and cleared land: the 2023 figures and noise around them."""
    made: dict[str, Any] = {"casualties": []}
    for i, c in enumerate(CASES):
        acc = accident(ws, f"{c.year}-0{1 + i % 9}-15", state="approved")
        cas = casualty(ws, acc, c.outcome, c.status, c.severity, c.state)
        if c.retired:
            retire_record(ws, "casualty", cas["uuid"], "entered twice by mistake")
        made["casualties"].append(cas)
    for day, state, w, g, b, m in SESSIONS:
        add_record(ws, "eore_session", {"session_date": day, "women": w, "girls": g, "boys": b, "men": m,
                                        "geometry": None}, review_state=state)
    first = made["casualties"][0]
    add_record(ws, "assistance_referral", {"casualty": first["uuid"], "service": "emergency_medical",
                                           "referral_date": "2023-03-03", "outcome": "received"},
               review_state="approved")
    add_record(ws, "assistance_referral", {"casualty": first["uuid"], "service": "psychological"},
               review_state="approved")  # undated: no year can count it
    add_record(ws, "event", {"event_type": "Incautaciones", "event_date": "2023-07-07", "admin1": "META"},
               review_state="approved")
    org, hz = build.organisation(), build.hazard("cha")
    set_review_state(ws, "hazard_area", hz["uuid"], "approved")
    build.evidence(hz)
    act = build.clearance(hz, org, start_date="2023-03-01", end_date="2023-04-01")
    set_review_state(ws, "activity", act["uuid"], "approved")
    made["cleared"] = build.release(act, hz, "cleared", WEST_HALF, review_state="approved")
    build.qc(act, day="2023-04-15")
    add_record(ws, "device", {"category": "ap_mine", "activity": act["uuid"], "hazard": hz["uuid"], "quantity": 3,
                              "disposal": "destroyed_in_situ", "found_date": "2023-03-20",
                              "geometry": hz["geometry"].centroid}, review_state="approved")
    return made


def snapshot(ws: Workspace) -> dict[str, list[tuple[Any, ...]]]:
    """Every record's uuid, review state, updated_at and version, retired ones included."""
    return {layer: [(r["uuid"], r["review_state"], r["updated_at"], r["version"]) for r in
                    ws.store.query(layer, geometry=False, include_retired=True,
                                   fields=["review_state", "updated_at", "version"])] for layer in LAYERS}


def counted(year: int, outcome: str, **kw: Any) -> int:
    return sum(1 for c in CASES if c.year == year and c.outcome == outcome and c.state != "submitted"
               and not c.retired and all(getattr(c, k) == v for k, v in kw.items()))


def test_publish_freezes_the_year_s_figures_and_changes_no_record(ws: Workspace, build: Builder) -> None:
    build_year(ws, build)
    before = snapshot(ws)
    doc = publish(ws, 2023, note="Article 7 report")
    assert snapshot(ws) == before, "publishing must change no record's review state, version or updated_at"

    h = doc["headline"]
    assert (h["killed"], h["injured"], h["unknown"]) == (counted(2023, "killed"), counted(2023, "injured"),
                                                         counted(2023, "unknown"))
    assert h["seriously_injured"] == counted(2023, "injured", severity="serious")
    assert h["civilians"] == sum(counted(2023, o, status="civilian") for o in ("killed", "injured", "unknown"))
    sessions = [s for s in SESSIONS if s[0].startswith("2023") and s[1] != "submitted"]
    assert doc["eore"] == {"sessions": len(sessions), "beneficiaries": sum(sum(s[2:]) for s in sessions),
                           **{k: sum(s[2 + i] for s in sessions) for i, k in enumerate(("women", "girls", "boys",
                                                                                          "men"))}}
    assert doc["assistance_referrals"] == {"referrals": 1, "undated": 1, "by_service": {"emergency_medical": 1},
                                           "by_outcome": {"received": 1}}
    geodesic_km2 = abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(WEST_HALF)[0]) / 1e6
    assert h["cleared_km2"] == h["released_km2"] == pytest.approx(geodesic_km2, rel=2e-3)
    assert h["devices_destroyed"] == 3  # the dated approved find; the builder's undated, submitted one is not
    # the events view: the accidents of 2023 (all approved), the register event and the device
    assert h["events"] == sum(1 for c in CASES if c.year == 2023) + 2
    assert (doc["year"], doc["version"], doc["note"], doc["published_by"]) == (2023, 1, "Article 7 report", "ana")
    jsonschema.validate(doc, schema("stats_publish"))
    assert "Quintero" not in json.dumps(ws.store.publications(figures=True))


def test_publishing_again_adds_a_version_and_never_overwrites(ws: Workspace, build: Builder, db_path) -> None:
    made = build_year(ws, build)
    first = publish(ws, 2023)
    set_review_state(ws, "casualty", made["casualties"][7]["uuid"], "approved")  # a submitted death, approved
    second = publish(ws, 2023, note="corrected")
    assert (first["version"], second["version"]) == (1, 2)
    assert second["headline"]["killed"] == first["headline"]["killed"] + 1
    assert second["fingerprint"]["sha256"] != first["fingerprint"]["sha256"]
    assert second["fingerprint"]["layers"]["casualty"] != first["fingerprint"]["layers"]["casualty"]
    assert second["fingerprint"]["layers"]["eore_session"] == first["fingerprint"]["layers"]["eore_session"]
    assert published_view(ws, 2023, version=1)[0]["headline"] == first["headline"]
    assert published_view(ws, 2023)[0]["version"] == 2
    audit = [c for c in ws.store.changes_since(0) if c.op == "publish"]
    assert [(c.actor, c.after["year"], c.after["version"]) for c in audit] == [("ana", 2023, 1), ("ana", 2023, 2)]
    raw = ws.store.connection  # type: ignore[attr-defined]
    for sql in ("UPDATE safeground_publication SET note = 'x'", "DELETE FROM safeground_publication"):
        with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError), match="never changed"):
            raw.execute(sql)


def test_as_published_returns_the_stored_view_while_the_records_move_on(ws: Workspace, build: Builder) -> None:
    made = build_year(ws, build)
    publish(ws, 2023)
    doc, text = published_view(ws, 2023, view="casualties --by status")
    set_review_state(ws, "casualty", made["casualties"][7]["uuid"], "approved")
    update_record(ws, "casualty", made["casualties"][0]["uuid"], {"status": "military"})
    again, text_again = published_view(ws, 2023, view="casualties --by status")
    assert (again, text_again) == (doc, text)
    rows = {r["key"]["status"]: r["killed"] for r in doc["breakdown"]}
    assert rows["civilian"] == counted(2023, "killed", status="civilian")
    assert "civilian" in text and "military" in text


def test_a_year_never_published_names_the_published_ones(ws: Workspace, build: Builder) -> None:
    with pytest.raises(NotFoundError, match="none yet") as info:
        published_view(ws, 2023)
    assert info.value.code == "stats.not_published" and "stats publish --year 2023" in info.value.hint
    build_year(ws, build)
    publish(ws, 2022)
    publish(ws, 2023)
    with pytest.raises(NotFoundError, match=r"published years: 2022, 2023") as info:
        published_view(ws, 2021)
    with pytest.raises(NotFoundError, match="no published version 3"):
        published_view(ws, 2023, version=3)
    with pytest.raises(NotFoundError) as info:
        published_view(ws, 2023, view="casualties --by sex --by status")
    assert info.value.code == "stats.view_not_published" and "casualties --by status" in info.value.hint
    with pytest.raises(ValidationError) as bad:
        publish(ws, 2999)
    assert bad.value.code == "stats.bad_year"


def test_a_late_report_revises_the_published_year(ws: Workspace, build: Builder) -> None:
    build_year(ws, build)
    publish(ws, 2023)
    assert revisions(ws)["years"][0]["changes"] == []
    # A 2023 accident reported late: it and its two casualties arrive submitted after publication, then approved.
    late = accident(ws, "2023-10-10", state="submitted", admin1="Caquetá")
    people = [casualty(ws, late, "killed", state="submitted"),
              casualty(ws, late, "injured", "military", "serious", state="submitted")]
    before = revisions(ws)["years"][0]
    assert before["changes"] == [], "submitted records do not move official figures"
    for layer, rec in (("accident", late), *(("casualty", p) for p in people)):
        set_review_state(ws, layer, rec["uuid"], "approved")
    other = accident(ws, "2022-05-05")  # another year: not a revision of 2023
    casualty(ws, other, "killed")
    sha = build.hazard("sha")  # contamination found since: it moves today's figures, not 2023's
    set_review_state(ws, "hazard_area", sha["uuid"], "approved")

    doc = revisions(ws, year=2023)
    jsonschema.validate(doc, schema("stats_revisions"))
    [year] = doc["years"]
    changes = {(c["view"], c["figure"]): c for c in year["changes"]}
    killed, injured = changes[("casualties", "outcome.killed")], changes[("casualties", "outcome.injured")]
    assert (killed["published"], killed["current"], killed["difference"]) == (counted(2023, "killed"),
                                                                              counted(2023, "killed") + 1, 1)
    assert (injured["difference"], changes[("casualties", "statement.seriously_injured")]["difference"]) == (1, 1)
    new_group = changes[("casualties --by adm1", "breakdown[adm1=Caquetá].people")]
    assert (new_group["published"], new_group["current"], new_group["difference"]) == (None, 2, 2)
    assert changes[("events --by year", "total")]["difference"] == 1
    assert year["fingerprint_changed"] and {"accident", "casualty", "hazard_area"} <= set(year["changed_layers"])
    assert not [c for c in year["changes"] if c["figure"].startswith(("remaining", "contamination_labels"))]
    approved = {(r["layer"], r["ref"]) for r in year["records"] if r["change"] == "approved"}
    assert approved == {("accident", late["ref"]), *(("casualty", p["ref"]) for p in people)}
    assert other["ref"] not in json.dumps(doc)
    assert "Quintero" not in json.dumps(doc) and "Ana" not in json.dumps(doc["years"][0]["records"])


def test_revisions_name_corrections_retirements_and_merged_duplicates(ws: Workspace, build: Builder) -> None:
    made = build_year(ws, build)
    publish(ws, 2023)
    a, b, c = made["casualties"][0], made["casualties"][1], made["casualties"][3]
    update_record(ws, "casualty", a["uuid"], {"status": "military", "given_name": "Ana"})
    retire_record(ws, "casualty", c["uuid"], "not a mine accident")
    ws.store.write_duplicate_links([{"layer": "casualty", "uuid": b["uuid"], "duplicate_of": a["uuid"],
                                     "kind": "probable_casualty", "reason": "same person"}])
    decide(ws, ws.store.duplicate_links()[-1]["id"], "confirmed")

    [year] = revisions(ws)["years"]
    got = [(r["ref"], r["change"], r["fields"]) for r in year["records"]]
    assert got == [(a["ref"], "updated", ["given_name", "status"]), (c["ref"], "retired", []),
                   (b["ref"], "confirmed duplicate", [a["ref"]])]
    changes = {(x["view"], x["figure"]): x["difference"] for x in year["changes"]}
    assert changes[("casualties", "outcome.killed")] == -1  # two killed are now one person
    assert changes[("casualties", "outcome.injured")] == -1  # the retired one
    assert ("casualties", "records.duplicates_merged") not in changes  # counted over every year: not a figure
    assert "Ana" not in json.dumps(year)


def test_a_colombia_register_year_published_equals_pandas_less_quarantine(tmp_path) -> None:
    register = DATA / "colombia_aicma" / "events_1990_2014.csv"
    ws = Workspace.open(tmp_path / "col.gpkg", user="im-officer", create=True)
    ws.set_config(Config(country="COL"))
    sample = tmp_path / "sample.csv"  # 1996-1998: the year published and a year either side of it
    lines = register.read_text(encoding="utf-8").splitlines()
    sample.write_text("\n".join([lines[0], *(ln for ln in lines[1:] if ln[:4] in ("1996", "1997", "1998"))]) + "\n",
                      encoding="utf-8")
    report = import_csv(ws, sample, "colombia_aicma")
    doc = publish(ws, 1997)
    df = pd.read_csv(sample)
    df = df[df["year"] == 1997]
    quarantined = pd.DataFrame([q["raw"] for q in ws.store.quarantined(import_run=report.import_run)])
    want = df.groupby("departamento").size()
    if len(quarantined):
        quarantined = quarantined[quarantined["year"].astype(int) == 1997]
        want = want.sub(quarantined.groupby("departamento").size(), fill_value=0)
    events, _text = published_view(ws, 1997, view="events --by year --by adm1")
    assert {g["adm1"]: g["records"] for g in events["groups"]} == {d: int(n) for d, n in want.items() if n}
    assert doc["headline"]["events"] == int(want.sum()) > 100
    assert {g["year"] for g in events["groups"]} == {"1997"}
    ws.close()


figures = st.recursive(st.integers(-50, 50), lambda kids: st.dictionaries(st.sampled_from("abcd"), kids, min_size=1),
                       max_leaves=12)


@given(st.dictionaries(st.sampled_from(["outcome", "status", "device"]), figures, min_size=1), st.data())
def test_diff_reports_exactly_the_figures_that_moved_by_how_much(doc: dict[str, Any], data: st.DataObject) -> None:
    assert diff("casualties", doc, doc) == []
    leaves = flatten(doc)
    moved = data.draw(st.dictionaries(st.sampled_from(sorted(leaves)), st.integers(-9, 9).filter(bool)))

    def bump(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            return {k: bump(v, f"{path}.{k}" if path else k) for k, v in node.items()}
        return node + moved.get(path, 0)

    got = {c["figure"]: (c["published"], c["current"], c["difference"]) for c in diff("casualties", doc, bump(doc, ""))}
    assert got == {p: (leaves[p], leaves[p] + d, d) for p, d in moved.items()}


def test_a_file_of_schema_6_gains_the_publication_table_and_keeps_its_records(db_path, monkeypatch) -> None:
    from safeground.store import migrations
    from safeground.store.base import Batch

    monkeypatch.setattr("safeground.store.gpkg.MIGRATIONS", migrations.MIGRATIONS[:6])
    monkeypatch.setattr("safeground.store.gpkg.SCHEMA_VERSION", 6)
    with Workspace.open(db_path, user="ana", create=True) as old:
        old.store.insert("eore_session", Batch({"session_date": ["2023-04-04"], "women": [12]}), user="ana",
                         review_state="approved")
        assert old.store.schema_version == 6
    monkeypatch.undo()
    with Workspace.open(db_path, user="ana") as ws:
        assert ws.store.schema_version == migrations.SCHEMA_VERSION and ws.store.publications() == []
        assert publish(ws, 2023)["eore"]["women"] == 12
