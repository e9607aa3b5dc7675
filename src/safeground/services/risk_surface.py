"""``safeground risk surface``: the risk of every cell of the study area, as of a date, stored as a run.

1. **Cells**: a grid of ``--cell-size`` metres over the study area, or the hazard polygons
   (``services/risk_grid.py``).
2. **Fit on the past, predict the present.** Labels come from what the database learnt in the
   ``--label-years`` (default 5) before ``--as-of`` (``risk_labels.area_labels``): a find or a confirmed hazard
   makes a cell positive, land released with nothing found negative, every other cell is unlabelled. The fit's
   **evidence features** (``services/risk_features.py``) are those known at the start of that window, so no
   cell's label is among its own features (a find 0 km from itself would teach nothing but "finds are where
   finds are"). The fitted model then scores the features known by ``--as-of``.
3. **Fit** with the positive-unlabelled method (``services/risk_pu.py``) on spatial-block folds (blocks of
   ``BLOCK_CELLS`` x ``BLOCK_CELLS`` cells, at least ``MIN_BLOCK_M``), which also compares the model with every
   evidence distance alone and serves the better one, saying so. With context layers on a grid, a **context
   prior** (``services/risk_prior.py``: where evidence known at the fit's cut-off turns up, given only the
   layers) adds its log-odds with a weight chosen on the same folds.
4. **Predict** every cell: calibrated risk and its top three reasons (``services/risk_reasons.py``), the
   booster run once per split signature (cells on the same side of every split share their trees' score;
   the distance and prior terms are added per cell).
5. **Store** the run (kind ``surface``) with each cell's polygon, risk and reasons; ``--adopt`` makes it the
   current run. ``--out`` writes a copy as a GeoPackage layer ``risk_cell``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import shapely

from safeground.domain.errors import ValidationError
from safeground.services.risk_features import evidence_features
from safeground.services.risk_grid import hazard_cells, national_grid
from safeground.services.risk_labels import area_labels
from safeground.services.risk_layers import LayerSpec, layer_features, with_layers
from safeground.services.risk_model import ModelSettings, RiskModel
from safeground.services.risk_prior import fit_context_prior
from safeground.services.risk_pu import fit_pu_model
from safeground.services.risk_reasons import reason_lists, signature_risk, signatures
from safeground.services.workspace import Workspace
from safeground.store.base import Record

Progress = Callable[[str, int, int], None]

#: Spatial blocks for the folds: this many cells a side, and at least this many metres.
BLOCK_CELLS = 10
MIN_BLOCK_M = 10_000.0
#: Labels come from what was learnt in this many years before --as-of; the fit's features from before them.
LABEL_YEARS = 5


@dataclass
class SurfaceCells:
    """The cells of a surface: ids, WGS84 polygons and centres, spatial blocks, and their description."""

    kind: str  # "grid" or "hazards"
    ids: np.ndarray
    polygons: np.ndarray
    points: np.ndarray
    blocks: np.ndarray
    crs: int
    described: str
    xy: np.ndarray  # centres (or representative points) in the projected CRS ``crs``
    cell_size: float | None = None
    rings: np.ndarray | None = None  # a grid's (n, 5, 2) WGS84 rings, what the store writes

    def stored(self) -> dict[str, Any]:
        """The cells' ids and geometry as the store takes them: the polygons, and for a grid also their rings
        (the GeoPackage store writes those without encoding a shapely polygon per cell)."""
        out = {"cell_id": self.ids, "geometry": self.polygons}
        if self.rings is not None:
            out["rings"] = self.rings
        return out


def surface_cells(ws: Workspace, *, cells: str = "grid", cell_size: float | None = None,
                  area: str | None = None) -> SurfaceCells:
    """The cells of a surface: a grid of ``cell_size`` metres over the study area, or the hazard areas."""
    if cells == "hazards":
        hz, described = hazard_cells(ws, area)
        crs = ws.national_crs or 4326
        from safeground.geo.crs import reproject

        xy = shapely.get_coordinates(reproject(hz.points, 4326, crs))
        return SurfaceCells("hazards", hz.ids, hz.polygons, hz.points, _blocks(xy[:, 0], xy[:, 1], MIN_BLOCK_M),
                            crs, described, xy)
    if cells != "grid":
        raise ValidationError("risk.bad_cells", f"--cells {cells!r} is neither 'grid' nor 'hazards'.",
                              hint="Use --cell-size M for a grid, or --cells hazards.")
    if cell_size is None:
        raise ValidationError("risk.bad_cell_size", "A grid needs a cell size.",
                              hint="Give --cell-size in metres, e.g. 1000, or use --cells hazards.")
    grid, described = national_grid(ws, cell_size, area)
    x, y = grid.centres()
    rings = grid.rings_wgs84()
    return SurfaceCells("grid", grid.ids(), np.asarray(shapely.polygons(rings)), grid.points_wgs84(),
                        _blocks(x, y, max(MIN_BLOCK_M, BLOCK_CELLS * grid.size)), grid.crs,
                        f"{len(grid):,} cells of {cell_size:g} m over {described}", grid.xy(), grid.size, rings)


def _blocks(x: np.ndarray, y: np.ndarray, size: float) -> np.ndarray:
    bx = np.floor(x / size).astype(np.int64)
    by = np.floor(y / size).astype(np.int64)
    return np.asarray(bx * 1_000_003 + by)


@dataclass
class Surface:
    """A stored surface: its cells, the model that scored them, each cell's risk and reasons, the run."""

    cells: SurfaceCells
    model: RiskModel
    risk: np.ndarray
    reasons: np.ndarray
    labels: dict[str, int]
    evidence: dict[str, Any]
    run: Record

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run["id"], "kind": "surface", "current": self.run["current"],
                "cells": len(self.cells.ids), "cell_source": self.cells.kind, "cell_size_m": self.cells.cell_size,
                "area": self.cells.described, "crs": f"EPSG:{self.cells.crs}", "as_of": self.run["as_of"],
                "labels": self.labels, "served": self.model.served, "tuning": self.model.chosen,
                "mean_risk": round(float(self.risk.mean()), 6), "expected_finds": round(float(self.risk.sum()), 2),
                "evidence": self.evidence, "layers": self.run["metrics"].get("layers")}


