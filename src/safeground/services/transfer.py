"""Import and export of records: GeoJSON, GeoPackage, FlatGeobuf, Shapefile, KML, GPX and CSV files.

An import separates file faults from row faults, as the CSV importer does (services/mapped_import.py):

- **File faults** (unreadable or truncated file, undecodable text, no column for a required field) refuse
  the whole file: nothing is written, not even the run record.
- **Row faults** (a geometry type the layer cannot hold, such as a point in a polygon layer; a value
  outside its vocabulary; an invalid polygon without ``--repair``; swapped or far-off coordinates; a broken
  link) send the feature to the quarantine (``safeground_quarantine``) with its reason and its values; the
  other features are stored. Features read = stored + quarantined, in the run record and the report.

Everything happens in one transaction. Exports leave out personal fields unless asked, because files travel.
"""

from __future__ import annotations

import dataclasses
import re
import uuid as uuidlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from safeground.domain.errors import SafeGroundError, ValidationError
from safeground.domain.fields import FieldType
from safeground.domain.records import RecordType, record_type
from safeground.domain.timestamps import now_iso
from safeground.geo.crs import WGS84, check_epsg, reproject
from safeground.geo.placement import outside_km, swapped_mask
from safeground.geo.validity import Repair, wrong_type_error, wrong_types
from safeground.io.shapefile_names import field_map, reverse_map
from safeground.io.vector import new_file, read_vector, suffix, write_vector
from safeground.services import attachment_transfer, records, validation
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
    rows_quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    source_epsg: int | None = None
    attachments: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_file(ws: Workspace, path: str | Path, layer: str, *, source_layer: str | None = None,
                epsg: int | None = None, repair: bool | None = None, review_state: str = "submitted") -> ImportReport:
    """Import every feature of ``path`` into ``layer``; features that break a rule go to the quarantine.

    Columns named like declared fields are imported. A ``uuid`` column of valid, distinct UUIDs is
    kept (so links survive a move between SafeGround databases) and becomes the ``source_id``;
    other managed columns (ref, version, ...) and unknown columns are listed in the report as
    ignored. Coordinates in any EPSG code are reprojected to WGS84. Quarantined features keep their
    position in the file (``source_row``, from 1) and their values.
    """
    rt = record_type(layer)
    if review_state not in ("submitted", "approved"):
        raise ValidationError("record.bad_review_state", f"Imported rows cannot arrive '{review_state}'.",
                              hint="Use submitted, or approved for an official source.")
    path = Path(path)
    data = read_vector(path, source_layer, into=layer)
    if suffix(path) in (".shp.zip", ".shp"):  # 10-character DBF names back to field names
        names = reverse_map(layer)
        data.columns = {names.get(k, k): v for k, v in data.columns.items()}
    src_epsg = check_epsg(epsg) if epsg else (data.epsg or WGS84)
    n = len(data.geometry) if data.geometry is not None else len(next(iter(data.columns.values()), []))
    geoms = reproject(data.geometry, src_epsg, WGS84) if data.geometry is not None else None
    columns, ignored = _map_columns(rt, data.columns)
    _require_columns(rt, columns, path, n)
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
        stored, repairs, refused = _store(ws, layer, columns, geoms, n, run=run, review_state=review_state,
                                          repair=repair)
        row_uuids: list[str | None] = [stored.get(i) for i in range(n)]
        restored = attachment_transfer.restore(ws, path, layer, data.layer, data.columns, original, row_uuids)
        ignored = [c for c in ignored if c not in (attachment_transfer.COLUMN, attachment_transfer.SHAPEFILE_COLUMN)]
        quarantine = [_quarantine_row(run, layer, path, i, err, data.columns, data.geometry) for i, err in refused]
        if quarantine:
            ws.store.write_quarantine(quarantine)
        reasons: dict[str, int] = {}
        for q in quarantine:
            reasons[q["code"]] = reasons.get(q["code"], 0) + 1
        report = ImportReport(run, layer, str(path), n, len(stored), len(quarantine), reasons, ignored,
                              [r.describe() for r in repairs], src_epsg, restored)
        assert report.rows_read == report.rows_stored + report.rows_quarantined
        ws.store.write_import_run({
            "id": run, "layer": layer, "source": str(path), "format": path.suffix.lstrip(".").lower(),
            "started_at": started, "finished_at": now_iso(), "user": ws.user, "rows_read": n,
            "rows_stored": len(stored), "rows_quarantined": len(quarantine), "status": "complete",
            "report": report.to_dict(),
        })
    return report


def _require_columns(rt: RecordType, columns: dict[str, list[Any]], path: Path, n: int) -> None:
    """A required field with no column at all is a fault of the file, not of each row."""
    absent = [f for f in rt.fields if f.required and f.name not in columns]
    if n and absent:
        raise ValidationError("io.absent_column", f"{path.name} has no column for the required field"
                              f"{'s' if len(absent) > 1 else ''} " + ", ".join(f"'{f.name}'" for f in absent) +
                              f" of {rt.layer}.",
                              hint="Add the column (field names as in the design record), or rename the "
                                   "source's column to the field name. Nothing was imported.",
                              details={"fields": [f.name for f in absent]})


