"""GPX files (what GPS receivers read and write): waypoints for points, routes and tracks for lines.

GPX 1.1 holds points and lines only. A Point travels as a waypoint (``<wpt>``), a LineString as a route
(``<rte>``) and a MultiLineString as a track (``<trk>``, one ``<trkseg>`` per part), so that each comes back
as the type it left. Polygons, and records without a location, have no place in GPX.

**Field map** (both ways, :func:`field_map`): a record's ``name`` is GPX's ``<name>`` and its
``description`` is ``<desc>``, which is what a GPS shows; a layer without a ``name`` field puts its ``ref`` in
``<name>``, so that a GPS lists DV-000012. Every other field travels as a GDAL extension element
``<ogr:FIELD>`` in the feature's ``<extensions>``, which GDAL reads back typed (dates as text, booleans as
0/1; the import accepts both).

pyogrio (GDAL) writes and reads every feature. GDAL writes one GPX layer per file and cannot add a layer to
a GPX file, so a layer holding points and lines is written as one file per GPX layer whose elements are
then joined into one document, in GPX 1.1's order (waypoints, routes, tracks), with the standard library's
XML parser.
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import shapely

from safeground.domain.errors import ValidationError
from safeground.domain.records import record_type

#: GPX layer of GDAL, the geometry type it holds and the GPX element of one feature.
GPX_LAYERS = (("waypoints", "Point", "wpt"), ("routes", "LineString", "rte"), ("tracks", "MultiLineString", "trk"))

#: GDAL's fixed GPX columns; those that no feature fills are dropped on reading.
STANDARD = frozenset({
    "ele", "time", "magvar", "geoidheight", "name", "cmt", "desc", "src", "link1_href", "link1_text", "link1_type",
    "link2_href", "link2_text", "link2_type", "sym", "type", "fix", "sat", "hdop", "vdop", "pdop", "ageofdgpsdata",
    "dgpsid", "number",
})

_NS = {"gpx": "http://www.topografix.com/GPX/1/1", "ogr": "http://osgeo.org/gdal",
       "xsi": "http://www.w3.org/2001/XMLSchema-instance"}


def field_map(layer: str) -> dict[str, str]:
    """The fields of ``layer`` that take a GPX element's name (all others travel as extensions).

    >>> field_map("priority_target")
    {}
    >>> field_map("device"), field_map("event")
    ({'ref': 'name'}, {'ref': 'name', 'description': 'desc'})
    """
    rt = record_type(layer)
    out = {} if rt.has_field("name") else {"ref": "name"}
    if rt.has_field("description"):
        out["description"] = "desc"
    return out


def reverse_map(layer: str) -> dict[str, str]:
    """GPX column → field of ``layer``, the inverse of :func:`field_map`."""
    return {v: k for k, v in field_map(layer).items()}


def gpx_layers_for(geometry_type: str | None) -> list[str]:
    """The GPX layers whose features a SafeGround layer of ``geometry_type`` may hold.

    A point layer reads waypoints only (a track logged on the way to the site is no record).

    >>> gpx_layers_for("POINT"), gpx_layers_for("GEOMETRY")
    (['waypoints'], ['waypoints', 'routes', 'tracks'])
    """
    return ["waypoints"] if geometry_type in (None, "POINT") else [name for name, _t, _e in GPX_LAYERS]


def read_gpx(path: Path, layers: list[str], *, into: str | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Features of ``layers`` in file order: geometries and columns (object arrays, ``None`` where absent).

    Extension columns lose GDAL's ``ogr_`` prefix; with ``into`` (a SafeGround layer) GPX names go back
    to field names by :func:`reverse_map`. Standard GPX columns that no feature fills are dropped.
    """
    geoms: list[np.ndarray] = []
    parts: list[dict[str, np.ndarray]] = []
    for name in layers:
        meta, _fids, wkb, data = pyogrio.raw.read(path, layer=name)
        geoms.append(shapely.from_wkb(wkb) if wkb is not None else np.full(len(data[0]) if data else 0, None))
        parts.append({str(k).removeprefix("ogr_"): np.asarray(v) for k, v in zip(meta["fields"], data, strict=True)})
    sizes = [len(g) for g in geoms]
    names = list(dict.fromkeys(k for part in parts for k in part))
    columns: dict[str, np.ndarray] = {}
    for col in names:
        out = np.full(sum(sizes), None, dtype=object)
        at = 0
        for part, size in zip(parts, sizes, strict=True):
            if col in part:
                out[at:at + size] = [_plain(v) for v in part[col].tolist()]
            at += size
        if col in STANDARD and all(v is None for v in out):
            continue
        columns[col] = out
    if into is not None:
        names_back = reverse_map(into)
        columns = {names_back.get(k, k): v for k, v in columns.items()}
    merged = np.concatenate(geoms) if geoms else np.zeros(0, dtype=object)
    return np.asarray(merged, dtype=object), columns


