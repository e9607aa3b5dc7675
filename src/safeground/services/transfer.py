"""Import and export of records: GeoJSON and GeoPackage files in, the same formats out.

An import is all or nothing: every row is validated first, then the rows and the import-run
summary are written in one transaction. A refused import leaves the database unchanged.
Exports leave out personal fields unless asked, because files travel.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from safeground.domain.errors import SafeGroundError, ValidationError
from safeground.domain.fields import FieldType
from safeground.domain.records import RecordType, record_type
from safeground.domain.timestamps import now_iso
from safeground.geo.crs import WGS84, check_epsg, reproject
from safeground.io.shapefile_names import field_map, reverse_map
from safeground.io.vector import new_file, read_vector, suffix, write_vector
from safeground.services import attachment_transfer
from safeground.services.records import add_records
from safeground.services.workspace import Workspace
from safeground.store.base import Batch


@dataclass
class ImportReport:
    """The outcome of an import, as stored in the import-run table and printed by the CLI."""

    import_run: str
    layer: str
    source: str
    rows_read: int
    rows_stored: int
    ignored_columns: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    source_epsg: int | None = None
    attachments: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_file(ws: Workspace, path: str | Path, layer: str, *, source_layer: str | None = None,
                epsg: int | None = None, repair: bool | None = None, review_state: str = "submitted") -> ImportReport:
    """Import every feature of ``path`` into ``layer``; refuse the whole file on the first bad row.

    Columns named like declared fields are imported. A ``uuid`` column of valid, distinct UUIDs is
    kept (so links survive a move between SafeGround databases) and becomes the ``source_id``;
    other managed columns (ref, version, ...) and unknown columns are listed in the report as
    ignored. Coordinates in any EPSG code are reprojected to WGS84.
    """
    rt = record_type(layer)
    path = Path(path)
    data = read_vector(path, source_layer)
    if suffix(path) in (".shp.zip", ".shp"):  # 10-character DBF names back to field names
        names = reverse_map(layer)
        data.columns = {names.get(k, k): v for k, v in data.columns.items()}
    src_epsg = check_epsg(epsg) if epsg else (data.epsg or WGS84)
    n = len(data.geometry) if data.geometry is not None else len(next(iter(data.columns.values()), []))
    geoms = reproject(data.geometry, src_epsg, WGS84) if data.geometry is not None else None
    columns, ignored = _map_columns(rt, data.columns)
    original = [_as_uuid(u) for u in data.columns["uuid"].tolist()] if "uuid" in data.columns else [None] * n
    if all(original) and len(set(original)) == n:
        columns["uuid"] = original  # keeps links between layers exported from another SafeGround
        ignored.remove("uuid")
    source_ids = columns.get("source_id", [None] * n)
    columns["source_id"] = [s if s not in (None, "") else (o or str(i))
                            for i, (s, o) in enumerate(zip(source_ids, original, strict=True))]
    sources = columns.get("source", [None] * n)
    columns["source"] = [s if s not in (None, "") else path.name for s in sources]
    run = str(uuidlib.uuid4())
    started = now_iso()
    with ws.store.transaction():
        result = add_records(ws, layer, Batch(columns, geoms), review_state=review_state, import_run=run,
                             repair=repair)
        restored = attachment_transfer.restore(ws, path, layer, data.layer, data.columns, original, result.uuids)
        ignored = [c for c in ignored if c not in (attachment_transfer.COLUMN, attachment_transfer.SHAPEFILE_COLUMN)]
        report = ImportReport(run, layer, str(path), n, len(result.uuids), ignored,
                              [r.describe() for r in result.repairs], src_epsg, restored)
        ws.store.write_import_run({
            "id": run, "layer": layer, "source": str(path), "format": path.suffix.lstrip(".").lower(),
            "started_at": started, "finished_at": now_iso(), "user": ws.user, "rows_read": n,
            "rows_stored": len(result.uuids), "rows_quarantined": 0, "status": "complete", "report": report.to_dict(),
        })
    return report


def _as_uuid(value: Any) -> str | None:
    try:
        return str(uuidlib.UUID(str(value)))
    except ValueError:
        return None


def _map_columns(rt: RecordType, source: dict[str, np.ndarray]) -> tuple[dict[str, list[Any]], list[str]]:
    by_lower = {f.name.lower(): f for f in rt.all_fields}
    columns: dict[str, list[Any]] = {}
    ignored: list[str] = []
    for name, values in source.items():
        f = by_lower.get(name.lower())
        if f is None or f.managed:
            ignored.append(name)
            continue
        columns[f.name] = values.tolist()
    return columns, ignored


def export_layer(ws: Workspace, layer: str, path: str | Path, *, include_retired: bool = False,
                 include_personal: bool = False, review_states: tuple[str, ...] | None = None) -> int:
    """Write ``layer`` to a GeoJSON, GeoPackage, FlatGeobuf or CSV file; return the number of records written.

    Personal fields are left out unless ``include_personal`` is true. An existing file is
    never overwritten.
    """
    rt = record_type(layer)
    path = new_file(path)
    where = {"review_state": list(review_states)} if review_states else None
    rows = ws.store.query(layer, where=where, include_retired=include_retired)
    fields = [f for f in rt.all_fields if include_personal or not f.personal]
    attached = attachment_transfer.for_export(ws, layer, rows, include_personal=include_personal)
    folder = attachment_transfer.prepare_folder(path, attached)
    shapefile = suffix(path) in (".shp.zip", ".shp")
    columns = {f.name: _typed_column(FieldType.TEXT if shapefile and f.type is FieldType.DATETIME else f.type,
                                     [r[f.name] for r in rows]) for f in fields}
    if shapefile:  # DBF: 10-character names (documented map), no date-time type (ISO text instead)
        names = field_map(layer)
        columns = {names[k]: v for k, v in columns.items()}
    if folder is not None:  # files beside the export, named in a column so that a re-import restores them
        values = attachment_transfer.column_values(rows, attached)
        columns[attachment_transfer.column_name(path)] = (np.array(values, dtype=object), None)
    geoms = np.array([r["geometry"] for r in rows], dtype=object) if rt.is_spatial else None
    try:
        write_vector(path, layer, geometry=geoms, geometry_type=rt.geometry_type, columns=columns)
    except SafeGroundError:
        raise
    except Exception as exc:  # GDAL's own errors: turn them into one clear message
        raise ValidationError("export.failed", f"Could not write {path}: {exc}.",
                              hint="Check the folder exists and is writable.") from None
    if folder is not None:
        attachment_transfer.write_folder(ws, folder, rows, attached)
    elif suffix(path) == ".gpkg":
        attachment_transfer.write_into_geopackage(ws, path, layer, attached)
    return len(rows)


def _typed_column(ftype: FieldType, values: list[Any]) -> tuple[np.ndarray, np.ndarray | None]:
    mask = np.array([v is None for v in values], dtype=bool)
    if ftype is FieldType.INTEGER:
        arr: np.ndarray = np.array([0 if v is None else int(v) for v in values], dtype=np.int64)
    elif ftype is FieldType.REAL:
        arr = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    elif ftype is FieldType.BOOLEAN:
        arr = np.array([bool(v) for v in values], dtype=bool)
    elif ftype is FieldType.DATE:
        arr = np.array([v or "NaT" for v in values], dtype="datetime64[D]")
    elif ftype is FieldType.DATETIME:
        arr = np.array([(v or "NaT").rstrip("Z") for v in values], dtype="datetime64[ms]")
    else:
        arr = np.array(values, dtype=object)
        return arr, None
    return arr, (mask if mask.any() else None)
