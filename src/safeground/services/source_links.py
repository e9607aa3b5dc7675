"""Links between imported records given by the *source's* ids, resolved to SafeGround uuids.

Sources such as IMSMA link a victim to its accident by the accident's local id, not by our uuid.
A mapping declares ``links: {accident: accident_localid}``; an earlier import stored each accident
with ``source_id`` = its local id. Here each such value becomes the uuid of the record with that
source id. A row whose linked record is missing, or ambiguous, becomes a row fault with a reason
(it is quarantined, and imports once the linked records are in).
"""

from __future__ import annotations

from collections import defaultdict

from safeground.domain.records import record_type
from safeground.io.mapping import ImportMapping, Mapped
from safeground.services.workspace import Workspace


def resolve_source_links(ws: Workspace, mapping: ImportMapping, mapped: Mapped) -> None:
    """Replace source ids in each declared link field by uuids; move unresolvable rows to ``mapped.faults``."""
    for layer, rows in mapped.layers.items():
        spec = mapping.layers[layer]
        bad: dict[int, str] = {}
        for name, column in spec.links.items():
            target = record_type(layer).field(name).links_to
            assert target is not None  # the mapping model checks that links are link fields
            wanted = sorted({v for v in rows.columns.get(name, []) if v is not None})
            found: dict[str, set[str]] = defaultdict(set)
            for rec in ws.store.query(target, where={"source_id": wanted}, geometry=False) if wanted else []:
                found[rec["source_id"]].add(rec["uuid"])
            resolved = []
            for k, sid in enumerate(rows.columns[name]):
                uuids = found.get(sid, set()) if sid is not None else {None}
                if len(uuids) != 1:
                    why = "no" if not uuids else f"{len(uuids)} records"
                    bad.setdefault(k, f"'{column}' value {sid!r}: {why} {target} with that source id "
                                      f"(import the {target} records first, then import this file again)")
                resolved.append(next(iter(uuids)) if len(uuids) == 1 else None)
            rows.columns[name] = resolved
        for k, reason in bad.items():
            mapped.faults[rows.rows[k]] = reason
        rows.drop(set(bad))
