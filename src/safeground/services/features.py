"""Records as GeoJSON features and feature collections: what the OGC API – Features serves (framework-free).

Every read goes through :mod:`safeground.services.record_access`, so the public sees only *published*
records of the layers not about persons, personal fields are removed by role and area restrictions hold.

- **Collections** are the spatial record layers, plus the layers about persons (casualties, victim-assistance
  referrals) for users whose role reads them record by record (data entry and above). For anybody else
  those collections do not exist (``ogc.unknown_collection``, 404), so their existence is not disclosed.
- **Located through.** A casualty has no geometry of its own: it is served at its accident's point, and a
  referral at its casualty's accident (``geometry`` null when the link is empty or the accident has no point).
  A bounding box on them selects by that point.
- **Feature id** is the record's ``ref`` (``HA-000123``); an item is found by ref or uuid.
- **Dates.** ``datetime`` selects on the layer's event date (``info_date`` for layers without one), as the
  REST API's ``date_from``/``date_to``; the event dates are days, so an instant selects its day (UTC).
- **Extents** are computed from the data and kept until the audit log shows a write to their layer.

>>> parse_datetime("2019-01-01/..")
(datetime.date(2019, 1, 1), None)
>>> parse_bbox("-74,3,-73,4.5")
(-74.0, 3.0, -73.0, 4.5)
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.domain.records import LAYERS, record_type
from safeground.domain.roles import PERSON_LAYERS
from safeground.domain.users import User
from safeground.services import record_access, users
from safeground.services.record_access import MAX_LIMIT, Bbox, Page, RecordFilter
from safeground.services.workspace import Workspace
from safeground.store.base import Record, Where

#: Layers without a geometry of their own, served at the location of the record they link to
#: (the link field is named after the linked layer).
LOCATED_THROUGH = {"casualty": "accident", "assistance_referral": "casualty"}

#: The layers served as collections, in declaration order.
COLLECTION_LAYERS: tuple[str, ...] = tuple(
    layer for layer in LAYERS if record_type(layer).is_spatial or layer in LOCATED_THROUGH)

#: The page size when the client gives none (the standard's example value); the largest is ``MAX_LIMIT``.
DEFAULT_LIMIT = 10


# --- which collections ------------------------------------------------------------------------------------
def is_collection(user: User | None, layer: str) -> bool:
    """Whether ``layer`` is a collection for ``user``: spatial, or located through a link and readable by them.

    >>> is_collection(None, "hazard_area"), is_collection(None, "casualty"), is_collection(None, "organisation")
    (True, False, False)
    """
    if layer not in COLLECTION_LAYERS:
        return False
    if layer in PERSON_LAYERS:
        return users.can(user, "read", layer)
    return user is None or users.can(user, "read", layer)


def collection_layers(user: User | None) -> list[str]:
    """The collections ``user`` sees, in declaration order."""
    return [layer for layer in COLLECTION_LAYERS if is_collection(user, layer)]


def require_collection(user: User | None, collection_id: str) -> str:
    """``collection_id`` if it is a collection for ``user``; ``ogc.unknown_collection`` (404) otherwise."""
    if not is_collection(user, collection_id):
        raise NotFoundError("ogc.unknown_collection", f"No collection '{collection_id}'.",
                            hint="List the collections with GET /ogc/collections (layers about persons need "
                                 "a sign-in with a role that reads them).")
    return collection_id


# --- query parameters ---------------------------------------------------------------------------------------
def parse_bbox(text: str) -> Bbox:
    """``minx,miny,maxx,maxy`` in WGS84 longitude/latitude (CRS84); six numbers (with heights) keep the
    horizontal four. ``ogc.bad_bbox`` (400) for anything else, or a box crossing the antimeridian.

    >>> parse_bbox("-74,3,0,-73,4.5,100")
    (-74.0, 3.0, -73.0, 4.5)
    >>> parse_bbox("1,2,3")
    Traceback (most recent call last):
    ...
    safeground.domain.errors.ValidationError: bbox must be 4 (or 6) comma-separated numbers, not '1,2,3'.
    """
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
        raise _bad_bbox(f"bbox must be 4 (or 6) comma-separated numbers, not {text!r}.")
    minx, miny, maxx, maxy = values if len(values) == 4 else (values[0], values[1], values[3], values[4])
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _bad_bbox(f"bbox {text!r} is not longitude/latitude with the south-west corner first.")
    if minx > maxx:
        raise _bad_bbox(f"bbox {text!r} crosses the antimeridian, which this server does not support.")
    return minx, miny, maxx, maxy


def _bad_bbox(message: str) -> ValidationError:
    return ValidationError("ogc.bad_bbox", message, status=400,
                           hint="Give bbox=minLon,minLat,maxLon,maxLat in WGS84 degrees, e.g. bbox=-74,3,-73,4.5.")


def parse_datetime(text: str) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day a ``datetime`` parameter selects (``None``: open): an instant (a date or an
    RFC 3339 date-time), a closed interval ``start/end``, or an open one with ``..`` (or nothing) for the
    open end. ``ogc.bad_datetime`` (400) otherwise.

    >>> parse_datetime("2020-05-01T10:00:00Z")
    (datetime.date(2020, 5, 1), datetime.date(2020, 5, 1))
    >>> parse_datetime("../2020-01-01")
    (None, datetime.date(2020, 1, 1))
    >>> parse_datetime("2021-01-01/2020-01-01")
    Traceback (most recent call last):
    ...
    safeground.domain.errors.ValidationError: datetime interval '2021-01-01/2020-01-01' ends before it starts.
    """
    parts = text.split("/")
    if len(parts) == 1:
        day = _day(text, text)
        if day is None:
            raise _bad_datetime(f"datetime {text!r} is not a date or date-time.")
        return day, day
    if len(parts) != 2:
        raise _bad_datetime(f"datetime {text!r} is neither an instant nor an interval start/end.")
    start, end = (_day(p, text) for p in parts)
    if start is not None and end is not None and start > end:
        raise _bad_datetime(f"datetime interval {text!r} ends before it starts.")
    return start, end


