"""The vector tile cache: a side SQLite file beside the database (``<db>.tiles``), never inside it.

A side file keeps the GeoPackage free of derived bytes (and a read-only database servable); deleting it only
costs regeneration. One row per (tile layer, z, x, y, tileset): a tileset is one restriction (``all`` for
none). ``mark`` identifies the last audit row whose changes the cached tiles already reflect (its number, time,
layer and feature id: :func:`~safeground.store.base.change_mark`), and ``seq`` is its number. A database whose
log no longer holds that row (rewound by a point-in-time recovery, or another file restored under the same name)
is not the one the tiles were drawn from: :func:`safeground.services.tiles.refresh` then clears the cache.
(The ``state`` table held the number alone before marks; it is no longer read.)

>>> cache = TileCache(":memory:")
>>> cache.put("all", "hazards", [((12, 1, 2), b"tile")])
>>> cache.get("all", "hazards", 12, 1, 2), cache.get("all", "hazards", 12, 1, 3)
(b'tile', None)
>>> cache.drop("hazards", [(12, 1, 2)])
[('all', 12, 1, 2)]
>>> cache.get("all", "hazards", 12, 1, 2) is None
True
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS tile (
    layer TEXT NOT NULL, z INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL, tileset TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (layer, z, x, y, tileset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS history (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class TileCache:
    """Cached tiles by tileset, layer and (z, x, y); thread-safe (one connection behind a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def get(self, tileset: str, layer: str, z: int, x: int, y: int) -> bytes | None:
        with self._lock:
            row = self._conn.execute("SELECT data FROM tile WHERE layer = ? AND z = ? AND x = ? AND y = ? "
                                     "AND tileset = ?", (layer, z, x, y, tileset)).fetchone()
        return None if row is None else bytes(row[0])

    def put(self, tileset: str, layer: str, tiles: Iterable[tuple[tuple[int, int, int], bytes]]) -> None:
        rows = [(layer, z, x, y, tileset, data) for (z, x, y), data in tiles]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO tile VALUES (?, ?, ?, ?, ?, ?)", rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def drop(self, layer: str, tiles: Iterable[tuple[int, int, int]]) -> list[tuple[str, int, int, int]]:
        """Forget ``tiles`` of ``layer`` in every tileset; the ``(tileset, z, x, y)`` that were cached."""
        dropped: list[tuple[str, int, int, int]] = []
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for z, x, y in tiles:
                    dropped += self._conn.execute("DELETE FROM tile WHERE layer = ? AND z = ? AND x = ? AND y = ? "
                                                  "RETURNING tileset, z, x, y", (layer, z, x, y)).fetchall()
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return dropped

    def drop_layer(self, layer: str) -> int:
        """Forget every tile of ``layer``."""
        with self._lock:
            return self._conn.execute("DELETE FROM tile WHERE layer = ?", (layer,)).rowcount

    def count(self, layer: str | None = None) -> int:
        with self._lock:
            if layer is None:
                return int(self._conn.execute("SELECT count(*) FROM tile").fetchone()[0])
            return int(self._conn.execute("SELECT count(*) FROM tile WHERE layer = ?", (layer,)).fetchone()[0])

    @property
    def mark(self) -> str | None:
        """The :func:`~safeground.store.base.change_mark` of the last audit row the tiles reflect; ``None`` for
        a new cache, or one written before caches kept marks."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM history WHERE key = 'mark'").fetchone()
        return None if row is None else str(row[0])

    @mark.setter
    def mark(self, value: str) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO history VALUES ('mark', ?)", (value,))

    @property
    def seq(self) -> int | None:
        """The audit sequence number the tiles reflect (the mark's); ``None`` for a new cache."""
        mark = self.mark
        return None if mark is None else int(mark.split("/", 1)[0])

    def clear(self) -> int:
        """Forget every tile and the mark (the cache is new again); how many tiles were cached."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                count = self._conn.execute("DELETE FROM tile").rowcount
                self._conn.execute("DELETE FROM history")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return int(count)
