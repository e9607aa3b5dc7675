"""The browser pages and what they need: ``/`` (the map), ``/dashboard``, ``/public``, the static files under
``/static/`` and three small read-only documents the pages load.

- ``GET /api/map``: the map's settings: the configured online basemap (``basemap_url``, none means the offline
  Natural Earth outlines only), where to look first (``bounds``) and the tile layers with their zooms;
- ``GET /api/map/outlines``: Natural Earth 1:110m country outlines as GeoJSON, the offline basemap;
- ``GET /api/layers/{layer}/labels``: a record type's field and vocabulary labels per language, for forms,
  detail panels and the legend.

None of them needs a sign-in: they hold declarations and public-domain outlines, never records. The pages are
plain HTML over small ES modules (``static/js``); MapLibre GL JS is installed from npm and copied into
``static/vendor`` by ``make web``, so nothing is ever loaded from a CDN (field offices are often offline).

>>> import tempfile, os
>>> from fastapi.testclient import TestClient
>>> from safeground.services.workspace import Workspace
>>> from safeground.web.app import create_app
>>> db = os.path.join(tempfile.mkdtemp(), "p.gpkg")
>>> Workspace.open(db, user="ana", create=True).close()
>>> client = TestClient(create_app(db))
>>> client.get("/api/map").json()["basemap_url"] is None
True
>>> client.get("/api/layers/hazard_area/labels").json()["terms"]["hazard_class"]["cha"]["es"]
'Área peligrosa confirmada (APC)'
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import shapely
from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from safeground.domain.records import record_type
from safeground.services import tiles
from safeground.services.workspace import Workspace
from safeground.web.auth import MaybeUser, WorkspaceDep

#: The pages, scripts, styles, language catalogues and vendored libraries.
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_STATIC = StaticFiles(directory=STATIC_DIR)

router = APIRouter(tags=["pages"])


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


@router.get("/", include_in_schema=False)
def page_map() -> FileResponse:
    """The web map (sign-in form first; anonymous visitors are offered the public page)."""
    return _page("map.html")


@router.get("/dashboard", include_in_schema=False)
def page_dashboard() -> FileResponse:
    """The statistics dashboard (signed-in users)."""
    return _page("dashboard.html")


@router.get("/public", include_in_schema=False)
def page_public() -> FileResponse:
    """The public page: is this place safe, public hazards, settlements, casualty aggregates."""
    return _page("public.html")


@router.api_route("/static/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def page_static(path: str, request: Request) -> Response:
    """A static file (404 problem when missing; conditional requests answered with 304)."""
    return await _STATIC.get_response(path, request.scope)


def data_bounds(ws: Workspace, areas: Sequence[str] = ()) -> list[float] | None:
    """Where the map opens (WGS84 box): the admin areas named by code in ``areas`` (a user's restriction), else
    every imported admin area (where the work is), else the national outline, else the hazard areas; ``None``
    for an empty database without a country.

    >>> import tempfile, os
    >>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "b.gpkg"), user="ana", create=True)
    >>> data_bounds(ws) is None
    True
    >>> from safeground.domain.config import Config
    >>> ws.set_config(Config(country="COL"))
    >>> [round(v) for v in data_bounds(ws)]
    [-79, -4, -67, 12]
    >>> ws.close()
    """
    where = {"code": list(areas)} if areas else None
    outlines = [r["geometry"] for r in ws.store.query("admin_area", where=where, fields=[])
                if r["geometry"] is not None]
    if outlines:
        return [float(v) for v in shapely.total_bounds(outlines)]
    if ws.outline is not None:
        return [float(v) for v in ws.outline.bounds]
    hazards = [r["geometry"] for r in ws.store.query("hazard_area", fields=[]) if r["geometry"] is not None]
    return [float(v) for v in shapely.total_bounds(hazards)] if hazards else None


@router.get("/api/map")
def map_settings(ws: WorkspaceDep, user: MaybeUser) -> dict[str, Any]:
    """The map's settings: online basemap URL (null: offline outlines only), opening bounds (a user restricted
    to admin areas opens on them), configured label languages and the vector tile layers with their zoom
    ranges."""
    config = ws.config
    bounds = data_bounds(ws, user.areas if user is not None else ())
    return {"basemap_url": config.basemap_url, "bounds": bounds, "languages": config.languages,
            "tiles": "/api/tiles/{z}/{x}/{y}.mvt", "max_zoom": tiles.MAX_ZOOM,
            "layers": [{"name": t.name, "source": t.source, "minzoom": t.minzoom, "maxzoom": t.maxzoom,
                        "fields": list(t.fields)} for t in tiles.LAYERS]}


@router.get("/api/map/outlines", response_class=Response, include_in_schema=False)
def map_outlines() -> Response:
    """Natural Earth 1:110m country outlines (public domain), the basemap that works offline: a static asset of
    the pages, like ``/static``, so not an operation of the API document."""
    data = resources.files("safeground").joinpath("data/naturalearth/ne_110m_countries.geojson").read_bytes()
    return Response(data, media_type="application/geo+json", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/api/layers/{layer}/labels")
def layer_labels(layer: str) -> dict[str, Any]:
    """A record type's labels per language: ``fields`` {field: {lang: label}} (metadata first), ``own`` (the
    record type's own fields, in declaration order, after the metadata), ``units`` and ``terms`` {field: {code: {lang:
    label}}} for the fields with a vocabulary, and ``links`` {field: layer} for the fields naming another record."""
    rt = record_type(layer)
    return {"layer": rt.layer, "title": rt.title, "own": [f.name for f in rt.fields],
            "units": {f.name: f.unit for f in rt.all_fields if f.unit},
            "links": {f.name: f.links_to for f in rt.all_fields if f.links_to},
            "fields": {f.name: {"en": f.label("en"), **f.labels} for f in rt.all_fields},
            "terms": {f.name: {t.code: t.labels() for t in f.vocabulary.terms}
                      for f in rt.all_fields if f.vocabulary is not None}}
