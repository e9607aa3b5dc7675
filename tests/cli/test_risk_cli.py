"""`safeground risk evaluate|runs|adopt` on real RELand cells with the register's Antioquia events as evidence."""

from __future__ import annotations

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

    text = runner.invoke(main, [*args[:-6], "--db", str(db)])  # the same, without evidence, as text
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
