"""Reading records as a given person may: filters, paging, area restrictions and personal fields removed.

The one place the REST API, the OGC API and the map's feature detail read records through, so the policy
(:func:`safeground.domain.roles.can`) is applied the same way everywhere:

- **Who reads what.** Anybody signed in reads the layers their role allows (a viewer reads casualties and
  referrals only as aggregates, elsewhere). Nobody signed in (``user=None``) reads only *published* records of
  the layers that are not about persons: publishing is the QA step that makes a record public.
- **Personal fields** (declared ``personal`` in the record model) are removed from every record, and from every
  history entry, unless the user may ``read_personal`` on the layer.
- **Area restrictions.** A user restricted to some admin areas sees a record when its ``admin2_code`` is in
  them, or (no code) when its geometry meets their outline; a casualty when its accident is seen, a referral
  when its casualty is. Records outside are answered as not found, never as forbidden (their existence is
  not disclosed).

>>> import os, tempfile, shapely
>>> from safeground.services.records import add_record
>>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "r.gpkg"), user="ana", create=True)
>>> _ = add_record(ws, "hazard_area", {"name": "North field", "hazard_class": "cha", "status": "open",
...                "geometry": shapely.box(-72.50, 5.00, -72.49, 5.01)})
>>> page = find_records(ws, None, "hazard_area")
>>> page.total  # nothing published yet: the public sees nothing
0
>>> from safeground.domain.users import User
>>> from safeground.domain.roles import Role
>>> viewer = User(uuid="1", username="vi", display_name=None, role=Role.VIEWER, areas=(), created_at="t")
>>> [r["ref"] for r in find_records(ws, viewer, "hazard_area", RecordFilter(status=("open",))).records]
['HA-000001']
>>> ws.close()
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from safeground.domain.errors import ForbiddenError, NotFoundError, ValidationError
from safeground.domain.records import record_type
from safeground.domain.roles import PERSON_LAYERS
from safeground.domain.users import User
from safeground.services import users
from safeground.services.attachments import find_record
from safeground.services.users import AreaScope
from safeground.services.workspace import Workspace
from safeground.store.base import Change, Record, Where

#: The most records one page holds.
MAX_LIMIT = 1000
#: Review states the public (nobody signed in) may read.
PUBLIC_STATES = ("published",)
#: A layer whose records are seen through the record they belong to: (link field, linked layer).
_SEEN_THROUGH = {"casualty": ("accident", "accident"), "assistance_referral": ("casualty", "casualty")}
#: Audit columns that are bookkeeping, never listed as changes (the entry carries its time, actor and version).
_BOOKKEEPING = frozenset({"geom", "updated_at", "updated_by", "version"})

Bbox = tuple[float, float, float, float]


@dataclass(frozen=True)
class RecordFilter:
    """What to look for; every part is optional and they all hold together (AND).

    ``date_from``/``date_to`` apply to the layer's event date (``info_date`` when it has none), both ends
    included; ``admin`` names admin area codes, their sub-areas included; ``status`` is the layer's ``status``
    field."""

    bbox: Bbox | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: Sequence[str] = ()
    admin: Sequence[str] = ()
    review_state: Sequence[str] = ()
    include_retired: bool = False


@dataclass(frozen=True)
class Page:
    """One page of records, with the total that match and where the next page starts (``None``: last)."""

    records: list[Record]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        following = self.offset + len(self.records)
        return following if following < self.total else None


# --- the policy ---------------------------------------------------------------------------------------------
def check_read(user: User | None, layer: str) -> None:
    """Refuse reading ``layer`` record by record: ``auth.required`` (401) for the public on a layer about
    persons, ``auth.forbidden`` (403) for a role that sees it only as aggregates."""
    record_type(layer)
    if user is None:
        if layer in PERSON_LAYERS:
            users.require(None, "read", layer)
        return
    users.require(user, "read", layer)


def redact(user: User | None, layer: str, record: Record) -> Record:
    """``record`` without the fields ``user`` may not read (a copy; the record itself is left alone)."""
    hidden = hidden_fields(user, layer)
    return {k: v for k, v in record.items() if k not in hidden} if hidden else dict(record)


def hidden_fields(user: User | None, layer: str) -> frozenset[str]:
    """The personal fields of ``layer`` that ``user`` may not read."""
    if users.can(user, "read_personal", layer):
        return frozenset()
    return frozenset(record_type(layer).personal_fields)


# --- scopes -----------------------------------------------------------------------------------------------
def _scope(ws: Workspace, user: User | None) -> AreaScope | None:
    return users.area_scope(ws, user) if user is not None else None


def in_scope(ws: Workspace, layer: str, records: list[Record], scope: AreaScope) -> list[bool]:
    """Which ``records`` of ``layer`` lie in ``scope`` (see the module's rules)."""
    if layer in _SEEN_THROUGH:
        link, parent = _SEEN_THROUGH[layer]
        uuids = sorted({r[link] for r in records if r.get(link)})
        parents = ws.store.query(parent, where={"uuid": uuids}, include_retired=True) if uuids else []
        seen = {p["uuid"] for p, ok in zip(parents, in_scope(ws, parent, parents, scope), strict=True) if ok}
        return [r.get(link) in seen for r in records]
    rt = record_type(layer)
    if not rt.has_field("admin2_code") and not rt.is_spatial:
        return [True] * len(records)  # reference records (organisations, teams' rosters) belong to no area
    out = []
    for r in records:
        code = r.get("admin2_code")
        out.append(scope.covers_code(code) if code else scope.covers(r.get("geometry")))
    return out


def _where(ws: Workspace, user: User | None, layer: str, flt: RecordFilter) -> Where:
    rt = record_type(layer)
    where: dict[str, Any] = {}
    if flt.date_from is not None or flt.date_to is not None:
        if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
            raise ValidationError("records.bad_dates", f"date_from {flt.date_from} is after date_to {flt.date_to}.",
                                  hint="Give the earlier date as date_from.")
        where[rt.event_date or "info_date"] = ("between", (flt.date_from, flt.date_to))
    if flt.status:
        if not rt.has_field("status"):
            raise ValidationError("records.no_status", f"Layer '{layer}' has no status field to filter on.",
                                  hint="Drop the status filter for this layer.")
        where["status"] = list(flt.status)
    states = list(flt.review_state)
    if user is None:
        states = [s for s in states if s in PUBLIC_STATES] if states else list(PUBLIC_STATES)
        if not states:
            states = ["∅"]  # asked only for states the public may not read: nothing matches
    if states:
        where["review_state"] = states
    return where


# --- reading ----------------------------------------------------------------------------------------------
def find_records(ws: Workspace, user: User | None, layer: str, flt: RecordFilter | None = None, *,
                 limit: int = 100, offset: int = 0, geometry: bool = True) -> Page:
    """One page of the records of ``layer`` that ``user`` may read and ``flt`` selects, oldest first.

    Raises ``records.bad_limit`` for a limit outside 1..1000 or a negative offset, and the policy's 401/403
    for a layer the user may not read record by record."""
    flt = flt or RecordFilter()
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValidationError("records.bad_limit", f"limit must be 1 to {MAX_LIMIT} and offset 0 or more.",
                              hint="Page through with offset, at most 1000 records at a time.")
    check_read(user, layer)
    rt = record_type(layer)
    if flt.bbox is not None and not rt.is_spatial:
        raise ValidationError("query.not_spatial", f"Layer '{layer}' has no geometry.",
                              hint="Drop the bounding box for this layer.")
    where = _where(ws, user, layer, flt)
    scopes = [s for s in (_scope(ws, user), admin_filter(ws, flt.admin)) if s is not None]
    if not scopes:
        total = ws.store.count(layer, where=where, include_retired=flt.include_retired, bbox=flt.bbox)
        rows = ws.store.query(layer, where=where, bbox=flt.bbox, include_retired=flt.include_retired,
                              limit=limit, offset=offset, geometry=geometry)
        return Page([redact(user, layer, r) for r in rows], total, limit, offset)
    rows = ws.store.query(layer, where=where, bbox=flt.bbox, include_retired=flt.include_retired)
    for scope in scopes:
        rows = [r for r, ok in zip(rows, in_scope(ws, layer, rows, scope), strict=True) if ok]
    shown = rows[offset:offset + limit]
    if not geometry:
        shown = [{k: v for k, v in r.items() if k != "geometry"} for r in shown]
    return Page([redact(user, layer, r) for r in shown], len(rows), limit, offset)


def admin_filter(ws: Workspace, codes: Sequence[str]) -> AreaScope | None:
    """The scope of the admin areas ``codes`` name (their sub-areas included); ``records.unknown_admin``
    for a code no stored admin area has."""
    if not codes:
        return None
    known = {a["code"] for a in ws.store.query("admin_area", where={"code": list(codes)}, geometry=False,
                                               fields=["code"])}
    missing = sorted(set(codes) - known)
    if missing:
        raise ValidationError("records.unknown_admin", f"No admin area with code {', '.join(missing)}.",
                              hint="Use the P-codes of imported admin areas (GET /api/records/admin_area).")
    return users.admin_scope(ws, codes)


def get_record(ws: Workspace, user: User | None, layer: str, ref_or_uuid: str) -> Record:
    """One record of ``layer`` by ref or uuid (retired ones too), as ``user`` may read it.

    ``record.not_found`` (404) when it does not exist, is in another layer, or lies outside what ``user``
    may see (an unpublished record for the public, another area for a restricted user)."""
    check_read(user, layer)
    found_layer, row = find_record(ws, ref_or_uuid)
    record = ws.store.get(found_layer, row["uuid"]) if found_layer == layer else None
    visible = record is not None and (user is not None or record["review_state"] in PUBLIC_STATES)
    scope = _scope(ws, user)
    if visible and scope is not None and record is not None:
        visible = in_scope(ws, layer, [record], scope)[0]
    if not visible or record is None:
        raise NotFoundError("record.not_found", f"No {record_type(layer).title.lower()} {ref_or_uuid}.",
                            hint=f"Check the reference; list the layer with GET /api/records/{layer}.")
    return redact(user, layer, record)


def record_history(ws: Workspace, user: User | None, layer: str, ref_or_uuid: str) -> list[dict[str, Any]]:
    """The audited changes of one record, oldest first: when, who, what, and the fields that changed with
    their values before and after (personal fields removed as in :func:`redact`)."""
    record = get_record(ws, user, layer, ref_or_uuid)
    if user is None:
        raise ForbiddenError("auth.forbidden", "A record's history is for signed-in users.",
                             hint="Sign in to see who changed what.")
    hidden = hidden_fields(user, layer) | _BOOKKEEPING
    return [_history_entry(c, hidden) for c in ws.store.record_changes(layer, record["uuid"])]


def _history_entry(change: Change, hidden: frozenset[str]) -> dict[str, Any]:
    """One audit row as a history entry; a new geometry is listed as ``geometry`` without its coordinates."""
    old, new = change.before or {}, change.after or {}
    before = {k: v for k, v in old.items() if k not in hidden}
    after = {k: v for k, v in new.items() if k not in hidden}
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    entry: dict[str, Any] = {"seq": change.seq, "at": change.at, "actor": change.actor, "op": change.op,
             "import_run": change.import_run, "version": new.get("version", old.get("version")),
             "changed": changed, "before": {k: before.get(k) for k in changed},
             "after": {k: after.get(k) for k in changed}}
    if change.before is not None and change.after is not None and old.get("geom") != new.get("geom"):
        changed.append("geometry")
    return entry


def in_area(ws: Workspace, user: User, layer: str, record: Record) -> bool:
    """Whether ``record`` of ``layer`` lies in ``user``'s admin areas by the rules above (always, for a user
    without restrictions); the writing services check a new or changed record with it."""
    scope = _scope(ws, user)
    return scope is None or in_scope(ws, layer, [record], scope)[0]
