"""What the situation report's maps draw, read in bulk and projected to the national CRS.

Four thematic layers, each over the same context (admin areas from the ``admin_area`` layer):

- **hazards by status**: official hazard areas (review state approved or published, or submitted too with
  ``include_submitted``; never retired) as they stand now: open or worked-on SHA, CHA and other classes
  (indication, EOD spot task, stockpile), and closed or handed-over ones as released;
- **released land**: official released polygons whose release counts (``release_status`` released), by
  kind, those released in the year apart from those released before it;
- **the current risk surface**: the located cells of the adopted risk run with their predicted risk
  (:mod:`~safeground.services.risk_map`; none when no run is current);
- **casualties by admin area**: the people of :func:`~safeground.services.stats_casualties.casualty_stats`
  for the year broken down by ``adm2`` (else ``adm1``), placed at a point inside the admin area of that name:
  aggregates only, never an accident's own location. People whose admin area is unknown or matches no stored
  area are counted in ``unplaced``.

Geometries come back as numpy arrays of shapely geometries in the national CRS (metres), so a map can draw
them in one pass and put a true scale bar on them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from safeground.geo.crs import WGS84, reproject, utm_epsg
from safeground.io.naturalearth import countries_geojson, feature_iso3
from safeground.services.risk_map import current_surface, run_title
from safeground.services.stats_casualties import casualty_stats
from safeground.services.workspace import Workspace

#: Hazard groups of the status map, in drawing order.
HAZARD_GROUPS = ("released", "other", "sha", "cha")
RELEASE_KINDS = ("cancelled", "reduced", "cleared")


@dataclass
class AdminAreas:
    """Admin areas of one level: names, codes and projected outlines."""

    level: int
    names: list[str]
    codes: list[str]
    parents: list[str | None]
    geometries: np.ndarray


@dataclass
class MapLayers:
    """Everything the maps draw, in ``crs`` (EPSG code, metres)."""

    crs: int
    year: int
    admin: list[AdminAreas] = field(default_factory=list)
    hazards: dict[str, np.ndarray] = field(default_factory=dict)
    released_in_year: dict[str, np.ndarray] = field(default_factory=dict)
    released_before: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    casualty_points: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    casualty_people: list[int] = field(default_factory=list)
    casualty_labels: list[str] = field(default_factory=list)
    casualties_unplaced: int = 0
    casualties_level: int | None = None
    #: The current risk run's located cells and their risk (0..1), and the run's title; empty without one.
    risk_cells: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    risk: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    risk_title: str | None = None
    country: str | None = None
    #: Natural Earth outlines around the mapped area, projected (context), and in WGS84 for the locator inset.
    countries: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    country_codes: list[str] = field(default_factory=list)
    locator: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    locator_codes: list[str] = field(default_factory=list)
    locator_box: tuple[float, float, float, float] | None = None

    @property
    def extent(self) -> tuple[float, float, float, float] | None:
        """Bounds of the admin areas, else of the thematic layers; ``None`` when nothing is mapped."""
        parts = [a.geometries for a in self.admin] or [
            *self.hazards.values(), *self.released_in_year.values(), self.released_before, self.risk_cells]
        geoms = np.concatenate([p for p in parts if len(p)]) if any(len(p) for p in parts) else None
        if geoms is None:
            return None
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        return float(minx), float(miny), float(maxx), float(maxy)


def _official(include_submitted: bool) -> dict[str, Any]:
    return {"review_state": ["submitted", "approved", "published"] if include_submitted else ["approved", "published"]}


def _crs(ws: Workspace, geoms: list[np.ndarray]) -> int | None:
    if ws.national_crs:
        return ws.national_crs
    present = [g for g in geoms if len(g)]
    if not present:
        return None
    c = shapely.centroid(shapely.box(*shapely.total_bounds(np.concatenate(present))))
    return utm_epsg(c.x, c.y)


def map_layers(ws: Workspace, *, year: int, include_submitted: bool = False) -> MapLayers | None:
    """The layers of the module docstring for ``year``; ``None`` when the database holds nothing to map."""
    store, where = ws.store, _official(include_submitted)
    admin_rows = store.query("admin_area", fields=["name", "level", "code", "parent_code"], order_by="code")
    hazard_rows = store.query("hazard_area", where=where, fields=["hazard_class", "status"])
    released_rows = store.query("released_area", where={**where, "release_status": "released"},
                                fields=["kind", "released_on"])
    surface = current_surface(ws)
    risk_g = surface.geometries if surface is not None else np.array([], dtype=object)
    wgs = [np.array([r["geometry"] for r in rows], dtype=object) for rows in (admin_rows, hazard_rows, released_rows)]
    crs = _crs(ws, [*wgs, risk_g])
    if crs is None:
        return None
    admin_g, hazard_g, released_g = (reproject(g, WGS84, crs) if len(g) else g for g in wgs)
    out = MapLayers(crs=crs, year=year)
    if surface is not None and len(risk_g):
        out.risk_cells, out.risk = reproject(risk_g, WGS84, crs), surface.risk
        out.risk_title = run_title(surface.run)

    levels = sorted({r["level"] for r in admin_rows if r["level"] > 0})
    for level in levels:
        idx = [i for i, r in enumerate(admin_rows) if r["level"] == level]
        out.admin.append(AdminAreas(level, [admin_rows[i]["name"] for i in idx], [admin_rows[i]["code"] for i in idx],
                                    [admin_rows[i]["parent_code"] for i in idx], admin_g[idx]))

    klass = np.array([r["hazard_class"] for r in hazard_rows], dtype=object)
    status = np.array([r["status"] for r in hazard_rows], dtype=object)
    current = np.isin(status, ["open", "worked_on"])
    out.hazards = {
        "released": hazard_g[np.isin(status, ["closed", "handed_over"])] if len(hazard_g) else hazard_g,
        "other": hazard_g[current & ~np.isin(klass, ["sha", "cha"])] if len(hazard_g) else hazard_g,
        "sha": hazard_g[current & (klass == "sha")] if len(hazard_g) else hazard_g,
        "cha": hazard_g[current & (klass == "cha")] if len(hazard_g) else hazard_g,
    }

    year_text = str(year)
    released_year = np.array([str(r["released_on"] or "")[:4] for r in released_rows], dtype=object)
    kinds = np.array([r["kind"] for r in released_rows], dtype=object)
    if len(released_g):
        out.released_in_year = {k: released_g[(released_year == year_text) & (kinds == k)] for k in RELEASE_KINDS}
        out.released_before = released_g[released_year < year_text]
    else:
        out.released_in_year = {k: released_g for k in RELEASE_KINDS}
    _place_casualties(ws, out, admin_rows, admin_g, year, include_submitted)
    _natural_earth(out, ws.config.country)
    return out


def _natural_earth(out: MapLayers, country: str | None) -> None:
    """Country outlines around the mapped extent (shipped Natural Earth 1:110m), for context and the locator."""
    extent = out.extent
    if extent is None:
        return
    box = reproject(np.array([shapely.box(*extent)], dtype=object), out.crs, WGS84)[0]
    minx, miny, maxx, maxy = box.bounds
    features = countries_geojson()["features"]
    codes = [feature_iso3(f["properties"]) for f in features]
    shapes = np.array([shapely.geometry.shape(f["geometry"]) for f in features], dtype=object)
    out.country = country.upper() if country else None
    pad = max(maxx - minx, maxy - miny)
    near = shapely.clip_by_rect(shapes, minx - pad, miny - pad, maxx + pad, maxy + pad)
    keep = ~shapely.is_empty(near)
    out.countries = reproject(near[keep], WGS84, out.crs)
    out.country_codes = [c for c, k in zip(codes, keep, strict=True) if k]
    wide = max(pad * 4, 12.0)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    around = shapely.clip_by_rect(shapes, cx - wide, cy - wide, cx + wide, cy + wide)
    keep = ~shapely.is_empty(around)
    out.locator = around[keep]
    out.locator_codes = [c for c, k in zip(codes, keep, strict=True) if k]
    out.locator_box = (minx, miny, maxx, maxy)


def _place_casualties(ws: Workspace, out: MapLayers, admin_rows: list[dict[str, Any]], admin_g: np.ndarray,
                      year: int, include_submitted: bool) -> None:
    levels = {r["level"] for r in admin_rows}
    level = 2 if 2 in levels else 1 if 1 in levels else None
    doc = casualty_stats(ws, since=dt.date(year, 1, 1), until=dt.date(year, 12, 31),
                         by=["adm2" if level == 2 else "adm1"], include_submitted=include_submitted)
    if level is None:
        out.casualties_unplaced = doc["records"]["people"]
        return
    out.casualties_level = level
    names = {r["code"]: r["name"] for r in admin_rows}
    where: dict[str, int] = {}
    for i, r in enumerate(admin_rows):
        if r["level"] != level:
            continue
        key = f"{names.get(r['parent_code'], 'unknown')} / {r['name']}" if level == 2 else r["name"]
        where.setdefault(key, i)
    points, people, labels = [], [], []
    for row in doc["breakdown"]:
        key = row["key"]["adm2" if level == 2 else "adm1"]
        area = where.get(key)
        if area is None:
            out.casualties_unplaced += row["people"]
            continue
        points.append(shapely.point_on_surface(admin_g[area]))
        people.append(int(row["people"]))
        labels.append(admin_rows[area]["name"])
    out.casualty_points = np.array(points, dtype=object)
    out.casualty_people = people
    out.casualty_labels = labels
