"""Signing in and out: ``POST /api/auth/token`` trades a username and password for an API token.

The web map keeps that token for the browser session and sends it as ``Authorization: Bearer``; signing out
revokes it. Any client may do the same, or use a token made with ``safeground users token``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from safeground.services import users
from safeground.web.auth import SignedIn, WorkspaceDep

router = APIRouter(prefix="/api/auth", tags=["auth"])


class SignIn(BaseModel):
    """A username and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/token", status_code=201)
def sign_in(body: SignIn, ws: WorkspaceDep) -> dict[str, Any]:
    """A new API token for this username and password (show it once: only its hash is kept)."""
    ws.user = body.username.strip().lower()
    token, user = users.sign_in(ws, body.username, body.password)
    return {"token": token, "token_type": "bearer", "user": user.to_dict()}


@router.delete("/token", status_code=204)
def sign_out(request: Request, ws: WorkspaceDep, user: SignedIn) -> None:
    """Revoke the bearer token this request was sent with."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer":
        users.sign_out(ws, token.strip())


@router.get("/me")
def me(user: SignedIn) -> dict[str, Any]:
    """Who the request is signed in as: username, display name, role and area restrictions, and what the
    role allows on each layer."""
    doc = user.to_dict()
    doc["can"] = {action: user.can(action) for action in ("create", "review", "publish_figures", "manage_users")}
    return doc
