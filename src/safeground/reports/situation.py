"""The national situation report for a calendar year (``safeground report --year Y --out FILE.pdf|.html``).

Every figure comes from a service, exactly as the stats commands print it: :func:`gather` calls them
(``stats``, ``stats casualties``, ``stats release``, ``stats records``, ``stats events``, the quarantine and
the map layers) and :func:`build_context` only picks values out of their documents, section by section, one
small function per section and one template block each (``templates/report.html``). The report counts,
sums and divides nothing itself, so it can never disagree with the commands.

Sections: summary (headline figures for the year and to date, and the year's casualty statement), casualties,
contamination and land release, operations and productivity, the current clearance plan (its own page,
:mod:`~safeground.reports.plan_page`), minefield-record accuracy, contamination risk prediction (the current risk
run, its validation and a map of it), EORE reach, victim assistance referrals, the Article 7 tables of both
treaties, data-quality notes (what each figure lacked, and the quarantine) and revisions since publication (when
the year was published).

The database is opened read-only: making a report writes nothing to it (minefield matches that are out of
date are recomputed in memory). The two slowest documents, minefield-record accuracy and the revisions since
publication, are computed in a second process reading the same file (:func:`_slow_documents`) while this one
computes the rest: a report uses two cores where it has them. Casualties appear only as aggregates; no
personal field is read into the report. Charts are inline SVG and maps PNG ``data:`` URIs, so the HTML is
one self-contained file; the PDF is that HTML through WeasyPrint.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.io.vector import new_file
from safeground.reports.plan_page import plan_section
from safeground.services.map_layers import MapLayers, map_layers
from safeground.services.plan_outlook import plan_outlook
from safeground.services.quarantine import quarantine_counts
from safeground.services.risk_map import run_summary
from safeground.services.risk_targets import leading_targets
from safeground.services.stats_assistance import assistance_stats
from safeground.services.stats_casualties import casualty_stats
from safeground.services.stats_events import event_counts
from safeground.services.stats_outreach import eore_stats
from safeground.services.stats_publish import latest_revisions
from safeground.services.stats_records import record_accuracy
from safeground.services.stats_release import release_stats
from safeground.services.stats_treaty import TREATIES, article7
from safeground.services.workspace import Workspace

#: Section ids, in the order they appear, with their titles.
SECTIONS: dict[str, str] = {
    "summary": "Summary",
    "casualties": "Casualties",
    "land_release": "Contamination and land release",
    "operations": "Operations and productivity",
    "plan": "Clearance plan",
    "records": "Minefield-record accuracy",
    "risk": "Contamination risk prediction",
    "eore": "EORE reach",
    "assistance": "Victim assistance referrals",
    "treaty": "Treaty reporting (Article 7)",
    "quality": "Data-quality notes",
    "revisions": "Revisions since publication",
}
#: Column titles of a risk run's validation table (the metrics ``risk evaluate`` measures).
METRIC_NAMES = {"roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "recall_5pct": "Recall at 5% of cells",
                "recall_10pct": "Recall at 10% of cells", "brier": "Brier score",
                "calibration_error": "Calibration error"}
FORMATS = {".pdf": "pdf", ".html": "html", ".htm": "html"}
FIRST_YEAR = 1900


@dataclass
class Documents:
    """The services' documents a report for ``year`` is made from."""

    year: int
    include_submitted: bool
    eore_to_date: dict[str, Any]
    casualties_year: dict[str, Any]
    casualties_age_sex: dict[str, Any]
    casualties_to_date: dict[str, Any]
    release_year: dict[str, Any]
    release_to_date: dict[str, Any]
    records: dict[str, Any]
    accidents: dict[str, Any]
    quarantine: dict[str, Any]
    eore_year: dict[str, Any]
    assistance_year: dict[str, Any]
    assistance_to_date: dict[str, Any]
    article7: dict[str, dict[str, Any]]
    revisions: dict[str, Any] | None
    maps: MapLayers | None
    #: The current risk run (``risk_map.run_summary``): ``{"current": False, ...}`` when none was adopted.
    risk: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    plan: dict[str, Any] | None = None  # the current clearance plan (plan_outlook), None when none is current
    #: The current risk run's leading survey targets (``risk_targets.leading_targets``).
    risk_targets: list[dict[str, Any]] = field(default_factory=list)


