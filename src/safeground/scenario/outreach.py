"""Explosive ordnance risk education (EORE) sessions at settlements."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from safeground.scenario import dates
from safeground.scenario.identifiers import uuids
from safeground.scenario.params import ScenarioParams

METHODS = ("face_to_face", "school", "mass_media", "digital")


@dataclass
class Sessions:
    """EORE sessions (projected CRS); ``org`` indexes the operators."""

    uuid: np.ndarray
    point: np.ndarray
    date: np.ndarray
    method: np.ndarray
    org: np.ndarray
    women: np.ndarray
    girls: np.ndarray
    boys: np.ndarray
    men: np.ndarray


def hold_sessions(rng: np.random.Generator, params: ScenarioParams, settlements: np.ndarray, displaced: np.ndarray,
                  ngo_orgs: np.ndarray) -> Sessions:
    """``eore_sessions`` sessions, more often where displaced households wait; schools reach mostly children."""
    n = params.eore_sessions
    w = displaced + 1.0
    at = rng.choice(len(settlements), n, p=w / w.sum())
    xy = shapely.get_coordinates(settlements)[at] + rng.normal(0, 150.0, (n, 2))
    method = np.array(METHODS, dtype=object)[rng.choice(4, n, p=[0.6, 0.3, 0.05, 0.05])]
    school = method == "school"
    women = np.where(school, rng.poisson(1, n), rng.poisson(12, n))
    men = np.where(school, rng.poisson(1, n), rng.poisson(10, n))
    girls = np.where(school, rng.poisson(20, n), rng.poisson(7, n))
    boys = np.where(school, rng.poisson(20, n), rng.poisson(7, n))
    return Sessions(uuid=uuids(rng, n), point=shapely.points(xy),
                    date=dates.between(rng, dates.day("2016-01-01"), dates.day(params.as_of), n), method=method,
                    org=ngo_orgs[rng.integers(0, len(ngo_orgs), n)], women=women, girls=girls, boys=boys, men=men)