def _day(part: str, text: str) -> dt.date | None:
    """The UTC day of one end of an interval; ``None`` for an open end."""
    part = part.strip()
    if part in ("", ".."):
        return None
    try:
        if len(part) == 10:
            return dt.date.fromisoformat(part)
        moment = dt.datetime.fromisoformat(part.replace("z", "Z"))
    except ValueError:
        raise _bad_datetime(f"datetime {text!r}: {part!r} is not an RFC 3339 date or date-time.") from None
    if "T" not in part.upper():
        raise _bad_datetime(f"datetime {text!r}: {part!r} is not an RFC 3339 date or date-time.")
    return (moment.astimezone(dt.UTC) if moment.tzinfo else moment).date()


def _bad_datetime(message: str) -> ValidationError:
    return ValidationError("ogc.bad_datetime", message, status=400,
                           hint="Give an RFC 3339 date or date-time, or an interval such as "
                                "2019-01-01/2020-12-31, ../2020-01-01 or 2019-01-01/..")


def parse_paging(limit: str | None, offset: str | None) -> tuple[int, int]:
    """``(limit, offset)`` from the query: limit defaults to 10 and a larger one than 1,000 is served as
    1,000 (not refused, as the standard intends); ``ogc.bad_limit`` (400) for a limit under 1, an offset under
    0, or something that is not a whole number.

    >>> parse_paging(None, None), parse_paging("5000", "20")
    ((10, 0), (1000, 20))
    """
    try:
        n = DEFAULT_LIMIT if limit is None else int(limit)
        start = 0 if offset is None else int(offset)
    except ValueError:
        n, start = 0, 0
    if n < 1 or start < 0:
        raise ValidationError("ogc.bad_limit", f"limit must be a whole number from 1 and offset one from 0, "
                              f"not limit={limit!r}, offset={offset!r}.", status=400,
                              hint=f"Page with limit (at most {MAX_LIMIT} features are served at a time) and "
                                   "the 'next' links.")
    return min(n, MAX_LIMIT), start


# --- reading ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Extent:
    """A collection's extent: bounding box (``None``: no located record) and first and last event days."""

    bbox: Bbox | None
    first: str | None
    last: str | None


def date_field(layer: str) -> str:
    """The field ``datetime`` selects on: the layer's event date, else ``info_date``."""
    return record_type(layer).event_date or "info_date"


def extent(ws: Workspace, user: User | None, layer: str) -> Extent:
    """The extent of the records of ``layer`` that ``user`` may read (not retired): the box from the store's
    spatial index, rounded outwards and clipped to the user's areas when restricted, and the first and last
    event days."""
    require_collection(user, layer)
    whole = _layer_extent(ws, layer, public=user is None)
    scope = users.area_scope(ws, user) if user is not None else None
    if whole.bbox is None or scope is None:
        return whole
    return replace(whole, bbox=_clip(whole.bbox, scope.outline))


@dataclass
class _Extents:
    """The extents computed on one database, valid up to audit row ``seq``."""

    seq: int
    found: dict[tuple[str, bool], Extent] = field(default_factory=dict)


