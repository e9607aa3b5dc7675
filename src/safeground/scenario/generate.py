"""Generate a seeded scenario: the simulated world, its records in insert order, the truth and the context.

>>> s = generate("small", seed=1)
>>> s.counts()["hazard_area"] > 0, s.digest() == generate("small", seed=1).digest()
(True, True)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import shapely

from safeground.geo.crs import WGS84, reproject, transformer
from safeground.scenario import dates
from safeground.scenario.casualties import simulate_accidents
from safeground.scenario.events import register_events
from safeground.scenario.geography import build_geography
from safeground.scenario.hazards import outline_hazards
from safeground.scenario.identifiers import uuids
from safeground.scenario.mine_index import MineIndex
from safeground.scenario.minefield_records import hand_over
from safeground.scenario.mines import lay_minefields
from safeground.scenario.operators import build_operators
from safeground.scenario.outreach import hold_sessions
from safeground.scenario.params import ScenarioParams, params_for
from safeground.scenario.records import iter_rows
from safeground.scenario.release import release_land
from safeground.scenario.rows import Rows, optional
from safeground.scenario.seeds import stream
from safeground.scenario.survey import survey_hazards
from safeground.scenario.targets import plan_targets
from safeground.scenario.truth import FileLayer
from safeground.scenario.world import World


@dataclass
class Scenario:
    """A generated scenario: record steps in insert order (WGS84), the ground truth and the context layers."""

    params: ScenarioParams
    seed: int
    steps: list[Rows]
    truth: list[FileLayer]
    context: list[FileLayer]

    def counts(self) -> dict[str, int]:
        """Records per layer."""
        out: dict[str, int] = {}
        for rows in self.steps:
            out[rows.layer] = out.get(rows.layer, 0) + len(rows)
        return out

    def rows(self, layer: str) -> list[Rows]:
        """The steps that insert ``layer``."""
        return [r for r in self.steps if r.layer == layer]

    def digest(self) -> str:
        """A SHA-256 over every record, for reproducibility checks."""
        h = hashlib.sha256()
        for rows in self.steps:
            h.update(rows.digest().encode())
        return h.hexdigest()


#: The truth's mine layer gets a spatial index only up to this many mines.
MINE_INDEX_LIMIT = 500_000


def _safe_from(n_fields: int, hazard_minefield: np.ndarray, act_type: np.ndarray, act_hazard: np.ndarray,
               act_start: np.ndarray, as_of: np.datetime64) -> np.ndarray:
    """Per minefield: the day its clearance started (no accidents from then on), else the day after ``as_of``."""
    safe = np.full(n_fields, (as_of + np.timedelta64(1, "D")).astype(np.int64), dtype=np.int64)
    cl = np.flatnonzero(act_type == "clearance")
    mf = hazard_minefield[act_hazard[cl]]
    keep = mf >= 0
    np.minimum.at(safe, mf[keep], act_start[cl][keep].astype(np.int64))
    return safe.astype("datetime64[D]")


def simulate(params: ScenarioParams, seed: int) -> World:
    """Run every step of the simulation (projected CRS)."""
    p = params
    geo = build_geography(stream(seed, "geography"), p)
    fields, mines = lay_minefields(stream(seed, "mines"), p, geo)
    index = MineIndex(fields, mines)
    hazards = outline_hazards(stream(seed, "hazards"), p, geo, fields)
    hazard_uuid = uuids(stream(seed, "hazard_ids"), len(hazards))
    ops = build_operators(stream(seed, "operators"), p, geo)
    survey = survey_hazards(stream(seed, "survey"), p, hazards, index, ops)
    release = release_land(stream(seed, "release"), p, hazards, index, survey, ops)
    records = hand_over(stream(seed, "minefield_records"), p, fields, mines)
    targets = plan_targets(stream(seed, "targets"), p, geo, hazards.polygon, ~release.hazard_closed)
    safe = _safe_from(len(fields), hazards.minefield, release.act_type, release.act_hazard, release.act_start,
                      dates.day(p.as_of))
    accidents = simulate_accidents(stream(seed, "accidents"), p, fields, mines, release, safe)
    src, hit = shapely.STRtree(hazards.polygon).query(shapely.points(accidents.ac_x, accidents.ac_y),
                                                      predicate="within")
    accident_hazard = np.full(len(accidents.ac_uuid), -1)
    np.maximum.at(accident_hazard, src, hit)
    n_settle = len(geo.settlements)
    ngos = np.flatnonzero(ops.kind == "ngo")
    sessions = hold_sessions(stream(seed, "eore"), p, geo.settlements, targets.displaced[:n_settle], ngos)
    events = register_events(stream(seed, "events"), p, geo)
    return World(params=p, seed=seed, geo=geo, fields=fields, mines=mines, index=index, hazards=hazards,
                 hazard_uuid=hazard_uuid, ops=ops, survey=survey,
                 release=release, records=records, targets=targets, accidents=accidents,
                 accident_hazard=accident_hazard, sessions=sessions, events=events)


def _wgs84(geoms: np.ndarray, crs: int) -> np.ndarray:
    return reproject(np.asarray(geoms, dtype=object), crs, WGS84)


def truth_layers(w: World) -> list[FileLayer]:
    """The ground truth: mines, minefields, and the truth behind hazards, evidence, records and accidents."""
    p, mines, fields, rl = w.params, w.mines, w.fields, w.release
    crs = p.crs
    nm, nh = len(mines), len(w.hazards)
    device_of = np.full(nm, None, dtype=object)
    device_of[rl.dev_mine] = rl.dev_uuid
    found = np.zeros(nm, dtype=bool)
    found[rl.dev_mine] = True
    hz_i, hz_m = w.index.inside(w.hazards.polygon)
    released = np.flatnonzero(rl.ra_released)
    _ri, rm = w.index.inside(rl.ra_polygon[released])
    in_released = np.zeros(nm, dtype=bool)
    in_released[rm] = True
    fate = np.where(found, "found", np.where(in_released, "in_released_land", "in_ground")).astype(object)
    lon, lat = transformer(crs, WGS84).transform(mines.x, mines.y)
    mine = FileLayer("mine", "Point", None, {
        "mine_id": np.arange(nm), "minefield_id": mines.minefield, "category": mines.category_codes(),
        "depth_cm": mines.depth_cm, "fate": fate, "device_uuid": device_of},
        x=np.asarray(lon), y=np.asarray(lat), spatial_index=nm <= MINE_INDEX_LIMIT)
    hz_of_mf = w.hazard_of_minefield()
    record_of = np.full(len(fields), None, dtype=object)
    record_of[w.records.minefield] = w.records.uuid
    minefield = FileLayer("minefield", "Polygon", _wgs84(fields.polygon, crs), {
        "minefield_id": np.arange(len(fields)), "placement": fields.placement, "pattern": fields.pattern,
        "main_category": fields.main_category, "n_mines": fields.n_mines, "laid_date": fields.laid_date,
        "silent": fields.silent, "hazard_uuid": optional(hz_of_mf >= 0, w.hazard_uuid[np.maximum(hz_of_mf, 0)]),
        "record_uuid": record_of, "mines_found": np.bincount(mines.minefield[found], minlength=len(fields))})
    remaining = hz_m[~found[hz_m]]
    hazard = FileLayer("hazard_truth", None, None, {
        "hazard_uuid": w.hazard_uuid, "minefield_id": w.hazards.minefield, "false_hazard": w.hazards.false,
        "true_mines": np.bincount(hz_i, minlength=nh),
        "mines_remaining": np.bincount(hz_i[~found[hz_m]], minlength=nh) if len(remaining) else np.zeros(nh, int),
        "closed": rl.hazard_closed})
    sv = w.survey
    near, dist = w.index.nearest(sv.ev_x, sv.ev_y)
    near_mf = np.where(near >= 0, mines.minefield[np.maximum(near, 0)], -1)
    evidence = FileLayer("evidence_truth", None, None, {
        "evidence_uuid": sv.ev_uuid, "nearest_mine_m": np.round(dist, 1), "nearest_minefield_id": near_mf,
        "on_false_hazard": w.hazards.false[sv.ev_hazard]})
    r = w.records
    record = FileLayer("record_truth", None, None, {
        "record_uuid": r.uuid, "minefield_id": r.minefield, "true_mine_count": fields.n_mines[r.minefield],
        "perimeter_offset_m": np.round(r.shift_m, 1)})
    a = w.accidents
    accident = FileLayer("accident_truth", None, None, {"accident_uuid": a.ac_uuid, "minefield_id": a.ac_minefield})
    return [mine, minefield, hazard, evidence, record, accident]


def context_layers(w: World) -> list[FileLayer]:
    """Public context: former lines of contact, roads, rivers and bridges."""
    g, crs = w.geo, w.params.crs
    return [
        FileLayer("line_of_contact", "MultiLineString", _wgs84(g.fronts, crs),
                  {"name": np.array([f"Former line of contact {i + 1}" for i in range(len(g.fronts))], dtype=object)}),
        FileLayer("roads", "MultiLineString", _wgs84(g.roads, crs), {"name": g.road_names}),
        FileLayer("rivers", "MultiLineString", _wgs84(g.rivers, crs), {"name": g.river_names}),
        FileLayer("bridges", "Point", _wgs84(g.bridges, crs), {"bridge_id": np.arange(len(g.bridges))}),
    ]


def iter_record_steps(world: World) -> Iterator[Rows]:
    """The world's records as insert steps in link order, in WGS84, built one at a time."""
    for rows in iter_rows(stream(world.seed, "records"), world):
        rows.to_wgs84(world.params.crs)
        yield rows


def record_steps(world: World) -> list[Rows]:
    """All of :func:`iter_record_steps` at once."""
    return list(iter_record_steps(world))


def generate(params: ScenarioParams | str = "small", seed: int = 1) -> Scenario:
    """Generate the scenario for ``params`` (or a scale name) and ``seed``; the same inputs give the same data."""
    p = params_for(params) if isinstance(params, str) else params
    world = simulate(p, seed)
    return Scenario(params=p, seed=seed, steps=record_steps(world), truth=truth_layers(world),
                    context=context_layers(world))
