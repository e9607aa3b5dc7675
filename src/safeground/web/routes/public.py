"""The public view (no sign-in): safety check, public hazard areas, settlement status, casualty figures, tiles.

Every route reads through the app's shared read-only workspace (:mod:`safeground.web.shared`), so the safety
index and the public tile cache are built once and kept current by the audit log. Answers carry only what the
public services return: no personal field, no record of who entered what, casualties only as suppressed counts.

Rate limit: ``rate_limit`` requests a minute per client (default 60; :mod:`safeground.web.rate_limit`), 429 with
``Retry-After`` beyond. The public tiles have their own, higher limit (``tile_rate_limit``, default 1,200 a
minute): one view of the map alone asks for a dozen tiles or more.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from safeground.services import public_map, safety, tiles
from safeground.services.public_casualties import LEVELS, PERIODS, public_casualties
from safeground.services.settlements import settlement_status
from safeground.web.rate_limit import public_rate_limit, public_tile_rate_limit
from safeground.web.shared import SharedReader

router = APIRouter(prefix="/api/public", tags=["public"])
limited = [Depends(public_rate_limit)]

MVT = "application/vnd.mapbox-vector-tile"
Distance = Annotated[float, Query(ge=0, le=safety.MAX_DISTANCE_M,
                                  description="Metres around the place that count as near a hazard.")]


def _shared(request: Request) -> SharedReader:
    shared: SharedReader = request.app.state.shared
    return shared


@router.get("/safety", dependencies=limited, response_model=dict[str, Any])
async def public_safety_point(
        request: Request, lat: Annotated[float, Query(ge=-90, le=90, description="WGS84 latitude")],
        lon: Annotated[float, Query(ge=-180, le=180, description="WGS84 longitude")],
        distance: Distance = safety.DEFAULT_DISTANCE_M) -> Response:
    """Is this point inside a known hazard, within ``distance`` m of one, or clear of known hazards? With the
    distance to the nearest public hazard polygon and the caveat that no known hazard is not the same as safe."""
    # A check takes about 0.1 ms: done on the event loop when the shared workspace is free (no hop to a worker
    # thread), else in a worker thread that waits for it, so the loop never blocks on a long tile render.
    shared = _shared(request)
    ws = shared.try_workspace()
    if ws is None:
        return JSONResponse(await run_in_threadpool(_check_point, shared, lat, lon, distance))
    try:
        return JSONResponse(safety.check_point(ws, lat, lon, distance))
    finally:
        shared.release()


def _check_point(shared: SharedReader, lat: float, lon: float, distance: float) -> dict[str, Any]:
    with shared.workspace() as ws:
        return safety.check_point(ws, lat, lon, distance)


@router.post("/safety", dependencies=limited)
def public_safety_geometry(
        request: Request,
        geojson: Annotated[dict[str, Any], Body(description="A GeoJSON geometry or Feature in WGS84: a route "
                                                "(LineString), an area (Polygon), points, or their Multi forms.",
                                                examples=[{"type": "LineString",
                                                           "coordinates": [[-72.51, 5.0], [-72.48, 5.02]]}])],
        distance: Distance = safety.DEFAULT_DISTANCE_M) -> dict[str, Any]:
    """The same answer as the GET for a route or an area: inside (it touches a public hazard polygon), within
    ``distance`` m of one, or clear."""
    with _shared(request).workspace() as ws:
        return safety.check_geometry(ws, geojson, distance)


@router.get("/hazards", dependencies=limited)
def public_hazard_areas(
        request: Request,
        bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)",
                                          examples=["-73.5,4.5,-72.5,5.5"])] = None,
        limit: Annotated[int, Query(ge=1, le=public_map.MAX_LIMIT)] = public_map.DEFAULT_LIMIT,
        offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """The public hazard areas (remaining area buffered 25 m, simplified outward) meeting ``bbox`` as a GeoJSON
    FeatureCollection, one page of at most ``limit`` in ref order; ``next_offset`` gives the next page. For the
    whole country, draw the public tiles instead."""
    box = public_map.parse_bbox(bbox) if bbox is not None else None
    with _shared(request).workspace() as ws:
        return public_map.hazard_page(ws, bbox=box, limit=limit, offset=offset)


@router.get("/settlements", dependencies=limited)
def public_settlements(request: Request) -> dict[str, Any]:
    """Each settlement: released, partly released or blocked, with the refs of the hazards concerned."""
    with _shared(request).workspace() as ws:
        return {"settlements": settlement_status(ws), "caveat": safety.CAVEAT}


@router.get("/casualties", dependencies=limited)
def public_casualty_counts(
        request: Request,
        level: Annotated[str, Query(pattern="^(" + "|".join(LEVELS) + ")$")] = "adm1",
        period: Annotated[str, Query(pattern="^(" + "|".join(PERIODS) + ")$")] = "month") -> dict[str, Any]:
    """People killed or injured per admin area and month (or year); counts under 5 shown as "<5" and totals that
    would reveal them withheld. Never anything about a person."""
    with _shared(request).workspace() as ws:
        return public_casualties(ws, level=level, period=period)


@router.get("/tiles/{z}/{x}/{y}.mvt", response_class=Response, dependencies=[Depends(public_tile_rate_limit)],
            responses={200: {"content": {MVT: {}}, "description": "The tile (empty when nothing is in it)."}})
async def public_tile(request: Request, z: Annotated[int, Path(ge=0, le=tiles.MAX_ZOOM)],
                      x: Annotated[int, Path(ge=0)], y: Annotated[int, Path(ge=0)]) -> Response:
    """One vector tile of the public map: layer ``public_hazards`` (public fields only), zooms 6 to 14."""
    shared = _shared(request)
    data = None
    ws = shared.try_workspace()  # a cached tile is read on the event loop when the shared workspace is free
    if ws is not None:
        try:
            data = tiles.cached_tile(ws, z, x, y, cache=shared.public_tile_cache, layers=tiles.PUBLIC_LAYERS)
        finally:
            shared.release()
    if data is None:
        data = await run_in_threadpool(_public_tile, shared, z, x, y)
    return Response(data, media_type=MVT, headers={"Cache-Control": "public, max-age=60"})


def _public_tile(shared: SharedReader, z: int, x: int, y: int) -> bytes:
    with shared.workspace() as ws:
        return tiles.tile(ws, z, x, y, cache=shared.public_tile_cache, layers=tiles.PUBLIC_LAYERS)
