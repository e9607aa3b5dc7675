"""Import of device rows from CSV through a mapping, against pyogrio converting the same CSV to a GeoPackage
with a spatial index, in the same run. Plain script: prints a table of rows per second.

Run: python benchmarks/bench_import_csv.py [ROWS]   (default 1,000,000)
SafeGround does more per row: mapping, validation, rules, quarantine, an audit row, exact-duplicate flagging,
uuid, ref and date indexes, all in one transaction that a file fault rolls back; it runs exactly as
`safeground import FILE.csv --mapping M` does (default chunk size, streaming). Both sides end with a complete
GeoPackage with a spatial index (SafeGround's time includes its closing WAL checkpoint).

Measured on a shared 2-core machine, three runs: ratio 0.63, 0.64, 0.65 (SafeGround 40,000-46,000 rows/s, pyogrio
63,000-72,000; 0.60 to 0.85 over six runs); it was 0.44 before the CSV was read by Arrow and the bulk insert
put 200 rows in a statement.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyogrio

from safeground.domain.config import Config
from safeground.services.mapped_import import import_csv
from safeground.services.workspace import Workspace

MAPPING = """name: bench_devices
review_state: approved
geometry: {x: lon, y: lat}
source_id: id
route: {column: kind, default: device}
layers:
  device:
    fields: {category: kind, model: model}
    date: {field: found_date, column: year, precision: year}
"""


def main(n: int) -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, mapping = Path(tmp) / "devices.csv", Path(tmp) / "m.yaml"
        mapping.write_text(MAPPING, encoding="utf-8")
        kinds = np.array(["ap_mine", "av_mine", "improvised_mine", "other_erw"])[rng.integers(0, 4, n)]
        lon, lat = rng.uniform(-75, -71, n).round(6), rng.uniform(3, 8, n).round(6)
        year = rng.integers(1990, 2025, n)
        with open(csv_path, "w", encoding="utf-8") as fh:
            fh.write("id,kind,model,year,lon,lat\n")
            fh.writelines(f"{i},{k},PMN-2,{y},{x},{yy}\n" for i, (k, y, x, yy) in enumerate(zip(kinds, year, lon, lat,
                                                                                             strict=True)))
        ws = Workspace.open(Path(tmp) / "sg.gpkg", user="bench", create=True)
        ws.set_config(Config(country="COL", geometry={"outside_tolerance_km": None}))
        t = time.perf_counter()
        report = import_csv(ws, csv_path, mapping)
        ws.close()
        sg = time.perf_counter() - t
        t = time.perf_counter()
        frame = pyogrio.read_dataframe(csv_path, X_POSSIBLE_NAMES="lon", Y_POSSIBLE_NAMES="lat", KEEP_GEOM_COLUMNS="NO")
        pyogrio.write_dataframe(frame.set_crs(4326), Path(tmp) / "ref.gpkg", layer="device", SPATIAL_INDEX="YES")
        ref = time.perf_counter() - t
    assert report.rows_stored == n, report
    print(f"{'rows':>10} {'safeground rows/s':>18} {'pyogrio rows/s':>15} {'ratio':>6}")
    print(f"{n:>10} {n / sg:>18,.0f} {n / ref:>15,.0f} {ref / sg:>6.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
