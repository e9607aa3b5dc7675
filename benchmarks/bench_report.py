"""Time of ``safeground report --year Y`` (PDF and HTML), with references measured in the same run.

Plain script, not a test: python benchmarks/bench_report.py DB [YEAR]
Give the national demo (``safeground demo --scale national``); without DB it builds the small demo in a
temporary folder. The report opens the database read-only: the script checks that the file's bytes
(SHA-256) are the same after every run. Target: under 60 s on the national scenario.

Rows:
- ``report (pdf)`` and ``report (html)``: the whole command, as ``write_report`` runs it;
- ``services``: the service calls alone (``situation.gather``: every figure and the map layers);
- ``reference: pyogrio``: GDAL (pyogrio) reading the layers the maps draw (hazard areas, released areas, admin
  areas: geometry and the columns used) and the casualty and accident tables the casualty figures read: the
  least any report must read. Ratios are against it.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyogrio

from safeground.reports.situation import gather, write_report
from safeground.services.demo import build_demo
from safeground.services.workspace import Workspace


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            h.update(block)
    return h.hexdigest()


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def reference(db: Path) -> None:
    pyogrio.read_dataframe(db, layer="hazard_area", columns=["hazard_class", "status", "review_state"])
    pyogrio.read_dataframe(db, layer="released_area", columns=["kind", "release_status", "released_on",
                                                               "review_state"])
    pyogrio.read_dataframe(db, layer="admin_area", columns=["name", "level", "code", "parent_code"])
    pyogrio.read_dataframe(db, layer="casualty", columns=["accident", "outcome", "status", "review_state"],
                           read_geometry=False)
    pyogrio.read_dataframe(db, layer="accident", columns=["accident_date", "admin1", "admin2"], read_geometry=False)


def main(source: str | None, year: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if source:
            db = Path(source)
        else:
            db = Path(tmp) / "demo.gpkg"
            with Workspace.open(db, user="bench", create=True) as ws:
                build_demo(ws, scale="small", seed=7)
        before = sha256(db)
        rows: list[tuple[str, float]] = []
        ref, _ = timed(lambda: reference(db))
        rows.append(("reference: pyogrio reads the mapped layers", ref))
        with Workspace.open(db, read_only=True) as ws:
            secs, docs = timed(lambda: gather(ws, year))
            rows.append(("services (gather: figures and map layers)", secs))
            for name, s in docs.seconds.items():  # type: ignore[attr-defined]
                rows.append((f"  {name}", s))
            for fmt in ("html", "pdf"):
                secs, doc = timed(lambda fmt=fmt: write_report(ws, year, Path(tmp) / f"report.{fmt}"))  # type: ignore[misc]
                rows.append((f"report ({fmt}, {doc['bytes'] / 1e6:.1f} MB)", secs))  # type: ignore[index]
        unchanged = sha256(db) == before
        print(f"safeground report --year {year} on {db} ({db.stat().st_size / 1e9:.2f} GB)")
        print(f"{'step':<48} {'seconds':>8} {'× ref':>7}")
        for name, s in rows:
            print(f"{name:<48} {s:>8.2f} {s / ref:>7.1f}")
        print(f"database unchanged (SHA-256 before and after): {unchanged}")
        if not unchanged:
            raise SystemExit("the report wrote to the database")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None, int(sys.argv[2]) if len(sys.argv) > 2 else 2024)
