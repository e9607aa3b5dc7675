"""Bulk loading of a GeoPackage R-tree (SQLite R*Tree module), packed along a Hilbert curve.

Inserting a million boxes one by one through the R*Tree module costs ~13 µs each. GDAL fills a
GeoPackage spatial index by writing the R*Tree's tables directly; this does the same, in bounded memory.
:class:`Packer` writes leaves as batches of boxes arrive (each batch packed along a Hilbert curve,
:func:`hilbert`) and the small levels above them at the end; :func:`rebuild` packs a whole table of boxes,
which SQLite sorts (spilling to disk when large). The result is the tree the module itself reads and
updates afterwards (checked with SQLite's ``rtreecheck``).

Format (SQLite ``ext/rtree/rtree.c``): node 1 is the root; a node is a blob of the table's node size
holding a 2-byte depth (root only), a 2-byte cell count and cells of an 8-byte id and four 4-byte floats
(minx, maxx, miny, maxy), all big-endian. ``<name>_rowid`` maps each id to its leaf, ``<name>_parent``
each node to its parent. Float32 bounds are rounded outwards, as the module does.

>>> import sqlite3
>>> conn = sqlite3.connect(":memory:")
>>> _ = conn.execute("CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx, miny, maxy)")
>>> _ = conn.execute(f"CREATE TEMP TABLE boxes ({PENDING_COLUMNS})")
>>> x = np.arange(1, 1001) * 0.1
>>> _ = conn.executemany("INSERT INTO boxes VALUES (?, ?, ?, ?, ?, ?)", zip(range(1, 1001), x.tolist(),
...                      (x + 0.05).tolist(), [1.0] * 1000, [1.5] * 1000, hilbert(x, np.ones(1000)).tolist()))
>>> rebuild(conn, "r", "temp.boxes")
1000
>>> conn.execute("SELECT rtreecheck('r')").fetchone()[0]
'ok'
>>> conn.execute("SELECT id FROM r WHERE minx <= 0.31 AND maxx >= 0.29").fetchall()
[(3,)]
"""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np

_CELL = np.dtype([("id", ">i8"), ("minx", ">f4"), ("maxx", ">f4"), ("miny", ">f4"), ("maxy", ">f4")])
_STREAM = 100_000  # leaf entries read from SQLite at a time


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: Columns of a table of boxes waiting to be indexed (``hkey``: :func:`hilbert` of the box centre).
PENDING_COLUMNS = "id INTEGER, minx REAL, maxx REAL, miny REAL, maxy REAL, hkey INTEGER"


