"""Merging a field copy back (``safeground sync --from laptop.gpkg --to SERVER``).

What changed offline is read from the field copy's audit log after its baseline (the copy, or the last merge):
records created there, and the fields changed and retirements of copied ones. Each is applied on the server
through the same use cases as any edit (validation, IMAS rules, the user's role and areas), audited under the
syncing user, new records with the sync's id as their import run. Only the fields changed offline are written,
so a personal field the field copy never held is never overwritten with its empty value.

A copied record whose server version is no longer the one the copy had was changed on both sides: it becomes a
**conflict** (``safeground_sync_conflict``: both versions and the offline changes), never guessed; see
:mod:`safeground.services.sync_conflicts`. A change the server refuses goes to the quarantine with its reason.

**Consistency under kill -9.** (1) The field copy first records the merge as ``started`` under a new id (kept
by a re-run). (2) The server applies every change, the conflicts, the quarantine and its own ``safeground_sync``
row with that id in ONE transaction: killed before its commit, the server has nothing of it. (3) Only after the
server committed does the field copy, in one transaction, take the new server versions and mark the merge
``done`` with its new baseline. A re-run finds the started id; if the server holds it, only step 3 is done
again, from the versions the server kept in its row; otherwise the whole merge runs as the first time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely

from safeground.domain.errors import ForbiddenError, SafeGroundError, ValidationError
from safeground.domain.records import RECORD_TYPES, record_type
from safeground.domain.timestamps import now_iso
from safeground.domain.users import User
from safeground.domain.uuids import time_ordered
from safeground.services import users
from safeground.services.record_access import in_area
from safeground.services.records import add_records, retire_record, update_record
from safeground.services.sync import is_server_url, pause_point, sync_user
from safeground.services.workspace import Workspace
from safeground.store.base import Batch, Record
from safeground.store.gpkg import GeoPackageStore

#: Audit columns that change with every edit: never an offline change of their own.
_BOOKKEEPING = frozenset({"version", "updated_at", "updated_by", "geom"})
_RETIREMENT = ("retired_at", "retired_reason")


@dataclass
class OfflineChange:
    """One record created or changed in a field copy: the values to write (``geometry`` included when it
    changed), whether it is new, and whether it was retired offline."""

    layer: str
    uuid: str
    new: bool
    values: dict[str, Any]
    retire_reason: str | None
    record: Record


@dataclass
class MergeResult:
    """What a merge did; ``resumed`` when the server had applied it already and only the field copy was
    finished."""

    sync_id: str
    counts: dict[str, int] = field(default_factory=dict)
    conflicts: list[int] = field(default_factory=list)
    quarantined: int = 0
    resumed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with a geometry as hex WKB, for the conflicts table.

    >>> jsonable({"name": "x", "geometry": shapely.Point(1, 2)})["geometry"][:10]
    '0101000000'
    """
    return {k: (shapely.to_wkb(v, hex=True) if isinstance(v, shapely.Geometry) else v) for k, v in values.items()}


def open_field_copy(path: str | Path) -> GeoPackageStore:
    """The field copy at ``path``; ``sync.not_a_field_copy`` for anything else."""
    problem = None
    if is_server_url(str(path)) or not Path(path).is_file():
        problem = "is not a field copy file"
    else:
        try:
            store = GeoPackageStore.open(Path(path))
        except SafeGroundError as err:
            problem = f"is not a SafeGround GeoPackage ({err.code})"
        else:
            if field_copy_rows(store):
                return store
            store.close()
            problem = "is a SafeGround database but not a field copy"
    raise ValidationError("sync.not_a_field_copy", f"{path} {problem}.",
                          hint="Give --from the .gpkg that 'safeground sync --area ADMIN --from SERVER --to FILE' "
                               "made.")


def field_copy_rows(store: GeoPackageStore) -> list[Record]:
    """The rows of ``store``'s own copy and merges, oldest first: those with the field copy's audit sequence
    (a server's rows of the copies it gave and the merges it took have none)."""
    return [s for s in store.syncs() if s["field_seq"] is not None or (s["kind"] == "merge" and
                                                                     s["status"] == "started")]


