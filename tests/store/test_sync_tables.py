"""The sync tables and the verbatim copy of records (migration 12), on both backends."""

from __future__ import annotations

import pytest
import shapely

from safeground.domain.errors import SafeGroundError
from safeground.store import open_store
from safeground.store.base import Batch


def test_copied_records_come_back_as_given_and_new_refs_follow_them(any_db: str, tmp_path) -> None:
    with open_store(tmp_path / "source.gpkg", create=True) as source:
        source.insert("hazard_area", Batch.from_records([
            {"name": f"H{i}", "hazard_class": "sha", "status": "open", "expected_returnees": i,
             "geometry": shapely.box(-72.5 + i / 100, 5.0, -72.49 + i / 100, 5.01)} for i in range(12)]), user="ana")
        source.retire("hazard_area", source.query("hazard_area", where={"name": "H3"})[0]["uuid"], "duplicate",
                      user="ana")
        rows = [r for r in source.query("hazard_area", include_retired=True) if r["name"] in ("H3", "H7", "H11")]
    with open_store(any_db, create=True) as s:
        s.insert_copies("hazard_area", rows)
        for r in rows:
            assert s.get("hazard_area", r["uuid"]) == r  # version, ref, who and when, retirement: all as given
        assert [c.op for c in s.changes_since(0) if c.layer == "hazard_area"] == ["insert"] * 3
        [new] = s.insert("hazard_area", Batch.from_records([{"name": "N", "hazard_class": "sha", "status": "open",
                                                              "geometry": shapely.box(-72, 5, -71.9, 5.1)}]), user="b")
        assert s.get("hazard_area", new)["ref"] == "HA-000013"  # after the highest copied ref, HA-000012


def test_sync_rows_versions_and_conflicts(any_db: str) -> None:
    with open_store(any_db, create=True) as s:
        s.write_sync({"id": "s1", "kind": "merge", "status": "started", "started_at": "2026-01-01T00:00:00Z"})
        s.write_sync({"id": "s1", "kind": "merge", "status": "done", "started_at": "2026-01-01T00:00:00Z",
                      "field_seq": 7, "summary": {"counts": {"updated": 2}}})
        [row] = s.syncs()
        assert (row["status"], row["field_seq"], row["summary"]) == ("done", 7, {"counts": {"updated": 2}})
        assert s.syncs(kind="copy") == []
        s.write_sync_versions([("hazard_area", "u1", 1), ("device", "u2", 4)], sync_id="s1")
        s.write_sync_versions([("hazard_area", "u1", 3)], sync_id="s2")
        assert s.sync_versions() == {("hazard_area", "u1"): 3, ("device", "u2"): 4}
        [cid] = s.write_conflicts([{"sync_id": "s1", "layer": "hazard_area", "uuid": "u1", "ref": "HA-000001",
                                    "base_version": 1, "server_version": 2, "server_record": {"name": "a"},
                                    "field_record": {"name": "b"}, "field_changes": {"name": "b"}}], user="ana")
        [c] = s.conflicts(status="open")
        assert (c["id"], c["field_changes"], c["created_by"]) == (cid, {"name": "b"}, "ana")
        done = s.resolve_conflict(cid, "server", user="quique", result_version=None)
        assert (done["status"], done["resolution"], done["resolved_by"]) == ("resolved", "server", "quique")
        [audit] = [ch for ch in s.changes_since(0) if ch.op == "resolve_conflict"]
        assert (audit.actor, audit.after["resolution"]) == ("quique", "server")  # type: ignore[index]
        with pytest.raises(SafeGroundError) as err:
            s.resolve_conflict(cid, "field", user="quique", result_version=None)
        assert err.value.code == "conflicts.resolved"
