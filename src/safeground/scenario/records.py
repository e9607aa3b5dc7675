"""The simulated world as SafeGround records, one :class:`Rows` per insert step, in link order."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import shapely

from safeground.geo.crs import WGS84, transformer
from safeground.scenario import dates, names
from safeground.scenario.identifiers import source_ids, uuids
from safeground.scenario.minefield_records import reference_points
from safeground.scenario.rows import SOURCE, Rows, choose, group_rank, optional, review_states
from safeground.scenario.seeds import stream
from safeground.scenario.shapes import segments
from safeground.scenario.world import World

#: Reported contamination type for a minefield's main device category.
CONTAMINATION = {"ap_mine": "ap_mines", "improvised_mine": "improvised", "av_mine": "av_mines",
                 "unspecified_mine": "unknown", "cluster_submunition": "cluster_munitions", "other_erw": "erw"}
MODELS = {"ap_mine": ("PMN-2", "M14", "Type 72", "VS-50", "PMA-3"),
          "improvised_mine": ("Improvised, pressure plate", "Improvised, syringe fuze", "Improvised, PVC tube"),
          "av_mine": ("TM-62M", "M15", "TC-6"), "unspecified_mine": ("Unidentified",),
          "cluster_submunition": ("BLU-97", "M77"), "other_erw": ("60 mm mortar bomb", "40 mm grenade", "Hand grenade")}
BLOCKAGES = (("farming", 0.5), ("housing", 0.15), ("water", 0.15), ("infrastructure", 0.1), ("services", 0.1))
#: Terrain classes of hazards (vocabulary ``terrain_class``), away from roads and within 200 m of one.
TERRAIN = (("open", 0.35), ("vegetated", 0.3), ("forest", 0.2), ("rocky", 0.12), ("urban", 0.03))
TERRAIN_NEAR_ROAD = (("open", 0.5), ("vegetated", 0.2), ("forest", 0.08), ("rocky", 0.07), ("urban", 0.15))

#: Insert order: every link points to a layer inserted earlier.
ORDER = ("organisation", "admin_area", "team", "hazard_area", "activity:nts", "evidence", "minefield_record",
         "activity:technical", "device", "qm_inspection", "released_area", "priority_target", "accident",
         "casualty", "assistance_referral", "eore_session", "event")


def _obj(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=object)


def _info(rng: np.random.Generator, event: np.ndarray, as_of: np.datetime64, lo: int = 0, hi: int = 30) -> np.ndarray:
    """Date the information became known: the event date plus a lag, never after ``as_of``."""
    return np.minimum(dates.plus(event, rng, lo, hi), np.maximum(event, as_of))


def _lonlat(w: World, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """WGS84 points from projected coordinates (cheaper than reprojecting point objects)."""
    lon, lat = transformer(w.params.crs, WGS84).transform(x, y)
    return shapely.points(np.asarray(lon), np.asarray(lat))


def _states(rng: np.random.Generator, w: World, n: int) -> np.ndarray:
    return review_states(rng, n, w.params.p_submitted, w.params.p_published)


def organisations(rng: np.random.Generator, w: World) -> list[Rows]:
    o = w.ops
    n = len(o.uuid)
    orgs = Rows("organisation", {
        "uuid": o.uuid, "name": o.name, "acronym": o.acronym, "kind": o.kind, "accredited_from": o.accredited_from,
        "accredited_until": o.accredited_until,
        "info_date": np.where(np.isnat(o.accredited_from), dates.day("2010-01-01"), o.accredited_from)},
        review_state=np.full(n, "published", dtype=object))
    t = len(o.team_uuid)
    avail = o.accredited_from[o.team_org]
    teams = Rows("team", {
        "uuid": o.team_uuid, "name": o.team_name, "organisation": o.uuid[o.team_org], "method": o.team_method,
        "capacity_m2_week": o.team_capacity, "available_from": avail, "info_date": avail},
        geometry=o.team_base, review_state=np.full(t, "approved", dtype=object))
    return [orgs, teams]


def admin_areas(rng: np.random.Generator, w: World) -> Rows:
    g = w.geo
    k, m = len(g.provinces), len(g.municipalities)
    return Rows("admin_area", {
        "name": np.concatenate([g.province_names, g.municipality_names]),
        "level": np.array([1] * k + [2] * m),
        "code": np.concatenate([g.province_codes, g.municipality_codes]),
        "parent_code": np.concatenate([np.full(k, None, dtype=object), g.province_codes[g.municipality_province]]),
        "info_date": np.full(k + m, dates.day("2015-01-01"))},
        geometry=np.concatenate([g.provinces, g.municipalities]),
        review_state=np.full(k + m, "published", dtype=object))


def hazard_areas(rng: np.random.Generator, w: World, admin: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Rows:
    p, hz, sv, rl = w.params, w.hazards, w.survey, w.release
    n = len(hz)
    as_of = dates.day(p.as_of)
    mf = hz.minefield
    true = mf >= 0
    admin1, admin2, code2 = admin
    name = admin2 + " " + (1 + group_rank(code2)).astype(str).astype(object)
    cha = rl.hazard_class == "cha"
    marking = np.where(cha, choose(rng, (("permanent", 0.4), ("fenced", 0.1), ("temporary", 0.3),
                                        ("unmarked", 0.2)), n),
                       choose(rng, (("unmarked", 0.6), ("temporary", 0.2), ("unknown", 0.2)), n))
    main = w.fields.main_category[np.maximum(mf, 0)]
    reported = np.array([CONTAMINATION[c] for c in main], dtype=object)
    reported = np.where(rng.random(n) < 0.8, reported, choose(rng, (("unknown", 0.6), ("mixed_mines", 0.4)), n))
    contamination = np.where(true, reported, choose(rng, (("unknown", 0.6), ("ap_mines", 0.2), ("improvised", 0.2)),
                                                         n))
    a, b = segments(w.geo.roads)
    road_tree = shapely.STRtree(shapely.linestrings(np.stack([a, b], axis=1)))
    near_road = np.zeros(n, dtype=bool)
    near_road[road_tree.query(hz.polygon, predicate="dwithin", distance=200.0)[0]] = True
    first = choose(rng, BLOCKAGES, n)
    second = np.where(rng.random(n) < 0.3, choose(rng, BLOCKAGES, n), first)
    blockages = np.array([" ".join(dict.fromkeys(([a] if a else []) + ([b] if b else []) + (["roads"] if r else [])))
                          for a, b, r in zip(first, second, near_road, strict=True)], dtype=object)
    blocked = np.zeros(n, dtype=bool)
    for i, kind in enumerate(w.targets.kind):
        if kind == "settlement":
            blocked[w.targets.blocking[i]] = True
    returnees = np.where(blocked, rng.poisson(10, n), np.nan)
    area = shapely.area(hz.polygon)
    estimate = np.maximum(np.round(area * np.exp(rng.normal(0, 0.3, n)), -2), 100.0)
    org = np.where(rng.random(n) < 0.5, 0, rng.integers(1, 1 + p.ngos, n))
    lo = np.where(true, w.fields.laid_date[np.maximum(mf, 0)] + np.timedelta64(60, "D"), dates.day("2000-01-01"))
    lo = np.maximum(lo, dates.day("2000-01-01"))
    hi = np.where(sv.surveyed, sv.nts_start, as_of - np.timedelta64(180, "D"))
    event = dates.between(rng, lo, np.maximum(hi, lo), n)
    precision = dates.precisions(rng, n)
    status = np.where(rl.hazard_busy, "worked_on", "open").astype(object)
    # Terrain class from its own stream (the other columns stay as they were): open or urban ground is more
    # common near roads, bush and forest away from them.
    ground = stream(w.seed, "terrain")
    terrain = np.where(near_road, choose(ground, TERRAIN_NEAR_ROAD, n), choose(ground, TERRAIN, n))
    return Rows("hazard_area", {
        "uuid": w.hazard_uuid, "name": name, "hazard_class": rl.hazard_class, "status": status, "marking": marking,
        "contamination_type": contamination, "blockages": blockages, "terrain": terrain,
        "expected_returnees": returnees,
        "estimated_area_m2": estimate, "organisation": w.ops.uuid[org],
        "reported_date": dates.coarsen(event, precision), "date_precision": precision,
        "admin1": admin1, "admin2": admin2, "admin2_code": code2, "info_date": _info(rng, event, as_of, 0, 60)},
        geometry=hz.polygon, review_state=_states(rng, w, n))


def nts_activities(rng: np.random.Generator, w: World) -> Rows:
    sv = w.survey
    as_of = dates.day(w.params.as_of)
    idx = np.flatnonzero(sv.surveyed)
    n = len(idx)
    approved = sv.approved_on[idx]
    state = np.where(np.isnat(approved), "submitted", np.where(rng.random(n) < 0.3, "published", "approved"))
    return Rows("activity", {
        "uuid": sv.nts_uuid[idx], "activity_type": np.full(n, "nts", dtype=object),
        "hazard": w.hazard_uuid[idx], "organisation": w.ops.uuid[sv.org[idx]], "team": w.ops.team_uuid[sv.team[idx]],
        "start_date": sv.nts_start[idx], "end_date": sv.nts_end[idx], "evidence_found": sv.evidence_found[idx],
        "report_approved_on": approved, "info_date": _info(rng, sv.nts_end[idx], as_of, 0, 20)},
        geometry=w.hazards.polygon[idx], review_state=state.astype(object))


def evidence(rng: np.random.Generator, w: World) -> Rows:
    sv = w.survey
    n = len(sv.ev_uuid)
    return Rows("evidence", {
        "uuid": sv.ev_uuid, "hazard": w.hazard_uuid[sv.ev_hazard],
        "kind": np.where(sv.ev_direct, "direct", "indirect").astype(object), "evidence_source": sv.ev_source,
        "contamination_type": sv.ev_contamination, "description": sv.ev_description,
        "activity": sv.nts_uuid[sv.ev_hazard], "observed_date": sv.ev_date,
        "date_precision": np.full(n, "day", dtype=object),
        "info_date": _info(rng, sv.ev_date, dates.day(w.params.as_of), 0, 10)},
        geometry=_lonlat(w, sv.ev_x, sv.ev_y), wgs84=True,
        review_state=_states(rng, w, n))


def minefield_records(rng: np.random.Generator, w: World, lonlat: tuple[np.ndarray, np.ndarray]) -> Rows:
    r = w.records
    n = len(r.uuid)
    hz = w.hazard_of_minefield()[r.minefield]
    handed = dates.between(rng, dates.day("2016-06-01"), dates.day(w.params.as_of), n)
    return Rows("minefield_record", {
        "uuid": r.uuid, "name": r.name, "laid_by": r.laid_by, "laid_date": r.laid_date,
        "date_precision": r.date_precision, "reference_lon": np.round(lonlat[0], 6),
        "reference_lat": np.round(lonlat[1], 6), "mine_types": r.mine_types, "mine_count": r.mine_count,
        "rows": r.rows, "pattern": r.pattern, "reliability": r.reliability,
        "hazard": optional(hz >= 0, w.hazard_uuid[np.maximum(hz, 0)]), "info_date": handed},
        geometry=r.polygon, review_state=_states(rng, w, n))


def technical_activities(rng: np.random.Generator, w: World) -> Rows:
    rl = w.release
    as_of = dates.day(w.params.as_of)
    n = len(rl.act_uuid)
    ongoing = np.isnat(rl.act_end)
    state = np.where(ongoing, "submitted", _states(rng, w, n)).astype(object)
    after = np.where(np.isnat(rl.act_qc_pass), rl.act_end, rl.act_qc_pass)
    approved_on = dates.plus(after, rng, 3, 45)
    approved_on = np.where((state != "submitted") & (approved_on <= as_of), approved_on, dates.NAT)
    return Rows("activity", {
        "uuid": rl.act_uuid, "activity_type": rl.act_type, "hazard": w.hazard_uuid[rl.act_hazard],
        "organisation": w.ops.uuid[rl.act_org], "team": w.ops.team_uuid[rl.act_team], "start_date": rl.act_start,
        "end_date": rl.act_end, "depth_cm": rl.act_depth_cm, "assets": rl.act_assets,
        "devices_found": rl.act_devices, "report_approved_on": approved_on,
        "info_date": _info(rng, np.where(ongoing, rl.act_start, rl.act_end), as_of, 0, 20)},
        geometry=rl.act_polygon, review_state=state)


def devices(rng: np.random.Generator, w: World, admin: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Rows:
    rl, mines = w.release, w.mines
    n = len(rl.dev_uuid)
    cat_idx = mines.category[rl.dev_mine]
    category = mines.category_codes()[rl.dev_mine] if n else np.zeros(0, dtype=object)
    category = np.where(rng.random(n) < 0.03, "unspecified_mine", category).astype(object)
    model = np.empty(n, dtype=object)
    for c, options in MODELS.items():
        sel = np.flatnonzero(category == c)
        model[sel] = np.array(options, dtype=object)[rng.integers(0, len(options), len(sel))]
    model[rng.random(n) < 0.2] = None
    depth = np.round(np.maximum(mines.depth_cm[rl.dev_mine] + rng.normal(0, 1.0, n), 0.0), 0)
    year = rng.integers(1985, 2010, n).astype(str).astype(object)
    lot = rng.integers(1, 999, n).astype(str).astype(object)
    markings = optional((cat_idx == 0) | (cat_idx == 2), "lot " + lot + ", " + year)
    markings[rng.random(n) < 0.6] = None
    act_hz = rl.act_hazard[rl.dev_activity]
    return Rows("device", {
        "uuid": rl.dev_uuid, "category": category, "model": model, "quantity": np.ones(n, dtype=np.int64),
        "condition": choose(rng, (("intact", 0.6), ("armed", 0.2), ("damaged", 0.15), ("unknown", 0.05)), n),
        "depth_cm": depth, "markings": markings,
        "disposal": choose(rng, (("destroyed_in_situ", 0.7), ("removed_and_destroyed", 0.25),
                                ("rendered_safe", 0.05)), n),
        "activity": rl.act_uuid[rl.dev_activity], "hazard": w.hazard_uuid[act_hz], "found_date": rl.dev_date,
        "date_precision": np.full(n, "day", dtype=object), "admin1": admin[0][act_hz], "admin2": admin[1][act_hz],
        "admin2_code": admin[2][act_hz],
        "info_date": _info(rng, rl.act_end[rl.dev_activity], dates.day(w.params.as_of), 0, 20)},
        geometry=_lonlat(w, rl.dev_x, rl.dev_y), wgs84=True,
        review_state=_states(rng, w, n))


def inspections(rng: np.random.Generator, w: World) -> Rows:
    rl = w.release
    n = len(rl.qm_activity)
    sex = np.where(rng.random(n) < 0.5, "female", "male")
    inspector = names.given_names(rng, sex) + " " + names.family_names(rng, n)
    findings = np.where(rl.qm_result == "pass", "No deficiencies found",
                        "Missed strip along the boundary; re-clearance ordered").astype(object)
    return Rows("qm_inspection", {
        "kind": rl.qm_kind, "activity": rl.act_uuid[rl.qm_activity], "inspection_date": rl.qm_date,
        "result": rl.qm_result, "inspector": inspector, "findings": findings,
        "info_date": _info(rng, rl.qm_date, dates.day(w.params.as_of), 0, 7)},
        geometry=shapely.point_on_surface(rl.act_polygon[rl.qm_activity]), review_state=_states(rng, w, n))


def released_areas(rng: np.random.Generator, w: World) -> Rows:
    rl = w.release
    n = len(rl.ra_hazard)
    end_by_uuid = dict(zip(rl.act_uuid.tolist(), rl.act_end.tolist(), strict=True))
    nts_end = dict(zip(w.survey.nts_uuid[w.survey.surveyed].tolist(), w.survey.nts_end[w.survey.surveyed].tolist(),
                       strict=True))
    end = np.array([end_by_uuid.get(a) or nts_end.get(a) for a in rl.ra_activity.tolist()], dtype="datetime64[D]")
    return Rows("released_area", {
        "activity": rl.ra_activity, "hazard": w.hazard_uuid[rl.ra_hazard], "kind": rl.ra_kind,
        "info_date": _info(rng, end, dates.day(w.params.as_of), 0, 20)},
        geometry=rl.ra_polygon, review_state=_states(rng, w, n))


def priority_targets(rng: np.random.Generator, w: World, admin: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Rows:
    t = w.targets
    n = len(t.uuid)
    blocking = np.array([" ".join(w.hazard_uuid[b].tolist()) or None for b in t.blocking], dtype=object)
    return Rows("priority_target", {
        "uuid": t.uuid, "name": t.name, "kind": t.kind, "displaced_households": t.displaced,
        "population": t.population, "deadline": t.deadline, "value": t.value, "blocking_hazards": blocking,
        "admin1": admin[0], "admin2": admin[1], "admin2_code": admin[2],
        "info_date": dates.between(rng, dates.day("2023-01-01"), dates.day(w.params.as_of), n)},
        geometry=t.geometry, review_state=_states(rng, w, n))


def accidents(rng: np.random.Generator, w: World, admin: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[Rows]:
    a = w.accidents
    as_of = dates.day(w.params.as_of)
    n = len(a.ac_uuid)
    precision = dates.precisions(rng, n, p_month=0.1, p_year=0.05)
    hz = np.where(a.ac_hazard >= 0, a.ac_hazard, w.accident_hazard)
    label = np.where(a.ac_type == "demining", "Demining accident", "Mine/ERW accident")
    what = np.array([str(x).replace("_", " ") for x in a.ac_activity_at_time], dtype=object)
    info = _info(rng, a.ac_date, as_of, 0, 30)
    acc = Rows("accident", {
        "uuid": a.ac_uuid, "accident_type": a.ac_type, "accident_date": dates.coarsen(a.ac_date, precision),
        "date_precision": precision, "device_category": a.ac_category, "activity_at_time": a.ac_activity_at_time,
        "hazard": optional(hz >= 0, w.hazard_uuid[np.maximum(hz, 0)]), "activity": a.ac_activity,
        "description": (label + " while " + what).astype(object), "area_type": a.ac_area_type,
        "admin1": admin[0], "admin2": admin[1], "admin2_code": admin[2], "info_date": info},
        geometry=_lonlat(w, a.ac_x, a.ac_y), wgs84=True,
        review_state=_states(rng, w, n))
    k = len(a.cs_uuid)
    cas = Rows("casualty", {
        "uuid": a.cs_uuid, "accident": a.ac_uuid[a.cs_accident], "outcome": a.cs_outcome, "severity": a.cs_severity,
        "status": a.cs_status, "sex": a.cs_sex, "age_group": a.cs_age_group, "displacement": a.cs_displacement,
        "given_name": a.cs_given, "family_name": a.cs_family, "age": a.cs_age,
        "info_date": info[a.cs_accident]}, review_state=_states(rng, w, k))
    r = len(a.vr_casualty)
    referrer = np.where(rng.random(r) < 0.4, 0, rng.integers(1, 1 + w.params.ngos, r))
    ref = Rows("assistance_referral", {
        "casualty": a.cs_uuid[a.vr_casualty], "service": a.vr_service, "referred_to": a.vr_referred_to,
        "referred_by": w.ops.uuid[referrer], "referral_date": a.vr_date, "outcome": a.vr_outcome,
        "outcome_date": a.vr_outcome_date,
        "info_date": np.where(np.isnat(a.vr_outcome_date), a.vr_date, a.vr_outcome_date)},
        review_state=_states(rng, w, r))
    return [acc, cas, ref]


def eore_sessions(rng: np.random.Generator, w: World, admin: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Rows:
    s = w.sessions
    n = len(s.uuid)
    return Rows("eore_session", {
        "uuid": s.uuid, "session_date": s.date, "method": s.method, "organisation": w.ops.uuid[s.org],
        "women": s.women, "girls": s.girls, "boys": s.boys, "men": s.men,
        "admin1": admin[0], "admin2": admin[1], "admin2_code": admin[2],
        "info_date": _info(rng, s.date, dates.day(w.params.as_of), 0, 14)},
        geometry=s.point, review_state=_states(rng, w, n))


def events(rng: np.random.Generator, w: World, admin: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Rows:
    e = w.events
    n = len(e.uuid)
    precision = dates.precisions(rng, n, p_month=0.2, p_year=0.2)
    u = rng.random(n)
    return Rows("event", {
        "uuid": e.uuid, "event_type": e.event_type, "event_date": dates.coarsen(e.date, precision),
        "date_precision": precision, "description": e.description,
        "area_type": np.where(u < 0.85, "rural", np.where(u < 0.95, "urban", "unknown")).astype(object),
        "admin1": admin[0], "admin2": admin[1], "admin2_code": admin[2],
        "info_date": _info(rng, e.date, dates.day(w.params.as_of), 0, 30)},
        geometry=_lonlat(w, e.x, e.y), wgs84=True,
        review_state=_states(rng, w, n))


def iter_rows(rng: np.random.Generator, w: World) -> Iterator[Rows]:
    """Every record of the scenario, one insert step at a time in :data:`ORDER`, geometry still projected.

    Lazy, so that a caller can store each step and free it before the next one is built.
    """
    geo = w.geo
    prefix = f"{w.params.scale}-{w.seed}-"
    counters: dict[str, int] = {}

    def finish(rows: Rows) -> Rows:
        n = len(rows)
        start = counters.get(rows.layer, 0)
        counters[rows.layer] = start + n
        rows.columns["source"] = np.full(n, SOURCE, dtype=object)
        rows.columns["source_id"] = source_ids(prefix + rows.layer, n, start)
        if "uuid" not in rows.columns:  # nothing links to these; still deterministic
            rows.columns["uuid"] = uuids(rng, n)
        return rows

    orgs, teams = organisations(rng, w)
    yield finish(orgs)
    yield finish(admin_areas(rng, w))
    yield finish(teams)
    hz_admin = geo.admin_of(shapely.point_on_surface(w.hazards.polygon))
    yield finish(hazard_areas(rng, w, hz_admin))
    yield finish(nts_activities(rng, w))
    yield finish(evidence(rng, w))
    ref_x, ref_y = reference_points(w.records.polygon)
    yield finish(minefield_records(rng, w, transformer(w.params.crs, WGS84).transform(ref_x, ref_y)))
    yield finish(technical_activities(rng, w))
    yield finish(devices(rng, w, hz_admin))
    yield finish(inspections(rng, w))
    yield finish(released_areas(rng, w))
    yield finish(priority_targets(rng, w, geo.admin_of(shapely.point_on_surface(w.targets.geometry))))
    for rows in accidents(rng, w, geo.admin_of(shapely.points(w.accidents.ac_x, w.accidents.ac_y))):
        yield finish(rows)
    yield finish(eore_sessions(rng, w, geo.admin_of(w.sessions.point)))
    yield finish(events(rng, w, geo.admin_of(shapely.points(w.events.x, w.events.y))))
