"""Risk runs: evaluate a cell table and store the run; list runs; adopt one as current.

Every run is stored in the database (``safeground_risk_run`` and its cells). Only adoption makes a run current,
and only a risk surface over the database's own study area (``services/risk_surface.py``) can be adopted:
evaluations, fits and predictions on outside cell tables never become current (``risk.not_adoptable``).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from safeground.domain.errors import ValidationError
from safeground.services.risk_cells import CellTable, ColumnReport, align_features, read_cell_table
from safeground.services.risk_evaluate import Evaluation, Progress, evaluate
from safeground.services.risk_features import evidence_features
from safeground.services.risk_labels import require_both_classes
from safeground.services.risk_layers import LayerSpec, layer_features_at
from safeground.services.risk_model import ModelSettings, RiskModel, fit_model
from safeground.services.workspace import Workspace
from safeground.store.base import Record

#: Inner folds of a fit (an evaluation keeps the settings' 3 inside each outer fold, for time).
FIT_FOLDS = 10


@dataclass
class EvaluationRun:
    """An evaluation, what was read and the stored run."""

    evaluation: Evaluation
    table: CellTable
    evidence: dict[str, Any] | None
    run: Record

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run["id"], "cells_file": self.table.source, **self.evaluation.to_dict(),
                "columns": self.table.report.to_dict(), "evidence": self.evidence}


def evaluate_cells(ws: Workspace, cells: str, *, label: str, group: str, id_column: str | None = None,
                   unknown_value: float = -1, drop: tuple[str, ...] = (), evidence: bool = False,
                   as_of: dt.date | None = None, settings: ModelSettings | None = None,
                   progress: Progress | None = None, layers: list[LayerSpec] | None = None) -> EvaluationRun:
    """Read a cell table, add evidence features as of ``as_of`` when asked and the context ``layers``,
    evaluate, and store the run."""
    settings = settings or ModelSettings()
    if evidence and as_of is None:
        raise _needs_as_of()
    table = read_cell_table(cells, id_column=id_column, label_column=label, unknown_value=unknown_value,
                            group_column=group, drop=drop)
    table, years, evidence_report = _with_evidence(ws, table, evidence, as_of, layers)
    result = evaluate(table, settings, years=years, progress=progress)
    served = next(r for r in result.results if r.name == result.served)
    parameters = {"cells": table.source, "label": label, "group": group, "id": id_column,
                  "unknown_value": unknown_value, "drop": list(drop), "evidence": evidence,
                  "settings": settings.to_dict(), "features": table.names, "columns": table.report.to_dict(),
                  "layers": _described(layers)}
    metrics = {**result.to_dict(), "evidence": evidence_report}
    run = _store(ws, "evaluate", as_of, parameters, metrics, None, table, served.risk, result.reasons,
                 served=result.served)
    return EvaluationRun(result, table, evidence_report, run)


@dataclass
class ModelRun:
    """A fit or a prediction: the cells' risks and reasons, the column report and the stored run."""

    table: CellTable
    model: RiskModel
    risk: np.ndarray
    reasons: list[list[dict[str, Any]]]
    columns: ColumnReport
    evidence: dict[str, Any] | None
    run: Record

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run["id"], "kind": self.run["kind"], "cells_file": self.table.source,
                "cells": len(self.table), "served": self.model.served, "tuning": self.model.chosen,
                "columns": self.columns.to_dict(), "evidence": self.evidence}


