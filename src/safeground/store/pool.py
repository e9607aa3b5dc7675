"""Stores on one database for a server's threads, whichever the backend.

A GeoPackage file is opened anew for each use (a SQLite connection is cheap, and must not cross threads); a
PostgreSQL database lends a connection of a pool (:mod:`safeground.store.postgis_pool`), given back when the
store is closed.

>>> import tempfile, os
>>> from safeground.store import open_store
>>> path = os.path.join(tempfile.mkdtemp(), "p.gpkg")
>>> open_store(path, create=True).close()
>>> pool = StorePool(path, read_only=True)
>>> with pool.open() as store:
...     store.read_only, store.count("hazard_area")
(True, 0)
>>> pool.close()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safeground.store import is_server, open_store
from safeground.store.base import Store


class StorePool:
    """Opens stores on ``db``: at most ``max_connections`` at once on a server, each waiting ``timeout_s`` at most
    for a free connection; a GeoPackage file without limit. The database must exist and have today's schema."""

    def __init__(self, db: str | Path, *, read_only: bool = False, max_connections: int = 10,
                 timeout_s: float = 30.0) -> None:
        self.db = str(db)
        self.read_only = read_only
        self._server: Any = None
        if is_server(self.db):
            from safeground.store.postgis_pool import PostGISPool

            self._server = PostGISPool(self.db, read_only=read_only, max_connections=max_connections,
                                       timeout_s=timeout_s)

    def open(self) -> Store:
        """A store on the database, to close after use."""
        if self._server is not None:
            store: Store = self._server.open()
            return store
        return open_store(self.db, read_only=self.read_only)

    def close(self) -> None:
        """Close the pool's connections (stores still lent keep theirs until closed)."""
        if self._server is not None:
            self._server.close()
