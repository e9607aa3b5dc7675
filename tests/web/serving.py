"""``safeground serve`` started as a user starts it, on a free port, for tests that need a real HTTP server
(GDAL's OAPIF client, the browser, uvicorn's own header handling)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(db: Path, *options: str, log: Path, ready: str = "/api/health", wait_s: float = 30) -> Iterator[str]:
    """The base URL of ``safeground serve --db DB OPTIONS`` once ``ready`` answers 200; stopped on exit.

    The server's output goes to ``log`` (a file, not a pipe nobody reads: the server never blocks on it), and
    is the failure message when the server dies before it is ready."""
    port = free_port()
    out = log.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "safeground.cli", "serve", "--db", str(db), "--port", str(port),
                             *options], stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                if httpx.get(base + ready, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"safeground serve did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        out.close()
