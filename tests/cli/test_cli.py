"""The command line as a user meets it: two-command quick start, JSON output, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from tests.conftest import HAZARD_BOX

from safeground.cli import main
from safeground.domain.records import LAYERS


def run(*args: str, env: dict[str, str] | None = None, ok: bool = True):
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    run("demo", "--db", str(db), "--seed", "3")
    return db


def test_demo_counts_match_what_gdal_reads_and_truth_is_separate(demo_db: Path) -> None:
    doc = json.loads(run("stats", "--db", str(demo_db), "--format", "json").stdout)
    assert set(doc["layers"]) == set(LAYERS)
    for layer in LAYERS:
        assert len(pyogrio.read_dataframe(demo_db, layer=layer)) == doc["layers"][layer]["records"], layer
    assert doc["layers"]["hazard_area"]["records"] > 0 and doc["contamination"]["hazards"] > 0
    assert doc["casualties"]["total"] > 0 and doc["land_release"]["released_km2"] > 0
    truth = demo_db.with_name("demo.truth.gpkg")
    assert truth.exists()
    truth_layers = {str(name) for name in pyogrio.list_layers(truth)[:, 0]}
    assert not truth_layers & set(LAYERS), "ground truth never sits in a record layer"
    main_tables = {str(name) for name in pyogrio.list_layers(demo_db)[:, 0]}
    assert not main_tables & truth_layers


def test_demo_has_one_account_per_role_with_its_password_readable_by_its_owner_only(demo_db: Path) -> None:
    from safeground.services.users import authenticate, list_users
    from safeground.services.workspace import Workspace

    accounts = demo_db.with_name("demo.accounts.txt")
    assert accounts.stat().st_mode & 0o077 == 0, "passwords are for the owner only"
    rows = [line.split() for line in accounts.read_text().splitlines() if not line.startswith("#")]
    assert sorted(role for _name, role, _pw in rows) == ["admin", "data_entry", "qa", "viewer"]
    with Workspace.open(demo_db, read_only=True) as ws:
        assert {u.username for u in list_users(ws)} == {name for name, _role, _pw in rows}
        name, role, password = rows[0]
        assert authenticate(ws, name, password).role.value == role


def test_stats_text_is_readable(demo_db: Path) -> None:
    out = run("stats", "--db", str(demo_db)).stdout
    for heading in ("Contamination", "Land release", "Devices", "Accidents and casualties",
                    "Explosive ordnance risk education"):
        assert heading in out


def test_demo_refuses_to_build_over_existing_data(demo_db: Path) -> None:
    before = demo_db.read_bytes()
    result = run("demo", "--db", str(demo_db), ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: demo.not_empty:") and result.stderr.count("\n") == 1
    assert demo_db.read_bytes() == before


def test_backup_reopens_with_identical_counts(demo_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "backup.gpkg"
    run("backup", "--db", str(demo_db), "--to", str(target))
    a = json.loads(run("stats", "--db", str(demo_db), "--format", "json").stdout)
    b = json.loads(run("stats", "--db", str(target), "--format", "json").stdout)
    for key in ("layers", "contamination", "land_release", "devices", "casualties", "eore", "accidents"):
        assert a[key] == b[key], key


def test_init_sets_and_keeps_configuration(tmp_path: Path) -> None:
    db = str(tmp_path / "n.gpkg")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("release:\n  clearance_min_depth_cm: 13\n")
    doc = json.loads(run("init", "--db", db, "--country", "ukr", "--config", str(cfg), "--format", "json").stdout)
    assert doc["config"]["country"] == "UKR" and doc["config"]["release"]["clearance_min_depth_cm"] == 13
    doc = json.loads(run("init", "--db", db, "--country", "COL", "--format", "json").stdout)
    assert doc["config"]["country"] == "COL" and doc["config"]["release"]["clearance_min_depth_cm"] == 13


def test_bad_configuration_key_is_one_line_error_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "n.gpkg"
    run("init", "--db", str(db), "--country", "COL")
    before = db.read_bytes()
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("relase:\n  clearance_min_depth_cm: 13\n")
    result = run("init", "--db", str(db), "--config", str(cfg), ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: config.invalid: ") and "relase" in result.stderr
    assert result.stderr.count("\n") == 1
    assert db.read_bytes() == before


def test_import_export_and_who_is_acting(tmp_path: Path) -> None:
    db = str(tmp_path / "i.gpkg")
    run("init", "--db", db, "--country", "COL")
    src = tmp_path / "h.geojson"
    gpd.GeoDataFrame({"name": ["Vereda 1"], "hazard_class": ["sha"], "status": ["open"]}, geometry=[HAZARD_BOX],
                     crs=4326).to_file(src)
    doc = json.loads(run("import", str(src), "--as", "hazard_area", "--db", db, "--format", "json",
                         env={"SAFEGROUND_USER": "field-officer"}).stdout)
    assert doc["rows_stored"] == 1
    run("import", str(src), "--as", "hazard_area", "--db", db, "--user", "qa-lead")
    out = tmp_path / "out.gpkg"
    assert "Exported 2 hazard_area records" in run("export", "--layer", "hazard_area", "--to", str(out),
                                                   "--db", db).stdout
    df = pyogrio.read_dataframe(out)
    assert sorted(df["created_by"]) == ["field-officer", "qa-lead"]


def test_failed_import_prints_code_and_hint_and_leaves_db_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "i.gpkg"
    run("init", "--db", str(db), "--country", "COL")
    before = db.read_bytes()
    src = tmp_path / "b.geojson"
    gpd.GeoDataFrame({"name": ["x"], "hazard_class": ["sha"], "status": ["open"]}, geometry=[HAZARD_BOX],
                     crs=4326).to_file(src)
    src.write_text(src.read_text()[:-40])  # truncated in transfer
    result = run("import", str(src), "--as", "hazard_area", "--db", str(db), ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: io.unreadable: b.geojson cannot be read as a vector file:")
    assert "Hint:" in result.stderr and result.stderr.count("\n") == 1
    assert db.read_bytes() == before
    problem = json.loads(run("import", str(src), "--as", "hazard_area", "--db", str(db), "--format", "json",
                             ok=False).stderr)
    assert problem["code"] == "io.unreadable" and problem["status"] == 422


def test_import_of_a_file_reports_its_quarantined_features(tmp_path: Path) -> None:
    db = str(tmp_path / "q.gpkg")
    run("init", "--db", db, "--country", "COL")
    bowtie = shapely.Polygon([(-72.5, 5.0), (-72.49, 5.01), (-72.49, 5.0), (-72.5, 5.01)])
    src = tmp_path / "b.geojson"
    gpd.GeoDataFrame({"name": ["Bowtie", "Box", "Spot"], "hazard_class": ["sha"] * 3, "status": ["open"] * 3},
                     geometry=[bowtie, HAZARD_BOX, shapely.Point(-72.495, 5.005)], crs=4326).to_file(src)
    text = run("import", str(src), "--as", "hazard_area", "--db", db).stdout
    assert "Imported 1 of 3 rows" in text and "quarantined 2" in text
    assert "geometry.invalid" in text and "geometry.wrong_type" in text
    check = json.loads(run("check", "--db", db, "--format", "json").stdout)
    assert [f["check"] for f in check["findings"]].count("quarantine") == 2


def test_missing_database_says_how_to_create_one(tmp_path: Path) -> None:
    result = run("stats", "--db", str(tmp_path / "none.gpkg"), ok=False)
    assert result.exit_code == 1 and "store.not_found" in result.stderr and "safeground init" in result.stderr
    assert not (tmp_path / "none.gpkg").exists()


def test_console_script_is_installed_and_quiet_on_stderr_without_a_terminal(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("safeground")
    db = tmp_path / "p.gpkg"
    env = {**os.environ, "SAFEGROUND_DB": str(db)}
    proc = subprocess.run([str(exe), "init", "--country", "COL"], capture_output=True, text=True, env=env,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and db.exists()


def _colombia_sample(tmp_path: Path) -> tuple[str, Path]:
    """A new Colombia database, and 20 rows of the real register that include the 2004 row at +74.23."""
    from tests.conftest import DATA

    db = str(tmp_path / "c.gpkg")
    run("init", "--db", db, "--country", "COL")
    lines = (DATA / "colombia_aicma" / "events_1990_2014.csv").read_text(encoding="utf-8").splitlines()
    sample = tmp_path / "sample.csv"
    sample.write_text("\n".join([lines[0], *lines[5770:5790]]) + "\n", encoding="utf-8")
    return db, sample


def test_import_through_a_mapping_reports_what_was_quarantined(tmp_path: Path) -> None:
    db, sample = _colombia_sample(tmp_path)
    doc = json.loads(run("import", str(sample), "--mapping", "colombia_aicma", "--db", db, "--format", "json").stdout)
    assert (doc["rows_read"], doc["rows_stored"], doc["rows_quarantined"]) == (20, 19, 1)
    assert doc["quarantine_reasons"] == {"geometry.outside_country": 1}
    result = run("import", str(sample), "--db", db, ok=False)
    assert result.exit_code == 2 and "--as LAYER" in result.stderr


def test_duplicate_casualties_are_listed_and_decided_by_ref_never_by_name(tmp_path: Path) -> None:
    from safeground.services.records import add_record
    from safeground.services.workspace import Workspace

    db = str(tmp_path / "d.gpkg")
    run("init", "--db", db, "--country", "COL")
    with Workspace.open(db, user="clerk") as ws:
        for source, x, given, family in (("report.csv", -72.495, "María", "Pérez"),
                                         ("hospital.csv", -72.4915, "Maria", "Perez")):
            acc = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2021-03-14",
                                              "geometry": shapely.Point(x, 5.005), "source": source})
            add_record(ws, "casualty", {"accident": acc["uuid"], "outcome": "injured", "status": "civilian",
                                        "given_name": given, "family_name": family, "source": source})
    checked = run("check", "--db", db, "--format", "json").stdout
    [finding] = [f for f in json.loads(checked)["findings"] if f["check"] == "duplicate_casualty"]
    assert finding["ref"] == "CS-000002" and "CS-000001" in finding["problem"]
    listed = run("duplicates", "list", "--db", db, "--status", "proposed", "--format", "json").stdout
    [link] = json.loads(listed)["links"]
    assert (link["ref"], link["duplicate_of_ref"], link["kind"]) == ("CS-000002", "CS-000001", "probable_casualty")
    text = run("duplicates", "list", "--db", db).stdout
    for output in (checked, listed, text):
        assert "Mar" not in output and "Pérez" not in output and "Perez" not in output
    decided = run("duplicates", "confirm", str(link["id"]), "--db", db, "--user", "im-officer").stdout
    assert "confirmed by im-officer" in decided
    again = run("duplicates", "reject", str(link["id"]), "--db", db, ok=False)
    assert again.exit_code == 1 and "duplicate.already_decided" in again.stderr
    assert json.loads(run("duplicates", "list", "--db", db, "--status", "proposed", "--format", "json").stdout) \
        == {"links": [], "count": 0}
    assert "duplicate_casualty" not in run("check", "--db", db).stdout


def test_minefield_records_import_then_match_against_the_ground(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "mf.gpkg"
    run("init", "--db", str(db), "--country", "COL")
    records = Path(__file__).resolve().parents[1] / "data" / "minefield_records.csv"
    doc = json.loads(run("import", str(records), "--mapping", "minefield_records", "--db", str(db),
                         "--format", "json").stdout)
    assert (doc["rows_read"], doc["rows_stored"], doc["rows_quarantined"], doc["perimeters"]) == (3, 2, 1, 2)
    matched = json.loads(run("minefields", "match", "--db", str(demo_db), "--format", "json").stdout)
    stats = json.loads(run("stats", "--db", str(demo_db), "--format", "json").stdout)
    assert len(matched["records"]) == stats["layers"]["minefield_record"]["records"]
    assert any(r["found_inside"] + r["found_outside"] > 0 for r in matched["records"])
    text = run("minefields", "match", "--db", str(demo_db), "--distance", "100").stdout
    assert text.startswith(f"{len(matched['records'])} minefield records matched (finds up to 100 m")


def test_quarantine_export_then_import_of_the_fixed_file(tmp_path: Path) -> None:
    db, sample = _colombia_sample(tmp_path)
    run("import", str(sample), "--mapping", "colombia_aicma", "--db", db)
    fix = tmp_path / "fix.csv"
    doc = json.loads(run("quarantine", "export", "--to", str(fix), "--db", db, "--format", "json").stdout)
    assert doc == {"file": str(fix), "rows": 1}
    fix.write_text(fix.read_text(encoding="utf-8").replace(",74.23416667,", ",-74.23416667,"), encoding="utf-8")
    result = run("import", str(fix), "--mapping", "colombia_aicma", "--db", db)
    assert "Resolved 1 quarantine entries" in result.stdout
    assert "No open quarantine entries" in run("quarantine", "export", "--to", str(tmp_path / "again.csv"),
                                               "--db", db).stdout


def test_stats_casualties_statement_table_and_json(demo_db: Path) -> None:
    from importlib import resources

    import jsonschema

    schema_file = resources.files("safeground").joinpath("data/schemas/stats_casualties.schema.json")
    schema = json.loads(schema_file.read_text())
    db = str(demo_db)
    doc = json.loads(run("stats", "--db", db, "casualties", "--since", "2016-01-01", "--by", "year", "--by", "device",
                         "--format", "json").stdout)
    jsonschema.validate(doc, schema)
    s = doc["statement"]
    sentence = run("stats", "--db", db, "casualties", "--since", "2016-01-01", "--statement").stdout.strip()
    assert sentence == s["text"]
    assert sentence.startswith(f"Since 1 January 2016, {s['killed']} people have been killed by mines and explosive "
                               f"remnants of war, including {s['killed_civilians']} civilians, ")
    table = run("stats", "--db", db, "casualties", "--by", "sex").stdout
    assert "women and girls" in table and "missing" in table
    assert sum(r["people"] for r in doc["breakdown"]) == doc["records"]["people"]
    bad = run("stats", "--db", db, "casualties", "--statement", ok=False)
    assert bad.exit_code == 1 and "stats.statement_needs_since" in bad.stderr


def test_stats_summary_json_matches_its_schema(demo_db: Path) -> None:
    """The plain summary's JSON is documented by a schema, official and with submitted records alike, and its
    parts add up: casualties by status to the totals, beneficiaries to women + girls + boys + men."""
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("safeground").joinpath("data/schemas/stats.schema.json").read_text())
    for extra in ((), ("--include-submitted",)):
        doc = json.loads(run("stats", "--db", str(demo_db), *extra, "--format", "json").stdout)
        jsonschema.validate(doc, schema)
        cas = doc["casualties"]
        for outcome in ("killed", "injured", "unknown"):
            assert sum(s[outcome] for s in cas["by_status"].values()) <= cas[outcome]
        assert cas["killed"] + cas["injured"] + cas["unknown"] == cas["total"]
        e = doc["eore"]
        assert e["women"] + e["girls"] + e["boys"] + e["men"] == e["beneficiaries"]
    bad = {**doc, "casualties": {**doc["casualties"], "names": ["x"]}}  # no field beyond the aggregates
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
