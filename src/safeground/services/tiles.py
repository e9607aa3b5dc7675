"""Vector tiles for the web map: ``tile(ws, z, x, y, restriction=...)`` returns an MVT tile's bytes.

**Approach.** Tiles are encoded by GDAL's native MVT driver (``io/mvt.py``; pure-Python encoding takes
seconds for a dense tile) and kept in a side cache file (``store/tile_cache.py``), one entry per tile layer,
so a tile served again is one indexed read. A tile not in the cache is rendered on demand from the records in
its box (GeoPackage R-tree), and ``build_cache`` renders whole zoom ranges at once (GDAL tiles a layer's
features for every zoom in one pass).

**Freshness.** Every call first applies the audit log since the cache's sequence number (``refresh``): the tiles
that the old and new bounding box of each changed record touch, at every zoom of its layer, are dropped and
rendered again when asked for. An edit is therefore in the next tile served (well within the minute the
issue asks for), and every other tile stays as cached. The aggregated casualty layer is dropped whole when a
casualty, accident or admin area changes (rare, and the layer is small).

**Layers** are declared in ``LAYERS`` (a new one is one more entry): source layer, attributes kept, zoom range,
simplification. Retired records are never drawn. The current risk run's cells are a computed layer
(:mod:`~safeground.services.risk_map`), redrawn whole when another run is adopted; never a public layer. So
are the current clearance plan's hazards with their weeks (:mod:`~safeground.services.plan_map`).
Casualties appear only as counts per admin area (level 2, else 1): no casualty field but the outcome is ever
read, and no accident location leaves this module.

**Restrictions.** ``restriction`` is a WGS84 polygon or a set of admin area codes (the union of those areas):
only features that intersect it are drawn (the casualty layer: only areas that do). Each restriction is its
own tileset in the cache.

**Public tiles.** ``PUBLIC_LAYERS`` is a second layer set, for the public page: the public hazard areas
(generalised outward, public fields only, as the safety check sees them: ``services/public_map.py``). The public
page needs tiles for scale: 100,000 public polygons are about 100 MB of GeoJSON, while a tile holds only what its
box shows. ``tile``, ``refresh`` and ``build_cache`` take the layer set (``layers=``); give each layer set its own
cache file (``cache=``), since a cache's sequence number is the state of its layers only. The public layer is
redrawn whole when a hazard or released area changes (its tiles render again on demand from the safety index's
polygons in memory).

**Threads.** The memos and ``refresh`` are behind one lock, and the tile cache has its own; the workspace's
connection itself must not be used by two threads at once (the web app's shared reader hands it out under a lock).

Tiles are uncompressed MVT 2.1 (the web layer may gzip them); an empty tile is ``b""``.

>>> import os, tempfile, shapely
>>> from safeground.services.records import add_record
>>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "t.gpkg"), user="ana", create=True)
>>> hazard = add_record(ws, "hazard_area", {"name": "North field", "hazard_class": "cha", "status": "open",
...                     "geometry": shapely.box(-72.50, 5.00, -72.49, 5.01)})
>>> len(tile(ws, 12, 1223, 1990)) > 0, tile(ws, 12, 1000, 1000)
(True, b'')
>>> ws.close()
"""

from __future__ import annotations

import hashlib
import math
import threading
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import shapely

from safeground.domain.errors import ValidationError
from safeground.io.mvt import BUFFER, EXTENT, encode_layer
from safeground.services import plan_map, public_map, risk_map
from safeground.services.public_hazards import PUBLIC_FIELDS
from safeground.services.workspace import Workspace
from safeground.store.base import change_mark
from safeground.store.gpkg_binary import envelope
from safeground.store.gpkg_risk import RISK_RUN_LAYER
from safeground.store.plan_rows import PLAN_RUN_LAYER
from safeground.store.tile_cache import TileCache

#: Deepest zoom served (the map overzooms beyond a layer's ``maxzoom``).
MAX_ZOOM = 22
#: Web Mercator's latitude limit.
MAX_LAT = 85.0511287798066
#: Above this many changed records of one layer, ``refresh`` drops the layer's tiles instead of tile by tile.
WHOLE_LAYER_CHANGES = 5000

