"""The mapped CSV import streams: peak memory does not grow with the file (fresh processes, real CLI)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

MAPPING = """name: memory
geometry: {x: lon, y: lat}
route: {column: kind, default: device}
layers:
  device:
    fields: {category: kind, model: model}
"""

# Runs the real command line in a fresh interpreter and prints its peak resident memory in KiB: VmHWM, the
# high-water mark of this process's own memory (getrusage's ru_maxrss would include the size of the test
# process it was forked from, which Linux carries across exec).
PEAK = ("import json, sys\nfrom safeground.cli import main\ntry:\n    main(sys.argv[1:])\n"
        "except SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
        "print(json.dumps({'peak_kib': int(hwm.split()[1])}))")


def _devices(path: Path, n: int) -> Path:
    """``n`` distinct device rows on a grid over eastern Colombia, written a block at a time."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("kind,model,lon,lat\n")
        for start in range(0, n, 100_000):
            fh.write("".join(f"ap_mine,PMN-2,{-75 + (i % 4000) / 1000:.3f},{3 + (i // 4000) / 50_000:.5f}\n"
                             for i in range(start, min(n, start + 100_000))))
    return path


def _peak_kib(tmp_path: Path, n: int, mapping: Path) -> int:
    db = str(tmp_path / f"m{n}.gpkg")
    env_run = [sys.executable, "-c", PEAK]
    subprocess.run([*env_run, "init", "--db", db, "--country", "COL"], check=True, capture_output=True)
    proc = subprocess.run([*env_run, "import", str(_devices(tmp_path / f"d{n}.csv", n)), "--mapping", str(mapping),
                           "--db", db, "--format", "json"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip().splitlines()
    report = json.loads("\n".join(out[:-1]))
    assert report["rows_read"] == report["rows_stored"] == n
    return int(json.loads(out[-1])["peak_kib"])


def test_peak_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    mapping = tmp_path / "memory.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    base = _peak_kib(tmp_path, 0, mapping)
    small = _peak_kib(tmp_path, 100_000, mapping) - base
    large = _peak_kib(tmp_path, 1_000_000, mapping) - base
    assert small > 0
    assert large <= 1.5 * small, f"peak memory above a header-only import: {small} KiB at 100,000 rows, " \
                                 f"{large} KiB at 1,000,000"
