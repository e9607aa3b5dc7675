"""Attachments travel with exported records, and come back when the file is imported again.

- **GeoPackage**: inside the file, as the Related Tables Extension lays them out (media table and a
  mapping table per layer), the same layout as the database, so QGIS shows them with the records.
- **Every other format**: the files go to a sibling folder ``<name>_attachments/<ref>/<file>``, and the
  column ``attachments`` (``attachment`` in a Shapefile) lists each record's files, relative to that
  folder and separated by ``;``. Importing the file restores them from there.

Personal attachments (a casualty's photo) are left out unless personal data is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.io.vector import suffix
from safeground.services.attachments import attach_bytes
from safeground.services.workspace import Workspace
from safeground.store import related_tables
from safeground.store.base import Record

COLUMN = "attachments"
SHAPEFILE_COLUMN = "attachment"  # DBF names hold 10 characters
SEPARATOR = ";"


def folder_for(path: Path) -> Path:
    """The sibling folder for a non-GeoPackage export: ``hazards.geojson`` → ``hazards_attachments``."""
    stem = path.name[: -len(suffix(path))] if suffix(path) else path.name
    return path.with_name(f"{stem}_attachments")


def column_name(path: Path) -> str:
    return SHAPEFILE_COLUMN if suffix(path) in (".shp.zip", ".shp") else COLUMN


def for_export(ws: Workspace, layer: str, rows: Sequence[Record], *, include_personal: bool) -> list[Record]:
    """The attachments of the exported ``rows`` that may travel."""
    if not rows:
        return []
    items = ws.store.attachments(layer=layer, record_uuids=[r["uuid"] for r in rows])
    return [a for a in items if include_personal or not a["personal"]]


def prepare_folder(path: Path, items: Sequence[Record]) -> Path | None:
    """For a non-GeoPackage export with attachments: the sibling folder, refused if it exists already."""
    if not items or suffix(path) == ".gpkg":
        return None
    folder = folder_for(path)
    if folder.exists():
        raise ValidationError("export.target_exists", f"{folder} exists already.",
                              hint="Choose a new file name; the attachments go to a folder beside the file.")
    return folder


def column_values(rows: Sequence[Record], items: Sequence[Record]) -> list[str | None]:
    """Per exported row, its attachments relative to the sibling folder (``HA-000001/photo.jpg;...``)."""
    by_record: dict[str, list[Record]] = {}
    for a in items:
        by_record.setdefault(a["record_uuid"], []).append(a)
    refs = {r["uuid"]: r["ref"] for r in rows}
    out: list[str | None] = []
    for r in rows:
        names = [f"{refs[r['uuid']]}/{a['file_name']}" for a in by_record.get(r["uuid"], [])]
        out.append(SEPARATOR.join(names) if names else None)
    return out


def write_folder(ws: Workspace, folder: Path, rows: Sequence[Record], items: Sequence[Record]) -> None:
    refs = {r["uuid"]: r["ref"] for r in rows}
    for a in items:
        target = folder / refs[a["record_uuid"]] / a["file_name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(ws.store.attachment_data(a["uuid"]))


def write_into_geopackage(ws: Workspace, path: Path, layer: str, items: Sequence[Record]) -> None:
    """Add the attachments to an exported GeoPackage, mapped to its features by uuid."""
    if items:
        related_tables.add_to_geopackage(path, layer, ((a, ws.store.attachment_data(a["uuid"])) for a in items))


def restore(ws: Workspace, path: Path, layer: str, source_layer: str, columns: dict[str, Any],
            original: Sequence[str | None], uuids: Sequence[str | None]) -> int:
    """After an import: attach what the file carried to the new records; return how many files.

    ``uuids[i]`` is the record made of the file's row ``i``, or ``None`` for a quarantined row."""
    count = 0
    if suffix(path) == ".gpkg":
        position = {o: i for i, o in enumerate(original) if o}
        for m in related_tables.read_geopackage(path, source_layer):
            i = position.get(m["key"])
            record = None if i is None else uuids[i]
            if record is None:
                continue
            attach_bytes(ws, layer, record, m["file_name"], m["data"], content_type=m["content_type"],
                         personal=m["personal"], source=path.name)
            count += 1
        return count
    values = columns.get(COLUMN, columns.get(SHAPEFILE_COLUMN))
    if values is None:
        return 0
    folder = folder_for(path)
    for i, value in enumerate(values):
        if value is None or not str(value).strip() or str(value) == "nan":
            continue
        for rel in str(value).split(SEPARATOR):
            f = folder / rel.strip()
            if not f.is_file() or not f.resolve().is_relative_to(folder.resolve()):
                raise NotFoundError("attachment.missing_file", f"Row {i} names attachment {rel}, which is not in "
                                    f"{folder}.", hint="Keep the attachments folder beside the file. Nothing was "
                                    "imported.")
            record = uuids[i]
            if record is None:  # the row is in the quarantine; its values keep the attachment's name
                continue
            attach_bytes(ws, layer, record, f.name, f.read_bytes(), source=path.name)
            count += 1
    return count
