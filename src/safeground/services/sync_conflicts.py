"""Conflicts a field merge found: records changed on the server and in a field copy (``safeground conflicts``).

A person decides each one; nothing is guessed. ``--keep server`` leaves the record as the server has it,
``--keep field`` writes the offline changes over it, ``--keep merged`` writes only the values given with
``--set FIELD=VALUE`` (which may also be added to the other two). Writing goes through the ordinary update use
case (validation, IMAS rules, audit), expecting the server version the conflict saw: a record changed again
since is refused with ``store.version_conflict`` rather than overwritten. The resolution itself (who, when,
which side, the version it gave) is kept on the conflict and written to the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import shapely

from safeground.domain.errors import ValidationError
from safeground.domain.records import record_type
from safeground.services.records import retire_record, update_record
from safeground.services.workspace import Workspace
from safeground.store.base import Record

KEEP = ("server", "field", "merged")


def list_conflicts(ws: Workspace, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    """Conflicts, oldest first: the record, the versions, and for each field changed offline the server's value
    and the field copy's."""
    rows = ws.store.conflicts(status=None if include_resolved else "open")
    out = []
    for c in rows:
        fields = {name: {"server": c["server_record"].get(name), "field": value}
                  for name, value in c["field_changes"].items()}
        out.append({"id": c["id"], "sync_id": c["sync_id"], "layer": c["layer"], "uuid": c["uuid"], "ref": c["ref"],
                    "base_version": c["base_version"], "server_version": c["server_version"],
                    "server_changed_by": c["server_record"].get("updated_by"),
                    "server_changed_at": c["server_record"].get("updated_at"), "fields": fields,
                    "status": c["status"], "resolution": c["resolution"], "resolved_by": c["resolved_by"],
                    "resolved_at": c["resolved_at"]})
    return out


def _decoded(layer: str, values: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if isinstance(out.get("geometry"), str):
        out["geometry"] = shapely.from_wkb(out["geometry"])
    return out


def resolve_conflict(ws: Workspace, conflict_id: int, keep: str, *, sets: Mapping[str, Any] | None = None) -> Record:
    """Resolve conflict ``conflict_id`` keeping ``server``, ``field`` or ``merged`` (the ``sets`` values) and
    return the conflict as now kept. ``conflicts.bad_keep``, ``conflicts.nothing_set`` (merged without values),
    ``conflicts.unknown`` (404), ``conflicts.resolved`` (409)."""
    if keep not in KEEP:
        raise ValidationError("conflicts.bad_keep", f"--keep {keep!r} is not server, field or merged.",
                              hint="Keep the server's record, the field copy's changes, or the values you --set.")
    sets = dict(sets or {})
    if keep == "merged" and not sets:
        raise ValidationError("conflicts.nothing_set", "--keep merged needs the values to write.",
                              hint="Add --set FIELD=VALUE for each field to settle, e.g. --set status=worked_on.")
    with ws.store.transaction():
        found = ws.store.conflicts(conflict_id=conflict_id)
        if found and found[0]["status"] == "open":
            c = found[0]
            rt = record_type(c["layer"])
            for name in sets:
                if name != "geometry":
                    rt.field(name)
            changes = _decoded(c["layer"], c["field_changes"]) if keep == "field" else {}
            retire = changes.pop("retired_reason", None)
            changes |= sets
            version = int(c["server_version"])
            if changes:
                version = int(update_record(ws, c["layer"], c["uuid"], changes, expected_version=version)["version"])
            if retire:
                version = int(retire_record(ws, c["layer"], c["uuid"], retire, expected_version=version)["version"])
            result = version if (changes or retire) else None
        else:
            result = None  # the store says why: unknown or resolved
        return ws.store.resolve_conflict(conflict_id, keep, user=ws.user, result_version=result)
