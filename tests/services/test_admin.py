"""COD-AB boundaries with P-codes, and records placed in them."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from safeground.domain.errors import SafeGroundError
from safeground.services.admin import assign_admin_areas, import_cod
from safeground.services.records import add_record
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws


def cod(tmp_path: Path) -> tuple[Path, Path]:
    west, east = shapely.box(-73.0, 4.5, -72.5, 5.5), shapely.box(-72.5, 4.5, -72.0, 5.5)
    adm1 = tmp_path / "adm1.geojson"
    gpd.GeoDataFrame({"ADM1_PCODE": ["CO85"], "ADM1_ES": ["Casanare"], "ADM0_PCODE": ["CO"]},
                     geometry=[west.union(east)], crs=4326).to_file(adm1)
    adm2 = tmp_path / "adm2.geojson"
    gpd.GeoDataFrame({"ADM2_PCODE": ["CO85001", "CO85010"], "ADM2_ES": ["Yopal", "Aguazul"],
                      "ADM1_PCODE": ["CO85", "CO85"]}, geometry=[west, east], crs=4326).to_file(adm2)
    return adm1, adm2


def test_cod_levels_import_with_pcodes_and_records_are_placed(ws: Workspace, tmp_path: Path) -> None:
    adm1, adm2 = cod(tmp_path)
    assert import_cod(ws, adm1, 1) == 1 and import_cod(ws, adm2, 2) == 2
    codes = {a["code"]: a for a in ws.store.query("admin_area")}
    assert codes["CO85010"]["parent_code"] == "CO85" and codes["CO85010"]["name"] == "Aguazul"
    dev = add_record(ws, "device", {"category": "ap_mine", "geometry": shapely.Point(-72.2, 5.0)})
    acc = add_record(ws, "accident", {"accident_type": "mine_erw", "admin2": "YOPAL (as given)",
                                      "geometry": shapely.Point(-72.8, 5.0)})
    kept = add_record(ws, "event", {"event_type": "Incautaciones", "admin2_code": "CO99999",
                                    "geometry": shapely.Point(-72.8, 5.1)})
    assert assign_admin_areas(ws) == {"device": 1, "accident": 1}
    d, a = ws.store.get("device", dev["uuid"]), ws.store.get("accident", acc["uuid"])
    assert (d["admin2_code"], d["admin2"], d["admin1"]) == ("CO85010", "Aguazul", "Casanare")
    assert (a["admin2_code"], a["admin2"], a["admin1"]) == ("CO85001", "YOPAL (as given)", "Casanare")
    assert ws.store.get("event", kept["uuid"])["admin2_code"] == "CO99999"
    assert ws.store.get("device", dev["uuid"])["version"] == 2  # audited as an update


def test_a_file_without_cod_columns_is_refused(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "x.geojson"
    gpd.GeoDataFrame({"nombre": ["x"]}, geometry=[shapely.box(-73, 4, -72, 5)], crs=4326).to_file(path)
    with pytest.raises(SafeGroundError) as info:
        import_cod(ws, path, 2)
    assert info.value.code == "admin.not_cod"
    with pytest.raises(SafeGroundError) as info:
        assign_admin_areas(ws)
    assert info.value.code == "admin.no_areas"


def test_a_level_two_import_places_records_and_level_one_does_not(ws: Workspace, tmp_path: Path) -> None:
    from safeground.services.admin import import_boundaries

    adm1, adm2 = cod(tmp_path)
    dev = add_record(ws, "device", {"category": "ap_mine", "geometry": shapely.Point(-72.2, 5.0)})
    assert import_boundaries(ws, adm1, 1) == (1, {})
    assert import_boundaries(ws, adm2, 2) == (2, {"device": 1})
    assert ws.store.get("device", dev["uuid"])["admin2_code"] == "CO85010"
