"""`stats publish`, `--as-published` and `stats revisions` on a demo database, through the command line."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from safeground.cli import main
from safeground.services.records import set_review_state
from safeground.services.workspace import Workspace


def invoke(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def schema(name: str) -> dict[str, Any]:
    return json.loads(resources.files("safeground").joinpath(f"data/schemas/{name}.schema.json").read_text())


def without_time(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "generated_at"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int, dict[str, Any]]:
    """A demo database, and the year of a submitted casualty (a report not yet approved) with its record."""
    db = str(tmp_path_factory.mktemp("pub") / "demo.gpkg")
    invoke("demo", "--db", db, "--seed", "7")
    with Workspace.open(db, user="qa") as ws:
        late = ws.store.query("casualty", where={"review_state": "submitted"}, geometry=False)[0]
        year = int(ws.store.get("accident", late["accident"])["accident_date"][:4])
    return db, year, late


VIEWS = [("casualties", "--by", "status"), ("casualties",), ("release", "--by", "adm1"), ("release",),
         ("release", "--by", "organisation"), ("casualties", "--by", "month"),
         ("events",), ("events", "--by", "year", "--by", "adm1"), ("records",)]


def test_as_published_prints_what_was_printed_then_after_a_late_report(demo) -> None:
    db, year, late = demo
    period = {"casualties": ["--since", f"{year}-01-01", "--until", f"{year}-12-31"],
              "release": ["--since", f"{year}-01-01", "--until", f"{year}-12-31"], "events": [], "records": []}
    then = {v: (invoke("stats", v[0], "--db", db, *period[v[0]], *v[1:]).stdout,
                json.loads(invoke("stats", v[0], "--db", db, *period[v[0]], *v[1:], "--format", "json").stdout))
            for v in VIEWS}
    published = json.loads(invoke("stats", "publish", "--year", str(year), "--db", db, "--note", "annual report",
                                  "--user", "im-officer", "--format", "json").stdout)
    jsonschema.validate(published, schema("stats_publish"))
    assert (published["year"], published["published_by"], published["note"]) == (year, "im-officer",
                                                                                 "annual report")

    with Workspace.open(db, user="qa") as ws:  # the late report is approved after publication
        set_review_state(ws, "casualty", late["uuid"], "approved")
    now = json.loads(invoke("stats", "casualties", "--db", db, *period["casualties"], "--format", "json").stdout)
    assert now["records"]["people"] == then[("casualties",)][1]["records"]["people"] + 1

    for v in VIEWS:
        text = invoke("stats", v[0], "--db", db, "--as-published", str(year), *v[1:]).stdout
        doc = json.loads(invoke("stats", v[0], "--db", db, "--as-published", str(year), *v[1:],
                                "--format", "json").stdout)
        jsonschema.validate(doc, schema(f"stats_{v[0]}"))
        if v[0] == "events":  # published: the year's groups only (the command itself has no period)
            groups = [g for g in then[v][1]["groups"] if g["year"] == str(year)]
            assert doc["groups"] == groups and doc["total"] == sum(g["records"] for g in groups) > 0
            assert f": {doc['total']} records" in text
            continue
        assert text == then[v][0], v
        assert without_time(doc) == without_time(then[v][1]), v
    statement = invoke("stats", "casualties", "--db", db, "--as-published", str(year), "--statement").stdout
    assert statement.strip() == then[("casualties",)][1]["statement"]["text"]
    summary = json.loads(invoke("stats", "--db", db, "--as-published", str(year), "--format", "json").stdout)
    assert summary == published
    through_group = invoke("stats", "--db", db, "--as-published", str(year), "casualties", "--by", "month").stdout
    assert through_group == then[("casualties", "--by", "month")][0]

    revised = json.loads(invoke("stats", "revisions", "--db", db, "--year", str(year), "--format", "json").stdout)
    jsonschema.validate(revised, schema("stats_revisions"))
    [entry] = revised["years"]
    people = [c for c in entry["changes"] if (c["view"], c["figure"]) == ("casualties", "records.people")]
    assert [(c["published"], c["current"], c["difference"]) for c in people] == [
        (then[("casualties",)][1]["records"]["people"], now["records"]["people"], 1)]
    assert [(r["ref"], r["change"]) for r in entry["records"]] == [(late["ref"], "approved")]
    text = invoke("stats", "revisions", "--db", db).stdout
    assert late["ref"] in text and "records.people" in text


def test_publishing_again_keeps_version_one_printable(demo) -> None:
    db, year, _late = demo
    first = json.loads(invoke("stats", "publish", "--year", str(year - 1), "--db", db, "--format", "json").stdout)
    second = json.loads(invoke("stats", "publish", "--year", str(year - 1), "--db", db, "--format", "json").stdout)
    assert (first["version"], second["version"]) == (1, 2)
    assert second["fingerprint"] == first["fingerprint"]  # nothing changed between them
    one = json.loads(invoke("stats", "--db", db, "--as-published", str(year - 1), "--version", "1",
                            "--format", "json").stdout)
    assert one == first


def test_refusals_say_what_was_published_and_how_to_publish(demo) -> None:
    db, year, _late = demo
    invoke("stats", "publish", "--year", str(year), "--db", db)
    err = invoke("stats", "casualties", "--db", db, "--as-published", "1999", code=1).stderr
    assert err.startswith("Error: stats.not_published:") and str(year) in err
    assert "safeground stats publish --year 1999" in err
    err = invoke("stats", "casualties", "--db", db, "--as-published", str(year), "--by", "sex", "--by", "status",
                 code=1).stderr
    assert "stats.view_not_published" in err and "casualties --by sex" in err
    problem = json.loads(invoke("stats", "events", "--db", db, "--as-published", "1999", "--format", "json",
                                code=1).stderr)
    assert problem["code"] == "stats.not_published"
    assert "--as-published" in invoke("stats", "release", "--db", db, "--version", "1", code=2).output
    assert "--since" in invoke("stats", "casualties", "--db", db, "--as-published", str(year), "--since",
                               "2020-01-01", code=2).output
    assert "--include-submitted" in invoke("stats", "--db", db, "--include-submitted", "--as-published", str(year),
                                           code=2).output
    assert "stats.bad_year" in invoke("stats", "publish", "--db", db, "--year", "3000", code=1).stderr
