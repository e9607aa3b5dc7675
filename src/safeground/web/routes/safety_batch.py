"""``POST /api/safety/batch``: the safety check for many points at once, for signed-in users (any role).

Not rate-limited (it is signed in), but bounded: at most :data:`MAX_POINTS` points a request
(``safety.too_many_points``, 422, beyond). Points come as ``[[lon, lat], ...]`` or as two columns ``lon`` and
``lat``; the answer is column arrays too, in the order given, so that a million points in a hundred requests
stay cheap to send and read: ``class`` (codes into ``classes``: 0 inside, 1 within, 2 clear) and ``distance_m``
(metres to the nearest public hazard polygon, to the millimetre, where inside or within; null where clear).
Each point gets exactly the answer ``GET /api/public/safety`` gives it alone.
"""

from __future__ import annotations

import numpy as np
import pydantic
import pydantic_core
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from safeground.domain.errors import ValidationError
from safeground.services import safety
from safeground.web.auth import SignedInReader
from safeground.web.shared import SharedReader

router = APIRouter(prefix="/api/safety", tags=["public"])

#: The most points one request may carry.
MAX_POINTS = 10_000


class PointBatch(BaseModel):
    """Points to check, as ``points`` ([lon, lat] pairs) or as ``lon`` and ``lat`` columns (WGS84)."""

    distance: float = Field(safety.DEFAULT_DISTANCE_M, ge=0, le=safety.MAX_DISTANCE_M,
                            description="Metres around each point that count as near a hazard.")
    points: list[tuple[float, float]] | None = Field(None, description="[[lon, lat], ...]")
    lon: list[float] | None = Field(None, description="Longitudes, with lat: one point per position.")
    lat: list[float] | None = None

    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """Latitudes and longitudes as arrays; ``safety.bad_points`` unless given one way, whole."""
        if self.points is not None and self.lon is None and self.lat is None:
            xy = np.array(self.points, dtype=float).reshape(-1, 2)
            lat, lon = xy[:, 1], xy[:, 0]
        elif self.points is None and self.lon is not None and self.lat is not None:
            lat, lon = np.array(self.lat, dtype=float), np.array(self.lon, dtype=float)
        else:
            raise ValidationError("safety.bad_points", "Give the points either as 'points' or as 'lon' and 'lat'.",
                                  hint='Send {"points": [[lon, lat], ...]} or {"lon": [...], "lat": [...]}.')
        if len(lat) > MAX_POINTS:
            raise ValidationError("safety.too_many_points", f"{len(lat):,} points in one request; at most "
                                  f"{MAX_POINTS:,} are checked at once.",
                                  hint=f"Split them into requests of {MAX_POINTS:,} points or fewer.",
                                  details={"points": len(lat), "max_points": MAX_POINTS})
        return lat, lon


EXAMPLE = {"distance": 100, "points": [[-72.495, 5.005], [-72.40, 5.10]]}
ANSWER = {"distance_m": 100.0, "count": 2, "classes": list(safety.CLASSES), "class": [0, 2], "distance": [0.0, None],
          "caveat": safety.CAVEAT}


# The body is read raw and parsed by pydantic's own JSON parser (Rust): for 10,000 points about 4 ms, against
# about 19 ms for the json module that FastAPI's declared bodies go through. The answer is written the same way.
@router.post("/batch", response_class=Response, openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": PointBatch.model_json_schema(), "example": EXAMPLE}}}},
    responses={200: {"content": {"application/json": {"example": ANSWER}},
                     "description": "Column arrays: class codes and distances in the order of the points."}})
async def safety_batch(request: Request, user: SignedInReader) -> Response:
    """Check up to 10,000 points at once: per point, inside / within ``distance`` / clear (``class``, codes into
    ``classes``) and the distance in metres to the nearest public hazard polygon when within ``distance``."""
    try:
        body = PointBatch.model_validate_json(await request.body())
    except pydantic.ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    return Response(await run_in_threadpool(_answer, request.app.state.shared, body), media_type="application/json")


def _answer(shared: SharedReader, body: PointBatch) -> bytes:
    lat, lon = body.columns()
    with shared.workspace() as ws:
        klass, dist = safety.check_points(ws, lat, lon, body.distance)
    return pydantic_core.to_json({"distance_m": body.distance, "count": len(klass), "classes": list(safety.CLASSES),
                                  "class": klass.tolist(), "distance": np.round(dist, 3).tolist(),
                                  "caveat": safety.CAVEAT}, inf_nan_mode="null")
