"""Land release as it happened: cancellation, technical survey, clearance, finds and QC, following the IMAS rules.

The flow per hazard (see :mod:`safeground.scenario.params`): NTS without evidence cancels it;
indirect evidence leads to technical survey (TS), direct evidence to clearance of a confirmed
hazard (CHA). TS that finds the minefield reduces the land outside it and confirms the rest;
TS that finds nothing reduces all of it. Clearance finds the mines inside its polygon with a
detection probability; each find becomes a device at its true position plus GPS noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from safeground.scenario import dates
from safeground.scenario.hazards import HazardShapes
from safeground.scenario.identifiers import uuids
from safeground.scenario.mine_index import MineIndex
from safeground.scenario.operators import Operators
from safeground.scenario.params import ScenarioParams
from safeground.scenario.rows import group_rank
from safeground.scenario.survey import Survey

NAT = dates.NAT
MIN_REDUCED_M2 = 50.0
CLEARANCE_DEPTHS_CM = np.array([10.0, 10.0, 13.0, 15.0, 15.0, 20.0, 25.0, 30.0])
ASSETS = {"manual": "manual detector", "mechanical": "mechanical manual detector", "mdd": "mdd manual",
          "bac": "bac detector", "nts": "manual"}


@dataclass
class Release:
    """What land release did: per hazard, technical activities (``act_*``), inspections (``qm_*``),
    released polygons (``ra_*``) and devices found (``dev_*``)."""

    hazard_class: np.ndarray
    hazard_busy: np.ndarray
    hazard_closed: np.ndarray
    act_uuid: np.ndarray
    act_type: np.ndarray
    act_hazard: np.ndarray
    act_start: np.ndarray
    act_end: np.ndarray
    act_org: np.ndarray
    act_team: np.ndarray
    act_polygon: np.ndarray
    act_depth_cm: np.ndarray
    act_assets: np.ndarray
    act_devices: np.ndarray
    act_qc_pass: np.ndarray
    qm_activity: np.ndarray
    qm_kind: np.ndarray
    qm_date: np.ndarray
    qm_result: np.ndarray
    ra_hazard: np.ndarray
    ra_activity: np.ndarray
    ra_kind: np.ndarray
    ra_polygon: np.ndarray
    ra_released: np.ndarray
    dev_uuid: np.ndarray
    dev_mine: np.ndarray
    dev_activity: np.ndarray
    dev_x: np.ndarray
    dev_y: np.ndarray
    dev_date: np.ndarray


def _first_per_group(group: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Positions of the smallest ``key`` in each ``group``."""
    order = np.lexsort((key, group))
    g = group[order]
    first = np.ones(len(g), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    return order[first]


def _day_within(rng: np.random.Generator, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    span = (end - start).astype(np.int64)
    return start + np.floor(rng.random(len(start)) * (span + 1)).astype(np.int64).astype("timedelta64[D]")


def release_land(rng: np.random.Generator, params: ScenarioParams, hazards: HazardShapes, index: MineIndex,
                 survey: Survey, ops: Operators) -> Release:
    """Simulate technical survey, clearance, finds, QC and the released polygons, hazard by hazard (vectorised)."""
    s = survey
    fields, mines = index.fields, index.mines
    nh = len(hazards)
    as_of = dates.day(params.as_of)
    poly, mf = hazards.polygon, hazards.minefield
    cancel = s.surveyed & ~s.evidence_found
    indirect = s.surveyed & s.evidence_found & ~s.direct_found
    direct = s.surveyed & s.direct_found

    # Technical survey on hazards with indirect evidence only.
    ts_start = np.full(nh, NAT, dtype="datetime64[D]")
    ts_end = ts_start.copy()
    try_ts = np.flatnonzero(indirect & (rng.random(nh) < params.p_ts))
    ts_start[try_ts] = dates.plus(s.nts_end[try_ts], rng, 30, 365)
    ts_end[try_ts] = dates.plus(ts_start[try_ts], rng, 5, 45)
    ts = np.zeros(nh, dtype=bool)
    ts[try_ts] = ts_end[try_ts] <= as_of
    ts_start[~ts] = NAT
    ts_end[~ts] = NAT
    t_idx = np.flatnonzero(ts & (mf >= 0))
    pi, pm = index.inside(poly[t_idx])
    own = mines.minefield[pm] == mf[t_idx[pi]]
    pi, pm = pi[own], pm[own]
    own_count = np.bincount(pi, minlength=len(t_idx))
    confirm = np.zeros(nh, dtype=bool)
    confirm[t_idx] = (own_count > 0) & (rng.random(len(t_idx)) < params.p_ts_detect)
    # TS finds 1 + Poisson(1.5) of the minefield's mines inside the hazard.
    want = np.zeros(nh, dtype=np.int64)
    want[confirm] = 1 + rng.poisson(1.5, int(confirm.sum()))
    keep = confirm[t_idx[pi]]
    pi, pm = pi[keep], pm[keep]
    rank = group_rank(pi, rng.random(len(pi)))
    ts_found = rank < want[t_idx[pi]]
    ts_mine, ts_hazard = pm[ts_found], t_idx[pi[ts_found]]

    # Polygons: reduced outside the minefield (plus margin), cleared inside it; or all of it.
    cleared_poly = np.full(nh, None, dtype=object)
    reduced_poly = np.full(nh, None, dtype=object)
    c_idx = np.flatnonzero(confirm)
    core = shapely.buffer(fields.polygon[mf[c_idx]], params.clear_margin_m, quad_segs=4)
    reduced_poly[c_idx] = shapely.difference(poly[c_idx], core)
    cleared_poly[c_idx] = shapely.intersection(poly[c_idx], core)
    tiny = c_idx[shapely.area(reduced_poly[c_idx]) < MIN_REDUCED_M2]
    reduced_poly[tiny] = None
    cleared_poly[tiny] = poly[tiny]
    nothing = np.flatnonzero(ts & ~confirm)
    reduced_poly[nothing] = poly[nothing]
    direct_idx = np.flatnonzero(direct)
    cleared_poly[direct_idx] = poly[direct_idx]

    # Clearance of confirmed hazards.
    go = (direct & (rng.random(nh) < params.p_clear_direct)) | (confirm & (rng.random(nh) < params.p_clear_after_ts))
    after = np.where(ts, ts_end, s.nts_end)
    cl_start = np.full(nh, NAT, dtype="datetime64[D]")
    g_idx = np.flatnonzero(go)
    cl_start[g_idx] = dates.plus(after[g_idx], rng, 30, 365)
    cl = np.flatnonzero(go & (cl_start <= as_of))
    cl_org, cl_team = ops.assign(rng, "clearance", cl_start[cl])
    per_day = ops.team_capacity[cl_team] / 7.0
    days = np.clip(np.ceil(shapely.area(cleared_poly[cl]) / per_day), 3, 365).astype(np.int64)
    cl_end = cl_start[cl] + days.astype("timedelta64[D]")
    done = cl_end <= as_of
    cl_end[~done] = NAT
    ts_org, ts_team = ops.assign(rng, "ts", ts_start[ts])

    # Technical activities: TS first, then clearance.
    t_h = np.flatnonzero(ts)
    n_ts, n_cl = len(t_h), len(cl)
    act_type = np.array(["ts"] * n_ts + ["clearance"] * n_cl, dtype=object)
    act_hazard = np.concatenate([t_h, cl])
    act_start = np.concatenate([ts_start[t_h], cl_start[cl]])
    act_end = np.concatenate([ts_end[t_h], cl_end])
    act_org = np.concatenate([ts_org, cl_org])
    act_team = np.concatenate([ts_team, cl_team])
    act_polygon = np.concatenate([poly[t_h], cleared_poly[cl]])
    # Clearance goes deeper where anti-vehicle mines or ERW are expected (the minefield's main type).
    deep = np.isin(fields.main_category[np.maximum(mf[cl], 0)], ("av_mine", "other_erw")) & (mf[cl] >= 0)
    cl_depth = np.where(deep, 30.0, rng.choice(CLEARANCE_DEPTHS_CM, n_cl))
    depth = np.concatenate([rng.choice([10.0, 15.0, 20.0], n_ts), cl_depth])
    assets = np.array([ASSETS[m] for m in ops.team_method[act_team]], dtype=object)
    n_act = n_ts + n_cl
    act_uuid = uuids(rng, n_act)
    completed = np.concatenate([np.ones(n_ts, dtype=bool), done])
    act_of_ts = np.full(nh, -1)
    act_of_ts[t_h] = np.arange(n_ts)
    act_of_cl = np.full(nh, -1)
    act_of_cl[cl] = n_ts + np.arange(n_cl)

    # Clearance finds: mines inside the cleared polygon not found by TS, detected with p_detect.
    fin = n_ts + np.flatnonzero(done)
    ci, cm = index.inside(act_polygon[fin])
    taken = np.zeros(len(mines), dtype=bool)
    taken[ts_mine] = True
    keep = ~taken[cm]
    ci, cm = ci[keep], cm[keep]
    first = _first_per_group(cm, act_end[fin[ci]].astype(np.int64))
    ci, cm = ci[first], cm[first]
    p = np.where(mines.depth_cm[cm] <= depth[fin[ci]], params.p_detect, params.p_detect_deep)
    seen = rng.random(len(cm)) < p
    cl_mine, cl_act = cm[seen], fin[ci[seen]]
    dev_mine = np.concatenate([ts_mine, cl_mine])
    dev_act = np.concatenate([act_of_ts[ts_hazard], cl_act])
    order = np.lexsort((dev_mine, dev_act))
    dev_mine, dev_act = dev_mine[order], dev_act[order]
    n_dev = len(dev_mine)
    dev_x = mines.x[dev_mine] + rng.normal(0, params.gps_sigma_m, n_dev)
    dev_y = mines.y[dev_mine] + rng.normal(0, params.gps_sigma_m, n_dev)
    dev_date = _day_within(rng, act_start[dev_act], act_end[dev_act])
    act_devices = np.where(completed, np.bincount(dev_act, minlength=n_act).astype(float), np.nan)

    # Quality management: QC after the end (pass, awaiting, or fail then pass); some QA during clearance.
    qc_day = dates.plus(act_end, rng, 5, 60)
    has_qc = completed & (rng.random(n_act) >= params.p_awaiting_qc)
    fail_first = has_qc & (rng.random(n_act) < params.p_qc_fail_first)
    fail_day = dates.plus(act_end, rng, 3, 20)
    qc_day = np.where(fail_first, dates.plus(fail_day, rng, 10, 60), qc_day)
    has_qc &= qc_day <= as_of
    fail_first &= fail_day <= as_of
    qa = completed & (act_type == "clearance") & (rng.random(n_act) < 0.3)
    qa_day = _day_within(rng, act_start, np.where(completed, act_end, act_start))
    qm_activity = np.concatenate([np.flatnonzero(has_qc), np.flatnonzero(fail_first), np.flatnonzero(qa)])
    qm_kind = np.array(["qc"] * int(has_qc.sum() + fail_first.sum()) + ["qa"] * int(qa.sum()), dtype=object)
    qm_date = np.concatenate([qc_day[has_qc], fail_day[fail_first], qa_day[qa]])
    qa_result = np.where(rng.random(int(qa.sum())) < 0.9, "pass", "fail")
    qm_result = np.concatenate([np.full(int(has_qc.sum()), "pass"), np.full(int(fail_first.sum()), "fail"),
                                qa_result]).astype(object)

    # Released polygons.
    canc = np.flatnonzero(cancel)
    red = t_h[~shapely.is_missing(reduced_poly[t_h])]
    clr = cl[done]
    ra_hazard = np.concatenate([canc, red, clr])
    ra_activity = np.concatenate([s.nts_uuid[canc], act_uuid[act_of_ts[red]], act_uuid[act_of_cl[clr]]])
    ra_kind = np.array(["cancelled"] * len(canc) + ["reduced"] * len(red) + ["cleared"] * len(clr), dtype=object)
    ra_polygon = np.concatenate([poly[canc], reduced_poly[red], cleared_poly[clr]])
    ra_released = np.concatenate([~np.isnat(s.approved_on[canc]), has_qc[act_of_ts[red]], has_qc[act_of_cl[clr]]])

    # Hazard class and state.
    initial = np.where(rng.random(nh) < 0.7, "sha", "indication")
    hazard_class = np.where(direct | confirm, "cha", np.where(s.evidence_found, "sha", initial)).astype(object)
    busy = np.zeros(nh, dtype=bool)
    busy[cl[~done]] = True
    released_m2 = np.zeros(nh)
    np.add.at(released_m2, ra_hazard[ra_released], shapely.area(ra_polygon[ra_released]))
    closed = released_m2 >= shapely.area(poly) - 1.0
    return Release(hazard_class=hazard_class, hazard_busy=busy, hazard_closed=closed, act_uuid=act_uuid,
                   act_type=act_type, act_hazard=act_hazard, act_start=act_start, act_end=act_end, act_org=act_org,
                   act_team=act_team, act_polygon=act_polygon, act_depth_cm=depth, act_assets=assets,
                   act_devices=act_devices, act_qc_pass=np.where(has_qc, qc_day, NAT), qm_activity=qm_activity,
                   qm_kind=qm_kind, qm_date=qm_date, qm_result=qm_result, ra_hazard=ra_hazard,
                   ra_activity=ra_activity, ra_kind=ra_kind, ra_polygon=ra_polygon, ra_released=ra_released,
                   dev_uuid=uuids(rng, n_dev), dev_mine=dev_mine, dev_activity=dev_act, dev_x=dev_x, dev_y=dev_y,
                   dev_date=dev_date)
