"""Article 7 transparency tables (``safeground stats article7``) for the Mine Ban Treaty and the CCM.

States Parties report every year, for the calendar year before, in the layout of the treaties' Article 7
reporting forms. This module fills five tables from the records, for ``--treaty apmbc`` (the
Anti-Personnel Mine Ban Convention) or ``--treaty ccm`` (the Convention on Cluster Munitions):

=====================  =========  ========  ==========================================================
table                  APMBC      CCM       what
=====================  =========  ========  ==========================================================
``contaminated_areas`` Form C     Form F    areas known (CHA) or suspected (SHA) to contain the treaty's
                                            items at 31 December of the year, by admin area: number, km²
``released_areas``     Form F     Form F    land released in the year, by admin area: km² cancelled,
                                            reduced, cleared (from :func:`stats_release.released_land`)
``destroyed``          Form G     Form F    devices destroyed in the year by category, the treaty's
                                            items marked (from :func:`stats_release.devices_destroyed`)
``risk_education``     Form I     Form G    EORE sessions and people reached (women, girls, boys, men),
                                            by admin area (from :func:`stats_outreach.eore_stats`)
``victim_assistance``  Form J     Form H    referrals and people referred, by service and outcome
                                            (from :func:`stats_assistance.assistance_stats`)
=====================  =========  ========  ==========================================================

**Which records belong to which treaty** (:data:`TREATIES`), decided from the record declarations:

- a *hazard area* is the treaty's when it is an SHA or CHA and either its ``contamination_type``, the
  ``contamination_type`` of an item of evidence linked to it, or the ``category`` of a device found in it
  (``device.hazard``) says so. APMBC: contamination ``ap_mines``, ``mixed_mines`` or ``improvised``, devices
  ``ap_mine`` or ``improvised_mine`` (victim-activated improvised mines are anti-personnel mines under the
  treaty, as Landmine Monitor counts them). CCM: contamination ``cluster_munitions``, devices
  ``cluster_submunition``. A hazard recorded only as ``unknown``, ``av_mines`` or ``erw`` belongs to
  neither; ``hazards`` in the document says how many hazards each rule selected;
- *devices*: the treaty's items are the categories above (``unspecified_mine`` is not counted as an
  anti-personnel mine: it may be anti-vehicle); every other destroyed device is listed as another device;
- *risk education* sessions do not say which ordnance they covered: both treaties get the same figures;
- *victim assistance*: APMBC counts every referral (mine/ERW victims, as the Oslo Action Plan asks); CCM
  only referrals of casualties of accidents whose device is a ``cluster_submunition``.

**The year.** Land released, devices destroyed (by ``found_date``, the date a device record has), sessions
and referrals count when their date lies in the calendar year. Contamination is *as at 31 December*: a
hazard counts unless it was reported after the year (a coarse ``reported_date`` counts from its first day;
an undated one is counted and reported in ``notes.undated``), with its remaining area now plus the land
released from it after the year (the same released polygons that the stored remaining area subtracts,
capped at its area; a closed hazard counts only that land). Hazard class is the class recorded now.

Official figures count approved or published records (``include_submitted`` adds submitted ones);
retired records never count. Casualties appear only as aggregates.

The JSON document (``safeground stats article7 --format json``; schema
``data/schemas/stats_article7.schema.json``) has these keys:

- ``database``, ``generated_at``, ``official_only``, ``review_states``, ``treaty``, ``treaty_name``,
  ``year``, ``since``, ``until`` (the calendar year), ``as_of`` (31 December);
- ``rule``: ``{"hazard_classes", "contamination_types", "device_categories", "victim_assistance_devices"}``;
- ``hazards``: ``{"selected", "by_contamination_type", "by_evidence", "by_device"}`` (a hazard may be
  selected by more than one rule);
- ``tables``: ``{name: {"form", "title", "columns", "rows": [...], "total": {...}, "notes": {...}}}`` for
  the five tables above; each row has the ``columns`` as keys; ``total`` has every column but the first
  (for ``victim_assistance`` its ``people`` counts each person once, so it is not the sum of the rows);
  ``notes`` holds the table's missing or left-out counts.

CSV (``--out DIR``): one UTF-8 file per table, ``article7_<treaty>_<year>_<table>.csv``, a header row of
the ``columns``, then the rows, then a row whose first column is ``total``.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.domain.fields import Vocabulary
from safeground.domain.vocabularies import ASSISTANCE_SERVICE, DEVICE_CATEGORY, REFERRAL_OUTCOME
from safeground.io.vector import new_file
from safeground.services.stats_assistance import assistance_stats
from safeground.services.stats_outreach import eore_stats
from safeground.services.stats_release import devices_destroyed, released_land
from safeground.services.workspace import Workspace


@dataclass(frozen=True)
class Treaty:
    """What a treaty's Article 7 report counts, and on which form each table goes."""

    code: str
    name: str
    contamination_types: tuple[str, ...]
    device_categories: tuple[str, ...]
    victim_assistance_devices: tuple[str, ...] | None
    forms: dict[str, str]


