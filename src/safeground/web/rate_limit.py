"""The public endpoints' rate limit: at most N requests in any moving window per client (default 60 a minute).

A client is its remote address as the server sees it (``request.client.host``). Behind a reverse proxy every
request comes from the proxy, so ``create_app(trusted_proxies=...)`` (``safeground serve --trust-proxy IPS``)
takes the client from ``X-Forwarded-For`` for requests that come from those proxies only (uvicorn's
``ProxyHeadersMiddleware``); it is off by default, since any client can write that header.

The counting is the ``limits`` library's moving window over its in-memory storage (thread-safe: a lock per
client; memory bounded: at most N timestamps per client, and a client's entry expires a window after its last
request). Over the limit: ``http.too_many_requests`` (429) with ``Retry-After``, the seconds until the oldest
request in the window leaves it.

>>> limit = RateLimit("2/minute")
>>> limit.hit("10.0.0.1"), limit.hit("10.0.0.1")
(None, None)
>>> err = limit.hit("10.0.0.1")
>>> err.code, err.status, 1 <= err.details["retry_after_s"] <= 60
('http.too_many_requests', 429, True)
>>> limit.hit("10.0.0.2") is None
True
"""

from __future__ import annotations

import math
import time

# limits (the engine of slowapi and Flask-Limiter): exact moving windows, thread-safe in-memory storage with
# expiry; slowapi's decorators would need a Request parameter on every handler, so the dependency below uses
# limits directly.
from limits import RateLimitItem, parse, storage, strategies
from starlette.requests import Request

from safeground.domain.errors import RateLimitError, ValidationError

#: The public endpoints' default limit (issue 5: 60 requests a minute per client).
DEFAULT = "60/minute"
#: The public tiles' default limit: a map view asks for a dozen tiles or more at once.
TILES_DEFAULT = "1200/minute"


class RateLimit:
    """``limit`` requests per client in any moving window, in ``limits`` notation (``"60/minute"``,
    ``"5/second"``)."""

    def __init__(self, limit: str = DEFAULT) -> None:
        try:
            self.item: RateLimitItem = parse(limit)
        except ValueError:
            raise ValidationError("web.bad_rate_limit", f"{limit!r} is not a rate limit.",
                                  hint="Write it as COUNT/PERIOD, e.g. 60/minute or 5/second.") from None
        self.limit = limit
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def hit(self, client: str) -> RateLimitError | None:
        """Count one request of ``client``; the error to answer with when it is over the limit, else ``None``."""
        if self._limiter.hit(self.item, client):
            return None
        reset = self._limiter.get_window_stats(self.item, client).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        return RateLimitError("http.too_many_requests",
                              f"More than {self.item.amount} requests in {self._period()} from this client.",
                              hint=f"Wait {wait} s and try again; for many points at once, sign in and use "
                                   "POST /api/safety/batch.", details={"retry_after_s": wait, "limit": self.limit})

    def _period(self) -> str:
        n, unit = self.item.multiples, self.item.GRANULARITY.name
        return f"a {unit}" if n == 1 else f"{n} {unit}s"


def client_of(request: Request) -> str:
    """The client a request counts against: its remote address (after ``X-Forwarded-For`` from trusted proxies)."""
    return request.client.host if request.client else "unknown"


def _count(limit: RateLimit | None, request: Request) -> None:
    if limit is not None:
        refused = limit.hit(client_of(request))
        if refused is not None:
            raise refused


# async: the count takes microseconds, so it runs on the event loop rather than a worker thread
async def public_rate_limit(request: Request) -> None:
    """FastAPI dependency of the public routes: count the request, refuse it over the app's ``rate_limit``
    (``None``: no limit)."""
    _count(request.app.state.rate_limit, request)


async def public_tile_rate_limit(request: Request) -> None:
    """The same for the public tiles, over the app's ``tile_rate_limit``."""
    _count(request.app.state.tile_rate_limit, request)
