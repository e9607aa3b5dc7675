"""One long-lived, read-only workspace per app, shared by the requests that only read derived state.

The safety check's STRtree (:func:`~safeground.services.safety.safety_index`), the tile caches and the area
restrictions of :mod:`~safeground.services.tiles` are cached per open workspace. A request's own workspace
(:mod:`safeground.web.auth`) lives one request, so those caches would be rebuilt on every request (about 9 s for the
safety index of the national scenario). :class:`SharedReader` keeps one read-only workspace open for the life of
the app instead, so they are built once, and each use brings them up to date with the audit log (the services
read the audit rows newer than the state they hold): an edit made through any connection is in the next safety
answer and the next tile.

Thread safety: uvicorn runs sync handlers in a thread pool, and one SQLite connection and the services' caches
must not be used by two threads at once, so :meth:`SharedReader.workspace` hands the workspace out under a lock;
hold it only for the service call.

Two tile caches, so that public tiles never share state with the signed-in ones: ``<db>.tiles`` (signed-in map)
and ``<db>.public.tiles`` (public page), or both beside the ``tile_cache`` path given.

>>> import os, tempfile
>>> db = os.path.join(tempfile.mkdtemp(), "w.gpkg")
>>> Workspace.open(db, user="ana", create=True).close()
>>> shared = SharedReader(db)
>>> with shared.workspace() as ws:
...     ws.store.read_only
True
>>> shared.tile_cache.path.endswith("w.gpkg.tiles"), shared.public_tile_cache.path.endswith("w.gpkg.public.tiles")
(True, True)
>>> shared.close()
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from safeground.services import tiles
from safeground.services.workspace import Workspace
from safeground.store.tile_cache import TileCache

#: The acting user of the shared workspace (it never writes).
READER = "anonymous"


def tile_cache_paths(db: str | Path, tile_cache: str | Path | None = None) -> tuple[str, str]:
    """The signed-in map's and the public page's tile cache files for ``db`` (``tile_cache`` moves both).

    >>> tile_cache_paths("demo.gpkg")
    ('demo.gpkg.tiles', 'demo.gpkg.public.tiles')
    >>> tile_cache_paths("demo.gpkg", "/var/cache/map.tiles")
    ('/var/cache/map.tiles', '/var/cache/map.public.tiles')
    """
    base = str(tile_cache) if tile_cache is not None else str(db) + ".tiles"
    return base, (base[:-len(".tiles")] + ".public.tiles" if base.endswith(".tiles") else base + ".public")


class SharedReader:
    """The app's read-only workspace on ``db`` and its tile caches, opened on first use, behind one lock."""

    def __init__(self, db: str | Path, *, tile_cache: str | Path | None = None) -> None:
        self.db = str(db)
        self._tile_paths = tile_cache_paths(db, tile_cache)
        self._lock = threading.RLock()
        self._ws: Workspace | None = None
        self._caches: tuple[TileCache, TileCache] | None = None

    @contextmanager
    def workspace(self) -> Iterator[Workspace]:
        """The shared workspace, held by this thread until the ``with`` block ends."""
        with self._lock:
            if self._ws is None:
                self._ws = Workspace.open(self.db, read_only=True, user=READER)
            yield self._ws

    def try_workspace(self) -> Workspace | None:
        """The shared workspace if no other thread holds it (then held until :meth:`release`), else ``None``:
        for a short read done on the event loop, which must never wait for the lock."""
        if not self._lock.acquire(blocking=False):
            return None
        if self._ws is None:
            try:
                self._ws = Workspace.open(self.db, read_only=True, user=READER)
            except BaseException:
                self._lock.release()
                raise
        return self._ws

    def release(self) -> None:
        """Give back what :meth:`try_workspace` handed out."""
        self._lock.release()

    def _tile_caches(self) -> tuple[TileCache, TileCache]:
        with self._lock:
            if self._caches is None:
                self._caches = (TileCache(self._tile_paths[0]), TileCache(self._tile_paths[1]))
            return self._caches

    @property
    def tile_cache(self) -> TileCache:
        """The signed-in map's tile cache."""
        return self._tile_caches()[0]

    @property
    def public_tile_cache(self) -> TileCache:
        """The public page's tile cache (a separate file)."""
        return self._tile_caches()[1]

    def refresh_tiles(self) -> int:
        """Bring both tile caches up to date with the audit log, rendering again at once the cached tiles that
        changes touched (the app runs this every ``tile_refresh_s``, so the next view of an edited place is served
        from the cache); how many tiles were dropped."""
        with self.workspace() as ws:
            return sum(tiles.refresh(ws, cache, render=True, layers=layers) for cache, layers in
                       ((self.tile_cache, tiles.LAYERS), (self.public_tile_cache, tiles.PUBLIC_LAYERS)))

    def close(self) -> None:
        """Close the workspace and the caches (they open again on next use)."""
        with self._lock:
            if self._ws is not None:
                self._ws.close()
                self._ws = None
            if self._caches is not None:
                for cache in self._caches:
                    cache.close()
                self._caches = None
