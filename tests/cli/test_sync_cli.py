"""``safeground sync`` and ``safeground conflicts`` on the command line, the server on each backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import HAZARD_BOX

from safeground.cli import main
from safeground.services.records import add_record, update_record
from safeground.services.users import add_user
from safeground.services.workspace import Workspace


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    return any_ws


def test_copy_merge_and_resolve_a_conflict_from_the_command_line(ws: Workspace, areas: dict[str, dict],
                                                                 tmp_path: Path) -> None:
    add_user(ws, "quique", "qa", None)
    hazard = add_record(ws, "hazard_area", {"name": "La Esperanza", "hazard_class": "cha", "status": "open",
                                            "geometry": HAZARD_BOX})
    db, laptop = ws.store.location, str(tmp_path / "laptop.gpkg")
    copy = json.loads(run("sync", "--area", "Vistahermosa", "--from", db, "--to", laptop, "--user", "quique",
                          "--format", "json"))
    assert (copy["area"], copy["role"], copy["personal_fields"], copy["records"]["hazard_area"]) == (
        "CO50711", "qa", True, 1)
    update_record(ws, "hazard_area", hazard["uuid"], {"marking": "fenced"})
    with Workspace.open(laptop, user="quique") as field:
        update_record(field, "hazard_area", hazard["uuid"], {"marking": "temporary"})
    merged = json.loads(run("sync", "--from", laptop, "--to", db, "--format", "json"))
    assert merged["counts"]["conflicts"] == 1 and len(merged["conflicts"]) == 1
    [listed] = json.loads(run("conflicts", "list", "--db", db, "--format", "json"))
    assert listed["fields"] == {"marking": {"server": "fenced", "field": "temporary"}}
    assert "marking: server 'fenced' | field 'temporary'" in run("conflicts", "list", "--db", db)
    cid = str(listed["id"])
    assert "conflicts.nothing_set" in run("conflicts", "resolve", cid, "--keep", "merged", "--db", db, code=1)
    assert "FIELD=VALUE" in run("conflicts", "resolve", cid, "--keep", "merged", "--set", "marking", "--db", db,
                                code=2)
    out = run("conflicts", "resolve", cid, "--keep", "field", "--db", db, "--user", "quique")
    assert f"Conflict {cid} on {hazard['ref']} resolved: kept field" in out
    assert ws.store.get("hazard_area", hazard["uuid"])["marking"] == "temporary"
    assert run("conflicts", "list", "--db", db) == "No conflicts to resolve.\n"
    assert "conflicts.unknown" in run("conflicts", "resolve", "999", "--keep", "server", "--db", db, code=1)
    # The server itself is no field copy (it keeps rows of the copies it gave, not one of its own).
    assert "sync.not_a_field_copy" in run("sync", "--from", db, "--to", db, code=1)
