"""The current risk surface as the web map and the report show it: its cells as a tile layer, one cell's
detail on click, and the run's summary for the report's risk page.

Only the **current** run is shown (the one adopted with ``safeground risk adopt`` or ``--adopt``; at most one),
and every view names it by id and date: "Risk surface run 7, as of 2014-12-31" (the date is the run's evidence
cut-off, else the day it was made). Cells without a geometry (runs on outside cell tables) are never drawn.

**Predicted risk is not a hazard record.** It is a guide for where to survey first, so the public page never
shows it: the layer is in the signed-in map's tiles (``tiles.LAYERS``) and not in ``tiles.PUBLIC_LAYERS``.

**Memory and speed.** The current run's cells are read once per adoption (about 100,000 cells for a national
surface of 5 km cells) into numpy arrays and a shapely STRtree, kept per open workspace: a tile picks its cells
from the tree, and a click reads its cell's top three reasons from memory (kept as one string per cell, not as
the stored JSON). Adopting another run writes an audit row, which drops the risk layer's cached tiles
(``depends_on`` in the tile layer) and, on next use, this memo.

>>> import os, tempfile, shapely
>>> from safeground.services.workspace import Workspace
>>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "r.gpkg"), user="ana", create=True)
>>> current_surface(ws) is None, run_summary(ws)["current"]
(True, False)
>>> run = ws.store.write_risk_run({"kind": "surface", "as_of": "2014-12-31", "cells_source": "grid"},
...     {"cell_id": ["a", "b"], "risk": [0.8, 0.1], "geometry": [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
...      "reasons": [[{"text": "raises risk: 1.2 km from a 2013 accident"}], []]}, user="ana")
>>> _ = ws.store.adopt_risk_run(run["id"], user="ana")
>>> cell = cell_detail(ws, run["id"], 0)
>>> cell["title"], cell["risk"], cell["reasons"]
('Risk surface run 1, as of 2014-12-31', 0.8, ['raises risk: 1.2 km from a 2013 accident'])
>>> ws.close()
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from safeground.domain.errors import NotFoundError
from safeground.domain.risk import ANY, EVIDENCE_TYPES
from safeground.services.workspace import Workspace
from safeground.store.base import Record

#: Reasons shown per cell (the model stores its three largest contributions, most important first).
TOP_REASONS = 3
#: Risk values in tiles are rounded to this many decimals (a smaller tile; the map's colour steps are coarser).
TILE_DECIMALS = 3
#: Joins a cell's reasons in memory (the ASCII unit separator: never in a reason's words).
SEPARATOR = "\x1f"
#: The caveat every view of predicted risk carries.
CAVEAT = ("Predicted risk is a guide for where to survey first, not a hazard record: a high-risk cell is not a "
          "hazard area, and a low-risk cell is not safe.")


@dataclass(frozen=True)
class Surface:
    """The current run's located cells, in memory: positions in the run, WGS84 geometries, risks, reasons."""

    run: Record
    positions: np.ndarray
    geometries: np.ndarray
    risk: np.ndarray
    #: Each cell's top reasons, joined by ``SEPARATOR`` (one string a cell keeps 100,000 cells small).
    reasons: list[str]
    tree: shapely.STRtree

    def index_of(self, position: int) -> int | None:
        i = int(np.searchsorted(self.positions, position))
        return i if i < len(self.positions) and int(self.positions[i]) == position else None


_MEMO: weakref.WeakKeyDictionary[Workspace, Surface] = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()


def current_run(ws: Workspace) -> Record | None:
    """The current risk run, or ``None`` when none has been adopted."""
    runs = ws.store.risk_runs(current=True)
    return runs[0] if runs else None


def run_date(run: Record) -> str:
    """The date a run stands for: its evidence cut-off, else the day it was made.

    >>> run_date({"as_of": "2014-12-31", "created_at": "2026-11-28T10:00:00Z"}), run_date({"as_of": None,
    ...     "created_at": "2026-11-28T10:00:00Z"})
    ('2014-12-31', '2026-11-28')
    """
    return str(run.get("as_of") or str(run["created_at"])[:10])


