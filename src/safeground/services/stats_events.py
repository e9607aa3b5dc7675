"""Event counts: accidents, devices found and register events, grouped as a register is.

A national register such as Colombia's (AICMA) lists events, one row each: an accident, a device found or
destroyed, a seizure, a suspected area reported. An import routes each row to an accident, a device or a
register event and keeps the register's own type on it. This module counts those records back, grouped by
any of these keys (``--by``, in the order given):

- ``year``: the year of the record's date (accident date, date found, event date);
- ``month``: ``YYYY-MM`` of that date (``null`` when only the year is known);
- ``adm1``, ``adm2``: the admin areas as given on the record (``admin1``, ``admin2``), not re-derived;
- ``source_type``: the event type as the source gave it: an accident's ``description``, a device's ``model``,
  an event's ``event_type`` (what the Colombia mapping fills with ``tipo_evento``);
- ``layer``: ``accident``, ``device`` or ``event``.

Each record counts once, whatever its quantity (a register row is one event). Records flagged as probable
duplicates count like any other: a duplicate link removes nothing until someone retires a record. Only
official records count (approved or published; submitted too with ``include_submitted``); retired records
never count.

The JSON document (``safeground stats events --format json``) has these keys:

- ``database``, ``generated_at``, ``official_only``, ``review_states``, ``by``, ``layers``;
- ``total``: records counted; ``missing``: per ``by`` key, how many of them lack it (month: lack a month);
- ``groups``: ``[{<by key>: value or null, ..., "records": n}]``, sorted by the keys (nulls last).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.services.workspace import Workspace

#: Per counted layer: the record's date, and the field holding the type its source gave it.
EVENT_LAYERS: dict[str, tuple[str, str]] = {
    "accident": ("accident_date", "description"),
    "device": ("found_date", "model"),
    "event": ("event_date", "event_type"),
}
BY_KEYS = ("year", "month", "adm1", "adm2", "source_type", "layer")


def event_counts(ws: Workspace, *, by: Sequence[str] = ("year",), layers: Sequence[str] = tuple(EVENT_LAYERS),
                 include_submitted: bool = False) -> dict[str, Any]:
    """The count document described in the module docstring.

    >>> import tempfile, os, shapely
    >>> from safeground.services.records import add_record
    >>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "e.gpkg"), user="ana", create=True)
    >>> _ = add_record(ws, "event", {"event_type": "Incautaciones", "event_date": "2004-12-31",
    ...                              "admin1": "META"}, review_state="approved")
    >>> event_counts(ws, by=["year", "adm1", "source_type"])["groups"]
    [{'year': '2004', 'adm1': 'META', 'source_type': 'Incautaciones', 'records': 1}]
    >>> ws.close()
    """
    bad = [k for k in by if k not in BY_KEYS] + [lyr for lyr in layers if lyr not in EVENT_LAYERS]
    if bad or len(set(by)) != len(by) or not layers:
        raise ValidationError("stats.bad_grouping", f"Cannot group events by {list(by)} over {list(layers)}.",
                              hint=f"Use --by among {', '.join(BY_KEYS)} (each once) and --layer among "
                                   f"{', '.join(EVENT_LAYERS)}.")
    states = ["submitted", "approved", "published"] if include_submitted else ["approved", "published"]
    counts: Counter[tuple[Any, ...]] = Counter()
    for layer in layers:
        date_field, type_field = EVENT_LAYERS[layer]
        # Group in SQL by only the fields the grouping reads: fewer, larger groups to walk here.
        needs = {"year": [date_field], "month": [date_field, "date_precision"], "adm1": ["admin1"],
                 "adm2": ["admin2"], "source_type": [type_field], "layer": []}
        fields = list(dict.fromkeys(f for k in by for f in needs[k]))
        rows = ws.store.aggregate(layer, group_by=fields, where={"review_state": states})
        for r in rows:
            date = r.get(date_field)
            values = {"year": date[:4] if date else None,
                      "month": date[:7] if date and r.get("date_precision") not in ("year",) else None,
                      "adm1": r.get("admin1"), "adm2": r.get("admin2"), "source_type": r.get(type_field),
                      "layer": layer}
            counts[tuple(values[k] for k in by)] += int(r["count"])
    groups = [{**dict(zip(by, key, strict=True)), "records": n}
              for key, n in sorted(counts.items(), key=lambda kv: [(v is None, v or "") for v in kv[0]])]
    return {
        "database": ws.store.location,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "official_only": not include_submitted,
        "review_states": states,
        "by": list(by),
        "layers": list(layers),
        "total": sum(counts.values()),
        "missing": {k: sum(n for key, n in counts.items() if key[i] is None) for i, k in enumerate(by)},
        "groups": groups,
    }


def render_text(doc: dict[str, Any]) -> str:
    """The counts as a table, one line per group."""
    scope = "approved and published records" if doc["official_only"] else "all records, submitted included"
    width = {k: max([len(k)] + [len(str(g[k])) for g in doc["groups"] if g[k] is not None] + [9]) for k in doc["by"]}
    lines = [f"Events ({', '.join(doc['layers'])}; {scope}): {doc['total']} records", "",
             "  ".join(f"{k:<{width[k]}}" for k in doc["by"]) + f"  {'records':>8}"]
    for g in doc["groups"]:
        lines.append("  ".join(f"{'(missing)' if g[k] is None else g[k]:<{width[k]}}" for k in doc["by"])
                     + f"  {g['records']:>8}")
    gaps = [f"{k} {n}" for k, n in doc["missing"].items() if n]
    if gaps:
        lines += ["", "Records lacking a grouping field: " + ", ".join(gaps)]
    return "\n".join(lines)
