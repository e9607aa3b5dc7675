"""A record's attachments as a given person may list, add and fetch them.

Over :mod:`safeground.services.attachments` and the records policy: the record must be one the person may
read (:func:`~safeground.services.record_access.get_record`: 404 otherwise); adding a file changes the record,
so it needs the right to update it in its review state (data entry: submitted records only). A *personal*
attachment (to a casualty or a referral, or marked personal) is listed and fetched only by roles that read
personal fields; to anyone else it does not exist. Files larger than ``attachments.max_mb`` are refused with
``attachment.too_large`` before they are stored (413 over HTTP), reading at most one byte past the limit.

>>> import io, os, tempfile
>>> from safeground.domain.users import User
>>> from safeground.domain.roles import Role
>>> from safeground.services.records import add_record
>>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "a.gpkg"), user="ana", create=True)
>>> ana = User(uuid="1", username="ana", display_name=None, role=Role.QA, areas=(), created_at="t")
>>> _ = add_record(ws, "organisation", {"name": "Demining NGO"})
>>> _, att = upload(ws, ana, "organisation", "OR-000001", "accreditation.pdf", io.BytesIO(b"%PDF-1.4"))
>>> att["file_name"], att["content_type"], att["size"]
('accreditation.pdf', 'application/pdf', 8)
>>> meta, data = download(ws, ana, "organisation", "OR-000001", "accreditation.pdf")
>>> data
b'%PDF-1.4'
>>> ws.close()
"""

from __future__ import annotations

from typing import BinaryIO

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.domain.users import User
from safeground.services import attachments, record_access, users
from safeground.services.workspace import Workspace
from safeground.store.base import Record

#: The HTTP status of a file over the size limit (RFC 9110 §15.5.14, Content Too Large).
TOO_LARGE = 413


def visible(ws: Workspace, user: User, layer: str, ref_or_uuid: str) -> tuple[Record, list[Record]]:
    """The record (as ``user`` may read it) and the attachments ``user`` may see, oldest first."""
    record = record_access.get_record(ws, user, layer, ref_or_uuid)
    _layer, _record, items = attachments.list_attachments(ws, record["uuid"])
    personal = users.can(user, "read_personal", layer)
    return record, [a for a in items if personal or not a["personal"]]


def upload(ws: Workspace, user: User, layer: str, ref_or_uuid: str, file_name: str, stream: BinaryIO, *,
           content_type: str | None = None, personal: bool | None = None) -> tuple[Record, Record]:
    """Attach the bytes of ``stream`` as ``file_name`` to a record ``user`` may update: the record (as
    ``user`` may read it) and the attachment's description."""
    record = record_access.get_record(ws, user, layer, ref_or_uuid)
    users.require(user, "update", layer, review_state=record["review_state"])
    limit = ws.config.attachments.max_mb
    data = stream.read(int(limit * 1_000_000) + 1)
    if len(data) > limit * 1_000_000:
        raise ValidationError("attachment.too_large", f"{file_name} is larger than {limit:g} MB, the most an "
                              "attachment may be.", status=TOO_LARGE,
                              hint="Shrink or scan it at a lower resolution, or ask an administrator to raise "
                                   "attachments.max_mb.", details={"file": file_name, "max_mb": limit})
    return record, attachments.attach_bytes(ws, layer, record["uuid"], file_name, data,
                                            content_type=content_type, personal=personal, source="upload")


def download(ws: Workspace, user: User, layer: str, ref_or_uuid: str, name: str) -> tuple[Record, bytes]:
    """An attachment ``user`` may see, by file name (the newest of that name) or uuid, and its bytes."""
    record, items = visible(ws, user, layer, ref_or_uuid)
    found = [a for a in items if name in (a["file_name"], a["uuid"])]
    if not found:
        raise NotFoundError("attachment.not_found", f"{record['ref']} has no attachment '{name}'.",
                            hint=f"List them with GET /api/records/{layer}/{record['ref']}/attachments.")
    meta = max(found, key=lambda a: (a["created_at"], a["uuid"]))
    return meta, ws.store.attachment_data(meta["uuid"])
