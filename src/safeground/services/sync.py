"""Field copies for offline work (``safeground sync --area ADMIN --from SERVER --to laptop.gpkg``).

A field copy is a new SafeGround GeoPackage holding the records of one admin area (those whose ``admin2_code``
is the area's or a sub-area's, or whose geometry meets its outline; casualties through their accident,
referrals through their casualty), the records they link to (an activity's organisation and team, a device's
hazard...), and the area with its sub-areas. Which layers and fields travel follows the user's role
(:mod:`safeground.domain.roles`): a layer the role may not read record by record stays behind, and personal
fields are left empty unless the role may ``read_personal``, because laptops get lost.

The copy remembers where it came from in its ``safeground_sync`` row (server, area, user, role, the server's
audit sequence at copy time, its own audit sequence after the load) and each record's server version in
``safeground_sync_record``; :mod:`safeground.services.sync_merge` brings its changes back.

It is written under a temporary name and renamed only when complete, so a copy killed halfway never leaves a
file that looks like a field copy.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safeground.domain.errors import ForbiddenError, ValidationError
from safeground.domain.records import RECORD_TYPES, record_type
from safeground.domain.timestamps import now_iso
from safeground.domain.users import User
from safeground.domain.uuids import time_ordered
from safeground.services import users
from safeground.services.record_access import hidden_fields, in_scope
from safeground.services.users import AreaScope
from safeground.services.workspace import Workspace
from safeground.store.base import Record
from safeground.store.gpkg import GeoPackageStore
from safeground.store.sync_tiles import read_tiles

#: Test hook: ``copy:N`` makes a field copy stop for an hour after writing N layers, and ``after:N`` /
#: ``committed`` do the same in a merge (see :mod:`safeground.services.sync_merge`), so that a test can kill
#: the process at a known point. Never set it in production.
PAUSE_VARIABLE = "SAFEGROUND_SYNC_PAUSE"


def pause_point(point: str) -> None:
    """Stop here for an hour when :data:`PAUSE_VARIABLE` names ``point`` (a test kills the process meanwhile)."""
    if os.environ.get(PAUSE_VARIABLE) == point:
        print(f"sync paused at {point} (test hook)", file=sys.stderr, flush=True)
        time.sleep(3600)


@dataclass(frozen=True)
class FieldCopy:
    """What a field copy holds."""

    sync_id: str
    path: str
    area: str
    username: str
    role: str
    server_seq: int
    records: dict[str, int]
    personal_fields: bool
    layers_left_out: list[str]
    tiles: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def is_server_url(text: str) -> bool:
    return str(text).startswith(("postgresql://", "postgres://"))


def sync_user(ws: Workspace, username: str) -> User:
    """The active user ``username`` of the server; ``sync.unknown_user`` otherwise (a field copy's rights come
    from the server's users)."""
    found = [u for u in users.list_users(ws) if u.username == username]
    if not found or not found[0].active:
        raise ValidationError("sync.unknown_user", f"{username!r} is not an active user of {ws.store.location}.",
                              hint="Give --user NAME of a user the server knows (safeground users add NAME "
                                   "--role data_entry --db SERVER); the role decides what the copy holds.")
    return found[0]


def find_area(ws: Workspace, area: str) -> Record:
    """The admin area whose code, else whose name (any case), is ``area``; ``sync.area_unknown`` otherwise."""
    rows = ws.store.query("admin_area", where={"code": area})
    if not rows:
        rows = [a for a in ws.store.query("admin_area") if str(a["name"]).casefold() == area.casefold()]
    codes = sorted({a["code"] for a in rows})
    if len(codes) > 1:
        raise ValidationError("sync.area_unknown", f"{area!r} names several admin areas: {', '.join(codes)}.",
                              hint="Give the admin area's code instead of its name.")
    if not rows:
        raise ValidationError("sync.area_unknown", f"No admin area with code or name {area!r}.",
                              hint="Import the admin areas first (safeground import FILE --as admin_area "
                                   "--admin-level N), and give one's code or name.")
    return rows[0]


def _readable(user: User) -> list[str]:
    return [layer for layer in RECORD_TYPES if users.can(user, "read", layer)]


def select_records(ws: Workspace, user: User, scope: AreaScope) -> dict[str, list[Record]]:
    """The records of each layer ``user`` may read that belong in a field copy of ``scope``: those in it, the
    records they link to (followed until none is new), and the admin areas of the scope."""
    layers = _readable(user)
    bounds = scope.outline.bounds if scope.outline is not None else None
    chosen: dict[str, dict[str, Record]] = {layer: {} for layer in layers}
    for layer in layers:
        rt = record_type(layer)
        if layer == "admin_area":
            rows = ws.store.query(layer, where={"code": sorted(scope.codes)})
        elif rt.is_spatial and bounds is not None:
            rows = ws.store.query(layer, bbox=bounds)
            rows += ws.store.query(layer, where={"admin2_code": sorted(scope.codes)}) \
                if rt.has_field("admin2_code") else []
        else:
            rows = ws.store.query(layer)
        for r, ok in zip(rows, in_scope(ws, layer, rows, scope) if layer != "admin_area" else [True] * len(rows),
                         strict=True):
            if ok:
                chosen[layer][r["uuid"]] = r
    todo = [(layer, r) for layer, rows in chosen.items() for r in rows.values()]
    while todo:
        layer, r = todo.pop()
        for f in record_type(layer).fields:
            if f.links_to is None or f.links_to not in chosen:
                continue
            targets = r.get(f.name)
            wanted = [t for t in (targets if isinstance(targets, list) else str(targets or "").split())
                      if t and t not in chosen[f.links_to]]
            if wanted:
                for linked in ws.store.query(f.links_to, where={"uuid": wanted}, include_retired=True):
                    chosen[f.links_to][linked["uuid"]] = linked
                    todo.append((f.links_to, linked))
    return {layer: sorted(rows.values(), key=lambda r: str(r["ref"])) for layer, rows in chosen.items()}


def _partial(target: Path) -> Path:
    return target.with_name(target.name + ".partial")


def make_field_copy(ws: Workspace, target: str | Path, area: str, *, username: str,
                    progress: Callable[[str, int, int], None] | None = None) -> FieldCopy:
    """Write the field copy of ``area`` for ``username`` at ``target`` (a new GeoPackage) from the server ``ws``.

    ``sync.bad_target`` when ``target`` is a server URL or not a .gpkg, ``sync.target_exists`` when it exists
    (a field copy may hold work not merged yet), ``sync.unknown_user``, ``sync.area_unknown``, and
    ``sync.area_forbidden`` for an area outside the user's restriction."""
    path = Path(target)
    if is_server_url(str(target)) or path.suffix.lower() != ".gpkg":
        raise ValidationError("sync.bad_target", f"A field copy is a GeoPackage file; {target} is not a .gpkg path.",
                              hint="Give --to laptop.gpkg.")
    if path.exists():
        raise ValidationError("sync.target_exists", f"{path} exists already.",
                              hint="Merge it back first (safeground sync --from FILE --to SERVER), then remove it "
                                   "or give a new name: a field copy is never overwritten.")
    user = sync_user(ws, username)
    admin = find_area(ws, area)
    scope = users.admin_scope(ws, [admin["code"]])
    own = users.area_scope(ws, user)
    if own is not None and admin["code"] not in own.codes:
        raise ForbiddenError("sync.area_forbidden",
                             f"{user.username} works in {', '.join(user.areas)}, which does not hold {admin['code']}.",
                             hint="Copy one of the user's own areas, or have an administrator widen them.")
    tiles = read_tiles(Path(ws.config.sync.basemap_tiles)) if ws.config.sync.basemap_tiles else []
    server_seq = ws.store.last_change_seq()  # changes after it are newer than the copy
    chosen = select_records(ws, user, scope)
    if own is not None:  # a restricted user's copy holds only what the user may see anyway (links included)
        chosen = {layer: [r for r, ok in zip(rows, in_scope(ws, layer, rows, own), strict=True) if ok]
                  for layer, rows in chosen.items()}
    sync_id = time_ordered(1)[0]
    partial = _partial(path)
    partial.unlink(missing_ok=True)  # what a copy killed halfway left
    started = now_iso()
    counts: dict[str, int] = {}
    field = GeoPackageStore.open(partial, create=True)
    try:
        config = ws.store.read_config_text()
        if config:
            field.write_config_text(config, ws.user)
        for i, (layer, rows) in enumerate(chosen.items()):
            hidden = hidden_fields(user, layer)
            field.insert_copies(layer, [{k: (None if k in hidden else v) for k, v in r.items()} for r in rows])
            counts[layer] = len(rows)
            if progress:
                progress("field copy", i + 1, len(chosen))
            pause_point(f"copy:{i + 1}")
        n_tiles = field.add_basemap_tiles(tiles) if tiles else 0
        with field.transaction():
            field.write_sync_versions([(layer, r["uuid"], int(r["version"])) for layer, rows in chosen.items()
                                       for r in rows], sync_id=sync_id)
            left_out = sorted(set(RECORD_TYPES) - set(chosen))
            field.write_sync({"id": sync_id, "kind": "copy", "status": "done", "server": ws.store.location,
                              "field_copy": str(path), "area": admin["code"], "username": user.username,
                              "role": user.role.value, "server_seq": server_seq,
                              "field_seq": field.last_change_seq(), "started_at": started, "finished_at": now_iso(),
                              "summary": {"records": counts, "layers_left_out": left_out, "tiles": n_tiles}})
    finally:
        field.close()
    with partial.open("rb+") as f:
        os.fsync(f.fileno())
    os.replace(partial, path)  # the file appears complete, or not at all
    personal = any(users.can(user, "read_personal", layer) for layer in chosen if record_type(layer).personal_fields)
    ws.store.write_sync({"id": sync_id, "kind": "copy", "status": "done", "server": ws.store.location,
                         "field_copy": str(path), "area": admin["code"], "username": user.username,
                         "role": user.role.value, "server_seq": server_seq, "started_at": started,
                         "finished_at": now_iso(), "summary": {"records": counts, "personal_fields": personal}})
    return FieldCopy(sync_id, str(path), admin["code"], user.username, user.role.value, server_seq, counts, personal,
                     left_out, n_tiles)
