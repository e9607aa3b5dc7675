"""Import and export: round trips, any EPSG code, all-or-nothing, personal fields kept out, real data."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from tests.conftest import DATA, HAZARD_BOX, Builder

from safeground.domain.errors import SafeGroundError
from safeground.services.records import add_record
from safeground.services.transfer import export_layer, import_file
from safeground.services.workspace import Workspace

AREA_TYPES = {"rural": "rural", "urbana": "urban", "urbano": "urban"}


def colombia_rows(year: int) -> list[dict[str, str]]:
    with open(DATA / "colombia_aicma" / "events_1990_2014.csv", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if int(r["year"]) == year]


def register_file(rows: list[dict[str, str]], path: Path, *, swap: int | None = None) -> Path:
    """The real register rows as a GeoJSON file with SafeGround's field names (a mapping does this later)."""
    pts = [shapely.Point(float(r["lon"]), float(r["lat"])) for r in rows]
    if swap is not None:
        pts[swap] = shapely.Point(pts[swap].y, pts[swap].x)
    gdf = gpd.GeoDataFrame({
        "event_type": [r["tipo_evento"] for r in rows],
        "event_date": [f"{r['year']}-12-31" for r in rows],
        "date_precision": ["year"] * len(rows),
        "admin1": [r["departamento"] for r in rows],
        "admin2": [r["municipio"] for r in rows],
        "area_type": [AREA_TYPES.get(r["tipo_area"].strip().lower()) for r in rows],
    }, geometry=pts, crs=4326)
    gdf.to_file(path, driver="GeoJSON")
    return path


def test_real_register_rows_import_with_names_kept_as_given(ws: Workspace, tmp_path: Path) -> None:
    rows = colombia_rows(2010)
    report = import_file(ws, register_file(rows, tmp_path / "reg.geojson"), "event", review_state="approved")
    assert report.rows_read == report.rows_stored == len(rows) > 1000
    stored = ws.store.query("event", geometry=False)
    assert {r["admin1"] for r in stored} == {r["departamento"] for r in rows}
    assert {r["event_type"] for r in stored} == {r["tipo_evento"] for r in rows}
    assert all(r["review_state"] == "approved" and r["import_run"] == report.import_run for r in stored)
    assert all(r["source"] == "reg.geojson" for r in stored)


def test_failed_import_leaves_the_database_byte_for_byte_unchanged(ws: Workspace, db_path: Path,
                                                                   tmp_path: Path) -> None:
    ws.close()
    before = db_path.read_bytes()
    bad = register_file(colombia_rows(2012)[:300], tmp_path / "bad.geojson", swap=250)
    ws2 = Workspace.open(db_path, user="ana")
    with pytest.raises(SafeGroundError) as info:
        import_file(ws2, bad, "event")
    ws2.close()
    assert info.value.code == "geometry.swapped_lat_lon"
    assert "Feature 250" in info.value.message
    assert db_path.read_bytes() == before


def test_bad_value_names_the_row(ws: Workspace, tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"category": ["ap_mine", "landmine"]}, geometry=[shapely.Point(-72.5, 5)] * 2, crs=4326)
    gdf.to_file(tmp_path / "d.geojson")
    with pytest.raises(SafeGroundError) as info:
        import_file(ws, tmp_path / "d.geojson", "device")
    assert info.value.code == "record.not_in_vocabulary"
    assert info.value.message.startswith("Row 1:") and "ap_mine" in info.value.hint
    assert ws.store.count("device") == 0


@pytest.mark.parametrize("epsg", [32618, 3857, 3116])  # UTM 18N, web mercator, MAGNA-SIRGAS Bogotá
def test_import_in_any_epsg_is_stored_in_wgs84(ws: Workspace, tmp_path: Path, epsg: int) -> None:
    gdf = gpd.GeoDataFrame({"name": ["Campo"], "hazard_class": ["sha"], "status": ["open"]},
                           geometry=[HAZARD_BOX], crs=4326).to_crs(epsg)
    gdf.to_file(tmp_path / "h.gpkg")
    report = import_file(ws, tmp_path / "h.gpkg", "hazard_area")
    assert report.source_epsg == epsg
    [h] = ws.store.query("hazard_area")
    assert shapely.equals_exact(h["geometry"], shapely.MultiPolygon([HAZARD_BOX]), tolerance=1e-7)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".fgb", ".csv", ".shp.zip", ".kml"])
