"""Cached vector tiles answered in front of the framework: the map's busiest request, at its cheapest.

A map view asks for a dozen tiles or more at once, and most are already in the tile cache. Served through
FastAPI's routing, dependencies and validation, a cached tile costs about a millisecond of framework work for
0.1 ms of our own (the token lookup, the audit sequence check and the cache read). :class:`CachedTileFront` is a
plain ASGI middleware that answers ``GET /api/tiles/{z}/{x}/{y}.mvt`` (a bearer token of a user with no area
restriction) and ``GET /api/public/tiles/{z}/{x}/{y}.mvt`` directly when the tile is cached and up to date, with
the same body and headers as the routes (:mod:`safeground.web.routes.tiles`, :mod:`~safeground.web.routes.public`).

Everything else goes on to the routes, which stay the one place that decides: a tile not cached or behind the
audit log, Basic credentials, a wrong token, a restricted user, a path that is not a tile, and a client over the
public tiles' rate limit (counted here for the tiles answered here; a refused request is not counted, so the
route's own count of it refuses it again with its 429).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from safeground.domain.errors import SafeGroundError
from safeground.services import tiles, users
from safeground.web.rate_limit import RateLimit
from safeground.web.shared import SharedReader

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The media type of both tile routes.
MVT = "application/vnd.mapbox-vector-tile"

_TILE = re.compile(r"/api/(public/)?tiles/(\d{1,2})/(\d{1,7})/(\d{1,7})\.mvt")
_SIGNED_HEADERS = [(b"content-type", MVT.encode()), (b"cache-control", b"private, max-age=30")]
_PUBLIC_HEADERS = [(b"content-type", MVT.encode()), (b"cache-control", b"public, max-age=60")]


class CachedTileFront:
    """ASGI middleware: answer a cached, current tile without entering the app; pass everything else on."""

    def __init__(self, app: ASGIApp, shared: SharedReader, tile_rate_limit: RateLimit | None) -> None:
        self.app = app
        self.shared = shared
        self.tile_rate_limit = tile_rate_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            found = _TILE.fullmatch(scope["path"])
            if found is not None:
                public, z, x, y = found[1] is not None, int(found[2]), int(found[3]), int(found[4])
                data = self._public(scope, z, x, y) if public else self._signed_in(scope, z, x, y)
                if data is not None:
                    headers = _PUBLIC_HEADERS if public else _SIGNED_HEADERS
                    await send({"type": "http.response.start", "status": 200,
                                "headers": [*headers, (b"content-length", str(len(data)).encode())]})
                    await send({"type": "http.response.body", "body": data})
                    return
        await self.app(scope, receive, send)

    def _signed_in(self, scope: Scope, z: int, x: int, y: int) -> bytes | None:
        authorization = _header(scope, b"authorization")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        ws = self.shared.try_workspace()  # never wait for the lock on the event loop: the route will
        if ws is None:
            return None
        try:
            user = users.authenticate_token(ws, token.strip())
            if user.areas:  # restricted tiles are rendered per restriction by the route
                return None
            return _current(ws, z, x, y, self.shared.tile_cache, tiles.LAYERS)
        except SafeGroundError:  # a wrong or revoked token, a tile out of range: the route answers
            return None
        finally:
            self.shared.release()

    def _public(self, scope: Scope, z: int, x: int, y: int) -> bytes | None:
        ws = self.shared.try_workspace()
        if ws is None:
            return None
        try:
            data = _current(ws, z, x, y, self.shared.public_tile_cache, tiles.PUBLIC_LAYERS)
        except SafeGroundError:
            return None
        finally:
            self.shared.release()
        if data is not None and self.tile_rate_limit is not None:
            client = scope.get("client")
            if self.tile_rate_limit.hit(client[0] if client else "unknown") is not None:
                return None  # over the limit: the route refuses it with 429 and Retry-After
        return data


def _current(ws: Any, z: int, x: int, y: int, cache: Any, layers: tuple[tiles.TileLayer, ...]) -> bytes | None:
    if z > tiles.MAX_ZOOM or x >= 1 << z or y >= 1 << z:
        return None
    return tiles.cached_tile(ws, z, x, y, cache=cache, layers=layers)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""
