"""Deterministic record identifiers: UUIDs drawn from a seeded stream, and stable source ids.

>>> import numpy as np, uuid
>>> u = uuids(np.random.default_rng(0), 2)
>>> uuid.UUID(str(u[0])).version, len(set(u))
(4, 2)
"""

from __future__ import annotations

import numpy as np

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HEX_SLOTS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random version-4 UUID strings (an object array of ``str``), in ascending order.

    Ascending, so that records inserted in generation order append to the uuid and link indexes.
    """
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    chars[:, _HEX_SLOTS] = _HEX[nibbles]
    return np.sort(chars.view("S36").ravel()).astype("U36").astype(object)


def source_ids(prefix: str, n: int, start: int = 0) -> np.ndarray:
    """Stable ids ``<prefix>-<start + 1>``... (7 digits) for the ``source_id`` column.

    >>> list(source_ids("small-1-HA", 2))
    ['small-1-HA-0000001', 'small-1-HA-0000002']
    """
    return np.array([f"{prefix}-{i:07d}" for i in range(start + 1, start + n + 1)], dtype=object)
