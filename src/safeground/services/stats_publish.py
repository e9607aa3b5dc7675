"""Publishing a year's official figures, and what changed since (``stats publish``, ``stats revisions``).

**Publishing** (:func:`publish`) freezes the figures of calendar year Y, computed exactly as the stats commands
compute them, with the period 1 January to 31 December of Y:

- ``stats casualties``, whole and broken down by each of :data:`CASUALTY_BREAKDOWNS`;
- ``stats release`` by each of :data:`RELEASE_BREAKDOWNS` (remaining contamination and labels are as they
  stood on the day);
- ``stats events`` by year and by year and admin area, keeping only year Y's groups;
- ``stats records`` (minefield-record accuracy as it stood on the day; it has no period);
- EORE sessions and victim assistance referrals dated in Y (:func:`outreach`), the summary's counts
  restricted to the year.

Each of those views is kept as its JSON document and its text, so ``--as-published Y`` prints them again
byte for byte, recomputing nothing (:func:`published_view`). A publication is a new row of the store's
publication table: publishing a year again adds version 2, 3, ..., never overwriting, and writes an audit
row. It changes no record (no review state, no ``updated_at``). With it the store keeps ``audit_seq``, the
last audit row before it, and a **fingerprint** of the records counted: per layer, the SHA-256 of the sorted
``uuid``, ``updated_at`` and ``review_state`` of every counted (review state counted, not retired) record
that the year's figures read (:data:`YEAR_FIELDS`; hazards and minefield records: all, since remaining
contamination and record accuracy have no period), and of the confirmed casualty duplicate links.

**Revisions** (:func:`revisions`) recompute the same views for each published year (latest version) and list
every figure of the year whose value now differs (figures that are not the year's, such as remaining
contamination or record accuracy, which stood on the day and move with any work, are left out:
:data:`_NOT_OF_THE_YEAR`), and the records of that year (by the record's date, a casualty by its
accident's) created, changed, approved, published or retired after publication, read from the audit log, and
casualty duplicate links decided since. Casualties appear by ref only.

The publication document (``safeground stats publish --format json``, also ``safeground stats --as-published
Y``; schema ``data/schemas/stats_publish.schema.json``) has these keys:

- ``database``, ``year``, ``version``, ``uuid``, ``published_at``, ``published_by``, ``note``,
  ``official_only``, ``review_states``, ``since``, ``until``, ``audit_seq``;
- ``fingerprint``: ``{"sha256", "records", "layers": {layer: {"records", "sha256"}}}``;
- ``headline``: ``{"people", "killed", "injured", "unknown", "seriously_injured", "civilians",
  "released_km2", "cancelled_km2", "reduced_km2", "cleared_km2", "devices_destroyed", "events"}``;
- ``eore``: ``{"sessions", "beneficiaries", "women", "girls", "boys", "men"}``;
- ``assistance_referrals``: ``{"referrals", "undated", "by_service": {service: n}, "by_outcome":
  {outcome: n}}`` (``undated``: referrals without a date, which no year can count);
- ``views``: the views kept, as ``--as-published`` names them (``casualties --by status``).

The revisions document (``safeground stats revisions --format json``; schema
``data/schemas/stats_revisions.schema.json``) has ``database``, ``generated_at`` and ``years``, one entry per
published year: ``{"year", "version", "published_at", "published_by", "note", "official_only",
"fingerprint_changed", "changed_layers", "changes", "records"}`` where ``changes`` is ``[{"view", "figure",
"published", "current", "difference"}]`` (``difference`` null for a value that is not a number; a group absent
on one side counts as 0) and ``records`` is ``[{"layer", "ref", "change", "fields", "at", "by",
"review_state"}]`` in audit order, ``change`` one of ``created``, ``updated``, ``approved``, ``published``,
``returned to submitted``, ``withdrawn from public``, ``retired``, ``edited outside SafeGround``,
``confirmed duplicate``, ``rejected duplicate``; ``fields`` names the fields an update changed (names only,
never values), or for a duplicate decision the other record's ref.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.domain.records import LAYERS, METADATA, record_type
from safeground.services.stats_casualties import casualty_stats
from safeground.services.stats_casualties import render_text as casualties_text
from safeground.services.stats_events import event_counts
from safeground.services.stats_events import render_text as events_text
from safeground.services.stats_records import record_accuracy
from safeground.services.stats_records import render_text as records_text
from safeground.services.stats_release import _released, release_stats
from safeground.services.stats_release import render_text as release_text
from safeground.services.workspace import Workspace

CASUALTY_BREAKDOWNS = ("status", "sex", "age_group", "device", "adm1", "month")
RELEASE_BREAKDOWNS = ("year", "adm1", "organisation")
EVENT_GROUPINGS = (("year",), ("year", "adm1"))
#: The search distance (metres) of the published record accuracy: ``stats records``' default.
RECORDS_SEARCH_M = 500.0
#: The date that places a record in a year, per layer (a casualty goes by its accident's date).
YEAR_FIELDS = {"accident": "accident_date", "device": "found_date", "event": "event_date", "activity": "end_date",
               "released_area": "released_on", "eore_session": "session_date",
               "assistance_referral": "referral_date"}
#: Layers whose figures have no period (remaining contamination, record accuracy): every counted record.
ALL_RECORDS = ("hazard_area", "minefield_record")
_META_KEYS = {"database", "generated_at", "official_only", "review_states", "since", "until", "by", "layers",
              "search_m", "rematched"}
_ID_KEYS = ("key", "year", "month", "adm1", "adm2", "organisation", "source_type", "layer", "ref")
#: What a revision compares in each view (prefixes of figure paths); views not listed compare everything.
_COMPARED = {**{f"casualties --by {b}": ("breakdown",) for b in CASUALTY_BREAKDOWNS},
             **{f"release --by {b}": ("released.groups", "released.missing") for b in RELEASE_BREAKDOWNS[1:]},
             "events --by year --by adm1": ("groups",),
             "summary": ("eore", "assistance_referrals")}
#: Per command, figures that are not the year's and so never a revision of it: counts over every record before
#: the period applies, and what stood on the day whatever the year (remaining contamination and its labels, land
#: pending, undated devices, minefield-record accuracy), which moves with any work.
_NOT_OF_THE_YEAR = {"casualties": ("records.counted_records", "records.duplicates_merged", "records.outside_period",
                                   "records.undated"),
                    "release": ("remaining.", "contamination_labels.", "released.pending.",
                                "devices_destroyed.undated"),
                    "records": ("",)}
_MANAGED = {f.name for f in METADATA}
_STATE_CHANGE: dict[tuple[Any, Any], str] = {
    ("submitted", "approved"): "approved", ("approved", "published"): "published",
    ("approved", "submitted"): "returned to submitted", ("published", "approved"): "withdrawn from public"}
_OP_CHANGE = {"insert": "created", "retire": "retired", "external": "edited outside SafeGround"}


def view_key(command: str, by: Sequence[str] = ()) -> str:
    """The name of a published view, as ``--as-published`` looks it up.

    >>> view_key("casualties"), view_key("events", ["year", "adm1"])
    ('casualties', 'events --by year --by adm1')
    """
    return " ".join([command, *(f"--by {b}" for b in by)])


def _states(include_submitted: bool) -> list[str]:
    return ["submitted", "approved", "published"] if include_submitted else ["approved", "published"]


def _period(year: int) -> tuple[str, str]:
    return f"{year:04d}-01-01", f"{year:04d}-12-31"


def _events_of_year(doc: dict[str, Any], year: int) -> dict[str, Any]:
    """An events document keeping only year ``year``'s groups, its total and missing counts recounted."""
    groups = [g for g in doc["groups"] if g["year"] == f"{year:04d}"]
    return {**doc, "total": sum(g["records"] for g in groups),
            "missing": {k: sum(g["records"] for g in groups if g[k] is None) for k in doc["by"]}, "groups": groups}


