"""Read and write vector files through pyogrio (GDAL): GeoJSON, GeoPackage and whatever GDAL reads.

pyogrio is the one library for file formats: it is GDAL, vectorised, with no geopandas needed.
Columns travel as numpy arrays with null masks, so types survive the round trip.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pyogrio.raw
import shapely
from pyproj import CRS

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.domain.records import record_type
from safeground.io import gpx

#: File suffix → GDAL driver, for the formats SafeGround writes.
DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".fgb": "FlatGeobuf", ".csv": "CSV",
           ".shp.zip": "ESRI Shapefile", ".shp": "ESRI Shapefile", ".kml": "KML", ".kmz": "LIBKML", ".gpx": "GPX"}

#: How GDAL finds the geometry of a CSV file: a WKT column, or longitude/latitude columns.
CSV_OPEN = {"GEOM_POSSIBLE_NAMES": "wkt,geometry,WKT", "X_POSSIBLE_NAMES": "lon,longitude,x,long,lng",
            "Y_POSSIBLE_NAMES": "lat,latitude,y", "KEEP_GEOM_COLUMNS": "NO"}


@dataclass
class VectorData:
    """What was read from a file: geometries (shapely, source CRS), columns, and the CRS."""

    geometry: np.ndarray | None
    columns: dict[str, np.ndarray]
    epsg: int | None
    layer: str


def suffix(path: Path) -> str:
    """The format suffix, ``.shp.zip`` included."""
    name = path.name.lower()
    return ".shp.zip" if name.endswith(".shp.zip") else path.suffix.lower()


def new_file(path: str | Path) -> Path:
    """``path``, refused (``export.target_exists``) when a file is there already: exports never overwrite."""
    p = Path(path)
    if p.exists():
        raise ValidationError("export.target_exists", f"{p} exists already.",
                              hint="Choose a new file name or delete the old file first.")
    return p


def driver_for(path: Path) -> str:
    try:
        return DRIVERS[suffix(path)]
    except KeyError:
        raise ValidationError("io.unsupported_format", f"Cannot tell the format of '{path.name}' from its suffix.",
                              hint="Use one of: " + ", ".join(DRIVERS) + ".") from None


def list_layers(path: Path) -> list[str]:
    if not path.exists():
        raise NotFoundError("io.file_not_found", f"File {path} does not exist.", hint="Check the path.")
    try:
        return [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except pyogrio.errors.DataSourceError as exc:
        raise ValidationError("io.unreadable", f"{path.name} cannot be read as a vector file: {exc}.",
                              hint="The file may be truncated or damaged: export it again, or give a GeoJSON or "
                                   "GeoPackage file. Nothing was imported.") from None


@contextmanager
def _read_faults(path: Path) -> Iterator[None]:
    """GDAL's read errors as file faults with a code and a hint: nothing of the file is imported."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise ValidationError("io.bad_encoding", f"{path.name} holds text that is not UTF-8 (byte {exc.start}: "
                              f"{exc.reason}).", hint="Save the file as UTF-8 and import it again. Nothing was "
                              "imported.") from None
    except pyogrio.errors.DataSourceError as exc:
        raise ValidationError("io.unreadable", f"{path.name} cannot be read: {exc}.",
                              hint="The file may be truncated or damaged; export it again. Nothing was "
                                   "imported.") from None


