"""The public safety check: is this point, route or area inside, near or clear of a known hazard?

It checks against the public hazard areas (:mod:`safeground.services.public_hazards`): the remaining area of
every hazard not closed or handed over, land awaiting QC included, buffered by 25 m as published.

- **inside** a known hazard: the place touches a public polygon (distance 0);
- **within** ``distance`` metres of one: the nearest public polygon is at most ``distance`` m away;
- **clear** of known hazards otherwise.

Distances are planar, in metres, in the national projected CRS (the workspace's ``national_crs``: configured, else
the UTM zone of the national outline; else the UTM zone of the hazards' centre), to the public polygon. Every answer
carries :data:`CAVEAT`. Only public hazard refs are named, never anything about people.

The polygons are held in memory, projected, in a shapely 2 STRtree (:class:`SafetyIndex`) built once per
workspace and brought up to date when hazards or released areas change (newer audit rows of those layers: every
write, external tools' included, is audited; only the public polygons of the hazards concerned are recomputed),
so one check costs microseconds and a batch of points is answered in one vectorised query. The cache is
thread-safe (a lock around bringing it up to date); an index, once made, is never changed, only replaced.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from safeground.domain.errors import ValidationError
from safeground.geo.crs import WGS84, reproject, transformer, utm_epsg
from safeground.services.public_hazards import PublicHazards, public_hazards
from safeground.services.workspace import Workspace

CAVEAT = "No known hazard is not the same as safe."
DEFAULT_DISTANCE_M = 100.0
#: The largest distance a check accepts, in metres.
MAX_DISTANCE_M = 50_000.0
CLASSES = ("inside", "within", "clear")
#: Class codes of :func:`check_points`: 0 inside, 1 within, 2 clear (indices into :data:`CLASSES`).
INSIDE, WITHIN, CLEAR = 0, 1, 2
GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
DISTANCE_METHOD = "planar, national projected CRS"


@dataclass
class SafetyIndex:
    """Public polygons projected to ``crs`` (metres), in an STRtree, as of audit row ``seq``."""

    seq: int
    crs: int
    hazards: PublicHazards
    projected: np.ndarray
    tree: shapely.STRtree
    _geographic: shapely.STRtree | None = field(default=None, repr=False)

    def in_bbox(self, bbox: tuple[float, float, float, float] | None) -> np.ndarray:
        """Positions (in ``ref`` order) of the public polygons meeting a WGS84 box (all without one)."""
        if bbox is None:
            return np.arange(len(self.hazards))
        with _LOCK:
            if self._geographic is None:
                self._geographic = shapely.STRtree(self.hazards.geometry)
            tree = self._geographic
        return np.sort(tree.query(shapely.box(*bbox), predicate="intersects"))

    @classmethod
    def build(cls, ws: Workspace) -> SafetyIndex:
        seq = ws.store.last_change_seq()  # read first: a change made while building is seen by the next check
        hazards = public_hazards(ws)
        crs = ws.national_crs
        if crs is None:
            if len(hazards):
                c = shapely.box(*shapely.total_bounds(hazards.geometry)).centroid
                crs = utm_epsg(c.x, c.y)
            else:
                crs = utm_epsg(0.0, 0.0)
        return cls._of(seq, crs, hazards, reproject(hazards.geometry, WGS84, crs))

    @classmethod
    def _of(cls, seq: int, crs: int, hazards: PublicHazards, projected: np.ndarray) -> SafetyIndex:
        shapely.prepare(projected)
        return cls(seq, crs, hazards, projected, shapely.STRtree(projected))

    def project(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = transformer(WGS84, self.crs).transform(lon, lat)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def changed_hazards(self, ws: Workspace) -> tuple[set[str], int]:
        """Hazards whose public polygon may differ since the index's audit row (hazards changed, and the hazards
        of released areas changed), and the latest audit row read. Reads only the newer audit rows."""
        hazards: set[str] = set()
        released: set[str] = set()
        seq = self.seq
        for change in ws.store.changes_since(self.seq):
            seq = change.seq
            if change.layer == "hazard_area" and change.uuid:
                hazards.add(change.uuid)
            elif change.layer == "released_area" and change.uuid:
                released.add(change.uuid)
                for values in (change.before, change.after):  # a released area moved to another hazard
                    if values and values.get("hazard"):
                        hazards.add(str(values["hazard"]))
        if released:
            rows = ws.store.query("released_area", where={"uuid": sorted(released)}, include_retired=True,
                                  geometry=False, fields=["hazard"])
            hazards |= {r["hazard"] for r in rows if r["hazard"]}
        return hazards, seq

    def updated(self, ws: Workspace, changed: set[str], seq: int) -> SafetyIndex:
        """A new index with the public polygons of ``changed`` hazards recomputed, the rest kept as they are."""
        fresh = public_hazards(ws, sorted(changed))
        keep = [i for i, u in enumerate(self.hazards.uuids) if u not in changed]
        entries = [(self.hazards.refs[i], self.hazards.uuids[i], self.hazards.properties[i],
                    self.hazards.geometry[i], self.projected[i]) for i in keep]
        new_projected = reproject(fresh.geometry, WGS84, self.crs)
        entries += list(zip(fresh.refs, fresh.uuids, fresh.properties, fresh.geometry, new_projected, strict=True))
        entries.sort(key=lambda e: e[0])
        hazards = PublicHazards([e[1] for e in entries], [e[0] for e in entries], [e[2] for e in entries],
                                np.array([e[3] for e in entries], dtype=object))
        return SafetyIndex._of(seq, self.crs, hazards, np.array([e[4] for e in entries], dtype=object))


#: Above this many changed hazards the index is built again from scratch rather than updated.
REBUILD_OVER = 5_000
_INDEXES: weakref.WeakKeyDictionary[Any, SafetyIndex] = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()


def safety_index(ws: Workspace) -> SafetyIndex:
    """The workspace's index, brought up to date with the hazards and released areas changed since it was made:
    only their public polygons are recomputed (all of them past :data:`REBUILD_OVER`). Thread-safe."""
    with _LOCK:
        index = _INDEXES.get(ws.store)
        if index is None:
            index = SafetyIndex.build(ws)
        else:
            changed, seq = index.changed_hazards(ws)
            if len(changed) > REBUILD_OVER:
                index = SafetyIndex.build(ws)
            elif changed:
                index = index.updated(ws, changed, seq)
            else:
                index.seq = seq
        _INDEXES[ws.store] = index
        return index


def current_public_hazards(ws: Workspace) -> PublicHazards:
    """The public hazard areas as the index holds them: what :func:`public_hazards` gives, without recomputing
    them on every call (the web's public layer should read this)."""
    return safety_index(ws).hazards


def _distance(distance: float) -> float:
    if not isinstance(distance, int | float) or not math.isfinite(distance) or not 0 <= distance <= MAX_DISTANCE_M:
        raise ValidationError("safety.bad_distance", f"The distance {distance!r} is not between 0 and "
                              f"{MAX_DISTANCE_M:,.0f} metres.", hint="Give the distance in metres, e.g. 100.")
    return float(distance)


def _coordinates(lat: np.ndarray, lon: np.ndarray) -> None:
    bad = ~(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError("safety.bad_coordinates", f"Point {i} (lat {lat[i]!r}, lon {lon[i]!r}) is not a "
                              "WGS84 position.", hint="Give latitude in -90..90 and longitude in -180..180, "
                              "in decimal degrees.", details={"index": i})


def _answer(index: SafetyIndex, geom: shapely.Geometry, distance: float) -> dict[str, Any]:
    """Classify one projected geometry against the index."""
    near = index.tree.query(geom, predicate="dwithin", distance=distance)
    nearest_m: float | None = None
    nearest_ref: str | None = None
    involved: list[tuple[float, str]] = []
    if len(near):
        d = shapely.distance(index.projected[near], geom)
        involved = sorted((float(m), index.hazards.refs[i]) for m, i in zip(d, near, strict=True))
        nearest_m, nearest_ref = involved[0]
    elif len(index.hazards):
        i, far = index.tree.query_nearest(geom, return_distance=True)
        if len(i):  # none when the place does not project to a finite point (far outside the national CRS)
            nearest_m, nearest_ref = float(far[0]), index.hazards.refs[int(i[0])]
    klass = "clear" if not involved else "inside" if involved[0][0] == 0 else "within"
    return {
        "result": klass,
        "distance_m": distance,
        "nearest_hazard_m": None if nearest_m is None else round(nearest_m, 2),
        "nearest_hazard": nearest_ref,
        "hazards": [{"ref": ref, "distance_m": round(m, 2)} for m, ref in involved],
        "distance_method": f"{DISTANCE_METHOD} (EPSG:{index.crs}) to the published polygon",
        "caveat": CAVEAT,
    }


def check_point(ws: Workspace, lat: float, lon: float, distance: float = DEFAULT_DISTANCE_M) -> dict[str, Any]:
    """Is the point (WGS84) inside, within ``distance`` m of, or clear of a known hazard?

    The answer: ``result`` (inside, within or clear), ``nearest_hazard_m`` and ``nearest_hazard`` (its ref; null
    when no hazard is known), ``hazards`` (refs within the distance, nearest first), and ``caveat``.
    """
    distance = _distance(distance)
    _coordinates(np.array([lat], dtype=float), np.array([lon], dtype=float))
    index = safety_index(ws)
    x, y = index.project(np.array([lon], dtype=float), np.array([lat], dtype=float))
    return _answer(index, shapely.Point(x[0], y[0]), distance)


def check_geometry(ws: Workspace, geojson: dict[str, Any], distance: float = DEFAULT_DISTANCE_M) -> dict[str, Any]:
    """The same answer as :func:`check_point` for a GeoJSON geometry (WGS84): a route (LineString) or an area
    (Polygon), or their Multi forms, or points. A Feature is read for its geometry."""
    distance = _distance(distance)
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        geojson = geojson.get("geometry") or {}
    kind = geojson.get("type") if isinstance(geojson, dict) else None
    if kind not in GEOMETRY_TYPES:
        raise ValidationError("safety.unsupported_geometry", f"A safety check takes a GeoJSON geometry, not {kind!r}.",
                              hint="Send a LineString (a route) or a Polygon (an area), in WGS84 longitude, latitude.")
    try:
        geom = shapely.geometry.shape(geojson)
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.GEOSException) as exc:
        raise ValidationError("safety.bad_geometry", f"The {kind} cannot be read: {exc}.",
                              hint="Send valid GeoJSON coordinates: [longitude, latitude] pairs.") from None
    xy = shapely.get_coordinates(geom)
    if geom.is_empty or not len(xy):
        raise ValidationError("safety.bad_geometry", f"The {kind} has no coordinates.",
                              hint="Send at least one [longitude, latitude] position.")
    _coordinates(xy[:, 1], xy[:, 0])
    index = safety_index(ws)
    projected = reproject(np.array([geom], dtype=object), WGS84, index.crs)[0]
    return _answer(index, projected, distance)


def check_points(ws: Workspace, lat: np.ndarray, lon: np.ndarray,
                 distance: float = DEFAULT_DISTANCE_M) -> tuple[np.ndarray, np.ndarray]:
    """Many points at once: class codes (:data:`INSIDE`, :data:`WITHIN`, :data:`CLEAR`) and the distance in metres
    to the nearest public polygon where inside or within (NaN where clear), both arrays of ``len(lat)``.

    Each point gets the same class and distance as :func:`check_point` gives it alone.
    """
    distance = _distance(distance)
    lat, lon = np.asarray(lat, dtype=float).ravel(), np.asarray(lon, dtype=float).ravel()
    if lat.shape != lon.shape:
        raise ValidationError("safety.bad_coordinates", f"{len(lat)} latitudes but {len(lon)} longitudes.",
                              hint="Give one latitude for each longitude.")
    _coordinates(lat, lon)
    index = safety_index(ws)
    klass = np.full(len(lat), CLEAR, dtype=np.int8)
    dist = np.full(len(lat), np.nan)
    if not len(lat) or not len(index.hazards):
        return klass, dist
    x, y = index.project(lon, lat)
    points = shapely.points(x, y)
    if distance == 0:  # STRtree.query_nearest needs a positive max_distance; touching is all that counts
        which = np.unique(index.tree.query(points, predicate="intersects")[0])
        found = np.zeros(len(which))
    else:
        (which, _), found = index.tree.query_nearest(points, max_distance=distance, return_distance=True,
                                                     all_matches=False)
    dist[which] = found
    klass[which] = np.where(found == 0, INSIDE, WITHIN)
    return klass, dist