def check_year(year: int, today: dt.date | None = None) -> int:
    """``year`` if a report can be made for it: not before 1900 and not in the future.

    >>> check_year(2024, dt.date(2026, 11, 28))
    2024
    >>> check_year(2027, dt.date(2026, 11, 28))
    Traceback (most recent call last):
    ...
    safeground.domain.errors.ValidationError: 2027 has not begun yet (today is 2026-11-28).
    """
    today = today or dt.date.today()
    if year > today.year:
        raise ValidationError("report.bad_year", f"{year} has not begun yet (today is {today.isoformat()}).",
                              hint=f"Give a year from {FIRST_YEAR} to {today.year}.")
    if year < FIRST_YEAR:
        raise ValidationError("report.bad_year", f"{year} is before {FIRST_YEAR}.",
                              hint=f"Give a year from {FIRST_YEAR} to {today.year}.")
    return year


def report_format(target: str | Path) -> str:
    """``pdf`` or ``html``, from the file's suffix.

    >>> report_format("annual-2024.PDF"), report_format("out/annual.html")
    ('pdf', 'html')
    >>> report_format("annual.docx")
    Traceback (most recent call last):
    ...
    safeground.domain.errors.ValidationError: Cannot write a report as '.docx'.
    """
    suffix = Path(target).suffix.lower()
    if suffix not in FORMATS:
        raise ValidationError("report.bad_format", f"Cannot write a report as '{suffix or Path(target).name}'.",
                              hint="Name the output FILE.pdf or FILE.html.")
    return FORMATS[suffix]


def _slow_documents(ws: Workspace, year: int, include_submitted: bool) -> tuple[
        dict[str, Any], dict[str, Any] | None, dict[str, float]]:
    """Minefield-record accuracy and the year's revisions (``None`` if never published), with their times."""
    t = time.perf_counter()
    records = record_accuracy(ws, include_submitted=include_submitted)
    t2 = time.perf_counter()
    revisions = latest_revisions(ws, year)
    return records, revisions, {"records": round(t2 - t, 3), "revisions": round(time.perf_counter() - t2, 3)}


def _slow_documents_of_file(db: str, year: int, include_submitted: bool) -> tuple[
        dict[str, Any], dict[str, Any] | None, dict[str, float]]:
    """:func:`_slow_documents` of the file ``db``, opened read-only: what the second process runs."""
    with Workspace.open(db, read_only=True) as ws:
        return _slow_documents(ws, year, include_submitted)


def gather(ws: Workspace, year: int, *, include_submitted: bool = False) -> Documents:
    """Call every service the report reads, for calendar year ``year``."""
    since, until = dt.date(year, 1, 1), dt.date(year, 12, 31)
    sub = {"include_submitted": include_submitted}
    seconds: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        out = fn(*args, **kw)
        seconds[name] = round(time.perf_counter() - t, 3)
        return out

    db = ws.store.location
    pool = None
    if ws.store.read_only and Path(db).is_file():  # a second process reads the same file meanwhile
        import concurrent.futures
        import multiprocessing

        pool = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        slow = pool.submit(_slow_documents_of_file, db, year, include_submitted)
    try:
        docs = {
            "eore_to_date": timed("eore_to_date", eore_stats, ws, **sub),
            "casualties_year": timed("casualties_year", casualty_stats, ws, since=since, until=until, by=["status"],
                                     **sub),
            "casualties_age_sex": timed("casualties_age_sex", casualty_stats, ws, since=since, until=until,
                                        by=["age_group", "sex"], **sub),
            "casualties_to_date": timed("casualties_to_date", casualty_stats, ws, by=["year", "status"], **sub),
            "release_year": timed("release_year", release_stats, ws, since=since.isoformat(),
                                  until=until.isoformat(), by=["adm1"], **sub),
            "release_to_date": timed("release_to_date", release_stats, ws, by=["year"], **sub),
            "accidents": timed("accidents", event_counts, ws, by=["year"], layers=["accident"], **sub),
            "quarantine": timed("quarantine", quarantine_counts, ws),
            "eore_year": timed("eore_year", eore_stats, ws, since=since, until=until, by=["adm1"], **sub),
            "assistance_year": timed("assistance_year", assistance_stats, ws, since=since, until=until,
                                     by=["service"], **sub),
            "assistance_to_date": timed("assistance_to_date", assistance_stats, ws, **sub),
            "article7": {code: timed(f"article7_{code}", article7, ws, treaty_code=code, year=year, **sub)
                         for code in TREATIES},
            "maps": timed("map_layers", map_layers, ws, year=year, **sub),
            "risk": timed("risk", run_summary, ws),
            "risk_targets": timed("risk_targets", leading_targets, ws),
            "plan": timed("plan", plan_outlook, ws),
        }
        if pool is not None:
            t = time.perf_counter()
            records, revisions, child_seconds = slow.result()
            seconds.update(child_seconds, waited_for_second_process=round(time.perf_counter() - t, 3))
        else:
            records, revisions, child_seconds = _slow_documents(ws, year, include_submitted)
            seconds.update(child_seconds)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return Documents(year=year, include_submitted=include_submitted, records=records, revisions=revisions,
                     seconds=seconds, **docs)