TREATIES: dict[str, Treaty] = {
    "apmbc": Treaty("apmbc", "Anti-Personnel Mine Ban Convention",
                    ("ap_mines", "mixed_mines", "improvised"), ("ap_mine", "improvised_mine"), None,
                    {"contaminated_areas": "C", "released_areas": "F", "destroyed": "G", "risk_education": "I",
                     "victim_assistance": "J"}),
    "ccm": Treaty("ccm", "Convention on Cluster Munitions", ("cluster_munitions",), ("cluster_submunition",),
                  ("cluster_submunition",),
                  {"contaminated_areas": "F", "released_areas": "F", "destroyed": "F", "risk_education": "G",
                   "victim_assistance": "H"}),
}
TABLES = ("contaminated_areas", "released_areas", "destroyed", "risk_education", "victim_assistance")
HAZARD_CLASSES = ("sha", "cha")
_ITEMS = {"apmbc": "anti-personnel mines", "ccm": "cluster munition remnants"}


def treaty(code: str) -> Treaty:
    """The treaty named by ``code``.

    >>> treaty("ccm").device_categories
    ('cluster_submunition',)
    >>> treaty("ottawa")
    Traceback (most recent call last):
    ...
    safeground.domain.errors.ValidationError: Unknown treaty 'ottawa'.
    """
    if code not in TREATIES:
        raise ValidationError("stats.unknown_treaty", f"Unknown treaty '{code}'.",
                              hint="Use --treaty apmbc (Mine Ban Treaty) or --treaty ccm (Cluster Munitions).")
    return TREATIES[code]


def _label(vocabulary: Vocabulary, code: str) -> str:
    return next(t.label for t in vocabulary.terms if t.code == code)


def _km2(m2: float) -> float:
    return round(m2 / 1e6, 6)


def _reported_after(day: Any, precision: Any, year: int) -> bool:
    """Whether a hazard was first reported after ``year`` (a coarse date from its first day).

    >>> _reported_after("2025-01-01", "year", 2024), _reported_after("2024-12-31", "year", 2024)
    (True, False)
    """
    if not day:
        return False
    text = str(day)
    return int(text[:4]) > year if precision == "year" else text[:10] > f"{year}-12-31"


