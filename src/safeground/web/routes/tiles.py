"""The map's vector tiles: ``GET /api/tiles/{z}/{x}/{y}.mvt`` (Mapbox Vector Tile 2.1, XYZ scheme).

Signed-in users only; a user restricted to some admin areas gets only the features in them. Layers and their
freshness are the tiles service's (:mod:`safeground.services.tiles`): an edit is in the next tile served. Tiles
are read through the app's shared workspace and tile cache (:mod:`safeground.web.shared`), so the cache, the
casualty counts and the area restrictions are not rebuilt per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool

from safeground.services import tiles
from safeground.web.auth import SignedInReader
from safeground.web.shared import SharedReader

router = APIRouter(prefix="/api/tiles", tags=["map"])

MVT = "application/vnd.mapbox-vector-tile"


@router.get("/{z}/{x}/{y}.mvt", response_class=Response,
            responses={200: {"content": {MVT: {}}, "description": "The tile (empty when nothing is in it)."}})
async def get_tile(request: Request, user: SignedInReader, z: Annotated[int, Path(ge=0, le=tiles.MAX_ZOOM)],
                   x: Annotated[int, Path(ge=0)], y: Annotated[int, Path(ge=0)]) -> Response:
    """One vector tile with the layers visible at its zoom: hazards, released land, minefield records,
    priority targets and casualties counted per admin area."""
    shared: SharedReader = request.app.state.shared  # one workspace and cache for all requests: not rebuilt
    data = None
    if not user.areas:  # a cached tile is read on the event loop when the shared workspace is free
        ws = shared.try_workspace()
        if ws is not None:
            try:
                data = tiles.cached_tile(ws, z, x, y, cache=shared.tile_cache)
            finally:
                shared.release()
    if data is None:  # render (or refresh) in a worker thread
        data = await run_in_threadpool(_tile, shared, z, x, y, user.areas or None)
    return Response(data, media_type=MVT, headers={"Cache-Control": "private, max-age=30"})


def _tile(shared: SharedReader, z: int, x: int, y: int, restriction: tuple[str, ...] | None) -> bytes:
    with shared.workspace() as ws:
        return tiles.tile(ws, z, x, y, restriction=restriction, cache=shared.tile_cache)
