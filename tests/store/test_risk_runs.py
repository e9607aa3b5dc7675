"""Risk runs in the store (migration 9): upgrade from schema 8, cells in input order, one current run (the last two
on both backends)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import psycopg
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeground.domain.errors import NotFoundError
from safeground.store import migrations, open_store
from safeground.store.base import Batch
from safeground.store.gpkg import GeoPackageStore


def _run(kind: str = "fit") -> dict[str, object]:
    return {"kind": kind, "as_of": "2014-12-31", "cells_source": "table", "parameters": {"label": "y"},
            "metrics": {"roc_auc": 0.8}, "model": b"model-bytes", "served": "model"}


def test_a_schema_8_file_upgrades_to_9_with_its_data_and_gains_the_run_tables(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("safeground.store.gpkg.MIGRATIONS", migrations.MIGRATIONS[:8])
    monkeypatch.setattr("safeground.store.gpkg.SCHEMA_VERSION", 8)
    s = open_store(db_path, create=True)
    s.insert("organisation", Batch({"name": ["Old NGO"]}), user="ana")
    assert s.schema_version == 8
    assert not s.connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'safeground_risk_run'").fetchone()
    s.close()
    monkeypatch.undo()
    with open_store(db_path) as s:
        assert s.schema_version == migrations.SCHEMA_VERSION >= 9
        assert [r["name"] for r in s.query("organisation")] == ["Old NGO"]
        run = s.write_risk_run(_run(), {"cell_id": ["a"], "risk": [0.5], "reasons": [[]]}, user="ana")
        assert run["id"] == 1 and run["cell_count"] == 1 and not run["current"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# No NUL (PostgreSQL's text cannot hold it) and no lone surrogate (not text in any UTF-8 store).
@given(st.lists(st.tuples(st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                                  min_size=1, max_size=8),
                          st.floats(0, 1), st.booleans()), min_size=1, max_size=30))
def test_cells_come_back_in_input_order_with_their_values(any_db: str, cells: list) -> None:
    """Any text but NUL, which PostgreSQL refuses (test_postgis.py: with ``store.nul_character``)."""
    db = any_db  # one database for every example: each writes and reads back its own run
    geoms = np.array([shapely.Point(-75 + i * 0.01, 6) if with_geom else None
                      for i, (_, _, with_geom) in enumerate(cells)], dtype=object)
    reasons = [[{"text": f"reason {i}"}] for i in range(len(cells))]
    with open_store(db, create=True) as s:
        run = s.write_risk_run(_run(), {"cell_id": [c[0] for c in cells], "risk": [c[1] for c in cells],
                                        "reasons": reasons, "geometry": geoms}, user="ana")
        back = list(s.risk_cells(run["id"]))
    assert [b["cell_id"] for b in back] == [c[0] for c in cells]
    assert [b["risk"] for b in back] == [c[1] for c in cells]
    assert [b["reasons"] for b in back] == reasons
    for b, g in zip(back, geoms, strict=True):
        assert (b["geometry"] is None) == (g is None)
        if g is not None:
            assert b["geometry"].equals(g)


def test_only_one_run_is_current_and_adoption_is_audited(any_db: str) -> None:
    with open_store(any_db, create=True) as s:
        first = s.write_risk_run(_run("surface"), None, user="ana")
        second = s.write_risk_run(_run("surface"), None, user="ana")
        assert s.risk_runs(current=True) == []
        s.adopt_risk_run(first["id"], user="ana")
        s.adopt_risk_run(second["id"], user="luis")
        assert [r["id"] for r in s.risk_runs(current=True)] == [second["id"]]
        assert s.risk_runs(run_id=second["id"])[0]["adopted_by"] == "luis"
        audit = [c for c in s.changes_since(0) if c.layer == "safeground_risk_run"]
        assert [(a.op, a.actor) for a in audit] == [("risk_adopt", "ana"), ("risk_adopt", "luis")]
        assert audit[1].before == {"current_run": first["id"]} and audit[1].after == {"current_run": second["id"]}
        assert s.risk_run_model(first["id"]) == b"model-bytes"
        # A second current row is impossible even in plain SQL, and runs are never deleted.
        with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
            s.connection.execute("UPDATE safeground_risk_run SET current = " + (
                "1" if isinstance(s, GeoPackageStore) else "true"))
        with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
            s.connection.execute("DELETE FROM safeground_risk_run")
        with pytest.raises(NotFoundError) as info:
            s.adopt_risk_run(99, user="ana")
        assert info.value.code == "risk.run_not_found"