def hilbert(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Position of each WGS84 point along a Hilbert curve over the world (16 bits per axis).

    >>> hilbert(np.array([-180.0, 180.0]), np.array([-90.0, -90.0])).tolist()
    [0, 4294967295]
    """
    side = 1 << 16
    xi = np.clip(((np.asarray(x, dtype=float) + 180.0) / 360.0 * side).astype(np.int64), 0, side - 1)
    yi = np.clip(((np.asarray(y, dtype=float) + 90.0) / 180.0 * side).astype(np.int64), 0, side - 1)
    d = np.zeros(len(xi), dtype=np.int64)
    s = side // 2
    while s > 0:
        rx = (xi & s) > 0
        ry = (yi & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        flip = ~ry  # rotate the quadrant so that the curve stays continuous
        turn = flip & rx
        xi = np.where(turn, s - 1 - xi, xi)
        yi = np.where(turn, s - 1 - yi, yi)
        xi, yi = np.where(flip, yi, xi), np.where(flip, xi, yi)
        s //= 2
    return d


def rebuild(conn: sqlite3.Connection, rtree: str, source: str) -> int:
    """Replace the contents of the R*Tree table ``rtree`` with the boxes in table ``source``
    (:data:`PENDING_COLUMNS`, ids unique); return how many. Runs in the caller's transaction."""
    packer = Packer(conn, rtree)
    conn.execute("DROP TABLE IF EXISTS temp.sg_rtree_sorted")
    conn.execute(f"CREATE TEMP TABLE sg_rtree_sorted AS SELECT id, minx, maxx, miny, maxy FROM {source} "
                 "ORDER BY hkey, id")
    cursor = conn.execute("SELECT id, minx, maxx, miny, maxy FROM temp.sg_rtree_sorted ORDER BY rowid")
    n = 0
    while batch := cursor.fetchmany(_STREAM - _STREAM % packer.fanout):
        b = np.array(batch, dtype=float)
        packer.add_sorted(b[:, 0].astype(np.int64), b[:, 1], b[:, 2], b[:, 3], b[:, 4])
        n += len(batch)
    conn.execute("DROP TABLE temp.sg_rtree_sorted")
    packer.finish()
    return n


class Packer:
    """Builds a new packed R-tree in ``rtree`` (emptied first): leaves as boxes arrive, the levels above at
    :meth:`finish`. Boxes given in one call are packed along the Hilbert curve; so are the leaves at the end.
    Until :meth:`finish`, the table is not a usable index."""

    def __init__(self, conn: sqlite3.Connection, rtree: str) -> None:
        conn.execute(f"DROP TABLE {_q(rtree)}")
        conn.execute(f"CREATE VIRTUAL TABLE {_q(rtree)} USING rtree(id, minx, maxx, miny, maxy)")
        size = conn.execute(f"SELECT length(data) FROM {_q(rtree + '_node')} WHERE nodeno = 1").fetchone()[0]
        self.writer = _Writer(conn, rtree, size)
        self.fanout = self.writer.fanout
        self.leaves: list[np.ndarray] = []  # one parent cell per leaf written

    def add(self, ids: np.ndarray, minx: np.ndarray, maxx: np.ndarray, miny: np.ndarray, maxy: np.ndarray) -> None:
        """Pack these boxes (float64 bounds) into leaves along the Hilbert curve."""
        order = np.argsort(hilbert((minx + maxx) / 2, (miny + maxy) / 2), kind="stable")
        self.add_sorted(ids[order], minx[order], maxx[order], miny[order], maxy[order])

    def add_sorted(self, ids: np.ndarray, minx: np.ndarray, maxx: np.ndarray, miny: np.ndarray,
                   maxy: np.ndarray) -> None:
        """Pack these boxes into leaves in the order given."""
        if not len(ids):
            return
        cells = np.empty(len(ids), dtype=_CELL)
        cells["id"] = ids
        cells["minx"], cells["maxx"] = _outward(minx, down=True), _outward(maxx, down=False)
        cells["miny"], cells["maxy"] = _outward(miny, down=True), _outward(maxy, down=False)
        self.leaves.append(self.writer.level(cells, leaf=True))

    def finish(self) -> None:
        """Write the levels above the leaves and the root."""
        if not self.leaves:
            return
        level = np.concatenate(self.leaves).astype(_CELL)
        if len(self.leaves) > 1:  # leaves of different batches: along the curve too
            cx = level["minx"].astype(float) + level["maxx"]
            cy = level["miny"].astype(float) + level["maxy"]
            level = level[np.argsort(hilbert(cx / 2, cy / 2), kind="stable")]
        depth = 1
        while len(level) > self.fanout:
            level = self.writer.level(level, leaf=False)
            depth += 1
        self.writer.root(level, depth=depth)
        self.leaves = []


def _outward(values: np.ndarray, *, down: bool) -> np.ndarray:
    """Float32 bounds that still contain the float64 ones (the R*Tree module rounds the same way)."""
    f = values.astype(np.float32)
    if down:
        over = f.astype(float) > values
        f[over] = np.nextafter(f[over], np.float32(-np.inf))
    else:
        under = f.astype(float) < values
        f[under] = np.nextafter(f[under], np.float32(np.inf))
    return f


class _Writer:
    """Writes nodes (numbered from 2; 1 is the root) and the rowid and parent maps."""

    def __init__(self, conn: sqlite3.Connection, rtree: str, size: int) -> None:
        self.conn, self.size, self.next = conn, size, 2
        self.fanout = (size - 4) // _CELL.itemsize
        self.node_sql = f"INSERT INTO {_q(rtree + '_node')} (nodeno, data) VALUES (?, ?)"
        each = "SELECT value, ? + key / ? FROM json_each(?)"
        self.rowid_sql = f"INSERT INTO {_q(rtree + '_rowid')} (rowid, nodeno) {each}"
        self.parent_sql = f"INSERT INTO {_q(rtree + '_parent')} (nodeno, parentnode) {each}"
        self.root_sql = f"UPDATE {_q(rtree + '_node')} SET data = ? WHERE nodeno = 1"

    def _blob(self, cells: np.ndarray, depth: int = 0) -> bytes:
        head = depth.to_bytes(2, "big") + len(cells).to_bytes(2, "big")
        body = cells.astype(_CELL, copy=False).tobytes()  # numpy may have made it native-endian
        return head + body + bytes(self.size - 4 - len(body))

    def level(self, cells: np.ndarray, *, leaf: bool) -> np.ndarray:
        """Pack ``cells`` (in order) into nodes of one level; return one parent cell per node."""
        count = math.ceil(len(cells) / self.fanout)
        numbers = np.arange(self.next, self.next + count)
        self.next += count
        starts = np.arange(count) * self.fanout
        self.conn.executemany(self.node_sql, ((int(no), self._blob(cells[s:s + self.fanout]))
                                              for no, s in zip(numbers, starts, strict=True)))
        # The map from each id (leaf) or node (level above) to its node, in one statement: the i-th cell is in
        # node numbers[0] + i // fanout.
        self.conn.execute(self.rowid_sql if leaf else self.parent_sql,
                          (int(numbers[0]), self.fanout, json.dumps(cells["id"].tolist())))
        up = np.empty(count, dtype=_CELL)
        up["id"] = numbers
        up["minx"] = np.minimum.reduceat(cells["minx"], starts)
        up["maxx"] = np.maximum.reduceat(cells["maxx"], starts)
        up["miny"] = np.minimum.reduceat(cells["miny"], starts)
        up["maxy"] = np.maximum.reduceat(cells["maxy"], starts)
        return up

    def root(self, cells: np.ndarray, *, depth: int) -> None:
        """The root (node 1) over ``cells``, the nodes of the level below it."""
        self.conn.execute(self.root_sql, (self._blob(cells, depth),))
        self.conn.execute(self.parent_sql, (1, len(cells) + 1, json.dumps(cells["id"].tolist())))
