"""The map's vector tiles: ``GET /api/tiles/{z}/{x}/{y}.mvt`` (Mapbox Vector Tile 2.1, XYZ scheme).

Signed-in users only; a user restricted to some admin areas gets only the features in them. Layers and their
freshness are the tiles service's (:mod:`safeground.services.tiles`): an edit is in the next tile served. Tiles
are read through the app's shared workspace and tile cache (:mod:`safeground.web.shared`), so the cache, the
casualty counts and the area restrictions are not rebuilt per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from safeground.services import tiles
from safeground.web.auth import SignedInReader
from safeground.web.shared import SharedReader

router = APIRouter(prefix="/api/tiles", tags=["map"])

MVT = "application/vnd.mapbox-vector-tile"


@router.get("/{z}/{x}/{y}.mvt", response_class=Response,
            responses={200: {"content": {MVT: {}}, "description": "The tile (empty when nothing is in it)."}})
def get_tile(request: Request, user: SignedInReader, z: Annotated[int, Path(ge=0, le=tiles.MAX_ZOOM)],
             x: Annotated[int, Path(ge=0)], y: Annotated[int, Path(ge=0)]) -> Response:
    """One vector tile with the layers visible at its zoom: hazards, released land, minefield records,
    priority targets and casualties counted per admin area."""
    shared: SharedReader = request.app.state.shared  # one workspace and cache for all requests: not rebuilt
    with shared.workspace() as ws:
        data = tiles.tile(ws, z, x, y, restriction=user.areas or None, cache=shared.tile_cache)
    return Response(data, media_type=MVT, headers={"Cache-Control": "private, max-age=30"})
