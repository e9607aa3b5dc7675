"""Coordinate reference systems: WGS84 storage, UTM for measurement, any EPSG code for input.

>>> utm_epsg(-74.1, 4.6)
32618
>>> utm_epsg(151.2, -33.9)
32756
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyproj
import shapely
from pyproj.exceptions import CRSError

from safeground.domain.errors import ValidationError

WGS84 = 4326


def utm_epsg(lon: float, lat: float) -> int:
    """The EPSG code of the WGS84 UTM zone containing ``(lon, lat)``."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def utm_epsg_array(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Vectorised :func:`utm_epsg`."""
    zone = ((np.asarray(lon) + 180.0) // 6.0).astype(np.int64) % 60 + 1
    return np.where(np.asarray(lat) >= 0, 32600, 32700) + zone


@lru_cache(maxsize=64)
def transformer(src: int, dst: int) -> pyproj.Transformer:
    """A cached, axis-order-safe (x=lon/easting, y=lat/northing) transformer."""
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def check_epsg(code: int) -> int:
    """Return ``code`` if pyproj knows it, else a :class:`ValidationError` with a hint."""
    try:
        pyproj.CRS.from_epsg(int(code))
    except (CRSError, ValueError, TypeError):
        raise ValidationError("geometry.unknown_crs", f"EPSG:{code} is not a known coordinate reference system.",
                              hint="Give the EPSG code of the source data, e.g. 4326 or 32618.") from None
    return int(code)


def reproject(geoms: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Reproject an array of shapely geometries."""
    if src == dst:
        return geoms
    t = transformer(src, dst)
    return shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def to_wgs84(geoms: np.ndarray, src: int) -> np.ndarray:
    """Reproject to EPSG:4326, the storage CRS."""
    return reproject(geoms, src, WGS84)