def run_title(run: Record) -> str:
    """How every view names a run.

    >>> run_title({"id": 7, "kind": "surface", "as_of": "2014-12-31"})
    'Risk surface run 7, as of 2014-12-31'
    >>> run_title({"id": 3, "kind": "fit", "as_of": None, "created_at": "2026-01-05T08:00:00Z"})
    'Risk run 3 (fit), as of 2026-01-05'
    """
    what = "Risk surface run" if run["kind"] == "surface" else "Risk run"
    kind = "" if run["kind"] == "surface" else f" ({run['kind']})"
    return f"{what} {run['id']}{kind}, as of {run_date(run)}"


def served_text(served: str | None) -> str:
    """The score a run serves, in words: the model, or the distance baseline that beat it.

    >>> served_text("model"), served_text("ev_any_dist"), served_text("ev_accident_dist"), served_text("roads_dist")
    ('the model', 'the distance to the nearest item of evidence', 'the distance to the nearest accident', 'roads_dist')
    """
    if served is None or served == "model":
        return "the model"
    words = {t.name: t.singular for t in (*EVIDENCE_TYPES, ANY)}
    name = served.removeprefix("ev_").removesuffix("_dist")
    if served.startswith("ev_") and served.endswith("_dist") and name in words:
        return f"the distance to the nearest {words[name]}"
    return served


def reason_texts(reasons: Any, top: int = TOP_REASONS) -> list[str]:
    """A cell's reasons in words, most important first: stored reasons are ``{"text": ...}`` or plain strings.

    >>> reason_texts([{"feature": "ev_any_dist", "text": "raises risk: 0.4 km from a 2012 find"}, "near a road"])
    ['raises risk: 0.4 km from a 2012 find', 'near a road']
    """
    out = []
    for r in (reasons or [])[:top]:
        text = r.get("text") if isinstance(r, dict) else r
        if text:
            out.append(str(text))
    return out


def current_surface(ws: Workspace) -> Surface | None:
    """The current run's located cells, read once per adopted run and kept while it stays current."""
    run = current_run(ws)
    if run is None:
        return None
    with _LOCK:
        memo = _MEMO.get(ws)
        if memo is None or memo.run["id"] != run["id"] or memo.run["adopted_at"] != run["adopted_at"]:
            memo = _MEMO[ws] = _read_surface(ws, run)
        return memo


def _read_surface(ws: Workspace, run: Record) -> Surface:
    positions, geoms, risk, reasons = [], [], [], []
    for cell in ws.store.risk_cells(run["id"]):
        if cell["geometry"] is None:
            continue
        positions.append(cell["position"])
        geoms.append(cell["geometry"])
        risk.append(cell["risk"])
        reasons.append(SEPARATOR.join(reason_texts(cell["reasons"])))
    geometries = np.array(geoms, dtype=object)
    return Surface(run, np.array(positions, dtype=np.int64), geometries, np.array(risk, dtype=np.float64), reasons,
                   shapely.STRtree(geometries))


def surface_features(ws: Workspace, bbox: tuple[float, float, float, float] | None
                     ) -> tuple[np.ndarray, dict[str, list[Any]]]:
    """The tile layer's features: the current run's cells meeting ``bbox`` (WGS84; ``None``: all), with
    ``cell`` (its position in the run), ``risk`` (0..1) and ``run`` (the run's id, so a click asks for the
    right cell even if another run was adopted since the tile was drawn)."""
    surface = current_surface(ws)
    if surface is None or not len(surface.geometries):
        return np.array([], dtype=object), {"cell": [], "risk": [], "run": []}
    if bbox is None:
        idx = np.arange(len(surface.geometries))
    else:
        idx = np.sort(surface.tree.query(shapely.box(*bbox), predicate="intersects"))
    return surface.geometries[idx], {"cell": surface.positions[idx].tolist(),
                                     "risk": np.round(surface.risk[idx], TILE_DECIMALS).tolist(),
                                     "run": [int(surface.run["id"])] * len(idx)}


