"""Files beside the database: the ground truth (``<db>.truth.gpkg``) and public context (``<db>.context.gpkg``).

The truth is what nobody in the scenario knows: every mine, every minefield, what each hazard
and evidence item really covers. It lives in its own GeoPackage, never in the SafeGround
database, so that analyses can be scored against it without being able to read it.

>>> str(truth_path("data/demo.gpkg")), str(context_path("demo"))
('data/demo.truth.gpkg', 'demo.context.gpkg')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely

#: Layers of the truth file and of the context file.
TRUTH_LAYERS = ("mine", "minefield", "hazard_truth", "evidence_truth", "record_truth", "accident_truth")
CONTEXT_LAYERS = ("line_of_contact", "roads", "rivers", "bridges")


@dataclass
class FileLayer:
    """One layer of a side file: WGS84 geometry (shapely objects, or point coordinates ``x``/``y``, or none)
    and named columns. Layers of millions of points skip the spatial index (``spatial_index``): GDAL builds
    it slowly and it would double the file."""

    name: str
    geometry_type: str | None
    geometry: np.ndarray | None
    fields: dict[str, np.ndarray]
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    spatial_index: bool = True

    def __len__(self) -> int:
        if self.geometry is not None:
            return len(self.geometry)
        if self.x is not None:
            return len(self.x)
        return len(next(iter(self.fields.values()))) if self.fields else 0


def _sibling(db: str | Path, suffix: str) -> Path:
    path = Path(db)
    stem = path.name[: -len(".gpkg")] if path.name.lower().endswith(".gpkg") else path.name
    return path.with_name(stem + suffix)


def truth_path(db: str | Path) -> Path:
    """``demo.gpkg`` -> ``demo.truth.gpkg``."""
    return _sibling(db, ".truth.gpkg")


def context_path(db: str | Path) -> Path:
    """``demo.gpkg`` -> ``demo.context.gpkg``."""
    return _sibling(db, ".context.gpkg")


def _column(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "M":
        text = np.datetime_as_string(values, unit="D").astype(object)
        text[np.isnat(values)] = None
        return text
    if values.dtype.kind == "U":
        return values.astype(object)
    return values


def write_layers(path: str | Path, layers: Iterable[FileLayer], chunk: int = 500_000) -> Path:
    """Write ``layers`` to a new GeoPackage at ``path`` (an existing file is replaced), ``chunk`` rows at a time."""
    path = Path(path)
    path.unlink(missing_ok=True)
    for layer in layers:
        n = len(layer)
        names = list(layer.fields)
        for lo in range(0, max(n, 1), chunk):
            sel = slice(lo, lo + chunk)
            geometry = None
            if layer.x is not None and layer.y is not None:
                geometry = point_wkb(layer.x[sel], layer.y[sel])
            elif layer.geometry is not None:
                geometry = shapely.to_wkb(layer.geometry[sel], output_dimension=2)
            pyogrio.raw.write(str(path), geometry, [_column(layer.fields[k][sel]) for k in names], names,
                              layer=layer.name, driver="GPKG", geometry_type=layer.geometry_type,
                              crs="EPSG:4326" if layer.geometry_type else None, append=lo > 0,
                              layer_options=None if layer.spatial_index else {"SPATIAL_INDEX": "NO"},
                              promote_to_multi=bool(layer.geometry_type and layer.geometry_type.startswith("Multi")))
    return path


def point_wkb(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Little-endian WKB of 2D points, built without shapely objects (fast for millions of points).

    >>> shapely.from_wkb(point_wkb(np.array([1.5]), np.array([2.0]))[0]).wkt
    'POINT (1.5 2)'
    """
    rec = np.zeros(len(x), dtype=[("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])
    rec["order"] = 1
    rec["kind"] = 1
    rec["x"] = x
    rec["y"] = y
    buf = rec.tobytes()
    out = np.empty(len(x), dtype=object)
    out[:] = [buf[i:i + 21] for i in range(0, len(buf), 21)]
    return out


def read_layer(path: str | Path, name: str) -> FileLayer:
    """Read one layer of a side file back (geometry as shapely objects)."""
    meta, _fids, geometry, values = pyogrio.raw.read(str(path), layer=name)
    geoms = None if geometry is None else shapely.from_wkb(geometry)
    return FileLayer(name, meta["geometry_type"], geoms,
                     {str(f): v for f, v in zip(meta["fields"], values, strict=True)})
