"""Casualties for the public: people per administrative area and month, small counts suppressed.

The counts are those of :func:`~safeground.services.stats_casualties.casualty_stats` (official records only,
each person once), broken down by the accident's admin area (``adm1``, or ``adm2`` as ``"Dept / Municipality"``)
and month (``YYYY-MM``; ``unknown`` where the date is missing or known only to the year), or year. Cells with no one
are left out.

Suppression rule. A cell of 1 to 4 people is published as ``"<5"``, never the number. **Complementary
suppression**: a total (per area, per month, and the grand total) that adds up any suppressed cell is withheld
(``"withheld"``), since it minus the published cells would give the suppressed ones back. A total made only of
published cells is shown, and is itself at least 5. No record-level field, personal or not, is ever returned.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.services.stats_casualties import casualty_stats
from safeground.services.workspace import Workspace

THRESHOLD = 5
SUPPRESSED = "<5"
WITHHELD = "withheld"
LEVELS = ("adm1", "adm2")
PERIODS = ("month", "year")
RULE = ("Counts of 1 to 4 people are shown as '<5'. A total that includes such a count is withheld, so that no "
        "suppressed count can be worked out from totals.")


def _shown(n: int) -> int | str:
    return SUPPRESSED if n < THRESHOLD else n


def _total(cells: list[int]) -> int | str:
    return WITHHELD if any(c < THRESHOLD for c in cells) else sum(cells)


def public_casualties(ws: Workspace, *, level: str = "adm1", period: str = "month") -> dict[str, Any]:
    """People per admin area (``level``) and month (or ``period`` year: fewer cells fall under 5, so fewer
    totals are withheld), with the suppression of the module docstring.

    Keys: ``level``, ``period``, ``threshold``, ``rule``, ``cells`` (``[{"area", "month", "people"}]``), ``areas``
    (``[{"area", "people"}]``), ``months`` (``[{"month", "people"}]``) and ``total`` (``year`` and ``years`` for
    ``period`` year); ``people`` is a number of
    at least 5, ``"<5"`` or ``"withheld"``.
    """
    if level not in LEVELS:
        raise ValidationError("public.bad_level", f"Unknown admin level {level!r} for public casualty figures.",
                              hint="Use adm1 or adm2.")
    if period not in PERIODS:
        raise ValidationError("public.bad_period", f"Unknown period {period!r} for public casualty figures.",
                              hint="Use month or year.")
    doc = casualty_stats(ws, by=[level, period])
    cells = sorted(((row["key"][level], row["key"][period], int(row["people"])) for row in doc["breakdown"]
                    if int(row["people"]) > 0), key=lambda c: (c[0] == "unknown", c[0], c[1] == "unknown", c[1]))
    by_area: dict[str, list[int]] = defaultdict(list)
    by_month: dict[str, list[int]] = defaultdict(list)
    for area, month, n in cells:
        by_area[area].append(n)
        by_month[month].append(n)
    return {
        "level": level,
        "period": period,
        "threshold": THRESHOLD,
        "rule": RULE,
        "cells": [{"area": a, period: m, "people": _shown(n)} for a, m, n in cells],
        "areas": [{"area": a, "people": _total(v)} for a, v in by_area.items()],
        f"{period}s": [{period: m, "people": _total(v)} for m, v in sorted(by_month.items())],
        "total": _total([n for *_, n in cells]) if cells else 0,
    }
