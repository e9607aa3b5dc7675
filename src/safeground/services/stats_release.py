"""Land release and contamination figures (``safeground stats release``).

Official figures count records whose review state is approved or published (``include_submitted``
adds submitted ones); retired records never count. Areas are the stored ``area_m2`` and
``remaining_area_m2``, measured in each geometry's UTM zone (:mod:`safeground.geo.measure`).

- **Released land** counts from the date that counts (``released_area.released_on``): the NTS report's
  approval for cancelled land, the first passed QC for reduced and cleared land. Land still awaiting
  approval or QC is not released; it is shown apart as ``pending``. ``--since``/``--until`` filter on
  ``released_on``. Admin area is the hazard's ``admin1``/``admin2``; organisation is the activity's.
- **Remaining contamination** is the remaining area of SHA and CHA hazards that are open or worked on,
  as of now (the period does not apply).
- **Devices destroyed**: devices whose disposal is ``destroyed_in_situ`` or ``removed_and_destroyed``,
  each counting its ``quantity`` (one when missing); the period filters on ``found_date``.
- **Productivity**: m² per team-day, by method. A *team-day* is one team working one calendar day;
  an activity (technical survey, clearance or BAC) with a team, a start and an end date gives
  ``end - start + 1`` team-days. Its area is that of its reduced and cleared polygons, whatever their
  QC state (work done, not land counted as released). The method is the activity's assets joined
  with ``+`` (``manual+mdd``). The period filters on ``end_date``.
- **Contamination labels** per admin area and nationally follow Landmine Monitor's thresholds on the
  remaining SHA and CHA area (configuration ``statistics``: massive > 100 km², heavy 20-100, medium 5-20,
  light < 5).

The JSON document (``safeground stats release --format json``) has these keys:

- ``database``, ``generated_at``, ``official_only``, ``review_states``, ``since``, ``until``, ``by``;
- ``released``: ``{"total": FIGURES, "groups": [{"year"?, "adm1"?, "adm2"?, "organisation"?, **FIGURES}],
  "pending": {"awaiting_qc_km2", "awaiting_approval_km2"}, "missing": {"adm1", "adm2", "organisation"}}``
  where FIGURES is ``{"polygons", "released_km2", "cancelled_km2", "reduced_km2", "cleared_km2"}`` and
  ``missing`` counts released polygons lacking each grouping field (grouped under ``null``);
- ``remaining``: ``{"hazards", "sha_km2", "cha_km2", "total_km2"}``;
- ``devices_destroyed``: ``{"total", "undated", "by_category": {category: n}}`` (``undated``: destroyed
  devices without ``found_date``, left out when a period is given);
- ``productivity``: ``{"team_day", "by_method": {method: {"activities", "team_days", "area_m2",
  "m2_per_team_day"}}, "excluded": {"no_team", "no_dates", "no_assets"}}``;
- ``contamination_labels``: ``{"thresholds_km2": {"massive", "heavy", "medium"}, "national": LABEL,
  "adm1": [LABEL + {"adm1"}], "adm2": [LABEL + {"adm1", "adm2"}]}`` where LABEL is
  ``{"remaining_km2", "label"}``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.domain.release import TECHNICAL_TYPES
from safeground.domain.vocabularies import DEVICE_CATEGORY
from safeground.services.stats import DESTROYED
from safeground.services.workspace import Workspace
from safeground.store.base import Record

#: The ways ``--by`` can break released land down.
DIMENSIONS = ("year", "adm1", "adm2", "organisation")
KINDS = ("cancelled", "reduced", "cleared")
TEAM_DAY = ("one team working one calendar day; an activity with a team gives end_date - start_date + 1 "
            "team-days")


def _km2(m2: float) -> float:
    return round(m2 / 1e6, 6)


def _in_period(day: str | None, since: str | None, until: str | None) -> bool:
    if day is None:
        return since is None and until is None
    return (since is None or day >= since) and (until is None or day <= until)


def _lookup(ws: Workspace, layer: str, uuids: Sequence[str | None], fields: Sequence[str]) -> dict[str, Record]:
    wanted = sorted({u for u in uuids if u})
    if not wanted:
        return {}
    rows = ws.store.query(layer, where={"uuid": wanted}, include_retired=True, geometry=False, fields=fields)
    return {r["uuid"]: r for r in rows}


def _figures() -> dict[str, Any]:
    return {"polygons": 0, "released_km2": 0.0, **{f"{k}_km2": 0.0 for k in KINDS}}


def _released(ws: Workspace, where: dict[str, Any], since: str | None, until: str | None,
              by: Sequence[str], only_hazards: Collection[str] | None = None) -> dict[str, Any]:
    rows = ws.store.query("released_area", where=where, geometry=False,
                          fields=["activity", "hazard", "kind", "release_status", "released_on", "area_m2"])
    if only_hazards is not None:
        rows = [r for r in rows if r["hazard"] in only_hazards]
    hazards = _lookup(ws, "hazard_area", [r["hazard"] for r in rows], ["admin1", "admin2"])
    activities = _lookup(ws, "activity", [r["activity"] for r in rows], ["organisation"])
    orgs = _lookup(ws, "organisation", [a["organisation"] for a in activities.values()], ["name"])
    pending = {"awaiting_qc_km2": 0.0, "awaiting_approval_km2": 0.0}
    total_m2: dict[str, float] = defaultdict(float)
    groups: dict[tuple[Any, ...], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    missing = {"adm1": 0, "adm2": 0, "organisation": 0}
    polygons = 0
    group_polygons: dict[tuple[Any, ...], int] = defaultdict(int)
    for r in rows:
        m2 = r["area_m2"] or 0.0
        if r["release_status"] != "released":
            pending[f"{r['release_status']}_km2"] += m2
            continue
        if not _in_period(r["released_on"], since, until):
            continue
        hz = hazards.get(r["hazard"], {})
        act = activities.get(r["activity"], {})
        org = orgs.get(act.get("organisation") or "", {})
        values = {"year": int(r["released_on"][:4]), "adm1": hz.get("admin1"), "adm2": hz.get("admin2"),
                  "organisation": org.get("name")}
        for dim in missing:
            missing[dim] += values[dim] is None
        key = tuple(values[d] for d in by)
        polygons += 1
        group_polygons[key] += 1
        total_m2[r["kind"]] += m2
        groups[key][r["kind"]] += m2

    def figures(m2: dict[str, float], n: int) -> dict[str, Any]:
        out = _figures()
        out["polygons"] = n
        for k in KINDS:
            out[f"{k}_km2"] = _km2(m2.get(k, 0.0))
        out["released_km2"] = _km2(sum(m2.get(k, 0.0) for k in KINDS))
        return out

    def order(key: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple((v is None, v if v is not None else "") for v in key)

    return {
        "total": figures(total_m2, polygons),
        "groups": [{**dict(zip(by, key, strict=True)), **figures(groups[key], group_polygons[key])}
                   for key in sorted(groups, key=order)] if by else [],
        "pending": {k: _km2(v) for k, v in pending.items()},
        "missing": missing,
    }


def _remaining(ws: Workspace, where: dict[str, Any]) -> tuple[dict[str, Any], list[Record]]:
    rows = ws.store.query("hazard_area", geometry=False,
                          where={**where, "hazard_class": ["sha", "cha"], "status": ["open", "worked_on"]},
                          fields=["hazard_class", "remaining_area_m2", "admin1", "admin2"])
    by_class = {c: sum(r["remaining_area_m2"] or 0.0 for r in rows if r["hazard_class"] == c) for c in ("sha", "cha")}
    return {"hazards": len(rows), "sha_km2": _km2(by_class["sha"]), "cha_km2": _km2(by_class["cha"]),
            "total_km2": _km2(by_class["sha"] + by_class["cha"])}, rows


def _labels(ws: Workspace, hazards: list[Record]) -> dict[str, Any]:
    cfg = ws.config.statistics
    adm1: dict[Any, float] = defaultdict(float)
    adm2: dict[tuple[Any, Any], float] = defaultdict(float)
    for h in hazards:
        adm1[h["admin1"]] += h["remaining_area_m2"] or 0.0
        adm2[(h["admin1"], h["admin2"])] += h["remaining_area_m2"] or 0.0

    def label(m2: float) -> dict[str, Any]:
        return {"remaining_km2": _km2(m2), "label": cfg.contamination_label(m2 / 1e6)}

    def biggest(item: tuple[Any, float]) -> tuple[float, str]:
        return (-item[1], str(item[0]))

    return {
        "thresholds_km2": {"massive": cfg.contamination_massive_km2, "heavy": cfg.contamination_heavy_km2,
                           "medium": cfg.contamination_medium_km2},
        "national": label(sum(adm1.values())),
        "adm1": [{"adm1": a, **label(m2)} for a, m2 in sorted(adm1.items(), key=biggest)],
        "adm2": [{"adm1": k[0], "adm2": k[1], **label(m2)} for k, m2 in sorted(adm2.items(), key=biggest)],
    }


def _devices(ws: Workspace, where: dict[str, Any], since: str | None, until: str | None) -> dict[str, Any]:
    rows = ws.store.aggregate("device", group_by=["category", "found_date"],
                              where={**where, "disposal": list(DESTROYED)},
                              metrics={"rows": ("count", "*"), "with_qty": ("count", "quantity"),
                                       "qty": ("sum", "quantity")})
    out: dict[str, Any] = {"total": 0, "undated": 0, "by_category": {c: 0 for c in DEVICE_CATEGORY.codes}}
    for r in rows:
        n = int(r["qty"] or 0) + int(r["rows"]) - int(r["with_qty"])  # a missing quantity counts as one
        if r["found_date"] is None:
            out["undated"] += n
        if not _in_period(r["found_date"], since, until):
            continue
        out["total"] += n
        out["by_category"][r["category"]] = out["by_category"].get(r["category"], 0) + n
    return out


def _productivity(ws: Workspace, where: dict[str, Any], since: str | None, until: str | None) -> dict[str, Any]:
    acts = ws.store.query("activity", where={**where, "activity_type": sorted(TECHNICAL_TYPES)}, geometry=False,
                          fields=["team", "start_date", "end_date", "assets"])
    excluded = {"no_team": 0, "no_dates": 0, "no_assets": 0}
    counted: list[Record] = []
    for a in acts:
        if a["end_date"] is not None and not _in_period(a["end_date"], since, until):
            continue
        if not a["start_date"] or not a["end_date"]:
            excluded["no_dates"] += 1
        elif not a["team"]:
            excluded["no_team"] += 1
        elif not a["assets"]:
            excluded["no_assets"] += 1
        else:
            counted.append(a)
    area: dict[str, float] = defaultdict(float)
    if counted:
        for r in ws.store.query("released_area", geometry=False, fields=["activity", "area_m2"],
                                where={**where, "activity": sorted(a["uuid"] for a in counted),
                                       "kind": ["reduced", "cleared"]}):
            area[r["activity"]] += r["area_m2"] or 0.0
    by_method: dict[str, dict[str, Any]] = {}
    for a in counted:
        method = "+".join(sorted(a["assets"].split()))
        days = (dt.date.fromisoformat(a["end_date"]) - dt.date.fromisoformat(a["start_date"])).days + 1
        m = by_method.setdefault(method, {"activities": 0, "team_days": 0, "area_m2": 0.0})
        m["activities"] += 1
        m["team_days"] += max(days, 1)
        m["area_m2"] += area[a["uuid"]]
    for m in by_method.values():
        m["m2_per_team_day"] = round(m["area_m2"] / m["team_days"], 2)
        m["area_m2"] = round(m["area_m2"], 2)
    return {"team_day": TEAM_DAY, "by_method": dict(sorted(by_method.items())), "excluded": excluded}


def release_stats(ws: Workspace, *, since: str | None = None, until: str | None = None,
                  by: Sequence[str] = ("year",), include_submitted: bool = False) -> dict[str, Any]:
    """The land release and contamination document described in the module docstring.

    ``since`` and ``until`` are ISO dates, both included; ``by`` is a sequence of :data:`DIMENSIONS`
    (repeats are dropped), anything else is refused (``stats.unknown_breakdown``).
    """
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        raise ValidationError("stats.unknown_breakdown", f"Released land cannot be broken down by '{unknown[0]}'.",
                              hint=f"Use one or more of: {', '.join(DIMENSIONS)}.", details={"by": unknown[0]})
    by = list(dict.fromkeys(by))
    states = ["submitted", "approved", "published"] if include_submitted else ["approved", "published"]
    where: dict[str, Any] = {"review_state": states}
    remaining, hazards = _remaining(ws, where)
    return {
        "database": ws.store.location,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "official_only": not include_submitted,
        "review_states": states,
        "since": since,
        "until": until,
        "by": list(by),
        "released": _released(ws, where, since, until, by),
        "remaining": remaining,
        "devices_destroyed": _devices(ws, where, since, until),
        "productivity": _productivity(ws, where, since, until),
        "contamination_labels": _labels(ws, hazards),
    }


def _states(include_submitted: bool) -> list[str]:
    return ["submitted", "approved", "published"] if include_submitted else ["approved", "published"]


def released_land(ws: Workspace, *, since: str | None = None, until: str | None = None,
                  by: Sequence[str] = ("year",), include_submitted: bool = False,
                  hazards: Collection[str] | None = None) -> dict[str, Any]:
    """The document's ``released`` part alone; ``hazards`` (uuids) keeps only land of those hazard areas
    (treaty reports count land of mined or cluster-munition hazards only)."""
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:  # the same refusal as release_stats
        raise ValidationError("stats.unknown_breakdown", f"Released land cannot be broken down by '{unknown[0]}'.",
                              hint=f"Use one or more of: {', '.join(DIMENSIONS)}.", details={"by": unknown[0]})
    return _released(ws, {"review_state": _states(include_submitted)}, since, until, list(dict.fromkeys(by)),
                     only_hazards=hazards)


def devices_destroyed(ws: Workspace, *, since: str | None = None, until: str | None = None,
                      include_submitted: bool = False) -> dict[str, Any]:
    """The document's ``devices_destroyed`` part alone."""
    return _devices(ws, {"review_state": _states(include_submitted)}, since, until)


