"""Twenty writers at once on one PostGIS database: no lost update, no duplicate, an audit row for every change,
and a stale write is refused with ``store.version_conflict``, never applied; audit numbers follow commit order, so
a reader of the changes never skips one (migration 13)."""

from __future__ import annotations

import threading
from collections import Counter

import numpy as np
import pytest
import shapely

from safeground.domain.errors import ConflictError
from safeground.store import migrations, open_store, postgis_migrations
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


def test_a_reader_never_skips_a_change_committed_after_a_later_one(pg_url: str) -> None:
    """Writer A starts first and commits last; a reader that read B's commit in between still gets A's change
    after its high-water mark (the audit numbers follow commit order, not the order writers began)."""
    with open_store(pg_url) as s:
        [first, second] = s.insert("hazard_area", Batch(
            {"name": ["A's", "B's"], "hazard_class": ["sha"] * 2, "status": ["open"] * 2},
            np.array([shapely.box(-72.5, 5, -72.49, 5.01), shapely.box(-72.4, 5, -72.39, 5.01)], dtype=object)),
            user="setup")
    with open_store(pg_url) as a, open_store(pg_url) as b, open_store(pg_url) as reader:
        mark = reader.last_change_seq()
        with a.transaction():
            a.update("hazard_area", first, {"name": "edited by A"}, user="a")  # A's audit row exists, uncommitted
            b.update("hazard_area", second, {"name": "edited by B"}, user="b")  # B commits first
            seen = list(reader.changes_since(mark))
            assert [c.after["name"] for c in seen if c.after] == ["edited by B"]
            mark = max([mark, *(c.seq for c in seen)])  # what a safety index or tile cache keeps
        later = list(reader.changes_since(mark))
        assert [c.after["name"] for c in later if c.after] == ["edited by A"]
        assert [c.seq for c in reader.changes_since(0)] == sorted(c.seq for c in reader.changes_since(0))


def test_an_older_audit_log_keeps_its_numbers_and_new_changes_follow_them(
        pg_empty_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A database made before migration 13 (numbers drawn at insert) ...
    monkeypatch.setattr("safeground.store.postgis.PG_MIGRATIONS", postgis_migrations.PG_MIGRATIONS[:-1])
    monkeypatch.setattr("safeground.store.postgis.PG_SCHEMA_VERSION", postgis_migrations.PG_MIGRATIONS[-2][0])
    with open_store(pg_empty_url, create=True) as s:
        [uuid] = s.insert("organisation", Batch({"name": ["Old NGO"]}), user="ana")
        s.update("organisation", uuid, {"name": "Renamed NGO"}, user="ana")
        old = [(c.seq, c.op) for c in s.changes_since(0)]
    monkeypatch.undo()
    # ... upgrades in place: the old rows keep their numbers, and the new ones come after them, in order.
    with open_store(pg_empty_url) as s:
        assert s.schema_version == migrations.SCHEMA_VERSION
        assert [(c.seq, c.op) for c in s.changes_since(0)] == old
        with s.transaction():
            with pytest.raises(ConflictError), s.savepoint():  # a rolled-back part leaves nothing unnumbered
                s.update("organisation", uuid, {"name": "undone"}, user="bo")
                s.update("organisation", uuid, {"name": "stale"}, user="bo", expected_version=1)
            s.update("organisation", uuid, {"name": "Third name"}, user="bo")
            s.insert("organisation", Batch({"name": ["New NGO", "Newer NGO"]}), user="bo")
            # The transaction reads its own changes, in order, before they are numbered for good at commit.
            assert [c.op for c in s.changes_since(old[-1][0])] == ["update", "insert", "insert"]
            provisional = [c.seq for c in s.changes_since(old[-1][0])]
        changes = list(s.changes_since(old[-1][0]))
        assert [(c.op, c.actor) for c in changes] == [("update", "bo"), ("insert", "bo"), ("insert", "bo")]
        final = [c.seq for c in changes]
        assert final == sorted(final) and final[0] > max(provisional)
        assert s.connection.execute("SELECT count(*) FROM safeground_audit WHERE pending").fetchone()[0] == 0
        assert s.connection.execute("SELECT count(*) FROM safeground_audit_pending").fetchone()[0] == 0
