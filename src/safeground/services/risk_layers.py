"""Context layers as risk features: distance to roads, water, settlements, bridges and military positions, the
signed distance to the former line of contact, and how many points of a layer lie within 5 km.

**Which layers.** The user names them: ``--layer KIND=FILE[:LAYER]`` (repeatable) on ``risk surface``,
``risk fit``, ``risk predict`` and ``risk evaluate``, else the configuration's ``risk.layers`` (a relative
path there is taken from the folder of the database file, or of a server database's side files);
``--no-layers`` uses none. ``FILE`` is any vector file GDAL reads (pyogrio); ``settlement=db`` takes the
database's own priority targets of kind settlement. Kinds are declared in ``domain/risk.py``
(``LAYER_KINDS``); several layers of one kind are measured together.

**No dates.** Layers are context, not evidence: they carry no dates and ``--as-of`` does not apply to them;
the same layers are measured for the fit and for the prediction. Risk is not constrained to fall with their
distances (only evidence distances are; see docs/design.md).

**Features** (``domain.risk.layer_feature``): ``ctx_<kind>_dist``, km from each cell to the nearest feature
(0 inside a polygon); for the line of contact also ``ctx_contact_side``, the same distance **signed: positive
on the left of the line as digitised** (walking from its first vertex to its last), negative on its right;
for layers of points also ``ctx_<kind>_n5km``, how many lie within 5 km.

**How, for millions of cells, with no Python loop per cell.** Points go into scipy's k-d tree (exact nearest
distance and counts, on every core). Lines (and polygon outlines) are cut into segments, each segment sampled
every ``SPACING_M`` metres; the k-d tree finds each cell's nearest sample, and the exact distance is then taken
to that sample's segment and its two neighbours along the line (numpy, all cells at once). The result is
never below the true distance and at most ``SPACING_M / 2`` (25 m) above it: the nearest sample lies within
``sqrt(d² + (SPACING_M/2)²)`` of a cell at distance ``d``; it is exact whenever the nearest point of the line
lies on one of those three segments, as it nearly always does. The side is the sign of the cross product
with the nearest segment (at a vertex, with the sum of the two segments' directions there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.domain.risk import DENSITY_RADIUS_KM, LAYER_KINDS, layer_feature, layer_kind
from safeground.geo.crs import reproject
from safeground.services.risk_features import EvidenceFeatures
from safeground.services.workspace import Workspace

#: Lines are sampled every this many metres for the nearest-sample search (distances are then refined exactly).
SPACING_M = 50.0
#: ``FILE`` value that takes the database's own settlements (priority targets of kind settlement).
FROM_DATABASE = "db"

_POINTS = (0, 4)  # Point, MultiPoint
_LINES = (1, 2, 5)  # LineString, LinearRing, MultiLineString
_POLYGONS = (3, 6)  # Polygon, MultiPolygon


@dataclass(frozen=True)
class LayerSpec:
    """One context layer: its kind, its file (or ``db``) and the layer of the file, if named."""

    kind: str
    file: str
    layer: str | None = None

    def describe(self) -> str:
        """``road=roads.gpkg:main``, as the option is written."""
        return f"{self.kind}={self.file}" + (f":{self.layer}" if self.layer else "")


def parse_layer(text: str) -> LayerSpec:
    """A ``--layer KIND=FILE[:LAYER]`` option.

    >>> parse_layer("road=context.gpkg:roads"), parse_layer("settlement=db").file
    (LayerSpec(kind='road', file='context.gpkg', layer='roads'), 'db')
    >>> parse_layer("water=C:\\\\maps\\\\rivers.shp").file  # a drive letter is not a layer name
    'C:\\\\maps\\\\rivers.shp'
    """
    kind, sep, rest = text.partition("=")
    kind = kind.strip()
    if not sep or not kind or not rest:
        raise ValidationError("risk.bad_layer", f"--layer {text!r} is not KIND=FILE[:LAYER].",
                              hint="E.g. --layer road=context.gpkg:roads or --layer contact=front.geojson.")
    _known(kind, text)
    file, colon, layer = rest.rpartition(":")
    if not colon or len(file) <= 1 or "/" in layer or "\\" in layer:
        file, layer = rest, ""
    if kind != "settlement" and file == FROM_DATABASE:
        raise ValidationError("risk.bad_layer", f"--layer {text!r}: only settlements can come from the database.",
                              hint="Give a file for this kind, or use settlement=db.")
    return LayerSpec(kind, file, layer or None)


def _known(kind: str, where: str) -> None:
    if layer_kind(kind) is None:
        raise ValidationError("risk.unknown_layer_kind", f"{where}: {kind!r} is not a kind of context layer.",
                              hint="Kinds: " + ", ".join(k.name for k in LAYER_KINDS) + ".")


def layers_for(ws: Workspace, given: tuple[str, ...] = (), *, use_layers: bool = True) -> list[LayerSpec]:
    """The layers a command measures: those it names (``--layer``), else the configuration's ``risk.layers``
    (paths relative to the database's folder), none with ``use_layers`` false (``--no-layers``)."""
    if not use_layers:
        return []
    if given:
        return [parse_layer(t) for t in given]
    base = _database_folder(ws)
    out = []
    for c in ws.config.risk.layers:
        path = c.file if c.file == FROM_DATABASE or Path(c.file).is_absolute() else str(base / c.file)
        out.append(LayerSpec(c.kind, path, c.layer))
    return out


def _database_folder(ws: Workspace) -> Path:
    """Where the files beside the database live: the GeoPackage's folder (a server database: the working one)."""
    return Path(ws.store.side_path).resolve().parent


@dataclass
class LayerFeatures:
    """Context-layer feature columns of the cells (NaN where a cell has no location) and what was read."""

    names: list[str]
    values: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)


