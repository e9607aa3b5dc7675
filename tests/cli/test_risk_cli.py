"""`safeground risk evaluate|runs|adopt` on real RELand cells with the register's Antioquia events as evidence."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from safeground.cli import main
from safeground.store import open_store


def test_evaluate_with_evidence_is_stored_as_a_run_that_can_never_become_current(
        reland_csv: Path, antioquia_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "col.gpkg"
    shutil.copy(antioquia_db, db)
    runner = CliRunner()
    args = ["risk", "evaluate", "--cells", str(reland_csv), "--label", "mines_outcome", "--group", "Municipio",
            "--evidence", "--as-of", "2009-12-31", "--trees", "10", "--db", str(db), "--user", "ana"]
    result = runner.invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    scores = {s["score"]: s for s in doc["scores"]}
    assert {"model", "ev_any_dist", "ev_accident_dist", "ev_device_dist", "roads_dist"} <= set(scores)
    assert doc["split"].startswith("leave one group out (5 groups)")
    assert doc["served"] in scores and doc["verdict"]
    assert doc["evidence"]["as_of"] == "2009-12-31" and doc["evidence"]["types"]["device"]["after_cut_off"] > 0
    assert "Municipio" not in doc["columns"]["features"]
    with open_store(db) as store:
        run = store.risk_runs(run_id=doc["run"])[0]
        cells = list(store.risk_cells(doc["run"]))
    assert (run["kind"], run["current"], run["as_of"], run["served"]) == ("evaluate", False, "2009-12-31",
                                                                          doc["served"])
    assert run["metrics"]["scores"] == doc["scores"]
    assert len(cells) == run["cell_count"] == doc["cells"] and cells[0]["cell_id"] == "1"
    assert cells[0]["geometry"] is not None and cells[0]["reasons"]

    tiny = tmp_path / "tiny.csv"  # every fourth cell, without evidence, as text
    lines = reland_csv.read_text(encoding="utf-8").splitlines(keepends=True)
    tiny.write_text(lines[0] + "".join(lines[1::4]), encoding="utf-8")
    text = runner.invoke(main, ["risk", "evaluate", "--cells", str(tiny), *args[4:8], "--trees", "10", "--db",
                                str(db)])
    assert text.exit_code == 0, text.output
    assert "ROC-AUC" in text.output and "never used as negatives" in text.output and "Stored as run 2" in text.output

    listed = runner.invoke(main, ["risk", "runs", "--db", str(db)])
    assert listed.exit_code == 0 and listed.output.count("evaluate") == 2
    refused = runner.invoke(main, ["risk", "adopt", str(doc["run"]), "--db", str(db)])
    assert refused.exit_code == 1 and "risk.not_adoptable" in refused.output
    missing = runner.invoke(main, ["risk", "adopt", "99", "--db", str(db)])
    assert missing.exit_code == 1 and "risk.run_not_found" in missing.output


def test_evidence_without_a_cut_off_is_refused_and_stores_nothing(reland_csv: Path, antioquia_db: Path,
                                                                  tmp_path: Path) -> None:
    db = tmp_path / "col.gpkg"
    shutil.copy(antioquia_db, db)
    result = CliRunner().invoke(main, ["risk", "evaluate", "--cells", str(reland_csv), "--label", "mines_outcome",
                                       "--group", "Municipio", "--evidence", "--db", str(db)])
    assert result.exit_code == 1 and "risk.needs_as_of" in result.output
    with open_store(db) as store:
        assert store.risk_runs() == []


def _other_region(reland_csv: Path, path: Path) -> Path:
    """The same cells as another region would give them: a one-hot column and roads_dist absent, one extra."""
    with reland_csv.open(encoding="utf-8", newline="") as f, path.open("w", encoding="utf-8", newline="") as out:
        rows = csv.reader(f)
        header = next(rows)
        gone = {header.index("CLIMA_Frío muy húmedo"), header.index("roads_dist"), header.index("mines_outcome")}
        w = csv.writer(out)
        w.writerow([*(c for i, c in enumerate(header) if i not in gone), "cell", "extra"])
        w.writerows([*(c for i, c in enumerate(r) if i not in gone), f"c{n}", "1"] for n, r in enumerate(rows))
    return path


def test_fit_then_predict_another_region_by_run_or_model_file(reland_csv: Path, antioquia_db: Path,
                                                              tmp_path: Path) -> None:
    db = tmp_path / "col.gpkg"
    shutil.copy(antioquia_db, db)
    runner = CliRunner()
    model_file = tmp_path / "east.model"
    fit = runner.invoke(main, ["risk", "fit", "--cells", str(reland_csv), "--label", "mines_outcome", "--group",
                               "Municipio", "--evidence", "--as-of", "2009-12-31", "--trees", "10", "--out",
                               str(model_file), "--db", str(db), "--format", "json"])
    assert fit.exit_code == 0, fit.output
    fitted = json.loads(fit.output)
    assert fitted["kind"] == "fit" and model_file.stat().st_size > 0 and fitted["served"]
    assert fitted["tuning"]["inner_folds"] == 5  # one inner fold per municipality (at most 10)
    other = _other_region(reland_csv, tmp_path / "other.csv")
    common = ["--cells", str(other), "--id", "cell", "--evidence", "--as-of", "2009-12-31", "--db", str(db)]
    out_csv = tmp_path / "risk.csv"
    by_run = runner.invoke(main, ["risk", "predict", "--run", str(fitted["run"]), *common, "--out", str(out_csv)])
    assert by_run.exit_code == 0, by_run.output
    assert "taken as 0 (one-hot): ['CLIMA_Frío muy húmedo']" in by_run.output
    assert "taken as missing: ['roads_dist']" in by_run.output and "ignored: ['extra']" in by_run.output
    with out_csv.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    n = sum(1 for _ in other.open(encoding="utf-8")) - 1
    assert [r["cell_id"] for r in rows] == [f"c{i}" for i in range(n)]  # input order, the given ids
    assert all(0 < float(r["risk"]) < 1 and r["reasons"] for r in rows)
    out_gpkg = tmp_path / "risk.gpkg"
    by_file = runner.invoke(main, ["risk", "predict", "--model", str(model_file), *common, "--out", str(out_gpkg),
                                   "--format", "json"])
    assert by_file.exit_code == 0, by_file.output
    import pyogrio

    frame = pyogrio.read_dataframe(out_gpkg)
    assert list(frame["cell_id"][:2]) == ["c0", "c1"]
    assert [round(r, 6) for r in frame["risk"]] == [float(r["risk"]) for r in rows]  # the same model either way
    with open_store(db) as store:
        kinds = [r["kind"] for r in store.risk_runs()]
    assert kinds == ["fit", "predict", "predict"]

    no_evidence = runner.invoke(main, ["risk", "predict", "--run", str(fitted["run"]), "--cells", str(other),
                                       "--db", str(db)])
    assert no_evidence.exit_code == 1 and "risk.needs_evidence" in no_evidence.output
    both = runner.invoke(main, ["risk", "predict", "--run", "1", "--model", str(model_file), *common])
    assert both.exit_code == 1 and "risk.which_model" in both.output
    not_a_model = runner.invoke(main, ["risk", "predict", "--model", str(other), *common])
    assert not_a_model.exit_code == 1 and "risk.bad_model" in not_a_model.output


def test_surface_adopt_out_and_targets_on_the_demo(small_demo: tuple[object, Path], tmp_path: Path) -> None:
    import sqlite3

    import pyogrio

    from safeground.scenario.truth import context_path

    db = tmp_path / "demo.gpkg"
    with sqlite3.connect(small_demo[1]) as src, sqlite3.connect(db) as dst:  # the demo is open, in WAL mode
        src.backup(dst)
    runner = CliRunner()
    out = tmp_path / "risk.gpkg"
    surface = ["risk", "surface", "--as-of", "2025-12-31", "--cell-size", "4000", "--area", "-72.6,4.6,-71.4,5.8",
               "--trees", "10", "--db", str(db), "--user", "ana"]
    # The demo's configuration names its context file beside the database: without it, a clear refusal.
    missing = runner.invoke(main, surface)
    assert missing.exit_code == 1 and "risk.layer_not_found" in missing.output and "--no-layers" in missing.output
    shutil.copy(context_path(small_demo[1]), tmp_path / context_path(small_demo[1]).name)  # under its own name
    made = runner.invoke(main, [*surface, "--adopt", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert "context layers: contact=" in made.output and "settlement=db" in made.output
    assert "positive-unlabelled fit" in made.output and "it is now the current risk run" in made.output
    assert "Stored as run 1 (surface)" in made.output and f"Cells written to {out}" in made.output
    with open_store(db) as store:
        run = store.risk_runs(current=True)[0]
        assert (run["id"], run["kind"], run["adopted_by"]) == (1, "surface", "ana")
        assert len(pyogrio.read_dataframe(out)) == run["cell_count"] > 1000
    listed = runner.invoke(main, ["risk", "targets", "--top-share", "0.05", "--limit", "3", "--db", str(db)])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].startswith("Run 1 (surface, as of 2025-12-31): the ") and lines[1].startswith("1. ")
    assert "expected finds" in lines[1] and "km²" in lines[1]
    doc = json.loads(runner.invoke(main, ["risk", "targets", "--format", "json", "--db", str(db)]).output)
    assert doc["run"] == 1 and doc["targets"][0]["rank"] == 1
    assert sum(t["cell_count"] for t in doc["targets"]) == -(-run["cell_count"] // 10)  # the top 10%, rounded up
    usage = runner.invoke(main, ["risk", "surface", "--as-of", "2025-12-31", "--db", str(db)])
    assert usage.exit_code == 1 and "risk.bad_cell_size" in usage.output


def test_walk_forward_from_the_command_line(antioquia_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "col.gpkg"
    shutil.copy(antioquia_db, db)
    runner = CliRunner()
    result = runner.invoke(main, ["risk", "evaluate", "--walk-forward", "2004,2009,2014", "--cell-size", "20000",
                                  "--area", "-77.2,5.4,-73.8,8.9", "--trees", "10", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "fitted with evidence up to 2004" in result.output and "Served (chosen on 2005-2009 only)" in result.output
    assert "ev_any_dist" in result.output and "Stored as run 1 (evaluate: never current)." in result.output
    refused = runner.invoke(main, ["risk", "adopt", "1", "--db", str(db)])
    assert refused.exit_code == 1 and "risk.not_adoptable" in refused.output
    usage = runner.invoke(main, ["risk", "evaluate", "--db", str(db)])
    assert usage.exit_code == 2 and "--walk-forward" in usage.output


def test_fit_with_a_context_layer_then_predict_needs_it(reland_csv: Path, antioquia_db: Path, tmp_path: Path) -> None:
    """Natural Earth's populated places (real data) as the settlements layer of the RELand cells."""
    places = Path(__file__).resolve().parents[2] / "src/safeground/data/naturalearth/ne_110m_populated_places.geojson"
    db = tmp_path / "col.gpkg"
    shutil.copy(antioquia_db, db)
    runner = CliRunner()
    layer = ["--layer", f"settlement={places}"]
    fit = runner.invoke(main, ["risk", "fit", "--cells", str(reland_csv), "--label", "mines_outcome", "--group",
                               "Municipio", "--trees", "10", *layer, "--db", str(db), "--format", "json"])
    assert fit.exit_code == 0, fit.output
    fitted = json.loads(fit.output)
    with open_store(db) as store:
        features = store.risk_runs(run_id=fitted["run"])[0]["parameters"]["features"]
    assert {"ctx_settlement_dist", "ctx_settlement_n5km"} <= set(features)
    assert "ctx_settlement_dist" in fitted["tuning"]["baselines_roc_auc"]  # a distance, so also a baseline
    assert fitted["evidence"]["layers"]["layers"][0]["features"] > 200  # the world's places, as read
    predict = ["risk", "predict", "--run", str(fitted["run"]), "--cells", str(reland_csv), "--db", str(db)]
    refused = runner.invoke(main, predict)
    assert refused.exit_code == 1 and "risk.needs_layers" in refused.output and "settlement" in refused.output
    done = runner.invoke(main, [*predict, *layer, "--format", "json"])
    assert done.exit_code == 0, done.output
    bad = runner.invoke(main, [*predict, "--layer", "roads=x.gpkg"])
    assert bad.exit_code == 1 and "risk.unknown_layer_kind" in bad.output