def make_surface(ws: Workspace, *, as_of: dt.date, cell_size: float | None = None, cells: str = "grid",
                 area: str | None = None, label_years: int = LABEL_YEARS, adopt: bool = False,
                 settings: ModelSettings | None = None, progress: Progress | None = None,
                 layers: list[LayerSpec] | None = None) -> Surface:
    """Fit on the past, predict the present: features as of ``as_of - label_years``, labels from what was learnt
    in the ``label_years`` after; the positive-unlabelled fit; every cell's risk and reasons from the evidence
    known by ``as_of``; stored as a surface run (made current with ``adopt``). ``layers`` (context: roads,
    the line of contact...; ``services/risk_layers.py``) add the same features to the fit and the prediction."""
    settings = settings or ModelSettings()
    sc = surface_cells(ws, cells=cells, cell_size=cell_size, area=area)
    fit_cut = _years_before(as_of, label_years)
    past = evidence_features(ws, None, fit_cut, crs=sc.crs, xy=sc.xy)
    if not past.names:
        raise ValidationError("risk.no_evidence", f"No evidence was known by {fit_cut.isoformat()} "
                              f"({label_years} years before --as-of): nothing to learn from.",
                              hint="Check --as-of and --label-years, and the review state of the records.")
    context = layer_features(ws, layers or [], sc.xy, sc.crs)
    past = with_layers(past, context)
    labels, counts = area_labels(ws, sc.polygons, as_of, since=fit_cut)
    prior = (fit_context_prior(past.names, past.values, sc.cell_size, seed=settings.seed, monotone=settings.monotone)
             if sc.cell_size else None)
    model = fit_pu_model(past.values, labels, past.names, settings, sc.blocks, progress=progress, prior=prior)
    model.chosen["as_of"] = as_of.isoformat()
    model.chosen["fitted_as_of"] = fit_cut.isoformat()
    now = with_layers(evidence_features(ws, None, as_of, crs=sc.crs, xy=sc.xy), context)
    features = in_model_order(now.names, now.values, model.names)
    signature = signatures(model.booster, features) if model.served == "model" else None
    risk = signature_risk(model, features, signature)
    reasons = reason_lists(model, features, now.years, signature=signature)
    parameters = {"cells": sc.kind, "cell_size_m": sc.cell_size, "area": area, "area_described": sc.described,
                  "crs": sc.crs, "label_years": label_years, "fitted_as_of": fit_cut.isoformat(),
                  "settings": settings.to_dict(), "features": model.names,
                  "blocks_m": max(MIN_BLOCK_M, BLOCK_CELLS * (sc.cell_size or 0)),
                  "layers": [spec.describe() for spec in layers or []]}
    metrics = {"labels": counts, "tuning": model.chosen, "served": model.served, "evidence": now.report,
               "evidence_fitted": past.report, "layers": context.report, "mean_risk": float(risk.mean()),
               "expected_finds": float(risk.sum())}
    run = ws.store.write_risk_run(
        {"kind": "surface", "as_of": as_of.isoformat(), "cells_source": sc.kind, "parameters": parameters,
         "metrics": metrics, "model": model.to_bytes(), "served": model.served},
        cast(Any, {**sc.stored(), "risk": risk, "reasons": reasons}), user=ws.user)
    if adopt:
        run = ws.store.adopt_risk_run(int(run["id"]), user=ws.user)
    return Surface(sc, model, risk, reasons, counts, now.report, run)


def in_model_order(names: list[str], values: np.ndarray, model_names: list[str]) -> np.ndarray:
    """Feature columns in the model's order; a type of evidence the model knows but that has no record now is
    missing (NaN), which the distances score as farthest.

    >>> in_model_order(["a", "b"], np.array([[1.0, 2.0]]), ["b", "c"]).tolist()
    [[2.0, nan]]
    """
    out = np.full((len(values), len(model_names)), np.nan)
    index = {n: j for j, n in enumerate(names)}
    for j, n in enumerate(model_names):
        if n in index:
            out[:, j] = values[:, index[n]]
    return out


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def write_surface(path: str | Path, surface: Surface) -> Path:
    """A copy of the surface's cells as a GeoPackage layer ``risk_cell``: id, risk, reasons (JSON), polygon."""
    import pyogrio.raw

    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise ValidationError("risk.bad_out", f"{path.name}: a surface is written as a GeoPackage.",
                              hint="Give --out FILE.gpkg.")
    path.unlink(missing_ok=True)
    pyogrio.raw.write(path, shapely.to_wkb(surface.cells.polygons),
                      [np.asarray(surface.cells.ids, dtype=object), np.asarray(surface.risk, dtype=float),
                       np.asarray(surface.reasons, dtype=object)],
                      ["cell_id", "risk", "reasons"], layer="risk_cell", driver="GPKG", crs="EPSG:4326",
                      geometry_type="Polygon")
    return path