Bbox = tuple[float, float, float, float]
Restriction: TypeAlias = shapely.Geometry | Collection[str]
#: A layer's features: ``(geometries in WGS84, {attribute: values})``, within a WGS84 box (or everywhere).
Features = tuple[np.ndarray, dict[str, list[Any]]]


@dataclass(frozen=True)
class TileLayer:
    """One layer of the map's tiles, declared: where its features come from and how they are tiled."""

    name: str
    source: str
    fields: tuple[str, ...]
    minzoom: int
    maxzoom: int
    #: Douglas-Peucker tolerance in tile grid units (1/4096 of a tile): at zoom 8 one unit is ~38 m, at 14 ~0.6 m.
    simplification: float = 0.0
    where: Mapping[str, Any] = field(default_factory=dict)
    #: Features computed rather than read (aggregates); ``None`` reads ``source`` records.
    features: Callable[[Workspace, Bbox | None], Features] | None = None
    #: Store layers whose change redraws the whole layer (for computed features).
    depends_on: tuple[str, ...] = ()
    #: Computed features drawn at their ``source`` records' polygons: a changed record drops the tiles its old and
    #: new boxes touch, as for a layer read from ``source``.
    follows_source: bool = False

    def read(self, ws: Workspace, bbox: Bbox | None) -> Features:
        if self.features is not None:
            return self.features(ws, bbox)
        rows = ws.store.query(self.source, where=dict(self.where), bbox=bbox, fields=list(self.fields))
        geoms = np.array([r["geometry"] for r in rows if r["geometry"] is not None], dtype=object)
        kept = [r for r in rows if r["geometry"] is not None]
        return geoms, {f: [r[f] for r in kept] for f in self.fields}


_COUNTS: weakref.WeakKeyDictionary[Workspace, tuple[int, np.ndarray, dict[str, list[Any]], shapely.STRtree]] = \
    weakref.WeakKeyDictionary()
#: Guards the memos below and ``refresh`` (re-entrant: rendering during a refresh reads the memos).
_LOCK = threading.RLock()


def casualty_counts(ws: Workspace, bbox: Bbox | None) -> Features:
    """Admin areas (level 2, else 1) with their casualties: ``casualties``, ``killed``, ``injured``.

    An accident counts in the area holding its location. Only ``accident`` and ``outcome`` of a casualty are
    read: no personal field is ever loaded. The counts of every area are computed once per state of the
    database (its last audit sequence number) and then picked by box."""
    with _LOCK:
        seq = ws.store.last_change_seq()
        memo = _COUNTS.get(ws)
        if memo is None or memo[0] != seq:
            geoms, columns = _count_casualties(ws)
            memo = (seq, geoms, columns, shapely.STRtree(geoms))
            _COUNTS[ws] = memo
    _seq, geoms, columns, tree = memo
    if bbox is None or not len(geoms):
        return geoms, columns
    idx = np.sort(tree.query(shapely.box(*bbox), predicate="intersects"))
    return geoms[idx], {k: [v[i] for i in idx.tolist()] for k, v in columns.items()}


def _count_casualties(ws: Workspace) -> Features:
    levels = {r["level"] for r in ws.store.aggregate("admin_area", group_by=["level"])}
    level = 2 if 2 in levels else 1 if 1 in levels else None
    areas = ws.store.query("admin_area", where={"level": level}, fields=["code", "name"]) if level else []
    if not areas:
        return np.array([], dtype=object), {}
    area_geoms = np.array([a["geometry"] for a in areas], dtype=object)
    located = [a for a in ws.store.query("accident", fields=[]) if a["geometry"] is not None]
    per_area = np.zeros((len(areas), 3), dtype=np.int64)
    if located:
        pts, idx = shapely.STRtree(area_geoms).query(np.array([a["geometry"] for a in located], dtype=object),
                                                     predicate="intersects")
        area_of: dict[str, int] = {}
        for p, i in zip(pts.tolist(), idx.tolist(), strict=True):
            area_of.setdefault(located[p]["uuid"], i)  # a point on a shared border counts once
        for c in ws.store.query("casualty", fields=["accident", "outcome"], geometry=False):
            i = area_of.get(c["accident"])
            if i is not None:
                per_area[i] += (1, c["outcome"] == "killed", c["outcome"] == "injured")
    keep = per_area[:, 0] > 0
    chosen = [a for a, k in zip(areas, keep.tolist(), strict=True) if k]
    return area_geoms[keep], {"code": [a["code"] for a in chosen], "name": [a["name"] for a in chosen],
                              "casualties": per_area[keep, 0].tolist(), "killed": per_area[keep, 1].tolist(),
                              "injured": per_area[keep, 2].tolist()}