# --- sections: each picks its values out of the documents ----------------------------------------------


def _year_group(doc: dict[str, Any], year: int, key: str = "year") -> dict[str, Any] | None:
    for g in doc["groups"]:
        if str(g.get(key)) == str(year):
            return g
    return None


def summary_section(d: Documents) -> dict[str, Any]:
    """Headline figures for the year and to date, and the year's casualty statement."""
    cy, ct = d.casualties_year, d.casualties_to_date
    ry, rt = d.release_year, d.release_to_date
    accidents_year = _year_group(d.accidents, d.year)
    return {
        "statement": cy["statement"]["text"],
        "statement_left_out": cy["records"]["date_straddles_period"] + cy["records"]["undated"],
        "rows": [{"km2": False, **row} for row in [
            {"figure": "People killed", "year": cy["outcome"]["killed"], "to_date": ct["outcome"]["killed"]},
            {"figure": "People injured", "year": cy["outcome"]["injured"], "to_date": ct["outcome"]["injured"]},
            {"figure": "Casualties, outcome unknown", "year": cy["outcome"]["unknown"],
             "to_date": ct["outcome"]["unknown"]},
            {"figure": "Accidents recorded", "year": accidents_year["records"] if accidents_year else 0,
             "to_date": d.accidents["total"]},
            {"figure": "Land released (km²)", "year": ry["released"]["total"]["released_km2"],
             "to_date": rt["released"]["total"]["released_km2"], "km2": True},
            {"figure": "Devices destroyed", "year": ry["devices_destroyed"]["total"],
             "to_date": rt["devices_destroyed"]["total"]},
        ]],
        "remaining": rt["remaining"],
        "label": rt["contamination_labels"]["national"]["label"],
        "eore": d.eore_to_date["total"],
        "eore_year": d.eore_year["total"]["beneficiaries"],
        "referrals_year": d.assistance_year["total"]["referrals"],
        "referrals_to_date": d.assistance_to_date["total"]["referrals"],
    }


def casualties_section(d: Documents) -> dict[str, Any]:
    """The year's casualties in Landmine Monitor's classification."""
    c = d.casualties_year
    return {"people": c["records"]["people"], "records": c["records"], "outcome": c["outcome"],
            "status": c["status"], "children": c["children"], "women_and_girls": c["women_and_girls"],
            "device": c["device"], "displacement": c["displacement"], "statement": c["statement"],
            "to_date_people": d.casualties_to_date["records"]["people"],
            "unknown_outcome_to_date": d.casualties_to_date["outcome"]["unknown"]}


def land_release_section(d: Documents) -> dict[str, Any]:
    """Remaining contamination, land released in the year and to date, contamination labels."""
    ry, rt = d.release_year, d.release_to_date
    return {"remaining": rt["remaining"], "labels": rt["contamination_labels"],
            "year_total": ry["released"]["total"], "year_by_adm1": ry["released"]["groups"],
            "to_date_total": rt["released"]["total"], "per_year": rt["released"]["groups"],
            "pending": rt["released"]["pending"]}


def operations_section(d: Documents) -> dict[str, Any]:
    """Devices destroyed and productivity by method in the year."""
    ry = d.release_year
    return {"devices": ry["devices_destroyed"], "productivity": ry["productivity"],
            "devices_to_date": d.release_to_date["devices_destroyed"]["total"]}


