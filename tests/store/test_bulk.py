"""Bulk loads: set-based audit rows and a packed R-tree give exactly what the per-row triggers give."""

from __future__ import annotations

import sqlite3
import uuid as uuidlib
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from safeground.domain.errors import SafeGroundError
from safeground.store import open_store
from safeground.store.base import Batch
from safeground.store.gpkg import BULK_ROWS


@pytest.fixture
def store(db_path: Path):
    s = open_store(db_path, create=True)
    yield s
    s.close()


def devices(rng: np.random.Generator, n: int) -> Batch:
    pts = shapely.points(rng.uniform(-75, -71, n), rng.uniform(3, 8, n))
    return Batch({"category": ["ap_mine"] * n, "found_date": ["2004-12-31"] * n}, pts)


def _found(store, box: tuple[float, float, float, float]) -> set[str]:
    return {r["uuid"] for r in store.query("device", bbox=box, geometry=False)}


def _brute(store, box: tuple[float, float, float, float]) -> set[str]:
    everything = store.query("device")
    inside = shapely.intersects(np.array([r["geometry"] for r in everything]), shapely.box(*box))
    return {r["uuid"] for r, yes in zip(everything, inside, strict=True) if yes}


def _tree_ok(store) -> str:
    return store.connection.execute("SELECT rtreecheck('rtree_device_geom')").fetchone()[0]


def test_a_bulk_load_in_batches_indexes_and_audits_every_record(store, db_path: Path) -> None:
    rng = np.random.default_rng(1)
    with store.bulk_load():
        uuids = [u for _ in range(3) for u in store.insert("device", devices(rng, BULK_ROWS + 500), user="ana",
                                                            import_run="run-1")]
    n = len(uuids)
    assert store.count("device") == n and len(set(uuids)) == n
    assert {uuidlib.UUID(u).version for u in uuids} == {7} and uuids == sorted(uuids)  # time-ordered
    refs = [r["ref"] for r in store.query("device", geometry=False)]
    assert refs == [f"DV-{i:06d}" for i in range(1, n + 1)]
    audit = [c for c in store.changes_since(0) if c.layer == "device"]
    assert [(c.op, c.uuid, c.actor, c.import_run) for c in audit] == [("insert", u, "ana", "run-1") for u in uuids]
    assert _tree_ok(store) == "ok"
    for box in [(-74.0, 4.0, -73.5, 4.5), (-75.0, 3.0, -71.0, 8.0), (-73.0, 6.0, -72.99, 6.01)]:
        assert _found(store, box) == _brute(store, box)
    # the per-row triggers are back: a later single insert is audited and indexed by them
    [one] = store.insert("device", Batch({"category": ["ap_mine"]}, np.array([shapely.Point(-72.0, 5.0)])),
                         user="bo")
    assert one in _found(store, (-72.01, 4.99, -71.99, 5.01))
    assert [c.uuid for c in store.changes_since(0)][-1] == one and _tree_ok(store) == "ok"
    names = {r[0] for r in store.connection.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'device'")}
    assert {"sg_device_insert", "sg_device_insert_fill", "rtree_device_geom_insert",
            "idx_device_found_date"} <= names
    store.close()
    assert pyogrio.read_info(db_path, layer="device")["features"] == n + 1


def test_a_bulk_load_into_an_indexed_layer_keeps_the_old_entries(store) -> None:
    rng = np.random.default_rng(2)
    first = store.insert("device", devices(rng, 50), user="ana")  # per-row triggers
    with store.bulk_load():
        store.insert("device", devices(rng, BULK_ROWS), user="ana")  # more new than old: packed anew
    with store.bulk_load():
        store.insert("device", devices(rng, BULK_ROWS), user="ana")  # fewer: inserted through the module
    assert _tree_ok(store) == "ok"
    assert store.connection.execute("SELECT COUNT(*) FROM rtree_device_geom").fetchone()[0] == 50 + 2 * BULK_ROWS
    box = (-75.0, 3.0, -73.0, 5.0)
    assert _found(store, box) == _brute(store, box) and set(first) & _found(store, box)


def test_a_failed_bulk_load_leaves_the_database_as_it_was(store, db_path: Path) -> None:
    rng = np.random.default_rng(3)
    store.insert("device", devices(rng, 10), user="ana")
    store.close()
    before = db_path.read_bytes()
    again = open_store(db_path)
    taken = again.query("device", geometry=False)[0]["uuid"]
    with pytest.raises(SafeGroundError) as info, again.bulk_load():
        again.insert("device", devices(rng, BULK_ROWS), user="ana")
        again.insert("device", Batch({"category": ["ap_mine"], "uuid": [taken]}, np.array([shapely.Point(-72, 5)])),
                     user="ana")
    assert info.value.code == "store.duplicate"
    again.close()
    raw = sqlite3.connect(db_path)
    assert raw.execute("SELECT COUNT(*) FROM device").fetchone()[0] == 10
    assert raw.execute("SELECT COUNT(*) FROM rtree_device_geom").fetchone()[0] == 10
    raw.close()
    assert len(db_path.read_bytes()) == len(before)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.floats(-75, -71), st.floats(3, 8), st.floats(0, 0.5), st.floats(0, 0.5)),
                min_size=1, max_size=400), st.integers(1, 3))
def test_a_packed_tree_finds_exactly_what_a_scan_finds(boxes, batches) -> None:
    from safeground.store import rtree

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx, miny, maxy)")
    b = np.array(boxes, dtype=float)
    minx, miny, maxx, maxy = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    packer = rtree.Packer(conn, "r")
    for part in np.array_split(np.arange(len(b)), batches):
        packer.add(part + 1, minx[part], maxx[part], miny[part], maxy[part])
    packer.finish()
    assert conn.execute("SELECT rtreecheck('r')").fetchone()[0] == "ok"
    for q in b[:5]:
        qx0, qy0, qx1, qy1 = q[0], q[1], q[0] + q[2] / 2, q[1] + q[3] / 2
        got = {r[0] for r in conn.execute("SELECT id FROM r WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?",
                                          (qx0, qx1, qy0, qy1))}
        want = set((np.flatnonzero((maxx >= qx0) & (minx <= qx1) & (maxy >= qy0) & (miny <= qy1)) + 1).tolist())
        assert want <= got  # float32 boxes are rounded outwards: never a miss
        assert len(got - want) <= 2
