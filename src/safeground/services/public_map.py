"""The public hazard map as data: GeoJSON pages of the public hazard areas, and their features for vector tiles.

Both read the public polygons the safety index holds (:func:`~safeground.services.safety.safety_index`: computed
once, kept current by the audit log), so the map, the GeoJSON and the safety check always show the same polygons,
with only the public fields of :data:`~safeground.services.public_hazards.PUBLIC_FIELDS`.

A GeoJSON answer is bounded: at most :data:`MAX_LIMIT` features a page, in ``ref`` order, with the count matched
and the offset of the next page. For the whole country (100,000 hazards: about 100 MB of GeoJSON) the public page
draws the public vector tiles instead (``services/tiles.py``, layer ``public_hazards``).

>>> import os, tempfile
>>> from safeground.services.records import add_record
>>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "p.gpkg"), user="ana", create=True)
>>> for i in range(3):
...     _ = add_record(ws, "hazard_area", {"name": f"Field {i}", "hazard_class": "sha", "status": "open",
...                    "geometry": shapely.box(-72.50 + i / 10, 5.00, -72.49 + i / 10, 5.01)})
>>> page = hazard_page(ws, limit=2)
>>> [f["id"] for f in page["features"]], page["numberMatched"], page["next_offset"]
(['HA-000001', 'HA-000002'], 3, 2)
>>> hazard_page(ws, bbox=(-72.32, 4.9, -72.2, 5.1))["numberMatched"]
1
>>> ws.close()
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely

from safeground.domain.errors import ValidationError
from safeground.services.public_hazards import PUBLIC_FIELDS
from safeground.services.safety import CAVEAT, safety_index
from safeground.services.workspace import Workspace

#: Features per GeoJSON page: default and most.
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000

Bbox = tuple[float, float, float, float]


def parse_bbox(text: str) -> Bbox:
    """``"minlon,minlat,maxlon,maxlat"`` as a checked WGS84 box.

    >>> parse_bbox("-73.5, 4.5, -72.5, 5.5")
    (-73.5, 4.5, -72.5, 5.5)
    """
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValidationError("public.bad_bbox", f"bbox={text!r} is not four numbers.",
                              hint="Give bbox=minlon,minlat,maxlon,maxlat in decimal degrees (WGS84).")
    return check_bbox((values[0], values[1], values[2], values[3]))


def check_bbox(bbox: Bbox) -> Bbox:
    """A WGS84 box ``(minx, miny, maxx, maxy)`` checked for order and range.

    >>> check_bbox((-73, 4, -72, 5))
    (-73.0, 4.0, -72.0, 5.0)
    """
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValidationError("public.bad_bbox", f"The box {minx}, {miny}, {maxx}, {maxy} is not a WGS84 box.",
                              hint="Give bbox=minlon,minlat,maxlon,maxlat in decimal degrees, min before max.")
    return minx, miny, maxx, maxy


def hazard_page(ws: Workspace, *, bbox: Bbox | None = None, limit: int = DEFAULT_LIMIT,
                offset: int = 0) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the public hazard areas meeting ``bbox`` (all without), ``limit`` from
    ``offset`` in ``ref`` order; ``numberMatched``, ``numberReturned``, ``next_offset`` (null on the last page)
    and ``caveat`` beside the features."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("public.bad_limit", f"limit {limit} is out of range.",
                              hint=f"Ask for 1 to {MAX_LIMIT:,} features a page and page with offset.")
    if offset < 0:
        raise ValidationError("public.bad_limit", f"offset {offset} is negative.", hint="Start at offset 0.")
    index = safety_index(ws)
    chosen = index.in_bbox(None if bbox is None else check_bbox(bbox))
    page = chosen[offset:offset + limit]
    hazards = index.hazards
    features = [{"type": "Feature", "id": hazards.refs[i], "properties": hazards.properties[i],
                 "geometry": shapely.geometry.mapping(hazards.geometry[i])} for i in page.tolist()]
    end = offset + len(page)
    return {"type": "FeatureCollection", "features": features, "numberMatched": len(chosen),
            "numberReturned": len(features), "next_offset": end if end < len(chosen) else None,
            "buffer_m": 25, "caveat": CAVEAT}


def hazard_features(ws: Workspace, bbox: Bbox | None) -> tuple[np.ndarray, dict[str, list[Any]]]:
    """The public polygons meeting ``bbox`` (WGS84) with their public fields, as the tile layer reads them."""
    index = safety_index(ws)
    chosen = index.in_bbox(bbox)
    props = index.hazards.properties
    return index.hazards.geometry[chosen], {f: [props[i][f] for i in chosen.tolist()] for f in PUBLIC_FIELDS}
