"""A sync killed halfway (SIGKILL) leaves both sides consistent, and running it again completes it: the same
final state as a sync never interrupted. Real ``safeground sync`` processes, stopped at a known point by the
test hook ``SAFEGROUND_SYNC_PAUSE`` and killed there; on both backends (the server a GeoPackage or PostGIS)."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
from tests.conftest import HAZARD_BOX, _pg_admin, _pg_url

from safeground.domain.records import LAYERS
from safeground.services.records import add_record, update_record
from safeground.services.sync import PAUSE_VARIABLE, make_field_copy
from safeground.services.users import add_user
from safeground.services.workspace import Workspace
from safeground.store import open_store
from safeground.store.gpkg import GeoPackageStore

#: What differs between two runs of the same sync by nature: timestamps, the sync's own id (new records' import
#: run), and on PostgreSQL the refs of new records (a killed transaction still used up its sequence numbers).
VOLATILE = frozenset({"created_at", "updated_at", "import_run", "ref"})


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    return any_ws


@pytest.fixture
def clones(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """Copies made of a database by :func:`_clone` (dropped at the end, for PostgreSQL)."""
    made: list[str] = []
    yield made
    for db in made:
        if db.startswith("postgresql://"):
            _pg_admin(request.getfixturevalue("pg_admin_url"), f"DROP DATABASE IF EXISTS {db.rsplit('/', 1)[1]} "
                                                               "WITH (FORCE)")


def _clone(request: pytest.FixtureRequest, db: str, clones: list[str], tmp_path: Path) -> str:
    if not db.startswith("postgresql://"):
        copy = tmp_path / "reference-server.gpkg"
        shutil.copy(db, copy)
        return str(copy)
    admin = request.getfixturevalue("pg_admin_url")
    name = db.rsplit("/", 1)[1] + "_ref"
    _pg_admin(admin, f"CREATE DATABASE {name} TEMPLATE {db.rsplit('/', 1)[1]}")
    clones.append(_pg_url(admin, name))
    return clones[-1]


@pytest.fixture
def field_work(ws: Workspace, areas: dict[str, dict], tmp_path: Path) -> tuple[str, Path, int]:
    """A server, a field copy of Vistahermosa made for a data-entry user, and offline work in it: a hazard and
    an accident changed, four pieces of evidence added. Returns the server's database, the copy and the server's
    audit sequence before any merge."""
    add_user(ws, "dani", "data_entry", None)
    hazard = add_record(ws, "hazard_area", {"name": "La Esperanza", "hazard_class": "cha", "status": "open",
                                            "geometry": HAZARD_BOX})
    accident = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2023-05-02",
                                           "geometry": shapely.Point(-72.495, 5.005)})
    laptop = tmp_path / "laptop.gpkg"
    make_field_copy(ws, laptop, "CO50711", username="dani")
    with Workspace.open(laptop, user="dani") as field:
        update_record(field, "hazard_area", hazard["uuid"], {"status": "worked_on", "marking": "temporary"})
        for i in range(4):
            add_record(field, "evidence", {"hazard": hazard["uuid"], "kind": "indirect", "evidence_source": "verbal",
                                           "description": f"Told by farmer {i}",
                                           "geometry": shapely.Point(-72.499 + i / 1000, 5.001)})
        update_record(field, "accident", accident["uuid"], {"description": "Cow killed near the stream"})
    db = ws.store.location  # the test server has no password to hide
    seq = ws.store.last_change_seq()
    ws.close()
    return db, laptop, seq


def _sync(args: list[str], cwd: Path, pause: str | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != PAUSE_VARIABLE}
    if pause:
        env[PAUSE_VARIABLE] = pause
    return subprocess.Popen([sys.executable, "-m", "safeground.cli", "sync", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill_when_paused(proc: subprocess.Popen[bytes], point: str) -> None:
    """Wait (at most two minutes) until the process says it paused at ``point``, then SIGKILL it."""
    assert proc.stderr is not None
    seen = b""
    while b"sync paused at " + point.encode() not in seen:
        ready, _, _ = select.select([proc.stderr], [], [], 120)
        line = proc.stderr.readline() if ready else b""
        if not line:
            proc.kill()
            pytest.fail(f"the sync never paused at {point}: {seen.decode()}")
        seen += line
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL


def _finish(proc: subprocess.Popen[bytes]) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    return out.decode()


def _state(db: str, laptop: Path, since: int) -> dict[str, Any]:
    """Everything a sync decides, without what differs between runs by nature (see VOLATILE)."""
    with open_store(db) as s:
        records = {layer: sorted((tuple(sorted((k, shapely.to_wkb(v, hex=True) if k == "geometry" and v is not None
                                                 else v) for k, v in r.items() if k not in VOLATILE))
                                  for r in s.query(layer, include_retired=True)), key=repr) for layer in LAYERS}
        audit = Counter((c.layer, c.uuid, c.op, c.actor) for c in s.changes_since(since))
        syncs = sorted((r["kind"], r["status"], r["username"]) for r in s.syncs())
        conflicts = [(c["layer"], c["uuid"], c["base_version"], c["server_version"]) for c in s.conflicts()]
        quarantined = len(s.quarantined())
    with GeoPackageStore.open(laptop) as f:
        versions = f.sync_versions()
        merges = [(r["kind"], r["status"]) for r in f.syncs()]
    return {"records": records, "audit": audit, "syncs": syncs, "conflicts": conflicts, "quarantined": quarantined,
            "versions": versions, "merges": merges}


@pytest.mark.parametrize("point", ["after:2", "committed"])
def test_a_merge_killed_halfway_leaves_both_sides_consistent_and_a_rerun_completes_it(
        request: pytest.FixtureRequest, field_work: tuple[str, Path, int], clones: list[str], tmp_path: Path,
        point: str) -> None:
    db, laptop, seq = field_work
    # The reference: the same sync on copies of both sides, never interrupted.
    ref_db, ref_laptop = _clone(request, db, clones, tmp_path), tmp_path / "reference-laptop.gpkg"
    shutil.copy(laptop, ref_laptop)
    _finish(_sync(["--from", str(ref_laptop), "--to", ref_db], tmp_path))
    expected = _state(ref_db, ref_laptop, seq)
    assert Counter(op for _l, _u, op, _a in expected["audit"].elements()) == {"insert": 4, "update": 2}

    _kill_when_paused(_sync(["--from", str(laptop), "--to", db], tmp_path, pause=point), point)
    with open_store(db) as s, GeoPackageStore.open(laptop) as f:
        [status] = [r["status"] for r in f.syncs(kind="merge")]
        assert status == "started"  # the field copy knows a merge is under way, and its id
        merge_id = f.syncs(kind="merge")[0]["id"]
        if point == "after:2":  # killed inside the server's transaction: the server has nothing of it
            assert s.last_change_seq() == seq and not s.syncs(kind="merge")
            assert s.count("evidence") == 0
        else:  # killed after the server committed: all of it is there, under the field copy's merge id
            assert [r["id"] for r in s.syncs(kind="merge")] == [merge_id]
            assert s.count("evidence") == 4
        assert not f.syncs(kind="merge", status="done")
    out = _finish(_sync(["--from", str(laptop), "--to", db], tmp_path))
    assert ("finished from the server's record" in out) is (point == "committed")
    assert _state(db, laptop, seq) == expected
    # And once complete, running it again changes nothing.
    out = _finish(_sync(["--from", str(laptop), "--to", db], tmp_path))
    assert "0 inserted, 0 updated" in out
    assert _state(db, laptop, seq)["records"] == expected["records"]


def test_a_copy_killed_halfway_leaves_no_file_that_looks_complete(
        field_work: tuple[str, Path, int], tmp_path: Path) -> None:
    db, _laptop, _seq = field_work
    target = tmp_path / "second.gpkg"
    _kill_when_paused(_sync(["--area", "CO50711", "--from", db, "--to", str(target), "--user", "dani"], tmp_path,
                            pause="copy:3"), "copy:3")
    assert not target.exists()  # only a .partial file, which nothing takes for a field copy
    assert Path(str(target) + ".partial").exists()
    out = _finish(_sync(["--area", "CO50711", "--from", db, "--to", str(target), "--user", "dani"], tmp_path))
    assert f"Field copy {target}" in out and not Path(str(target) + ".partial").exists()
    with GeoPackageStore.open(target) as f, open_store(db) as s:
        assert f.count("hazard_area") == 1 and f.count("accident") == 1
        assert [r["status"] for r in f.syncs()] == ["done"]
        assert len(s.syncs(kind="copy")) == 2  # the first copy and this one; the killed one never finished
