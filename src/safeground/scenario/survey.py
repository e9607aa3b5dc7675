"""Non-technical survey (NTS) and the evidence model: evidence is a noisy, incomplete function of the truth.

For each surveyed hazard the team examines K = 1 + Poisson(``candidates_mean``) spots, uniform in a
disc of the hazard's area around its centre. A spot at distance d from the nearest mine of a
non-silent minefield yields one evidence item with probability
``p_fp + (p_max - p_fp) * exp(-d / evidence_length_m)``; it is direct (at the mine, N(0,
``direct_sigma_m``)) with probability ``p_direct`` when d < ``direct_max_m``, else indirect (at the
spot, N(0, ``indirect_sigma_m``)). Silent minefields and minefields without a hazard yield none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from safeground.scenario import dates
from safeground.scenario.hazards import HazardShapes
from safeground.scenario.identifiers import uuids
from safeground.scenario.mine_index import MineIndex
from safeground.scenario.mines import CATEGORIES
from safeground.scenario.operators import Operators
from safeground.scenario.params import ScenarioParams
from safeground.scenario.shapes import in_disc

#: Evidence contamination type for the category of the mine that caused it.
CONTAMINATION = {"ap_mine": "ap_mines", "improvised_mine": "improvised", "av_mine": "av_mines",
                 "unspecified_mine": "unknown", "cluster_submunition": "cluster_munitions", "other_erw": "erw"}
DIRECT_TEXT = ("Mine visible on the surface", "Mine fragments and a fuze found", "Part of a device exposed by rain",
               "Tripwire seen across a path")
INDIRECT_TEXT = ("Farmer reports cattle killed by an explosion", "Old warning sign made by the community",
                 "Former combatant says the area was mined", "Military records mention a defensive position",
                 "Residents avoid the area since the conflict", "Report of an accident years ago")


@dataclass
class Survey:
    """Per hazard: NTS done, its dates and whether evidence was found; per evidence item (``ev_*``): where and what."""

    surveyed: np.ndarray
    nts_uuid: np.ndarray
    nts_start: np.ndarray
    nts_end: np.ndarray
    approved_on: np.ndarray
    org: np.ndarray
    team: np.ndarray
    evidence_found: np.ndarray
    direct_found: np.ndarray
    ev_uuid: np.ndarray
    ev_hazard: np.ndarray
    ev_x: np.ndarray
    ev_y: np.ndarray
    ev_direct: np.ndarray
    ev_source: np.ndarray
    ev_contamination: np.ndarray
    ev_description: np.ndarray
    ev_date: np.ndarray


def survey_hazards(rng: np.random.Generator, params: ScenarioParams, hazards: HazardShapes, index: MineIndex,
                   ops: Operators) -> Survey:
    """Run NTS on ``survey_fraction`` of the hazards and draw the evidence each one finds."""
    nh = len(hazards)
    surveyed = rng.random(nh) < params.survey_fraction
    idx = np.flatnonzero(surveyed)
    start = np.full(nh, dates.NAT, dtype="datetime64[D]")
    end = start.copy()
    approved = start.copy()
    start[idx] = dates.between(rng, dates.day("2016-01-01"), dates.day("2025-06-30"), len(idx))
    end[idx] = dates.plus(start[idx], rng, 1, 10)
    as_of = dates.day(params.as_of)
    ok = rng.random(len(idx)) < params.p_report_approved
    appr = dates.plus(end[idx], rng, 7, 90)
    approved[idx] = np.where(ok & (appr <= as_of), appr, dates.NAT)
    org = np.full(nh, -1)
    team = np.full(nh, -1)
    org[idx], team[idx] = ops.assign(rng, "nts", start[idx])

    # Candidate spots.
    k = 1 + rng.poisson(params.candidates_mean, len(idx))
    owner = np.repeat(idx, k)
    centre = shapely.point_on_surface(hazards.polygon[idx])
    radius = np.sqrt(shapely.area(hazards.polygon[idx]) / np.pi)
    ox, oy = in_disc(rng, np.repeat(radius, k))
    sx = np.repeat(shapely.get_x(centre), k) + ox
    sy = np.repeat(shapely.get_y(centre), k) + oy
    mines = index.mines
    nearest, d = index.nearest(sx, sy, ~index.fields.silent)
    p = params.p_fp + (params.p_max - params.p_fp) * np.exp(-d / params.evidence_length_m)
    hit_mask = rng.random(len(owner)) < p
    direct = hit_mask & (d < params.direct_max_m) & (rng.random(len(owner)) < params.p_direct)
    e = np.flatnonzero(hit_mask)
    n_ev = len(e)
    dir_e = direct[e]
    near = nearest[e]
    ex = np.where(dir_e, mines.x[np.maximum(near, 0)] + rng.normal(0, params.direct_sigma_m, n_ev),
                  sx[e] + rng.normal(0, params.indirect_sigma_m, n_ev))
    ey = np.where(dir_e, mines.y[np.maximum(near, 0)] + rng.normal(0, params.direct_sigma_m, n_ev),
                  sy[e] + rng.normal(0, params.indirect_sigma_m, n_ev))
    u = rng.random(n_ev)
    source = np.where(dir_e, "observed", np.where(u < 0.6, "verbal", np.where(u < 0.85, "records", "observed")))
    cat = np.where(near >= 0, CATEGORIES[mines.category[np.maximum(near, 0)]], "unspecified_mine")
    contamination = np.array([CONTAMINATION[c] for c in cat], dtype=object)
    # Far from any mine, or indirect and vague: the type is often unknown.
    vague = ~dir_e & ((d[e] > 500.0) | (rng.random(n_ev) < 0.4))
    contamination[vague] = "unknown"
    text = np.where(dir_e, np.array(DIRECT_TEXT, dtype=object)[rng.integers(0, len(DIRECT_TEXT), n_ev)],
                    np.array(INDIRECT_TEXT, dtype=object)[rng.integers(0, len(INDIRECT_TEXT), n_ev)])
    hz = owner[e]
    ev_date = start[hz] + np.floor(rng.random(n_ev) * ((end[hz] - start[hz]).astype(np.int64) + 1)).astype(
        np.int64).astype("timedelta64[D]")
    found = np.zeros(nh, dtype=bool)
    found[hz] = True
    direct_found = np.zeros(nh, dtype=bool)
    direct_found[hz[dir_e]] = True
    nts_uuid = np.full(nh, None, dtype=object)
    nts_uuid[idx] = uuids(rng, len(idx))
    return Survey(surveyed=surveyed, nts_uuid=nts_uuid, nts_start=start, nts_end=end, approved_on=approved, org=org,
                  team=team, evidence_found=found, direct_found=direct_found, ev_uuid=uuids(rng, n_ev), ev_hazard=hz,
                  ev_x=ex, ev_y=ey, ev_direct=dir_e, ev_source=source.astype(object), ev_contamination=contamination,
                  ev_description=text, ev_date=ev_date)
