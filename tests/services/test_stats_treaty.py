"""Article 7 tables, each figure compared with what the test built and measured itself.

Areas are measured here with geopandas in each polygon's estimated UTM zone (hazard minus the land released
by 31 December), not through SafeGround's measuring code or its stored remaining area.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import DATA, Builder, box, utm_m2

from safeground.domain.config import Config
from safeground.domain.errors import ValidationError
from safeground.services.mapped_import import import_csv
from safeground.services.records import add_record, retire_record, set_review_state
from safeground.services.stats_release import release_stats
from safeground.services.stats_treaty import TABLES, article7, csv_rows, write_csv
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

YEAR = 2024
KM2 = 1e6


@dataclass
class Hz:
    """A hazard as the test knows it: which treaties it belongs to, and its land at 31 December."""

    cls: str
    adm1: str | None
    treaties: set[str]
    end_m2: float
    counted: bool = True  # official, SHA/CHA, reported by the year's end, land left at the year's end


@dataclass
class World:
    hazards: list[Hz] = field(default_factory=list)
    released: list[tuple[str, str | None, str, float]] = field(default_factory=list)  # treaty, adm1, kind, m2
    destroyed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    undated_destroyed: int = 0
    sessions: list[dict[str, Any]] = field(default_factory=list)
    referrals: list[tuple[str, str, str | None, str]] = field(default_factory=list)  # device, service, outcome, who


def approved(ws: Workspace, layer: str, values: dict[str, Any]) -> dict[str, Any]:
    return add_record(ws, layer, values, review_state="approved")


def build_world(ws: Workspace, build: Builder) -> World:
    w = World()
    org = build.organisation(name="Alpha Demining")

    def hazard(cls: str, geom: shapely.Geometry, adm1: str | None, contamination: str | None, **kw: Any) -> Any:
        hz = approved(ws, "hazard_area", {"name": "H", "hazard_class": cls, "status": "open", "geometry": geom,
                                          "admin1": adm1, "contamination_type": contamination, **kw})
        build.evidence(hz)
        return hz

    def clear(hz: Any, part: shapely.Geometry, qc_day: str) -> None:
        act = build.clearance(hz, org, devices=0)
        set_review_state(ws, "activity", act["uuid"], "approved")
        build.release(act, hz, "cleared", part, review_state="approved")
        build.qc(act, day=qc_day)

    # H1: CHA, AP mines (type), Meta: west half cleared in the year, east half left at its end.
    g, west, east = box(-73.60, 3.40, 0.02, 0.01), box(-73.60, 3.40, 0.01, 0.01), box(-73.59, 3.40, 0.01, 0.01)
    clear(hazard("cha", g, "Meta", "ap_mines"), west, f"{YEAR}-04-15")
    w.hazards.append(Hz("cha", "Meta", {"apmbc"}, utm_m2(east)))
    w.released.append(("apmbc", "Meta", "cleared", utm_m2(west)))

    # H2: CHA, contamination unknown but an AP mine was found in it (device rule): cleared after the year,
    #     so its whole area was still contaminated on 31 December.
    g2, part2 = box(-73.70, 3.50, 0.015, 0.01), box(-73.70, 3.50, 0.0075, 0.01)
    h2 = hazard("cha", g2, "Meta", "unknown")
    approved(ws, "device", {"category": "ap_mine", "hazard": h2["uuid"], "quantity": 2,
                            "found_date": f"{YEAR + 1}-01-20", "disposal": "destroyed_in_situ",
                            "geometry": g2.centroid})
    clear(h2, part2, f"{YEAR + 1}-02-01")
    w.hazards.append(Hz("cha", "Meta", {"apmbc"}, utm_m2(g2)))

    # H3: SHA in Antioquia with AP-mine evidence only (evidence rule), cancelled whole by NTS, counted from
    #     the report's approval (today, after the year): contaminated on 31 December, now closed.
    g3 = box(-75.10, 6.00, 0.01, 0.01)
    h3 = hazard("sha", g3, "Antioquia", None)
    approved(ws, "evidence", {"hazard": h3["uuid"], "kind": "indirect", "evidence_source": "verbal",
                              "contamination_type": "ap_mines", "geometry": g3.centroid})
    nts = build.activity(h3, "nts", evidence_found=False, end_date=f"{YEAR}-06-01")
    build.release(nts, h3, "cancelled", g3, review_state="approved")
    set_review_state(ws, "activity", nts["uuid"], "approved")
    w.hazards.append(Hz("sha", "Antioquia", {"apmbc"}, utm_m2(g3)))

    # H4: SHA, anti-vehicle mines: neither treaty's.
    hazard("sha", box(-75.30, 5.80, 0.01, 0.01), "Antioquia", "av_mines")

    # H5: CHA, cluster munition remnants, Meta: a strip cleared in the year (CCM), the rest left.
    g5, strip = box(-73.80, 3.60, 0.02, 0.01), box(-73.80, 3.60, 0.02, 0.004)
    clear(hazard("cha", g5, "Meta", "cluster_munitions"), strip, f"{YEAR}-06-01")
    w.hazards.append(Hz("cha", "Meta", {"ccm"}, utm_m2(g5.difference(strip))))
    w.released.append(("ccm", "Meta", "cleared", utm_m2(strip)))

    # H6: CHA, AP mines, reported only after the year: not on the list of 31 December.
    hazard("cha", box(-73.90, 3.70, 0.01, 0.01), "Meta", "ap_mines", reported_date=f"{YEAR + 1}-03-01")
    w.hazards.append(Hz("cha", "Meta", {"apmbc"}, 0.0, counted=False))

    # H7: an indication of AP mines is no SHA or CHA; H8 is submitted, H9 retired: none count.
    hazard("indication", box(-74.00, 3.80, 0.01, 0.01), "Meta", "ap_mines")
    build.hazard("cha", box(-74.10, 3.90, 0.01, 0.01), admin1="Meta", contamination_type="ap_mines")
    h9 = hazard("cha", box(-74.20, 4.00, 0.01, 0.01), "Meta", "ap_mines")
    retire_record(ws, "hazard_area", h9["uuid"], "duplicate of H1")

    # H10: SHA of mixed mines without admin area, reported with only the year: counts.
    g10 = box(-74.30, 4.10, 0.012, 0.01)
    hazard("sha", g10, None, "mixed_mines", reported_date=f"{YEAR}-12-31", date_precision="year")
    w.hazards.append(Hz("sha", None, {"apmbc"}, utm_m2(g10)))

    # H11: CHA of improvised mines cleared whole the year before: closed, not on the list.
    g11 = box(-74.40, 4.20, 0.01, 0.01)
    clear(hazard("cha", g11, "Meta", "improvised"), g11, f"{YEAR - 1}-05-01")
    w.hazards.append(Hz("cha", "Meta", {"apmbc"}, 0.0, counted=False))

    # Devices destroyed: in the year by found_date, by quantity (one when missing).
    for category, qty, day, disposal, state in [
        ("ap_mine", 3, f"{YEAR}-03-10", "destroyed_in_situ", "approved"),
        ("improvised_mine", None, f"{YEAR}-07-01", "removed_and_destroyed", "approved"),
        ("av_mine", 4, f"{YEAR}-08-01", "destroyed_in_situ", "approved"),
        ("cluster_submunition", 12, f"{YEAR}-05-20", "destroyed_in_situ", "published"),
        ("other_erw", 6, f"{YEAR}-05-20", "rendered_safe", "approved"),
        ("ap_mine", 5, f"{YEAR - 1}-12-31", "destroyed_in_situ", "approved"),
        ("ap_mine", 7, f"{YEAR}-02-02", "destroyed_in_situ", "submitted"),
        ("unspecified_mine", 9, None, "destroyed_in_situ", "approved"),
    ]:
        add_record(ws, "device", {"category": category, "disposal": disposal, "found_date": day,
                                  "geometry": g.centroid, **({"quantity": qty} if qty else {})}, review_state=state)
        if state != "submitted" and disposal != "rendered_safe" and day and day.startswith(str(YEAR)):
            w.destroyed[category] += qty or 1
        w.undated_destroyed += (qty or 1) if day is None else 0

    # Risk education: sessions in the year, one before it, one submitted.
    for day, adm1, counts, state in [
        (f"{YEAR}-02-01", "Meta", {"women": 12, "girls": 7, "boys": 8, "men": 10}, "approved"),
        (f"{YEAR}-09-09", "Meta", {"girls": 20, "boys": 18}, "approved"),
        (f"{YEAR}-11-30", "Antioquia", {}, "published"),
        (f"{YEAR - 1}-11-30", "Antioquia", {"women": 5, "girls": 5, "boys": 5, "men": 5}, "approved"),
        (f"{YEAR}-03-03", "Antioquia", {"women": 50, "girls": 50, "boys": 50, "men": 50}, "submitted"),
    ]:
        add_record(ws, "eore_session", {"session_date": day, "admin1": adm1, "geometry": None, **counts},
                   review_state=state)
        if state != "submitted" and day.startswith(str(YEAR)):
            w.sessions.append({"adm1": adm1, **counts})

    # Victim assistance: casualties of an AP mine and of a submunition; one person recorded twice.
    def casualty(device: str) -> dict[str, Any]:
        acc = approved(ws, "accident", {"accident_type": "mine_erw", "device_category": device, "geometry": None})
        return approved(ws, "casualty", {"accident": acc["uuid"], "outcome": "injured", "status": "civilian",
                                         "given_name": "Zenaida"})

    ap, cm, cm_again = casualty("ap_mine"), casualty("cluster_submunition"), casualty("cluster_submunition")
    ws.store.write_duplicate_links([{"layer": "casualty", "uuid": cm_again["uuid"], "duplicate_of": cm["uuid"],
                                     "kind": "probable_casualty", "reason": "same person"}])
    from safeground.services.duplicates import decide

    decide(ws, ws.store.duplicate_links()[-1]["id"], "confirmed")
    for who, device, service, outcome, day in [
        (ap, "ap_mine", "emergency_medical", "received", f"{YEAR}-01-10"),
        (ap, "ap_mine", "rehabilitation", "pending", f"{YEAR}-03-10"),
        (cm, "cluster_submunition", "emergency_medical", "received", f"{YEAR}-05-21"),
        (cm_again, "cluster_submunition", "psychological", None, f"{YEAR}-06-01"),
        (cm, "cluster_submunition", "legal", "declined", f"{YEAR - 1}-06-01"),
    ]:
        approved(ws, "assistance_referral", {"casualty": who["uuid"], "service": service, "outcome": outcome,
                                             "referral_date": day})
        if day.startswith(str(YEAR)):
            w.referrals.append((device, service, outcome, "cm" if who in (cm, cm_again) else "ap"))
    return w


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, World]]:
    ws = Workspace.open(tmp_path_factory.mktemp("a7") / "a7.gpkg", user="ana", create=True)
    ws.set_config(Config(country="COL"))
    yield ws, build_world(ws, Builder(ws))
    ws.close()


@pytest.mark.parametrize("treaty", ["apmbc", "ccm"])
def test_contaminated_areas_at_the_years_end(built: tuple[Workspace, World], treaty: str) -> None:
    ws, world = built
    table = article7(ws, treaty_code=treaty, year=YEAR)["tables"]["contaminated_areas"]
    assert table["form"] == {"apmbc": "C", "ccm": "F"}[treaty]
    expected: dict[Any, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for h in world.hazards:
        if treaty in h.treaties and h.counted:
            expected[h.adm1][f"{h.cls}_areas"] += 1
            expected[h.adm1][f"{h.cls}_m2"] += h.end_m2
    got = {r["adm1"]: r for r in table["rows"]}
    assert set(got) == set(expected)
    for adm1, e in expected.items():
        r = got[adm1]
        for cls in ("sha", "cha"):
            assert r[f"{cls}_areas"] == e[f"{cls}_areas"], (adm1, cls)
            assert r[f"{cls}_km2"] == pytest.approx(e[f"{cls}_m2"] / KM2, rel=1e-3, abs=1e-6), (adm1, cls)
        assert r["areas"] == r["sha_areas"] + r["cha_areas"]
    counted = [h for h in world.hazards if treaty in h.treaties and h.counted]
    assert table["total"]["areas"] == len(counted)
    assert table["total"]["km2"] == pytest.approx(sum(h.end_m2 for h in counted) / KM2, rel=1e-3)
    if treaty == "apmbc":
        assert table["notes"]["reported_after_year"] == 1 and table["notes"]["released_by_year_end"] == 1
        assert table["notes"]["missing_adm1"] == 1


def test_which_hazards_belong_to_which_treaty(built: tuple[Workspace, World]) -> None:
    ws, world = built
    ap = article7(ws, treaty_code="apmbc", year=YEAR)
    assert ap["hazards"]["selected"] == sum("apmbc" in h.treaties for h in world.hazards)
    assert ap["hazards"]["by_evidence"] >= 1 and ap["hazards"]["by_device"] == 1
    assert ap["rule"]["device_categories"] == ["ap_mine", "improvised_mine"]
    assert article7(ws, treaty_code="ccm", year=YEAR)["hazards"]["selected"] == 1
    everything = article7(ws, treaty_code="apmbc", year=YEAR, include_submitted=True)
    assert everything["tables"]["contaminated_areas"]["total"]["areas"] == \
        ap["tables"]["contaminated_areas"]["total"]["areas"] + 1  # the submitted CHA


@pytest.mark.parametrize("treaty", ["apmbc", "ccm"])
def test_areas_released_in_the_year(built: tuple[Workspace, World], treaty: str) -> None:
    ws, world = built
    table = article7(ws, treaty_code=treaty, year=YEAR)["tables"]["released_areas"]
    expected: dict[Any, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for t, adm1, kind, m2 in world.released:
        if t == treaty:
            expected[adm1][kind] += m2
    assert {r["adm1"] for r in table["rows"]} == set(expected)
    for r in table["rows"]:
        for kind in ("cancelled", "reduced", "cleared"):
            assert r[f"{kind}_km2"] == pytest.approx(expected[r["adm1"]][kind] / KM2, rel=1e-3, abs=1e-7)
    assert table["total"]["polygons"] == sum(1 for t, *_ in world.released if t == treaty)


@pytest.mark.parametrize("treaty", ["apmbc", "ccm"])
def test_devices_destroyed_in_the_year(built: tuple[Workspace, World], treaty: str) -> None:
    ws, world = built
    table = article7(ws, treaty_code=treaty, year=YEAR)["tables"]["destroyed"]
    assert {r["category"]: r["destroyed"] for r in table["rows"]} == \
        {c: world.destroyed.get(c, 0) for c in (r["category"] for r in table["rows"])}
    items = {"apmbc": {"ap_mine", "improvised_mine"}, "ccm": {"cluster_submunition"}}[treaty]
    assert {r["category"] for r in table["rows"] if r["treaty_item"]} == items
    assert table["notes"]["treaty_items"] == sum(n for c, n in world.destroyed.items() if c in items)
    assert table["total"]["destroyed"] == sum(world.destroyed.values())
    assert table["notes"]["undated"] == world.undated_destroyed


def test_risk_education_in_the_year(built: tuple[Workspace, World]) -> None:
    ws, world = built
    table = article7(ws, treaty_code="apmbc", year=YEAR)["tables"]["risk_education"]
    assert table["form"] == "I"
    for r in table["rows"]:
        mine = [s for s in world.sessions if s["adm1"] == r["adm1"]]
        assert r["sessions"] == len(mine)
        for g in ("women", "girls", "boys", "men"):
            assert r[g] == sum(s.get(g, 0) for s in mine)
        assert r["not_broken_down"] == sum(1 for s in mine if len(s) == 1)
        assert r["partly_broken_down"] == sum(1 for s in mine if 1 < len(s) < 5)
    assert table["total"]["sessions"] == len(world.sessions)
    assert article7(ws, treaty_code="ccm", year=YEAR)["tables"]["risk_education"]["rows"] == table["rows"]


@pytest.mark.parametrize("treaty", ["apmbc", "ccm"])
def test_victim_assistance_in_the_year(built: tuple[Workspace, World], treaty: str) -> None:
    ws, world = built
    table = article7(ws, treaty_code=treaty, year=YEAR)["tables"]["victim_assistance"]
    mine = [r for r in world.referrals if treaty == "apmbc" or r[0] == "cluster_submunition"]
    for row in table["rows"]:
        here = [r for r in mine if r[1] == row["service"]]
        assert row["referrals"] == len(here)
        assert row["people"] == len({r[3] for r in here})
        for outcome in ("pending", "received", "declined", "unreachable", "unavailable"):
            assert row[f"outcome_{outcome}"] == sum(r[2] == outcome for r in here)
        assert row["outcome_missing"] == sum(r[2] is None for r in here)
    assert table["total"]["referrals"] == len(mine)
    assert table["total"]["people"] == len({r[3] for r in mine})  # the duplicate counts once
    assert table["notes"]["duplicates_merged"] == 1
    assert "Zenaida" not in str(table)


@settings(max_examples=15, deadline=None)
@given(year=st.integers(2019, 2027), treaty=st.sampled_from(["apmbc", "ccm"]), submitted=st.booleans())
def test_every_table_adds_up_in_any_year(built: tuple[Workspace, World], year: int, treaty: str,
                                         submitted: bool) -> None:
    ws, _ = built
    doc = article7(ws, treaty_code=treaty, year=year, include_submitted=submitted)
    for name, table in doc["tables"].items():
        for col in table["columns"][1:]:
            if col != "people" and isinstance(table["total"].get(col), (int, float)) \
                    and not isinstance(table["total"][col], bool):
                assert sum(r[col] for r in table["rows"]) == pytest.approx(table["total"][col], abs=1e-5), (name, col)
    same = release_stats(ws, since=f"{year}-01-01", until=f"{year}-12-31", include_submitted=submitted)
    assert doc["tables"]["destroyed"]["total"]["destroyed"] == same["devices_destroyed"]["total"]
    assert doc["tables"]["released_areas"]["total"]["released_km2"] <= same["released"]["total"]["released_km2"]


def test_csv_files_hold_the_json_tables(built: tuple[Workspace, World], tmp_path: Path) -> None:
    ws, _ = built
    doc = article7(ws, treaty_code="apmbc", year=YEAR)
    paths = write_csv(doc, tmp_path / "out")
    assert [p.name for p in paths] == [f"article7_apmbc_{YEAR}_{t}.csv" for t in TABLES]
    for name, path in zip(TABLES, paths, strict=True):
        table = doc["tables"][name]
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == table["columns"]
        assert len(rows) == len(table["rows"]) + 2 and rows[-1][0] == "total"
        body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:-1]]
        total = dict(zip(rows[0], rows[-1], strict=True))
        for col in table["columns"][1:]:
            json_total = table["total"].get(col)
            if isinstance(json_total, (int, float)) and not isinstance(json_total, bool):
                assert float(total[col]) == pytest.approx(json_total), (name, col)
                if col != "people":  # people count each person once across services
                    assert sum(float(r[col] or 0) for r in body) == pytest.approx(json_total, abs=1e-5), (name, col)
    assert (tmp_path / "out" / f"article7_apmbc_{YEAR}_risk_education.csv").read_bytes().decode("utf-8")


def test_csv_never_overwrites_and_writes_nothing_when_refused(built: tuple[Workspace, World], tmp_path: Path) -> None:
    ws, _ = built
    doc = article7(ws, treaty_code="ccm", year=YEAR)
    clash = tmp_path / f"article7_ccm_{YEAR}_victim_assistance.csv"
    clash.write_text("mine", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        write_csv(doc, tmp_path)
    assert err.value.code == "export.target_exists"
    assert sorted(p.name for p in tmp_path.iterdir()) == [clash.name] and clash.read_text() == "mine"


def test_csv_rows_put_the_total_last() -> None:
    rows = csv_rows({"columns": ["category", "treaty_item", "destroyed"],
                     "rows": [{"category": "ap_mine", "treaty_item": True, "destroyed": 3}],
                     "total": {"treaty_item": None, "destroyed": 3}})
    assert rows == [["category", "treaty_item", "destroyed"], ["ap_mine", "yes", 3], ["total", "", 3]]


def test_bad_input_is_refused_with_a_code(built: tuple[Workspace, World]) -> None:
    ws, _ = built
    for kwargs, code in [({"treaty_code": "ottawa"}, "stats.unknown_treaty"),
                         ({"treaty_code": "ccm", "year": 24}, "stats.bad_year")]:
        with pytest.raises(ValidationError) as err:
            article7(ws, **kwargs)
        assert err.value.code == code and err.value.hint


def test_the_year_defaults_to_last_year(built: tuple[Workspace, World]) -> None:
    doc = article7(built[0], treaty_code="apmbc")
    assert doc["year"] == dt.date.today().year - 1 and doc["as_of"] == f"{doc['year']}-12-31"


def test_colombia_register_devices_destroyed_per_year_equal_pandas(ws: Workspace, tmp_path: Path) -> None:
    """Real data: military demining finds and UXO of Colombia's register (a sample of every year), imported
    with the shipped mapping, are the destroyed devices of each year's table; the register says 'mine'
    without saying anti-personnel, so none counts as an AP mine."""
    register = pd.read_csv(DATA / "colombia_aicma" / "events_1990_2014.csv")
    devices = register[register["tipo_evento"].isin(["Desminado militar en operaciones", "Municiones sin explotar"])]
    sample = devices.groupby(["year", "tipo_evento"]).head(8)
    path = tmp_path / "colombia_devices.csv"
    sample.to_csv(path, index=False)
    report = import_csv(ws, path, "colombia_aicma")
    quarantined = pd.DataFrame([q["raw"] for q in ws.store.quarantined(import_run=report.import_run)],
                               columns=list(sample.columns))
    assert report.exact_duplicates > 0  # repeated rows count, as everywhere
    quarantined["year"] = quarantined["year"].astype(int)
    expected = sample.groupby(["year", "tipo_evento"]).size().sub(
        quarantined.groupby(["year", "tipo_evento"]).size(), fill_value=0)
    assert int(expected.sum()) == report.rows_stored > 100
    category = {"Desminado militar en operaciones": "unspecified_mine", "Municiones sin explotar": "other_erw"}
    for year in (1995, 2005, 2013):
        table = article7(ws, treaty_code="apmbc", year=year)["tables"]["destroyed"]
        got = {r["category"]: r["destroyed"] for r in table["rows"]}
        for tipo, cat in category.items():
            assert got[cat] == int(expected.get((year, tipo), 0)), (year, tipo)
        assert table["notes"]["treaty_items"] == 0 and table["total"]["destroyed"] == sum(got.values()) > 0