def test_export_import_round_trip_keeps_values_and_links(ws: Workspace, build: Builder, tmp_path: Path,
                                                         suffix: str) -> None:
    org = build.organisation(kind="ngo")
    hz = build.hazard("cha", marking="fenced", blockages="farming roads", expected_returnees=12,
                      reported_date="2019-05-02", organisation=org["uuid"])
    ex_org, ex_hz = tmp_path / f"org{suffix}", tmp_path / f"hz{suffix}"
    assert export_layer(ws, "organisation", ex_org) == 1
    assert export_layer(ws, "hazard_area", ex_hz) == 1
    other = Workspace.open(tmp_path / "other.gpkg", user="bo", create=True)
    try:
        import_file(other, ex_org, "organisation")
        import_file(other, ex_hz, "hazard_area")
        [copy] = other.store.query("hazard_area")
    finally:
        other.close()
    for key in ("uuid", "name", "hazard_class", "status", "marking", "blockages", "expected_returnees",
                "reported_date", "organisation", "area_m2"):
        assert copy[key] == hz[key], key
    assert copy["source_id"] == hz["uuid"]
    # Same vertices; Shapefile rewinds rings to its own orientation, so compare normalised forms.
    assert shapely.equals_exact(shapely.normalize(copy["geometry"]), shapely.normalize(hz["geometry"]), tolerance=1e-9)


def test_export_leaves_personal_fields_out_unless_asked(ws: Workspace, tmp_path: Path) -> None:
    acc = add_record(ws, "accident", {"accident_type": "mine_erw", "geometry": shapely.Point(-72.5, 5.0)})
    add_record(ws, "casualty", {"accident": acc["uuid"], "outcome": "injured", "status": "civilian",
                                "given_name": "María", "family_name": "Pérez", "age": 12})
    export_layer(ws, "casualty", tmp_path / "public.geojson")
    text = (tmp_path / "public.geojson").read_text()
    assert "María" not in text and "Pérez" not in text and "given_name" not in text
    assert '"age_group": "child"' in text
    export_layer(ws, "casualty", tmp_path / "private.geojson", include_personal=True)
    assert "María" in (tmp_path / "private.geojson").read_text()


def test_export_never_overwrites(ws: Workspace, tmp_path: Path) -> None:
    target = tmp_path / "x.geojson"
    target.write_text("keep me")
    with pytest.raises(SafeGroundError) as info:
        export_layer(ws, "hazard_area", target)
    assert info.value.code == "export.target_exists"
    assert target.read_text() == "keep me"


def test_invalid_polygon_import_refused_or_repaired_with_report(ws: Workspace, tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(-72.5, 5.0), (-72.49, 5.01), (-72.49, 5.0), (-72.5, 5.01)])
    gpd.GeoDataFrame({"name": ["Bowtie"], "hazard_class": ["sha"], "status": ["open"]}, geometry=[bowtie],
                     crs=4326).to_file(tmp_path / "b.geojson")
    with pytest.raises(SafeGroundError) as info:
        import_file(ws, tmp_path / "b.geojson", "hazard_area")
    assert info.value.code == "geometry.invalid" and "Self-intersection at (" in info.value.message
    report = import_file(ws, tmp_path / "b.geojson", "hazard_area", repair=True)
    assert len(report.repairs) == 1 and "Self-intersection" in report.repairs[0]
    [h] = ws.store.query("hazard_area")
    assert h["geometry"].is_valid and len(h["geometry"].geoms) == 2


