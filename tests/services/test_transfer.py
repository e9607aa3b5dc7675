"""Import and export: round trips, any EPSG code, all-or-nothing, personal fields kept out, real data."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import DATA, HAZARD_BOX, Builder, refused_unchanged

from safeground.domain.errors import SafeGroundError
from safeground.services.records import add_record
from safeground.services.transfer import export_layer, import_file
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

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


def hazard_file(path: Path, n: int = 3) -> Path:
    gpd.GeoDataFrame({"name": [f"Campo {i}" for i in range(n)], "hazard_class": ["sha"] * n, "status": ["open"] * n},
                     geometry=[HAZARD_BOX] * n, crs=4326).to_file(path)
    return path


def _truncated(tmp_path: Path) -> Path:
    text = hazard_file(tmp_path / "whole.geojson").read_text()
    (tmp_path / "truncated.geojson").write_text(text[: len(text) * 2 // 3])
    return tmp_path / "truncated.geojson"


def _undecodable(tmp_path: Path) -> Path:
    text = hazard_file(tmp_path / "whole.geojson").read_text().replace("Campo 1", "Campo \xff")
    (tmp_path / "latin1.geojson").write_bytes(text.encode("latin-1"))
    return tmp_path / "latin1.geojson"


def _no_class_column(tmp_path: Path) -> Path:
    gpd.GeoDataFrame({"name": ["Campo"], "status": ["open"]}, geometry=[HAZARD_BOX], crs=4326).to_file(
        tmp_path / "noclass.geojson")
    return tmp_path / "noclass.geojson"


@pytest.mark.parametrize(("broken", "code"), [(_truncated, "io.unreadable"), (_undecodable, "io.bad_encoding"),
                                              (_no_class_column, "io.absent_column")])
def test_file_faults_leave_the_database_byte_for_byte_unchanged(ws: Workspace, db_path: Path, tmp_path: Path,
                                                                broken, code: str) -> None:
    path = broken(tmp_path)
    err = refused_unchanged(ws, db_path, lambda w: import_file(w, path, "hazard_area"))
    assert err.code == code and "Nothing was imported" in err.hint


def test_a_swapped_row_of_the_real_register_is_quarantined_and_the_rest_stored(ws: Workspace,
                                                                               tmp_path: Path) -> None:
    rows = colombia_rows(2012)[:300]
    report = import_file(ws, register_file(rows, tmp_path / "reg.geojson", swap=250), "event")
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (300, 299, 1)
    assert report.quarantine_reasons == {"geometry.swapped_lat_lon": 1}
    [q] = ws.store.quarantined()
    assert (q["source"], q["source_row"], q["layer"], q["import_run"]) == ("reg.geojson", 251, "event",
                                                                          report.import_run)
    assert "look swapped" in q["reason"] and not q["reason"].startswith("Feature") and q["hint"]
    assert q["raw"]["admin2"] == rows[250]["municipio"] and q["raw"]["geometry"].startswith("POINT (")
    assert ws.store.count("event") == 299


@pytest.mark.parametrize("suffix", [".geojson", ".kml", ".gpkg"])
def test_mixed_geometry_types_go_to_quarantine_with_their_reason(ws: Workspace, tmp_path: Path,
                                                                  suffix: str) -> None:
    shapes = [HAZARD_BOX, shapely.Point(-72.495, 5.005), shapely.MultiPolygon([HAZARD_BOX]),
              shapely.LineString([(-72.5, 5.0), (-72.49, 5.01)]), HAZARD_BOX]
    path = tmp_path / f"mixed{suffix}"
    gpd.GeoDataFrame({"name": [f"Campo {i}" for i in range(5)], "hazard_class": ["sha"] * 5,
                      "status": ["open"] * 5}, geometry=shapes, crs=4326).to_file(path, driver={
                          ".kml": "KML", ".gpkg": "GPKG", ".geojson": "GeoJSON"}[suffix])
    report = import_file(ws, path, "hazard_area")
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (5, 3, 2)
    assert report.quarantine_reasons == {"geometry.wrong_type": 2}
    assert sorted(h["name"] for h in ws.store.query("hazard_area")) == ["Campo 0", "Campo 2", "Campo 4"]
    point, line = ws.store.quarantined()
    assert (point["source_row"], line["source_row"]) == (2, 4)
    assert point["reason"] == "a Point was given where MULTIPOLYGON is needed." and "Polygon" in point["hint"]
    raw = {k.lower(): v for k, v in line["raw"].items()}  # KML calls it Name
    assert raw["name"] == "Campo 3" and raw["geometry"].startswith("LINESTRING")
    from safeground.store.gpkg import GeoPackageStore

    mark = "?" if isinstance(ws.store, GeoPackageStore) else "%s"  # sqlite3's or psycopg's parameters
    run = ws.store.connection.execute(  # type: ignore[attr-defined]
        f"SELECT rows_read, rows_stored, rows_quarantined FROM safeground_import_run WHERE id = {mark}",
        (report.import_run,)).fetchone()
    assert run == (5, 3, 2)


def test_a_value_outside_its_vocabulary_is_quarantined_with_a_hint(ws: Workspace, tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"category": ["ap_mine", "landmine"]}, geometry=[shapely.Point(-72.5, 5)] * 2, crs=4326)
    gdf.to_file(tmp_path / "d.geojson")
    report = import_file(ws, tmp_path / "d.geojson", "device")
    assert (report.rows_stored, report.rows_quarantined) == (1, 1)
    [q] = ws.store.quarantined()
    assert (q["code"], q["source_row"]) == ("record.not_in_vocabulary", 2)
    assert "landmine" in q["reason"] and "ap_mine" in q["hint"]
    assert [d["category"] for d in ws.store.query("device")] == ["ap_mine"]


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


def test_invalid_polygon_quarantined_or_repaired_with_report(ws: Workspace, tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(-72.5, 5.0), (-72.49, 5.01), (-72.49, 5.0), (-72.5, 5.01)])
    gpd.GeoDataFrame({"name": ["Bowtie"], "hazard_class": ["sha"], "status": ["open"]}, geometry=[bowtie],
                     crs=4326).to_file(tmp_path / "b.geojson")
    refused = import_file(ws, tmp_path / "b.geojson", "hazard_area")
    [q] = ws.store.quarantined()
    assert refused.rows_quarantined == 1 and q["code"] == "geometry.invalid"
    assert "Self-intersection at (" in q["reason"] and "--repair" in q["hint"]
    assert ws.store.count("hazard_area") == 0
    report = import_file(ws, tmp_path / "b.geojson", "hazard_area", repair=True)
    assert len(report.repairs) == 1 and "Self-intersection" in report.repairs[0] and report.rows_quarantined == 0
    [h] = ws.store.query("hazard_area")
    assert h["geometry"].is_valid and len(h["geometry"].geoms) == 2


def test_import_run_is_recorded(ws: Workspace, tmp_path: Path) -> None:
    rows = colombia_rows(1995)
    report = import_file(ws, register_file(rows, tmp_path / "r.geojson"), "event")
    from safeground.store.gpkg import GeoPackageStore

    gpkg = isinstance(ws.store, GeoPackageStore)
    run = ws.store.connection.execute(  # type: ignore[attr-defined]
        f"SELECT layer, rows_read, rows_stored, status, \"user\" FROM safeground_import_run "
        f"WHERE id = {'?' if gpkg else '%s'}", (report.import_run,)).fetchone()
    assert run == ("event", len(rows), len(rows), "complete", "ana")
    if gpkg:  # GDAL reads the layer from the file
        assert len(pyogrio.read_dataframe(ws.store.location, layer="event")) == len(rows)
        assert np.all(pyogrio.read_dataframe(ws.store.location, layer="event")["review_state"] == "submitted")
    assert [r["review_state"] for r in ws.store.query("event", geometry=False)] == ["submitted"] * len(rows)


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


def test_gpx_round_trip_keeps_points_and_lines_exactly(ws: Workspace, build: Builder, tmp_path: Path) -> None:
    hz = build.hazard("cha")
    common = {"blocking_hazards": hz["uuid"], "admin1": "META", "admin2": "Vistahermosa"}
    targets = [
        add_record(ws, "priority_target", {"name": "Vereda La Cristalina", "kind": "settlement", "population": 900,
                                           "displaced_households": 40, "geometry": shapely.Point(-72.4951, 5.0049),
                                           **common}),
        add_record(ws, "priority_target", {"name": "Vía Puerto Toledo", "kind": "road", "deadline": "2027-06-30",
                                           "value": 1.25e6, "geometry": shapely.LineString(
                                               [(-72.5031, 5.0012), (-72.4987, 5.0049), (-72.4903, 5.0111)]),
                                           **common}),
        add_record(ws, "priority_target", {"name": "Línea 34.5 kV", "kind": "power_line", "geometry":
                                           shapely.MultiLineString([[(-72.51, 5.02), (-72.50, 5.03)],
                                                                    [(-72.50, 5.03), (-72.48, 5.035)]])}),
    ]
    event = add_record(ws, "event", {"event_type": "Incautaciones", "event_date": "2012-12-31",
                                     "date_precision": "year", "description": "Seized at a checkpoint",
                                     "geometry": shapely.Point(-72.4977, 5.0021)})
    assert export_layer(ws, "priority_target", tmp_path / "targets.gpx") == 3
    export_layer(ws, "event", tmp_path / "events.gpx")
    export_layer(ws, "hazard_area", tmp_path / "hz.gpkg")
    gpx = (tmp_path / "targets.gpx").read_text()
    assert (gpx.count("<wpt "), gpx.count("<rte>"), gpx.count("<trk>"), gpx.count("<trkseg>")) == (1, 1, 1, 2)
    assert "<name>Vía Puerto Toledo</name>" in gpx  # what a GPS shows
    events = (tmp_path / "events.gpx").read_text()
    assert f"<name>{event['ref']}</name>" in events and "<desc>Seized at a checkpoint</desc>" in events
    other = Workspace.open(tmp_path / "o.gpkg", user="bo", create=True)
    try:
        import_file(other, tmp_path / "hz.gpkg", "hazard_area")
        report = import_file(other, tmp_path / "targets.gpx", "priority_target")
        import_file(other, tmp_path / "events.gpx", "event")
        copies = other.store.query("priority_target")
        [event_copy] = other.store.query("event")
    finally:
        other.close()
    assert (report.rows_read, report.rows_stored) == (3, 3)
    assert not {"ele", "time", "sym"} & set(report.ignored_columns), "empty GPX columns are not reported"
    fields = ("uuid", "name", "kind", "population", "displaced_households", "deadline", "value", "blocking_hazards",
              "admin1", "admin2")
    for original, copy in zip(targets, sorted(copies, key=lambda c: [t["uuid"] for t in targets].index(c["uuid"])),
                              strict=True):
        assert {k: copy[k] for k in fields} == {k: original[k] for k in fields}
        assert copy["geometry"].geom_type == original["geometry"].geom_type
        assert shapely.equals_exact(copy["geometry"], original["geometry"], tolerance=0)
    for key in ("uuid", "event_type", "event_date", "date_precision", "description"):
        assert event_copy[key] == event[key], key
    assert shapely.equals_exact(event_copy["geometry"], event["geometry"], tolerance=0)


def test_gpx_refuses_polygons_and_records_without_a_location_by_ref(ws: Workspace, build: Builder,
                                                                     tmp_path: Path) -> None:
    build.hazard("cha")
    with pytest.raises(SafeGroundError) as layer:
        export_layer(ws, "hazard_area", tmp_path / "h.gpx")
    assert layer.value.code == "export.not_for_gpx" and "multipolygon" in layer.value.message
    farm = add_record(ws, "priority_target", {"name": "Finca", "kind": "farmland", "geometry": HAZARD_BOX})
    with pytest.raises(SafeGroundError) as polygon:
        export_layer(ws, "priority_target", tmp_path / "t.gpx")
    assert f"{farm['ref']} (Polygon)" in polygon.value.message
    acc = add_record(ws, "accident", {"accident_type": "mine_erw", "geometry": None})
    with pytest.raises(SafeGroundError) as unlocated:
        export_layer(ws, "accident", tmp_path / "a.gpx")
    assert f"{acc['ref']} (no location)" in unlocated.value.message
    assert not any(tmp_path.glob("*.gpx")), "a refused export writes no file"


def test_a_gps_track_in_a_waypoint_file_stays_out_of_a_point_layer(ws: Workspace, tmp_path: Path) -> None:
    dev = add_record(ws, "device", {"category": "av_mine", "depth_cm": 12.5, "found_date": "2021-03-04",
                                    "geometry": shapely.Point(-72.4951, 5.0049)})
    export_layer(ws, "device", tmp_path / "finds.gpx")
    other = Workspace.open(tmp_path / "o.gpkg", user="bo", create=True)
    try:
        report = import_file(other, tmp_path / "finds.gpx", "device")
        [copy] = other.store.query("device")
    finally:
        other.close()
    assert report.rows_read == 1 and "ref" in report.ignored_columns
    for key in ("uuid", "category", "depth_cm", "found_date"):
        assert copy[key] == dev[key], key


_GPX_TEXT = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "Zs"]), min_size=1, max_size=20)
# GDAL writes GPX coordinates to 15 significant digits: exact for any GPS or surveyed coordinate (9 decimals
# of a degree are 0.1 mm), not for every float.
_LON = st.floats(-79.0, -67.0).map(lambda v: round(v, 9))
_LAT = st.floats(-4.0, 12.0).map(lambda v: round(v, 9))
_LINE = st.lists(st.tuples(_LON, _LAT), min_size=2, max_size=6, unique=True)
_GPX_SHAPES = st.one_of(st.builds(shapely.Point, _LON, _LAT), st.builds(shapely.LineString, _LINE),
                        st.builds(shapely.MultiLineString, st.lists(_LINE, min_size=1, max_size=3)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_GPX_SHAPES, _GPX_TEXT, st.integers(0, 10**6)), min_size=1, max_size=8))
def test_gpx_files_give_back_every_geometry_and_value(features: list[tuple]) -> None:
    from safeground.io.vector import read_vector, write_vector

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.gpx"
        geoms = np.array([f[0] for f in features], dtype=object)
        names = np.array([f[1].strip() or "x" for f in features], dtype=object)
        population = np.array([f[2] for f in features], dtype=np.int64)
        write_vector(path, "priority_target", geometry=geoms, geometry_type="GEOMETRY",
                     columns={"name": (names, None), "population": (population, None)})
        back = read_vector(path, into="priority_target")
    order = [i for kind in ("Point", "LineString", "MultiLineString") for i, g in enumerate(geoms)
             if g.geom_type == kind]  # waypoints, then routes, then tracks
    assert back.geometry is not None and len(back.geometry) == len(geoms)
    for got, i in zip(back.geometry, order, strict=True):
        assert got.geom_type == geoms[i].geom_type and shapely.equals_exact(got, geoms[i], tolerance=0)
    assert list(back.columns["name"]) == [names[i] for i in order]
    assert [int(v) for v in back.columns["population"]] == [int(population[i]) for i in order]


def test_file_geodatabase_as_imsma_core_exports_it_is_read(ws: Workspace, tmp_path: Path) -> None:
    gdb = tmp_path / "imsma_export.gdb"
    gpd.GeoDataFrame({"name": ["Campo 7"], "hazard_class": ["cha"], "status": ["open"]},
                     geometry=[shapely.MultiPolygon([HAZARD_BOX])], crs=4326).to_file(gdb, driver="OpenFileGDB",
                                                                                        layer="hazards")
    report = import_file(ws, gdb, "hazard_area", source_layer="hazards")
    assert report.rows_stored == 1 and ws.store.query("hazard_area")[0]["name"] == "Campo 7"


def test_a_file_of_many_bad_rows_is_sorted_in_one_pass(ws: Workspace, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from safeground.services import records

    n = 400
    pts = [shapely.Point(-72.5 + i * 1e-4, 5.0) for i in range(n)]
    for i in range(0, n, 5):
        pts[i] = shapely.Point(pts[i].y, pts[i].x)  # swapped
    pts[8] = shapely.Point(-72.5, 95.0)  # beyond the pole: projected data without a CRS
    category = ["landmine" if i % 2 else "ap_mine" for i in range(n)]
    gpd.GeoDataFrame({"category": category, "depth_cm": [-3.0 if i == 12 else 5.0 for i in range(n)]},
                     geometry=pts, crs=4326).to_file(tmp_path / "finds.geojson")
    calls: list[int] = []
    prepare = records.prepare
    monkeypatch.setattr(records, "prepare", lambda *a, **kw: calls.append(1) or prepare(*a, **kw))
    report = import_file(ws, tmp_path / "finds.geojson", "device")
    good = [i for i in range(n) if i % 2 == 0 and i % 5 != 0 and i not in (8, 12)]
    assert report.rows_stored == len(good) and report.rows_read == n
    assert len(calls) == 2, "validated twice, not once per bad row"
    reasons = report.quarantine_reasons
    assert reasons["record.not_in_vocabulary"] == n // 2 and reasons["geometry.swapped_lat_lon"] == n // 10
    assert reasons["geometry.out_of_range"] == 1 and reasons["record.out_of_range"] == 1
    quarantined = {q["source_row"]: q["code"] for q in ws.store.quarantined()}
    assert (quarantined[2], quarantined[9], quarantined[13]) == ("record.not_in_vocabulary",
                                                                 "geometry.out_of_range", "record.out_of_range")
    assert sorted(d["depth_cm"] for d in ws.store.query("device")) == [5.0] * len(good)


def test_attachments_come_back_with_stored_rows_only(ws: Workspace, build: Builder, tmp_path: Path) -> None:
    from safeground.domain.config import Config
    from safeground.services import attachments

    kept = build.hazard(name="Con foto")
    odd = build.hazard(name="Clase rara", geometry=shapely.box(-72.48, 5.0, -72.47, 5.01))
    for hz in (kept, odd):
        attachments.attach_bytes(ws, "hazard_area", hz["uuid"], "marking.jpg", b"\xff\xd8 " + hz["ref"].encode())
    export_layer(ws, "hazard_area", tmp_path / "hz.geojson")
    text = (tmp_path / "hz.geojson").read_text()
    (tmp_path / "hz.geojson").write_text(text.replace('"Clase rara", "hazard_class": "cha"',
                                                      '"Clase rara", "hazard_class": "minefield"'))
    other = Workspace.open(tmp_path / "o.gpkg", user="bo", create=True)
    other.set_config(Config(country="COL"))
    try:
        report = import_file(other, tmp_path / "hz.geojson", "hazard_area")
        [back] = other.store.attachments()
        [q] = other.store.quarantined()
    finally:
        other.close()
    assert (report.rows_stored, report.rows_quarantined, report.attachments) == (1, 1, 1)
    assert back["record_uuid"] == kept["uuid"] and q["raw"]["name"] == "Clase rara"
