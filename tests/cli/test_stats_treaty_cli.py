"""`safeground stats eore|assistance|article7` on the demo database: JSON valid against its schema, figures
equal to pandas reading the layers with pyogrio, CSV files written and never overwritten."""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from safeground.cli import main

GROUPS = ["women", "girls", "boys", "men"]


def run(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def schema(name: str) -> dict[str, Any]:
    text = resources.files("safeground").joinpath(f"data/schemas/stats_{name}.schema.json").read_text("utf-8")
    return json.loads(text)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    run("demo", "--db", str(db), "--seed", "5")
    return db


def official(db: Path, layer: str) -> pd.DataFrame:
    df = pyogrio.read_dataframe(db, layer=layer, read_geometry=False)
    return df[df["review_state"].isin(["approved", "published"]) & df["retired_at"].isna()]


@pytest.mark.parametrize(("name", "args"), [
    ("eore", ["eore"]), ("eore", ["eore", "--by", "adm1", "--by", "method", "--by", "month"]),
    ("eore", ["eore", "--since", "2020-01-01", "--until", "2021-06-30", "--by", "organisation"]),
    ("assistance", ["assistance"]),
    ("assistance", ["assistance", "--by", "service", "--by", "outcome", "--by", "sex", "--by", "age_group",
                    "--by", "status", "--by", "year"]),
    ("article7", ["article7", "--treaty", "apmbc", "--year", "2024"]),
    ("article7", ["article7", "--treaty", "ccm", "--year", "2021", "--include-submitted"]),
])
def test_json_output_follows_its_schema(demo_db: Path, name: str, args: list[str]) -> None:
    doc = json.loads(run("stats", "--db", str(demo_db), *args, "--format", "json").stdout)
    jsonschema.validate(doc, schema(name), format_checker=jsonschema.FormatChecker())


def test_eore_by_year_equals_pandas(demo_db: Path) -> None:
    doc = json.loads(run("stats", "--db", str(demo_db), "--format", "json", "eore", "--by", "year").stdout)
    df = official(demo_db, "eore_session").assign(year=lambda d: d["session_date"].astype(str).str[:4])
    expected = df.groupby("year")[GROUPS].sum()
    assert len(doc["groups"]) == len(expected) > 1
    for g in doc["groups"]:
        assert [g[k] for k in GROUPS] == expected.loc[g["year"]].astype(int).tolist()
        assert g["sessions"] == int((df["year"] == g["year"]).sum())
    assert doc["total"]["beneficiaries"] == int(df[GROUPS].sum().sum())


def test_assistance_counts_equal_pandas(demo_db: Path) -> None:
    doc = json.loads(run("stats", "assistance", "--db", str(demo_db), "--by", "service", "--format", "json").stdout)
    df = official(demo_db, "assistance_referral")
    casualties = pyogrio.read_dataframe(demo_db, layer="casualty", read_geometry=False)
    assert set(df["casualty"]) <= set(casualties["uuid"])  # every referral names a stored casualty
    assert doc["total"] == {"referrals": len(df), "people": df["casualty"].nunique()}  # no confirmed links here
    for s, n in df.groupby("service").size().items():
        assert doc["by_service"][s]["referrals"] == n
    text = run("stats", "assistance", "--db", str(demo_db)).stdout
    assert "people referred" in text and "emergency_medical" in text


def test_article7_writes_csv_and_says_so(demo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "article7"
    text = run("stats", "article7", "--db", str(demo_db), "--treaty", "apmbc", "--year", "2024", "--out",
               str(out)).stdout
    for form in ("Form C:", "Form F:", "Form G:", "Form I:", "Form J:"):
        assert form in text
    written = sorted(out.iterdir())
    assert len(written) == 5 and all(f"Wrote {p}" in text for p in written)
    doc = json.loads(run("stats", "article7", "--db", str(demo_db), "--treaty", "apmbc", "--year", "2024",
                         "--format", "json").stdout)
    with (out / "article7_apmbc_2024_contaminated_areas.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    table = doc["tables"]["contaminated_areas"]
    assert rows[0] == table["columns"] and rows[-1][0] == "total"
    assert int(rows[-1][table["columns"].index("areas")]) == table["total"]["areas"] > 0
    again = CliRunner().invoke(main, ["stats", "article7", "--db", str(demo_db), "--treaty", "apmbc", "--year",
                                      "2024", "--out", str(out)])
    assert again.exit_code == 1 and "export.target_exists" in again.output


def test_json_with_out_keeps_stdout_pure_json(demo_db: Path, tmp_path: Path) -> None:
    result = run("stats", "article7", "--db", str(demo_db), "--treaty", "ccm", "--year", "2023", "--out",
                 str(tmp_path), "--format", "json")
    doc = json.loads(result.stdout)
    assert doc["treaty"] == "ccm" and doc["tables"]["risk_education"]["form"] == "G"
    assert "Wrote" in result.stderr and len(list(tmp_path.iterdir())) == 5


def test_refusals_exit_with_a_code(demo_db: Path) -> None:
    result = CliRunner().invoke(main, ["stats", "eore", "--db", str(demo_db), "--since", "2024-31-01"])
    assert result.exit_code == 1 and "stats.bad_date" in result.output
    result = CliRunner().invoke(main, ["stats", "article7", "--db", str(demo_db), "--treaty", "ccm", "--year", "12"])
    assert result.exit_code == 1 and "stats.bad_year" in result.output
    result = CliRunner().invoke(main, ["stats", "article7", "--db", str(demo_db), "--treaty", "ottawa"])
    assert result.exit_code == 2