def layer_features(ws: Workspace, specs: list[LayerSpec], xy: np.ndarray, crs: int) -> LayerFeatures:
    """The context features of cells at ``xy`` (their coordinates in the projected CRS ``crs``; NaN rows for
    cells without a location), from the layers ``specs``."""
    n = len(xy)
    report: dict[str, Any] = {"crs": f"EPSG:{crs}", "spacing_m": SPACING_M, "layers": []}
    if not specs:
        return LayerFeatures([], np.empty((n, 0)), report)
    by_kind: dict[str, list[np.ndarray]] = {}
    for spec in specs:
        geoms, read = _read(ws, spec, crs)
        report["layers"].append(read)
        by_kind.setdefault(spec.kind, []).append(geoms)
    located = ~np.isnan(xy).any(axis=1)
    cells = np.asarray(xy[located], dtype=float)
    names: list[str] = []
    columns: list[np.ndarray] = []
    for kind in LAYER_KINDS:  # a fixed order, whatever the order of the options
        if kind.name not in by_kind:
            continue
        parts = shapely.get_parts(np.concatenate(by_kind[kind.name]))
        types = shapely.get_type_id(parts)
        points = parts[np.isin(types, _POINTS)]
        lines = parts[np.isin(types, _LINES)]
        polygons = parts[np.isin(types, _POLYGONS)]
        if kind.signed and (len(points) or len(polygons)):
            raise ValidationError("risk.bad_layer_geometry", f"The {kind.noun} must be drawn as lines, for the "
                                  "side of it each cell lies on; its layer holds points or polygons.",
                                  hint="Give a layer of lines (LineString or MultiLineString).")
        dist = np.full(len(cells), np.inf)
        side = np.zeros(len(cells))
        if len(points):
            dist = np.minimum(dist, _point_distance(shapely.get_coordinates(points), cells))
        outlines = np.concatenate([lines, shapely.boundary(polygons)]) if len(polygons) else lines
        if len(outlines):
            d, s = line_distance(outlines, cells)
            nearer = d < dist
            dist = np.where(nearer, d, dist)
            side = np.where(nearer, s, side)
        if len(polygons):
            inside = shapely.contains_xy(shapely.union_all(polygons), cells[:, 0], cells[:, 1])
            dist[inside] = 0.0
        names.append(layer_feature(kind.name, "dist"))
        columns.append(_spread(dist / 1000.0, located))
        if kind.signed:
            names.append(layer_feature(kind.name, "side"))
            columns.append(_spread(np.where(side < 0, -dist, dist) / 1000.0, located))
        if len(points):
            names.append(layer_feature(kind.name, "n5km"))
            columns.append(_spread(_count_within(shapely.get_coordinates(points), cells,
                                                 DENSITY_RADIUS_KM * 1000.0), located))
    report["features"] = names
    return LayerFeatures(names, np.column_stack(columns) if columns else np.empty((n, 0)), report)