def cell_detail(ws: Workspace, run_id: int, position: int, *,
                within: shapely.Geometry | None = None) -> dict[str, Any]:
    """One cell of a run, as a click on the map shows it: its risk, its top reasons, the run's id and date.

    ``within`` (a user's area, WGS84) hides cells outside it. Raises ``risk.run_not_found`` for an unknown run and
    ``risk.cell_not_found`` for a position the run does not hold, or a cell outside ``within``."""
    runs = ws.store.risk_runs(run_id=run_id)
    if not runs:
        ws.store.risk_run_model(run_id)  # raises risk.run_not_found
    run = runs[0]
    surface = current_surface(ws)
    cell: dict[str, Any] | None = None
    if surface is not None and surface.run["id"] == run_id:
        i = surface.index_of(position)
        if i is not None:
            text = surface.reasons[i]
            cell = {"geometry": surface.geometries[i], "risk": float(surface.risk[i]),
                    "reasons": text.split(SEPARATOR) if text else []}
    else:  # a run no longer current (the map was drawn before another was adopted): read it
        for c in ws.store.risk_cells(run_id):
            if c["position"] == position:
                cell = {"geometry": c["geometry"], "risk": float(c["risk"]), "reasons": reason_texts(c["reasons"])}
                break
    if cell is None or (within is not None and (cell["geometry"] is None or not within.intersects(cell["geometry"]))):
        raise NotFoundError("risk.cell_not_found", f"Risk run {run_id} has no cell {position} you may see.",
                            hint="Click a cell drawn on the map; reload the page if another run was adopted.")
    return {"run": run_id, "kind": run["kind"], "as_of": run["as_of"], "date": run_date(run),
            "title": run_title(run), "current": run["current"], "served": run["served"], "position": position,
            "risk": round(cell["risk"], 4), "reasons": cell["reasons"], "caveat": CAVEAT}


def run_summary(ws: Workspace) -> dict[str, Any]:
    """The current run for the report: id, title, date, who adopted it, the score served (the model or a named
    baseline), its validation metrics as stored with the run, and its cells' risk in bands; ``current`` is
    ``False`` (and nothing else is given) when no run was adopted."""
    run = current_run(ws)
    if run is None:
        return {"current": False, "caveat": CAVEAT}
    surface = current_surface(ws)
    risk = surface.risk if surface is not None else np.array([], dtype=np.float64)
    metrics = run["metrics"] or {}
    served = run["served"] or metrics.get("served") or "model"
    return {"current": True, "run": run["id"], "kind": run["kind"], "title": run_title(run), "date": run_date(run),
            "as_of": run["as_of"], "created_at": run["created_at"], "adopted_at": run["adopted_at"],
            "adopted_by": run["adopted_by"], "served": served, "served_text": served_text(served),
            "cells": run["cell_count"], "mapped_cells": len(risk), "validation": validation(metrics),
            "bands": risk_bands(risk), "caveat": CAVEAT}


#: Upper bounds of the risk bands that the map legend (``static/js/layers.js``), the report's map and its table
#: share.
BANDS = (0.05, 0.1, 0.2, 0.4, 1.0)


def risk_bands(risk: np.ndarray) -> list[dict[str, Any]]:
    """Cells per risk band (``BANDS``): from its lower bound up to, not including, the next (the map's colour
    steps); the top band includes 1.

    >>> [b["cells"] for b in risk_bands(np.array([0.0, 0.05, 0.06, 0.5, 1.0]))]
    [1, 2, 0, 0, 2]
    """
    lows = (0.0, *BANDS[:-1])
    edges = np.searchsorted(np.asarray(BANDS), risk, side="right")
    counts = np.bincount(edges.clip(0, len(BANDS) - 1), minlength=len(BANDS)) if len(risk) else np.zeros(len(BANDS))
    return [{"low": lo, "high": hi, "cells": int(n)} for lo, hi, n in zip(lows, BANDS, counts.tolist(), strict=True)]


def validation(metrics: dict[str, Any]) -> dict[str, Any]:
    """The validation a run's metrics hold, as the report lays it out: the verdict, the split, and the table of
    scores (one row per score: the model and each baseline, with whatever metrics the run measured).

    >>> v = validation({"split": "leave one group out", "verdict": "the model wins", "served": "model",
    ...                 "scores": [{"score": "model", "roc_auc": 0.95}, {"score": "ev_any_dist", "roc_auc": 0.93}]})
    >>> v["columns"], v["rows"][1]["score"], v["verdict"]
    (['roc_auc'], 'ev_any_dist', 'the model wins')
    """
    nested = metrics.get("validation")
    found: dict[str, Any] = nested if isinstance(nested, dict) else metrics
    rows = [r for r in found.get("scores") or [] if isinstance(r, dict)]
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k != "score" and k not in columns]
    return {"split": found.get("split"), "verdict": found.get("verdict"), "columns": columns, "rows": rows,
            "labels": found.get("labels")}
