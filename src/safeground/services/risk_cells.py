"""Cells for risk prediction from a ready-made cell table (CSV or GeoPackage), like the RELand grid.

Every column but the id, label and group columns and the location is a candidate feature. What happens to each
column is reported, never silently: text columns are left out, values that are not numbers become missing
(and are counted), columns with no value at all are left out. A cell's location comes from the layer's
geometry, a WKT ``geometry`` column, or a longitude/latitude pair (``lon``/``lat``, ``longitude``/``latitude``,
``LONGITUD_X``/``LATITUD_Y``, ``x``/``y``); location columns are never features.

The CSV is read with Arrow's CSV reader (quoted commas in header names, as in the RELand file), a GeoPackage
or any other GDAL format with pyogrio; both give an Arrow table, so there is one path from there on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.services.risk_labels import parse_labels

_LOCATION_PAIRS = (("lon", "lat"), ("longitude", "latitude"), ("longitud_x", "latitud_y"), ("x", "y"))
_GEOMETRY_NAMES = ("geometry", "wkt", "geom", "wkb_geometry")


@dataclass
class ColumnReport:
    """What became of each column of a cell table (or of a model's features when predicting)."""

    features: list[str] = field(default_factory=list)
    text_left_out: list[str] = field(default_factory=list)
    empty_left_out: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    location: list[str] = field(default_factory=list)
    not_numbers: dict[str, int] = field(default_factory=dict)
    missing_values: dict[str, int] = field(default_factory=dict)
    absent_filled_zero: list[str] = field(default_factory=list)
    absent_filled_missing: list[str] = field(default_factory=list)
    extra_ignored: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v}


@dataclass
class CellTable:
    """Cells with their features (a float matrix, NaN for missing), labels, groups and locations."""

    source: str
    ids: np.ndarray
    names: list[str]
    features: np.ndarray
    labels: np.ndarray | None = None
    groups: np.ndarray | None = None
    points: np.ndarray | None = None
    report: ColumnReport = field(default_factory=ColumnReport)
    label_counts: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def with_features(self, names: list[str], values: np.ndarray) -> CellTable:
        """The same cells with more feature columns after the table's own."""
        return CellTable(self.source, self.ids, [*self.names, *names], np.hstack([self.features, values]),
                         self.labels, self.groups, self.points, self.report, self.label_counts)


def read_cell_table(path: str | Path, *, id_column: str | None = None, label_column: str | None = None,
                    unknown_value: float = -1, group_column: str | None = None,
                    drop: tuple[str, ...] = ()) -> CellTable:
    """Read a cell table; ``id_column`` defaults to the row number (from 1).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "cells.csv")
    >>> _ = open(p, "w").write("lon,lat,y,roads_dist,town\\n-75,6,1,0.5,A\\n-75.1,6,-1,far,B\\n")
    >>> t = read_cell_table(p, label_column="y")
    >>> t.names, t.labels.tolist(), t.report.text_left_out, t.report.not_numbers
    (['roads_dist'], [1.0, nan], ['town'], {'roads_dist': 1})
    """
    path = Path(path)
    table, layer_points = _read(path)
    names = list(table.column_names)
    n = table.num_rows
    report = ColumnReport()
    for col in (id_column, label_column, group_column, *drop):
        if col is not None and col not in names:
            raise ValidationError("risk.absent_column", f"{path.name} has no column {col!r}.",
                                  hint=f"Its columns are: {', '.join(names[:40])}.")
    report.dropped = list(drop)
    points, location_cols = _locations(table, layer_points)
    report.location = location_cols
    ids = (np.array([str(v) for v in table.column(id_column).to_pylist()], dtype=object) if id_column
           else np.array([str(i + 1) for i in range(n)], dtype=object))
    seen, dup = set(), []
    for v in ids:
        if v in seen:
            dup.append(v)
        seen.add(v)
    if dup:
        raise ValidationError("risk.duplicate_id", f"{len(dup)} cell ids occur more than once in {id_column!r}, "
                              f"e.g. {dup[:3]}.", hint="Give a column whose values are unique with --id, or "
                                                       "leave --id out to number the rows.")
    labels, counts = (parse_labels(table.column(label_column).to_pylist(), unknown_value, label_column)
                      if label_column else (None, {}))
    groups = (np.array(["" if v is None else str(v) for v in table.column(group_column).to_pylist()], dtype=object)
              if group_column else None)
    skip = {id_column, label_column, group_column, *drop, *location_cols}
    feat_names: list[str] = []
    columns: list[np.ndarray] = []
    for name in names:
        if name in skip:
            continue
        values, bad = _numbers(table.column(name))
        if values is None:
            report.text_left_out.append(name)
            continue
        if np.isnan(values).all():
            report.empty_left_out.append(name)
            continue
        if bad:
            report.not_numbers[name] = bad
        missing = int(np.isnan(values).sum()) - bad
        if missing:
            report.missing_values[name] = missing
        feat_names.append(name)
        columns.append(values)
    report.features = feat_names
    features = np.column_stack(columns) if columns else np.empty((n, 0))
    return CellTable(str(path), ids, feat_names, features, labels, groups, points, report, counts)