def outreach(ws: Workspace, year: int, *, include_submitted: bool = False) -> dict[str, Any]:
    """EORE reach and victim assistance referrals dated in ``year``, counted as the summary counts them.

    >>> import tempfile, os
    >>> from safeground.services.records import add_record
    >>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "o.gpkg"), user="ana", create=True)
    >>> _ = add_record(ws, "eore_session", {"session_date": "2023-05-02", "women": 4, "boys": 3, "geometry": None},
    ...                review_state="approved")
    >>> outreach(ws, 2023)["eore"]
    {'sessions': 1, 'women': 4, 'girls': 0, 'boys': 3, 'men': 0, 'beneficiaries': 7}
    >>> outreach(ws, 2022)["eore"]["sessions"]
    0
    >>> ws.close()
    """
    where = {"review_state": _states(include_submitted)}
    since, until = _period(year)
    people = ("women", "girls", "boys", "men")
    metrics = {"sessions": ("count", "*"), **{k: ("sum", k) for k in people}}
    eore = dict.fromkeys(("sessions", *people), 0)
    for r in ws.store.aggregate("eore_session", group_by=["session_date"], metrics=metrics, where=where):
        if r["session_date"] and since <= r["session_date"] <= until:
            for k in eore:
                eore[k] += int(r[k] or 0)
    eore["beneficiaries"] = sum(eore[k] for k in people)
    referrals: dict[str, Any] = {"referrals": 0, "undated": 0, "by_service": Counter(), "by_outcome": Counter()}
    for r in ws.store.aggregate("assistance_referral", group_by=["referral_date", "service", "outcome"],
                                where=where):
        if r["referral_date"] is None:
            referrals["undated"] += r["count"]
        elif since <= r["referral_date"] <= until:
            referrals["referrals"] += r["count"]
            referrals["by_service"][r["service"]] += r["count"]
            referrals["by_outcome"][r["outcome"] or "unknown"] += r["count"]
    referrals["by_service"] = dict(sorted(referrals["by_service"].items()))
    referrals["by_outcome"] = dict(sorted(referrals["by_outcome"].items()))
    return {"eore": eore, "assistance_referrals": referrals}