def fit_cells(ws: Workspace, cells: str, *, label: str, group: str | None = None, id_column: str | None = None,
              unknown_value: float = -1, drop: tuple[str, ...] = (), evidence: bool = False,
              as_of: dt.date | None = None, settings: ModelSettings | None = None,
              layers: list[LayerSpec] | None = None) -> ModelRun:
    """Fit the model on a cell table's labelled cells and store it, with every cell's risk and reasons.

    The fit tunes, calibrates and compares the model with the distances on ``FIT_FOLDS`` inner folds (by group,
    at most one per group): with 3 folds on the RELand grid each model saw two thirds of the municipalities and
    lost to the nearest-evidence distance (ROC-AUC 0.926 against 0.936), with 10 it scored 0.953."""
    settings = settings or ModelSettings()
    if settings.inner_folds < FIT_FOLDS:
        settings = dataclasses.replace(settings, inner_folds=FIT_FOLDS)
    table = read_cell_table(cells, id_column=id_column, label_column=label, unknown_value=unknown_value,
                            group_column=group, drop=drop)
    assert table.labels is not None
    require_both_classes(table.label_counts)
    table, years, evidence_report = _with_evidence(ws, table, evidence, as_of, layers)
    assert table.labels is not None
    model = fit_model(table.features, table.labels, table.names, settings, table.groups)
    model.chosen["as_of"] = as_of.isoformat() if as_of else None
    model.chosen["evidence"] = evidence
    risk, reasons = _score(model, table.features, years)
    parameters = {"cells": table.source, "label": label, "group": group, "id": id_column,
                  "unknown_value": unknown_value, "drop": list(drop), "evidence": evidence,
                  "settings": settings.to_dict(), "features": table.names, "layers": _described(layers)}
    metrics = {"labels": table.label_counts, "tuning": model.chosen, "served": model.served,
               "columns": table.report.to_dict(), "evidence": evidence_report}
    run = _store(ws, "fit", as_of, parameters, metrics, model, table, risk, reasons)
    return ModelRun(table, model, risk, reasons, table.report, evidence_report, run)


def predict_cells(ws: Workspace, cells: str, *, run_id: int | None = None, model_file: str | None = None,
                  id_column: str | None = None, evidence: bool = False, as_of: dt.date | None = None,
                  layers: list[LayerSpec] | None = None) -> ModelRun:
    """Predict a cell table with a stored run's model or a model file; stored as a run (kind predict)."""
    if (run_id is None) == (model_file is None):
        raise ValidationError("risk.which_model", "Give exactly one of --run and --model.",
                              hint="--run ID uses a stored fit; --model FILE a file written by 'risk fit --out'.")
    if run_id is not None:
        data = ws.store.risk_run_model(run_id)
        if data is None:
            raise ValidationError("risk.no_model", f"Run {run_id} holds no model (only fits do).",
                                  hint="List the fits with 'safeground risk runs --kind fit'.")
    else:
        assert model_file is not None
        data = Path(model_file).read_bytes() if Path(model_file).exists() else b""
    model = RiskModel.from_bytes(data)
    if not evidence and any(n.startswith("ev_") for n in model.names):
        # Missing evidence distances would fall on whichever side of each split the trees chose: refuse.
        raise ValidationError("risk.needs_evidence", "This model was fitted with evidence features; predicting "
                              "without them would guess the most important inputs.",
                              hint="Add --evidence --as-of DATE (evidence known by then, from --db).")
    wanted = sorted({n[4:].rpartition("_")[0] for n in model.names if n.startswith("ctx_")})
    missing = [k for k in wanted if k not in {spec.kind for spec in layers or []}]
    if missing:
        raise ValidationError("risk.needs_layers", "This model was fitted with context layers the prediction "
                              f"lacks: {', '.join(missing)}; their distances would be guessed.",
                              hint="Give the same layers (--layer KIND=FILE, or risk.layers in the configuration).")
    table = read_cell_table(cells, id_column=id_column)
    table, years, evidence_report = _with_evidence(ws, table, evidence, as_of, layers)
    features, columns = align_features(table, model.names, model.binary)
    risk, reasons = _score(model, features, years)
    parameters = {"cells": table.source, "id": id_column, "model_run": run_id, "model_file": model_file,
                  "evidence": evidence, "features": model.names, "layers": _described(layers)}
    metrics = {"served": model.served, "columns": columns.to_dict(), "evidence": evidence_report}
    run = _store(ws, "predict", as_of, parameters, metrics, None, table, risk, reasons)
    return ModelRun(table, model, risk, reasons, columns, evidence_report, run)