def records_section(d: Documents) -> dict[str, Any]:
    """Minefield-record accuracy, overall and per reliability grade (as of today: it has no period)."""
    s = d.records["summary"]
    return {"summary": s, "grades": s["by_reliability"], "search_m": d.records["search_m"],
            "recomputed": d.records["rematched"]}


def eore_section(d: Documents) -> dict[str, Any]:
    """EORE reach in the year (women, girls, boys, men; by admin area; what was not broken down), and to date."""
    e = d.eore_year
    return {"year": e["total"], "missing": e["missing"], "shares": e["shares"], "by_adm1": e["groups"],
            "adm1_missing": e["breakdown_missing"].get("adm1", 0), "to_date": d.eore_to_date["total"]}


def assistance_section(d: Documents) -> dict[str, Any]:
    """Victim assistance referrals in the year: referrals and people (each once), by service and outcome."""
    a = d.assistance_year
    return {"total": a["total"], "records": a["records"], "by_service": a["by_service"],
            "by_outcome": a["by_outcome"], "people_by_status": a["people_by_status"],
            "people_by_sex": a["people_by_sex"], "people_by_age_group": a["people_by_age_group"]}


def treaty_section(d: Documents) -> dict[str, Any]:
    """The Article 7 tables of each treaty for the year, as ``stats article7`` writes them."""
    return {code: {"name": doc["treaty_name"], "as_of": doc["as_of"], "tables": doc["tables"]}
            for code, doc in d.article7.items()}


def risk_section(d: Documents) -> dict[str, Any]:
    """The current risk run: its id, date, the score served, its validation as stored with the run, its cells by
    risk band and the caveat (as of today: a run is not a figure of the year)."""
    return d.risk


def revisions_section(d: Documents) -> dict[str, Any] | None:
    """What changed since the year's latest publication (``None``: the year was never published)."""
    return d.revisions


def quality_section(d: Documents) -> dict[str, Any]:
    """What each figure lacked, as the documents count it, and what waits in the quarantine."""
    c, ry, rt, rec = d.casualties_year, d.release_year, d.release_to_date, d.records["summary"]
    y = d.year
    rows = [
        ("Casualties", f"people in {y} with no outcome", c["outcome"]["missing"]),
        ("Casualties", f"injured people in {y} with no severity", c["outcome"]["severity_missing"]),
        ("Casualties", f"people in {y} with no status (civilian, military, deminer)", c["status"]["missing"]),
        ("Casualties", f"civilians in {y} with no age", c["children"]["missing"]),
        ("Casualties", f"people in {y} with no sex", c["women_and_girls"]["missing"]),
        ("Casualties", f"people in {y} whose accident gives no device", c["device"]["missing"]),
        ("Casualties", f"people in {y} with no displacement status", c["displacement"]["missing"]),
        ("Casualties", "people whose accident has no date (not placed in any year)", c["records"]["undated"]),
        ("Casualties", f"people dated only to a period across the limits of {y}",
         c["records"]["date_straddles_period"]),
        ("Casualties", "casualty records merged as one person (confirmed duplicates)",
         c["records"]["duplicates_merged"]),
        ("Accidents", "accidents with no date", d.accidents["missing"]["year"]),
        ("Land release", f"polygons released in {y} with no admin area", ry["released"]["missing"]["adm1"]),
        ("Land release", f"polygons released in {y} with no organisation",
         ry["released"]["missing"]["organisation"]),
        ("Land release", "km² awaiting QC (not counted as released)", rt["released"]["pending"]["awaiting_qc_km2"]),
        ("Land release", "km² awaiting NTS report approval (not counted)",
         rt["released"]["pending"]["awaiting_approval_km2"]),
        ("Devices", "devices destroyed with no date found (left out of the year)", ry["devices_destroyed"]["undated"]),
        ("Productivity", f"activities in {y} with no team", ry["productivity"]["excluded"]["no_team"]),
        ("Productivity", f"activities in {y} with no start or end date", ry["productivity"]["excluded"]["no_dates"]),
        ("Productivity", f"activities in {y} with no assets", ry["productivity"]["excluded"]["no_assets"]),
        ("Minefield records", "checked records that give no mine count", rec["records_without_count"]),
        ("Minefield records", "records not yet checked by TS, clearance or BAC", rec["records_not_checked"]),
    ]
    return {"rows": [{"area": a, "what": w, "count": n} for a, w, n in rows], "quarantine": d.quarantine,
            "scope": d.eore_to_date["review_states"]}


