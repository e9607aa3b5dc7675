"""The seeded scenario generator: a fictional post-conflict region with ground truth, at any scale.

See :mod:`safeground.scenario.params` for what it generates and ``docs/scenario.md``.
"""

from safeground.scenario.generate import Scenario, generate
from safeground.scenario.params import SCALES, ScenarioParams, params_for
from safeground.scenario.truth import context_path, truth_path

__all__ = ["SCALES", "Scenario", "ScenarioParams", "context_path", "generate", "params_for", "truth_path"]
