"""Quarantined import rows out to a CSV file, to be fixed and imported again.

The file holds each open entry's original columns as they were read, then ``quarantine_id`` and
``quarantine_reason``. Fix the values in a spreadsheet and import the file through the same mapping:
:func:`safeground.services.mapped_import.import_csv` sees the ``quarantine_id`` column, resolves the
entries whose rows now go in (linked to the records they became) and keeps the others, with the new reason.

>>> import os, tempfile
>>> from safeground.services.workspace import Workspace
>>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "q.gpkg"), user="ana", create=True)
>>> ws.store.write_quarantine([{"import_run": "r1", "layer": "event", "source": "events.csv", "source_row": 7,
...                             "code": "mapping.row", "reason": "'tipo_area' value 'Selva' has no translation",
...                             "raw": {"year": "2004", "tipo_area": "Selva"}}])
>>> target = os.path.join(tempfile.mkdtemp(), "fix.csv")
>>> export_quarantine(ws, target)
1
>>> print(open(target, encoding="utf-8").read().strip())
year,tipo_area,quarantine_id,quarantine_reason
2004,Selva,1,'tipo_area' value 'Selva' has no translation
>>> ws.close()
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.io.vector import new_file
from safeground.services.mapped_import import QUARANTINE_ID, QUARANTINE_REASON
from safeground.services.workspace import Workspace


def export_quarantine(ws: Workspace, target: str | Path, *, import_run: str | None = None,
                      source: str | None = None) -> int:
    """Write the open quarantine entries (of one run or source file, if given) to a new CSV file; return how
    many. Nothing is written when there are none."""
    entries = ws.store.quarantined(import_run=import_run, source=source)
    if not entries:
        return 0
    columns = list(entries[0]["raw"])
    mixed = sorted({e["source"] or "" for e in entries if list(e["raw"]) != columns})
    if mixed:
        raise ValidationError("quarantine.mixed_columns",
                              f"The open entries come from files with different columns ({entries[0]['source']}, "
                              f"{', '.join(mixed)}).",
                              hint="Export one source at a time with --source NAME (or one run with --import-run).")
    path = new_file(target)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*columns, QUARANTINE_ID, QUARANTINE_REASON])
        writer.writerows([*(e["raw"][c] for c in columns), e["id"], e["reason"]] for e in entries)
    return len(entries)


def quarantine_counts(ws: Workspace) -> dict[str, Any]:
    """Open quarantine entries (rows an import could not store, not yet fixed): ``{"open", "by_layer":
    {layer: n}, "by_code": {error code: n}}``, largest first.

    >>> import os, tempfile
    >>> from safeground.services.workspace import Workspace
    >>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "q.gpkg"), user="ana", create=True)
    >>> quarantine_counts(ws)
    {'open': 0, 'by_layer': {}, 'by_code': {}}
    >>> ws.store.write_quarantine([{"import_run": "r1", "layer": "event", "source": "e.csv", "source_row": 7,
    ...                             "code": "mapping.row", "reason": "no translation", "raw": {"a": "1"}}])
    >>> quarantine_counts(ws)
    {'open': 1, 'by_layer': {'event': 1}, 'by_code': {'mapping.row': 1}}
    >>> ws.close()
    """
    entries = ws.store.quarantined()
    layers = Counter(e["layer"] or "unknown" for e in entries)
    codes = Counter(e["code"] or "unknown" for e in entries)
    return {"open": len(entries), "by_layer": dict(layers.most_common()), "by_code": dict(codes.most_common())}
