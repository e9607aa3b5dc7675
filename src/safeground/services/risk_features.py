"""Evidence features of cells from the database, as of a cut-off date: distance to and density of past evidence.

**What was known by the cut-off.** A record counts when the date its information became known is on or
before ``--as-of``. That date is the record's ``info_date`` (an import sets it to the event's date, never the
import date); a record without one falls back to its own date field (``accident_date``, ``found_date``,
``event_date``, ``reported_date``); a minefield record has no such fallback (its laying date says nothing of
when it was handed over). A record with neither date is left out and counted as undated. When a record was
*entered* (``created_at``) does not matter: a record typed in 2020 about a 2013 accident counts for a 2014
cut-off, and one dated after the cut-off never counts, whenever it was entered. Retired records never count;
only official records (approved, published) do.

**Features,** per evidence type with at least one record known by the cut-off (``domain/risk.py``):
``ev_<type>_dist`` (km to the nearest one), ``ev_<type>_n5km`` (how many within 5 km; for minefield records the
reliability-weighted sum ``ev_minefield_record_w5km``), and over all types together ``ev_any_dist``,
``ev_any_n5km`` and ``ev_any_recent_dist`` (nearest evidence dated in the last 5 years before the cut-off).
Distances are measured in the national projected CRS (else the UTM zone of the cells), with shapely's
STRtree (exact point-to-polygon distance for hazard areas and minefield records).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from safeground.domain.errors import ValidationError
from safeground.domain.risk import (
    ANY,
    DENSITY_RADIUS_KM,
    EVIDENCE_TYPES,
    RECENT_YEARS,
    RELIABILITY_WEIGHTS,
    EvidenceType,
    evidence_feature,
)
from safeground.geo.crs import reproject, utm_epsg
from safeground.services.workspace import Workspace

OFFICIAL = ("approved", "published")


@dataclass
class EvidenceFeatures:
    """Feature columns for the cells, the year of each cell's nearest evidence per distance feature, and a
    report of what was counted."""

    names: list[str]
    values: np.ndarray
    years: dict[str, np.ndarray]
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Evidence:
    geoms: np.ndarray
    years: np.ndarray
    weights: np.ndarray


def evidence_features(ws: Workspace, points: np.ndarray | None, as_of: dt.date, *,
                      crs: int | None = None, xy: np.ndarray | None = None) -> EvidenceFeatures:
    """Evidence features for cells at ``points`` (shapely points in WGS84; ``None`` where unknown), or at
    ``xy``, their coordinates already in the projected CRS ``crs`` (a grid's centres: no points to build)."""
    if xy is not None and crs is not None:
        located = ~np.isnan(xy).any(axis=1)
        epsg = crs
        cells = np.asarray(xy[located], dtype=float)
        n = len(xy)
    else:
        if points is None:
            raise ValidationError("risk.no_locations", "Evidence features need each cell's location; the cell "
                                  "table has neither a geometry nor longitude/latitude columns.",
                                  hint="Add a WKT 'geometry' column or 'lon'/'lat' columns, or leave out "
                                       "--evidence.")
        located = ~shapely.is_missing(points)
        if not located.any():
            raise ValidationError("risk.no_locations", "No cell of the table has a location.",
                                  hint="Check the geometry or longitude/latitude columns.")
        epsg = crs or ws.national_crs or _utm_of(points[located])
        cells = np.asarray(shapely.get_coordinates(reproject(points[located], 4326, epsg)))
        n = len(points)
    report: dict[str, Any] = {"as_of": as_of.isoformat(), "crs": f"EPSG:{epsg}", "types": {}}
    names: list[str] = []
    columns: list[np.ndarray] = []
    years: dict[str, np.ndarray] = {}
    known: list[_Evidence] = []
    count = np.zeros(n)
    for etype in EVIDENCE_TYPES:
        ev, counts = _load(ws, etype, as_of, epsg)
        report["types"][etype.name] = counts
        if not len(ev.geoms):
            continue
        known.append(ev)
        _add(etype, ev, cells, located, names, columns, years)
        count += columns[-1] if etype.name != "minefield_record" else _density(ev.geoms, None, cells, located)
    if known:
        union = _Evidence(np.concatenate([e.geoms for e in known]), np.concatenate([e.years for e in known]),
                          np.ones(sum(len(e.geoms) for e in known)))
        # The nearest record of any type from the union (records of several types often share a place, and
        # the union's choice among them gives the year), the count within 5 km as the sum of the types' counts
        # (the same numbers as counting the union again, at no cost).
        dist, nearest_any = _nearest(union.geoms, cells, located)
        any_dist = evidence_feature(ANY.name, "dist")
        names += [any_dist, evidence_feature(ANY.name, "n5km")]
        columns += [dist, np.where(located, count, np.nan)]
        years[any_dist] = np.full(n, np.nan)
        years[any_dist][located] = union.years[nearest_any]
        recent = union.years > as_of.year - RECENT_YEARS
        name = evidence_feature(ANY.name, "recent_dist")
        names.append(name)
        if recent.any():
            recent_dist, _ = _nearest(union.geoms[recent], cells, located)
            columns.append(recent_dist)
        else:
            columns.append(np.full(n, np.nan))
    report["features"] = names
    values = np.column_stack(columns) if columns else np.empty((n, 0))
    return EvidenceFeatures(names, values, years, report)


def _add(etype: EvidenceType, ev: _Evidence, cells: np.ndarray, located: np.ndarray, names: list[str],
         columns: list[np.ndarray], years: dict[str, np.ndarray]) -> None:
    """Adds the type's distance and density columns, and the year of each cell's nearest record."""
    dist, nearest = _nearest(ev.geoms, cells, located)
    dist_name = evidence_feature(etype.name, "dist")
    names.append(dist_name)
    columns.append(dist)
    year = np.full(len(located), np.nan)
    year[located] = ev.years[nearest]
    years[dist_name] = year
    weighted = etype.name == "minefield_record"
    names.append(evidence_feature(etype.name, "w5km" if weighted else "n5km"))
    columns.append(_density(ev.geoms, ev.weights if weighted else None, cells, located))


def _density(geoms: np.ndarray, weights: np.ndarray | None, cells: np.ndarray, located: np.ndarray) -> np.ndarray:
    density = np.full(len(located), np.nan)
    density[located] = _within(geoms, weights, cells, DENSITY_RADIUS_KM * 1000)
    return density


def _nearest(geoms: np.ndarray, cells: np.ndarray, located: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Km from each located cell (``cells``: their projected coordinates) to the nearest geometry (NaN where a
    cell has no location), and its index.

    Point evidence goes through scipy's k-d tree on every core (exact Euclidean distance in the projected CRS,
    many times faster than an R-tree for millions of cells); polygons and lines through shapely's STRtree
    (exact point-to-polygon distance); the nearer of the two wins."""
    xy = cells
    m = len(xy)
    best = np.full(m, np.inf)
    which = np.zeros(m, dtype=np.int64)
    is_point = shapely.get_type_id(geoms) == 0
    if is_point.any():
        from scipy.spatial import cKDTree

        at = np.flatnonzero(is_point)
        d, i = cKDTree(shapely.get_coordinates(geoms[at])).query(xy, workers=-1)
        best, which = d, at[i]
    if (~is_point).any():
        at = np.flatnonzero(~is_point)
        idx, d = shapely.STRtree(geoms[at]).query_nearest(shapely.points(xy), return_distance=True,
                                                          all_matches=False)
        nearer = d < best[idx[0]]
        best[idx[0][nearer]] = d[nearer]
        which[idx[0][nearer]] = at[idx[1][nearer]]
    out = np.full(len(located), np.nan)
    out[located] = best / 1000.0
    return out, which


def _within(geoms: np.ndarray, weights: np.ndarray | None, xy: np.ndarray, radius: float) -> np.ndarray:
    """How many geometries (or the sum of their weights) lie within ``radius`` metres of each point."""
    out = np.zeros(len(xy))
    is_point = shapely.get_type_id(geoms) == 0
    if is_point.any() and weights is None:
        from scipy.spatial import cKDTree

        tree = cKDTree(shapely.get_coordinates(geoms[is_point]))
        out += tree.query_ball_point(xy, radius, return_length=True, workers=-1)
        rest = np.flatnonzero(~is_point)
    else:
        rest = np.arange(len(geoms))
    if len(rest):
        pairs = shapely.STRtree(geoms[rest]).query(shapely.points(xy), predicate="dwithin", distance=radius)
        out += np.bincount(pairs[0], weights=weights[rest][pairs[1]] if weights is not None else None,
                           minlength=len(xy))
    return out


def _load(ws: Workspace, etype: EvidenceType, as_of: dt.date, epsg: int) -> tuple[_Evidence, dict[str, int]]:
    fields = ["info_date", *([etype.date_field] if etype.date_field else []),
              *(["reliability"] if etype.name == "minefield_record" else [])]
    rows = ws.store.query(etype.layer, where={"review_state": list(OFFICIAL)}, fields=fields)
    geoms, yrs, weights = [], [], []
    counts = {"records": len(rows), "known_by_cut_off": 0, "after_cut_off": 0, "undated": 0, "unlocated": 0}
    for r in rows:
        known = known_date(r.get("info_date")) or (known_date(r.get(etype.date_field)) if etype.date_field else None)
        if known is None:
            counts["undated"] += 1
            continue
        if known > as_of:
            counts["after_cut_off"] += 1
            continue
        g = r.get("geometry")
        if g is None or shapely.is_empty(g):
            counts["unlocated"] += 1
            continue
        counts["known_by_cut_off"] += 1
        geoms.append(g)
        own = known_date(r.get(etype.date_field)) if etype.date_field else None
        yrs.append((own or known).year)
        weights.append(RELIABILITY_WEIGHTS.get(str(r.get("reliability") or "unknown"), 0.25))
    projected = reproject(np.array(geoms, dtype=object), 4326, epsg) if geoms else np.empty(0, dtype=object)
    return _Evidence(projected, np.array(yrs, dtype=float), np.array(weights, dtype=float)), counts


def known_date(value: Any) -> dt.date | None:
    """A stored date (text, date or datetime) as a date; ``None`` when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _utm_of(points: np.ndarray) -> int:
    c = shapely.MultiPoint(list(points)).centroid
    return utm_epsg(c.x, c.y) if not math.isnan(c.x) else 4326
