"""A pool of PostgreSQL connections for a server's threads (``safeground serve --db postgresql://...``).

psycopg_pool's :class:`~psycopg_pool.ConnectionPool` holds at most ``max_connections`` open connections; a
request borrows one as a :class:`PooledPostGISStore` and gives it back on :meth:`~PooledPostGISStore.close`, so a
busy server neither opens a connection per request (a TCP and authentication round trip each) nor exceeds the
server's connection limit. Every connection is set up as :meth:`PostGISStore.open` sets up its own (UTC, and
read-only sessions for a read-only pool); the schema was checked or migrated once, when the pool was made.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from safeground.domain.errors import StoreError
from safeground.store.postgis import PostGISStore, redacted


class PooledPostGISStore(PostGISStore):
    """A :class:`PostGISStore` on a borrowed connection: :meth:`close` gives it back to its pool."""

    def __init__(self, conn: Any, url: str, pool: ConnectionPool, *, read_only: bool = False) -> None:
        super().__init__(conn, url, read_only=read_only)
        self._pool = pool

    def close(self) -> None:
        """Give the connection back (a transaction left open is rolled back by the pool); twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._pool.putconn(self._conn)


class PostGISPool:
    """At most ``max_connections`` connections to ``url``, lent as stores; a borrower waits ``timeout_s`` at most."""

    def __init__(self, url: str, *, read_only: bool = False, max_connections: int = 10,
                 timeout_s: float = 30.0) -> None:
        self.url = url
        self.read_only = read_only
        self.max_connections = max_connections

        def configure(conn: psycopg.Connection[Any]) -> None:
            conn.execute("SET TIME ZONE 'UTC'")
            if read_only:
                conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")

        def reset(conn: psycopg.Connection[Any]) -> None:
            conn.execute("DISCARD TEMP")  # an import's staging tables never reach the next borrower

        self._pool = ConnectionPool(url, min_size=min(2, max_connections), max_size=max_connections,
                                    kwargs={"autocommit": True}, configure=configure, reset=reset,
                                    check=ConnectionPool.check_connection, timeout=timeout_s, open=True,
                                    name="safeground")

    def open(self) -> PooledPostGISStore:
        """A store on a free connection; ``store.pool_exhausted`` (503) when none frees up in time."""
        try:
            conn = self._pool.getconn()
        except PoolTimeout:
            raise StoreError("store.pool_exhausted",
                             f"All {self.max_connections} connections to {redacted(self.url)} stayed busy.",
                             hint="Try again shortly; for a busier server raise server.max_connections in the "
                                  "configuration (and the PostgreSQL server's max_connections).",
                             status=503) from None
        return PooledPostGISStore(conn, self.url, self._pool, read_only=self.read_only)

    def close(self) -> None:
        """Close every connection of the pool."""
        self._pool.close()
