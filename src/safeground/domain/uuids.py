"""Record identifiers: time-ordered UUIDs (version 7, RFC 9562), made a batch at a time.

Time-ordered, so that records stored one batch after another append to the uuid index instead of
touching random pages of it: a million-row import stays fast and needs little cache.

>>> import uuid
>>> a, b = time_ordered(2)
>>> uuid.UUID(a).version, uuid.UUID(b).variant == uuid.RFC_4122, a < b, len(a)
(7, True, True, 36)
>>> time_ordered(3)[0] > b   # a later batch sorts after an earlier one
True
"""

from __future__ import annotations

import os
import time

import numpy as np

_DASHES_BEFORE = {0: 0, 8: 1, 12: 2, 16: 3, 20: 4}  # hex digit groups 8-4-4-4-12
_last_ms = 0


def time_ordered(n: int) -> list[str]:
    """``n`` new UUIDv7 strings in ascending order, all after those of any earlier call in this process.

    Layout (RFC 9562, method 1): 48-bit Unix milliseconds, a 32-bit counter within the batch (in rand_a and
    the top of rand_b), then 42 random bits. Each call takes a new millisecond, so batches never interleave.
    """
    global _last_ms
    ms = max(time.time_ns() // 1_000_000, _last_ms + 1)
    _last_ms = ms
    count = np.arange(n, dtype=np.uint64)
    rand = np.frombuffer(os.urandom(8 * n), dtype=np.uint64) >> np.uint64(22)
    hi = np.uint64((ms << 16) | (0x7 << 12)) | (count >> np.uint64(20))
    lo = np.uint64(0b10 << 62) | ((count & np.uint64(0xFFFFF)) << np.uint64(42)) | rand
    raw = np.empty((n, 2), dtype=">u8")
    raw[:, 0], raw[:, 1] = hi, lo
    digits = np.frombuffer(raw.tobytes().hex().encode("ascii"), dtype=np.uint8).reshape(n, 32)
    chars = np.full((n, 36), ord("-"), dtype=np.uint32)
    for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)):
        chars[:, a + _DASHES_BEFORE[a]:b + _DASHES_BEFORE[a]] = digits[:, a:b]
    out: list[str] = chars.view("<U36").ravel().tolist()
    return out
