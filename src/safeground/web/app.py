"""The FastAPI application: :func:`create_app` over one database.

Every request opens the database through :class:`~safeground.services.workspace.WorkspacePool` (a SQLite
connection of its own, as they are not shared between the server's threads; on PostgreSQL a connection of the app's
pool, at most the configuration's ``server.max_connections``) and closes it when the answer is sent; reads of derived
state that is costly to build (the safety index, tiles) go through the app's one shared read-only workspace
(:mod:`safeground.web.shared`). Operation ids are the handlers' names, so clients generated from the OpenAPI
document keep working across releases.

>>> import tempfile, os
>>> from fastapi.testclient import TestClient
>>> from safeground.services.workspace import Workspace
>>> db = os.path.join(tempfile.mkdtemp(), "w.gpkg")
>>> Workspace.open(db, user="ana", create=True).close()
>>> client = TestClient(create_app(db))
>>> client.get("/api/layers/hazard_area").json()["prefix"]
'HA'
>>> client.get("/api/layers/nowhere").json()["code"]
'record.unknown_layer'
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from safeground import __version__
from safeground.domain.errors import NotFoundError
from safeground.domain.records import LAYERS
from safeground.services.workspace import WorkspacePool
from safeground.web import problems
from safeground.web.auth import WorkspaceDep
from safeground.web.catalogue import layer_document, layers_document
from safeground.web.rate_limit import DEFAULT, TILES_DEFAULT, RateLimit
from safeground.web.routes import (
    auth,
    ogcapi,
    pages,
    plan_map,
    public,
    records,
    risk,
    safety_batch,
    stats,
    tiles,
)
from safeground.web.shared import SharedReader
from safeground.web.tile_front import CachedTileFront

#: Seconds between background refreshes of the cached tiles that edits touched.
TILE_REFRESH_S = 30.0

_log = logging.getLogger("safeground.web")


def _operation_id(route: APIRoute) -> str:
    return route.name


async def _refresh_tiles(shared: SharedReader, every_s: float) -> None:
    """Render again, every ``every_s`` seconds, the cached tiles that edits touched (in a worker thread)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await run_in_threadpool(shared.refresh_tiles)
        except Exception:  # a failed refresh leaves the tiles to render on demand; the next one tries again
            _log.exception("background tile refresh failed")


def create_app(db: str | Path, *, read_only: bool = False, rate_limit: str | None = DEFAULT,
               tile_rate_limit: str | None = TILES_DEFAULT, trusted_proxies: str | Sequence[str] | None = None,
               tile_cache: str | Path | None = None, tile_refresh_s: float | None = TILE_REFRESH_S) -> FastAPI:
    """The web application over the database file ``db`` (which must exist).

    ``read_only`` opens it read-only for every request (a public mirror). ``rate_limit`` and ``tile_rate_limit``
    bound the public routes and the public tiles per client (``limits`` notation, e.g. ``"60/minute"``; ``None``:
    no limit). ``trusted_proxies`` (addresses, or ``"*"``) are the reverse proxies whose ``X-Forwarded-For`` names
    the client; none by default. ``tile_cache`` is the signed-in map's tile cache file (default ``<db>.tiles``;
    the public tiles go beside it, ``.public.tiles``). Every ``tile_refresh_s`` seconds (``None``: never) the cached
    tiles that edits touched are rendered again in the background, so the next view of an edited place is served
    from the cache (a tile is current either way: a stale one is rendered when asked for). ``db`` may also be a
    PostgreSQL URL."""
    path = str(db)  # a GeoPackage file, or a PostgreSQL URL
    if not path.startswith(("postgresql://", "postgres://")) and not Path(path).is_file():
        raise NotFoundError("store.not_found", f"No database at {path}.",
                            hint="Create one with 'safeground init --db FILE' or 'safeground demo --db FILE'.")
    limits = (RateLimit(rate_limit) if rate_limit else None,
              RateLimit(tile_rate_limit) if tile_rate_limit else None)
    # Bring the schema up to date now (the shared reader opens it read-only), and learn where side files go; the
    # requests' workspaces: a pool of connections to a server (server.max_connections), or the file opened anew.
    workspaces = WorkspacePool(path, read_only=read_only)
    side = workspaces.side_path
    shared = SharedReader(path, tile_cache=tile_cache if tile_cache is not None else str(side) + ".tiles")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        refresher = asyncio.create_task(_refresh_tiles(shared, tile_refresh_s)) if tile_refresh_s else None
        yield
        if refresher is not None:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
        shared.close()
        workspaces.close()

    app = FastAPI(title="SafeGround", version=__version__, openapi_url="/api/openapi.json", docs_url="/api/docs",
                  redoc_url=None, generate_unique_id_function=_operation_id,
                  description="Information management for humanitarian mine action (IMAS): records, statistics "
                              "and a public safety service. Errors are RFC 9457 problem documents.",
                  lifespan=lifespan)
    app.state.db = path
    app.state.read_only = read_only
    app.state.workspaces = workspaces
    app.state.shared = shared
    app.state.rate_limit, app.state.tile_rate_limit = limits
    # cached tiles are answered before routing (tile_front); inside the proxy headers, so that the public tiles'
    # rate limit counts the same client as the routes do
    app.add_middleware(CachedTileFront, shared=shared, tile_rate_limit=limits[1])
    if trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies)  # type: ignore[arg-type]
    problems.install(app)

    @app.get("/api", tags=["meta"])
    def landing(request: Request) -> dict[str, Any]:
        """What this server offers, with links."""
        base = str(request.base_url).rstrip("/")
        name = Path(side).stem if path.startswith("postgres") else Path(path).name  # never a server's URL
        return {"title": "SafeGround", "version": __version__, "database": name,
                "links": [{"rel": "service-desc", "href": f"{base}/api/openapi.json",
                           "type": "application/vnd.oai.openapi+json;version=3.1"},
                          {"rel": "service-doc", "href": f"{base}/api/docs", "type": "text/html"},
                          {"rel": "data", "href": f"{base}/api/layers", "type": "application/json"}]}

    @app.get("/api/health", tags=["meta"])
    def health(ws: WorkspaceDep) -> dict[str, Any]:
        """Whether the database answers: its schema version and record count per layer."""
        return {"status": "ok", "schema_version": ws.store.schema_version,
                "records": {layer: ws.store.count(layer) for layer in LAYERS}}

    @app.get("/api/layers", tags=["records"])
    def list_layers() -> dict[str, Any]:
        """Every record type: layer, ref prefix, geometry and fields (personal fields marked)."""
        return layers_document()

    @app.get("/api/layers/{layer}", tags=["records"])
    def get_layer(layer: str) -> dict[str, Any]:
        """One record type's declaration."""
        return layer_document(layer)

    for module in (auth, tiles, risk, plan_map, ogcapi, records, public, safety_batch, stats, pages):
        app.include_router(module.router)
    return app
