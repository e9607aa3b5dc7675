"""Ingest field-form submissions (ODK Central, KoBoToolbox) into records, with their photos.

Each submission becomes the form's main record and one child record per repeat item, all
``submitted`` for review, with provenance: ``source`` = the form id (``safeground_nts``),
``source_id`` = the submission's instance id (``<instance id>/<repeat>[n]`` for repeat items).
Ingesting the same submissions again (the same export, or a later one that holds them too)
updates those records instead of adding new ones. A submission is stored whole or not at all:
one that a rule refuses goes to the quarantine with its reason, and read = stored + quarantined.
A photo named by a submission but absent from the export is reported, not silently dropped.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from safeground.domain.errors import SafeGroundError, ValidationError
from safeground.domain.fields import FieldType
from safeground.domain.forms import FormSpec, Section, form
from safeground.domain.records import RECORD_TYPES
from safeground.domain.timestamps import now_iso
from safeground.io.odk import Submission, SubmissionExport, geometry_from_odk, read_submissions
from safeground.services import records, validation
from safeground.services.attachments import attach_bytes
from safeground.services.workspace import Workspace
from safeground.store.base import Batch, Record

_REF = re.compile(r"^([A-Z]{2,3})-\d+$")


@dataclass
class SubmissionReport:
    """Counts of one ingest: submissions read = stored + quarantined."""

    import_run: str
    source: str
    form: str
    format: str
    submissions_read: int = 0
    submissions_stored: int = 0
    submissions_quarantined: int = 0
    records_created: int = 0
    records_updated: int = 0
    records_unchanged: int = 0
    created_by_layer: dict[str, int] = field(default_factory=dict)
    attachments_stored: int = 0
    attachments_missing: list[str] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ingest(ws: Workspace, path: str | Path, form_name: str) -> SubmissionReport:
    """Ingest the submissions in ``path`` (ODK Central zip/CSV/JSON, KoBo CSV/JSON) of form ``form_name``."""
    spec = form(form_name)
    p = Path(path)
    export = read_submissions(p)
    run = str(uuidlib.uuid4())
    report = SubmissionReport(run, str(p), spec.name, export.format)
    started = now_iso()
    try:
        _ingest_all(ws, spec, p, export, report, run, started)
    finally:
        export.close()
    return report


def _ingest_all(ws: Workspace, spec: FormSpec, p: Path, export: SubmissionExport, report: SubmissionReport,
                run: str, started: str) -> None:
    with ws.store.transaction():
        quarantine: list[dict[str, Any]] = []
        for sub in export.submissions:
            report.submissions_read += 1
            tally = _Tally()
            try:
                with ws.store.savepoint():
                    _ingest_one(ws, spec, sub, export, run, tally)
            except SafeGroundError as err:
                quarantine.append({"import_run": run, "layer": tally.layer or spec.main.layer, "source": p.name,
                                   "source_row": sub.row, "code": err.code, "reason": err.message,
                                   "hint": err.hint, "raw": sub.raw})
                report.quarantine_reasons[err.code] = report.quarantine_reasons.get(err.code, 0) + 1
                continue
            report.submissions_stored += 1
            report.records_created += sum(tally.created.values())
            report.records_updated += tally.updated
            report.records_unchanged += tally.unchanged
            for layer, n in tally.created.items():
                report.created_by_layer[layer] = report.created_by_layer.get(layer, 0) + n
            report.attachments_stored += tally.attachments
            report.attachments_missing += tally.missing
        if quarantine:
            ws.store.write_quarantine(quarantine)
        report.submissions_quarantined = len(quarantine)
        assert report.submissions_read == report.submissions_stored + report.submissions_quarantined
        ws.store.write_import_run({
            "id": run, "layer": ",".join(sorted({spec.main.layer, *(r.layer for r in spec.repeats)})),
            "source": str(p), "format": export.format, "started_at": started, "finished_at": now_iso(),
            "user": ws.user, "rows_read": report.submissions_read, "rows_stored": report.submissions_stored,
            "rows_quarantined": report.submissions_quarantined, "status": "complete", "report": report.to_dict(),
        })


@dataclass
class _Tally:
    layer: str | None = None
    created: dict[str, int] = field(default_factory=dict)
    updated: int = 0
    unchanged: int = 0
    attachments: int = 0
    missing: list[str] = field(default_factory=list)


def _ingest_one(ws: Workspace, spec: FormSpec, sub: Submission, export: SubmissionExport, run: str,
                tally: _Tally) -> None:
    tally.layer = spec.main.layer
    if sub.rejected:
        raise ValidationError("submission.rejected", f"Submission {sub.instance_id} was rejected by a reviewer on "
                              "the collection server.", hint="Fix it there (ODK Central review, KoBo validation "
                              "status) and export it again, or leave it out.")
    main = _store(ws, spec, spec.main, sub.values, sub.instance_id, {}, run, tally)
    _attachments(ws, spec.main, main, sub.values, export.media, sub.instance_id, tally)
    for rep in spec.repeats:
        for n, item in enumerate(sub.repeats.get(rep.name, []), start=1):
            tally.layer = rep.layer
            extra = {child: main.get(parent) for child, parent in rep.inherit.items()}
            assert rep.parent_link is not None
            extra[rep.parent_link] = main["uuid"]
            key = item.key or f"{sub.instance_id}/{rep.name}[{n}]"
            try:
                child = _store(ws, spec, rep, item.values, key, extra, run, tally)
            except SafeGroundError as err:
                err.message = f"{rep.name} {n}: {err.message}"
                raise
            _attachments(ws, rep, child, item.values, export.media, key, tally)


def _values(ws: Workspace, section: Section, raw: dict[str, Any]) -> dict[str, Any]:
    """Form answers → field values: constants added, blanks dropped, links given as refs turned into uuids."""
    values: dict[str, Any] = dict(section.constants)
    for f in section.questions():
        v = raw.get(f.name)
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        if f.type is FieldType.LINK and f.links_to:
            v = _resolve_link(ws, f.links_to, str(v).strip())
        values[f.name] = v
    rt = section.record_type
    if rt.is_spatial:
        name = "geometry" if section.parent_link is None else f"{section.name}_geometry"
        assert rt.geometry_type is not None
        values["geometry"] = geometry_from_odk(raw.get(name), rt.geometry_type)
    return values


def _resolve_link(ws: Workspace, layer: str, value: str) -> str:
    """A ref such as HA-000123 becomes its record's uuid; anything else is left for validation to judge."""
    if _REF.match(value.upper()):
        rows = ws.store.query(layer, where={"ref": value.upper()}, include_retired=True, geometry=False)
        if rows:
            return str(rows[0]["uuid"])
    return value


