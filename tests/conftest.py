"""Shared fixtures: a fresh workspace configured for Colombia, and builders for land-release chains."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely

from safeground.domain.config import Config
from safeground.domain.errors import SafeGroundError
from safeground.io.naturalearth import country_outline
from safeground.services.demo import build_demo
from safeground.services.mapped_import import import_csv
from safeground.services.records import add_record
from safeground.services.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"

# A 1 km x ~1.1 km hazard in eastern Colombia, and pieces of it.
HAZARD_BOX = shapely.box(-72.50, 5.00, -72.49, 5.01)
WEST_HALF = shapely.box(-72.50, 5.00, -72.495, 5.01)
EAST_HALF = shapely.box(-72.495, 5.00, -72.49, 5.01)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.gpkg"


@pytest.fixture
def ws(db_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(db_path, user="ana", create=True)
    workspace.set_config(Config(country="COL"))
    yield workspace
    workspace.close()


class Builder:
    """Makes the records a land-release test needs, with sensible defaults that obey the rules."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def organisation(self, **kw: Any) -> dict[str, Any]:
        values = {"name": "Demining NGO", "accredited_from": "2020-01-01", "accredited_until": "2030-12-31", **kw}
        return add_record(self.ws, "organisation", values)

    def hazard(self, hazard_class: str = "cha", geometry: shapely.Geometry = HAZARD_BOX, **kw: Any) -> dict[str, Any]:
        values = {"name": "La Esperanza", "hazard_class": hazard_class, "status": "open", "geometry": geometry, **kw}
        return add_record(self.ws, "hazard_area", values)

    def evidence(self, hazard: dict[str, Any], kind: str = "direct") -> dict[str, Any]:
        c = hazard["geometry"].centroid
        return add_record(self.ws, "evidence", {"hazard": hazard["uuid"], "kind": kind,
                                                "evidence_source": "observed", "geometry": c})

    def activity(self, hazard: dict[str, Any], activity_type: str, **kw: Any) -> dict[str, Any]:
        return add_record(self.ws, "activity", {"activity_type": activity_type, "hazard": hazard["uuid"], **kw})

    def clearance(self, hazard: dict[str, Any], org: dict[str, Any], *, devices: int = 1, **kw: Any) -> dict[str, Any]:
        values = {"organisation": org["uuid"], "start_date": "2024-03-01", "end_date": "2024-04-01",
                  "depth_cm": 13, "assets": "manual mdd", "devices_found": devices, **kw}
        act = self.activity(hazard, "clearance", **values)
        self.devices(act, hazard, devices)
        return act

    def devices(self, act: dict[str, Any], hazard: dict[str, Any], n: int) -> None:
        c = hazard["geometry"].centroid
        for _ in range(n):
            add_record(self.ws, "device", {"category": "ap_mine", "activity": act["uuid"], "hazard": hazard["uuid"],
                                           "disposal": "destroyed_in_situ", "geometry": c})

    def release(self, act: dict[str, Any], hazard: dict[str, Any], kind: str,
                geometry: shapely.Geometry = WEST_HALF, **kw: Any) -> dict[str, Any]:
        return add_record(self.ws, "released_area", {"activity": act["uuid"], "hazard": hazard["uuid"],
                                                     "kind": kind, "geometry": geometry}, **kw)

    def qc(self, act: dict[str, Any], result: str = "pass", day: str = "2024-04-15") -> dict[str, Any]:
        return add_record(self.ws, "qm_inspection", {"kind": "qc", "activity": act["uuid"], "result": result,
                                                     "inspection_date": day, "geometry": None})


@pytest.fixture
def build(ws: Workspace) -> Builder:
    return Builder(ws)


def refused_unchanged(ws: Workspace, db_path: Path, action: Any) -> SafeGroundError:
    """Close ``ws``, run ``action(workspace)`` on the file again, and return the error it must raise;
    the file must be byte for byte as before (nothing half-written, not even a run record)."""
    ws.close()
    before = db_path.read_bytes()
    again = Workspace.open(db_path, user="ana")
    try:
        with pytest.raises(SafeGroundError) as info:
            action(again)
    finally:
        again.close()
    assert db_path.read_bytes() == before
    return info.value


