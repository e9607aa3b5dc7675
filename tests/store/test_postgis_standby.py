"""The public read path on a hot-standby replica (README, "How an installation grows"): a streaming replica of
the test server, made with pg_basebackup, answers the safety check, the public tiles and the public hazards
through ``serve --read-only``, follows an edit made on the primary, and refuses every write."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient

from safeground.services import safety
from safeground.services.records import add_record
from safeground.services.workspace import Workspace
from safeground.store.base import Batch
from safeground.web.app import create_app


def _run(args: list[str], as_user: str | None) -> None:
    done = subprocess.run(["runuser", "-u", as_user, "--", *args] if as_user else args, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, f"{args[0]} failed: {done.stderr.strip()}"


@pytest.fixture
def standby_of(pg_admin_url: str) -> Iterator[str]:
    """A hot standby of the test server (streaming replication), on loopback and a free port: its URL prefix."""
    bin_ = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))[-1]).parent
    as_user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="sg-test-standby-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    try:
        if as_user:
            shutil.chown(folder, as_user)
        _run([str(bin_ / "pg_basebackup"), f"--dbname={pg_admin_url}", "-D", str(folder / "data"), "-R",
              "-X", "stream", "--no-sync"], as_user)
        opts = f"-k {folder} -p {port} -c listen_addresses=127.0.0.1 -c hot_standby=on"
        _run([str(bin_ / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-o", opts, "-w",
              "start"], as_user)
        try:
            yield f"127.0.0.1:{port}"
        finally:
            _run([str(bin_ / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "-w", "stop"], as_user)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_the_public_read_path_works_on_a_hot_standby(pg_url: str, pg_admin_url: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      request: pytest.FixtureRequest) -> None:
    monkeypatch.chdir(tmp_path)  # the web server's tile caches go beside it
    with Workspace.open(pg_url, user="ana") as ws:
        ws.store.write_config_text("country: COL\n", "ana")
        add_record(ws, "hazard_area", {"name": "North field", "hazard_class": "cha", "status": "open",
                                       "geometry": shapely.box(-72.50, 5.00, -72.49, 5.01)})
    host = request.getfixturevalue("standby_of")
    parts = urlsplit(pg_url)
    replica = parts._replace(netloc=f"{parts.username}@{host}").geturl()
    with psycopg.connect(replica) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True

    with Workspace.open(replica, user="web", read_only=True) as ws:
        assert safety.check_point(ws, 5.005, -72.495)["result"] == "inside"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            ws.store.insert("organisation", Batch({"name": ["Not here"]}), user="web")

    client = TestClient(create_app(replica, read_only=True, tile_refresh_s=None))
    answer = client.get("/api/public/safety", params={"lat": 4.985, "lon": -72.495})
    assert answer.status_code == 200 and answer.json()["result"] == "clear"
    # An edit on the primary reaches the replica's web server through the replicated audit log.
    with Workspace.open(pg_url, user="ana") as ws:
        add_record(ws, "hazard_area", {"name": "South field", "hazard_class": "sha", "status": "open",
                                       "geometry": shapely.box(-72.50, 4.98, -72.49, 4.99)})
    deadline = time.monotonic() + 30
    while client.get("/api/public/safety", params={"lat": 4.985, "lon": -72.495}).json()["result"] != "inside":
        assert time.monotonic() < deadline, "the replica's server never saw the edit"
        time.sleep(0.2)
    tile = client.get("/api/public/tiles/12/1223/1991.mvt")
    assert tile.status_code == 200 and tile.content
    hazards = client.get("/api/public/hazards")
    assert hazards.status_code == 200 and len(hazards.json()["features"]) == 2
