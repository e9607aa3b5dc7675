"""Independent, named random streams derived from one seed.

Each part of the scenario draws from its own stream, so that changing how one part is generated
leaves the others identical. Only :func:`numpy.random.default_rng` is used.

>>> float(stream(1, "mines").random()) == float(stream(1, "mines").random())
True
>>> float(stream(1, "mines").random()) == float(stream(1, "hazards").random())
False
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """The random stream ``name`` of scenario ``seed``."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8"))])
