"""`safeground stats release` on a demo database: JSON valid against its schema, figures equal pandas' tally."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from safeground.cli import main


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    run("demo", "--db", str(db), "--seed", "5")
    return db


def schema() -> dict:
    text = resources.files("safeground").joinpath("data/schemas/stats_release.schema.json").read_text("utf-8")
    return json.loads(text)


def official_released(db: Path) -> pd.DataFrame:
    df = pyogrio.read_dataframe(db, layer="released_area", read_geometry=False)
    keep = (df["review_state"].isin(["approved", "published"]) & df["retired_at"].isna()
            & (df["release_status"] == "released"))
    return df[keep].assign(year=lambda d: d["released_on"].astype(str).str[:4].astype(int))


@pytest.mark.parametrize("by", [[], ["year"], ["organisation", "adm2"], ["year", "adm1", "adm2", "organisation"]])
def test_json_output_follows_its_schema(demo_db: Path, by: list[str]) -> None:
    args = [a for b in by for a in ("--by", b)]
    doc = json.loads(run("stats", "--db", str(demo_db), "release", "--format", "json", *args))
    jsonschema.validate(doc, schema(), format_checker=jsonschema.FormatChecker())
    assert doc["by"] == (by or ["year"])


def test_released_km2_by_year_and_kind_equal_pandas(demo_db: Path) -> None:
    doc = json.loads(run("stats", "--db", str(demo_db), "--format", "json", "release", "--by", "year"))
    expected = official_released(demo_db).groupby(["year", "kind"])["area_m2"].sum() / 1e6
    assert len(doc["released"]["groups"]) == expected.index.get_level_values("year").nunique() > 1
    for g in doc["released"]["groups"]:
        for kind in ("cancelled", "reduced", "cleared"):
            assert g[f"{kind}_km2"] == pytest.approx(expected.get((g["year"], kind), 0.0), abs=1e-6)


def test_since_until_and_text_tables(demo_db: Path) -> None:
    df = official_released(demo_db)
    since, until = "2019-01-01", "2022-12-31"
    doc = json.loads(run("stats", "--db", str(demo_db), "release", "--format", "json", "--since", since,
                         "--until", until))
    kept = df[(df["released_on"].astype(str) >= since) & (df["released_on"].astype(str) <= until)]
    assert doc["released"]["total"]["polygons"] == len(kept) > 0
    text = run("stats", "--db", str(demo_db), "release", "--by", "adm1")
    for heading in ("Released land (km²), by adm1", "Remaining contamination", "Contamination labels",
                    "Devices destroyed", "Productivity"):
        assert heading in text


def test_bad_date_is_refused(demo_db: Path) -> None:
    result = CliRunner().invoke(main, ["stats", "--db", str(demo_db), "release", "--since", "2024-13-01"])
    assert result.exit_code == 2 and "--since" in result.output


def test_db_can_follow_the_subcommand_as_everywhere_else(demo_db: Path) -> None:
    after = json.loads(run("stats", "release", "--db", str(demo_db), "--format", "json"))
    before = json.loads(run("stats", "--db", str(demo_db), "release", "--format", "json"))
    assert {k: v for k, v in after.items() if k != "generated_at"} == \
        {k: v for k, v in before.items() if k != "generated_at"}
    assert after["released"]["total"]["polygons"] > 0