def write_cells(path: str | Path, result: ModelRun) -> Path:
    """Export a run's cells in input order: id, risk and the reasons' words (CSV; GeoPackage with points)."""
    path = Path(path)
    texts = ["; ".join(r["text"] for r in reasons) for reasons in result.reasons]
    if path.suffix.lower() == ".gpkg":
        import pyogrio.raw
        import shapely

        points = result.table.points
        if points is None:
            raise ValidationError("risk.no_locations", "A GeoPackage export needs each cell's location.",
                                  hint="Export to .csv instead, or add location columns to the cell table.")
        pyogrio.raw.write(path, shapely.to_wkb(points), [np.asarray(result.table.ids, dtype=object),
                                                         result.risk, np.asarray(texts, dtype=object)],
                          ["cell_id", "risk", "reasons"], layer="risk_cell", driver="GPKG", crs="EPSG:4326",
                          geometry_type="Point")
        return path
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["cell_id", "risk", "reasons"])
        out.writerows(zip(result.table.ids, (f"{r:.6f}" for r in result.risk), texts, strict=True))
    return path


def _with_evidence(ws: Workspace, table: CellTable, evidence: bool, as_of: dt.date | None,
                   layers: list[LayerSpec] | None = None
                   ) -> tuple[CellTable, dict[str, np.ndarray] | None, dict[str, Any] | None]:
    """The table with the evidence features (when asked) and the context layers' features (when given); the
    evidence report carries the layers' own under ``layers``."""
    years: dict[str, np.ndarray] | None = None
    report: dict[str, Any] | None = None
    if evidence:
        if as_of is None:
            raise _needs_as_of()
        feats = evidence_features(ws, table.points, as_of)
        table, years, report = table.with_features(feats.names, feats.values), feats.years, feats.report
    if layers:
        context = layer_features_at(ws, layers, table.points)
        table = table.with_features(context.names, context.values)
        report = {**(report or {}), "layers": context.report}
    return table, years, report


def _described(layers: list[LayerSpec] | None) -> list[str]:
    return [spec.describe() for spec in layers or []]


def _needs_as_of() -> ValidationError:
    return ValidationError("risk.needs_as_of", "Evidence features need a cut-off date.",
                           hint="Give --as-of YYYY-MM-DD: only evidence known by then is used.")


def _score(model: RiskModel, features: np.ndarray, years: dict[str, np.ndarray] | None
           ) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
    risk = model.risk(features)
    if model.served == "model":
        return risk, model.reasons(features, years)
    from safeground.domain.risk import reason_text

    j = model.names.index(model.served)
    year = (years or {}).get(model.served)
    reasons = [[{"feature": model.served, "value": None if np.isnan(v) else float(v), "effect": None,
                 "text": "served baseline: " + reason_text(model.served, float(v), year=None if year is None or
                                                           np.isnan(year[i]) else int(year[i]))}]
               for i, v in enumerate(features[:, j])]
    return risk, reasons


def _store(ws: Workspace, kind: str, as_of: dt.date | None, parameters: dict[str, Any], metrics: dict[str, Any],
           model: RiskModel | None, table: CellTable, risk: np.ndarray, reasons: list[list[dict[str, Any]]],
           *, served: str | None = None) -> Record:
    cells_out: dict[str, Any] = {"cell_id": list(table.ids), "risk": risk.tolist(), "reasons": reasons}
    if table.points is not None:
        cells_out["geometry"] = table.points
    return ws.store.write_risk_run(
        {"kind": kind, "as_of": as_of.isoformat() if as_of else None, "cells_source": "table",
         "parameters": parameters, "metrics": metrics, "model": model.to_bytes() if model else None,
         "served": served or (model.served if model else metrics.get("served"))}, cells_out, user=ws.user)


def list_runs(ws: Workspace, *, kind: str | None = None) -> list[Record]:
    return ws.store.risk_runs(kind=kind)


def adopt(ws: Workspace, run_id: int) -> Record:
    """Make a run the current one, if it may be: only risk surfaces over the study area can."""
    found = ws.store.risk_runs(run_id=run_id)
    if not found:
        return ws.store.adopt_risk_run(run_id, user=ws.user)  # raises risk.run_not_found
    run = found[0]
    if run["kind"] != "surface":
        why = {"evaluate": "an evaluation", "fit": "a fit on a cell table",
               "predict": "a prediction on an outside cell table"}.get(run["kind"], f"a {run['kind']} run")
        raise ValidationError("risk.not_adoptable", f"Run {run_id} is {why}; it can never become current.",
                              hint="Adopt a risk surface over the study area ('safeground risk surface ... "
                                   "--adopt').")
    return ws.store.adopt_risk_run(run_id, user=ws.user)