#: Extents per database, kept until the audit log shows a change to their layer (every write is audited): a
#: layer's extent is a whole-layer scan, about two seconds on a million devices, so it is computed only after
#: an edit to that layer (or to the layer a casualty or referral is located through).
_KNOWN: dict[str, _Extents] = {}
_LOCK = threading.Lock()
#: More audit rows than this since the last look: forget every extent rather than read them all.
_CATCH_UP_ROWS = 5000


def _layer_extent(ws: Workspace, layer: str, *, public: bool) -> Extent:
    """The extent of the layer's records not retired (published ones only, for the public)."""
    with _LOCK:
        known = _caught_up(ws)
        cached = known.found.get((layer, public))
        if cached is None:
            cached = known.found[(layer, public)] = _compute_extent(ws, layer, public=public)
        return cached


def _caught_up(ws: Workspace) -> _Extents:
    """The extents of ``ws``'s database, without those of layers changed since they were computed."""
    last = ws.store.last_change_seq()
    known = _KNOWN.get(ws.store.location)
    if known is None or last < known.seq:  # first look, or another file now (a backup restored)
        known = _KNOWN[ws.store.location] = _Extents(last)
    if last == known.seq:
        return known
    changed: set[str] = set()
    for n, change in enumerate(ws.store.changes_since(known.seq, limit=_CATCH_UP_ROWS + 1)):
        if n == _CATCH_UP_ROWS:
            known.found.clear()
            break
        if change.seq <= last:
            changed.add(change.layer)
    known.found = {key: ext for key, ext in known.found.items() if not _depends(key[0]) & changed}
    known.seq = last
    return known


def _depends(layer: str) -> set[str]:
    """The layers whose records make ``layer``'s extent: itself and those it is located through."""
    out = {layer}
    while layer in LOCATED_THROUGH:
        layer = LOCATED_THROUGH[layer]
        out.add(layer)
    return out


def _compute_extent(ws: Workspace, layer: str, *, public: bool) -> Extent:
    where = {"review_state": list(record_access.PUBLIC_STATES)} if public else {}
    name = date_field(layer)
    days = ws.store.aggregate(layer, metrics={"first": ("min", name), "last": ("max", name)}, where=where)[0]
    box = _located_extent(ws, layer, where) if layer in LOCATED_THROUGH else ws.store.extent(layer, where=where)
    if box is not None:
        box = (_down(box[0]), _down(box[1]), -_down(-box[2]), -_down(-box[3]))
    return Extent(box, _text(days["first"]), _text(days["last"]))


def _down(value: float) -> float:
    """``value`` rounded down to 1e-6 degree (about 10 cm): an extent rounded outwards stays an extent."""
    return math.floor(value * 1e6) / 1e6


def _clip(box: Bbox, outline: shapely.Geometry | None) -> Bbox | None:
    """``box`` within the bounds of ``outline`` (a restricted user's areas): nothing outside them shows."""
    if outline is None:
        return None
    clipped = shapely.box(*box).intersection(shapely.box(*outline.bounds))
    if clipped.is_empty:
        return None
    minx, miny, maxx, maxy = (float(v) for v in clipped.bounds)
    return minx, miny, maxx, maxy


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _located_extent(ws: Workspace, layer: str, where: Where) -> Bbox | None:
    parent = LOCATED_THROUGH[layer]
    links = sorted({r[parent] for r in ws.store.query(layer, where=where, geometry=False, fields=[parent])
                    if r.get(parent)})
    if not links:
        return None
    if parent in LOCATED_THROUGH:
        return _located_extent(ws, parent, {"uuid": links})
    return ws.store.extent(parent, where={"uuid": links}, include_retired=True)


def locate(ws: Workspace, layer: str, records: Sequence[Record]) -> list[shapely.Geometry | None]:
    """The geometry each record of ``layer`` is served with: its own, or (a layer located through a link)
    the linked record's, followed to a spatial layer."""
    if layer not in LOCATED_THROUGH:
        return [r.get("geometry") for r in records]
    parent = LOCATED_THROUGH[layer]
    links = sorted({r[parent] for r in records if r.get(parent)})
    fields = [LOCATED_THROUGH[parent]] if parent in LOCATED_THROUGH else []
    parents = ws.store.query(parent, where={"uuid": links}, include_retired=True, fields=fields) if links else []
    where = dict(zip((p["uuid"] for p in parents), locate(ws, parent, parents), strict=True))
    return [where.get(r.get(parent)) for r in records]