def read_vector(path: Path, layer: str | None = None, *, into: str | None = None) -> VectorData:
    """Read one layer (the only one, or ``layer``) with its CRS as an EPSG code when it has one.

    ``into`` names the SafeGround layer the rows are for: a GPX file then gives the features that layer can
    hold (see :mod:`safeground.io.gpx`), with GPX names turned back into field names.
    """
    layers = list_layers(path)
    if suffix(path) == ".gpx":
        if layer is not None and layer not in layers:
            raise NotFoundError("io.layer_not_found", f"{path.name} has no layer '{layer}'.",
                                hint="Layers: " + ", ".join(layers) + ".")
        wanted = [layer] if layer else gpx.gpx_layers_for(record_type(into).geometry_type if into else None)
        with _read_faults(path):
            features, values = gpx.read_gpx(path, wanted, into=into)
        return VectorData(features, values, 4326, ",".join(wanted))  # GPX is always WGS84
    if layer is None:
        # Attachment tables (GeoPackage Related Tables Extension) travel beside a layer; they are not records.
        layers = [name for name in layers if not name.startswith("safeground_attachment")] or layers
        if len(layers) != 1:
            raise ValidationError("io.which_layer", f"{path.name} has {len(layers)} layers: {', '.join(layers)}.",
                                  hint="Say which one with --layer.")
        layer = layers[0]
    elif layer not in layers:
        raise NotFoundError("io.layer_not_found", f"{path.name} has no layer '{layer}'.",
                            hint="Layers: " + ", ".join(layers) + ".")
    options = CSV_OPEN if suffix(path) == ".csv" else {}
    with _read_faults(path):
        meta, _fids, wkb, field_data = pyogrio.raw.read(path, layer=layer, **options)
    epsg = None
    if meta.get("crs"):
        epsg = CRS.from_user_input(meta["crs"]).to_epsg()
        if epsg is None:
            raise ValidationError("geometry.unknown_crs", f"The CRS of {path.name} has no EPSG code.",
                                  hint="Reproject the file to a CRS with an EPSG code (e.g. EPSG:4326).")
    geoms = shapely.from_wkb(wkb) if wkb is not None else None
    columns = {str(name): np.asarray(values) for name, values in zip(meta["fields"], field_data, strict=True)}
    return VectorData(geoms, columns, epsg, layer)


def write_vector(path: Path, layer: str, *, geometry: np.ndarray | None, geometry_type: str | None,
                 columns: dict[str, tuple[np.ndarray, np.ndarray | None]], append: bool = False) -> None:
    """Write one layer in EPSG:4326; ``columns`` maps a name to ``(values, null_mask)``."""
    names = list(columns)
    wkb = shapely.to_wkb(geometry) if geometry is not None else None
    kwargs: dict[str, Any] = {}
    if suffix(path) == ".csv" and geometry is not None:
        kwargs["layer_options"] = {"GEOMETRY": "AS_WKT"}  # a WKT column, read back by read_vector
    if suffix(path) == ".gpx":  # points and lines, in GPX's own elements (io/gpx.py)
        refs = columns["ref"][0] if "ref" in columns else np.arange(len(geometry) if geometry is not None else 0)
        gpx.write_gpx(path, layer, geometry, geometry_type, refs, columns)
        return
    if suffix(path) == ".fgb" and geometry is None:
        kwargs["layer_options"] = {"SPATIAL_INDEX": "NO"}  # FlatGeobuf indexes only features with geometry
    gtype = {"MULTIPOLYGON": "MultiPolygon", "POINT": "Point", "LINESTRING": "LineString",
             "MULTILINESTRING": "MultiLineString", "GEOMETRY": "Unknown"}.get(geometry_type or "")
    pyogrio.raw.write(
        path, wkb, [columns[n][0] for n in names], names, field_mask=[columns[n][1] for n in names],
        layer=layer, driver=driver_for(path), geometry_type=gtype, crs="EPSG:4326" if geometry is not None else None,
        promote_to_multi=False, append=append, **kwargs,
    )


def as_text(values: np.ndarray) -> list[str]:
    """A column read from a GIS file as the text a CSV file would hold: ``""`` for blanks.

    Mappings translate text, whatever the source: a whole number stored as a float (GDAL's way with
    nullable integers) reads as ``3``; a date-time at midnight as the date alone.

    >>> as_text(np.array([3.0, np.nan, 2.5]))
    ['3', '', '2.5']
    >>> as_text(np.array(["2019-06-03", "NaT"], dtype="datetime64[ms]"))
    ['2019-06-03', '']
    """
    if values.dtype.kind == "M":
        blank = np.isnat(values)
        midnight = (values[~blank] == values[~blank].astype("datetime64[D]")).all()
        text = np.datetime_as_string(values, unit="D") if midnight else np.datetime_as_string(values, unit="s")
        return ["" if b else str(t) for b, t in zip(blank.tolist(), text.tolist(), strict=True)]
    if values.dtype.kind == "f":
        return ["" if v != v else (str(int(v)) if v.is_integer() else repr(v)) for v in values.tolist()]
    if values.dtype.kind in "iub":
        return [str(v) for v in values.tolist()]
    return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in values.tolist()]
