"""The records API: ``/api/records/{layer}``: list with filters and paging, create, read, change, retire,
review, history and attachments of every record type.

Thin handlers over the services: reads through :mod:`safeground.services.record_access` (public = published
records only, personal fields removed by role, area restrictions answered as 404), writes through
:mod:`safeground.services.record_editing` (the policy, the user's areas and the version the change was based
on: stale is 409) and attachments through :mod:`safeground.services.attachment_access`. ``{layer}`` is a
layer name (``GET /api/layers``); ``{ref_or_uuid}`` a reference such as ``HA-000123`` or a uuid.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile

from safeground.domain.errors import ValidationError
from safeground.services import attachment_access, record_access, record_editing
from safeground.store.base import Record
from safeground.web.auth import MaybeUser, SignedIn, WorkspaceDep
from safeground.web.schemas import (
    AttachmentList,
    AttachmentOut,
    RecordCreate,
    RecordHistory,
    RecordOut,
    RecordPage,
    RecordUpdate,
    ReviewStep,
    record_document,
)

router = APIRouter(prefix="/api/records", tags=["records"])

#: Records per page unless ``limit`` says otherwise.
DEFAULT_LIMIT = 100

Listed = Annotated[list[str] | None, Query(description="Repeat the parameter or separate values with commas.")]


def _parse_bbox(text: str | None) -> record_access.Bbox | None:
    if text is None:
        return None
    try:
        minx, miny, maxx, maxy = (float(v) for v in text.split(","))
    except ValueError:
        minx = miny = maxx = maxy = math.nan
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)) or minx > maxx or miny > maxy:
        raise ValidationError("records.bad_bbox", f"bbox={text!r} is not minx,miny,maxx,maxy.",
                              hint="Give four numbers, WGS84 longitude and latitude, west,south,east,north: "
                                   "bbox=-73,4.5,-72,5.5.")
    return minx, miny, maxx, maxy


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(v.strip() for value in values or () for v in value.split(",") if v.strip())


def _record(record: Record) -> RecordOut:
    return RecordOut.model_validate(record_document(record))


def _attachment(request: Request, layer: str, ref: str, meta: Record) -> AttachmentOut:
    href = request.url_for("download_record_attachment", layer=layer, ref_or_uuid=ref, name=meta["uuid"])
    return AttachmentOut(uuid=meta["uuid"], name=meta["file_name"], content_type=meta["content_type"],
                         size=meta["size"], sha256=meta["sha256"], personal=bool(meta["personal"]),
                         created_at=meta["created_at"], created_by=meta["created_by"], href=str(href))


# --- reading ----------------------------------------------------------------------------------------------
@router.get("/{layer}")
def list_records(request: Request, layer: str, ws: WorkspaceDep, user: MaybeUser,
                 bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in WGS84 longitude, "
                                                   "latitude.", examples=["-73,4.5,-72,5.5"])] = None,
                 date_from: Annotated[dt.date | None, Query(description="First event date included.")] = None,
                 date_to: Annotated[dt.date | None, Query(description="Last event date included.")] = None,
                 status: Listed = None,
                 admin: Annotated[list[str] | None, Query(description="Admin area codes (P-codes), their "
                                                          "sub-areas included.")] = None,
                 review_state: Listed = None,
                 include_retired: bool = False,
                 limit: Annotated[int, Query(ge=1, le=record_access.MAX_LIMIT)] = DEFAULT_LIMIT,
                 offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0) -> RecordPage:
    """One page of a layer's records that the caller may read and the filters select, oldest first, with the
    URL of the next page. Nobody signed in reads only published records of layers not about persons."""
    flt = record_access.RecordFilter(bbox=_parse_bbox(bbox), date_from=date_from, date_to=date_to,
                                     status=_split(status), admin=_split(admin), review_state=_split(review_state),
                                     include_retired=include_retired)
    page = record_access.find_records(ws, user, layer, flt, limit=limit, offset=offset)
    following = page.next_offset
    next_url = str(request.url.include_query_params(offset=following)) if following is not None else None
    return RecordPage(records=[_record(r) for r in page.records], total=page.total, limit=page.limit,
                      offset=page.offset, next=next_url)


@router.get("/{layer}/{ref_or_uuid}")
def get_record(layer: str, ref_or_uuid: str, ws: WorkspaceDep, user: MaybeUser) -> RecordOut:
    """One record by reference or uuid (retired ones too), as the caller may read it."""
    return _record(record_access.get_record(ws, user, layer, ref_or_uuid))


@router.get("/{layer}/{ref_or_uuid}/history")
def record_history(layer: str, ref_or_uuid: str, ws: WorkspaceDep, user: SignedIn) -> RecordHistory:
    """A record's audited changes, oldest first: when, who, what, and each changed field before and after
    (personal fields left out for roles that may not read them)."""
    record = record_access.get_record(ws, user, layer, ref_or_uuid)
    entries = record_access.record_history(ws, user, layer, record["uuid"])
    return RecordHistory.model_validate({"layer": layer, "ref": record["ref"], "uuid": record["uuid"],
                                         "history": entries})


# --- writing ----------------------------------------------------------------------------------------------
@router.post("/{layer}", status_code=201)
def create_record(request: Request, response: Response, layer: str, body: RecordCreate, ws: WorkspaceDep,
                  user: SignedIn) -> RecordOut:
    """Create a record (data entry and up); it starts *submitted*, awaiting QA."""
    record = record_editing.create(ws, user, layer, body.values())
    response.headers["Location"] = str(request.url_for("get_record", layer=layer, ref_or_uuid=record["ref"]))
    return _record(record)


@router.patch("/{layer}/{ref_or_uuid}")
def update_record(layer: str, ref_or_uuid: str, body: RecordUpdate, ws: WorkspaceDep, user: SignedIn) -> RecordOut:
    """Change a record's fields, based on the version read (stale: 409, nothing changed). Data entry may
    change only submitted records."""
    return _record(record_editing.update(ws, user, layer, ref_or_uuid, body.values(), version=body.version))


@router.delete("/{layer}/{ref_or_uuid}")
def retire_record(layer: str, ref_or_uuid: str, ws: WorkspaceDep, user: SignedIn,
                  reason: Annotated[str, Query(min_length=1, max_length=1000, description="Why it is retired.")],
                  version: Annotated[int, Query(ge=1, description="The version the retirement is based on.")],
                  ) -> RecordOut:
    """Retire a record with a reason (QA and up); nothing is deleted, and it stays readable by reference."""
    return _record(record_editing.retire(ws, user, layer, ref_or_uuid, reason, version=version))


@router.post("/{layer}/{ref_or_uuid}/review")
def review_record(layer: str, ref_or_uuid: str, body: ReviewStep, ws: WorkspaceDep, user: SignedIn) -> RecordOut:
    """Move a record along the review workflow (QA and up): submitted → approved → published, approved →
    submitted (returned), published → approved (withdrawn)."""
    return _record(record_editing.review(ws, user, layer, ref_or_uuid, body.state, version=body.version))


# --- attachments ------------------------------------------------------------------------------------------
@router.get("/{layer}/{ref_or_uuid}/attachments")
def list_record_attachments(request: Request, layer: str, ref_or_uuid: str, ws: WorkspaceDep,
                            user: SignedIn) -> AttachmentList:
    """A record's attachments: name, size, content type, when and by whom (personal ones only for roles that
    read personal fields)."""
    record, items = attachment_access.visible(ws, user, layer, ref_or_uuid)
    return AttachmentList(ref=record["ref"], attachments=[_attachment(request, layer, record["ref"], a)
                                                          for a in items])


@router.post("/{layer}/{ref_or_uuid}/attachments", status_code=201)
def upload_record_attachment(request: Request, response: Response, layer: str, ref_or_uuid: str,
                             file: Annotated[UploadFile, File(description="The file (multipart/form-data).")],
                             ws: WorkspaceDep, user: SignedIn,
                             personal: Annotated[bool | None, Form(description="Mark it personal (default: "
                                                 "whether the layer is about persons).")] = None,
                             ) -> AttachmentOut:
    """Attach a file to a record the caller may change (at most ``attachments.max_mb``: larger is 413)."""
    record, meta = attachment_access.upload(ws, user, layer, ref_or_uuid, file.filename or "", file.file,
                                            content_type=file.content_type, personal=personal)
    out = _attachment(request, layer, record["ref"], meta)
    response.headers["Location"] = out.href
    return out


@router.get("/{layer}/{ref_or_uuid}/attachments/{name}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}},
                             "description": "The file, with its content type."}})
def download_record_attachment(layer: str, ref_or_uuid: str, name: str,
                               ws: WorkspaceDep, user: SignedIn) -> Response:
    """One attachment's bytes, by file name (the newest of that name) or uuid."""
    meta, data = attachment_access.download(ws, user, layer, ref_or_uuid, name)
    return Response(data, media_type=meta["content_type"],
                    headers={"Content-Disposition": content_disposition(meta["file_name"]),
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-cache"})


def content_disposition(file_name: str) -> str:
    """A download's ``Content-Disposition`` (RFC 6266): an ASCII ``filename`` for old clients, the exact name
    as ``filename*``.

    >>> print(content_disposition('plan "B" señal.pdf'))
    attachment; filename="plan _B_ se_al.pdf"; filename*=UTF-8''plan%20%22B%22%20se%C3%B1al.pdf
    """
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in file_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name)}"
