"""Time of ``safeground stats eore``, ``stats assistance`` and ``stats article7``, against pyogrio + pandas.

Plain script, not a test: python benchmarks/bench_stats_treaty.py [DB] [YEAR]
Without DB it builds the small demo in a temporary folder; give the national demo (``safeground demo
--scale national``) to see the national scale. Nothing is written to DB. YEAR defaults to 2024.
The references read the same layers with pyogrio (GDAL) into pandas and compute one table each:
- EORE: women, girls, boys and men summed by admin1 over official sessions;
- assistance: referrals and distinct casualties by service (no duplicate links, no period);
- article 7: the hazards of the APMBC rule (contamination type, evidence, devices found) and their SHA/CHA
  count by admin1, without the area at 31 December or the four other tables.
The ratio says what SafeGround's whole document costs beyond that one table.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio

from safeground.services.demo import build_demo
from safeground.services.stats_assistance import assistance_stats
from safeground.services.stats_outreach import eore_stats
from safeground.services.stats_treaty import article7
from safeground.services.workspace import Workspace

OFFICIAL = ["approved", "published"]


def _read(db: Path, layer: str, columns: list[str]) -> pd.DataFrame:
    df = pyogrio.read_dataframe(db, layer=layer, read_geometry=False, columns=[*columns, "review_state", "retired_at"])
    return df[df["review_state"].isin(OFFICIAL) & df["retired_at"].isna()]


def ref_eore(db: Path) -> Any:
    df = _read(db, "eore_session", ["admin1", "women", "girls", "boys", "men"])
    return df.groupby("admin1", dropna=False)[["women", "girls", "boys", "men"]].sum()


def ref_assistance(db: Path) -> Any:
    df = _read(db, "assistance_referral", ["casualty", "service"])
    return df.groupby("service").agg(referrals=("casualty", "size"), people=("casualty", "nunique"))


def ref_article7(db: Path) -> Any:
    hz = _read(db, "hazard_area", ["uuid", "hazard_class", "contamination_type", "admin1"])
    hz = hz[hz["hazard_class"].isin(["sha", "cha"])]
    ev = _read(db, "evidence", ["hazard", "contamination_type"])
    dv = _read(db, "device", ["hazard", "category"])
    types = ["ap_mines", "mixed_mines", "improvised"]
    chosen = (hz["contamination_type"].isin(types)
              | hz["uuid"].isin(ev.loc[ev["contamination_type"].isin(types), "hazard"])
              | hz["uuid"].isin(dv.loc[dv["category"].isin(["ap_mine", "improvised_mine"]), "hazard"]))
    return hz[chosen].groupby(["admin1", "hazard_class"], dropna=False).size()


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(source: str | None, year: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(source) if source else Path(tmp) / "treaty.gpkg"
        if not source:
            with Workspace.open(db, user="bench", create=True) as ws:
                build_demo(ws, scale="small", seed=1)
        ws = Workspace.open(db, user="bench")
        counts = {n: ws.store.count(n) for n in ("hazard_area", "evidence", "device", "eore_session",
                                                 "assistance_referral")}
        cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
            ("stats eore --by adm1", lambda: eore_stats(ws, by=["adm1"]), lambda: ref_eore(db)),
            ("stats assistance --by service", lambda: assistance_stats(ws, by=["service"]),
             lambda: ref_assistance(db)),
            (f"stats article7 --treaty apmbc --year {year}", lambda: article7(ws, treaty_code="apmbc", year=year),
             lambda: ref_article7(db)),
            (f"stats article7 --treaty ccm --year {year}", lambda: article7(ws, treaty_code="ccm", year=year),
             lambda: ref_article7(db)),
        ]
        rows = [(name, timed(ours), timed(ref)) for name, ours, ref in cases]
        ws.close()
    print("records: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print(f"{'command':<42} {'seconds':>8} {'pyogrio+pandas':>15} {'ratio':>6}")
    for name, ours, ref in rows:
        print(f"{name:<42} {ours:>8.2f} {ref:>15.2f} {ours / ref:>6.1f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None, int(sys.argv[2]) if len(sys.argv) > 2 else 2024)