def utm_m2(geom: shapely.Geometry) -> float:
    """Area in m² measured by geopandas in the geometry's UTM zone: an independent check of the store's areas."""
    import geopandas as gpd

    series = gpd.GeoSeries([geom], crs=4326)
    return float(series.to_crs(series.estimate_utm_crs()).area.iloc[0])


def box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    """The rectangle with south-west corner (x, y), w degrees wide and h high."""
    return shapely.box(x, y, x + w, y + h)


@pytest.fixture
def areas(ws: Workspace) -> dict[str, dict]:
    """Colombia (Natural Earth's outline) with two departments and a municipality of one of them."""
    col = add_record(ws, "admin_area", {"name": "Colombia", "level": 0, "code": "CO",
                                        "geometry": country_outline("COL")})
    meta = add_record(ws, "admin_area", {"name": "Meta", "level": 1, "code": "CO50", "parent_code": "CO",
                                         "geometry": shapely.box(-73.0, 4.5, -72.0, 5.5)})
    vista = add_record(ws, "admin_area", {"name": "Vistahermosa", "level": 2, "code": "CO50711",
                                          "parent_code": "CO50", "geometry": shapely.box(-72.6, 4.9, -72.4, 5.1)})
    other = add_record(ws, "admin_area", {"name": "Antioquia", "level": 1, "code": "CO05", "parent_code": "CO",
                                          "geometry": shapely.box(-76.0, 6.0, -75.0, 7.0)})
    return {"col": col, "meta": meta, "vista": vista, "other": other}


# --- risk prediction (issue 6): a slice of the RELand grid and the register's Antioquia events (real data) ---
RISK_RELAND = DATA / "reland_antioquia" / "antioquia_train_all.csv"
RISK_REGISTER = DATA / "colombia_aicma" / "events_1990_2014.csv"
#: Five municipalities of the RELand grid, each with both labels (about 1,600 cells).
RISK_MUNICIPIOS = ("COCORNA", "GRANADA", "SAN CARLOS", "SAN LUIS", "SONSON")


def reland_slice(path: Path, municipios: tuple[str, ...] = RISK_MUNICIPIOS, every: int = 1) -> Path:
    """The RELand rows of ``municipios`` (every ``every``-th one), written as CSV to ``path``."""
    with RISK_RELAND.open(encoding="utf-8", newline="") as f, path.open("w", encoding="utf-8", newline="") as out:
        rows = csv.reader(f)
        writer = csv.writer(out)
        header = next(rows)
        writer.writerow(header)
        at = header.index("Municipio")
        kept = [r for r in rows if r[at] in municipios]
        writer.writerows(kept[::every])
    return path


def register_in_antioquia(ws: Workspace, tmp: Path) -> None:
    """Import the register's events in Antioquia department (real rows, official) into ``ws``."""
    sample = tmp / "antioquia_events.csv"
    with RISK_REGISTER.open(encoding="utf-8", newline="") as f, sample.open("w", encoding="utf-8", newline="") as out:
        rows = csv.reader(f)
        writer = csv.writer(out)
        header = next(rows)
        writer.writerow(header)
        at = header.index("departamento")
        writer.writerows(r for r in rows if r[at] == "ANTIOQUIA")
    import_csv(ws, sample, "colombia_aicma")


@pytest.fixture(scope="session")
def reland_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five RELand municipalities, every third cell (about 550 cells, both labels in each)."""
    return reland_slice(tmp_path_factory.mktemp("reland") / "reland_slice.csv", every=3)


@pytest.fixture(scope="session")
def antioquia_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the register's 5,561 events in Antioquia, 1990-2014 (made once; copy before writing)."""
    tmp = tmp_path_factory.mktemp("antioquia")
    db = tmp / "antioquia.gpkg"
    with Workspace.open(db, user="ana", create=True) as ws:
        ws.set_config(Config(country="COL"))
        register_in_antioquia(ws, tmp)
    return db


@pytest.fixture
def antioquia_ws(antioquia_db: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A writable copy of the Antioquia register database."""
    copy = tmp_path / "antioquia.gpkg"
    shutil.copy(antioquia_db, copy)
    with Workspace.open(copy, user="ana") as ws:
        yield ws


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Path]]:
    """The small demo region (seed 4), built once for the test session: read it, never change it."""
    path = tmp_path_factory.mktemp("demo") / "d.gpkg"
    ws = Workspace.open(path, user="x", create=True)
    build_demo(ws, scale="small", seed=4)
    yield ws, path
    ws.close()
