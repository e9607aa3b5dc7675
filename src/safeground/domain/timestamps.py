"""Timestamps as SafeGround stores them: UTC, ISO 8601, milliseconds, ``Z`` (GeoPackage DATETIME).

>>> len(now_iso()), now_iso().endswith("Z")
(24, True)
"""

from __future__ import annotations

import datetime as dt


def now_iso() -> str:
    """UTC now as YYYY-MM-DDTHH:MM:SS.SSSZ."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
