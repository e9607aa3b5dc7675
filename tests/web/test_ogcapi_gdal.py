"""A real OGC API – Features client against a real server: GDAL's OAPIF driver (through pyogrio) reads every
public collection of ``safeground serve`` over HTTP, with a spatial filter, and the casualty collection with a
data entry clerk's credentials. The records come from Colombia's real mine-event register."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
import shapely
from tests.web.serving import served

from safeground.domain.records import record_type
from safeground.services import credentials, users
from safeground.services.features import collection_layers
from safeground.services.mapped_import import import_csv
from safeground.services.records import add_record, set_review_state
from safeground.services.workspace import Workspace

REGISTER = Path(__file__).resolve().parents[2] / "data" / "colombia_aicma" / "events_1990_2014.csv"
ROWS = 400  # the register's first rows: accidents, devices found and other events of 1990-1995
ANTIOQUIA = (-77.2, 5.4, -73.8, 8.9)  # roughly the department's box, for the spatial filter


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The register's first rows imported (approved, as official data), two in three of them published; two
    published hazards; a published casualty; and a data entry clerk's credentials."""
    folder = tmp_path_factory.mktemp("oapif")
    with REGISTER.open(encoding="utf-8") as src, (folder / "register.csv").open("w", encoding="utf-8") as out:
        writer = csv.writer(out)
        for i, row in enumerate(csv.reader(src)):
            if i > ROWS:
                break
            writer.writerow(row)
    path = folder / "oapif.gpkg"
    with pytest.MonkeyPatch.context() as mp, Workspace.open(path, user="ana", create=True) as ws:
        mp.setattr(credentials, "HASHER", credentials.FAST_FOR_TESTS)
        import_csv(ws, folder / "register.csv", "colombia_aicma")
        for layer in ("accident", "device", "event"):
            for k, r in enumerate(ws.store.query(layer, geometry=False, fields=[])):
                if k % 3:
                    set_review_state(ws, layer, r["uuid"], "published")
        for name, box in (("Las Palmas", (-73.70, 3.40, -73.69, 3.41)), ("Nechí", (-74.78, 8.09, -74.77, 8.10))):
            add_record(ws, "hazard_area", {"name": name, "hazard_class": "sha", "status": "open",
                                           "geometry": shapely.box(*box)}, review_state="published")
        accident = ws.store.query("accident", where={"review_state": "published"}, limit=1)[0]
        add_record(ws, "casualty", {"accident": accident["uuid"], "outcome": "killed", "status": "civilian",
                                    "given_name": "Maria"}, review_state="published")
        users.add_user(ws, "dora", "data_entry", "a long passphrase")
        (folder / "token").write_text(users.create_token(ws, "dora")[0])
    return path


@pytest.fixture(scope="module")
def server(db: Path) -> Iterator[str]:
    """``safeground serve --read-only`` on a free port, as a user starts it for GIS clients. Read-only, the
    server keeps the test's fast password hash instead of upgrading it (argon2 at full cost on every Basic
    request would make the signed-in test slow)."""
    with served(db, "--read-only", log=db.parent / "serve.log", ready="/ogc") as base:
        yield f"OAPIF:{base}/ogc"


def published(path: Path, layer: str) -> list[dict]:
    with Workspace.open(path, read_only=True) as ws:
        return ws.store.query(layer, where={"review_state": "published"})


def test_gdal_lists_exactly_the_public_collections(server: str) -> None:
    names = [name for name, _geometry in pyogrio.list_layers(server)]
    assert names == collection_layers(None)
    assert "casualty" not in names


def test_gdal_reads_every_public_collection_with_its_published_records_and_fields(
        server: str, db: Path) -> None:
    counts = {}
    for layer in collection_layers(None):
        frame = pyogrio.read_dataframe(server, layer=layer)
        expected = published(db, layer)
        counts[layer] = len(frame)
        assert len(frame) == len(expected), layer
        if not expected:
            continue
        assert sorted(frame["ref"]) == sorted(r["ref"] for r in expected), layer
        own = {f.name for f in record_type(layer).fields if not f.personal}
        assert own <= set(frame.columns), (layer, own - set(frame.columns))
        by_ref = {r["ref"]: r["geometry"] for r in expected}
        assert all(g.equals(by_ref[ref]) for ref, g in zip(frame["ref"], frame.geometry, strict=True)), layer
    assert counts["accident"] > 50 and counts["device"] > 20 and counts["hazard_area"] == 2  # real rows came through


def test_a_gdal_spatial_filter_is_answered_by_the_server(server: str, db: Path) -> None:
    frame = pyogrio.read_dataframe(server, layer="accident", bbox=ANTIOQUIA)
    box = shapely.box(*ANTIOQUIA)
    expected = sorted(r["ref"] for r in published(db, "accident") if box.intersects(r["geometry"]))
    assert 0 < len(expected) < len(published(db, "accident"))
    assert sorted(frame["ref"]) == expected
    hazards = pyogrio.read_dataframe(server, layer="hazard_area", bbox=ANTIOQUIA)
    assert list(hazards["name"]) == ["Nechí"]
    asked = [line for line in (db.parent / "serve.log").read_text().splitlines() if "/items?" in line]
    assert any("bbox=" in line and "/accident/items" in line for line in asked)  # the server filtered


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_gdal_signed_in_as_data_entry_reads_casualties_without_personal_fields(
        server: str, db: Path, scheme: str) -> None:
    """As QGIS and ogr2ogr sign in: Basic credentials, or an API token (GDAL_HTTP_AUTH=BEARER)."""
    if scheme == "basic":
        options = {"GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_USERPWD": "dora:a long passphrase"}
    else:
        options = {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": (db.parent / "token").read_text()}
    pyogrio.set_gdal_config_options(options)
    try:
        assert "casualty" in [name for name, _ in pyogrio.list_layers(server)]
        frame = pyogrio.read_dataframe(server, layer="casualty")
    finally:
        pyogrio.set_gdal_config_options(dict.fromkeys(options))
    assert list(frame["outcome"]) == ["killed"]
    assert "given_name" not in frame.columns
    accident = published(db, "accident")[0]["geometry"]
    assert frame.geometry.iloc[0].equals(accident)
    assert "casualty" not in [name for name, _ in pyogrio.list_layers(server)]  # signed out again