def render_text(doc: dict[str, Any]) -> str:
    """The document as readable tables."""
    scope = "approved and published records" if doc["official_only"] else "all records, submitted included"
    period = f"{doc['since'] or 'the start'} to {doc['until'] or 'today'}"
    rel, rem = doc["released"], doc["remaining"]
    head = f"  {'':<40} {'polygons':>8} {'released':>11} {'cancelled':>11} {'reduced':>11} {'cleared':>11}"

    def row(name: str, f: dict[str, Any]) -> str:
        return (f"  {name[:40]:<40} {f['polygons']:>8} {f['released_km2']:>11.3f} {f['cancelled_km2']:>11.3f} "
                f"{f['reduced_km2']:>11.3f} {f['cleared_km2']:>11.3f}")

    lines = [f"Land release and contamination, {period} ({scope})", "",
             f"Released land (km²), by {', '.join(doc['by']) or 'nothing'}", head]
    for g in rel["groups"]:
        lines.append(row(" / ".join("(unknown)" if g[d] is None else str(g[d]) for d in doc["by"]), g))
    lines.append(row("total", rel["total"]))
    lines.append(f"  not yet released: awaiting QC {rel['pending']['awaiting_qc_km2']:.3f} km², awaiting NTS "
                 f"approval {rel['pending']['awaiting_approval_km2']:.3f} km²")
    miss = ", ".join(f"{k} {v}" for k, v in rel["missing"].items() if v)
    if miss:
        lines.append(f"  released polygons lacking: {miss}")
    lines += ["", "Remaining contamination (open and worked-on hazards)",
              f"  SHA {rem['sha_km2']:.3f} km², CHA {rem['cha_km2']:.3f} km², total {rem['total_km2']:.3f} km² "
              f"in {rem['hazards']} hazard areas"]
    labels = doc["contamination_labels"]
    t = labels["thresholds_km2"]
    lines += ["", f"Contamination labels (massive > {t['massive']:g} km², heavy ≥ {t['heavy']:g}, medium ≥ "
                  f"{t['medium']:g}, light below)",
              f"  {'national':<40} {labels['national']['remaining_km2']:>11.3f} km²  {labels['national']['label']}"]
    for a in labels["adm1"]:
        lines.append(f"  {a['adm1'] or '(unknown)':<40} {a['remaining_km2']:>11.3f} km²  {a['label']}")
    d = doc["devices_destroyed"]
    lines += ["", f"Devices destroyed: {d['total']}" + (f" ({d['undated']} undated)" if d["undated"] else "")]
    lines += [f"  {c:<40} {n:>8}" for c, n in d["by_category"].items() if n]
    p = doc["productivity"]
    lines += ["", f"Productivity (team-day: {p['team_day']})",
              f"  {'method':<40} {'activities':>10} {'team-days':>10} {'m²':>14} {'m²/team-day':>12}"]
    lines += [f"  {m:<40} {v['activities']:>10} {v['team_days']:>10} {v['area_m2']:>14,.0f} "
              f"{v['m2_per_team_day']:>12,.1f}" for m, v in p["by_method"].items()]
    ex = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in p["excluded"].items() if v)
    if ex:
        lines.append(f"  activities left out: {ex}")
    return "\n".join(lines)
