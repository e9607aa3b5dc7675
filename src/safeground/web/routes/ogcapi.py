"""OGC API – Features, Part 1 Core with GeoJSON, under ``/ogc``: QGIS, ArcGIS and GDAL read SafeGround directly.

``/ogc`` (landing page), ``/ogc/conformance``, ``/ogc/collections``, ``/ogc/collections/{collectionId}``,
``/ogc/collections/{collectionId}/items`` (``bbox``, ``datetime``, ``limit``, ``offset``; ``next``/``prev``
links) and ``/ogc/collections/{collectionId}/items/{featureId}``. Handlers only parse the query and shape the
documents; which records and collections a person sees is :mod:`safeground.services.features`'s business.

A query parameter the standard does not define for the path is refused (``ogc.unknown_parameter``, 400), so a
typo such as ``bbbox`` never silently returns everything; ``f=json`` is accepted, other formats are
``ogc.bad_format`` (400).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from safeground.domain.errors import ValidationError
from safeground.domain.records import record_type
from safeground.services import features
from safeground.web.auth import MaybeUser, WorkspaceDep

router = APIRouter(prefix="/ogc", tags=["ogc"])

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

#: The conformance classes implemented (the service description is OpenAPI 3.1, so OAS 3.0 is not claimed).
CONFORMANCE = ("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
               "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson")

_FORMAT = Query(description="Response format: only 'json' (GeoJSON for features) is served.")


def _check_query(request: Request, allowed: Iterable[str] = ()) -> None:
    """Refuse parameters this path does not define, and formats other than JSON."""
    known = {"f", *allowed}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ValidationError("ogc.unknown_parameter", f"Unknown query parameter {', '.join(unknown)}.",
                              status=400, hint="Parameters here: " + ", ".join(sorted(known)) + ".")
    fmt = request.query_params.get("f")
    if fmt is not None and fmt.lower() not in ("json", "geojson"):
        raise ValidationError("ogc.bad_format", f"Format {fmt!r} is not served.", status=400,
                              hint="Leave f out or give f=json: the answers are JSON and GeoJSON.")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def _json(doc: dict[str, Any], media_type: str = JSON) -> JSONResponse:
    return JSONResponse(doc, media_type=media_type)


@router.get("", response_class=JSONResponse)
def ogc_landing(request: Request, f: Annotated[str | None, _FORMAT] = None) -> JSONResponse:
    """The landing page: links to the API definition, the conformance declaration and the collections."""
    _check_query(request)
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    return _json({"title": "SafeGround – OGC API Features",
                  "description": "Mine action records (IMAS) as OGC API – Features collections. Without sign-in: "
                                 "published records of the layers not about persons.",
                  "links": [_link(base, "self", JSON, "This document"),
                            _link(f"{root}/api/openapi.json", "service-desc", OPENAPI, "The API definition"),
                            _link(f"{root}/api/docs", "service-doc", "text/html", "The API documentation"),
                            _link(f"{base}/conformance", "conformance", JSON, "Conformance classes implemented"),
                            _link(f"{base}/collections", "data", JSON, "The collections")]})


@router.get("/conformance", response_class=JSONResponse)
def ogc_conformance(request: Request, f: Annotated[str | None, _FORMAT] = None) -> JSONResponse:
    """The conformance classes this server implements: Core and GeoJSON."""
    _check_query(request)
    return _json({"conformsTo": list(CONFORMANCE)})


def _collection(request: Request, ws: WorkspaceDep, user: MaybeUser, layer: str) -> dict[str, Any]:
    rt = record_type(layer)
    ext = features.extent(ws, user, layer)
    extent: dict[str, Any] = {"temporal": {"interval": [[ext.first, ext.last]], "trs": GREGORIAN}}
    if ext.bbox is not None:
        extent["spatial"] = {"bbox": [list(ext.bbox)], "crs": CRS84}
    url = f"{_base(request)}/collections/{layer}"
    description = rt.description
    if layer in features.LOCATED_THROUGH:
        description += f" Located at its {features.LOCATED_THROUGH[layer]}'s place."
    return {"id": layer, "title": rt.title, "description": description, "itemType": "feature",
            "crs": [CRS84], "extent": extent,
            "links": [_link(url, "self", JSON, f"{rt.title}: this document"),
                      _link(f"{url}/items", "items", GEOJSON, f"{rt.title}: the features")]}


@router.get("/collections", response_class=JSONResponse)
def ogc_collections(request: Request, ws: WorkspaceDep, user: MaybeUser,
                    f: Annotated[str | None, _FORMAT] = None) -> JSONResponse:
    """The collections this user sees: the spatial record layers (casualties and referrals only for roles
    that read them record by record)."""
    _check_query(request)
    url = f"{_base(request)}/collections"
    return _json({"links": [_link(url, "self", JSON, "The collections")],
                  "collections": [_collection(request, ws, user, layer)
                                  for layer in features.collection_layers(user)]})


@router.get("/collections/{collectionId}", response_class=JSONResponse)
def ogc_collection(request: Request, ws: WorkspaceDep, user: MaybeUser, collectionId: str,
                   f: Annotated[str | None, _FORMAT] = None) -> JSONResponse:
    """One collection: id, title, description, extent (from the data), item type and CRS."""
    _check_query(request)
    layer = features.require_collection(user, collectionId)
    return _json(_collection(request, ws, user, layer))


@router.get("/collections/{collectionId}/items", response_class=JSONResponse,
            responses={200: {"content": {GEOJSON: {}}, "description": "A GeoJSON FeatureCollection."}})
def ogc_items(request: Request, ws: WorkspaceDep, user: MaybeUser, collectionId: str,
              f: Annotated[str | None, _FORMAT] = None,
              bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat in WGS84 (CRS84); "
                                                            "features whose geometry intersects it.")] = None,
              datetime: Annotated[str | None, Query(description="An RFC 3339 date or date-time, or an interval "
                                                                "start/end with '..' for an open end, on the "
                                                                "layer's event date.")] = None,
              limit: Annotated[str | None, Query(description="Features per page: 1 to 1000 (more is served "
                                                             "as 1000), default 10.")] = None,
              offset: Annotated[str | None, Query(description="Features to skip (the 'next' link sets it).")]
              = None) -> JSONResponse:
    """The collection's features, a page at a time, as a GeoJSON FeatureCollection with numberMatched,
    numberReturned, timeStamp and next/prev links."""
    _check_query(request, ("bbox", "datetime", "limit", "offset"))
    layer = features.require_collection(user, collectionId)
    n, start = features.parse_paging(limit, offset)
    box = features.parse_bbox(bbox) if bbox is not None else None
    dates = features.parse_datetime(datetime) if datetime is not None else (None, None)
    page = features.find_features(ws, user, layer, bbox=box, dates=dates, limit=n, offset=start)
    url = f"{_base(request)}/collections/{layer}/items"

    def at(new_offset: int) -> str:
        params = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}
        return f"{url}?{urlencode({**params, 'limit': n, 'offset': new_offset})}"

    links = [_link(at(start), "self", GEOJSON, "This page"),
             _link(f"{_base(request)}/collections/{layer}", "collection", JSON, "The collection")]
    if page.next_offset is not None:
        links.append(_link(at(page.next_offset), "next", GEOJSON, "The next page"))
    if start > 0:
        links.append(_link(at(max(0, start - n)), "prev", GEOJSON, "The previous page"))
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return _json({"type": "FeatureCollection", "features": [features.feature(r) for r in page.records],
                  "numberMatched": page.total, "numberReturned": len(page.records), "timeStamp": stamp,
                  "links": links}, GEOJSON)


@router.get("/collections/{collectionId}/items/{featureId}", response_class=JSONResponse,
            responses={200: {"content": {GEOJSON: {}}, "description": "A GeoJSON Feature."}})
def ogc_item(request: Request, ws: WorkspaceDep, user: MaybeUser, collectionId: str,
             featureId: str, f: Annotated[str | None, _FORMAT] = None) -> JSONResponse:
    """One feature by its id (the record's ref) or its uuid."""
    _check_query(request)
    layer = features.require_collection(user, collectionId)
    doc = features.feature(features.get_feature(ws, user, layer, featureId))
    collection = f"{_base(request)}/collections/{layer}"
    doc["links"] = [_link(f"{collection}/items/{doc['id']}", "self", GEOJSON, "This feature"),
                    _link(collection, "collection", JSON, "The collection")]
    return _json(doc, GEOJSON)