def align_features(table: CellTable, names: list[str], binary: list[bool]) -> tuple[np.ndarray, ColumnReport]:
    """The table's features in a model's column order. A column the model knows but the table lacks is 0 when
    it was a 0/1 column in training (a one-hot category absent from this region), else missing; columns the
    model does not know are ignored. Both are reported."""
    index = {n: i for i, n in enumerate(table.names)}
    out = np.full((len(table), len(names)), np.nan)
    report = ColumnReport(features=list(names))
    for j, (name, is_binary) in enumerate(zip(names, binary, strict=True)):
        if name in index:
            out[:, j] = table.features[:, index[name]]
        elif is_binary:
            out[:, j] = 0.0
            report.absent_filled_zero.append(name)
        else:
            report.absent_filled_missing.append(name)
    report.extra_ignored = [n for n in table.names if n not in set(names)]
    return out, report


def _read(path: Path) -> tuple[pa.Table, np.ndarray | None]:
    if not path.exists():
        raise NotFoundError("risk.cells_not_found", f"No cell table at {path}.",
                            hint="Give a CSV or GeoPackage file of cells with --cells.")
    if path.suffix.lower() in (".csv", ".txt"):
        from pyarrow import csv

        try:
            return csv.read_csv(path), None
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise ValidationError("risk.unreadable_cells", f"{path.name} is not a readable CSV file ({exc}).",
                                  hint="Save the cell table as UTF-8 CSV with a header row.") from None
    import pyogrio

    try:
        meta, table = pyogrio.read_arrow(path)
    except Exception as exc:  # pyogrio raises several GDAL error types
        raise ValidationError("risk.unreadable_cells", f"{path.name} is not a readable cell layer ({exc}).",
                              hint="Give a CSV or GeoPackage file of cells.") from None
    geom_col = meta.get("geometry_name") or "wkb_geometry"
    points = None
    if geom_col in table.column_names:
        geoms = shapely.from_wkb(np.array(table.column(geom_col).to_pylist(), dtype=object))
        points = _centres(geoms)
        crs = meta.get("crs")
        if crs and points is not None:
            import pyproj

            from safeground.geo.crs import to_wgs84

            epsg = pyproj.CRS.from_user_input(crs).to_epsg()
            if epsg and epsg != 4326:
                points = to_wgs84(points, epsg)
        table = table.drop_columns([geom_col])
    return table, points


def _centres(geoms: np.ndarray) -> np.ndarray:
    out = shapely.point_on_surface(geoms)
    return np.asarray(out, dtype=object)


def _locations(table: pa.Table, layer_points: np.ndarray | None) -> tuple[np.ndarray | None, list[str]]:
    lower = {c.lower(): c for c in table.column_names}
    used = [lower[a] for pair in _LOCATION_PAIRS for a in pair if a in lower and pair[0] in lower and pair[1] in lower]
    if layer_points is not None:
        return layer_points, used
    for name in _GEOMETRY_NAMES:
        if name in lower and pa.types.is_string(table.column(lower[name]).type):
            wkt = np.array(table.column(lower[name]).to_pylist(), dtype=object)
            geoms = shapely.from_wkt(wkt, on_invalid="ignore")
            return _centres(geoms), [*used, lower[name]]
    for x, y in _LOCATION_PAIRS:
        if x in lower and y in lower:
            xs, _ = _numbers(table.column(lower[x]))
            ys, _ = _numbers(table.column(lower[y]))
            if xs is not None and ys is not None:
                pts = shapely.points(xs, ys)
                pts[np.isnan(xs) | np.isnan(ys)] = None
                return pts, used
    return None, used


def _numbers(column: pa.ChunkedArray) -> tuple[np.ndarray | None, int]:
    """A column as floats (NaN for missing) and the count of values that were not numbers; ``None`` for a text
    column (more than half of its values are not numbers)."""
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind):
        return np.array([math.nan if v is None else float(v) for v in column.to_pylist()], dtype=float), 0
    if not pa.types.is_string(kind) and not pa.types.is_large_string(kind):
        return None, 0
    out = np.full(len(column), np.nan)
    bad = given = 0
    for i, v in enumerate(column.to_pylist()):
        if v is None or not v.strip():
            continue
        given += 1
        try:
            out[i] = float(v)
        except ValueError:
            bad += 1
    if given and bad * 2 > given:
        return None, 0
    return out, bad
