"""Offline field sync: field copies (what they hold, and never personal data a role may not read), merging
offline work back, conflicts; on both backends, the server being a GeoPackage or PostGIS."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import GPKG_ONLY, HAZARD_BOX

from safeground.domain.config import Config
from safeground.domain.errors import SafeGroundError
from safeground.services.records import add_record, update_record
from safeground.services.sync import make_field_copy
from safeground.services.sync_conflicts import list_conflicts, resolve_conflict
from safeground.services.sync_merge import merge_field_copy
from safeground.services.users import add_user
from safeground.services.workspace import Workspace
from safeground.store.gpkg import GeoPackageStore

#: Made-up persons: their names must never reach a copy whose role may not read them.
NAMES = ("Xiomara", "Quintero", "CC-99887766", "310-555-0199")


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """The server, on each backend in turn."""
    return any_ws


@pytest.fixture
def server(ws: Workspace, areas: dict[str, dict]) -> dict[str, Any]:
    """A server with users of each role, and records in Vistahermosa (CO50711) and in Antioquia."""
    for name, role in (("vera", "viewer"), ("dani", "data_entry"), ("quique", "qa")):
        add_user(ws, name, role, None)
    org = add_record(ws, "organisation", {"name": "Demining NGO"})
    other_org = add_record(ws, "organisation", {"name": "Unlinked NGO"})
    hazard = add_record(ws, "hazard_area", {"name": "La Esperanza", "hazard_class": "cha", "status": "open",
                                            "organisation": org["uuid"], "geometry": HAZARD_BOX})
    far = add_record(ws, "hazard_area", {"name": "Far away", "hazard_class": "sha", "status": "open",
                                         "geometry": shapely.box(-75.6, 6.5, -75.59, 6.51)})
    accident = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2023-05-02",
                                           "geometry": shapely.Point(-72.495, 5.005)})
    casualty = add_record(ws, "casualty", {"accident": accident["uuid"], "outcome": "injured", "status": "civilian",
                                           "sex": "female", "given_name": NAMES[0], "family_name": NAMES[1],
                                           "national_id": NAMES[2], "contact": NAMES[3], "age": 34})
    far_accident = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2023-06-02",
                                               "geometry": shapely.Point(-75.5, 6.5)})
    add_record(ws, "casualty", {"accident": far_accident["uuid"], "outcome": "killed", "status": "civilian",
                                "given_name": "Faraway", "family_name": "Person"})
    return {"ws": ws, "org": org, "other_org": other_org, "hazard": hazard, "far": far, "accident": accident,
            "casualty": casualty}


def _layer_uuids(path: Path, layer: str) -> set[str]:
    with GeoPackageStore.open(path) as s:
        return {r["uuid"] for r in s.query(layer, include_retired=True)}


# --- field copies -----------------------------------------------------------------------------------------------
def test_a_field_copy_holds_the_area_and_what_it_links_to_as_a_plain_geopackage(server: dict, tmp_path: Path) -> None:
    ws = server["ws"]
    laptop = tmp_path / "laptop.gpkg"
    copy = make_field_copy(ws, laptop, "Vistahermosa", username="dani")
    assert copy.area == "CO50711" and copy.role == "data_entry" and not copy.personal_fields
    # GDAL (what QGIS and QField use) lists the layers and reads the features.
    layers = dict(pyogrio.list_layers(laptop).tolist())
    assert layers["hazard_area"] in ("MultiPolygon", "Polygon", "Unknown") and "accident" in layers
    hazards = pyogrio.read_dataframe(laptop, layer="hazard_area")
    assert list(hazards["uuid"]) == [server["hazard"]["uuid"]]  # not the hazard in Antioquia
    assert hazards.geometry.iloc[0].equals(HAZARD_BOX)
    assert list(hazards["ref"]) == [server["hazard"]["ref"]]  # the server's refs, so the team speaks of the same
    # The organisation the hazard names travels with it; one nothing in the area names stays behind.
    assert _layer_uuids(laptop, "organisation") >= {server["org"]["uuid"]}
    assert _layer_uuids(laptop, "admin_area") == {_area_uuid(ws, "CO50711")}
    assert _layer_uuids(laptop, "casualty") == {server["casualty"]["uuid"]}
    # It remembers where it came from: the server, the area, the user, the audit sequence, each record's version.
    with GeoPackageStore.open(laptop) as field:
        [row] = field.syncs(kind="copy")
        assert (row["server"], row["area"], row["username"], row["role"]) == (ws.store.location, "CO50711", "dani",
                                                                              "data_entry")
        assert row["server_seq"] == copy.server_seq > 0
        versions = field.sync_versions()
        assert versions[("hazard_area", server["hazard"]["uuid"])] == server["hazard"]["version"]
        # A record made in the field gets a ref after the copied ones.
        fresh = add_record(Workspace(field, "dani"), "hazard_area", {"name": "New", "hazard_class": "sha",
                                                                     "status": "open", "geometry": HAZARD_BOX})
        assert int(fresh["ref"].split("-")[1]) > int(server["far"]["ref"].split("-")[1]) - 1
    # The server keeps a row saying who took which copy.
    assert [s["username"] for s in ws.store.syncs(kind="copy")] == ["dani"]


def _area_uuid(ws: Workspace, code: str) -> str:
    return ws.store.query("admin_area", where={"code": code})[0]["uuid"]


@pytest.mark.parametrize(("user", "casualties", "names"), [("vera", False, False), ("dani", True, False),
                                                           ("quique", True, True)])
def test_a_field_copy_holds_personal_data_only_when_the_role_may_read_it(server: dict, tmp_path: Path, user: str,
                                                                         casualties: bool, names: bool) -> None:
    laptop = tmp_path / f"{user}.gpkg"
    make_field_copy(server["ws"], laptop, "CO50711", username=user)
    raw = laptop.read_bytes()
    assert not Path(str(laptop) + "-wal").exists()  # the file alone is everything
    for name in NAMES:  # anywhere in the file: tables, audit log, free pages
        assert (name.encode() in raw) is names, name
    assert b"Faraway" not in raw  # another area's casualty never travels
    with GeoPackageStore.open(laptop) as field:
        rows = field.query("casualty")
        assert bool(rows) is casualties  # a viewer reads persons only as aggregates
        for r in rows:
            assert (r["given_name"] == NAMES[0]) is names and (r["age"] == 34) is names
            assert r["outcome"] == "injured"  # what the team needs is there


def test_field_copy_refusals(server: dict, tmp_path: Path) -> None:
    ws = server["ws"]
    with pytest.raises(SafeGroundError) as err:
        make_field_copy(ws, tmp_path / "a.gpkg", "Atlantis", username="dani")
    assert err.value.code == "sync.area_unknown"
    with pytest.raises(SafeGroundError) as err:
        make_field_copy(ws, tmp_path / "a.gpkg", "CO50711", username="nobody")
    assert err.value.code == "sync.unknown_user"
    with pytest.raises(SafeGroundError) as err:
        make_field_copy(ws, tmp_path / "a.csv", "CO50711", username="dani")
    assert err.value.code == "sync.bad_target"
    make_field_copy(ws, tmp_path / "a.gpkg", "CO50711", username="dani")
    with pytest.raises(SafeGroundError) as err:
        make_field_copy(ws, tmp_path / "a.gpkg", "CO50711", username="dani")
    assert err.value.code == "sync.target_exists"
    with pytest.raises(SafeGroundError) as err:
        merge_field_copy(ws, tmp_path / "missing.gpkg")
    assert err.value.code == "sync.not_a_field_copy"
    with pytest.raises(SafeGroundError) as err:
        add_user(ws, "rita", "data_entry", None, areas=["CO05"])
        make_field_copy(ws, tmp_path / "b.gpkg", "CO50711", username="rita")
    assert err.value.code == "sync.area_forbidden"


def _mbtiles(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    conn.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    conn.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", "test"), ("format", "png")])
    conn.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", [(0, 0, 0, b"tile-0"), (1, 0, 0, b"tile-1-sw"),
                                                               (1, 1, 1, b"tile-1-ne")])
    conn.commit()
    conn.close()
    return path


def test_a_field_copy_takes_the_configured_basemap_tiles(server: dict, tmp_path: Path) -> None:
    ws = server["ws"]
    make_field_copy(ws, tmp_path / "plain.gpkg", "CO50711", username="dani")
    with sqlite3.connect(tmp_path / "plain.gpkg") as conn:  # without the key, no tiles
        assert not conn.execute("SELECT 1 FROM gpkg_contents WHERE data_type = 'tiles'").fetchall()
    ws.set_config(Config(country="COL", sync={"basemap_tiles": str(_mbtiles(tmp_path / "base.mbtiles"))}))
    copy = make_field_copy(ws, tmp_path / "tiles.gpkg", "CO50711", username="dani")
    assert copy.tiles == 3
    with sqlite3.connect(tmp_path / "tiles.gpkg") as conn:
        assert conn.execute("SELECT table_name, srs_id FROM gpkg_contents WHERE data_type = 'tiles'").fetchall() == [
            ("basemap", 3857)]
        assert conn.execute("SELECT zoom_level, matrix_width FROM gpkg_tile_matrix ORDER BY 1").fetchall() == [
            (0, 1), (1, 2)]
        # MBTiles counts rows from the south, a GeoPackage from the north.
        rows = dict(conn.execute("SELECT tile_data, tile_row FROM basemap WHERE zoom_level = 1").fetchall())
        assert rows == {b"tile-1-sw": 1, b"tile-1-ne": 0}
    assert dict(pyogrio.list_layers(tmp_path / "tiles.gpkg").tolist())["hazard_area"]  # the vector layers still read
    ws.set_config(Config(country="COL", sync={"basemap_tiles": str(tmp_path / "none.mbtiles")}))
    with pytest.raises(SafeGroundError) as err:
        make_field_copy(ws, tmp_path / "bad.gpkg", "CO50711", username="dani")
    assert err.value.code == "sync.bad_basemap"


# --- merging back -------------------------------------------------------------------------------------------------
def test_offline_work_is_merged_back_with_the_same_rules_and_an_audit(server: dict, tmp_path: Path) -> None:
    ws = server["ws"]
    laptop = tmp_path / "laptop.gpkg"
    make_field_copy(ws, laptop, "CO50711", username="dani")
    with Workspace.open(laptop, user="dani") as field:
        update_record(field, "hazard_area", server["hazard"]["uuid"], {"status": "worked_on", "marking": "temporary"})
        # A data-entry copy holds no names: changing the casualty's severity must not erase them on the server.
        update_record(field, "casualty", server["casualty"]["uuid"], {"severity": "serious"})
        evidence = add_record(field, "evidence", {"hazard": server["hazard"]["uuid"], "kind": "direct",
                                                  "evidence_source": "observed",
                                                  "geometry": shapely.Point(-72.495, 5.005)})
        # A record the server's rules refuse (a closed hazard without released land) is quarantined, not lost.
        bad = add_record(field, "hazard_area", {"name": "Odd", "hazard_class": "sha", "status": "open",
                                                "geometry": shapely.box(-72.45, 4.95, -72.44, 4.96)})
        field.store.update("hazard_area", bad["uuid"], {"hazard_class": "not_a_class"}, user="dani")
    before = ws.store.last_change_seq()
    result = merge_field_copy(ws, laptop)
    assert result.counts == {"updated": 2, "inserted": 1, "quarantined": 1}
    hazard = ws.store.get("hazard_area", server["hazard"]["uuid"])
    assert (hazard["status"], hazard["marking"], hazard["updated_by"]) == ("worked_on", "temporary", "dani")
    casualty = ws.store.get("casualty", server["casualty"]["uuid"])
    assert (casualty["severity"], casualty["given_name"], casualty["national_id"], casualty["age"]) == (
        "serious", NAMES[0], NAMES[2], 34)
    stored = ws.store.get("evidence", evidence["uuid"])
    assert (stored["import_run"], stored["created_by"]) == (result.sync_id, "dani")
    [entry] = ws.store.quarantined(import_run=result.sync_id)
    assert entry["code"] == "record.not_in_vocabulary" and entry["raw"]["uuid"] == bad["uuid"]
    changes = list(ws.store.changes_since(before))
    assert {(c.layer, c.op, c.actor) for c in changes if c.layer in ("hazard_area", "casualty", "evidence")} == {
        ("hazard_area", "update", "dani"), ("casualty", "update", "dani"), ("evidence", "insert", "dani")}
    # Merging again brings nothing twice; the copy now knows the server's versions.
    again = merge_field_copy(ws, laptop)
    assert again.counts == {"quarantined": 0} and again.sync_id != result.sync_id
    with GeoPackageStore.open(laptop) as field:
        assert field.sync_versions()[("hazard_area", hazard["uuid"])] == hazard["version"]
        assert field.sync_versions()[("evidence", evidence["uuid"])] == stored["version"]


def test_a_record_changed_on_both_sides_is_a_conflict_a_person_resolves(server: dict, tmp_path: Path) -> None:
    ws = server["ws"]
    laptop = tmp_path / "laptop.gpkg"
    make_field_copy(ws, laptop, "CO50711", username="quique")
    uuid = server["hazard"]["uuid"]
    update_record(ws, "hazard_area", uuid, {"name": "La Esperanza (server)"})
    with Workspace.open(laptop, user="quique") as field:
        update_record(field, "hazard_area", uuid, {"name": "La Esperanza (field)", "marking": "fenced"})
        update_record(field, "accident", server["accident"]["uuid"], {"description": "Found by the team"})
    result = merge_field_copy(ws, laptop)
    assert result.counts == {"conflicts": 1, "updated": 1, "quarantined": 0}
    assert ws.store.get("hazard_area", uuid)["name"] == "La Esperanza (server)"  # never guessed
    [c] = list_conflicts(ws)
    assert (c["ref"], c["base_version"], c["server_version"]) == (server["hazard"]["ref"], 1, 2)
    assert c["fields"]["name"] == {"server": "La Esperanza (server)", "field": "La Esperanza (field)"}
    assert c["fields"]["marking"] == {"server": None, "field": "fenced"}
    ws.user = "quique"
    done = resolve_conflict(ws, c["id"], "merged", sets={"name": "La Esperanza", "marking": "fenced"})
    assert (done["status"], done["resolution"], done["resolved_by"]) == ("resolved", "merged", "quique")
    hazard = ws.store.get("hazard_area", uuid)
    assert (hazard["name"], hazard["marking"], hazard["version"]) == ("La Esperanza", "fenced", done["result_version"])
    audit = [ch for ch in ws.store.changes_since(0) if ch.op == "resolve_conflict"]
    assert [(a.actor, a.after["resolution"]) for a in audit] == [("quique", "merged")]  # type: ignore[index]
    assert list_conflicts(ws) == []
    for bad_id, code in ((c["id"], "conflicts.resolved"), (999, "conflicts.unknown")):
        with pytest.raises(SafeGroundError) as err:
            resolve_conflict(ws, bad_id, "server")
        assert err.value.code == code


def test_keeping_the_field_side_writes_its_changes_and_retirement(server: dict, tmp_path: Path) -> None:
    ws = server["ws"]
    laptop = tmp_path / "laptop.gpkg"
    make_field_copy(ws, laptop, "CO50711", username="quique")
    uuid = server["hazard"]["uuid"]
    update_record(ws, "hazard_area", uuid, {"marking": "temporary"})
    with Workspace.open(laptop, user="quique") as field:
        field.store.retire("hazard_area", uuid, "duplicate of a survey polygon", user="quique")
    merge_field_copy(ws, laptop)
    [c] = list_conflicts(ws)
    resolve_conflict(ws, c["id"], "field")
    hazard = ws.store.get("hazard_area", uuid)
    assert hazard["retired_reason"] == "duplicate of a survey polygon" and hazard["marking"] == "temporary"


def test_a_field_copy_of_real_register_data_holds_exactly_the_events_in_its_area(antioquia_ws: Workspace,
                                                                                  tmp_path: Path) -> None:
    # The register's 5,561 events in Antioquia (real data, located by points); an area around eastern Antioquia.
    ws = antioquia_ws
    add_user(ws, "dani", "data_entry", None)
    outline = shapely.box(-75.4, 5.8, -74.8, 6.3)
    add_record(ws, "admin_area", {"name": "Oriente", "level": 1, "code": "CO05OR", "geometry": outline})
    copy = make_field_copy(ws, tmp_path / "oriente.gpkg", "CO05OR", username="dani")
    for layer in ("accident", "device", "event"):
        inside = {r["uuid"] for r in ws.store.query(layer) if r["geometry"] is not None
                  and outline.intersects(r["geometry"])}
        assert inside, layer
        assert _layer_uuids(tmp_path / "oriente.gpkg", layer) == inside
        assert copy.records[layer] == len(inside)
    assert pyogrio.read_info(tmp_path / "oriente.gpkg", layer="accident")["features"] == copy.records["accident"]


_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40).filter(str.strip)


@GPKG_ONLY
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(_TEXT, min_size=1, max_size=3), returnees=st.integers(0, 10**6), age=st.integers(0, 120))
def test_a_qa_field_copy_holds_every_value_as_the_server_does(server: dict, names: list[str], returnees: int,
                                                              age: int) -> None:
    ws = server["ws"]
    made = [("hazard_area", add_record(ws, "hazard_area", {"name": n, "hazard_class": "sha", "status": "open",
                                                           "expected_returnees": returnees,
                                                           "geometry": HAZARD_BOX})["uuid"]) for n in names]
    made += [("casualty", add_record(ws, "casualty", {"accident": server["accident"]["uuid"], "outcome": "killed",
                                                      "status": "deminer", "given_name": n, "age": age})["uuid"])
             for n in names]
    with tempfile.TemporaryDirectory() as folder:
        make_field_copy(ws, Path(folder) / "copy.gpkg", "CO50711", username="quique")
        with GeoPackageStore.open(Path(folder) / "copy.gpkg") as field:
            for layer, uuid in made:
                assert field.get(layer, uuid) == ws.store.get(layer, uuid)