def _plain(value: object) -> object:
    """GDAL's nulls (NaN, NaT) as ``None``."""
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def write_gpx(path: Path, layer: str, geometry: np.ndarray | None, geometry_type: str | None, refs: np.ndarray,
              columns: dict[str, tuple[np.ndarray, np.ndarray | None]]) -> None:
    """Write the records of ``layer`` to one GPX file: points as waypoints, lines as routes or tracks.

    Refuses (``export.not_for_gpx``) a polygon layer, a layer without geometry, and records that are
    polygons or have no location, naming them.
    """
    if geometry is None or geometry_type not in ("POINT", "LINESTRING", "MULTILINESTRING", "GEOMETRY"):
        raise ValidationError("export.not_for_gpx", "GPX holds points and lines; this layer has "
                              f"{(geometry_type or 'no geometry').lower()} geometry.",
                              hint="Export it as GeoPackage, GeoJSON, KML or Shapefile instead.")
    kinds = np.array([g.geom_type if g is not None and not g.is_empty else "none" for g in geometry], dtype=object)
    bad = np.flatnonzero(~np.isin(kinds, [t for _n, t, _e in GPX_LAYERS]))
    if len(bad):
        shown = ", ".join(f"{refs[i]} ({'no location' if kinds[i] == 'none' else kinds[i]})" for i in bad[:5])
        raise ValidationError("export.not_for_gpx", f"GPX holds located points and lines; {len(bad)} records "
                              f"cannot go in it: {shown}{', ...' if len(bad) > 5 else ''}.",
                              hint="Export to GeoPackage, GeoJSON or KML, which hold every record.")
    renamed = {field_map(layer).get(k, k): v for k, v in columns.items()}
    names = list(renamed)
    with tempfile.TemporaryDirectory() as tmp:
        written: list[tuple[Path, str]] = []
        for gpx_layer, gtype, element in GPX_LAYERS:
            rows = np.flatnonzero(kinds == gtype)
            if not len(rows):
                continue
            part = Path(tmp) / f"{gpx_layer}.gpx"
            pyogrio.raw.write(
                part, shapely.to_wkb(geometry[rows]), [renamed[n][0][rows] for n in names], names,
                field_mask=[_subset(renamed[n][1], rows) for n in names],
                layer=gpx_layer, driver="GPX", geometry_type=gtype, crs="EPSG:4326", promote_to_multi=False,
                dataset_options={"GPX_USE_EXTENSIONS": "YES"})
            written.append((part, element))
        if not written:  # an empty layer: an empty but valid GPX document
            part = Path(tmp) / "empty.gpx"
            pyogrio.raw.write(part, None, [], [], layer="waypoints", driver="GPX", geometry_type="Point",
                              crs="EPSG:4326")
            written.append((part, "wpt"))
        _join(written, path)


def _subset(mask: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    return None if mask is None else mask[rows]


def _join(parts: list[tuple[Path, str]], target: Path) -> None:
    for prefix, uri in _NS.items():
        ET.register_namespace("" if prefix == "gpx" else prefix, uri)
    root = ET.parse(parts[0][0]).getroot()
    metadata = root.find("gpx:metadata", _NS)
    if metadata is not None and len(parts) > 1:
        root.remove(metadata)  # the first part's bounds do not cover the others
    for part, element in parts[1:]:
        root.extend(ET.parse(part).getroot().findall(f"gpx:{element}", _NS))
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
