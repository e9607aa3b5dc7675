"""Create, update, retire and review records: the one door every write goes through.

Each use case validates against the declarations, applies the IMAS rules for the layer (see
:mod:`safeground.services.release`) and writes in one transaction, so a refusal leaves the
database unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from safeground.domain import transitions
from safeground.domain.errors import SafeGroundError, ValidationError
from safeground.domain.records import RecordType, record_type
from safeground.domain.uuids import time_ordered
from safeground.geo.measure import areas_m2
from safeground.geo.validity import Repair
from safeground.services import validation
from safeground.services.workspace import Workspace
from safeground.store.base import Batch, Record

#: Managed fields a trusted system use case (demo generator, migration) may supply.
SYSTEM_FIELDS = frozenset({"report_approved_on"})


@dataclass
class AddResult:
    """What :func:`add_records` stored, and what it had to repair."""

    layer: str
    uuids: list[str]
    repairs: list[Repair] = field(default_factory=list)


@dataclass
class Prepared:
    """A validated batch, with derived columns, ready for the store."""

    rt: RecordType
    columns: dict[str, list[Any]]
    geometry: np.ndarray | None
    uuids: list[str]
    repairs: list[Repair]
    rows: list[int] = field(default_factory=list)  # positions in the batch given to prepare() that were kept


Hook = Callable[[Workspace, Prepared], None]
#: Layer-specific rules run on a prepared batch before it is written (they may add derived columns).
BEFORE_INSERT: dict[str, list[Hook]] = {}
#: Layer-specific follow-ups run after the batch is written, in the same transaction.
AFTER_INSERT: dict[str, list[Hook]] = {}


def prepare(ws: Workspace, layer: str, batch: Batch, *, offset: int = 0, repair: bool | None = None,
            system: bool = False, errors: dict[int, SafeGroundError] | None = None) -> Prepared:
    """Validate ``batch`` for ``layer`` without writing; raises on the first problem.

    With ``errors``, problems of single rows are recorded there (by batch position, the first problem of
    each row) and those rows are left out of the result (``Prepared.rows`` says which are kept): one pass,
    however many rows are bad. Problems of the whole batch, and the layer's rules, still raise.
    """
    rt = record_type(layer)
    n = len(batch)
    allow = SYSTEM_FIELDS | {"review_state"} if system else frozenset()
    columns = validation.check_fields(rt, Batch({k: v for k, v in batch.columns.items() if k != "uuid"},
                                                batch.geometry),  # the geometry keeps the row count
                                      offset=offset, allow_managed=allow, errors=errors)
    uuids = [str(u) for u in batch.columns["uuid"]] if "uuid" in batch.columns else time_ordered(n)
    validation.check_links(ws, rt, columns, offset=offset, batch_uuids=uuids, errors=errors)
    if rt.event_date and rt.event_date in columns:
        # The information became known no earlier than the event: never default it to the import date.
        info = columns.get("info_date", [None] * n)
        columns["info_date"] = [i if i is not None else e for i, e in zip(info, columns[rt.event_date], strict=True)]
    geoms, repairs = validation.check_geometry(ws, rt, batch.geometry, n, offset=offset, repair=repair,
                                               errors=errors)
    rows = list(range(n))
    if errors:
        rows = [i for i in rows if i not in errors]
        columns = {name: [col[i] for i in rows] for name, col in columns.items()}
        uuids = [uuids[i] for i in rows]
        geoms = geoms[rows] if geoms is not None else None
        repairs = [r for r in repairs if r.index - offset not in errors]
    if rt.is_polygonal and rt.has_field("area_m2") and geoms is not None:
        columns["area_m2"] = areas_m2(geoms).round(2).tolist()
    prepared = Prepared(rt, columns, geoms, uuids, repairs, rows)
    for hook in BEFORE_INSERT.get(layer, []):
        hook(ws, prepared)
    return prepared


def add_records(ws: Workspace, layer: str, batch: Batch, *, review_state: str = "submitted",
                import_run: str | None = None, repair: bool | None = None, offset: int = 0,
                system: bool = False) -> AddResult:
    """Validate and store new records of ``layer``, all or nothing.

    ``review_state`` is ``submitted`` unless the source is official (``approved``). ``system``
    lets trusted use cases (the demo generator) supply :data:`SYSTEM_FIELDS` and a ``review_state``
    column (one state per row), so that a whole layer goes to the store in one bulk insert.
    """
    if review_state not in ("submitted", "approved", "published"):
        raise ValidationError("record.bad_review_state", f"Unknown review state '{review_state}'.",
                              hint="Use submitted, approved or published.")
    with ws.store.transaction():
        prepared = prepare(ws, layer, batch, offset=offset, repair=repair, system=system)
        write_prepared(ws, prepared, review_state=review_state, import_run=import_run)
    return AddResult(layer, prepared.uuids, prepared.repairs)


def write_prepared(ws: Workspace, prepared: Prepared, *, review_state: str = "submitted",
                   import_run: str | None = None) -> None:
    """Store a batch that :func:`prepare` accepted, and run the layer's follow-up rules."""
    with ws.store.transaction():
        cols: dict[str, Any] = dict(prepared.columns)
        cols["uuid"] = prepared.uuids
        ws.store.insert(prepared.rt.layer, Batch(cols, prepared.geometry), user=ws.user, import_run=import_run,
                        review_state=review_state)
        for hook in AFTER_INSERT.get(prepared.rt.layer, []):
            hook(ws, prepared)