def test_import_run_is_recorded(ws: Workspace, tmp_path: Path) -> None:
    rows = colombia_rows(1995)
    report = import_file(ws, register_file(rows, tmp_path / "r.geojson"), "event")
    from safeground.store.gpkg import GeoPackageStore

    assert isinstance(ws.store, GeoPackageStore)
    run = ws.store.connection.execute(
        "SELECT layer, rows_read, rows_stored, status, user FROM safeground_import_run WHERE id = ?",
        (report.import_run,)).fetchone()
    assert run == ("event", len(rows), len(rows), "complete", "ana")
    assert len(pyogrio.read_dataframe(ws.store.location, layer="event")) == len(rows)
    assert np.all(pyogrio.read_dataframe(ws.store.location, layer="event")["review_state"] == "submitted")


def test_info_date_defaults_to_the_event_date_never_the_import_date(ws: Workspace) -> None:
    acc = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2003-12-31",
                                      "date_precision": "year", "geometry": shapely.Point(-72.5, 5.0)})
    assert acc["info_date"] == "2003-12-31"
    later = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2003-12-31",
                                        "info_date": "2005-02-01", "geometry": shapely.Point(-72.5, 5.0)})
    assert later["info_date"] == "2005-02-01"


def test_national_crs_defaults_to_the_utm_zone_of_the_outline(ws: Workspace) -> None:
    from safeground.domain.config import Config

    assert ws.national_crs == 32618  # Colombia's centroid lies in UTM zone 18N
    ws.set_config(Config(country="COL", national_crs=3116))
    assert ws.national_crs == 3116


def test_csv_with_longitude_latitude_columns_imports_points(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "finds.csv"
    path.write_text("category,found_date,lat,lon\nap_mine,2021/06/30,5.0012,-72.4987\nav_mine,2021-07-01,5.002,-72.497\n",
                    encoding="utf-8")
    report = import_file(ws, path, "device")
    assert report.rows_stored == 2
    rows = ws.store.query("device")
    assert [(r["category"], r["found_date"]) for r in rows] == [("ap_mine", "2021-06-30"), ("av_mine", "2021-07-01")]
    assert shapely.equals_exact(rows[0]["geometry"], shapely.Point(-72.4987, 5.0012), tolerance=1e-12)


def test_gpx_round_trip_for_point_layers_and_refusal_for_polygons(ws: Workspace, build: Builder,
                                                                  tmp_path: Path) -> None:
    hz = build.hazard("cha")
    dev = add_record(ws, "device", {"category": "av_mine", "depth_cm": 12.5, "found_date": "2021-03-04",
                                    "hazard": hz["uuid"], "geometry": shapely.Point(-72.4951, 5.0049)})
    export_layer(ws, "device", tmp_path / "finds.gpx")
    with pytest.raises(SafeGroundError) as info:
        export_layer(ws, "hazard_area", tmp_path / "h.gpx")
    assert info.value.code == "export.gpx_points_only"
    other = Workspace.open(tmp_path / "o.gpkg", user="bo", create=True)
    try:
        export_layer(ws, "hazard_area", tmp_path / "h.gpkg")
        import_file(other, tmp_path / "h.gpkg", "hazard_area")
        import_file(other, tmp_path / "finds.gpx", "device")
        [copy] = other.store.query("device")
    finally:
        other.close()
    for key in ("uuid", "category", "depth_cm", "found_date", "hazard"):
        assert copy[key] == dev[key], key
    assert shapely.equals_exact(copy["geometry"], dev["geometry"], tolerance=1e-9)


def test_file_geodatabase_as_imsma_core_exports_it_is_read(ws: Workspace, tmp_path: Path) -> None:
    gdb = tmp_path / "imsma_export.gdb"
    gpd.GeoDataFrame({"name": ["Campo 7"], "hazard_class": ["cha"], "status": ["open"]},
                     geometry=[shapely.MultiPolygon([HAZARD_BOX])], crs=4326).to_file(gdb, driver="OpenFileGDB",
                                                                                        layer="hazards")
    report = import_file(ws, gdb, "hazard_area", source_layer="hazards")
    assert report.rows_stored == 1 and ws.store.query("hazard_area")[0]["name"] == "Campo 7"
