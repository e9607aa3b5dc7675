"""The current risk surface on the map: ``GET /api/risk/current`` (which run the map draws) and
``GET /api/risk/runs/{run}/cells/{cell}`` (one cell's risk, its top reasons and the run's id and date, when a
cell is clicked). The cells themselves are drawn from the tiles (layer ``risk_surface``).

Signed-in users only: predicted risk is a guide for survey, not a hazard record, so the public view never shows
it. A user restricted to admin areas sees only the cells that meet them, as in the tiles. Both routes read
through the app's shared workspace, where the current run's cells are held in memory
(:mod:`safeground.services.risk_map`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool

from safeground.services import risk_map, tiles
from safeground.web.auth import SignedInReader
from safeground.web.shared import SharedReader

router = APIRouter(prefix="/api/risk", tags=["map"])


@router.get("/current")
async def current_risk_run(request: Request, user: SignedInReader) -> dict[str, Any]:
    """The current risk run as the map names it (id, date, score served, cells by risk band), or
    ``{"current": false}`` when none has been adopted."""
    return await run_in_threadpool(_summary, request.app.state.shared)


@router.get("/runs/{run_id}/cells/{position}")
async def risk_cell(request: Request, user: SignedInReader, run_id: Annotated[int, Path(ge=1)],
                    position: Annotated[int, Path(ge=0)]) -> dict[str, Any]:
    """One cell of a run (``position``: its place in the run, as the tiles give it as ``cell``): its risk, its
    top three reasons in words, the run's id, date and title, and the caveat."""
    return await run_in_threadpool(_cell, request.app.state.shared, run_id, position, user.areas or None)


def _summary(shared: SharedReader) -> dict[str, Any]:
    with shared.workspace() as ws:
        return risk_map.run_summary(ws)


def _cell(shared: SharedReader, run_id: int, position: int, areas: tuple[str, ...] | None) -> dict[str, Any]:
    with shared.workspace() as ws:
        within = tiles.resolve_restriction(ws, areas).area if areas else None
        return risk_map.cell_detail(ws, run_id, position, within=within)
