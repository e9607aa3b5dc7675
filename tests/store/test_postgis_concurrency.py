"""Twenty writers at once on one PostGIS database: no lost update, no duplicate, an audit row for every change,
and a stale write is refused with ``store.version_conflict``, never applied."""

from __future__ import annotations

import threading
from collections import Counter

import numpy as np
import shapely

from safeground.domain.errors import ConflictError
from safeground.store import open_store
from safeground.store.base import Batch

WRITERS = 20
INCREMENTS = 5  # successful increments each writer must make on the shared record
INSERTS = 10  # records each writer adds


def test_twenty_concurrent_writers_lose_nothing(pg_url: str) -> None:
    with open_store(pg_url) as s:
        [shared] = s.insert("hazard_area", Batch({"name": ["shared"], "hazard_class": ["sha"], "status": ["open"],
                                                  "expected_returnees": [0]},
                                                 np.array([shapely.box(-72.5, 5, -72.49, 5.01)], dtype=object)),
                            user="setup")
    start = threading.Barrier(WRITERS)
    conflicts = Counter[str]()
    inserted: list[list[str]] = [[] for _ in range(WRITERS)]
    failures: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            with open_store(pg_url) as store:
                start.wait()
                done = 0
                while done < INCREMENTS:
                    rec = store.get("hazard_area", shared)  # read, then write back what was read plus one
                    try:
                        store.update("hazard_area", shared, {"expected_returnees": rec["expected_returnees"] + 1},
                                     user=f"w{k}", expected_version=rec["version"])
                        done += 1
                    except ConflictError as exc:
                        assert exc.code == "store.version_conflict"
                        conflicts[f"w{k}"] += 1
                    inserted[k] += store.insert("device", Batch(
                        {"category": ["ap_mine"] * 2},
                        shapely.points(np.full(2, -72.5 + k * 0.001), np.full(2, 5.0))), user=f"w{k}")
                while len(inserted[k]) < INSERTS * 2:
                    inserted[k] += store.insert("device", Batch({"category": ["ap_mine"] * 2}), user=f"w{k}")
        except BaseException as exc:  # reported below, from the main thread
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []

    with open_store(pg_url) as s:
        rec = s.get("hazard_area", shared)
        # No lost update: every successful increment is there, and the version counts every change.
        assert rec["expected_returnees"] == WRITERS * INCREMENTS
        assert rec["version"] == 1 + WRITERS * INCREMENTS
        history = s.record_changes("hazard_area", shared)
        assert [c.op for c in history] == ["insert"] + ["update"] * (WRITERS * INCREMENTS)
        # Each audit row is one step: version v -> v + 1 and returnees n -> n + 1, never a step repeated or skipped.
        steps = [(c.before["version"], c.after["version"], c.before["expected_returnees"],
                  c.after["expected_returnees"]) for c in history[1:]]
        assert steps == [(v, v + 1, v - 1, v) for v in range(1, WRITERS * INCREMENTS + 1)]
        assert Counter(c.actor for c in history[1:]) == {f"w{k}": INCREMENTS for k in range(WRITERS)}
        assert sum(conflicts.values()) > 0  # the writers did collide, and each collision was refused
        # No duplicate: every insert has its own record, ref and audit row.
        uuids = [u for ks in inserted for u in ks]
        devices = s.query("device", geometry=False)
        assert len(uuids) == len(set(uuids)) == len(devices) == s.count("device")
        assert len({d["ref"] for d in devices}) == len(devices)
        inserts = [c for c in s.changes_since(0) if c.layer == "device"]
        assert sorted(c.uuid for c in inserts) == sorted(uuids) and {c.op for c in inserts} == {"insert"}
        seqs = [c.seq for c in s.changes_since(0)]
        assert len(seqs) == len(set(seqs)) == 1 + len(history) - 1 + len(uuids)
