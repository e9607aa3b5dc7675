"""Register events that fit no other record type: seizures, stockpiles, production sites."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safeground.scenario import dates
from safeground.scenario.geography import Geography
from safeground.scenario.identifiers import uuids
from safeground.scenario.params import ScenarioParams
from safeground.scenario.shapes import near_lines

EVENT_TYPES = (("Seizure", 0.5, "Explosive material seized at a checkpoint"),
               ("Stockpile", 0.2, "Cache of mines and explosives found"),
               ("Mine production site", 0.15, "Workshop where improvised mines were made"),
               ("Unexploded ordnance found", 0.15, "Unexploded item reported by residents"))


@dataclass
class Events:
    """Register events (projected CRS)."""

    uuid: np.ndarray
    x: np.ndarray
    y: np.ndarray
    event_type: np.ndarray
    description: np.ndarray
    date: np.ndarray


def register_events(rng: np.random.Generator, params: ScenarioParams, geo: Geography) -> Events:
    """``events`` events within a few km of the lines of contact, 2000-2025."""
    n = params.events
    p = np.array([w for _, w, _ in EVENT_TYPES])
    k = rng.choice(len(EVENT_TYPES), n, p=p / p.sum())
    x, y = near_lines(rng, geo.fronts, n, 5000.0, geo.region)
    return Events(uuid=uuids(rng, n), x=x, y=y, event_type=np.array([t for t, _, _ in EVENT_TYPES], dtype=object)[k],
                  description=np.array([d for _, _, d in EVENT_TYPES], dtype=object)[k],
                  date=dates.between(rng, dates.day("2000-01-01"), dates.day(params.as_of), n))