def offline_changes(field_copy: GeoPackageStore, baseline: int) -> list[OfflineChange]:
    """What changed in ``field_copy`` after its audit sequence ``baseline``, in the order it first changed."""
    versions = field_copy.sync_versions()
    touched: dict[tuple[str, str], set[str]] = {}
    for ch in field_copy.changes_since(baseline):
        if ch.layer not in RECORD_TYPES or ch.uuid is None:
            continue  # attachments and the store's own tables do not travel
        fields = touched.setdefault((ch.layer, ch.uuid), set())
        if ch.op in ("update", "retire", "external"):
            before, after = ch.before or {}, ch.after or {}
            fields |= {k for k in set(before) | set(after) if k not in _BOOKKEEPING and before.get(k) != after.get(k)}
            if after.get("geom") is not None and before.get("geom") != after.get("geom"):
                fields.add("geometry")
    out = []
    for (layer, uuid), fields in touched.items():
        rt = record_type(layer)
        record = field_copy.get(layer, uuid)
        new = (layer, uuid) not in versions
        writable = {f.name for f in rt.all_fields if not f.managed}
        if new:
            values = {k: v for k, v in record.items() if k in writable and v is not None}
            if rt.is_spatial and record.get("geometry") is not None:
                values["geometry"] = record["geometry"]
        else:
            values = {k: record.get(k) for k in sorted(fields & (writable | {"geometry"}))}
        retired = record.get("retired_at") is not None and (new or "retired_at" in fields)
        if values or retired:
            out.append(OfflineChange(layer, uuid, new, values, record.get("retired_reason") if retired else None,
                                     record))
    return out


def _check_area(ws: Workspace, user: User, layer: str, record: Record) -> None:
    if not in_area(ws, user, layer, record):
        raise ForbiddenError("sync.outside_area", f"This {layer} lies outside {user.username}'s areas "
                             f"({', '.join(user.areas)}).", hint="Have an administrator widen the user's areas, "
                             "or enter the record on the server.")


def _apply(ws: Workspace, user: User, change: OfflineChange, expected: int | None, sync_id: str) -> str:
    """Write one offline change on the server; return what it did (inserted, updated, retired)."""
    layer = change.layer
    if change.new:
        users.require(user, "create", layer)
        _check_area(ws, user, layer, change.values)
        add_records(ws, layer, Batch.from_records([{**change.values, "uuid": change.uuid}]), import_run=sync_id)
        if change.retire_reason is not None:
            users.require(user, "retire", layer)
            retire_record(ws, layer, change.uuid, change.retire_reason)
        return "inserted"
    current = ws.store.get(layer, change.uuid)
    users.require(user, "update", layer, review_state=current["review_state"])
    _check_area(ws, user, layer, current)
    if change.values:
        update_record(ws, layer, change.uuid, change.values, expected_version=expected)
        expected = None
    if change.retire_reason is not None:
        users.require(user, "retire", layer)
        retire_record(ws, layer, change.uuid, change.retire_reason, expected_version=expected)
        return "retired"
    return "updated"


def _apply_all(server: Workspace, user: User, changes: list[OfflineChange], versions: dict[tuple[str, str], int],
               sync_id: str, source: str) -> dict[str, Any]:
    """Apply ``changes`` on the server inside the caller's transaction; return the summary the server keeps."""
    store = server.store
    seen = store.last_change_seq()
    own: Counter[tuple[str, str]] = Counter()  # versions this merge itself added (rules update linked records)
    counts: Counter[str] = Counter()
    conflicts: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    applied: list[tuple[str, str, int]] = []
    for i, change in enumerate(changes):
        key = (change.layer, change.uuid)
        expected = None if change.new else versions[key] + own[key]
        current: Record | None = None
        try:
            with store.savepoint():
                current = None if change.new else store.get(*key)
                if current is None or current["version"] == expected:
                    counts[_apply(server, user, change, expected, sync_id)] += 1
                    applied.append((*key, int(store.get(*key)["version"])))
        except SafeGroundError as err:
            if err.code == "store.version_conflict":  # a writer got in between: a conflict, found by the store
                current = store.get(*key)
            else:  # refused: quarantined with its reason
                current = None
                quarantine.append({"import_run": sync_id, "layer": change.layer, "source": source,
                                   "source_row": i + 1, "code": err.code, "reason": err.message, "hint": err.hint,
                                   "raw": {"uuid": change.uuid, "new": change.new, **jsonable(change.values)}})
        if current is not None and not change.new and (layer_uuid_version := int(current["version"])) != expected:
            conflicts.append({"sync_id": sync_id, "layer": change.layer, "uuid": change.uuid, "ref": current["ref"],
                              "base_version": versions[key], "server_version": layer_uuid_version,
                              "server_record": jsonable(current), "field_record": jsonable(change.record),
                              "field_changes": {**jsonable(change.values), **(
                                  {"retired_reason": change.retire_reason} if change.retire_reason else {})}})
            counts["conflicts"] += 1
        for ch in store.changes_since(seen):
            seen = ch.seq
            if ch.op in ("update", "retire", "external") and ch.uuid is not None:
                own[(ch.layer, ch.uuid)] += 1
        pause_point(f"after:{i + 1}")
    # A record a rule changed after this merge applied it: the field copy takes its final version.
    # Copied records only the rules of this merge changed (a hazard's remaining area) stay free of conflicts too.
    done = {(layer, uuid) for layer, uuid, _v in applied}
    applied = [(layer, uuid, int(store.get(layer, uuid)["version"])) for layer, uuid, _v in applied]
    for key, bumps in sorted(own.items()):
        if key in versions and key not in done and store.get(*key)["version"] == versions[key] + bumps:
            applied.append((*key, versions[key] + bumps))
    ids = store.write_conflicts(conflicts, user=user.username) if conflicts else []
    if quarantine:
        store.write_quarantine(quarantine)
    counts["quarantined"] = len(quarantine)
    return {"counts": dict(counts), "conflicts": ids, "versions": [list(v) for v in applied]}


