"""``safeground risk targets``: ranked survey targets from a risk surface.

A target is a cluster of adjacent high-risk cells: the ``--top-share`` (default 10%) of the run's cells with
the highest risk, grouped by touching polygons (edges or corners: STRtree pairs, then scipy's connected
components). Each target has its cells, its area (m², measured in the UTM zone by ``geo/measure.py``), its
**expected finds** (the sum of its cells' calibrated risk: the number of cells with explosive ordnance a
survey should expect there), its highest cell risk, where it lies, and the reasons of its riskiest cell.
Targets are ranked by expected finds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.geo.measure import areas_m2
from safeground.services.workspace import Workspace


@dataclass
class Target:
    """One survey target: a cluster of adjacent high-risk cells."""

    rank: int
    cells: list[str]
    area_m2: float
    expected_finds: float
    max_risk: float
    lon: float
    lat: float
    reasons: list[str]

    def words(self) -> str:
        """The target in plain words."""
        ns = "N" if self.lat >= 0 else "S"
        ew = "E" if self.lon >= 0 else "W"
        why = f"; riskiest cell: {'; '.join(self.reasons)}" if self.reasons else ""
        return (f"{self.rank}. {len(self.cells)} cell{'s' if len(self.cells) != 1 else ''}, "
                f"{self.area_m2 / 1e6:.2f} km² around {abs(self.lat):.4f}°{ns} {abs(self.lon):.4f}°{ew}: "
                f"{self.expected_finds:.2f} expected finds (highest cell risk {self.max_risk:.2f}){why}.")

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "cells": self.cells, "cell_count": len(self.cells),
                "area_m2": round(self.area_m2, 1), "expected_finds": round(self.expected_finds, 4),
                "max_risk": round(self.max_risk, 6), "lon": round(self.lon, 6), "lat": round(self.lat, 6),
                "reasons": self.reasons, "text": self.words()}


def survey_targets(ws: Workspace, *, run_id: int | None = None, top_share: float = 0.1
                   ) -> tuple[dict[str, Any], list[Target]]:
    """The run (the current one unless ``run_id``) and its targets, ranked by expected finds."""
    if not 0 < top_share <= 1:
        raise ValidationError("risk.bad_share", f"--top-share {top_share:g} is not a share of the cells.",
                              hint="Give a number above 0 and at most 1, e.g. 0.1 for the top 10%.")
    if run_id is None:
        current = ws.store.risk_runs(current=True)
        if not current:
            raise ValidationError("risk.no_current_run", "No risk run is current yet.",
                                  hint="Make a surface with 'safeground risk surface ... --adopt', or give --run.")
        run = current[0]
    else:
        found = ws.store.risk_runs(run_id=run_id)
        if not found:
            raise NotFoundError("risk.run_not_found", f"There is no risk run {run_id}.",
                                hint="List the runs with 'safeground risk runs --db DB'.")
        run = found[0]
    ids, geoms, risk, reasons = [], [], [], []
    for c in ws.store.risk_cells(int(run["id"])):
        ids.append(c["cell_id"])
        geoms.append(c["geometry"])
        risk.append(c["risk"])
        reasons.append(c["reasons"])
    polys = np.array(geoms, dtype=object)
    if not len(polys) or shapely.is_missing(polys).any() or (shapely.get_type_id(polys) == 0).any():
        raise ValidationError("risk.no_polygons", f"Run {run['id']} has no cell polygons to group into targets.",
                              hint="Use a risk surface (kind surface), e.g. the current run.")
    p = np.asarray(risk, dtype=float)
    k = max(1, int(np.ceil(top_share * len(p))))
    top = np.argsort(-p, kind="stable")[:k]
    return run, _clusters(np.asarray(ids, dtype=object)[top], polys[top], p[top], [reasons[i] for i in top])


def leading_targets(ws: Workspace, count: int = 10) -> list[dict[str, Any]]:
    """The current run's ``count`` leading survey targets (without their cell lists), for the report; empty when
    no run is current or the current one has no cell polygons."""
    try:
        _run, targets = survey_targets(ws)
    except ValidationError as err:
        if err.code in ("risk.no_current_run", "risk.no_polygons"):
            return []
        raise
    return [{k: v for k, v in t.to_dict().items() if k != "cells"} for t in targets[:count]]


def _clusters(ids: np.ndarray, polys: np.ndarray, risk: np.ndarray, reasons: list[Any]) -> list[Target]:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a, b = shapely.STRtree(polys).query(polys, predicate="intersects")
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(polys), len(polys)))
    n, which = connected_components(graph, directed=False)
    area = areas_m2(polys)
    targets = []
    for c in range(n):
        members = np.flatnonzero(which == c)
        best = members[np.argmax(risk[members])]
        centre = shapely.centroid(shapely.union_all(polys[members]))
        why = reasons[best]
        texts = [r if isinstance(r, str) else r.get("text", "") for r in
                 (json.loads(why) if isinstance(why, str) else why)]
        targets.append(Target(0, [str(i) for i in ids[members]], float(area[members].sum()),
                              float(risk[members].sum()), float(risk[best]), centre.x, centre.y, texts))
    targets.sort(key=lambda t: (-t.expected_finds, -t.max_risk))
    for rank, t in enumerate(targets, 1):
        t.rank = rank
    return targets
