"""`stats events`: the Colombia register counted back, checked by pandas, and the rules on made-up data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from tests.conftest import DATA

from safeground.cli import main
from safeground.domain.config import Config
from safeground.domain.errors import SafeGroundError
from safeground.services.mapped_import import MappedImportReport, import_csv
from safeground.services.records import add_record, retire_record
from safeground.services.stats_events import event_counts
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

REGISTER = DATA / "colombia_aicma" / "events_1990_2014.csv"
SCHEMA = json.loads(resources.files("safeground").joinpath("data/schemas/stats_events.schema.json").read_text())


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, MappedImportReport, Path]]:
    db = tmp_path_factory.mktemp("col") / "col.gpkg"
    ws = Workspace.open(db, user="im-officer", create=True)
    ws.set_config(Config(country="COL"))
    report = import_csv(ws, REGISTER, "colombia_aicma")
    yield ws, report, db
    ws.close()


def test_the_colombia_register_grouped_by_year_department_and_type_equals_pandas_less_quarantine(register) -> None:
    ws, report, _db = register
    df = pd.read_csv(REGISTER)
    expected = df.groupby(["year", "departamento", "tipo_evento"]).size()
    quarantined = pd.DataFrame([q["raw"] for q in ws.store.quarantined(import_run=report.import_run)])
    assert len(quarantined) == report.rows_quarantined > 0
    quarantined["year"] = quarantined["year"].astype(int)
    expected = expected.sub(quarantined.groupby(["year", "departamento", "tipo_evento"]).size(), fill_value=0)
    expected = {(str(y), d, t): int(n) for (y, d, t), n in expected.items() if n}

    doc = event_counts(ws, by=["year", "adm1", "source_type"])
    got = {(g["year"], g["adm1"], g["source_type"]): g["records"] for g in doc["groups"]}
    assert got == expected
    assert doc["total"] == len(df) - len(quarantined) and doc["missing"] == {"year": 0, "adm1": 0, "source_type": 0}
    jsonschema.validate(doc, SCHEMA)


def test_flagged_duplicates_count_everywhere(register) -> None:
    ws, report, _db = register
    flagged = {lk["uuid"] for lk in ws.store.duplicate_links()}
    assert report.exact_duplicates > 0 and flagged  # the register repeats some rows word for word
    doc = event_counts(ws, by=["layer"])
    assert {g["layer"]: g["records"] for g in doc["groups"]} == report.stored_by_layer
    assert doc["total"] == report.rows_read - report.rows_quarantined


def test_by_layer_and_type_matches_pandas_for_each_layer(register) -> None:
    ws, report, _db = register
    df = pd.read_csv(REGISTER)
    raw = pd.DataFrame([q["raw"] for q in ws.store.quarantined(import_run=report.import_run)])
    want = df["tipo_evento"].value_counts().sub(raw["tipo_evento"].value_counts(), fill_value=0)
    doc = event_counts(ws, by=["source_type"], layers=["accident"])
    got = {g["source_type"]: g["records"] for g in doc["groups"]}
    assert got == {t: int(want[t]) for t in ("Accidente por MAP", "Accidente por MUSE")}


def test_cli_prints_the_table_and_schema_valid_json(register) -> None:
    _ws, _report, db = register
    runner = CliRunner()
    out = runner.invoke(main, ["stats", "events", "--db", str(db), "--by", "year", "--by", "adm1", "--by",
                               "source_type"])
    assert out.exit_code == 0, out.output
    assert "Accidente por MAP" in out.output and "ANTIOQUIA" in out.output
    out = runner.invoke(main, ["stats", "events", "--db", str(db), "--by", "layer", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    jsonschema.validate(doc, SCHEMA)
    assert [g["layer"] for g in doc["groups"]] == ["accident", "device", "event"]


def _event(ws: Workspace, date: str | None, precision: str, *, state: str = "approved", **kw: Any) -> dict:
    values = {"event_type": "Incautaciones", "event_date": date, "date_precision": precision if date else None,
              "admin1": "META", "geometry": shapely.Point(-73.6, 3.9), **kw}
    return add_record(ws, "event", values, review_state=state)


def test_official_only_retired_never_and_missing_fields_are_counted(ws: Workspace) -> None:
    _event(ws, "2004-12-31", "year")
    _event(ws, "2004-06-15", "day")
    _event(ws, "2005-02-01", "day", state="submitted")
    gone = _event(ws, "2004-03-01", "day")
    retire_record(ws, "event", gone["uuid"], "entered twice")
    _event(ws, None, "year", admin1=None)
    add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2004-06-20", "description": "MAP",
                                "admin1": "META", "geometry": shapely.Point(-73.6, 3.9)}, review_state="published")

    doc = event_counts(ws, by=["year", "month"])
    got = {(g["year"], g["month"]): g["records"] for g in doc["groups"]}
    assert got == {("2004", None): 1, ("2004", "2004-06"): 2, (None, None): 1}
    assert doc["total"] == 4 and doc["missing"] == {"year": 1, "month": 2}

    doc = event_counts(ws, by=["layer", "adm1"], include_submitted=True)
    assert {(g["layer"], g["adm1"]): g["records"] for g in doc["groups"]} == {
        ("event", "META"): 3, ("event", None): 1, ("accident", "META"): 1}
    assert doc["groups"][-1] == {"layer": "event", "adm1": None, "records": 1}  # nulls last
    jsonschema.validate(doc, SCHEMA)


@pytest.mark.parametrize(("by", "layers"), [(["year", "year"], ["event"]), (["colour"], ["event"]),
                                            (["year"], ["hazard_area"])])
def test_an_unknown_or_repeated_grouping_is_refused(ws: Workspace, by: list[str], layers: list[str]) -> None:
    with pytest.raises(SafeGroundError) as info:
        event_counts(ws, by=by, layers=layers)
    assert info.value.code == "stats.bad_grouping" and info.value.hint