def with_layers(evidence: EvidenceFeatures, context: LayerFeatures) -> EvidenceFeatures:
    """Evidence features with the context columns after them (the years stay the evidence's own)."""
    if not context.names:
        return evidence
    return EvidenceFeatures([*evidence.names, *context.names], np.column_stack([evidence.values, context.values]),
                            evidence.years, evidence.report)


def layer_features_at(ws: Workspace, specs: list[LayerSpec], points: np.ndarray | None,
                      crs: int | None = None) -> LayerFeatures:
    """:func:`layer_features` for cells given as WGS84 shapely points (``None`` where unknown), measured in
    ``crs``, else the national CRS, else the UTM zone of the cells."""
    if not specs:
        return LayerFeatures([], np.empty((0 if points is None else len(points), 0)), {})
    if points is None or shapely.is_missing(points).all():
        raise ValidationError("risk.no_locations", "Context layers need each cell's location; the cell table has "
                              "neither a geometry nor longitude/latitude columns.",
                              hint="Add a WKT 'geometry' column or 'lon'/'lat' columns, or give --no-layers.")
    located = ~shapely.is_missing(points)
    if crs is None:
        from safeground.geo.crs import utm_epsg

        centre = shapely.MultiPoint(list(points[located])).centroid
        crs = ws.national_crs or utm_epsg(centre.x, centre.y)
    xy = np.full((len(points), 2), np.nan)
    xy[located] = shapely.get_coordinates(reproject(points[located], 4326, crs))
    return layer_features(ws, specs, xy, crs)


def _spread(values: np.ndarray, located: np.ndarray) -> np.ndarray:
    out = np.full(len(located), np.nan)
    out[located] = values
    return out


def _read(ws: Workspace, spec: LayerSpec, crs: int) -> tuple[np.ndarray, dict[str, Any]]:
    """The layer's geometries, projected to ``crs``, and what was read."""
    read: dict[str, Any] = {"kind": spec.kind, "file": spec.file, "layer": spec.layer}
    if spec.file == FROM_DATABASE:
        rows = ws.store.query("priority_target", where={"kind": "settlement"}, fields=["name"])
        geoms = np.array([r["geometry"] for r in rows if r.get("geometry") is not None], dtype=object)
        src = 4326
        read["layer"] = "priority_target (settlements)"
    else:
        from safeground.io.vector import read_vector

        path = Path(spec.file)
        if not path.exists():
            raise NotFoundError("risk.layer_not_found", f"The {spec.kind} layer's file {spec.file} does not exist.",
                                hint="Check --layer, or the paths of risk.layers in the configuration (relative "
                                     "to the database's folder); --no-layers leaves the layers out.")
        data = read_vector(path, spec.layer)
        read["layer"] = data.layer
        geoms = data.geometry if data.geometry is not None else np.empty(0, dtype=object)
        src = data.epsg or 4326
        read["crs"] = f"EPSG:{src}" if data.epsg else "none given: taken as EPSG:4326"
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))] if len(geoms) else geoms
    if not len(geoms):
        raise ValidationError("risk.empty_layer", f"The {spec.kind} layer {spec.describe()} holds no geometry.",
                              hint="Check the file and layer name; a layer with no features measures nothing.")
    projected = reproject(np.asarray(geoms, dtype=object), src, crs)
    # Features beyond the projection's reach (a world layer in a UTM zone) have no finite coordinates: left out.
    finite = np.isfinite(shapely.bounds(projected)).all(axis=1)
    read["features"] = int(finite.sum())
    read["beyond_the_crs"] = int((~finite).sum())
    if not finite.any():
        raise ValidationError("risk.empty_layer", f"No feature of the {spec.kind} layer {spec.describe()} lies "
                              f"where EPSG:{crs} can measure it.", hint="Check the layer's CRS and extent.")
    return projected[finite], read


