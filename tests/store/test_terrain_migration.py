"""Migration 11 (terrain classes for planning): a schema-10 database, whose hazard and team layers lack the
terrain fields, upgrades in place on both backends, keeps its rows and audits edits of the new fields."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import shapely

from safeground.domain.records import RECORD_TYPES
from safeground.store import migrations, open_store, postgis_migrations
from safeground.store.base import Batch


def _without_terrain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the declarations those of schema 10: no terrain fields on hazard_area and team."""
    for layer, names in migrations.TERRAIN_FIELDS.items():
        rt = RECORD_TYPES[layer]
        monkeypatch.setitem(RECORD_TYPES, layer,
                            dataclasses.replace(rt, fields=tuple(f for f in rt.fields if f.name not in names)))


@pytest.fixture(params=["gpkg", "postgis"])
def old_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A schema-10 database with one organisation, team and hazard, made as SafeGround made it before 11."""
    if request.param == "gpkg":
        url = str(tmp_path / "old.gpkg")
        monkeypatch.setattr("safeground.store.gpkg.MIGRATIONS", migrations.MIGRATIONS[:10])
        monkeypatch.setattr("safeground.store.gpkg.SCHEMA_VERSION", 10)
    else:
        url = request.getfixturevalue("pg_empty_url")
        monkeypatch.setattr("safeground.store.postgis.PG_MIGRATIONS", postgis_migrations.PG_MIGRATIONS[:10])
        monkeypatch.setattr("safeground.store.postgis.PG_SCHEMA_VERSION", 10)
    _without_terrain(monkeypatch)
    with open_store(url, create=True) as s:
        org = s.insert("organisation", Batch({"name": ["Old NGO"]}), user="ana")[0]
        s.insert("team", Batch({"name": ["Manual 1"], "organisation": [org], "method": ["manual"],
                                "capacity_m2_week": [2500.0]}, geometry=[shapely.Point(-74.0, 4.6)]), user="ana")
        s.insert("hazard_area", Batch({"name": ["Old field"], "hazard_class": ["cha"], "status": ["open"]},
                                      geometry=[shapely.box(-74.0, 4.6, -73.99, 4.61)]), user="ana")
        assert s.schema_version == 10
    monkeypatch.undo()
    return url


def test_a_schema_10_database_gains_terrain_fields_keeps_its_rows_and_audits_them(old_db: str) -> None:
    with open_store(old_db) as s:
        assert s.schema_version == migrations.SCHEMA_VERSION >= 11
        hazard = s.query("hazard_area", fields=["name", "terrain"])[0]
        team = s.query("team", fields=["name", "capacity_m2_week", "capacity_m2_week_forest"])[0]
        assert (hazard["name"], hazard["terrain"]) == ("Old field", None)  # empty: open ground
        assert (team["name"], team["capacity_m2_week"], team["capacity_m2_week_forest"]) == ("Manual 1", 2500.0, None)
        s.update("hazard_area", hazard["uuid"], {"terrain": "forest"}, user="ana")
        s.update("team", team["uuid"], {"capacity_m2_week_forest": 900.0}, user="ana")
        assert s.query("hazard_area", fields=["terrain"])[0]["terrain"] == "forest"
        assert s.query("team", fields=["capacity_m2_week_forest"])[0]["capacity_m2_week_forest"] == 900.0
        updates = [c for c in s.changes_since(0) if c.op == "update"]
        assert [(c.layer, c.after["terrain"] if c.layer == "hazard_area" else c.after["capacity_m2_week_forest"])
                for c in updates] == [("hazard_area", "forest"), ("team", 900.0)]
        assert updates[0].before["terrain"] is None
