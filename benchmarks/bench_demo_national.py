"""Build the national-scale demo from the command line and report time, memory and file size.

Plain script, not a test: python benchmarks/bench_demo_national.py [SCALE] [SEED]
It runs ``safeground demo --scale national`` in a subprocess (under GNU ``time -v`` when that is
installed, else timed here), in a temporary folder, and prints one table. The target is under
3 minutes and under 2 GB (database plus truth) on a 2-core machine.
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _safeground() -> list[str]:
    exe = Path(sys.executable).with_name("safeground")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("safeground")
    return [found] if found else [sys.executable, "-c", "import sys; from safeground.cli import main; sys.exit(main())"]


def _gnu_time() -> str | None:
    path = shutil.which("time")
    if path is None:
        return None
    probe = subprocess.run([path, "-v", "true"], capture_output=True, text=True, check=False)
    return path if "Maximum resident set size" in probe.stderr else None


def main(scale: str = "national", seed: int = 1) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / f"{scale}.gpkg"
        cmd = [*_safeground(), "demo", "--db", str(db), "--scale", scale, "--seed", str(seed), "--format", "json"]
        timer = _gnu_time()
        if timer:
            cmd = [timer, "-v", *cmd]
        started = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if run.returncode:
            sys.exit(f"demo failed ({run.returncode}):\n{run.stderr[-3000:]}")
        peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
        peak_kb = int(peak.group(1)) if peak else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        doc = json.loads(run.stdout)
        truth = Path(doc["truth_path"])
        main_mb = db.stat().st_size / 1e6
        truth_mb = truth.stat().st_size / 1e6
        rows = [
            ("scale / seed", f"{scale} / {seed}"),
            ("wall seconds", f"{wall:.1f}"),
            ("demo's own seconds", f"{doc['seconds']:.1f}"),
            ("peak RSS MB", f"{peak_kb / 1024:.0f}"),
            ("database MB", f"{main_mb:.0f}"),
            ("truth MB", f"{truth_mb:.0f}"),
            ("database + truth MB", f"{main_mb + truth_mb:.0f}"),
            ("hazard areas", f"{doc['counts']['hazard_area']:,}"),
            ("devices", f"{doc['counts']['device']:,}"),
            ("measured with", "GNU time -v" if timer else "perf_counter + getrusage"),
        ]
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"{key:<{width}}  {value:>14}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "national", int(sys.argv[2]) if len(sys.argv) > 2 else 1)
