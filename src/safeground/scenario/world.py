"""The simulated world: every part of the scenario before it becomes records, in the projected CRS."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safeground.scenario.casualties import Accidents
from safeground.scenario.events import Events
from safeground.scenario.geography import Geography
from safeground.scenario.hazards import HazardShapes
from safeground.scenario.mine_index import MineIndex
from safeground.scenario.minefield_records import MinefieldRecords
from safeground.scenario.mines import Minefields, Mines
from safeground.scenario.operators import Operators
from safeground.scenario.outreach import Sessions
from safeground.scenario.params import ScenarioParams
from safeground.scenario.release import Release
from safeground.scenario.survey import Survey
from safeground.scenario.targets import Targets


@dataclass
class World:
    """Truth and history of the scenario; :mod:`safeground.scenario.records` turns it into records."""

    params: ScenarioParams
    seed: int
    geo: Geography
    fields: Minefields
    mines: Mines
    index: MineIndex
    hazards: HazardShapes
    hazard_uuid: np.ndarray
    ops: Operators
    survey: Survey
    release: Release
    records: MinefieldRecords
    targets: Targets
    accidents: Accidents
    accident_hazard: np.ndarray
    sessions: Sessions
    events: Events

    def hazard_of_minefield(self) -> np.ndarray:
        """Index of the hazard outlining each minefield, or -1."""
        out = np.full(len(self.fields), -1)
        true = np.flatnonzero(self.hazards.minefield >= 0)
        out[self.hazards.minefield[true]] = true
        return out