#: The map's tile layers, drawn in this order (later above). Add a layer here and it is tiled, cached and kept
#: fresh like the others.
LAYERS: tuple[TileLayer, ...] = (
    # The current risk run's cells, below everything recorded; redrawn whole when another run is adopted.
    TileLayer("risk_surface", "risk_cell", ("cell", "risk", "run"), 6, 14, features=risk_map.surface_features,
              depends_on=(RISK_RUN_LAYER,)),
    TileLayer("casualties", "admin_area", ("code", "name", "casualties", "killed", "injured"), 4, 12,
              simplification=2.0, features=casualty_counts, depends_on=("casualty", "accident", "admin_area")),
    TileLayer("released_land", "released_area", ("ref", "kind", "release_status", "released_on"), 8, 14,
              simplification=1.0),
    TileLayer("minefield_records", "minefield_record", ("ref", "name", "reliability", "mine_count"), 8, 14,
              simplification=1.0),
    TileLayer("hazards", "hazard_area", ("ref", "name", "hazard_class", "status", "marking", "review_state"), 6, 14,
              simplification=1.0),
    # The current clearance plan's hazards with their weeks; redrawn whole when another plan is adopted, and where
    # a hazard changed (not whole on every hazard edit, which would defeat the background refresh).
    TileLayer("plan", "hazard_area", plan_map.FIELDS, 6, 14, simplification=1.0, features=plan_map.plan_features,
              depends_on=(PLAN_RUN_LAYER,), follows_source=True),
    TileLayer("priority_targets", "priority_target", ("ref", "name", "kind", "displaced_households"), 6, 14,
              simplification=1.0),
)

#: The public page's tile layers: the public hazard areas only (no record of people, no review state).
PUBLIC_LAYERS: tuple[TileLayer, ...] = (
    TileLayer("public_hazards", "hazard_area", PUBLIC_FIELDS, 6, 14, simplification=1.0,
              features=public_map.hazard_features, depends_on=("hazard_area", "released_area")),
)


