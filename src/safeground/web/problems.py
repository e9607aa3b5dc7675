"""Every error answered as an RFC 9457 problem document (``application/problem+json``).

A :class:`SafeGroundError` keeps its code, message, hint and HTTP status; a request that does not match the
API's declarations is ``request.invalid`` (422) with the fields at fault; an unknown route or method is
``http.not_found`` / ``http.method_not_allowed``; anything unexpected is ``server.error`` (500) without a
traceback, which stays in the server's log. A 401 carries a ``WWW-Authenticate`` challenge, a 429 (a rate limit)
a ``Retry-After`` in seconds.

>>> problem(404, "record.not_found", "No hazard area HA-000009.", hint="Check the ref.")["type"]
'https://safeground.org/errors/record.not_found'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from safeground.domain.errors import SafeGroundError

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("safeground.web")

_HTTP_CODES = {401: "http.unauthorized", 403: "http.forbidden", 404: "http.not_found",
               405: "http.method_not_allowed", 406: "http.not_acceptable", 429: "http.too_many_requests"}


def problem(status: int, code: str, title: str, *, hint: str = "", **extra: Any) -> dict[str, Any]:
    """A problem document with SafeGround's fields: ``type``, ``title``, ``status``, ``code``, ``hint``."""
    return {"type": f"https://safeground.org/errors/{code}", "title": title, "status": status, "code": code,
            "hint": hint, **extra}


def _response(doc: dict[str, Any], headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(doc, status_code=doc["status"], media_type=MEDIA_TYPE, headers=headers)


#: The challenge sent with every 401 (RFC 9110 §11.6.1).
CHALLENGE = 'Bearer realm="SafeGround", Basic realm="SafeGround", charset="UTF-8"'


async def _safeground_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SafeGroundError)
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = CHALLENGE
    if exc.status == 429 and "retry_after_s" in exc.details:  # RFC 9110 §10.2.3: whole seconds
        headers["Retry-After"] = str(int(exc.details["retry_after_s"]))
    return _response(exc.to_problem(), headers=headers or None)


async def _request_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
              for e in exc.errors()]
    title = "The request does not match the API: " + "; ".join(f"{e['where']}: {e['problem']}" for e in errors)
    return _response(problem(422, "request.invalid", title, hint="See the OpenAPI document at /api/openapi.json.",
                             errors=errors))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http.{exc.status_code}")
    hint = "See /api for what is served." if exc.status_code == 404 else ""
    return _response(problem(exc.status_code, code, str(exc.detail), hint=hint), headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("Unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return _response(problem(500, "server.error", "The server failed to answer; the error is in its log.",
                             hint="Report it to the system administrator with the time of the request."))


def install(app: FastAPI) -> None:
    """Register the problem handlers on ``app``."""
    app.add_exception_handler(SafeGroundError, _safeground_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)
