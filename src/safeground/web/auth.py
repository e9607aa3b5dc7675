"""Who is asking: the ``Authorization`` header turned into a :class:`~safeground.domain.users.User`.

Two schemes, both over the users service (never over SQL):

- ``Authorization: Bearer TOKEN``: an API token (``safeground users token``, or ``POST /api/auth/token``,
  which the web map uses to sign in): one hash lookup per request;
- ``Authorization: Basic base64(username:password)``: for clients that only know Basic (QGIS, GDAL); each
  request verifies the password with argon2id, so prefer a token for anything busy.

No header means nobody signed in (``None``): the public view and the OGC collections of non-personal layers
still answer; everything else says ``auth.required`` (401) with a ``WWW-Authenticate`` challenge. The
request's workspace acts as the signed-in user, so every write is audited with their name.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from safeground.domain.errors import AuthenticationError
from safeground.domain.users import User
from safeground.services import users
from safeground.services.workspace import Workspace, WorkspacePool
from safeground.web.shared import SharedReader

#: The acting user of requests nobody signed in to (they may only read public views).
ANONYMOUS = "anonymous"


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    name, sep, password = decoded.partition(":")
    if not sep:
        raise AuthenticationError("auth.bad_header", "The Basic credentials are not base64 of 'username:password'.",
                                  hint="Send 'Authorization: Basic ' followed by base64 of username:password.")
    return name, password


def identify(ws: Workspace, authorization: str | None) -> User | None:
    """The user an ``Authorization`` header names, ``None`` without one; 401 for wrong credentials."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.strip():
        return users.authenticate_token(ws, value.strip())
    if scheme == "basic" and value.strip():
        return users.authenticate(ws, *_basic(value.strip()))
    raise AuthenticationError("auth.bad_header", f"Unsupported Authorization scheme {scheme!r}.",
                              hint="Send 'Authorization: Bearer TOKEN' or 'Authorization: Basic ...'.")


def open_workspace(request: Request) -> Iterator[Workspace]:
    """The request's workspace on the app's database, acting as whoever the request signed in as."""
    ws = request.app.state.workspaces.open(user=ANONYMOUS)
    try:
        user = identify(ws, request.headers.get("authorization"))
        request.state.user = user
        if user is not None:
            ws.user = user.username
        yield ws
    finally:
        ws.close()


def current_user(request: Request, ws: Annotated[Workspace, Depends(open_workspace)]) -> User | None:
    """The signed-in user, or ``None`` (declare ``ws`` too, so the header is read once)."""
    user: User | None = request.state.user
    return user


def signed_in(user: Annotated[User | None, Depends(current_user)]) -> User:
    """The signed-in user; ``auth.required`` (401) when nobody is."""
    if user is None:
        raise AuthenticationError("auth.required", "Sign in first.",
                                  hint="Send 'Authorization: Bearer TOKEN' (POST /api/auth/token gives one) or "
                                       "Basic credentials.")
    return user


async def signed_in_shared(request: Request) -> User:
    """The signed-in user, for busy routes that only read (tiles, the batch safety check): a bearer token is
    looked up through the app's shared read-only workspace (:mod:`safeground.web.shared`) instead of a database
    opened for the request (about 8 ms on the national scenario), on the event loop when the workspace is free
    (two indexed reads), else in a worker thread; its last use is then not recorded. Basic credentials (argon2id,
    tens of ms) are verified in a worker thread on a workspace of the request's own, as elsewhere."""
    header = request.headers.get("authorization")
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        shared: SharedReader = request.app.state.shared
        ws = shared.try_workspace()
        if ws is None:
            return await run_in_threadpool(_identify_shared, shared, header)
        try:
            return signed_in(identify(ws, header))
        finally:
            shared.release()
    return await run_in_threadpool(_identify_own, request.app.state.workspaces, header)


def _identify_shared(shared: SharedReader, header: str | None) -> User:
    with shared.workspace() as ws:
        return signed_in(identify(ws, header))


def _identify_own(workspaces: WorkspacePool, header: str | None) -> User:
    with workspaces.open(user=ANONYMOUS) as ws:
        return signed_in(identify(ws, header))


#: Handy annotations for route signatures.
WorkspaceDep = Annotated[Workspace, Depends(open_workspace)]
MaybeUser = Annotated[User | None, Depends(current_user)]
SignedIn = Annotated[User, Depends(signed_in)]
#: Signed in, checked without opening the database for the request (read-only routes; see signed_in_shared).
SignedInReader = Annotated[User, Depends(signed_in_shared)]
