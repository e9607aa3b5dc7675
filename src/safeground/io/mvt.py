"""Mapbox Vector Tiles (MVT 2.1), encoded by GDAL's MVT driver, which pyogrio bundles.

Why GDAL: it is a native (C++) encoder that is already a dependency, where pure-Python encoding
(mapbox-vector-tile) takes seconds for a dense tile. GDAL reprojects to Web Mercator, clips each feature to
its tile plus a buffer, quantises to the tile grid (4096), simplifies in tile units (so the same setting
simplifies more at low zoom, in metres) and writes every tile of a zoom range in one pass.

Each call writes **one** tile layer; tiles of several layers are concatenated (an MVT tile is a sequence of
``layers`` fields, so the concatenation of single-layer tiles is a valid tile). Tiles are returned
uncompressed; an empty tile is ``b""`` (no layers), a valid MVT tile.

>>> import numpy as np, shapely
>>> square = shapely.box(-72.50, 5.00, -72.49, 5.01)
>>> tiles = encode_layer("hazards", np.array([square]), {"ref": ["HA-000001"]}, minzoom=12, maxzoom=12)
>>> sorted(tiles)
[(12, 1223, 1990), (12, 1223, 1991)]
>>> tiles[(12, 1223, 1990)][:1]  # field 3 (layers), length-delimited
b'\\x1a'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyogrio.raw
import shapely

#: Tile extent (grid units across a tile) and buffer (units beyond each edge kept), GDAL's defaults.
EXTENT = 4096
BUFFER = 80
#: GDAL discards features of a tile beyond these limits (after first coarsening coordinates); set far above what
#: a map tile holds so that no hazard is ever silently left out of a tile.
MAX_SIZE = 50_000_000
MAX_FEATURES = 10_000_000


def _column(values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """A column for pyogrio: integers as int64 (nulls masked), reals as float64, anything else as text."""
    present = [v for v in values if v is not None]
    mask = np.array([v is None for v in values], dtype=bool)
    if present and all(isinstance(v, bool | int) and not isinstance(v, bool) for v in present):
        return np.array([0 if v is None else v for v in values], dtype=np.int64), mask if mask.any() else None
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64), None
    return np.array([None if v is None else str(v) for v in values], dtype=object), None


def encode_layer(name: str, geometries: np.ndarray, columns: Mapping[str, Sequence[Any]], *, minzoom: int,
                 maxzoom: int, simplification: float = 0.0) -> dict[tuple[int, int, int], bytes]:
    """Every non-empty tile ``(z, x, y)`` (XYZ scheme) of one layer from ``minzoom`` to ``maxzoom``.

    ``geometries`` are shapely geometries in WGS84; ``columns`` the attributes kept, one value per geometry;
    ``simplification`` a Douglas-Peucker tolerance in tile grid units (0: none beyond quantisation).
    """
    if len(geometries) == 0:
        return {}
    names = list(columns)
    data, masks = zip(*(_column(list(columns[n])) for n in names), strict=True) if names else ((), ())
    options = {"MINZOOM": str(minzoom), "MAXZOOM": str(maxzoom), "FORMAT": "DIRECTORY", "COMPRESS": "NO",
               "MAX_SIZE": str(MAX_SIZE), "MAX_FEATURES": str(MAX_FEATURES), "BUFFER": str(BUFFER),
               "EXTENT": str(EXTENT)}
    if simplification > 0:
        options["SIMPLIFICATION"] = repr(float(simplification))
        options["SIMPLIFICATION_MAX_ZOOM"] = repr(float(simplification))
    tiles: dict[tuple[int, int, int], bytes] = {}
    with tempfile.TemporaryDirectory(prefix="safeground-mvt-") as folder:
        out = os.path.join(folder, "tiles")
        pyogrio.raw.write(out, shapely.to_wkb(geometries), field_data=list(data), fields=names,
                          field_mask=list(masks) if names else None, layer=name, driver="MVT",
                          geometry_type="Unknown", crs="EPSG:4326", dataset_options=options)
        for zdir in os.scandir(out):
            if not zdir.is_dir():
                continue  # metadata.json
            for xdir in os.scandir(zdir.path):
                for entry in os.scandir(xdir.path):
                    with open(entry.path, "rb") as fh:
                        tiles[(int(zdir.name), int(xdir.name), int(entry.name.removesuffix(".pbf")))] = fh.read()
    return tiles