def _point_distance(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    from scipy.spatial import cKDTree

    d, _ = cKDTree(points).query(cells, workers=-1)
    return np.asarray(d, dtype=float)


def _count_within(points: np.ndarray, cells: np.ndarray, radius: float) -> np.ndarray:
    from scipy.spatial import cKDTree

    return np.asarray(cKDTree(points).query_ball_point(cells, radius, return_length=True, workers=-1), dtype=float)


def line_distance(lines: np.ndarray, cells: np.ndarray, spacing: float = SPACING_M) -> tuple[np.ndarray, np.ndarray]:
    """Metres from each cell (``cells``: projected x, y) to the nearest of ``lines``, and the side it lies on
    (+1 left of the line as digitised, -1 right), with the error bound of the module's docstring.

    >>> d, side = line_distance(np.array([shapely.LineString([(0, 0), (1000, 0)])]),
    ...                         np.array([[500.0, 300.0], [500.0, -20.0], [1300.0, 400.0]]))
    >>> d.round(1).tolist(), side.tolist()
    ([300.0, 20.0, 500.0], [1.0, -1.0, 1.0])
    """
    from scipy.spatial import cKDTree

    coords, part = shapely.get_coordinates(shapely.get_parts(lines), return_index=True)
    same = part[1:] == part[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    seg_part = part[:-1][same]
    m = len(a)
    if m == 0:  # lines of a single point each
        d = _point_distance(coords, cells)
        return d, np.ones(len(cells))
    first = np.r_[True, seg_part[1:] != seg_part[:-1]]
    last = np.r_[seg_part[1:] != seg_part[:-1], True]
    prev = np.where(first, -1, np.arange(m) - 1)
    nxt = np.where(last, -1, np.arange(m) + 1)
    # Samples every ``spacing`` metres along each segment (its start included), and each line's end.
    length = np.hypot(*(b - a).T)
    k = np.maximum(1, np.ceil(length / spacing)).astype(np.int64)
    seg = np.repeat(np.arange(m), k)
    t = (np.arange(len(seg)) - np.repeat(np.cumsum(k) - k, k)) / k[seg]
    samples = a[seg] + t[:, None] * (b - a)[seg]
    ends = np.flatnonzero(last)
    samples = np.concatenate([samples, b[ends]])
    seg = np.concatenate([seg, ends])
    # Sliding-midpoint splits (not median-balanced) suit samples strung along lines: queries run 4-5 times faster.
    _, nearest = cKDTree(samples, balanced_tree=False, compact_nodes=False).query(cells, workers=-1)
    s0 = seg[nearest]
    candidates = np.stack([s0, np.where(prev[s0] >= 0, prev[s0], s0), np.where(nxt[s0] >= 0, nxt[s0], s0)], axis=1)
    best_d = np.full(len(cells), np.inf)
    best_s = s0.copy()
    best_t = np.zeros(len(cells))
    for c in range(3):
        s = candidates[:, c]
        d, tt = _to_segment(cells, a[s], b[s])
        better = d < best_d
        best_d = np.where(better, d, best_d)
        best_s = np.where(better, s, best_s)
        best_t = np.where(better, tt, best_t)
    return best_d, _side(cells, a, b, prev, nxt, best_s, best_t)


def _to_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each point to its segment ``a``-``b``, and where along it the nearest point lies (0..1)."""
    ab = b - a
    length2 = (ab * ab).sum(axis=1)
    t = np.clip(((p - a) * ab).sum(axis=1) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    q = a + t[:, None] * ab
    return np.hypot(*(p - q).T), t


def _side(p: np.ndarray, a: np.ndarray, b: np.ndarray, prev: np.ndarray, nxt: np.ndarray, s: np.ndarray,
          t: np.ndarray) -> np.ndarray:
    """+1 where a point lies left of its nearest segment ``s`` (as digitised), -1 right. Where the nearest
    point is a vertex, the direction there is the sum of the two segments' unit directions."""
    unit = b - a
    unit = unit / np.maximum(np.hypot(*unit.T), 1e-12)[:, None]
    direction = unit[s].copy()
    at_start = (t <= 0.0) & (prev[s] >= 0)
    at_end = (t >= 1.0) & (nxt[s] >= 0)
    direction[at_start] += unit[prev[s][at_start]]
    direction[at_end] += unit[nxt[s][at_end]]
    vertex = np.where(at_end[:, None], b[s], a[s])
    rel = p - vertex
    cross = direction[:, 0] * rel[:, 1] - direction[:, 1] * rel[:, 0]
    return np.where(cross >= 0, 1.0, -1.0)
