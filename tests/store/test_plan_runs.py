"""Plan runs in the store (migration 10): upgrade from schema 9, items in order, one current run, kept whole (the
last three on both backends)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeground.domain.errors import NotFoundError
from safeground.store import migrations, open_store
from safeground.store.base import Batch

INTEGRITY = (sqlite3.IntegrityError, psycopg.IntegrityError)


def _run(kind: str = "plan") -> dict[str, object]:
    return {"kind": kind, "start_date": "2026-01-05", "horizon_weeks": 6,
            "parameters": {"teams": ["TM-1"], "time_limit": 5}, "value": 10.0, "greedy_value": 8.0, "bound": 12.0,
            "gap": 1 / 6, "solve_seconds": 0.5, "bound_seconds": 0.1, "status": "feasible",
            "targets": [{"ref": "PT-1", "week": 3}]}


def _item(i: int) -> dict[str, object]:
    return {"team_uuid": "t", "team_ref": f"TM-{i}", "hazard_uuid": "h", "hazard_ref": f"HA-{i}", "start_week": i,
            "end_week": i + 1, "area_m2": 100.0 * i, "method": "manual", "released_week": None if i % 2 else i + 1}


def test_a_schema_9_file_upgrades_to_10_with_its_data_and_gains_the_plan_tables(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("safeground.store.gpkg.MIGRATIONS", migrations.MIGRATIONS[:9])
    monkeypatch.setattr("safeground.store.gpkg.SCHEMA_VERSION", 9)
    s = open_store(db_path, create=True)
    s.insert("organisation", Batch({"name": ["Old NGO"]}), user="ana")
    assert s.schema_version == 9
    assert not s.connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'safeground_plan_run'").fetchone()
    s.close()
    monkeypatch.undo()
    with open_store(db_path) as s:
        assert s.schema_version == migrations.SCHEMA_VERSION >= 10
        assert [r["name"] for r in s.query("organisation")] == ["Old NGO"]
        run = s.write_plan_run(_run(), [_item(1)], user="ana")
        assert run["id"] == 1 and run["item_count"] == 1 and not run["current"]
        assert run["parameters"]["teams"] == ["TM-1"] and run["targets"] == [{"ref": "PT-1", "week": 3}]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 40))
def test_items_come_back_in_plan_order_with_their_values(any_db: str, n: int) -> None:
    with open_store(any_db, create=True) as s:  # one database for every example, a run each
        items = [_item(i) for i in range(n)]
        run = s.write_plan_run(_run(), items, user="ana")
        back = s.plan_items(run["id"])
    assert [{k: v for k, v in b.items() if k != "position"} for b in back] == items
    assert [b["position"] for b in back] == list(range(n))


def test_one_current_run_adoption_is_audited_and_runs_are_kept(any_db: str) -> None:
    with open_store(any_db, create=True) as s:
        first = s.write_plan_run(_run(), [_item(1)], user="ana")
        second = s.write_plan_run(_run(), [_item(2)], user="ana")
        what_if = s.write_plan_run(_run("what_if"), [], user="ana")
        assert not s.plan_runs(current=True)
        s.adopt_plan_run(first["id"], user="bo")
        s.adopt_plan_run(second["id"], user="bo")
        current = s.plan_runs(current=True)
        assert [r["id"] for r in current] == [second["id"]] and current[0]["adopted_by"] == "bo"
        audit = [c for c in s.changes_since(0) if c.layer == "safeground_plan_run"]
        assert [(c.before, c.after) for c in audit] == [({"current_run": None}, {"current_run": first["id"]}),
                                                        ({"current_run": first["id"]}, {"current_run": second["id"]})]
        with pytest.raises(INTEGRITY):  # the schema itself keeps what-ifs from being current
            s.adopt_plan_run(what_if["id"], user="bo")
        assert [r["id"] for r in s.plan_runs(current=True)] == [second["id"]]
        with pytest.raises(NotFoundError) as info:
            s.adopt_plan_run(99, user="bo")
        assert info.value.code == "plan.run_not_found"
        for sql in ("DELETE FROM safeground_plan_run", "UPDATE safeground_plan_item SET area_m2 = 0"):
            with pytest.raises((sqlite3.DatabaseError, psycopg.DatabaseError)):
                s.connection.execute(sql)
        assert len(s.plan_runs()) == 3 and s.plan_items(first["id"])[0]["area_m2"] == 100.0


def test_a_run_whose_items_fail_leaves_nothing_behind(any_db: str) -> None:
    with open_store(any_db, create=True) as s:
        with pytest.raises(INTEGRITY):
            s.write_plan_run(_run(), [_item(1), {**_item(2), "team_ref": None}], user="ana")
        assert s.plan_runs() == []
