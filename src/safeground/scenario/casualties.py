"""Accidents near true mines, their casualties, and victim-assistance referrals (all people invented)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safeground.scenario import dates, names
from safeground.scenario.identifiers import uuids
from safeground.scenario.mines import CATEGORIES, Minefields, Mines
from safeground.scenario.params import ScenarioParams
from safeground.scenario.release import Release
from safeground.scenario.rows import choose, optional

CIVILIAN_ACTIVITY = (("farming", 0.3), ("travelling", 0.2), ("collecting", 0.15), ("herding", 0.1),
                     ("playing", 0.05), ("tampering", 0.05), ("household", 0.05), ("other", 0.05),
                     ("unknown", 0.05))
SERVICES = ("emergency_medical", "rehabilitation", "psychological", "socio_economic", "education", "legal")
OUTCOMES = (("received", 0.6), ("pending", 0.15), ("declined", 0.05), ("unreachable", 0.1), ("unavailable", 0.1))


@dataclass
class Accidents:
    """Accidents (``ac_*``), casualties (``cs_*``, ``cs_accident`` indexes accidents) and referrals (``vr_*``)."""

    ac_uuid: np.ndarray
    ac_type: np.ndarray
    ac_x: np.ndarray
    ac_y: np.ndarray
    ac_date: np.ndarray
    ac_minefield: np.ndarray
    ac_category: np.ndarray
    ac_activity_at_time: np.ndarray
    ac_activity: np.ndarray
    ac_hazard: np.ndarray
    ac_area_type: np.ndarray
    cs_uuid: np.ndarray
    cs_accident: np.ndarray
    cs_status: np.ndarray
    cs_outcome: np.ndarray
    cs_severity: np.ndarray
    cs_sex: np.ndarray
    cs_age: np.ndarray
    cs_age_group: np.ndarray
    cs_displacement: np.ndarray
    cs_given: np.ndarray
    cs_family: np.ndarray
    vr_casualty: np.ndarray
    vr_service: np.ndarray
    vr_referred_to: np.ndarray
    vr_date: np.ndarray
    vr_outcome: np.ndarray
    vr_outcome_date: np.ndarray


def simulate_accidents(rng: np.random.Generator, params: ScenarioParams, fields: Minefields, mines: Mines,
                       release: Release, minefield_safe_from: np.ndarray) -> Accidents:
    """Mine/ERW accidents 2-15 m from true mines before their clearance, and demining accidents at finds."""
    as_of = dates.day(params.as_of)
    n_dem_want = round(params.accidents * params.p_demining_accident)
    clear_dev = np.flatnonzero(release.act_type[release.dev_activity] == "clearance")
    n_dem = min(n_dem_want, len(clear_dev))
    n_mine = params.accidents - n_dem
    # Mine/ERW accidents: another mine of the same minefield exploded, before the minefield was cleared.
    lo_all = np.maximum(fields.laid_date + np.timedelta64(30, "D"), dates.day("2000-01-01"))
    hi_all = np.minimum(minefield_safe_from - np.timedelta64(1, "D"), as_of)
    ok_mines = np.flatnonzero(hi_all[mines.minefield] > lo_all[mines.minefield])
    chosen = ok_mines[rng.integers(0, len(ok_mines), n_mine)] if len(ok_mines) else np.zeros(0, dtype=np.int64)
    n_mine = len(chosen)
    m_mf = mines.minefield[chosen]
    dist = rng.uniform(2.0, 15.0, n_mine)
    ang = rng.uniform(0, 2 * np.pi, n_mine)
    mx = mines.x[chosen] + dist * np.cos(ang)
    my = mines.y[chosen] + dist * np.sin(ang)
    m_date = dates.between(rng, lo_all[m_mf], hi_all[m_mf], n_mine)
    military = rng.random(n_mine) < 0.4
    m_activity = np.where(military, "military_operation", choose(rng, CIVILIAN_ACTIVITY, n_mine)).astype(object)
    # Demining accidents: at a find, on the day it was found.
    dev = clear_dev[rng.choice(len(clear_dev), n_dem, replace=False)] if n_dem else np.zeros(0, dtype=np.int64)
    d_act = release.dev_activity[dev]
    dx = release.dev_x[dev] + rng.normal(0, 2.0, n_dem)
    dy = release.dev_y[dev] + rng.normal(0, 2.0, n_dem)
    n = n_mine + n_dem
    ac_type = np.array(["mine_erw"] * n_mine + ["demining"] * n_dem, dtype=object)
    category = np.concatenate([CATEGORIES[mines.category[chosen]], CATEGORIES[mines.category[release.dev_mine[dev]]]])
    category = optional(rng.random(n) >= 0.15, category)
    ac_activity = np.full(n, None, dtype=object)
    ac_activity[n_mine:] = release.act_uuid[d_act]
    ac_hazard = np.concatenate([np.full(n_mine, -1), release.act_hazard[d_act]])
    u = rng.random(n)
    area_type = np.where(u < 0.9, "rural", np.where(u < 0.95, "urban", "unknown")).astype(object)
    group = np.concatenate([np.where(military, "military", "civilian"), np.full(n_dem, "deminer")])

    # Casualties: 1-3 per accident.
    u = rng.random(n)
    per = 1 + (u > 0.7) + (u > 0.9)
    owner = np.repeat(np.arange(n), per)
    k = len(owner)
    status = group[owner].astype(object)
    deminer = status == "deminer"
    outcome = np.where(rng.random(k) < np.where(deminer, 0.15, 0.3), "killed",
                       np.where(rng.random(k) < 0.93, "injured", "unknown")).astype(object)
    sev_u = rng.random(k)
    severity = optional(outcome != "killed", np.where(outcome == "unknown", "unknown",
                    np.where(sev_u < 0.6, "serious", np.where(sev_u < 0.95, "minor", "unknown"))))
    p_male = np.where(status == "military", 0.97, np.where(deminer, 0.75, 0.75))
    su = rng.random(k)
    sex = np.where(su < p_male, "male", np.where(su < 0.98, "female", "unknown")).astype(object)
    child = (status == "civilian") & (rng.random(k) < 0.18)
    age = np.where(child, rng.integers(5, 18, k),
                   np.where(status == "civilian", rng.integers(18, 76, k),
                            np.where(deminer, rng.integers(20, 56, k), rng.integers(18, 46, k)))).astype(float)
    missing = rng.random(k) < 0.15
    age[missing] = np.nan
    age_group = np.full(k, None, dtype=object)
    known_group = missing & (rng.random(k) < 0.5)
    age_group[known_group] = np.where(child[known_group], "child", "adult")
    age_group[missing & ~known_group] = "unknown"
    du = rng.random(k)
    displacement = np.where(status != "civilian", np.where(du < 0.8, "resident", "unknown"),
                            np.where(du < 0.6, "resident", np.where(du < 0.8, "displaced",
                                     np.where(du < 0.9, "returnee", "unknown")))).astype(object)
    given = names.given_names(rng, sex)
    family = names.family_names(rng, k)

    # Referrals: about 60 % of the injured, 1-2 services each.
    injured = np.flatnonzero((outcome == "injured") & (rng.random(k) < 0.6))
    n_serv = 1 + (rng.random(len(injured)) < 0.35)
    vr_cas = np.repeat(injured, n_serv)
    r = len(vr_cas)
    ac_date = np.concatenate([m_date, release.dev_date[dev]])
    vr_date = np.minimum(dates.plus(ac_date[owner[vr_cas]], rng, 1, 120), as_of)
    vr_outcome = choose(rng, OUTCOMES, r)
    out_date = dates.plus(vr_date, rng, 7, 180)
    vr_outcome_date = np.where((vr_outcome != "pending") & (out_date <= as_of), out_date, dates.NAT)
    vr_outcome = np.where((vr_outcome != "pending") & np.isnat(vr_outcome_date), "pending", vr_outcome).astype(object)
    provider = np.array([f"{w} {kind}" for w, kind in zip(
        names.place_names(rng, r), np.array(["Hospital", "Rehabilitation Centre", "Support Network"])[
            rng.integers(0, 3, r)], strict=True)], dtype=object)
    service = np.array(SERVICES, dtype=object)[rng.integers(0, len(SERVICES), r)]
    service[np.concatenate([[True], vr_cas[1:] != vr_cas[:-1]]) & (rng.random(r) < 0.5)] = "emergency_medical"
    return Accidents(ac_uuid=uuids(rng, n), ac_type=ac_type, ac_x=np.concatenate([mx, dx]),
                     ac_y=np.concatenate([my, dy]), ac_date=ac_date,
                     ac_minefield=np.concatenate([m_mf, mines.minefield[release.dev_mine[dev]]]),
                     ac_category=category, ac_activity_at_time=np.concatenate([m_activity, np.full(n_dem, "demining",
                                                                                                    dtype=object)]),
                     ac_activity=ac_activity, ac_hazard=ac_hazard, ac_area_type=area_type, cs_uuid=uuids(rng, k),
                     cs_accident=owner, cs_status=status, cs_outcome=outcome, cs_severity=severity, cs_sex=sex,
                     cs_age=age, cs_age_group=age_group, cs_displacement=displacement, cs_given=given,
                     cs_family=family, vr_casualty=vr_cas, vr_service=service, vr_referred_to=provider,
                     vr_date=vr_date, vr_outcome=vr_outcome, vr_outcome_date=vr_outcome_date)
