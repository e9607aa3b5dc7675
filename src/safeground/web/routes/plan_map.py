"""The current clearance plan on the map: ``GET /api/plan/current`` names the plan the map draws (its id, start
date and horizon). The plan's hazards are drawn from the tiles (layer ``plan``), each with its teams and weeks;
a click opens the hazard's record. Signed-in users only, through the app's shared workspace
(:mod:`safeground.services.plan_map`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from safeground.services import plan_map
from safeground.web.auth import SignedInReader
from safeground.web.shared import SharedReader

router = APIRouter(prefix="/api/plan", tags=["map"])


@router.get("/current")
async def current_plan_run(request: Request, user: SignedInReader) -> dict[str, Any]:
    """The current clearance plan as the map names it (id, start date, horizon in weeks, status), or
    ``{"current": false}`` when none has been adopted."""
    return await run_in_threadpool(_summary, request.app.state.shared)


def _summary(shared: SharedReader) -> dict[str, Any]:
    with shared.workspace() as ws:
        return plan_map.plan_summary(ws)
