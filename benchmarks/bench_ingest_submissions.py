"""Ingest of ODK Central accident submissions (one casualty and one photo each), built from the real Colombia
register's MAP/MUSE accidents, against pyogrio converting the same main CSV to a GeoPackage with a spatial
index, in the same run. Plain script: prints a table of submissions per second.

Run: python benchmarks/bench_ingest_submissions.py [SUBMISSIONS]   (default: every accident in the register)
SafeGround does much more per submission: a savepoint, validation, rules, two records, an attachment, audit.
"""

from __future__ import annotations

import csv
import io
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pyogrio

from safeground.domain.config import Config
from safeground.services.submissions import ingest
from safeground.services.workspace import Workspace

REGISTER = Path(__file__).resolve().parents[1] / "data" / "colombia_aicma" / "events_1990_2014.csv"
MAIN = ["SubmissionDate", "geometry-Latitude", "geometry-Longitude", "geometry-Altitude", "geometry-Accuracy",
        "accident_type", "accident_date", "area_type", "admin1", "admin2", "photo_1", "meta-instanceID", "KEY"]
REPEAT = ["outcome", "status", "PARENT_KEY", "KEY"]


def _table(columns: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def build(zip_path: Path, limit: int | None) -> tuple[int, str]:
    with open(REGISTER, encoding="utf-8") as fh:
        accidents = [r for r in csv.DictReader(fh) if r["tipo_evento"].startswith("Accidente")][:limit]
    main, casualties = [], []
    for i, r in enumerate(accidents):
        key = f"uuid:00000000-0000-4000-8000-{i:012d}"
        main.append({"SubmissionDate": "2026-11-20T10:00:00.000Z", "geometry-Latitude": r["lat"],
                     "geometry-Longitude": r["lon"], "geometry-Altitude": "0", "geometry-Accuracy": "5",
                     "accident_type": "mine_erw", "accident_date": f"{r['year']}-12-31",
                     "area_type": "urban" if r["tipo_area"] == "Urbana" else "rural", "admin1": r["departamento"],
                     "admin2": r["municipio"], "photo_1": f"site{i}.jpg", "meta-instanceID": key, "KEY": key})
        casualties.append({"outcome": "injured", "status": "civilian", "PARENT_KEY": key, "KEY": f"{key}/casualty[1]"})
    main_csv = _table(MAIN, main)
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("safeground_accident.csv", main_csv)
        zf.writestr("safeground_accident-casualty.csv", _table(REPEAT, casualties))
        for i in range(len(main)):
            zf.writestr(f"media/site{i}.jpg", b"\xff\xd8\xff\xe0" + i.to_bytes(4, "big") * 256)
    return len(main), main_csv


def main(limit: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        zip_path = Path(tmp) / "safeground_accident.zip"
        n, main_csv = build(zip_path, limit)
        ws = Workspace.open(Path(tmp) / "sg.gpkg", user="bench", create=True)
        ws.set_config(Config(country="COL"))
        t = time.perf_counter()
        report = ingest(ws, zip_path, "accident")
        ws.close()
        sg = time.perf_counter() - t
        plain = Path(tmp) / "main.csv"
        plain.write_text(main_csv, encoding="utf-8")
        t = time.perf_counter()
        frame = pyogrio.read_dataframe(plain, X_POSSIBLE_NAMES="geometry-Longitude",
                                       Y_POSSIBLE_NAMES="geometry-Latitude", KEEP_GEOM_COLUMNS="NO")
        pyogrio.write_dataframe(frame.set_crs(4326), Path(tmp) / "ref.gpkg", layer="accident", SPATIAL_INDEX="YES")
        ref = time.perf_counter() - t
    assert report.submissions_read == n == report.submissions_stored + report.submissions_quarantined, report
    print(f"{'submissions':>12} {'stored':>7} {'quarantined':>12} {'safeground subm/s':>18} {'pyogrio rows/s':>15} "
          f"{'ratio':>6}")
    print(f"{n:>12} {report.submissions_stored:>7} {report.submissions_quarantined:>12} {n / sg:>18,.0f} "
          f"{n / ref:>15,.0f} {ref / sg:>6.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
