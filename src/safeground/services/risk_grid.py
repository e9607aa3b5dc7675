"""Cells for a risk surface: a square grid over the study area in the national CRS, or the hazard polygons.

**Grid.** Square cells of ``--cell-size`` metres in the national projected CRS (the configuration's
``national_crs``, else the UTM zone of the national outline), aligned on multiples of the cell size, so the
same cell has the same id in every run and every area. A cell belongs to the study area when its centre lies
inside it (a raster mask: whole squares, never slivers cut at the border). The study area is ``--area`` (a
``lon,lat,lon,lat`` box or an admin area's code), else the national outline (the admin areas of level 0,
else the configured country's Natural Earth outline). A cell's id is its south-west corner in the national
CRS, ``E<x>N<y>`` in metres. Everything is numpy and shapely 2 array work: no loop per cell (cells are counted
in millions).

**Hazards as cells** (``--cells hazards``): every official, unretired hazard area is a cell, its id the
hazard's reference, its polygon the hazard's.

>>> g = square_grid(shapely.box(500_000, 600_000, 503_000, 601_000), 1000.0, 32618)
>>> len(g), g.ids()[:2].tolist()
(3, ['E500000N600000', 'E501000N600000'])
>>> g.centres()[0][:2].tolist(), g.centres()[1][:2].tolist()
([500500.0, 501500.0], [600500.0, 600500.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.geo.crs import WGS84, reproject, transformer
from safeground.services.workspace import Workspace

#: A grid larger than this is refused (memory: a cell costs about 1 kB through features, model and store).
MAX_CELLS = 50_000_000
#: Rows of candidate centres tested against the area at a time (bounds the memory of a national grid).
_ROWS_PER_CHUNK = 512


@dataclass
class Grid:
    """Square cells: column and row of each cell's south-west corner, in cell units from the origin 0, 0 of
    the projected CRS ``crs``."""

    crs: int
    size: float
    col: np.ndarray
    row: np.ndarray

    def __len__(self) -> int:
        return len(self.col)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Projected x and y of each cell's centre (metres)."""
        return (self.col + 0.5) * self.size, (self.row + 0.5) * self.size

    def ids(self) -> np.ndarray:
        """``E<x>N<y>``: the south-west corner in the national CRS, in whole metres."""
        x = (self.col * self.size).round().astype(np.int64).tolist()
        y = (self.row * self.size).round().astype(np.int64).tolist()
        return np.array([f"E{a}N{b}" for a, b in zip(x, y, strict=True)], dtype=object)

    def xy(self) -> np.ndarray:
        """Projected centres as an ``(n, 2)`` array (what the evidence features measure from)."""
        return np.column_stack(self.centres())

    def points_wgs84(self) -> np.ndarray:
        """Each cell's centre as a WGS84 shapely point."""
        x, y = self.centres()
        lon, lat = transformer(self.crs, WGS84).transform(x, y)
        return shapely.points(lon, lat)

    def rings_wgs84(self) -> np.ndarray:
        """Each cell's closed ring of five corners taken to WGS84, as an ``(n, 5, 2)`` array (the store writes
        it without building a shapely polygon per cell)."""
        x0, y0 = self.col * self.size, self.row * self.size
        xs = np.stack([x0, x0 + self.size, x0 + self.size, x0], axis=1)
        ys = np.stack([y0, y0, y0 + self.size, y0 + self.size], axis=1)
        lon, lat = transformer(self.crs, WGS84).transform(xs.ravel(), ys.ravel())
        out = np.empty((len(self), 5, 2))
        out[:, :4, 0], out[:, :4, 1] = lon.reshape(-1, 4), lat.reshape(-1, 4)
        out[:, 4] = out[:, 0]  # closed: the first corner again, not taken through pyproj twice
        return out

    def polygons_wgs84(self) -> np.ndarray:
        """Each cell's square, its four corners taken to WGS84 (a quadrilateral there)."""
        return np.asarray(shapely.polygons(self.rings_wgs84()))