def build_context(d: Documents, *, charts: bool = True) -> dict[str, Any]:
    """The template's context: one entry per section, plus the charts and maps (``charts=False`` leaves
    them out, for tests of the figures)."""
    ctx: dict[str, Any] = {
        "title": f"National mine action situation report {d.year}",
        "year": d.year,
        "database": Path(d.eore_to_date["database"]).name,
        "generated_at": d.eore_to_date["generated_at"],
        "review_states": d.eore_to_date["review_states"],
        "official_only": d.eore_to_date["official_only"],
        "sections": SECTIONS,
        "metric_names": METRIC_NAMES,
        "summary": summary_section(d),
        "casualties": casualties_section(d),
        "land_release": land_release_section(d),
        "operations": operations_section(d),
        "records": records_section(d),
        "risk": risk_section(d),
        "risk_targets": d.risk_targets,
        "eore": eore_section(d),
        "assistance": assistance_section(d),
        "treaty": treaty_section(d),
        "quality": quality_section(d),
        "revisions": revisions_section(d),
        "plan": plan_section(d.plan, d.maps, draw=charts),
        "charts": {},
        "maps": {},
    }
    if charts:
        ctx["charts"], ctx["maps"] = draw(d)
    return ctx


def draw(d: Documents) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Charts as inline SVG and maps as PNG data URIs (``None`` where there is nothing to draw)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from safeground.reports import charts, maps
    from safeground.reports.palette import matplotlib_style
    from safeground.reports.render import figure_png_data_uri, figure_svg

    def svg(fig: Any) -> str | None:
        return None if fig is None else figure_svg(fig)

    with plt.rc_context(matplotlib_style()):  # type: ignore[arg-type]
        out_charts = {
            "casualties_over_time": svg(charts.casualties_over_time(d.casualties_to_date, d.year)),
            "casualties_by_device": svg(charts.casualties_by_device(d.casualties_year)),
            "casualties_by_age_sex": svg(charts.casualties_by_age_sex(d.casualties_age_sex)),
            "land_released_per_year": svg(charts.land_released_per_year(d.release_to_date, d.year)),
            "devices_destroyed": svg(charts.devices_destroyed(d.release_year)),
            "productivity": svg(charts.productivity_by_method(d.release_year)),
        }
        out_maps: dict[str, str | None] = dict.fromkeys(("hazards", "released", "casualties", "risk"))
        if d.maps is not None and d.maps.extent is not None:
            out_maps = {"hazards": figure_png_data_uri(maps.hazard_map(d.maps), dpi=170),
                        "released": figure_png_data_uri(maps.released_map(d.maps), dpi=170),
                        "casualties": figure_png_data_uri(maps.casualty_map(d.maps), dpi=170),
                        "risk": figure_png_data_uri(maps.risk_map(d.maps), dpi=170) if len(d.maps.risk_cells)
                        else None}
    return out_charts, out_maps


def render_report_html(d: Documents) -> str:
    """The whole report as one self-contained HTML page."""
    from safeground.reports.render import render_html

    return render_html("report.html", **build_context(d))


def write_report(ws: Workspace, year: int, target: str | Path, *, include_submitted: bool = False) -> dict[str, Any]:
    """Make the report for ``year`` and write it to ``target`` (``.pdf`` or ``.html``, a new file).

    Returns ``{"report", "format", "year", "bytes", "sections", "official_only", "seconds"}``."""
    check_year(year)
    fmt = report_format(target)
    path = new_file(target)
    started = time.perf_counter()
    docs = gather(ws, year, include_submitted=include_submitted)
    html = render_report_html(docs)
    if fmt == "pdf":
        from safeground.reports.render import write_pdf

        write_pdf(html, path)
    else:
        path.write_text(html, encoding="utf-8")
    return {"report": str(path), "format": fmt, "year": year, "bytes": path.stat().st_size,
            "sections": list(SECTIONS), "official_only": not include_submitted,
            "seconds": round(time.perf_counter() - started, 2)}