def find_features(ws: Workspace, user: User | None, layer: str, *, bbox: Bbox | None = None,
                  dates: tuple[dt.date | None, dt.date | None] = (None, None), limit: int = DEFAULT_LIMIT,
                  offset: int = 0) -> Page:
    """One page of the records of collection ``layer`` that ``user`` may read, each with the ``geometry`` it
    is served with, oldest first; ``total`` counts every match. With ``bbox``, only records whose geometry
    intersects the box (exactly, not by its bounding box; when the box holds the layer's whole extent, the
    spatial index alone answers)."""
    require_collection(user, layer)
    flt = RecordFilter(date_from=dates[0], date_to=dates[1])
    if bbox is not None:
        if layer in LOCATED_THROUGH or not _covers(bbox, _layer_extent(ws, layer, public=user is None).bbox):
            return _exactly_in(ws, user, layer, flt, bbox, limit, offset)
        flt = replace(flt, bbox=bbox)  # every located record lies inside: the index's answer is exact
    page = record_access.find_records(ws, user, layer, flt, limit=limit, offset=offset)
    return _located(ws, layer, page)


def _covers(bbox: Bbox, box: Bbox | None) -> bool:
    return box is None or (bbox[0] <= box[0] and bbox[1] <= box[1] and bbox[2] >= box[2] and bbox[3] >= box[3])


def _exactly_in(ws: Workspace, user: User | None, layer: str, flt: RecordFilter, bbox: Bbox, limit: int,
                offset: int) -> Page:
    """The page of records whose geometry meets ``bbox``: the spatial index's candidates (all records, for a
    layer located through a link), each checked with shapely."""
    candidates = _all(ws, user, layer, flt if layer in LOCATED_THROUGH else replace(flt, bbox=bbox))
    meets = shapely.intersects(shapely.box(*bbox), np.array(locate(ws, layer, candidates), dtype=object))
    hits = [r for r, ok in zip(candidates, meets.tolist(), strict=True) if ok]
    shown = hits[offset:offset + limit]
    return _located(ws, layer, Page(shown, len(hits), limit, offset))


def _all(ws: Workspace, user: User | None, layer: str, flt: RecordFilter) -> list[Record]:
    """Every record ``find_records`` selects, read a page at a time."""
    out: list[Record] = []
    offset: int | None = 0
    while offset is not None:
        page = record_access.find_records(ws, user, layer, flt, limit=MAX_LIMIT, offset=offset)
        out.extend(page.records)
        offset = page.next_offset
    return out


def _located(ws: Workspace, layer: str, page: Page) -> Page:
    if layer not in LOCATED_THROUGH:
        return page
    records = [{**r, "geometry": g} for r, g in zip(page.records, locate(ws, layer, page.records), strict=True)]
    return Page(records, page.total, page.limit, page.offset)


def get_feature(ws: Workspace, user: User | None, layer: str, feature_id: str) -> Record:
    """One record of collection ``layer`` by ref or uuid, with the geometry it is served with;
    ``record.not_found`` (404) when ``user`` may not see it."""
    require_collection(user, layer)
    prefix, dash, number = feature_id.strip().upper().partition("-")
    not_found = NotFoundError("record.not_found", f"No feature {feature_id} in collection {layer}.",
                              hint=f"Feature ids are refs such as {record_type(layer).prefix}-000001 (or uuids); "
                                   f"list them with GET /ogc/collections/{layer}/items.")
    if dash and number.isdigit() and prefix != record_type(layer).prefix:
        raise not_found  # another layer's ref: no need to look
    try:
        record = record_access.get_record(ws, user, layer, feature_id)
    except ValidationError as err:  # neither a ref nor a uuid: for the standard, a feature that does not exist
        raise not_found from err
    if record.get("retired_at"):
        raise NotFoundError("record.not_found", f"{record['ref']} was retired.",
                            hint=f"Retired records are listed by GET /api/records/{layer}?include_retired=true.")
    return {**record, "geometry": locate(ws, layer, [record])[0]}


def feature(record: Record) -> dict[str, Any]:
    """A record as a GeoJSON feature: ``id`` is its ref, its fields are the properties.

    >>> feature({"uuid": "u", "ref": "HA-000001", "name": "x", "geometry": shapely.Point(-72, 5)})["geometry"]
    {'type': 'Point', 'coordinates': (-72.0, 5.0)}
    """
    geometry = record.get("geometry")
    return {"type": "Feature", "id": record["ref"],
            "geometry": mapping(geometry) if geometry is not None else None,
            "properties": {k: v for k, v in record.items() if k != "geometry"}}
