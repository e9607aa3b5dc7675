"""Risk runs: evaluate a cell table and store the run; list runs; adopt one as current.

Every run is stored in the database (``safeground_risk_run`` and its cells). Only adoption makes a run current,
and only a run over the database's own study area can be adopted: runs of ``evaluate``, and runs on outside
cell tables, never become current (``risk.not_adoptable``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.services.risk_cells import CellTable, read_cell_table
from safeground.services.risk_evaluate import Evaluation, Progress, evaluate
from safeground.services.risk_features import evidence_features
from safeground.services.risk_model import ModelSettings
from safeground.services.workspace import Workspace
from safeground.store.base import Record


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
                   progress: Progress | None = None) -> EvaluationRun:
    """Read a cell table, add evidence features as of ``as_of`` when asked, evaluate, and store the run."""
    settings = settings or ModelSettings()
    if evidence and as_of is None:
        raise ValidationError("risk.needs_as_of", "Evidence features need a cut-off date.",
                              hint="Give --as-of YYYY-MM-DD: only evidence known by then is used.")
    table = read_cell_table(cells, id_column=id_column, label_column=label, unknown_value=unknown_value,
                            group_column=group, drop=drop)
    years = None
    evidence_report = None
    if evidence:
        assert as_of is not None
        feats = evidence_features(ws, table.points, as_of)
        table = table.with_features(feats.names, feats.values)
        years = feats.years
        evidence_report = feats.report
    result = evaluate(table, settings, years=years, progress=progress)
    served = next(r for r in result.results if r.name == result.served)
    parameters = {"cells": table.source, "label": label, "group": group, "id": id_column,
                  "unknown_value": unknown_value, "drop": list(drop), "evidence": evidence,
                  "settings": settings.to_dict(), "features": table.names, "columns": table.report.to_dict()}
    metrics = {**result.to_dict(), "evidence": evidence_report}
    cells_out: dict[str, Any] = {"cell_id": list(table.ids), "risk": served.risk.tolist(), "reasons": result.reasons}
    if table.points is not None:
        cells_out["geometry"] = table.points
    run = ws.store.write_risk_run(
        {"kind": "evaluate", "as_of": as_of.isoformat() if as_of else None, "cells_source": "table",
         "parameters": parameters, "metrics": metrics, "model": None, "served": result.served},
        cells_out, user=ws.user)
    return EvaluationRun(result, table, evidence_report, run)


def list_runs(ws: Workspace, *, kind: str | None = None) -> list[Record]:
    return ws.store.risk_runs(kind=kind)


def adopt(ws: Workspace, run_id: int) -> Record:
    """Make a run the current one, if it may be: not an evaluation, not on an outside cell table."""
    found = ws.store.risk_runs(run_id=run_id)
    if not found:
        return ws.store.adopt_risk_run(run_id, user=ws.user)  # raises risk.run_not_found
    run = found[0]
    if run["kind"] == "evaluate" or run["cells_source"] == "table":
        why = "an evaluation" if run["kind"] == "evaluate" else "a run on an outside cell table"
        raise ValidationError("risk.not_adoptable", f"Run {run_id} is {why}; it can never become current.",
                              hint="Adopt a risk surface over the study area ('safeground risk surface ... "
                                   "--adopt').")
    return ws.store.adopt_risk_run(run_id, user=ws.user)