def _store(ws: Workspace, spec: FormSpec, section: Section, raw: dict[str, Any], source_id: str,
           extra: dict[str, Any], run: str, tally: _Tally) -> Record:
    layer = section.layer
    values = {**_values(ws, section, raw), **{k: v for k, v in extra.items() if v is not None}}
    values["source"] = spec.form_id
    values["source_id"] = source_id
    found = ws.store.query(layer, where={"source": spec.form_id, "source_id": source_id}, include_retired=True)
    if not found:
        uuids = records.add_records(ws, layer, Batch.from_records([values]), review_state="submitted",
                                    import_run=run).uuids
        tally.created[layer] = tally.created.get(layer, 0) + 1
        return ws.store.get(layer, uuids[0])
    current = found[0]
    geom = values.pop("geometry", None)
    typed = validation.check_fields(RECORD_TYPES[layer], Batch({k: [v] for k, v in values.items()}), partial=True)
    changes: dict[str, Any] = {k: v[0] for k, v in typed.items() if current.get(k) != v[0]}
    if geom is not None and (current.get("geometry") is None or not current["geometry"].equals(geom)):
        changes["geometry"] = geom
    if not changes:
        tally.unchanged += 1
        return current
    tally.updated += 1
    return records.update_record(ws, layer, current["uuid"], changes)


def _attachments(ws: Workspace, section: Section, record: Record, raw: dict[str, Any],
                 media: Callable[[str], bytes | None], source_id: str, tally: _Tally) -> None:
    for name in section.photo_names():
        file_name = raw.get(name)
        if not file_name or not str(file_name).strip():
            continue
        data = media(str(file_name))
        if data is None:
            tally.missing.append(f"{source_id}: {file_name}")
            continue
        attach_bytes(ws, section.layer, record["uuid"], str(file_name), data, source=source_id)
        tally.attachments += 1