def compute_views(ws: Workspace, year: int, *, include_submitted: bool = False,
                  with_records: bool = True) -> dict[str, dict[str, Any]]:
    """Every view a publication keeps, as the stats commands compute it now: ``{view: document}``.

    ``with_records=False`` leaves out ``records`` (minefield-record accuracy), which has no period and so is
    never a revision of a year: revisions need not pay for it."""
    since, until = _period(year)
    sub = include_submitted
    views: dict[str, dict[str, Any]] = {}
    for by in ((), *((b,) for b in CASUALTY_BREAKDOWNS)):
        views[view_key("casualties", by)] = casualty_stats(ws, since=since, until=until, by=by, include_submitted=sub)
    first = release_stats(ws, since=since, until=until, by=RELEASE_BREAKDOWNS[:1], include_submitted=sub)
    views[view_key("release", RELEASE_BREAKDOWNS[:1])] = first
    for b in RELEASE_BREAKDOWNS[1:]:  # only the released land depends on --by: the rest is computed once
        views[view_key("release", (b,))] = {**first, "by": [b], "released": _released(
            ws, {"review_state": first["review_states"]}, since, until, [b])}
    by_adm1 = _events_of_year(event_counts(ws, by=EVENT_GROUPINGS[1], include_submitted=sub), year)
    views[view_key("events", EVENT_GROUPINGS[1])] = by_adm1
    views[view_key("events", EVENT_GROUPINGS[0])] = {**by_adm1, "by": ["year"], "missing": {"year": 0},
                                                     "groups": [{"year": f"{year:04d}", "records": by_adm1["total"]}]
                                                     if by_adm1["total"] else []}
    if with_records:
        views["records"] = record_accuracy(ws, search_m=RECORDS_SEARCH_M, include_submitted=sub)
    return views


