"""Backup, restore, and the export that shows a restore gave back everything.

``safeground backup`` is the store's own consistent copy (SQLite's backup API, ``pg_dump``). ``safeground restore``
puts such a copy into an **empty** database of the same backend (:func:`restore_backup`). :func:`full_export` is
what "the same database" means: every layer's records (retired ones too, geometry as WKB), the whole audit log,
the import runs with their reports, users with their areas and API tokens (never a hash), the configuration, the
quarantine, duplicate links, minefield-record matches, publications with their frozen figures, attachments with
their bytes' SHA-256, and the risk and plan runs with their cells and items. Two databases with equal exports
hold the same information.

>>> import tempfile, os
>>> from safeground.store import open_store
>>> folder = tempfile.mkdtemp()
>>> with open_store(os.path.join(folder, "a.gpkg"), create=True) as store:
...     store.write_config_text("country: COL\\n", "ana")
...     store.backup(os.path.join(folder, "a-backup.gpkg"))
...     before = full_export(store)
>>> restore_backup(os.path.join(folder, "a-backup.gpkg"), os.path.join(folder, "b.gpkg"))["records"]
0
>>> with open_store(os.path.join(folder, "b.gpkg")) as store:
...     full_export(store) == before
True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import shapely

from safeground.domain.records import RECORD_TYPES
from safeground.store import Store, open_store, restore_store


def restore_backup(backup: str | Path, db: str | Path) -> dict[str, Any]:
    """Restore ``backup`` into the empty database ``db`` (``restore.target_not_empty`` otherwise) and say what it
    holds: ``{"backup", "database", "schema_version", "records", "audit_rows"}``."""
    restore_store(backup, db)
    with open_store(db) as store:
        records = sum(store.count(layer) for layer in RECORD_TYPES)
        return {"backup": str(backup), "database": store.location, "schema_version": store.schema_version,
                "records": records, "audit_rows": store.last_change_seq()}


def full_export(store: Store) -> dict[str, Any]:
    """Everything the database holds, as plain JSON-ready values in a fixed order (see the module's docstring)."""
    doc: dict[str, Any] = {"config": store.read_config_text(), "layers": {}}
    for layer in sorted(RECORD_TYPES):
        rows = store.query(layer, include_retired=True)
        doc["layers"][layer] = [_plain(r) for r in rows]
    doc["audit"] = [_plain(asdict(c)) for c in store.changes_since(0)]
    doc["import_runs"] = [_plain(r) for r in store.import_runs()]
    doc["users"] = [_plain(u) for u in store.users()]
    doc["api_tokens"] = [_plain(t) for t in store.api_tokens()]
    doc["quarantine"] = [_plain(r) for r in store.quarantined()]
    doc["duplicate_links"] = [_plain(r) for r in store.duplicate_links()]
    doc["minefield_matches"] = [_plain(r) for r in store.minefield_matches()]
    doc["publications"] = [_plain(p) for p in store.publications(figures=True)]
    doc["attachments"] = [_plain(a) | {"data_sha256": hashlib.sha256(store.attachment_data(a["uuid"])).hexdigest()}
                          for a in store.attachments(include_retired=True)]
    doc["risk_runs"] = [_plain(r) | {"cells": [_plain(c) for c in store.risk_cells(r["id"])]}
                        for r in store.risk_runs()]
    doc["plan_runs"] = [_plain(r) | {"items": [_plain(i) for i in store.plan_items(r["id"])]}
                        for r in store.plan_runs()]
    return doc


def _plain(row: Any) -> Any:
    """A row as JSON holds it: geometries as hex WKB, the rest through JSON (tuples become lists, NaN the text
    ``NaN``, so that equal rows compare equal)."""
    out = {k: shapely.to_wkb(v, hex=True) if isinstance(v, shapely.Geometry) else v for k, v in dict(row).items()}
    return json.loads(json.dumps(out, sort_keys=True, default=str), parse_constant=str)