def add_record(ws: Workspace, layer: str, values: Mapping[str, Any], **kwargs: Any) -> Record:
    """Add one record (``values`` may hold ``geometry``) and return it as stored.

    >>> import tempfile, os, shapely
    >>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "r.gpkg"), user="ana", create=True)
    >>> org = add_record(ws, "organisation", {"name": "Demining NGO"})
    >>> org["ref"], org["version"], org["review_state"], org["created_by"]
    ('OR-000001', 1, 'submitted', 'ana')
    >>> ws.close()
    """
    result = add_records(ws, layer, Batch.from_records([values]), **kwargs)
    return ws.store.get(layer, result.uuids[0])


def update_record(ws: Workspace, layer: str, uuid: str, changes: Mapping[str, Any], *,
                  expected_version: int | None = None, repair: bool | None = None) -> Record:
    """Change fields (and ``geometry``) of one record, checking transitions and rules.

    A stale ``expected_version`` is refused with ``store.version_conflict``.
    """
    rt = record_type(layer)
    values = {k: v for k, v in changes.items() if k != "geometry"}
    cols = validation.check_fields(rt, Batch({k: [v] for k, v in values.items()}), partial=True)
    clean: dict[str, Any] = {k: v[0] for k, v in cols.items()}
    validation.check_links(ws, rt, {k: [v] for k, v in clean.items()})
    with ws.store.transaction():
        current = ws.store.get(layer, uuid)
        if current.get("retired_at"):
            raise ValidationError("record.retired", f"{current['ref']} is retired and cannot be changed.",
                                  hint="Create a new record instead.")
        for table_field, table in _TRANSITION_FIELDS.get(layer, {}).items():
            if table_field in clean:
                transitions.check_transition(table, current.get(table_field), clean[table_field])
        if "geometry" in changes:
            geoms, _ = validation.check_geometry(ws, rt, np.array([changes["geometry"]], dtype=object), 1,
                                                 repair=repair)
            assert geoms is not None
            clean["geometry"] = geoms[0]
            if rt.is_polygonal and rt.has_field("area_m2"):
                clean["area_m2"] = round(float(areas_m2(geoms)[0]), 2)
        merged = {**current, **clean}
        for hook in BEFORE_UPDATE.get(layer, []):
            hook(ws, current, merged, clean)
        record = ws.store.update(layer, uuid, clean, user=ws.user, expected_version=expected_version)
        for after in AFTER_UPDATE.get(layer, []):
            after(ws, current, record)
    return ws.store.get(layer, uuid)


UpdateHook = Callable[[Workspace, Record, Record, dict[str, Any]], None]
AfterUpdateHook = Callable[[Workspace, Record, Record], None]
BEFORE_UPDATE: dict[str, list[UpdateHook]] = {}
AFTER_UPDATE: dict[str, list[AfterUpdateHook]] = {}

_TRANSITION_FIELDS = {
    "hazard_area": {"status": transitions.HAZARD_STATUS, "hazard_class": transitions.HAZARD_CLASS},
}


def retire_record(ws: Workspace, layer: str, uuid: str, reason: str, *,
                  expected_version: int | None = None) -> Record:
    """Retire a record with a reason; nothing is ever hard-deleted."""
    with ws.store.transaction():
        record = ws.store.retire(layer, uuid, reason, user=ws.user, expected_version=expected_version)
        for after in AFTER_UPDATE.get(layer, []):
            after(ws, {**record, "retired_at": None}, record)
    return record


def set_review_state(ws: Workspace, layer: str, uuid: str, state: str, *,
                     expected_version: int | None = None) -> Record:
    """Move a record along submitted → approved → published, as the transition table allows."""
    with ws.store.transaction():
        current = ws.store.get(layer, uuid)
        transitions.check_transition(transitions.REVIEW_STATE, current["review_state"], state)
        record = ws.store.update(layer, uuid, {"review_state": state}, user=ws.user,
                                 expected_version=expected_version)
        for after in AFTER_UPDATE.get(layer, []):
            after(ws, current, record)
    return ws.store.get(layer, uuid)


# The IMAS land-release rules register themselves as hooks on the use cases above.
from safeground.services import release as _release_rules  # noqa: E402,F401