def treaty_hazards(ws: Workspace, t: Treaty, states: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """The SHA and CHA hazard areas that belong to treaty ``t`` (rule in the module docstring), by uuid,
    and how many each rule selected."""
    store = ws.store
    where = {"review_state": states}
    hazards = {h["uuid"]: h for h in store.query(
        "hazard_area", where={**where, "hazard_class": list(HAZARD_CLASSES)}, geometry=False,
        fields=["hazard_class", "status", "contamination_type", "area_m2", "remaining_area_m2", "reported_date",
                "date_precision", "admin1"])}
    by_type = {u for u, h in hazards.items() if h["contamination_type"] in t.contamination_types}
    by_evidence = {r["hazard"] for r in store.aggregate(
        "evidence", group_by=["hazard"], where={**where, "contamination_type": list(t.contamination_types)})
        if r["hazard"] in hazards}
    by_device = {r["hazard"] for r in store.aggregate(
        "device", group_by=["hazard"], where={**where, "category": list(t.device_categories)})
        if r["hazard"] in hazards}
    selected = by_type | by_evidence | by_device
    return ({u: hazards[u] for u in sorted(selected)},
            {"selected": len(selected), "by_contamination_type": len(by_type), "by_evidence": len(by_evidence),
             "by_device": len(by_device)})


def _order(value: Any) -> tuple[bool, str]:
    return (value is None, "" if value is None else str(value))


def _contaminated(ws: Workspace, hazards: dict[str, dict[str, Any]], year: int) -> dict[str, Any]:
    end = f"{year}-12-31"
    later: dict[str, float] = {}
    if hazards:
        for r in ws.store.aggregate("released_area", group_by=["hazard"], metrics={"m2": ("sum", "area_m2")},
                                    where={"release_status": "released", "released_on": (">", end)}):
            later[r["hazard"]] = float(r["m2"] or 0.0)
    rows: dict[Any, dict[str, Any]] = {}
    notes = {"reported_after_year": 0, "undated": 0, "released_by_year_end": 0, "missing_adm1": 0}
    for u, h in hazards.items():
        if _reported_after(h["reported_date"], h["date_precision"], year):
            notes["reported_after_year"] += 1
            continue
        now = (h["remaining_area_m2"] or 0.0) if h["status"] in ("open", "worked_on") else 0.0
        m2 = min(h["area_m2"] or 0.0, now + later.get(u, 0.0))
        if m2 <= 0:
            notes["released_by_year_end"] += 1
            continue
        notes["undated"] += not h["reported_date"]
        notes["missing_adm1"] += not h["admin1"]
        row = rows.setdefault(h["admin1"] or None, {"sha_areas": 0, "sha_m2": 0.0, "cha_areas": 0, "cha_m2": 0.0})
        row[f"{h['hazard_class']}_areas"] += 1
        row[f"{h['hazard_class']}_m2"] += m2

    def figures(r: dict[str, Any]) -> dict[str, Any]:
        return {"sha_areas": r["sha_areas"], "sha_km2": _km2(r["sha_m2"]), "cha_areas": r["cha_areas"],
                "cha_km2": _km2(r["cha_m2"]), "areas": r["sha_areas"] + r["cha_areas"],
                "km2": _km2(r["sha_m2"] + r["cha_m2"])}

    total = {k: sum(r[k] for r in rows.values()) for k in ("sha_areas", "sha_m2", "cha_areas", "cha_m2")}
    return {"columns": ["adm1", "sha_areas", "sha_km2", "cha_areas", "cha_km2", "areas", "km2"],
            "rows": [{"adm1": a, **figures(rows[a])} for a in sorted(rows, key=_order)],
            "total": figures(total), "notes": notes}


def _released(ws: Workspace, hazards: dict[str, dict[str, Any]], since: str, until: str,
              include_submitted: bool) -> dict[str, Any]:
    doc = released_land(ws, since=since, until=until, by=["adm1"], include_submitted=include_submitted,
                        hazards=set(hazards))
    keys = ["cancelled_km2", "reduced_km2", "cleared_km2", "released_km2", "polygons"]
    return {"columns": ["adm1", *keys],
            "rows": [{"adm1": g["adm1"], **{k: g[k] for k in keys}} for g in doc["groups"]],
            "total": {k: doc["total"][k] for k in keys},
            "notes": {"awaiting_qc_km2": doc["pending"]["awaiting_qc_km2"],
                      "awaiting_approval_km2": doc["pending"]["awaiting_approval_km2"],
                      "missing_adm1": doc["missing"]["adm1"]}}


def _destroyed(ws: Workspace, t: Treaty, since: str, until: str, include_submitted: bool) -> dict[str, Any]:
    doc = devices_destroyed(ws, since=since, until=until, include_submitted=include_submitted)
    rows: list[dict[str, Any]] = [
            {"category": c, "description": _label(DEVICE_CATEGORY, c), "treaty_item": c in t.device_categories,
             "destroyed": int(doc["by_category"].get(c, 0))} for c in DEVICE_CATEGORY.codes]
    items = sum(r["destroyed"] for r in rows if r["treaty_item"])
    return {"columns": ["category", "description", "treaty_item", "destroyed"], "rows": rows,
            "total": {"description": f"all devices ({items:,} {_ITEMS[t.code]})", "treaty_item": None,
                      "destroyed": int(doc["total"])},
            "notes": {"treaty_items": items, "other_devices": int(doc["total"]) - items,
                      "undated": int(doc["undated"])}}


_EORE = ["sessions", "women", "girls", "boys", "men", "beneficiaries", "not_broken_down", "partly_broken_down"]


def _risk_education(ws: Workspace, since: str, until: str, include_submitted: bool) -> dict[str, Any]:
    doc = eore_stats(ws, since=since, until=until, by=["adm1"], include_submitted=include_submitted)
    return {"columns": ["adm1", *_EORE], "rows": [{"adm1": g["adm1"], **{k: g[k] for k in _EORE}}
                                                   for g in doc["groups"]],
            "total": {k: doc["total"][k] for k in _EORE},
            "notes": {**{f"missing_{g}": n for g, n in doc["missing"].items()},
                      "missing_adm1": doc["breakdown_missing"]["adm1"]}}


_OUTCOMES = [*REFERRAL_OUTCOME.codes, "missing"]


def _victim_assistance(ws: Workspace, t: Treaty, since: str, until: str, include_submitted: bool) -> dict[str, Any]:
    doc = assistance_stats(ws, since=since, until=until, by=["service", "outcome"],
                           include_submitted=include_submitted,
                           devices=list(t.victim_assistance_devices) if t.victim_assistance_devices else None)
    cells = {(g["service"], g["outcome"] or "missing"): g["referrals"] for g in doc["groups"]}
    rows = [{"service": s, "description": _label(ASSISTANCE_SERVICE, s),
             "referrals": doc["by_service"][s]["referrals"], "people": doc["by_service"][s]["people"],
             **{f"outcome_{o}": cells.get((s, o), 0) for o in _OUTCOMES}} for s in ASSISTANCE_SERVICE.codes]
    return {"columns": ["service", "description", "referrals", "people", *(f"outcome_{o}" for o in _OUTCOMES)],
            "rows": rows,
            "total": {"description": "all services (people counted once)", **doc["total"],
                      **{f"outcome_{o}": doc["by_outcome"][o] for o in _OUTCOMES}},
            "notes": {"undated": doc["records"]["undated"], "other_device": doc["records"]["other_device"],
                      "duplicates_merged": doc["records"]["duplicates_merged"]}}


def article7(ws: Workspace, *, treaty_code: str, year: int | None = None,
             include_submitted: bool = False) -> dict[str, Any]:
    """The Article 7 document described in the module docstring, for calendar ``year`` (default: last year).

    >>> import tempfile, os
    >>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "a.gpkg"), user="ana", create=True)
    >>> doc = article7(ws, treaty_code="apmbc", year=2024)
    >>> doc["tables"]["contaminated_areas"]["form"], doc["as_of"], doc["tables"]["destroyed"]["total"]["destroyed"]
    ('C', '2024-12-31', 0)
    >>> ws.close()
    """
    t = treaty(treaty_code)
    year = dt.date.today().year - 1 if year is None else year
    if not 1900 <= year <= 9999:
        raise ValidationError("stats.bad_year", f"--year {year} is not a calendar year to report on.",
                              hint="Give the four-digit year the report covers, e.g. --year 2024.")
    states = ["submitted", "approved", "published"] if include_submitted else ["approved", "published"]
    since, until = f"{year}-01-01", f"{year}-12-31"
    hazards, selected = treaty_hazards(ws, t, states)
    item = _ITEMS[t.code]
    tables = {
        "contaminated_areas": (f"Areas known (CHA) or suspected (SHA) to contain {item}, at {until}",
                               _contaminated(ws, hazards, year)),
        "released_areas": (f"Areas containing {item} released in {year} (km²)",
                           _released(ws, hazards, since, until, include_submitted)),
        "destroyed": (f"Devices destroyed in {year}, {item} marked",
                      _destroyed(ws, t, since, until, include_submitted)),
        "risk_education": (f"Risk education in {year}: sessions and people reached",
                           _risk_education(ws, since, until, include_submitted)),
        "victim_assistance": (f"Victim assistance referrals in {year}",
                              _victim_assistance(ws, t, since, until, include_submitted)),
    }
    return {
        "database": ws.store.location,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "official_only": not include_submitted,
        "review_states": states,
        "treaty": t.code,
        "treaty_name": t.name,
        "year": year,
        "since": since,
        "until": until,
        "as_of": until,
        "rule": {"hazard_classes": list(HAZARD_CLASSES), "contamination_types": list(t.contamination_types),
                 "device_categories": list(t.device_categories),
                 "victim_assistance_devices": list(t.victim_assistance_devices)
                 if t.victim_assistance_devices else None},
        "hazards": selected,
        "tables": {name: {"form": t.forms[name], "title": title, **table} for name, (title, table) in tables.items()},
    }


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def csv_rows(table: dict[str, Any]) -> list[list[Any]]:
    """A table as CSV rows: the header, the rows, then the ``total`` row.

    >>> csv_rows({"columns": ["adm1", "areas"], "rows": [{"adm1": "Meta", "areas": 2}, {"adm1": None, "areas": 1}],
    ...           "total": {"areas": 3}})
    [['adm1', 'areas'], ['Meta', 2], ['', 1], ['total', 3]]
    """
    cols = table["columns"]
    out = [list(cols)]
    out += [[_cell(r[c]) for c in cols] for r in table["rows"]]
    out.append(["total", *(_cell(table["total"].get(c)) for c in cols[1:])])
    return out


def write_csv(doc: dict[str, Any], folder: str | Path) -> list[Path]:
    """Write one CSV file per table into ``folder`` (created if needed); never overwrites a file: when any
    target exists, nothing is written (``export.target_exists``)."""
    out = Path(folder)
    paths = {name: out / f"article7_{doc['treaty']}_{doc['year']}_{name}.csv" for name in doc["tables"]}
    for p in paths.values():
        new_file(p)
    out.mkdir(parents=True, exist_ok=True)
    for name, p in paths.items():
        with p.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(csv_rows(doc["tables"][name]))
    return list(paths.values())


def render_text(doc: dict[str, Any]) -> str:
    """The five tables as text, each headed by its form."""
    scope = "approved and published records" if doc["official_only"] else "all records, submitted included"
    h = doc["hazards"]
    lines = [f"Article 7 report, {doc['treaty_name']} ({doc['treaty'].upper()}), calendar year {doc['year']}",
             f"{doc['database']} ({scope})",
             f"Hazard areas counted: {h['selected']} (by contamination type {h['by_contamination_type']}, by "
             f"evidence {h['by_evidence']}, by devices found {h['by_device']})"]
    for name in TABLES:
        table = doc["tables"][name]
        rows = csv_rows(table)
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
        lines += ["", f"Form {table['form']}: {table['title']}"]
        for r in rows:
            lines.append("  " + "  ".join(str(v).rjust(w) if isinstance(v, (int, float)) and not isinstance(v, bool)
                                          else str(v).ljust(w) for v, w in zip(r, widths, strict=True)))
        notes = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in table["notes"].items() if v)
        if notes:
            lines.append(f"  ({notes})")
    return "\n".join(lines)