def _text(view: str, doc: dict[str, Any]) -> str:
    render = {"casualties": casualties_text, "release": release_text, "events": events_text,
              "records": records_text}[view.split()[0]]
    return render(doc)


def _summary(year: int, views: dict[str, dict[str, Any]], out: dict[str, Any], states: list[str]) -> dict[str, Any]:
    cas, rel = views["casualties"], views["release --by year"]
    total = rel["released"]["total"]
    return {
        "review_states": states, "since": _period(year)[0], "until": _period(year)[1],
        "headline": {"people": cas["records"]["people"], "killed": cas["outcome"]["killed"],
                     "injured": cas["outcome"]["injured"], "unknown": cas["outcome"]["unknown"],
                     "seriously_injured": cas["statement"]["seriously_injured"],
                     "civilians": cas["status"]["civilian"],
                     **{k: total[k] for k in ("released_km2", "cancelled_km2", "reduced_km2", "cleared_km2")},
                     "devices_destroyed": rel["devices_destroyed"]["total"],
                     "events": views["events --by year"]["total"]},
        **out,
        "views": sorted(views),
    }


def fingerprint(ws: Workspace, year: int, *, include_submitted: bool = False) -> tuple[str, dict[str, Any]]:
    """SHA-256 of the counted records that year ``year``'s figures read, overall and per layer.

    Each record contributes its ``uuid``, ``updated_at`` and ``review_state``, so any change to a counted
    record, and any record newly counted, changes the layer's hash.
    """
    states = _states(include_submitted)
    since, until = _period(year)
    store = ws.store
    lines: dict[str, list[str]] = {}

    def rows(layer: str, date_field: str | None, extra: Sequence[str] = ()) -> list[dict[str, Any]]:
        where: dict[str, Any] = {"review_state": states}
        if date_field:
            where[date_field] = (">=", since)
        found = store.query(layer, where=where, geometry=False,
                            fields=["updated_at", "review_state", *((date_field,) if date_field else ()), *extra])
        return [r for r in found if date_field is None or str(r[date_field]) <= until]

    def keep(layer: str, found: Iterable[dict[str, Any]]) -> None:
        lines[layer] = [f"{r['uuid']}\t{r['updated_at']}\t{r['review_state']}" for r in found]

    for layer, date_field in YEAR_FIELDS.items():
        found = rows(layer, date_field, ("release_status",) if layer == "released_area" else ())
        if layer == "released_area":  # land awaiting QC or approval is shown as pending whatever its date
            found += [r for r in rows(layer, None, ("release_status",)) if r["release_status"] != "released"]
        keep(layer, found)
    for layer in ALL_RECORDS:
        keep(layer, rows(layer, None))
    accidents = {a["uuid"] for a in store.query("accident", where={"accident_date": (">=", since)}, geometry=False,
                                                 fields=["accident_date"], include_retired=True)
                 if str(a["accident_date"]) <= until}
    keep("casualty", [c for c in rows("casualty", None, ("accident",)) if c["accident"] in accidents])
    lines["duplicate_link"] = [f"{d['uuid']}\t{d['duplicate_of']}\t{d['decided_at']}"
                               for d in store.duplicate_links(layer="casualty", status="confirmed")]
    layers = {}
    for layer, kept in sorted(lines.items()):
        digest = hashlib.sha256("\n".join(sorted(kept)).encode()).hexdigest()
        layers[layer] = {"records": len(kept), "sha256": digest}
    overall = hashlib.sha256("".join(f"{k}\t{v['sha256']}\n" for k, v in layers.items()).encode()).hexdigest()
    return overall, layers


