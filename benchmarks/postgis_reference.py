"""A throwaway PostgreSQL + PostGIS cluster for reference timings (Debian's postgresql and postgis packages).

    with postgis_cluster() as conninfo:
        with psycopg.connect(conninfo) as conn: ...

``initdb`` into a temporary folder, ``pg_ctl start`` on a free port listening only on a Unix socket in that
folder, ``CREATE EXTENSION postgis``; on exit the cluster is stopped and the folder deleted. PostgreSQL refuses
to run as root: as root the server runs as the ``postgres`` system user (``runuser``). Benchmarks only: tests
never need PostgreSQL.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator


def pg_bin() -> str:
    """The newest installed PostgreSQL's binaries folder."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql postgis).")
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def postgis_cluster(*, settings: dict[str, str] | None = None) -> Iterator[str]:
    """Start a fresh cluster with PostGIS; yield a psycopg conninfo string; stop and delete it afterwards."""
    bindir = pg_bin()
    folder = tempfile.mkdtemp(prefix="safeground-pg-")
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    user = pwd.getpwuid(os.geteuid()).pw_name
    if as_root:
        user = "postgres"
        pw = pwd.getpwnam(user)
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", user, "--"]
    data, port = os.path.join(folder, "data"), _free_port()
    options = {"listen_addresses": "''", "unix_socket_directories": folder, "port": str(port), "fsync": "off",
               "shared_buffers": "1GB", "work_mem": "64MB", "max_wal_size": "4GB", **(settings or {})}
    opts = " ".join(f"-c {k}={v}" for k, v in options.items())
    subprocess.run([*prefix, f"{bindir}/initdb", "-D", data, "-U", user, "-A", "trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    try:
        subprocess.run([*prefix, f"{bindir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(folder, "log"),
                        "-o", opts, "start"], check=True, capture_output=True)
        try:
            conninfo = f"host={folder} port={port} user={user} dbname=postgres"
            subprocess.run([*prefix, f"{bindir}/psql", "-h", folder, "-p", str(port), "-U", user, "-d", "postgres",
                            "-qc", "CREATE EXTENSION postgis"], check=True, capture_output=True)
            yield conninfo
        finally:
            subprocess.run([*prefix, f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "stop"], capture_output=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
