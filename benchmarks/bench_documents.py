"""Time each paperwork document on a demo database, step by step, against WeasyPrint alone.

    python benchmarks/bench_documents.py [--db demo.gpkg]     (builds a small demo when --db is not given)

The reference is WeasyPrint laying out the same finished HTML: the floor any PDF of that page costs. The ratio
says what gathering the records, drawing the map and filling the template add to it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import weasyprint

from safeground.reports.paperwork import render_document
from safeground.reports.render import write_pdf
from safeground.services import paperwork
from safeground.services.demo import build_demo
from safeground.services.workspace import Workspace

OFFICIAL = ["approved", "published"]


def pick(ws: Workspace) -> dict[str, tuple[str, dict]]:
    """A CHA still open, a manual team, and a clearance whose land is all released (as the tests pick them)."""
    cha = ws.store.query("hazard_area", where={"hazard_class": "cha", "status": ["open", "worked_on"],
                                               "review_state": OFFICIAL}, geometry=False, order_by="ref")[0]
    team = ws.store.query("team", where={"method": "manual"}, geometry=False, order_by="ref")[0]
    released = {r["activity"] for r in ws.store.query("released_area", where={"release_status": "released",
                "review_state": OFFICIAL}, geometry=False)}
    waiting = {r["activity"] for r in ws.store.query("released_area", where={"release_status": ["awaiting_qc",
               "awaiting_approval"]}, geometry=False)}
    act = ws.store.query("activity", where={"uuid": sorted(released - waiting), "review_state": OFFICIAL,
                                            "activity_type": "clearance"}, geometry=False, order_by="ref")[0]
    return {"task_order": (cha["ref"], {"team_ref": team["ref"]}), "completion_report": (act["ref"], {}),
            "handover_certificate": (act["ref"], {})}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    db = Path(args.db) if args.db else tmp / "demo.gpkg"
    if not args.db:
        with Workspace.open(db, create=True) as ws:
            build_demo(ws, scale="small", seed=1)
    weasyprint.HTML(string="<p>warm up</p>").write_pdf(tmp / "warm.pdf")
    functions = {"task_order": paperwork.task_order, "completion_report": paperwork.completion_report,
                 "handover_certificate": paperwork.handover_certificate}
    print(f"{'document':<22} {'ref':<10} {'data s':>7} {'map+html s':>10} {'pdf s':>7} {'total s':>8} "
          f"{'weasyprint s':>13} {'ratio':>6}")
    with Workspace.open(db) as ws:
        for kind, (ref, kwargs) in pick(ws).items():
            t0 = time.perf_counter()
            doc = functions[kind](ws, ref, **kwargs)
            t1 = time.perf_counter()
            html = render_document(doc)
            t2 = time.perf_counter()
            write_pdf(html, tmp / f"{kind}.pdf")
            t3 = time.perf_counter()
            weasyprint.HTML(string=html).write_pdf(tmp / f"{kind}-ref.pdf")
            ref_s = time.perf_counter() - t3
            print(f"{kind:<22} {ref:<10} {t1 - t0:>7.3f} {t2 - t1:>10.3f} {t3 - t2:>7.3f} {t3 - t0:>8.3f} "
                  f"{ref_s:>13.3f} {(t3 - t0) / ref_s:>6.2f}")


if __name__ == "__main__":
    main()
