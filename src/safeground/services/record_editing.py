"""Writing records as a given person may: the policy, their admin areas and the version they read.

The REST API's writes go through here, over the records service (:mod:`safeground.services.records`, which
validates and applies the IMAS rules); the policy is :func:`safeground.services.users.require`:

- **create**: data entry and up; the record is stored *submitted*;
- **update**: data entry only while the record is *submitted*, QA and up whatever its state;
- **retire** (with a reason) and **review** (submitted → approved → published, and back as the transition
  table allows): QA and up.

A record the person may not read (another area, a layer they see only as aggregates) is refused as
:func:`~safeground.services.record_access.get_record` refuses it. A user restricted to admin areas may write
only records that lie in them: a new or changed record that would fall outside is ``records.outside_area``
(403), and nothing is written (the check runs in the write's transaction). Every change names the version it
was based on: a stale one is ``store.version_conflict`` (409), never an overwrite. Answers are redacted as
reads are, so a personal field the person may not read is never echoed back.

>>> import os, tempfile, shapely
>>> from safeground.domain.users import User
>>> from safeground.domain.roles import Role
>>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "e.gpkg"), user="eva", create=True)
>>> eva = User(uuid="1", username="eva", display_name=None, role=Role.DATA_ENTRY, areas=(), created_at="t")
>>> ha = create(ws, eva, "hazard_area", {"name": "North field", "hazard_class": "sha", "status": "open",
...                                      "geometry": shapely.box(-72.50, 5.00, -72.49, 5.01)})
>>> ha["ref"], ha["review_state"], ha["version"]
('HA-000001', 'submitted', 1)
>>> update(ws, eva, "hazard_area", "HA-000001", {"marking": "fenced"}, version=1)["version"]
2
>>> update(ws, eva, "hazard_area", "HA-000001", {"marking": "temporary"}, version=1)
Traceback (most recent call last):
...
safeground.domain.errors.ConflictError: HA-000001 was changed by eva at ... (version 2); your edit was based on version 1.
>>> ws.close()
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from safeground.domain.errors import ForbiddenError, ValidationError
from safeground.domain.fields import FieldType
from safeground.domain.records import record_type
from safeground.domain.users import User
from safeground.services import record_access, records, users
from safeground.services.workspace import Workspace
from safeground.store.base import Record


def _outside(user: User, layer: str, what: str) -> ForbiddenError:
    link = {"casualty": "its accident", "assistance_referral": "its casualty's accident"}.get(layer)
    where = link or ("its admin2_code or geometry" if record_type(layer).is_spatial else "its admin2_code")
    return ForbiddenError("records.outside_area",
                          f"{what} would lie outside your admin areas "
                          f"({', '.join(user.areas)}).",
                          hint=f"Place the record in your areas by {where}, or ask a colleague who works there.",
                          details={"areas": list(user.areas), "layer": layer})


def _check_area(ws: Workspace, user: User, layer: str, record: Record, what: str) -> None:
    if not record_access.in_area(ws, user, layer, record):
        raise _outside(user, layer, what)


_SCALARS = (str, int, float, bool)


def _known(layer: str, values: Mapping[str, Any]) -> Mapping[str, Any]:
    """``values`` once every name is a field of ``layer`` (or ``geometry``) and every value a plain value (a list
    of them for multiple choices and links): a misspelt field is bad input (``record.unknown_field``, 422),
    never silently dropped."""
    rt = record_type(layer)
    unknown = sorted(k for k in values if k != "geometry" and not rt.has_field(k))
    if unknown:
        raise ValidationError("record.unknown_field", f"Layer '{layer}' has no field {', '.join(map(repr, unknown))}.",
                              hint=f"See the layer's fields with GET /api/layers/{layer}.",
                              details={"fields": unknown})
    for name, value in values.items():
        many = isinstance(value, list) and rt.field(name).type in (FieldType.CHOICES, FieldType.LINKS)
        if name != "geometry" and not (value is None or isinstance(value, _SCALARS)
                                       or (many and all(isinstance(v, str) for v in value))):
            raise ValidationError("record.bad_value", f"Field '{name}' of {layer} takes a single value, not "
                                  f"{type(value).__name__} {str(value)[:40]}.",
                                  hint="Give a text, a number, true/false or null (a list of codes for multiple "
                                       "choices).", details={"field": name})
    return values


def _writable(ws: Workspace, user: User, layer: str, ref_or_uuid: str, action: str) -> Record:
    """The current record, once ``user`` may read it and do ``action`` on it in its review state."""
    current = record_access.get_record(ws, user, layer, ref_or_uuid)
    users.require(user, action, layer, review_state=current["review_state"])
    if current.get("retired_at"):
        raise ValidationError("record.retired", f"{current['ref']} is retired and cannot be changed.",
                              hint="Create a new record instead.")
    return current


def create(ws: Workspace, user: User, layer: str, values: Mapping[str, Any]) -> Record:
    """Add a *submitted* record of ``layer`` with ``values`` (``geometry`` a shapely geometry) as ``user``."""
    users.require(user, "create", layer)
    with ws.store.transaction():
        record = records.add_record(ws, layer, _known(layer, values))
        _check_area(ws, user, layer, record, f"The new {record_type(layer).title.lower()}")
    return record_access.redact(user, layer, record)


def update(ws: Workspace, user: User, layer: str, ref_or_uuid: str, changes: Mapping[str, Any], *,
           version: int) -> Record:
    """Change fields (and ``geometry``) of a record, based on ``version``."""
    current = _writable(ws, user, layer, ref_or_uuid, "update")
    with ws.store.transaction():
        record = records.update_record(ws, layer, current["uuid"], _known(layer, changes),
                                        expected_version=version)
        _check_area(ws, user, layer, record, f"{current['ref']} as changed")
    return record_access.redact(user, layer, record)


def retire(ws: Workspace, user: User, layer: str, ref_or_uuid: str, reason: str, *, version: int) -> Record:
    """Retire a record with a reason (nothing is deleted), based on ``version``."""
    current = _writable(ws, user, layer, ref_or_uuid, "retire")
    record = records.retire_record(ws, layer, current["uuid"], reason, expected_version=version)
    return record_access.redact(user, layer, record)


def review(ws: Workspace, user: User, layer: str, ref_or_uuid: str, state: str, *, version: int) -> Record:
    """Move a record to review ``state`` as the transition table allows, based on ``version``."""
    current = _writable(ws, user, layer, ref_or_uuid, "review")
    record = records.set_review_state(ws, layer, current["uuid"], state, expected_version=version)
    return record_access.redact(user, layer, record)