def _store(ws: Workspace, layer: str, columns: dict[str, list[Any]], geoms: np.ndarray | None, n: int, *,
           run: str, review_state: str, repair: bool | None) -> tuple[dict[int, str], list[Repair],
                                                                     list[tuple[int, SafeGroundError]]]:
    """Store the features the rules accept; return {feature: uuid} of those stored, their repairs (numbered
    by feature) and the (feature, error) of each refused one. An error that names no feature is a file fault
    and propagates."""
    rt = record_type(layer)
    keep = list(range(n))
    refused: list[tuple[int, SafeGroundError]] = []
    if geoms is not None and rt.geometry_type is not None:  # checked first: a mixed file costs one pass
        wrong = wrong_types(geoms, rt.geometry_type)
        refused += [(i, wrong_type_error(i, geoms[i], rt.geometry_type)) for i in np.flatnonzero(wrong).tolist()]
        keep = [i for i in keep if not wrong[i]]
    screened = False
    while keep:
        batch = Batch({k: [v[i] for i in keep] for k, v in columns.items()},
                      geoms[keep] if geoms is not None else None)
        try:
            prepared = records.prepare(ws, layer, batch, repair=repair)
        except SafeGroundError as err:
            at = err.details.get("row", err.details.get("index"))
            if at is None:
                raise
            if not screened:  # a bad row: find the common faults of all rows in one pass, not one per retry
                screened = True
                faults = _screen(ws, rt, columns, geoms, keep, repair=repair)
                if faults:
                    refused += sorted(faults.items())
                    keep = [i for i in keep if i not in faults]
                    continue
            refused.append((keep.pop(int(at)), err))
            continue
        records.write_prepared(ws, prepared, review_state=review_state, import_run=run)
        repairs = [dataclasses.replace(r, index=keep[r.index]) for r in prepared.repairs]
        return dict(zip(keep, prepared.uuids, strict=True)), repairs, sorted(refused, key=lambda pair: pair[0])
    return {}, [], sorted(refused, key=lambda pair: pair[0])


def _screen(ws: Workspace, rt: RecordType, columns: dict[str, list[Any]], geoms: np.ndarray | None,
            rows: list[int], *, repair: bool | None) -> dict[int, SafeGroundError]:
    """The row faults of ``rows`` that can be found for all rows at once, each as validating that row alone
    reports it: values their field refuses, blanks in required fields, missing geometries, invalid polygons
    (unless repairing), swapped or far-off locations. Links and the IMAS rules are left to validation."""
    faults: dict[int, SafeGroundError] = {}
    for name, values in columns.items():
        f = rt.field(name)
        if name == "uuid":
            continue
        try:
            distinct = {(type(values[i]), values[i]) for i in rows}
        except TypeError:  # unhashable values: validation finds them one by one
            continue
        bad: dict[tuple[type, Any], SafeGroundError] = {}
        for key in distinct:
            try:
                if validation.check_column(f, [key[1]])[0] is None and f.required:
                    bad[key] = ValidationError("record.required_field", f"Field '{f.name}' of {rt.layer} is "
                                               "required.", hint=f"Give a value for '{f.name}' ({f.label()}).")
            except SafeGroundError as err:
                bad[key] = err
        for i in rows:
            fault = bad.get((type(values[i]), values[i])) if bad else None
            if fault is not None:
                faults.setdefault(i, fault)
    if rt.is_spatial and rt.geometry_type is not None:
        g = geoms[rows] if geoms is not None else np.full(len(rows), None, dtype=object)
        present = ~shapely.is_missing(g)
        present[present] = ~shapely.is_empty(g[present])
        cfg = ws.config.geometry
        suspect = ~present if rt.geometry_required else np.zeros(len(rows), dtype=bool)
        if present.any():
            seen = np.flatnonzero(present)
            wgs = g[seen]
            repairing = cfg.repair if repair is None else repair
            b = shapely.bounds(wgs)
            wild = ~np.isfinite(b).all(axis=1) | (np.abs(b[:, [0, 2]]) > 180).any(axis=1) | \
                (np.abs(b[:, [1, 3]]) > 90).any(axis=1)
            suspect[seen[wild]] = True
            seen, wgs = seen[~wild], wgs[~wild]
            flags = np.zeros(len(seen), dtype=bool) if repairing else ~shapely.is_valid(wgs)
            if ws.outline is not None and cfg.check_swapped_coordinates:
                flags |= swapped_mask(wgs, ws.outline, tolerance_deg=cfg.outline_tolerance_deg)
            if ws.outline is not None and ws.national_crs is not None and cfg.outside_tolerance_km is not None:
                flags |= outside_km(wgs, ws.outline, crs=ws.national_crs) > cfg.outside_tolerance_km
            suspect[seen[flags]] = True
        for k in np.flatnonzero(suspect).tolist():
            try:
                validation.check_geometry(ws, rt, g[[k]], 1, repair=repair)
            except SafeGroundError as err:
                faults.setdefault(rows[k], err)
    return faults


def _quarantine_row(run: str, layer: str, path: Path, i: int, err: SafeGroundError, source: dict[str, np.ndarray],
                    geometry: np.ndarray | None) -> dict[str, Any]:
    raw: dict[str, Any] = {k: v[i].item() if isinstance(v[i], np.generic) else v[i] for k, v in source.items()}
    if geometry is not None:
        raw["geometry"] = None if geometry[i] is None else shapely.to_wkt(geometry[i])  # as in the file's CRS
    reason = re.sub(r"^(Feature|Row) \d+: ", "", err.message)  # batch positions mean nothing; source_row does
    return {"import_run": run, "layer": layer, "source": path.name, "source_row": i + 1, "code": err.code,
            "reason": reason, "hint": err.hint, "raw": raw}


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
