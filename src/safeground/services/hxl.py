"""CSV with HXL hashtags, for the Humanitarian Data Exchange (HDX). Public by construction.

Only published records go out, personal fields never do, and casualties leave only as counts by
admin area, month, outcome and status. The second row holds the HXL hashtags from the declarations.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from safeground.domain.records import record_type
from safeground.io.vector import new_file
from safeground.services.workspace import Workspace

PUBLIC = {"review_state": "published"}


def export_hxl(ws: Workspace, layer: str, path: str | Path) -> int:
    """Write ``layer`` as HXL-tagged CSV at ``path`` (never overwritten); return the data rows written."""
    path = new_file(path)
    header, tags, rows = _casualty_counts(ws) if layer == "casualty" else _records(ws, layer)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        out.writerow(tags)
        out.writerows(rows)
    return len(rows)


def _records(ws: Workspace, layer: str) -> tuple[list[str], list[str], list[list[object]]]:
    rt = record_type(layer)
    fields = [f for f in rt.all_fields if not f.personal and f.name not in ("created_by", "updated_by")]
    header = [f.name for f in fields]
    tags = [f.hxl or "" for f in fields]
    point = rt.geometry_type == "POINT"
    if rt.is_spatial:
        header += ["lon", "lat"] if point else ["wkt"]
        tags += ["#geo+lon", "#geo+lat"] if point else ["#geo+wkt"]
    rows = []
    for r in ws.store.query(layer, where=PUBLIC):
        row: list[object] = [r[f.name] for f in fields]
        g = r.get("geometry")
        if rt.is_spatial:
            row += ([g.x, g.y] if g is not None else ["", ""]) if point else [g.wkt if g is not None else ""]
        rows.append(row)
    return header, tags, rows


def _casualty_counts(ws: Workspace) -> tuple[list[str], list[str], list[list[object]]]:
    accidents = {a["uuid"]: a for a in ws.store.query("accident", geometry=False)}
    counts: Counter[tuple[str, str, str, str, str]] = Counter()
    for c in ws.store.query("casualty", where=PUBLIC, geometry=False):
        a = accidents.get(c["accident"], {})
        month = (a.get("accident_date") or "")[:7]
        counts[(a.get("admin1") or "", a.get("admin2") or "", month, c["outcome"], c["status"])] += 1
    header = ["admin1", "admin2", "month", "outcome", "status", "casualties"]
    tags = ["#adm1+name", "#adm2+name", "#date+month", "#affected+outcome", "#affected+status", "#affected+num"]
    return header, tags, [[*key, n] for key, n in sorted(counts.items())]
