"""The dashboard's figures: ``GET /api/stats/{summary,casualties,release,eore}`` (signed in).

Thin wrappers over the statistics services, with the same documents as ``safeground stats ... --format json``
(the database is named by its file name only, never its path on the server). Official figures count approved
and published records; ``include_submitted=true`` adds submitted ones. Every figure is an aggregate: no
personal field of a casualty is ever in an answer, whatever the user's role.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query

from safeground.services import stats, stats_casualties, stats_outreach, stats_release
from safeground.web.auth import SignedIn, WorkspaceDep

router = APIRouter(prefix="/api/stats", tags=["stats"])

Submitted = Annotated[bool, Query(description="Count submitted records too (not official figures).")]
Since = Annotated[str | None, Query(description="First day counted (ISO date).", max_length=10)]
Until = Annotated[str | None, Query(description="Last day counted (ISO date).", max_length=10)]


def _named(doc: dict[str, Any]) -> dict[str, Any]:
    if doc.get("database"):
        doc["database"] = Path(doc["database"]).name
    return doc


@router.get("/summary")
def dashboard_summary(ws: WorkspaceDep, user: SignedIn, include_submitted: Submitted = False) -> dict[str, Any]:
    """The summary figures: records per layer, contamination by class and status, land released, devices,
    casualties by status and EORE (``safeground stats``)."""
    return _named(stats.summary(ws, include_submitted=include_submitted))


@router.get("/casualties")
def dashboard_casualties(ws: WorkspaceDep, user: SignedIn, include_submitted: Submitted = False,
                      since: Since = None, until: Until = None,
                      by: Annotated[list[str], Query(description="Breakdown dimensions: "
                                                     + ", ".join(stats_casualties.DIMENSIONS))] = []) -> dict[str, Any]:  # noqa: B006
    """Casualties in Landmine Monitor's classification: outcome, status, sex, age, device, with an optional
    breakdown (``safeground stats casualties``)."""
    return _named(stats_casualties.casualty_stats(ws, since=since, until=until, by=by,
                                                  include_submitted=include_submitted))


@router.get("/release")
def dashboard_release(ws: WorkspaceDep, user: SignedIn, include_submitted: Submitted = False,
                   since: Since = None, until: Until = None,
                   by: Annotated[list[str], Query(description="Breakdown dimensions: "
                                                  + ", ".join(stats_release.DIMENSIONS))] = ["year"]  # noqa: B006
                   ) -> dict[str, Any]:
    """Land released (cancelled, reduced, cleared) by year or area, remaining contamination, devices destroyed
    and productivity (``safeground stats release``)."""
    return _named(stats_release.release_stats(ws, since=since, until=until, by=by,
                                              include_submitted=include_submitted))


@router.get("/eore")
def dashboard_eore(ws: WorkspaceDep, user: SignedIn, include_submitted: Submitted = False,
               since: Since = None, until: Until = None) -> dict[str, Any]:
    """Explosive ordnance risk education: sessions and beneficiaries by women, girls, boys and men."""
    return _named(stats_outreach.eore_stats(ws, since=since, until=until, include_submitted=include_submitted))
