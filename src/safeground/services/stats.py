"""The summary figures: contamination, land release, devices, casualties and EORE.

Official figures count records whose review state is approved or published; pass
``include_submitted`` to count submitted ones too. Record counts per layer always cover every
row, so they match what GDAL, QGIS or pyogrio read from the file. Casualty figures are
aggregates only: no personal field is ever read here.

The JSON document (``safeground stats --format json``) has these keys:

- ``database``, ``generated_at``, ``official_only``, ``review_states``;
- ``layers``: per layer ``{"records", "retired", "submitted", "approved", "published"}``;
- ``contamination``: ``{"hazards", "area_km2", "remaining_km2", "by_class": {class: {"hazards",
  "area_km2", "remaining_km2"}}, "by_status": {status: hazards}}`` over active (not retired) hazards,
  with remaining area only for hazards not closed or handed over;
- ``land_release``: ``{"released_km2", "cancelled_km2", "reduced_km2", "cleared_km2",
  "awaiting_qc_km2", "awaiting_approval_km2"}``;
- ``devices``: ``{"found", "destroyed", "by_category": {category: {"found", "destroyed"}}}``;
- ``accidents``; ``casualties``: ``{"total", "killed", "injured", "unknown", "by_status":
  {status: {"killed", "injured", "unknown"}}}``;
- ``eore``: ``{"sessions", "beneficiaries", "women", "girls", "boys", "men"}``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from safeground.domain.records import LAYERS
from safeground.domain.vocabularies import OUTCOME
from safeground.services.workspace import Workspace

DESTROYED = ("destroyed_in_situ", "removed_and_destroyed")


def _km2(m2: float | None) -> float:
    return round((m2 or 0.0) / 1e6, 4)


def summary(ws: Workspace, *, include_submitted: bool = False) -> dict[str, Any]:
    """The summary document described in the module docstring."""
    states = ["submitted", "approved", "published"] if include_submitted else ["approved", "published"]
    official = {"review_state": states}
    store = ws.store
    out: dict[str, Any] = {
        "database": store.location,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "official_only": not include_submitted,
        "review_states": states,
    }

    layers: dict[str, dict[str, int]] = {}
    for layer in LAYERS:
        retired = store.count(layer, where={"retired_at": ("not_null", None)})
        counts = {"records": store.count(layer), "retired": retired}
        by_state = {r["review_state"]: r["count"] for r in store.aggregate(layer, group_by=["review_state"])}
        counts.update({s: int(by_state.get(s, 0)) for s in ("submitted", "approved", "published")})
        layers[layer] = counts
    out["layers"] = layers

    rows = store.aggregate("hazard_area", group_by=["hazard_class", "status"], where=official,
                           metrics={"n": ("count", "*"), "area": ("sum", "area_m2"),
                                    "remaining": ("sum", "remaining_area_m2")})
    by_class: dict[str, dict[str, float]] = defaultdict(lambda: {"hazards": 0, "area_km2": 0.0, "remaining_km2": 0.0})
    by_status: dict[str, int] = defaultdict(int)
    for r in rows:
        c = by_class[r["hazard_class"]]
        c["hazards"] += r["n"]
        c["area_km2"] = round(c["area_km2"] + _km2(r["area"]), 4)
        if r["status"] in ("open", "worked_on"):
            c["remaining_km2"] = round(c["remaining_km2"] + _km2(r["remaining"]), 4)
        by_status[r["status"]] += r["n"]
    out["contamination"] = {
        "hazards": sum(int(c["hazards"]) for c in by_class.values()),
        "area_km2": round(sum(c["area_km2"] for c in by_class.values()), 4),
        "remaining_km2": round(sum(c["remaining_km2"] for c in by_class.values()), 4),
        "by_class": dict(by_class),
        "by_status": dict(by_status),
    }

    release = {"released_km2": 0.0, "cancelled_km2": 0.0, "reduced_km2": 0.0, "cleared_km2": 0.0,
               "awaiting_qc_km2": 0.0, "awaiting_approval_km2": 0.0}
    for r in store.aggregate("released_area", group_by=["kind", "release_status"], where=official,
                             metrics={"area": ("sum", "area_m2")}):
        if r["release_status"] == "released":
            release[f"{r['kind']}_km2"] += _km2(r["area"])
            release["released_km2"] += _km2(r["area"])
        else:
            release[f"{r['release_status']}_km2"] += _km2(r["area"])
    out["land_release"] = {k: round(v, 4) for k, v in release.items()}

    devices: dict[str, Any] = {"found": 0, "destroyed": 0, "by_category": {}}
    for r in store.aggregate("device", group_by=["category", "disposal"], where=official,
                             metrics={"rows": ("count", "*"), "with_qty": ("count", "quantity"),
                                      "qty": ("sum", "quantity")}):
        items = int(r["qty"] or 0) + int(r["rows"]) - int(r["with_qty"])  # a missing quantity counts as one
        cat = devices["by_category"].setdefault(r["category"], {"found": 0, "destroyed": 0})
        cat["found"] += items
        devices["found"] += items
        if r["disposal"] in DESTROYED:
            cat["destroyed"] += items
            devices["destroyed"] += items
    out["devices"] = devices

    out["accidents"] = store.count("accident", where=official, include_retired=False)
    cas: dict[str, Any] = {"total": 0, **{o: 0 for o in OUTCOME.codes}, "by_status": {}}
    for r in store.aggregate("casualty", group_by=["status", "outcome"], where=official):
        st = cas["by_status"].setdefault(r["status"], {o: 0 for o in OUTCOME.codes})
        st[r["outcome"]] += r["count"]
        cas[r["outcome"]] += r["count"]
        cas["total"] += r["count"]
    out["casualties"] = cas

    metrics = {k: ("sum", k) for k in ("women", "girls", "boys", "men")}
    metrics["sessions"] = ("count", "*")
    e = store.aggregate("eore_session", metrics=metrics, where=official)[0]
    eore = {"sessions": int(e["sessions"]), **{k: int(e[k] or 0) for k in ("women", "girls", "boys", "men")}}
    eore["beneficiaries"] = sum(eore[k] for k in ("women", "girls", "boys", "men"))
    out["eore"] = eore
    return out


def render_text(doc: dict[str, Any]) -> str:
    """The summary as a short, readable text report."""
    c, lr, d, cas, e = doc["contamination"], doc["land_release"], doc["devices"], doc["casualties"], doc["eore"]
    scope = "approved and published records" if doc["official_only"] else "all records, submitted included"
    lines = [
        f"SafeGround summary of {doc['database']} ({scope})",
        "",
        "Contamination",
        f"  hazard areas        {c['hazards']:>10}   {c['area_km2']:>12.3f} km²   "
        f"remaining {c['remaining_km2']:.3f} km²",
    ]
    for cls, v in sorted(c["by_class"].items()):
        lines.append(f"    {cls:<17} {int(v['hazards']):>10}   {v['area_km2']:>12.3f} km²   remaining "
                     f"{v['remaining_km2']:.3f} km²")
    lines += [
        "Land release",
        f"  released            {lr['released_km2']:>12.3f} km²  (cancelled {lr['cancelled_km2']:.3f}, "
        f"reduced {lr['reduced_km2']:.3f}, cleared {lr['cleared_km2']:.3f})",
        f"  awaiting QC         {lr['awaiting_qc_km2']:>12.3f} km²   awaiting NTS approval "
        f"{lr['awaiting_approval_km2']:.3f} km²",
        "Devices",
        f"  found               {d['found']:>10}   destroyed {d['destroyed']}",
    ]
    for cat, v in sorted(d["by_category"].items()):
        lines.append(f"    {cat:<17} {v['found']:>10}   destroyed {v['destroyed']}")
    lines += [
        "Accidents and casualties",
        f"  accidents           {doc['accidents']:>10}",
        f"  casualties          {cas['total']:>10}   killed {cas['killed']}, injured {cas['injured']}, "
        f"unknown {cas['unknown']}",
    ]
    for st, v in sorted(cas["by_status"].items()):
        lines.append(f"    {st:<17} {sum(v.values()):>10}   killed {v['killed']}, injured {v['injured']}, "
                     f"unknown {v['unknown']}")
    lines += [
        "Explosive ordnance risk education",
        f"  sessions            {e['sessions']:>10}   people reached {e['beneficiaries']} (women {e['women']}, "
        f"girls {e['girls']}, boys {e['boys']}, men {e['men']})",
        "Records per layer (all rows)",
    ]
    for layer, v in doc["layers"].items():
        lines.append(f"  {layer:<20} {v['records']:>8}   retired {v['retired']}, submitted {v['submitted']}, "
                     f"approved {v['approved']}, published {v['published']}")
    return "\n".join(lines)