def _check_year(year: int) -> None:
    this_year = dt.date.today().year
    if not 1900 <= year <= this_year:
        raise ValidationError("stats.bad_year", f"Cannot publish the figures of {year}: a year to publish lies "
                              f"between 1900 and {this_year}.", hint="Give the calendar year, e.g. --year 2023.")


def publish(ws: Workspace, year: int, *, note: str | None = None, include_submitted: bool = False) -> dict[str, Any]:
    """Freeze year ``year``'s figures as its next version; return the publication document.

    All is read and written in one transaction, so the figures, the fingerprint and ``audit_seq`` describe
    the same state of the records. No record is changed.
    """
    _check_year(year)
    states = _states(include_submitted)
    with ws.store.transaction():
        views = compute_views(ws, year, include_submitted=include_submitted)
        summary = _summary(year, views, outreach(ws, year, include_submitted=include_submitted), states)
        overall, layers = fingerprint(ws, year, include_submitted=include_submitted)
        figures = {"views": {k: {"doc": doc, "text": _text(k, doc)} for k, doc in views.items()},
                   "summary": {"doc": summary, "text": _summary_text(summary)}}
        row = ws.store.write_publication({"year": year, "note": note, "official_only": not include_submitted,
                                          "fingerprint": overall, "fingerprint_layers": layers,
                                          "figures": figures}, user=ws.user)
    return _publication_doc(ws, row, summary)


