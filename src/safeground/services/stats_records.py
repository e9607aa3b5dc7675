"""Minefield-record accuracy: how far the records handed over by the parties that laid mines can be trusted.

Once technical survey, clearance or battle area clearance has worked ground inside a record's perimeter
(overlap > 0), the finds test the record. Per checked record:

- ``found_share``: devices found inside the perimeter / ``mines_recorded`` (``null`` when the record gives
  no count); it can exceed 1 when more was found than recorded;
- ``found_outside``: devices found outside the perimeter but within the search distance of it;
- ``mean_offset_m``: the mean distance of **all** the record's finds from the recorded perimeter, 0 for a find
  inside it, each device counted by its quantity. All finds, not only those outside, because the figure
  answers "how far off is this record on average": a record whose finds all lie inside is 0 m off, and one
  whose 10 finds include one 200 m outside is 20 m off, while a mean over the outside finds alone would call
  both records equally wrong (or the first one undefined).

Records whose ground nobody has worked yet are listed under ``not_yet_checked``, never as 0 % found.

The figures read the stored matches (``safeground minefields match``). They are recomputed first when none
are stored, when they were made with another search distance, when a minefield record, activity or device
changed after they were made, or when ``rematch`` is asked for: matches are derived data, so recomputing
them changes no record. On a database opened read-only (a report) they are recomputed in memory and not
stored. Only official records count (review state approved or published, or submitted too with
``include_submitted``): the minefield records themselves, the activities that check them and the devices
found. Retired records never count.

The JSON document (``safeground stats records --format json``) has these keys:

- ``database``, ``generated_at``, ``official_only``, ``review_states``, ``search_m``, ``rematched``;
- ``records``: the checked records, each ``{"ref", "name", "reliability", "mines_recorded", "worked_m2",
  "worked_share", "found_inside", "found_outside", "found_share", "outside_share", "mean_offset_m",
  "max_offset_m"}``;
- ``not_yet_checked``: ``[{"ref", "name", "reliability", "mines_recorded"}]``;
- ``summary``: totals over the checked records, and the same per reliability grade in ``by_reliability``
  (``a``-``d`` always present, ``unknown`` when there is one): ``{"records_checked", "records_not_checked",
  "records_without_count", "mines_recorded", "found_inside", "found_outside", "found_share", "outside_share",
  "mean_offset_m", "median_offset_m"}``. ``found_share`` is the sum of finds inside over the sum of mines
  recorded, both over the checked records that give a count (``records_without_count`` says how many did
  not); ``outside_share`` is finds outside / all finds; the offsets are over all finds, by quantity.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections import defaultdict
from typing import Any

import numpy as np
import shapely

from safeground.domain.vocabularies import RELIABILITY
from safeground.geo.measure import areas_m2
from safeground.services.minefields import WORKING_ACTIVITIES, compute_minefield_matches, match_minefield_records
from safeground.services.workspace import Workspace

#: Grades always shown in the summary, even without records, so a reader sees what is missing.
GRADES = ("a", "b", "c", "d")


def _states(include_submitted: bool) -> list[str]:
    return ["submitted", "approved", "published"] if include_submitted else ["approved", "published"]


def matches_are_current(ws: Workspace, stored: list[dict[str, Any]], search_m: float) -> bool:
    """Whether ``stored`` matches were made with ``search_m`` after the last change to the layers they read."""
    if not stored or {m["search_m"] for m in stored} != {search_m}:
        return False
    made = min(m["computed_at"] for m in stored)
    for layer in ("minefield_record", "activity", "device"):
        [row] = ws.store.aggregate(layer, metrics={"last": ("max", "updated_at")}, include_retired=True)
        if row["last"] is not None and row["last"] > made:
            return False
    return True


def record_accuracy(ws: Workspace, *, search_m: float = 500.0, include_submitted: bool = False,
                    rematch: bool = False) -> dict[str, Any]:
    """The accuracy document described in the module docstring."""
    store = ws.store
    states = _states(include_submitted)
    official = {"review_state": states}
    # Stored matches whose activity or device counts (official, not retired), joined in the database.
    stored = [] if rematch else store.minefield_matches(counted=states)
    rematched = rematch or not matches_are_current(ws, stored, search_m)
    if rematched:
        if store.read_only:  # a report: the same matches, computed in memory, nothing stored
            every = compute_minefield_matches(ws, search_m=search_m)
        else:
            match_minefield_records(ws, search_m=search_m)
            every = store.minefield_matches()
        wanted_devices = sorted({m["uuid"] for m in every if m["layer"] == "device"})
        counted_devices = {d["uuid"] for d in store.query("device", where={**official, "uuid": wanted_devices},
                                                          geometry=False, fields=["review_state"])}
        stored = [m for m in every if m["layer"] != "device" or m["uuid"] in counted_devices]
    by_record: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in stored:
        by_record[m["minefield_record"]].append(m)
    # Activities that count: official, not retired (query leaves retired out), and working the ground.
    wanted = sorted({m["uuid"] for m in stored if m["layer"] == "activity"})
    activities = {a["uuid"]: a["geometry"] for a in store.query(
        "activity", where={**official, "uuid": wanted, "activity_type": list(WORKING_ACTIVITIES)})}
    devices = {m["uuid"] for m in stored if m["layer"] == "device"}

    records = store.query("minefield_record", where=official, order_by="ref")
    worked = [shapely.union_all([activities[m["uuid"]] for m in by_record.get(r["uuid"], [])
                                 if m["layer"] == "activity" and m["uuid"] in activities]) for r in records]
    perimeters = np.array([r["geometry"] for r in records], dtype=object)
    worked_m2 = areas_m2(shapely.intersection(perimeters, np.array(worked, dtype=object)))
    record_m2 = areas_m2(perimeters)
    checked: list[dict[str, Any]] = []
    unchecked: list[dict[str, Any]] = []
    offsets: dict[str, list[float]] = {}
    for rec, w_m2, r_m2 in zip(records, worked_m2, record_m2, strict=True):
        base = {"ref": rec["ref"], "name": rec.get("name"), "reliability": rec["reliability"],
                "mines_recorded": rec.get("mine_count")}
        if not w_m2 > 0:
            unchecked.append(base)
            continue
        finds = [m for m in by_record.get(rec["uuid"], []) if m["layer"] == "device" and m["uuid"] in devices]
        dist = [float(m["distance_m"]) for m in finds for _ in range(int(m["quantity"] or 1))]
        inside = sum(int(m["quantity"] or 1) for m in finds if m["inside"])
        outside = len(dist) - inside
        offsets[rec["ref"]] = dist
        recorded = base["mines_recorded"]
        checked.append({**base, "worked_m2": round(float(w_m2), 1),
                        "worked_share": round(min(float(w_m2 / r_m2), 1.0), 4),
                        "found_inside": inside, "found_outside": outside,
                        "found_share": round(inside / recorded, 4) if recorded else None,
                        "outside_share": round(outside / len(dist), 4) if dist else None,
                        "mean_offset_m": round(float(np.mean(dist)), 1) if dist else None,
                        "max_offset_m": round(max(dist), 1) if dist else None})

    grades = list(GRADES) + sorted({r["reliability"] for r in checked + unchecked} - set(GRADES))
    grades.sort(key=lambda g: RELIABILITY.codes.index(g) if g in RELIABILITY.codes else len(RELIABILITY.codes))
    summary = _summarise(checked, unchecked, offsets)
    summary["by_reliability"] = {
        g: _summarise([r for r in checked if r["reliability"] == g], [r for r in unchecked if r["reliability"] == g],
                      offsets) for g in grades}
    return {
        "database": store.location,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "official_only": not include_submitted,
        "review_states": states,
        "search_m": search_m,
        "rematched": rematched,
        "records": checked,
        "not_yet_checked": unchecked,
        "summary": summary,
    }


def _summarise(checked: list[dict[str, Any]], unchecked: list[dict[str, Any]],
               offsets: dict[str, list[float]]) -> dict[str, Any]:
    counted = [r for r in checked if r["mines_recorded"]]
    recorded = sum(r["mines_recorded"] for r in counted)
    inside_counted = sum(r["found_inside"] for r in counted)
    inside = sum(r["found_inside"] for r in checked)
    outside = sum(r["found_outside"] for r in checked)
    dist = [d for r in checked for d in offsets[r["ref"]]]
    return {
        "records_checked": len(checked),
        "records_not_checked": len(unchecked),
        "records_without_count": len(checked) - len(counted),
        "mines_recorded": recorded,
        "found_inside": inside,
        "found_outside": outside,
        "found_share": round(inside_counted / recorded, 4) if recorded else None,
        "outside_share": round(outside / (inside + outside), 4) if inside + outside else None,
        "mean_offset_m": round(float(np.mean(dist)), 1) if dist else None,
        "median_offset_m": round(float(np.median(dist)), 1) if dist else None,
    }


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.0%}"


def _metres(x: float | None) -> str:
    return "" if x is None else f"{x:.0f} m"


def render_text(doc: dict[str, Any]) -> str:
    """The accuracy document as a readable table."""
    scope = "approved and published records" if doc["official_only"] else "all records, submitted included"
    s = doc["summary"]
    head = f"{'':<10} {'recorded':>8} {'found in':>8} {'share':>6} {'outside':>7} {'out %':>6} {'mean off':>9}"
    lines = [f"Minefield-record accuracy ({scope}; finds up to {doc['search_m']:g} m outside a perimeter)",
             "", f"{'record':<10} {'grade':<7} {'worked':>6} " + head[11:]]
    for r in doc["records"]:
        lines.append(f"{r['ref']:<10} {r['reliability']:<7} {_pct(r['worked_share']):>6} "
                     f"{'' if r['mines_recorded'] is None else r['mines_recorded']:>8} {r['found_inside']:>8} "
                     f"{_pct(r['found_share']):>6} {r['found_outside']:>7} {_pct(r['outside_share']):>6} "
                     f"{_metres(r['mean_offset_m']):>9}")
    if doc["not_yet_checked"]:
        lines += ["", f"Not yet checked (no TS, clearance or BAC inside yet): {len(doc['not_yet_checked'])}",
                  textwrap.fill(", ".join(f"{r['ref']} ({r['reliability']})" for r in doc["not_yet_checked"]),
                                width=100, initial_indent="  ", subsequent_indent="  ")]
    lines += ["", "Summary over checked records (found share: records that give a count)",
              f"{'grade':<10} {'checked':>7} " + head[11:] + f" {'median off':>10}"]
    rows = [("all", s), *s["by_reliability"].items()]
    for g, v in rows:
        lines.append(f"{g:<10} {v['records_checked']:>7} {v['mines_recorded']:>8} {v['found_inside']:>8} "
                     f"{_pct(v['found_share']):>6} {v['found_outside']:>7} {_pct(v['outside_share']):>6} "
                     f"{_metres(v['mean_offset_m']):>9} {_metres(v['median_offset_m']):>10}")
    return "\n".join(lines)
