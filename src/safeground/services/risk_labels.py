"""Labels of risk cells: found, released with nothing found, or unknown, and how unknown cells are handled.

- **Positive** (1): devices found, or a confirmed hazard.
- **Negative** (0): cleared, reduced or cancelled with nothing found.
- **Unknown** (the ``--unknown-value``, default -1, or an empty value): never a negative.

Positive-unlabelled handling: SafeGround uses **labelled-only training**. Unknown cells are left out of every fit,
every tuning fold, the calibration and every metric; they only receive predictions (and count as area in the
recall at an area budget). That needs real negatives; a table without any is refused (``risk.no_negatives``).

>>> labels, counts = parse_labels([1, 0, -1, None, "1"], -1, "y")
>>> labels.tolist(), counts
([1.0, 0.0, nan, nan, 1.0], {'positive': 2, 'negative': 1, 'unknown': 2})
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from safeground.domain.errors import ValidationError
from safeground.domain.risk import NEGATIVE, POSITIVE


def parse_labels(values: Sequence[Any], unknown_value: float, column: str) -> tuple[np.ndarray, dict[str, int]]:
    """Labels as 1, 0 or NaN (unknown); any other value is refused with the rows that hold it."""
    out = np.full(len(values), np.nan)
    bad: list[tuple[int, Any]] = []
    for i, v in enumerate(values):
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        try:
            x = float(v)
        except (TypeError, ValueError):
            bad.append((i + 1, v))
            continue
        if math.isnan(x) or x == unknown_value:
            continue
        if x in (POSITIVE, NEGATIVE):
            out[i] = x
        else:
            bad.append((i + 1, v))
    if bad:
        shown = ", ".join(f"row {r}: {v!r}" for r, v in bad[:5])
        raise ValidationError("risk.bad_label", f"{len(bad)} values of label column {column!r} are neither 1 "
                              f"(found), 0 (nothing found) nor the unknown value {unknown_value:g}: {shown}.",
                              hint="Recode the labels, or give the value that means unknown with --unknown-value.")
    counts = {"positive": int((out == POSITIVE).sum()), "negative": int((out == NEGATIVE).sum()),
              "unknown": int(np.isnan(out).sum())}
    return out, counts


def labelled(labels: np.ndarray) -> np.ndarray:
    """The mask of cells with a known label (the only ones any fit or metric sees)."""
    return ~np.isnan(labels)


def require_both_classes(counts: dict[str, int]) -> None:
    """Refuse a table that cannot be learned from without treating unknown cells as negatives."""
    if counts.get("positive", 0) == 0:
        raise ValidationError("risk.no_positives", "The label column has no positive cell (1: devices found).",
                              hint="Check --label and --unknown-value.")
    if counts.get("negative", 0) == 0:
        raise ValidationError("risk.no_negatives", "The label column has no negative cell (0: released with "
                              "nothing found); unknown cells are never used as negatives.",
                              hint="Add cells cleared, reduced or cancelled with nothing found, or check "
                                   "--unknown-value.")


def area_labels(ws: Any, polygons: np.ndarray, as_of: Any, since: Any = None) -> tuple[np.ndarray, dict[str, int]]:
    """Labels of cells over the study area (``polygons`` in WGS84) from what the database learnt after
    ``since`` (when given) and by ``as_of``:

    - **positive**: the cell holds a device found by the cut-off, or touches a confirmed hazard area (CHA)
      known by then;
    - **negative**: otherwise, the cell touches land released by the cut-off (cancelled, reduced or cleared)
      by an activity that found nothing;
    - **unknown**: every other cell (most of them), for the positive-unlabelled fit (``services/risk_pu.py``).

    Only official (approved, published), unretired records count, each by the date it became known
    (``info_date``, else its own date), as for the evidence features.
    """
    import shapely

    from safeground.services.risk_features import known_date

    official = {"review_state": ["approved", "published"]}
    tree = shapely.STRtree(polygons)
    out = np.full(len(polygons), np.nan)

    def touched(geoms: list[Any], predicate: str = "intersects") -> np.ndarray:
        if not geoms:
            return np.empty(0, dtype=np.int64)
        return np.unique(tree.query(np.array(geoms, dtype=object), predicate=predicate)[1])

    nothing_found = {r["uuid"] for r in ws.store.query("activity", where=official, geometry=False,
                                                       fields=["devices_found"])
                     if not r.get("devices_found")}
    released = [r["geometry"] for r in ws.store.query("released_area", where=official,
                                                      fields=["activity", "released_on", "release_status"])
                if r.get("release_status") == "released" and r.get("activity") in nothing_found
                and r.get("released_on") and _within(known_date(r["released_on"]), since, as_of)]
    out[touched(released)] = NEGATIVE
    devices = [r["geometry"] for r in ws.store.query("device", where=official, fields=["info_date", "found_date"])
               if r.get("geometry") is not None and _known_by(r, "found_date", since, as_of)]
    cha = [r["geometry"] for r in ws.store.query("hazard_area", where={**official, "hazard_class": "cha"},
                                                 fields=["info_date", "reported_date"])
           if _known_by(r, "reported_date", since, as_of)]
    out[touched(devices)] = POSITIVE
    out[touched(cha)] = POSITIVE
    counts = {"positive": int((out == POSITIVE).sum()), "negative": int((out == NEGATIVE).sum()),
              "unknown": int(np.isnan(out).sum())}
    return out, counts


def _known_by(record: dict[str, Any], own_date: str, since: Any, as_of: Any) -> bool:
    from safeground.services.risk_features import known_date

    when = known_date(record.get("info_date")) or known_date(record.get(own_date))
    return _within(when, since, as_of)


def _within(when: Any, since: Any, as_of: Any) -> bool:
    return when is not None and when <= as_of and (since is None or when > since)


def event_labels(ws: Any, polygons: np.ndarray, since: Any, until: Any) -> tuple[np.ndarray, int]:
    """1 for the cells (``polygons`` in WGS84) touched by any evidence record (accident, find, register event,
    hazard, survey evidence, minefield record) that became known after ``since`` and by ``until``; NaN
    (unlabelled, never negative) for every other cell. Also the number of such records."""
    import shapely

    from safeground.domain.risk import EVIDENCE_TYPES

    geoms = []
    for etype in EVIDENCE_TYPES:
        fields = ["info_date", *([etype.date_field] if etype.date_field else [])]
        for r in ws.store.query(etype.layer, where={"review_state": ["approved", "published"]}, fields=fields):
            if r.get("geometry") is not None and _known_by(r, etype.date_field or "info_date", since, until):
                geoms.append(r["geometry"])
    out = np.full(len(polygons), np.nan)
    if geoms:
        hit = shapely.STRtree(polygons).query(np.array(geoms, dtype=object), predicate="intersects")[1]
        out[np.unique(hit)] = POSITIVE
    return out, len(geoms)
