"""A throwaway PostgreSQL + PostGIS cluster for benchmarks that compare against PostGIS in the same run.

Uses Debian's postgresql and postgis packages (``/usr/lib/postgresql/<version>/bin``); nothing outside the
temporary folder is touched. The cluster listens only on a unix socket in that folder (``-k``) and a free port
number, trusts local connections, and is stopped and deleted on exit. PostgreSQL refuses to run as root: as root
the cluster runs as the ``postgres`` system user (``runuser``), which the Debian package creates.

    from postgis_reference import postgis_cluster
    with postgis_cluster() as conninfo, psycopg.connect(conninfo) as conn:
        conn.execute("SELECT postgis_full_version()")

Loading data: psycopg 3 (``COPY ... FROM STDIN`` of WKB hex, see :func:`copy_wkb`).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import shapely


def pg_bin() -> Path:
    """The newest Debian PostgreSQL binary folder."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise SystemExit("PostgreSQL is not installed (Debian packages postgresql and postgis).")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: Sequence[str], as_user: str | None) -> None:
    cmd = ["runuser", "-u", as_user, "--", *args] if as_user else list(args)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@contextmanager
def postgis_cluster(*, shared_buffers: str = "1GB", work_mem: str = "256MB") -> Iterator[str]:
    """Start a cluster in a temporary folder with PostGIS in database ``bench``; yield its psycopg conninfo."""
    as_user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="sg-postgis-"))
    data, port = folder / "data", _free_port()
    bin_ = pg_bin()
    try:
        if as_user:
            shutil.chown(folder, as_user)
        _run([str(bin_ / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"], as_user)
        opts = (f"-k {folder} -p {port} -c listen_addresses='' -c shared_buffers={shared_buffers} "
                f"-c work_mem={work_mem} -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c jit=off -c max_parallel_workers_per_gather=0")
        _run([str(bin_ / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-o", opts, "-w", "start"], as_user)
        try:
            _run([str(bin_ / "createdb"), "-h", str(folder), "-p", str(port), "-U", "postgres", "bench"], as_user)
            conninfo = f"host={folder} port={port} user=postgres dbname=bench"
            import psycopg

            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION postgis")
            yield conninfo
        finally:
            _run([str(bin_ / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], as_user)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def copy_wkb(conn: Any, table: str, srid: int, geoms: np.ndarray, columns: dict[str, Sequence[Any]]) -> None:
    """Create ``table`` (id, the text ``columns``, geom) and load ``geoms`` by COPY of WKB hex; add a GiST index."""
    names = list(columns)
    cols = "".join(f", {n} text" for n in names)
    conn.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY{cols}, geom geometry(Geometry, {srid}))")
    hexes = shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True)  # EWKB: geometry's text input
    with conn.cursor().copy(f"COPY {table} (id, {''.join(n + ', ' for n in names)}geom) FROM STDIN") as copy:
        for i, h in enumerate(hexes):
            copy.write_row([i, *(columns[n][i] for n in names), h])
    conn.execute(f"CREATE INDEX ON {table} USING gist (geom)")
    conn.execute(f"ANALYZE {table}")