def square_grid(area: shapely.Geometry, size: float, crs: int) -> Grid:
    """The cells of ``size`` metres whose centre lies in ``area`` (a polygon in the projected CRS ``crs``)."""
    if not size > 0:
        raise ValidationError("risk.bad_cell_size", f"A cell size of {size:g} m is not a size.",
                              hint="Give --cell-size in metres, e.g. 1000.")
    minx, miny, maxx, maxy = area.bounds
    c0, c1 = int(np.floor(minx / size)), int(np.ceil(maxx / size))
    r0, r1 = int(np.floor(miny / size)), int(np.ceil(maxy / size))
    candidates = (c1 - c0) * (r1 - r0)
    if candidates > 4 * MAX_CELLS:
        raise _too_many(candidates, size)
    shapely.prepare(area)
    cols = np.arange(c0, c1, dtype=np.int64)
    out_c, out_r = [], []
    for start in range(r0, r1, _ROWS_PER_CHUNK):
        rows = np.arange(start, min(r1, start + _ROWS_PER_CHUNK), dtype=np.int64)
        mesh_c, mesh_r = np.meshgrid(cols, rows)
        cc, rr = mesh_c.ravel(), mesh_r.ravel()
        inside = shapely.contains_xy(area, (cc + 0.5) * size, (rr + 0.5) * size)
        out_c.append(cc[inside])
        out_r.append(rr[inside])
    col = np.concatenate(out_c) if out_c else np.empty(0, dtype=np.int64)
    row = np.concatenate(out_r) if out_r else np.empty(0, dtype=np.int64)
    if len(col) > MAX_CELLS:
        raise _too_many(len(col), size)
    if not len(col):
        raise ValidationError("risk.empty_grid", f"No cell of {size:g} m has its centre inside the study area.",
                              hint="Give a smaller --cell-size or a larger --area.")
    return Grid(crs, float(size), col, row)


def study_area(ws: Workspace, area: str | None) -> tuple[shapely.Geometry, str]:
    """The study area in WGS84, and how it was chosen: ``--area`` (a ``lon,lat,lon,lat`` box or an admin area's
    code), else the national outline."""
    if area:
        parts = area.split(",")
        if len(parts) == 4:
            try:
                x0, y0, x1, y1 = (float(p) for p in parts)
            except ValueError:
                raise _bad_area(area) from None
            if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
                raise _bad_area(area)
            return shapely.box(x0, y0, x1, y1), f"box {x0:g},{y0:g},{x1:g},{y1:g}"
        rows = ws.store.query("admin_area", where={"code": area.strip()})
        if not rows:
            raise NotFoundError("risk.unknown_area", f"No admin area has the code {area!r}, and it is not a box.",
                                hint="Give lon,lat,lon,lat (west,south,east,north) or an admin area's code.")
        return shapely.union_all([r["geometry"] for r in rows]), f"admin area {area.strip()} ({rows[0]['name']})"
    outline = ws.outline
    if outline is None:
        raise ValidationError("risk.no_area", "There is no national outline to cover, and no --area was given.",
                              hint="Set the country ('safeground init --country ISO3'), import admin areas of "
                                   "level 0, or give --area.")
    return outline, "the national outline"


def national_grid(ws: Workspace, size: float, area: str | None = None) -> tuple[Grid, str]:
    """The grid of ``size`` metres over the study area, in the national CRS, and the area's description."""
    geom, described = study_area(ws, area)
    crs = ws.national_crs
    if crs is None:  # no outline and no configured CRS: the UTM zone of the area itself
        from safeground.geo.crs import utm_epsg

        c = geom.centroid
        crs = utm_epsg(c.x, c.y)
    projected = reproject(np.array([shapely.segmentize(geom, 0.05)], dtype=object), WGS84, crs)[0]
    return square_grid(projected, size, crs), described


@dataclass
class HazardCells:
    """Hazard areas as cells: their references, polygons (WGS84) and representative points."""

    ids: np.ndarray
    polygons: np.ndarray
    points: np.ndarray


def hazard_cells(ws: Workspace, area: str | None = None) -> tuple[HazardCells, str]:
    """Every official, unretired hazard area (inside ``--area`` when given) as a cell."""
    rows = ws.store.query("hazard_area", where={"review_state": ["approved", "published"]},
                          fields=["hazard_class"])
    polys = np.array([r["geometry"] for r in rows], dtype=object)
    ids = np.array([r["ref"] for r in rows], dtype=object)
    described = "every hazard area"
    if area and len(polys):
        geom, described = study_area(ws, area)
        keep = shapely.intersects(geom, polys)
        polys, ids = polys[keep], ids[keep]
        described = f"hazard areas in {described}"
    if not len(polys):
        raise ValidationError("risk.empty_grid", "There is no official hazard area to take as cells.",
                              hint="Use a grid (--cell-size M) instead of --cells hazards.")
    return HazardCells(ids, polys, shapely.point_on_surface(polys)), described


def _too_many(n: int, size: float) -> ValidationError:
    return ValidationError("risk.too_many_cells", f"{n:,} cells of {size:g} m: more than SafeGround computes at "
                           f"once ({MAX_CELLS:,}).", hint="Give a larger --cell-size or a smaller --area.")


def _bad_area(area: str) -> ValidationError:
    return ValidationError("risk.bad_area", f"--area {area!r} is not a box west,south,east,north in degrees.",
                           hint="Give e.g. --area -72.6,4.6,-71.4,5.8, or an admin area's code.")
