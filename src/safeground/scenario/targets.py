"""Priority targets: settlements awaiting return and reconstruction projects, with the hazards that block them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from safeground.scenario import dates
from safeground.scenario.geography import Geography
from safeground.scenario.identifiers import uuids
from safeground.scenario.params import ScenarioParams
from safeground.scenario.shapes import segments

#: Blocking distance (m) by target kind.
BLOCKING_M = {"settlement": 2000.0, "road": 500.0, "power_line": 500.0, "school": 1000.0}
MAX_BLOCKING = 25


@dataclass
class Targets:
    """Priority targets (projected CRS); ``blocking`` holds hazard indices, nearest first."""

    uuid: np.ndarray
    name: np.ndarray
    kind: np.ndarray
    geometry: np.ndarray
    population: np.ndarray
    displaced: np.ndarray
    deadline: np.ndarray
    value: np.ndarray
    blocking: list[np.ndarray]


def _blocking(geoms: np.ndarray, kinds: np.ndarray, hazards: np.ndarray, open_hazard: np.ndarray) -> list[np.ndarray]:
    """Indices of the unreleased hazards within the kind's blocking distance of each target, nearest first."""
    live = np.flatnonzero(open_hazard)
    tree = shapely.STRtree(hazards[live])
    out: list[np.ndarray] = [np.zeros(0, dtype=np.int64) for _ in range(len(geoms))]
    reach = np.array([BLOCKING_M[k] for k in kinds])
    src, hit = tree.query(geoms, predicate="dwithin", distance=reach.max())
    if not len(src):
        return out
    dist = shapely.distance(geoms[src], hazards[live[hit]])
    ok = dist <= reach[src]
    src, hit, dist = src[ok], live[hit[ok]], dist[ok]
    order = np.lexsort((hit, dist, src))
    src, hit = src[order], hit[order]
    bounds = np.searchsorted(src, np.arange(len(geoms) + 1))
    for i in range(len(geoms)):
        out[i] = hit[bounds[i]:bounds[i + 1]][:MAX_BLOCKING]
    return out


def _road_stretches(rng: np.random.Generator, roads: np.ndarray, near: np.ndarray, n: int) -> np.ndarray:
    """``n`` road stretches of 2-12 km; most are centred where the road passes the points ``near``."""
    parts = shapely.get_parts(roads)
    plen = shapely.length(parts)
    k = rng.choice(len(parts), n, p=plen / plen.sum())
    centre = rng.random(n) * plen[k]
    aim = np.flatnonzero(rng.random(n) < 0.7) if len(near) else np.zeros(0, dtype=np.int64)
    if len(aim):
        pts = near[rng.integers(0, len(near), len(aim))]
        k[aim] = shapely.STRtree(parts).query_nearest(pts, all_matches=False)[1]
        centre[aim] = shapely.line_locate_point(parts[k[aim]], pts)
    span = np.minimum(rng.uniform(2_000.0, 12_000.0, n), plen[k])
    start = np.clip(centre - span / 2, 0.0, plen[k] - span)
    steps = np.linspace(0.0, 1.0, 25)
    at = shapely.line_interpolate_point(np.repeat(parts[k], len(steps)),
                                        (start[:, None] + span[:, None] * steps[None, :]).ravel())
    return shapely.linestrings(shapely.get_coordinates(at), indices=np.repeat(np.arange(n), len(steps)))


def plan_targets(rng: np.random.Generator, params: ScenarioParams, geo: Geography, hazards: np.ndarray,
                 open_hazard: np.ndarray) -> Targets:
    """Settlements (points) and projects (road stretches, power lines between settlements, schools), most of
    the projects placed where hazards are in the way, as reconstruction plans usually are."""
    ns = len(geo.settlements)
    population = np.round(300 * np.exp(rng.normal(0.8, 0.8, ns))).astype(float)
    s_block = _blocking(geo.settlements, np.full(ns, "settlement", dtype=object), hazards, open_hazard)
    n_block = np.array([len(b) for b in s_block])
    displaced = np.where(n_block > 0, rng.poisson(25, ns) + 5 * n_block, rng.poisson(2, ns)).astype(float)
    want = (1.0 + 5.0 * (n_block > 0)) / (1.0 + 5.0 * (n_block > 0)).sum()
    kinds_p = rng.choice(3, params.projects, p=[0.4, 0.3, 0.3])
    proj_geom = np.empty(params.projects, dtype=object)
    proj_kind = np.array(["road", "power_line", "school"], dtype=object)[kinds_p]
    road = np.flatnonzero(kinds_p == 0)
    live = hazards[open_hazard]
    a, b = segments(geo.roads)
    road_tree = shapely.STRtree(shapely.linestrings(np.stack([a, b], axis=1)))
    near_road = road_tree.query(live, predicate="dwithin", distance=1_000.0)[0]
    anchors = shapely.point_on_surface(live[np.unique(near_road)])
    proj_geom[road] = _road_stretches(rng, geo.roads, anchors, len(road))
    line = np.flatnonzero(kinds_p == 1)
    s_xy = shapely.get_coordinates(geo.settlements)
    first = rng.choice(ns, len(line), p=want)
    d2 = ((s_xy[first][:, None, :] - s_xy[None, :, :]) ** 2).sum(axis=2)
    d2[np.arange(len(line)), first] = np.inf
    second = np.argsort(d2, axis=1)[:, :3][np.arange(len(line)), rng.integers(0, 3, len(line))]
    proj_geom[line] = shapely.linestrings(np.stack([s_xy[first], s_xy[second]], axis=1))
    school = np.flatnonzero(kinds_p == 2)
    at = rng.choice(ns, len(school), p=want)
    proj_geom[school] = shapely.points(s_xy[at] + rng.normal(0, 300.0, (len(school), 2)))
    blocking = s_block + _blocking(proj_geom, proj_kind, hazards, open_hazard)
    proj_names = np.array([f"{k.replace('_', ' ').capitalize()} project {i + 1}" for i, k in enumerate(proj_kind)],
                          dtype=object)
    deadline = np.concatenate([np.full(ns, dates.NAT, dtype="datetime64[D]"),
                               dates.between(rng, dates.day("2026-06-30"), dates.day("2030-12-31"), params.projects)])
    value = np.concatenate([np.full(ns, np.nan), np.round(np.exp(rng.normal(13.0, 1.0, params.projects)), -3)])
    geoms = np.concatenate([geo.settlements, proj_geom])
    return Targets(uuid=uuids(rng, len(geoms)), name=np.concatenate([geo.settlement_names, proj_names]),
                   kind=np.concatenate([np.full(ns, "settlement", dtype=object), proj_kind]), geometry=geoms,
                   population=np.concatenate([population, np.full(params.projects, np.nan)]),
                   displaced=np.concatenate([displaced, np.full(params.projects, np.nan)]), deadline=deadline,
                   value=value, blocking=blocking)
