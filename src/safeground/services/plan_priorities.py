"""Priority scores for every open hazard (``safeground plan priorities``, issue 7 §1).

The criteria values, per open hazard (status ``open`` or ``worked_on``, not retired):

- ``households``: for each settlement (priority target of kind ``settlement``) naming the hazard among its
  ``blocking_hazards``, its ``displaced_households`` divided by how many of its blocking hazards are still open
  (those households return once all are released; each open one carries its share);
- ``projects``: for each other target naming it, ``value`` divided by its open blocking hazards, times the
  deadline urgency ``1`` if the deadline is past or within a year of the reference date, falling linearly to
  ``0.25`` at three years and beyond (and ``0.25`` without a deadline);
- ``casualties``: casualties of accidents within ``plan.casualty_radius_m`` of the hazard's polygon dated in
  the last ``plan.casualty_years`` years before the reference date (counts only: no personal data);
- ``population``: ``population`` of the targets within the radius or naming the hazard;
- ``blockages``: the number of blockage kinds recorded on the hazard;
- ``contamination``: the current risk run's predicted contamination; no risk run exists yet, so it is 0 and
  reported as skipped.

Distances are planar in the national projected CRS. The scores come from :mod:`safeground.domain.priority`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely

from safeground.domain.priority import CRITERIA, check_weights, score
from safeground.geo.crs import WGS84, reproject, utm_epsg
from safeground.services.configuration import load_config_file
from safeground.services.workspace import Workspace

OPEN = ("open", "worked_on")


def _urgency(deadline: str | None, today: dt.date) -> float:
    """Deadline urgency of a project (see module).

    >>> _urgency("2026-06-01", dt.date(2026, 1, 1)), _urgency(None, dt.date(2026, 1, 1))
    (1.0, 0.25)
    """
    if not deadline:
        return 0.25
    years = (dt.date.fromisoformat(str(deadline)[:10]) - today).days / 365.25
    if years <= 1:
        return 1.0
    return max(0.25, 1.0 - 0.75 * (years - 1) / 2)


def criteria_values(ws: Workspace, *,
                    as_of: dt.date | None = None) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """The open hazards (``ref``, ``name``, ``uuid``, ``remaining_area_m2``) and each criterion's values."""
    cfg = ws.config.plan
    today = as_of or dt.date.today()
    hazards = [h for h in ws.store.query("hazard_area", fields=["name", "status", "remaining_area_m2", "blockages"],
                                         order_by="ref")
               if h["status"] in OPEN and h["geometry"] is not None]
    n = len(hazards)
    values = {c: np.zeros(n) for c in CRITERIA}
    if not n:
        return [], {c: [] for c in CRITERIA}
    index = {h["uuid"]: i for i, h in enumerate(hazards)}
    crs = ws.national_crs or utm_epsg(0.0, 0.0)
    h_geom = reproject(np.array([h["geometry"] for h in hazards], dtype=object), WGS84, crs)
    tree = shapely.STRtree(h_geom)
    radius = cfg.casualty_radius_m
    targets = ws.store.query("priority_target", fields=["kind", "displaced_households", "population", "deadline",
                                                        "value", "blocking_hazards"])
    near_targets: list[set[int]] = [set() for _ in targets]
    located = [i for i, t in enumerate(targets) if t["geometry"] is not None]
    if located:
        t_geom = reproject(np.array([targets[i]["geometry"] for i in located], dtype=object), WGS84, crs)
        pairs = tree.query(t_geom, predicate="dwithin", distance=radius)
        for t, h in pairs.T:
            near_targets[located[int(t)]].add(int(h))
    for t, near in zip(targets, near_targets, strict=True):
        blocking = [index[u] for u in (t["blocking_hazards"] or "").split() if u in index]
        for i in set(blocking) | near:
            values["population"][i] += t["population"] or 0
        if not blocking:
            continue
        if t["kind"] == "settlement":
            for i in blocking:
                values["households"][i] += (t["displaced_households"] or 0) / len(blocking)
        else:
            share = (t["value"] or 0.0) * _urgency(t["deadline"], today) / len(blocking)
            for i in blocking:
                values["projects"][i] += share
    since = (today - dt.timedelta(days=round(365.25 * cfg.casualty_years))).isoformat()
    accidents = [a for a in ws.store.query("accident", fields=["accident_date"])
                 if a["geometry"] is not None and a["accident_date"] and since <= str(a["accident_date"])[:10]
                 <= today.isoformat()]
    if accidents:
        per_accident: dict[str, int] = {}
        for c in ws.store.query("casualty", fields=["accident"], geometry=False):
            per_accident[c["accident"]] = per_accident.get(c["accident"], 0) + 1
        a_geom = reproject(np.array([a["geometry"] for a in accidents], dtype=object), WGS84, crs)
        pairs = tree.query(a_geom, predicate="dwithin", distance=radius)
        for a, h in pairs.T:
            values["casualties"][int(h)] += per_accident.get(accidents[int(a)]["uuid"], 0)
    for i, h in enumerate(hazards):
        values["blockages"][i] = len((h["blockages"] or "").split())
    rows = [{"ref": h["ref"], "name": h["name"], "uuid": h["uuid"], "remaining_area_m2": h["remaining_area_m2"]}
            for h in hazards]
    return rows, {c: [float(v) for v in col] for c, col in values.items()}


def read_weights(path: str) -> dict[str, float]:
    """Criterion weights from a YAML file (a mapping such as ``{households: 5, casualties: 1}``), checked."""
    return check_weights(load_config_file(path))


def priorities(ws: Workspace, *, method: str | None = None, weights: Mapping[str, float] | None = None,
               as_of: dt.date | None = None) -> dict[str, Any]:
    """Score every open hazard, highest first, each with its criteria values and contributions.

    ``weights`` (criterion → weight) override the configured ones for the criteria they name.
    """
    cfg = ws.config.plan
    chosen = method or cfg.method
    w = cfg.weights.model_dump()
    w.update(check_weights(dict(weights or {})) if weights else {})
    skipped = ["contamination"]  # no risk run exists yet
    used = {c: (0.0 if c in skipped else w[c]) for c in CRITERIA}
    rows, values = criteria_values(ws, as_of=as_of)
    result = score(values, used, chosen) if rows else None
    out = []
    for i, row in enumerate(rows):
        assert result is not None
        out.append({**row, "score": result.scores[i],
                    "criteria": {c: {"value": values[c][i], "contribution": result.contributions[c][i]}
                                 for c in CRITERIA}})
    out.sort(key=lambda r: (-r["score"], r["ref"]))
    for rank, row in enumerate(out, 1):
        row["rank"] = rank
    return {"method": chosen, "weights": used, "skipped": skipped, "count": len(out), "hazards": out}
