"""Photos, scanned minefield records and sketches attached to records, kept inside the database file.

A record is named by its ref (``HA-000123``) or uuid. Attachments to a layer with personal fields
(casualties, victim-assistance referrals) are personal: they never leave in an export unless
personal data is asked for. Files larger than ``attachments.max_mb`` are refused. Nothing is
deleted: an attachment is retired with a reason.

>>> import tempfile, os, pathlib
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> ws = Workspace.open(tmp / "a.gpkg", user="ana", create=True)
>>> from safeground.services.records import add_record
>>> org = add_record(ws, "organisation", {"name": "Demining NGO"})
>>> _ = (tmp / "accreditation.pdf").write_bytes(b"%PDF-1.4 ...")
>>> att = attach(ws, "OR-000001", tmp / "accreditation.pdf")
>>> att["file_name"], att["content_type"], att["size"], att["personal"]
('accreditation.pdf', 'application/pdf', 12, False)
>>> [p.name for p in extract(ws, "OR-000001", tmp / "out")]
['accreditation.pdf']
>>> ws.close()
"""

from __future__ import annotations

import mimetypes
import re
import uuid as uuidlib
from pathlib import Path

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.domain.records import RECORD_TYPES, record_type
from safeground.services.workspace import Workspace
from safeground.store.base import Record

_REF = re.compile(r"^([A-Z]{2,3})-(\d+)$")


def find_record(ws: Workspace, ref_or_uuid: str) -> tuple[str, Record]:
    """The layer and record named by a ref (``HA-000123``) or a uuid, retired ones included."""
    text = ref_or_uuid.strip()
    m = _REF.match(text.upper())
    if m:
        layers = [rt.layer for rt in RECORD_TYPES.values() if rt.prefix == m.group(1)]
        where = {"ref": text.upper()}
    else:
        try:
            text = str(uuidlib.UUID(text))
        except ValueError:
            raise ValidationError("record.bad_reference", f"'{ref_or_uuid}' is neither a reference nor a uuid.",
                                  hint="Give a reference such as HA-000123, or a record's uuid.") from None
        layers = list(RECORD_TYPES)
        where = {"uuid": text}
    for layer in layers:
        rows = ws.store.query(layer, where=where, include_retired=True, geometry=False)
        if rows:
            return layer, rows[0]
    raise NotFoundError("record.not_found", f"No record {ref_or_uuid}.",
                        hint="Check the reference; 'safeground export' lists a layer's refs.")


def is_personal_layer(layer: str) -> bool:
    """Attachments to a layer that declares personal fields are personal (a casualty's photo)."""
    return bool(record_type(layer).personal_fields)


def attach_bytes(ws: Workspace, layer: str, record_uuid: str, file_name: str, data: bytes, *,
                 content_type: str | None = None, personal: bool | None = None, source: str | None = None) -> Record:
    """Attach ``data`` as ``file_name`` to the record; refuse files over ``attachments.max_mb``."""
    name = Path(file_name.replace("\\", "/")).name
    if not name:
        raise ValidationError("attachment.bad_name", f"'{file_name}' is not a file name.",
                              hint="Give the attachment a file name such as photo.jpg.")
    limit = ws.config.attachments.max_mb
    if len(data) > limit * 1_000_000:
        raise ValidationError("attachment.too_large",
                              f"{name} is {len(data) / 1_000_000:.1f} MB; attachments may be at most {limit:g} MB.",
                              hint="Shrink or scan it at a lower resolution, or raise attachments.max_mb "
                                   "with 'safeground init --config'.", details={"file": name, "bytes": len(data)})
    kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return ws.store.add_attachment(layer, record_uuid, name, kind, data, user=ws.user,
                                   personal=is_personal_layer(layer) if personal is None else personal, source=source)


def attach(ws: Workspace, ref_or_uuid: str, path: str | Path, *, personal: bool | None = None) -> Record:
    """Attach the file at ``path`` to the record named by ``ref_or_uuid``."""
    p = Path(path)
    if not p.is_file():
        raise NotFoundError("io.file_not_found", f"File {p} does not exist.", hint="Check the path.")
    layer, record = find_record(ws, ref_or_uuid)
    return attach_bytes(ws, layer, record["uuid"], p.name, p.read_bytes(), personal=personal, source=p.name)


def list_attachments(ws: Workspace, ref_or_uuid: str, *, include_retired: bool = False) -> tuple[str, Record,
                                                                                                   list[Record]]:
    """The record named by ``ref_or_uuid`` and its attachments (metadata only)."""
    layer, record = find_record(ws, ref_or_uuid)
    return layer, record, ws.store.attachments(layer=layer, record_uuids=[record["uuid"]],
                                               include_retired=include_retired)


def extract(ws: Workspace, ref_or_uuid: str, out: str | Path, *, name: str | None = None) -> list[Path]:
    """Write the record's attachments (or the one called ``name``) into the folder ``out``; never overwrite."""
    _layer, record, items = list_attachments(ws, ref_or_uuid)
    if name is not None:
        items = [a for a in items if name in (a["file_name"], a["uuid"])]
        if not items:
            raise NotFoundError("attachment.not_found", f"{record['ref']} has no attachment '{name}'.",
                                hint=f"List them with 'safeground attachments {record['ref']}'.")
    folder = Path(out)
    targets = [folder / a["file_name"] for a in items]
    clash = next((t for t in targets if t.exists()), None)
    if clash is not None:
        raise ValidationError("export.target_exists", f"{clash} exists already.",
                              hint="Extract into an empty folder.")
    folder.mkdir(parents=True, exist_ok=True)
    for a, t in zip(items, targets, strict=True):
        t.write_bytes(ws.store.attachment_data(a["uuid"]))
    return targets


def retire_attachment(ws: Workspace, ref_or_uuid: str, name: str, reason: str) -> Record:
    """Retire the record's attachment called ``name`` (file name or uuid), with a reason."""
    _layer, record, items = list_attachments(ws, ref_or_uuid)
    found = [a for a in items if name in (a["file_name"], a["uuid"])]
    if len(found) != 1:
        raise NotFoundError("attachment.not_found", f"{record['ref']} has {len(found)} attachments named '{name}'.",
                            hint=f"Give the attachment's uuid; 'safeground attachments {record['ref']}' lists them.")
    return ws.store.retire_attachment(found[0]["uuid"], reason, user=ws.user)
