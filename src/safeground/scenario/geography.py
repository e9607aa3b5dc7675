"""The scenario's land: region, invented administrative areas, lines of contact, roads, rivers, bridges, settlements.

Everything is in the scenario's projected CRS (metres). The region is the scenario's
bounding box clipped to Colombia's Natural Earth outline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from safeground.geo.crs import WGS84, reproject
from safeground.io.naturalearth import country_outline
from safeground.scenario import names
from safeground.scenario.params import ScenarioParams
from safeground.scenario.shapes import near_lines, sample_in, walk_line

COUNTRY = "COL"


@dataclass
class Geography:
    """The land the scenario happens on (projected CRS)."""

    region: shapely.Geometry
    municipalities: np.ndarray
    municipality_names: np.ndarray
    municipality_codes: np.ndarray
    municipality_province: np.ndarray
    provinces: np.ndarray
    province_names: np.ndarray
    province_codes: np.ndarray
    fronts: np.ndarray
    roads: np.ndarray
    road_names: np.ndarray
    rivers: np.ndarray
    river_names: np.ndarray
    bridges: np.ndarray
    settlements: np.ndarray
    settlement_names: np.ndarray

    def admin_of(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(admin1 names, admin2 names, admin2 codes)`` of the municipality containing (else nearest) each point."""
        tree = shapely.STRtree(self.municipalities)
        which = np.full(len(points), -1)
        src, dst = tree.query(points, predicate="intersects")
        order = np.lexsort((dst, src))
        src, dst = src[order], dst[order]
        first = np.ones(len(src), dtype=bool)
        first[1:] = src[1:] != src[:-1]
        which[src[first]] = dst[first]
        missing = np.flatnonzero(which < 0)
        if len(missing):
            which[missing] = tree.query_nearest(points[missing], all_matches=False)[1]
        prov = self.municipality_province[which]
        return self.province_names[prov], self.municipality_names[which], self.municipality_codes[which]


def _region(params: ScenarioParams) -> shapely.Geometry:
    box = shapely.segmentize(shapely.box(*params.bbox), 0.02)
    clipped = shapely.intersection(box, country_outline(COUNTRY))
    parts = shapely.get_parts(clipped)
    land = parts[np.argmax(shapely.area(parts))]
    return reproject(np.array([land], dtype=object), WGS84, params.crs)[0]


def _admin(rng: np.random.Generator, region: shapely.Geometry, params: ScenarioParams) -> dict[str, np.ndarray]:
    x, y = sample_in(rng, region, params.municipalities)
    seeds = shapely.multipoints(np.column_stack([x, y]))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=region, ordered=True))
    cells = shapely.intersection(cells, region)
    centre = shapely.point_on_surface(cells)
    cx, cy = shapely.get_x(centre), shapely.get_y(centre)
    k = params.provinces
    # Province seeds: the municipalities farthest apart, greedily, from a random start.
    chosen = [int(rng.integers(0, len(cells)))]
    dist = np.hypot(cx - cx[chosen[0]], cy - cy[chosen[0]])
    while len(chosen) < k:
        nxt = int(np.argmax(dist * rng.uniform(0.7, 1.0, len(dist))))
        chosen.append(nxt)
        dist = np.minimum(dist, np.hypot(cx - cx[nxt], cy - cy[nxt]))
    d2 = (cx[:, None] - cx[chosen][None, :]) ** 2 + (cy[:, None] - cy[chosen][None, :]) ** 2
    province = np.argmin(d2, axis=1)
    # Number provinces west to east, then north to south within each.
    porder = np.lexsort((-cy[chosen], cx[chosen]))
    rank = np.empty(k, dtype=int)
    rank[porder] = np.arange(k)
    province = rank[province]
    prov_polys = np.array([shapely.union_all(cells[province == p]) for p in range(k)], dtype=object)
    prov_codes = np.array([f"XS{p + 1:02d}" for p in range(k)], dtype=object)
    order = np.lexsort((-cy, cx, province))
    cells, province = cells[order], province[order]
    within = np.zeros(len(cells), dtype=int)
    for p in range(k):
        sel = np.flatnonzero(province == p)
        within[sel] = np.arange(1, len(sel) + 1)
    codes = np.array([f"{prov_codes[p]}{w:02d}" for p, w in zip(province, within, strict=True)], dtype=object)
    all_names = names.place_names(rng, len(cells) + k)
    return {"municipalities": cells, "municipality_codes": codes, "municipality_province": province,
            "municipality_names": all_names[:len(cells)], "provinces": prov_polys, "province_codes": prov_codes,
            "province_names": all_names[len(cells):]}


def _lines(rng: np.random.Generator, region: shapely.Geometry, n: int, *, north_south: np.ndarray, step_m: float,
           wiggle: float) -> np.ndarray:
    minx, miny, maxx, maxy = region.bounds
    w, h = maxx - minx, maxy - miny
    out = []
    for i in range(n):
        if north_south[i]:
            x0 = minx + w * (i + rng.uniform(0.2, 0.8)) / n
            start = (x0, maxy + 0.05 * h)
            end = (x0 + rng.normal(0, 0.15 * w), miny - 0.05 * h)
            amp = wiggle * h
        else:
            y0 = miny + h * rng.uniform(0.1, 0.9)
            start = (minx - 0.05 * w, y0)
            end = (maxx + 0.05 * w, y0 + rng.normal(0, 0.15 * h))
            amp = wiggle * w
        line = walk_line(rng, start, end, step_m, amp)
        out.append(shapely.intersection(line, region))
    lines = np.array(out, dtype=object)
    return lines[~shapely.is_empty(lines)]


def build_geography(rng: np.random.Generator, params: ScenarioParams) -> Geography:
    """Generate the region's administrative areas, lines, bridges and settlements."""
    region = _region(params)
    admin = _admin(rng, region, params)
    fronts = _lines(rng, region, params.front_lines, north_south=np.ones(params.front_lines, bool), step_m=1000.0,
                    wiggle=0.06)
    ns = np.arange(params.roads) % 2 == 0
    roads = _lines(rng, region, params.roads, north_south=ns, step_m=500.0, wiggle=0.03)
    rivers = _lines(rng, region, params.rivers, north_south=np.zeros(params.rivers, bool), step_m=300.0,
                    wiggle=0.05)
    crossings = shapely.intersection(roads[:, None], rivers[None, :]).ravel()
    pts = shapely.get_parts(crossings[~shapely.is_empty(crossings)])
    bridges = pts[shapely.get_type_id(pts) == 0] if len(pts) else np.array([], dtype=object)
    n_road = round(0.7 * params.settlements)
    rx, ry = near_lines(rng, roads, n_road, 300.0, region)
    ux, uy = sample_in(rng, region, params.settlements - n_road)
    settlements = shapely.points(np.concatenate([rx, ux]), np.concatenate([ry, uy]))
    labels = names.place_names(rng, params.roads + params.rivers + params.settlements)
    road_names = np.array([f"Vía {i + 1}" for i in range(len(roads))], dtype=object)
    river_names = np.array(["Río " + str(s).split()[-1] for s in labels[:len(rivers)]], dtype=object)
    return Geography(region=region, fronts=fronts, roads=roads, road_names=road_names, rivers=rivers,
                     river_names=river_names, bridges=bridges, settlements=settlements,
                     settlement_names=labels[params.roads + params.rivers:], **admin)
