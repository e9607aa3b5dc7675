"""Settlement status for the public: released, partly released or blocked, from the hazards around each one.

Settlements are the priority targets of kind ``settlement`` (not retired). The hazards that concern one are those
it names in ``blocking_hazards`` and every hazard area (not retired) whose polygon lies within ``around_m`` metres
of it (default :data:`AROUND_M`, measured in the national projected CRS). Of those hazards:

- a hazard **still blocks** when its status is open or worked on (its remaining area, land awaiting QC included,
  is still hazardous);
- a hazard **has released land** when it is closed or handed over, or when its remaining area is smaller than its
  area (part of it released, the release counting).

The settlement is **blocked** when some hazard still blocks and none has released land, **partly released** when
some hazard still blocks and some land around it was released, and **released** when no hazard blocks it any more
(also when no hazard is known around it: ``hazards`` is then 0; no known hazard is not the same as safe).
``planned_week`` and ``planned_date`` (the last day of that week) say when the *current* plan (``plan adopt``) makes the
settlement safe, with ``plan_run`` and ``plan_date`` (the day that plan was made); all null when no plan is current,
and the planned week and date null when the current plan does not make it safe within its horizon or did not hold
it. Only refs, names, counts and dates are returned.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from safeground.domain.errors import ValidationError
from safeground.geo.crs import WGS84, reproject
from safeground.services.plan_runs import current_run
from safeground.services.safety import CAVEAT, safety_index
from safeground.services.workspace import Workspace

AROUND_M = 2000.0
STATUSES = ("released", "partly_released", "blocked")
#: Remaining area this much (m²) below the area counts as land released (rounding of stored areas aside).
RELEASED_TOLERANCE_M2 = 1.0


def settlement_status(ws: Workspace, *, around_m: float = AROUND_M) -> list[dict[str, Any]]:
    """One entry per settlement, in ``ref`` order: ``ref``, ``name``, ``status``, ``blocking`` (refs still
    blocking), ``released`` (refs with released land), ``hazards`` (how many concern it), ``planned_week``,
    ``planned_date``, ``plan_run``, ``plan_date`` (the current plan's, see module) and ``caveat``."""
    if not 0 <= around_m <= 50_000:
        raise ValidationError("public.bad_distance", f"The distance {around_m!r} m around settlements is out of "
                              "range.", hint="Give metres between 0 and 50,000.")
    targets = ws.store.query("priority_target", where={"kind": "settlement"}, order_by="ref",
                             fields=["name", "blocking_hazards"])
    if not targets:
        return []
    hazards = ws.store.query("hazard_area", fields=["status", "area_m2", "remaining_area_m2"])
    hazards = [h for h in hazards if h["geometry"] is not None]
    crs = safety_index(ws).crs
    h_geom = reproject(np.array([h["geometry"] for h in hazards], dtype=object), WGS84, crs)
    t_geom = reproject(np.array([t["geometry"] for t in targets], dtype=object), WGS84, crs)
    pairs = (shapely.STRtree(h_geom).query(t_geom, predicate="dwithin", distance=around_m)
             if len(hazards) else np.zeros((2, 0), dtype=np.intp))
    around: list[set[int]] = [set() for _ in targets]
    for t, h in pairs.T:
        around[int(t)].add(int(h))
    by_uuid = {h["uuid"]: i for i, h in enumerate(hazards)}
    plan = current_run(ws, required=False)
    planned = {t["ref"]: t for t in plan["targets"]} if plan else {}
    out = []
    for t, near in zip(targets, around, strict=True):
        near |= {by_uuid[u] for u in (t["blocking_hazards"] or "").split() if u in by_uuid}
        concern = [hazards[i] for i in sorted(near, key=lambda i: hazards[i]["ref"])]
        blocking = [h["ref"] for h in concern if h["status"] in ("open", "worked_on")]
        released = [h["ref"] for h in concern if h["status"] in ("closed", "handed_over")
                    or (h["remaining_area_m2"] or 0.0) < (h["area_m2"] or 0.0) - RELEASED_TOLERANCE_M2]
        status = "released" if not blocking else "partly_released" if released else "blocked"
        week = planned.get(t["ref"], {})
        out.append({"ref": t["ref"], "name": t["name"], "status": status, "blocking": blocking,
                    "released": released, "hazards": len(concern), "planned_week": week.get("week"),
                    "planned_date": week.get("date"), "plan_run": plan["id"] if plan else None,
                    "plan_date": plan["created_at"][:10] if plan else None, "caveat": CAVEAT})
    return out