def _publication_doc(ws: Workspace, row: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    layers = row["fingerprint_layers"]
    return {"database": ws.store.location,
            **{k: row[k] for k in ("year", "version", "uuid", "published_at", "published_by", "note",
                                   "official_only", "audit_seq")},
            "fingerprint": {"sha256": row["fingerprint"], "records": sum(v["records"] for v in layers.values()),
                            "layers": layers},
            **summary}


def _not_published(ws: Workspace, year: int) -> NotFoundError:
    years = sorted({p["year"] for p in ws.store.publications()})
    listed = ", ".join(map(str, years)) if years else "none yet"
    return NotFoundError("stats.not_published", f"The figures of {year} have not been published (published "
                         f"years: {listed}).", hint=f"Publish them with 'safeground stats publish --year {year}', "
                         "or give a published year.")


def _publication(ws: Workspace, year: int, version: int | None) -> dict[str, Any]:
    versions = ws.store.publications(year=year)
    if not versions:
        raise _not_published(ws, year)
    if version is None:
        version = versions[-1]["version"]
    if version not in {p["version"] for p in versions}:
        raise NotFoundError("stats.not_published", f"{year} has no published version {version} (versions: "
                            f"{', '.join(str(p['version']) for p in versions)}).",
                            hint="Leave out --version for the latest, or give one of those.")
    [pub] = ws.store.publications(year=year, version=version, figures=True)
    return pub


def published_view(ws: Workspace, year: int, *, version: int | None = None,
                   view: str = "summary") -> tuple[dict[str, Any], str]:
    """The document and text of ``view`` exactly as published for ``year`` (latest version unless given).

    ``view`` is a :func:`view_key` or ``summary`` (the publication document itself).
    """
    pub = _publication(ws, year, version)
    figures = pub.pop("figures")
    if view == "summary":
        doc = _publication_doc(ws, pub, figures["summary"]["doc"])
        return doc, _header(doc) + "\n" + figures["summary"]["text"]
    if view not in figures["views"]:
        raise NotFoundError("stats.view_not_published", f"'{view}' is not among the figures published for {year}.",
                            hint="Published: " + "; ".join(sorted(figures["views"])) + ".")
    kept = figures["views"][view]
    return kept["doc"], kept["text"]


# --- revisions ---------------------------------------------------------------------------------------------

def _identity(item: dict[str, Any]) -> str:
    if isinstance(item.get("key"), dict):
        return ",".join(f"{k}={v}" for k, v in item["key"].items())
    return ",".join(f"{k}={item[k]}" for k in _ID_KEYS if k in item)


def flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    """Figure paths of a stats document and their values; list rows are named by their grouping keys.

    >>> flatten({"generated_at": "x", "outcome": {"killed": 2},
    ...          "breakdown": [{"key": {"status": "civilian"}, "killed": 1}]})
    {'outcome.killed': 2, 'breakdown[status=civilian].killed': 1}
    """
    out: dict[str, Any] = {}
    if isinstance(doc, dict):
        for k, v in doc.items():
            if not (prefix == "" and k in _META_KEYS):
                out.update(flatten(v, f"{prefix}.{k}" if prefix else k))
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            if isinstance(item, dict):
                rest = {k: v for k, v in item.items() if k not in _ID_KEYS}
                out.update(flatten(rest, f"{prefix}[{_identity(item) or i}]"))
            else:
                out[f"{prefix}[{i}]"] = item
    else:
        out[prefix] = doc
    return out


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def diff(view: str, published: dict[str, Any], current: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures of ``view`` whose current value differs from the published one.

    >>> diff("casualties", {"outcome": {"killed": 2, "injured": 1}}, {"outcome": {"killed": 4, "injured": 1}})
    [{'view': 'casualties', 'figure': 'outcome.killed', 'published': 2, 'current': 4, 'difference': 2}]
    """
    old, new = flatten(published), flatten(current)
    prefixes = _COMPARED.get(view)
    out = []
    for path in sorted(old.keys() | new.keys()):
        if (prefixes and not path.startswith(prefixes)) or path.startswith(_NOT_OF_THE_YEAR.get(view.split()[0], ())):
            continue
        a, b = old.get(path), new.get(path)
        if a == b:
            continue
        if path not in old:  # a group absent on one side has none of anything
            a_num: Any = 0 if _number(b) else None
            b_num: Any = b
        elif path not in new:
            a_num, b_num = a, 0 if _number(a) else None
        else:
            a_num, b_num = a, b
        difference = None
        if _number(a_num) and _number(b_num):
            difference = b_num - a_num if isinstance(a_num + b_num, int) else round(b_num - a_num, 6)
        out.append({"view": view, "figure": path, "published": a, "current": b, "difference": difference})
    return out


def _year_of_records(ws: Workspace, uuids: dict[str, set[str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Current ref, review state and year date of the given records (``{layer: uuids}``), retired included."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for layer, wanted in uuids.items():
        field = YEAR_FIELDS.get(layer) or (record_type(layer).event_date if layer != "casualty" else "accident")
        fields = ["review_state", *((field,) if field else ())]
        for r in ws.store.query(layer, where={"uuid": sorted(wanted)}, geometry=False, fields=fields,
                                include_retired=True):
            out[(layer, r["uuid"])] = {"ref": r["ref"], "review_state": r["review_state"],
                                       "date": r.get(field) if field else None}
    return out


def _changed_records(ws: Workspace, pub: dict[str, Any]) -> list[dict[str, Any]]:
    year = f"{pub['year']:04d}"
    changes = [c for c in ws.store.changes_since(pub["audit_seq"])
               if c.layer in LAYERS and c.op in ("insert", "update", "retire", "external")]
    links = [d for d in ws.store.duplicate_links(layer="casualty")
             if d["decided_at"] and d["decided_at"] > pub["published_at"]]
    wanted: dict[str, set[str]] = {}
    for c in changes:
        wanted.setdefault(c.layer, set()).add(str(c.uuid))
    for d in links:
        wanted.setdefault("casualty", set()).update((d["uuid"], d["duplicate_of"]))
    known = _year_of_records(ws, wanted)
    accidents = {str(known[k]["date"]) for k in known if k[0] == "casualty" and known[k]["date"]}
    for c in changes:  # a casualty moved between accidents is placed by either
        if c.layer == "casualty":
            accidents.update(str(s["accident"]) for s in (c.before, c.after) if s and s.get("accident"))
    acc_dates = {a["uuid"]: a["accident_date"] for a in ws.store.query(
        "accident", where={"uuid": sorted(accidents)}, geometry=False, fields=["accident_date"],
        include_retired=True)} if accidents else {}

    def of_year(layer: str, uuid: str, *states: dict[str, Any] | None) -> bool:
        rec = known.get((layer, uuid))
        if rec is None:
            return False
        values = [rec["date"], *(s.get(_date_field(layer)) for s in states if s)]
        if layer == "casualty":
            values = [acc_dates.get(str(v)) for v in values if v]
        return any(str(v)[:4] == year for v in values if v)

    out = []
    for c in changes:
        uuid = str(c.uuid)
        if not of_year(c.layer, uuid, c.before, c.after):
            continue
        change, fields = _OP_CHANGE.get(c.op, "updated"), []
        if c.before and c.after:
            fields = sorted(k for k in c.after if k not in _MANAGED and k != "geom" and c.after[k] != c.before.get(k))
            if c.op == "update" and c.before.get("review_state") != c.after.get("review_state"):
                change = _STATE_CHANGE.get((c.before.get("review_state"), c.after.get("review_state")), "updated")
        rec = known[(c.layer, uuid)]
        out.append({"layer": c.layer, "ref": rec["ref"], "change": change, "fields": fields, "at": c.at,
                    "by": c.actor, "review_state": rec["review_state"]})
    for d in links:
        if d["status"] in ("confirmed", "rejected") and (of_year("casualty", d["uuid"])
                                                         or of_year("casualty", d["duplicate_of"])):
            rec = known[("casualty", d["uuid"])]
            out.append({"layer": "casualty", "ref": rec["ref"], "change": f"{d['status']} duplicate",
                        "fields": [known[("casualty", d["duplicate_of"])]["ref"]], "at": d["decided_at"],
                        "by": d["decided_by"], "review_state": rec["review_state"]})
    return sorted(out, key=lambda r: str(r["at"]))


def _date_field(layer: str) -> str:
    return "accident" if layer == "casualty" else (YEAR_FIELDS.get(layer) or record_type(layer).event_date or "")


def year_revisions(ws: Workspace, pub: dict[str, Any]) -> dict[str, Any]:
    """What changed since publication ``pub`` (a store row with its figures): figures and records."""
    include_submitted = not pub["official_only"]
    figures = pub["figures"]
    current = compute_views(ws, pub["year"], include_submitted=include_submitted, with_records=False)
    changes = []
    for view, kept in sorted(figures["views"].items()):
        changes += diff(view, kept["doc"], current.get(view, {}))
    now = outreach(ws, pub["year"], include_submitted=include_submitted)
    changes += diff("summary", figures["summary"]["doc"], now)
    overall, layers = fingerprint(ws, pub["year"], include_submitted=include_submitted)
    published_layers = pub["fingerprint_layers"]
    return {**{k: pub[k] for k in ("year", "version", "published_at", "published_by", "note", "official_only")},
            "fingerprint_changed": overall != pub["fingerprint"],
            "changed_layers": sorted(k for k in layers.keys() | published_layers.keys()
                                     if layers.get(k) != published_layers.get(k)),
            "changes": changes, "records": _changed_records(ws, pub)}


def latest_revisions(ws: Workspace, year: int) -> dict[str, Any] | None:
    """What changed since the latest publication of ``year`` (one entry of :func:`revisions`), or ``None``
    when the year was never published."""
    versions = ws.store.publications(year=year)
    if not versions:
        return None
    [pub] = ws.store.publications(year=year, version=versions[-1]["version"], figures=True)
    return year_revisions(ws, pub)


def revisions(ws: Workspace, *, year: int | None = None) -> dict[str, Any]:
    """The revisions document (module docstring) for every published year, or for ``year`` only."""
    if year is not None:
        pubs = [_publication(ws, year, None)]
    else:
        latest = {p["year"]: p["version"] for p in ws.store.publications()}
        pubs = [ws.store.publications(year=y, version=v, figures=True)[0] for y, v in sorted(latest.items())]
    return {"database": ws.store.location,
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "years": [year_revisions(ws, p) for p in pubs]}


# --- text --------------------------------------------------------------------------------------------------

def _header(doc: dict[str, Any]) -> str:
    scope = "approved and published records" if doc["official_only"] else "all records, submitted included"
    lines = [f"Figures of {doc['year']} as published: version {doc['version']}, {doc['published_at']} by "
             f"{doc['published_by']} ({scope})"]
    if doc["note"]:
        lines.append(f"  note: {doc['note']}")
    fp = doc["fingerprint"]
    lines.append(f"  fingerprint {fp['sha256'][:16]} over {fp['records']} records; audit log up to row "
                 f"{doc['audit_seq']}")
    return "\n".join(lines)


def _summary_text(summary: dict[str, Any]) -> str:
    h, e, va = summary["headline"], summary["eore"], summary["assistance_referrals"]
    lines = [
        f"  period              {summary['since']} to {summary['until']}",
        f"  casualties          {h['people']:>8}   killed {h['killed']}, injured {h['injured']} (seriously "
        f"{h['seriously_injured']}), unknown {h['unknown']}; civilians {h['civilians']}",
        f"  land released       {h['released_km2']:>12.3f} km²  (cancelled {h['cancelled_km2']:.3f}, reduced "
        f"{h['reduced_km2']:.3f}, cleared {h['cleared_km2']:.3f})",
        f"  devices destroyed   {h['devices_destroyed']:>8}",
        f"  register events     {h['events']:>8}",
        f"  EORE sessions       {e['sessions']:>8}   people reached {e['beneficiaries']} (women {e['women']}, girls "
        f"{e['girls']}, boys {e['boys']}, men {e['men']})",
        f"  VA referrals        {va['referrals']:>8}   undated (in no year) {va['undated']}",
        "",
        "Published views (print one with --as-published YEAR):",
        *(f"  stats {v}" for v in summary["views"]),
    ]
    return "\n".join(lines)


def render_publication(doc: dict[str, Any]) -> str:
    """The publication as ``stats publish`` prints it."""
    return _header(doc) + "\n" + _summary_text(doc)


def render_revisions(doc: dict[str, Any], *, limit: int = 40) -> str:
    """What changed since publication, per year: the figures, then the records behind them."""
    if not doc["years"]:
        return "No year has been published yet ('safeground stats publish --year Y')."
    lines: list[str] = []
    for y in doc["years"]:
        lines += [f"{y['year']} (version {y['version']}, published {y['published_at']} by {y['published_by']}): "
                  f"{len(y['changes'])} figures changed, {len(y['records'])} record changes since"]
        if y["changed_layers"]:
            lines.append("  records counted have changed in: " + ", ".join(y["changed_layers"]))
        for c in y["changes"][:limit]:
            diff_txt = "" if c["difference"] is None else f" ({c['difference']:+g})"
            lines.append(f"  {c['view']:<28} {c['figure']:<44} {c['published']!s:>10} -> {c['current']!s}{diff_txt}")
        if len(y["changes"]) > limit:
            lines.append(f"  ... and {len(y['changes']) - limit} more figures (--format json lists all)")
        for r in y["records"][:limit]:
            what = r["change"] + (f" ({', '.join(r['fields'])})" if r["fields"] else "")
            lines.append(f"  {r['at']}  {r['layer']:<20} {r['ref']:<12} {what} by {r['by'] or 'unknown'}")
        if len(y["records"]) > limit:
            lines.append(f"  ... and {len(y['records']) - limit} more record changes (--format json lists all)")
        lines.append("")
    return "\n".join(lines).rstrip()