def merge_field_copy(server: Workspace, path: str | Path, *, username: str | None = None) -> MergeResult:
    """Merge what changed in the field copy at ``path`` into ``server`` (see the module's protocol).

    ``username`` defaults to the user the copy was made for; ``sync.not_a_field_copy``, ``sync.unknown_user``."""
    field_copy = open_field_copy(path)
    try:
        own = field_copy_rows(field_copy)
        copy = [s for s in own if s["kind"] == "copy"][-1]
        user = sync_user(server, username or copy["username"])
        baseline = max(int(s["field_seq"]) for s in own if s["status"] == "done")
        started = [s for s in own if s["status"] == "started"]
        if started:
            sync_id, began = started[-1]["id"], started[-1]["started_at"]
        else:
            sync_id, began = time_ordered(1)[0], now_iso()
            field_copy.write_sync({"id": sync_id, "kind": "merge", "status": "started", "server": server.store.location,
                                   "field_copy": str(path), "area": copy["area"], "username": user.username,
                                   "role": user.role.value, "started_at": began})
        kept = server.store.syncs(sync_id=sync_id)
        resumed = bool(kept)
        if kept:
            summary = kept[0]["summary"]
        else:
            changes = offline_changes(field_copy, baseline)
            acting = Workspace(server.store, user.username)
            with server.store.transaction():
                summary = _apply_all(acting, user, changes, field_copy.sync_versions(), sync_id, str(path))
                counts = summary["counts"]
                server.store.write_import_run({
                    "id": sync_id, "layer": None, "source": str(path), "format": "field_sync", "started_at": began,
                    "finished_at": now_iso(), "user": user.username, "rows_read": len(changes),
                    "rows_stored": sum(counts.get(k, 0) for k in ("inserted", "updated", "retired")),
                    "rows_quarantined": counts.get("quarantined", 0), "status": "done",
                    "report": {"counts": counts, "conflicts": summary["conflicts"]}})
                server.store.write_sync({"id": sync_id, "kind": "merge", "status": "done",
                                         "server": server.store.location, "field_copy": str(path),
                                         "area": copy["area"], "username": user.username, "role": user.role.value,
                                         "server_seq": server.store.last_change_seq(), "started_at": began,
                                         "finished_at": now_iso(), "summary": summary})
        pause_point("committed")
        with field_copy.transaction():
            field_copy.write_sync_versions([(str(la), str(u), int(v)) for la, u, v in summary["versions"]],
                                           sync_id=sync_id)
            field_copy.write_sync({"id": sync_id, "kind": "merge", "status": "done", "server": server.store.location,
                                   "field_copy": str(path), "area": copy["area"], "username": user.username,
                                   "role": user.role.value, "server_seq": kept[0]["server_seq"] if kept else
                                   server.store.last_change_seq(), "field_seq": field_copy.last_change_seq(),
                                   "started_at": began, "finished_at": now_iso(), "summary": summary})
    finally:
        field_copy.close()
    return MergeResult(sync_id, dict(summary["counts"]), list(summary["conflicts"]),
                       int(summary["counts"].get("quarantined", 0)), resumed)