# --- tile arithmetic (XYZ scheme, Web Mercator) ---------------------------------------------------------------
def tile_bounds(z: int, x: int, y: int, *, buffer: float = 0.0) -> Bbox:
    """WGS84 bounds of tile ``(z, x, y)``, grown by ``buffer`` tile widths on each side.

    >>> [round(v, 4) for v in tile_bounds(1, 0, 0)]
    [-180.0, 0.0, 0.0, 85.0511]
    """
    n = 2 ** z

    def lon(tx: float) -> float:
        return tx / n * 360.0 - 180.0

    def lat(ty: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    return (max(lon(x - buffer), -180.0), max(lat(y + 1 + buffer), -MAX_LAT),
            min(lon(x + 1 + buffer), 180.0), min(lat(y - buffer), MAX_LAT))


def tiles_covering(bbox: Bbox, z: int, *, buffer: float = 0.0) -> Iterable[tuple[int, int, int]]:
    """Tiles of zoom ``z`` whose area, grown by ``buffer`` tile widths, meets the WGS84 ``bbox``.

    >>> sorted(tiles_covering((-72.50, 5.00, -72.49, 5.01), 12))
    [(12, 1223, 1990), (12, 1223, 1991)]
    """
    n = 2 ** z
    minx, miny, maxx, maxy = bbox

    def tx(lon: float) -> float:
        return (lon + 180.0) / 360.0 * n

    def ty(lat: float) -> float:
        lat = min(max(lat, -MAX_LAT), MAX_LAT)
        r = math.radians(lat)
        return (1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n

    x0, x1 = math.floor(tx(minx) - buffer), math.floor(tx(maxx) + buffer)
    y0, y1 = math.floor(ty(maxy) - buffer), math.floor(ty(miny) + buffer)
    for x in range(max(x0, 0), min(x1, n - 1) + 1):
        for y in range(max(y0, 0), min(y1, n - 1) + 1):
            yield (z, x, y)


def _check_tile(z: int, x: int, y: int) -> None:
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise ValidationError("tiles.bad_tile", f"There is no tile {z}/{x}/{y}.",
                              hint=f"Zoom runs from 0 to {MAX_ZOOM}; x and y from 0 to 2^zoom - 1 (XYZ scheme).")


# --- restrictions ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Region:
    """A resolved restriction: its area (WGS84) and its cache key; ``area`` ``None`` means everywhere."""

    key: str
    area: shapely.Geometry | None

    def keep(self, geoms: np.ndarray) -> np.ndarray:
        if self.area is None:
            return np.ones(len(geoms), dtype=bool)
        return np.asarray(shapely.intersects(geoms, self.area), dtype=bool)


_REGIONS: weakref.WeakKeyDictionary[Workspace, tuple[int, dict[frozenset[str], Region]]] = \
    weakref.WeakKeyDictionary()


def resolve_restriction(ws: Workspace, restriction: Restriction | None) -> Region:
    """The area a restriction covers: a WGS84 polygon as given, or the union of admin areas named by code
    (resolved once per database state)."""
    if restriction is None:
        return Region("all", None)
    if isinstance(restriction, shapely.Geometry):
        return _region(ws, restriction)
    codes = frozenset(restriction)
    with _LOCK:
        seq = ws.store.last_change_seq()
        seen = _REGIONS.get(ws)
        if seen is None or seen[0] != seq:
            seen = (seq, {})
            _REGIONS[ws] = seen
        region = seen[1].get(codes)
        if region is None:
            region = seen[1][codes] = _region(ws, codes)
        return region


def _region(ws: Workspace, restriction: Restriction) -> Region:
    if isinstance(restriction, shapely.Geometry):
        area = restriction
    else:
        codes = sorted(set(restriction))
        rows = ws.store.query("admin_area", where={"code": codes}, fields=["code"]) if codes else []
        missing = sorted(set(codes) - {r["code"] for r in rows})
        if missing or not codes:
            raise ValidationError("tiles.bad_restriction",
                                  f"The area restriction names no stored admin area: {', '.join(missing) or 'none'}.",
                                  hint="Give the P-codes of imported admin areas (safeground import --as admin_area).")
        area = shapely.union_all([r["geometry"] for r in rows])
    if area.is_empty or not shapely.is_valid(area) or area.area == 0:
        raise ValidationError("tiles.bad_restriction", "The area restriction is not a valid, non-empty polygon.",
                              hint="Give a valid WGS84 polygon, or admin area codes.")
    area = shapely.normalize(area)
    shapely.prepare(area)
    return Region("r" + hashlib.sha256(shapely.to_wkb(area)).hexdigest()[:24], area)


# --- cache, rendering, freshness ------------------------------------------------------------------------------
_CACHES: weakref.WeakKeyDictionary[Workspace, TileCache] = weakref.WeakKeyDictionary()


def cache_for(ws: Workspace) -> TileCache:
    """The workspace's tile cache: ``<db>.tiles`` beside its database file (in memory for an in-memory store)."""
    with _LOCK:
        cache = _CACHES.get(ws)
        if cache is None:
            location = ws.store.location
            cache = TileCache(":memory:" if location == ":memory:" else str(ws.store.side_path) + ".tiles")
            _CACHES[ws] = cache
        return cache


def _render(ws: Workspace, layer: TileLayer, z: int, x: int, y: int, region: Region) -> bytes:
    """One layer of one tile, from the records in the tile's box and its buffer: encoded by the database where
    it can (PostGIS's ``ST_AsMVT``), else read and encoded by GDAL."""
    if layer.features is None:
        data = ws.store.vector_tile(layer.name, layer.source, layer.fields, z, x, y, where=dict(layer.where),
                                    area=region.area, extent=EXTENT, buffer=BUFFER,
                                    simplification=layer.simplification)
        if data is not None:
            return data
    geoms, columns = layer.read(ws, tile_bounds(z, x, y, buffer=BUFFER / EXTENT))
    keep = region.keep(geoms)
    if not keep.any():
        return b""
    if not keep.all():
        geoms, columns = geoms[keep], {k: [v for v, m in zip(vs, keep, strict=True) if m] for k, vs in columns.items()}
    return encode_layer(layer.name, geoms, columns, minzoom=z, maxzoom=z,
                        simplification=layer.simplification).get((z, x, y), b"")


_KNOWN: weakref.WeakKeyDictionary[Workspace, dict[str, Region]] = weakref.WeakKeyDictionary()


def _known(ws: Workspace, region: Region) -> Region:
    """Remember a tileset's region, so that ``refresh(render=True)`` can render its dropped tiles again."""
    with _LOCK:
        _KNOWN.setdefault(ws, {})[region.key] = region
    return region


def refresh(ws: Workspace, cache: TileCache | None = None, *, render: bool = False,
            layers: tuple[TileLayer, ...] = LAYERS) -> int:
    """Drop the cached tiles that changes since the cache's audit sequence number touch; how many were dropped.
    A cache whose last change the log no longer holds as it was (the database was rewound, or another one
    restored under its name) is emptied.

    ``tile`` calls it first, so tiles are always current. A web app may also call it from a background job
    with ``render=True``: the dropped tiles of the tilesets this process has served are then rendered again at
    once, so the next request does not wait for them (layers dropped whole are left to render on demand)."""
    with _LOCK:
        return _refresh(ws, cache or cache_for(ws), render, layers)


def _refresh(ws: Workspace, cache: TileCache, render: bool, layers: tuple[TileLayer, ...]) -> int:
    seq, latest = cache.seq, ws.store.last_change_mark()
    if cache.mark == latest:  # nothing new (one indexed read)
        return 0
    if seq is None or cache.mark != _mark_at(ws, seq):
        # A new cache; one from before marks; or the log no longer holds the change the tiles reflect (the
        # database was rewound or another one restored under its name): nothing cached can be trusted.
        dropped = cache.clear()
        cache.mark = latest
        return dropped
    by_source: dict[str, list[TileLayer]] = {}
    for layer in layers:
        if layer.features is None or layer.follows_source:
            by_source.setdefault(layer.source, []).append(layer)
    whole = {dep: layer for layer in layers for dep in layer.depends_on}
    boxes: dict[str, list[Bbox]] = {}
    changed: dict[str, set[str]] = {}
    redraw: set[str] = set()
    last, mark = seq, ""
    for change in ws.store.changes_since(seq):
        last, mark = change.seq, change_mark(change.seq, change.at, change.layer, change.fid)
        if change.layer in whole:
            redraw.add(whole[change.layer].name)
        if change.layer in by_source and change.uuid:
            changed.setdefault(change.layer, set()).add(change.uuid)
            geom = (change.before or {}).get("geom")
            if geom:
                minx, maxx, miny, maxy = envelope(bytes.fromhex(geom))
                boxes.setdefault(change.layer, []).append((minx, miny, maxx, maxy))
    if last == seq:
        return 0
    dropped = 0
    for source, uuids in changed.items():
        if len(uuids) > WHOLE_LAYER_CHANGES:
            redraw.update(layer.name for layer in by_source[source])
            continue
        rows = ws.store.query(source, where={"uuid": sorted(uuids)}, include_retired=True, fields=[])
        found = boxes.get(source, []) + [tuple(r["geometry"].bounds) for r in rows if r["geometry"] is not None]
        for layer in by_source[source]:
            if layer.name in redraw:
                continue
            dirty = {t for box in found for z in range(layer.minzoom, layer.maxzoom + 1)
                     for t in tiles_covering(box, z, buffer=BUFFER / EXTENT)}
            removed = cache.drop(layer.name, dirty)
            dropped += len(removed)
            if render:
                regions = _KNOWN.get(ws, {})
                for key, z, x, y in removed:
                    if key in regions:
                        cache.put(key, layer.name, [((z, x, y), _render(ws, layer, z, x, y, regions[key]))])
    for name in redraw:
        dropped += cache.drop_layer(name)
    cache.mark = mark
    return dropped


def _mark_at(ws: Workspace, seq: int) -> str:
    """The mark of audit row ``seq`` in the log now (``"0"`` for 0; ``""`` when the log has no such row)."""
    if seq == 0:
        return "0"
    change = next(ws.store.changes_since(seq - 1, limit=1), None)
    if change is None or change.seq != seq:
        return ""
    return change_mark(change.seq, change.at, change.layer, change.fid)


def tile(ws: Workspace, z: int, x: int, y: int, *, restriction: Restriction | None = None,
         cache: TileCache | None = None, layers: tuple[TileLayer, ...] = LAYERS) -> bytes:
    """The MVT tile ``z/x/y`` (XYZ) of every layer in ``layers`` visible at ``z``, uncompressed.

    Only features meeting ``restriction`` (a WGS84 polygon or admin area codes) are in it; ``b""`` when empty.
    Raises ``tiles.bad_tile`` for a tile that does not exist, ``tiles.bad_restriction`` for a restriction that
    covers nothing."""
    _check_tile(z, x, y)
    cache = cache or cache_for(ws)
    region = _known(ws, resolve_restriction(ws, restriction))
    refresh(ws, cache, layers=layers)
    parts = []
    for layer in layers:
        if not layer.minzoom <= z <= layer.maxzoom:
            continue
        data = cache.get(region.key, layer.name, z, x, y)
        if data is None:
            data = _render(ws, layer, z, x, y, region)
            cache.put(region.key, layer.name, [((z, x, y), data)])
        parts.append(data)
    return b"".join(parts)


def cached_tile(ws: Workspace, z: int, x: int, y: int, *, cache: TileCache,
                layers: tuple[TileLayer, ...] = LAYERS) -> bytes | None:
    """The unrestricted tile ``z/x/y`` as cached, or ``None`` when the cache is behind the audit log or a layer of
    the tile is not cached (then call :func:`tile`). Reads only the latest audit row's mark and the cache, renders
    nothing: for a caller that must not wait, such as a web server's event loop.

    >>> import os, tempfile
    >>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "c.gpkg"), user="ana", create=True)
    >>> cache = TileCache(":memory:")
    >>> cached_tile(ws, 12, 1223, 1990, cache=cache) is None
    True
    >>> data = tile(ws, 12, 1223, 1990, cache=cache)
    >>> cached_tile(ws, 12, 1223, 1990, cache=cache) == data
    True
    >>> ws.close()
    """
    _check_tile(z, x, y)
    mark = cache.mark
    if mark is None or mark != ws.store.last_change_mark():
        return None
    parts = []
    for layer in layers:
        if layer.minzoom <= z <= layer.maxzoom:
            data = cache.get("all", layer.name, z, x, y)
            if data is None:
                return None
            parts.append(data)
    return b"".join(parts)


def build_cache(ws: Workspace, *, minzoom: int = 0, maxzoom: int = 12, restriction: Restriction | None = None,
                cache: TileCache | None = None, layers: tuple[TileLayer, ...] = LAYERS) -> dict[str, int]:
    """Render every non-empty tile of zooms ``minzoom``..``maxzoom`` ahead of use; tiles stored per layer.

    Each layer is read once and GDAL tiles it for the whole zoom range in one pass. A tile that some layer fills
    is stored empty for the other layers of its zoom, so that it is served whole from the cache; tiles no layer
    fills are rendered, empty, when first asked for."""
    cache = cache or cache_for(ws)
    region = _known(ws, resolve_restriction(ws, restriction))
    refresh(ws, cache, layers=layers)  # tiles rendered below reflect at least what the cache's sequence number says
    stored: dict[str, int] = {}
    built: dict[str, set[tuple[int, int, int]]] = {}
    for layer in layers:
        low, high = max(minzoom, layer.minzoom), min(maxzoom, layer.maxzoom)
        if low > high:
            continue
        geoms, columns = layer.read(ws, None)
        keep = region.keep(geoms)
        geoms = geoms[keep]
        columns = {k: [v for v, m in zip(vs, keep, strict=True) if m] for k, vs in columns.items()}
        tiles = encode_layer(layer.name, geoms, columns, minzoom=low, maxzoom=high,
                             simplification=layer.simplification)
        cache.put(region.key, layer.name, tiles.items())
        stored[layer.name] = len(tiles)
        built[layer.name] = set(tiles)
    every = set().union(*built.values()) if built else set()
    for layer in layers:
        if layer.name in built:
            low, high = max(minzoom, layer.minzoom), min(maxzoom, layer.maxzoom)
            empty = [(key, b"") for key in every - built[layer.name] if low <= key[0] <= high]
            cache.put(region.key, layer.name, empty)
    return stored
