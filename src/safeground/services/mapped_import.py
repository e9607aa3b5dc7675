"""Import a CSV file through a mapping: rows routed to layers, bad rows quarantined, nothing lost.

- **File faults** (undecodable text, a row with the wrong number of fields, columns the mapping needs
  but the file lacks) roll back the whole import: nothing is written, not even the run record.
- **Row faults** (a value with no translation, bad coordinates, a record the rules refuse) send the row to
  the quarantine with its reason; the rest is stored.
- Every run records rows read, stored and quarantined, and they add up.

The file is read in chunks, all inside one transaction.
"""

from __future__ import annotations

import csv
import re
import uuid as uuidlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from safeground.domain.errors import SafeGroundError, ValidationError
from safeground.domain.records import RecordType, record_type
from safeground.domain.timestamps import now_iso
from safeground.geo.crs import WGS84, check_epsg, reproject
from safeground.io.mapping import ImportMapping, LayerRows, apply_mapping, check_columns, load_mapping
from safeground.services import records
from safeground.services.source_links import resolve_source_links
from safeground.services.workspace import Workspace
from safeground.store.base import Batch

Progress = Callable[[str, int, int], None]


@dataclass
class MappedImportReport:
    """Counts of one run: read = stored + quarantined."""

    import_run: str
    source: str
    mapping: str
    rows_read: int = 0
    rows_stored: int = 0
    rows_quarantined: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    exact_duplicates: int = 0
    perimeters: int = 0  # perimeters built from bearings and distances
    max_misclosure_m: float = 0.0  # the worst of their closing errors
    stored_by_layer: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_csv(ws: Workspace, path: str | Path, mapping: str | Path | ImportMapping, *, chunk: int = 50_000,
               progress: Progress | None = None) -> MappedImportReport:
    """Import ``path`` (UTF-8 CSV with a header) through ``mapping`` (a shipped name, a file or a model)."""
    path = Path(path)
    m = mapping if isinstance(mapping, ImportMapping) else load_mapping(mapping)
    src_epsg = check_epsg(m.crs)
    run = str(uuidlib.uuid4())
    report = MappedImportReport(run, str(path), m.name)
    started = now_iso()
    first_seen: dict[tuple[str, ...], tuple[str, str]] = {}  # raw row -> (layer, uuid) of its first copy
    with ws.store.transaction():
        for first_row, columns in _chunks(path, m, chunk):
            n = len(next(iter(columns.values()), []))
            report.rows_read += n
            mapped = apply_mapping(m, columns, first_row=first_row)
            resolve_source_links(ws, m, mapped)
            if mapped.misclosure_m:
                report.perimeters += len(mapped.misclosure_m)
                report.max_misclosure_m = max(report.max_misclosure_m, *mapped.misclosure_m.values())
            quarantine = [_q(run, None, path, first_row + i, "mapping.row", reason, "", columns, i)
                          for i, reason in sorted(mapped.faults.items())]
            for layer, rows in mapped.layers.items():
                _provenance(m, rows, columns, path, first_row)
                if src_epsg != WGS84:
                    rows.geometry = list(reproject(np.array(rows.geometry, dtype=object), src_epsg, WGS84))
                again, bad_again = _reimport(ws, layer, rows, report)
                stored, bad = _store(ws, layer, rows, run, m.review_state, skip=again)
                bad += bad_again
                report.stored_by_layer[layer] = report.stored_by_layer.get(layer, 0) + len(stored)
                report.rows_stored += len(stored)
                links = _flag_duplicates(layer, stored, columns, first_seen, run)
                if links:
                    ws.store.write_duplicate_links(links)
                    report.exact_duplicates += len(links)
                quarantine += [_q(run, layer, path, first_row + rows.rows[i], err.code, err.message, err.hint,
                                  columns, rows.rows[i]) for i, err in bad]
            if quarantine:
                ws.store.write_quarantine(quarantine)
            report.rows_quarantined += len(quarantine)
            for q in quarantine:
                report.quarantine_reasons[q["code"]] = report.quarantine_reasons.get(q["code"], 0) + 1
            if progress:
                progress("import", report.rows_read, report.rows_read)
        assert report.rows_read == report.rows_stored + report.rows_quarantined
        ws.store.write_import_run({
            "id": run, "layer": ",".join(sorted(report.stored_by_layer)), "source": str(path), "format": "csv",
            "started_at": started, "finished_at": now_iso(), "user": ws.user, "rows_read": report.rows_read,
            "rows_stored": report.rows_stored, "rows_quarantined": report.rows_quarantined, "status": "complete",
            "report": report.to_dict(),
        })
    return report


def _chunks(path: Path, m: ImportMapping, size: int) -> Iterator[tuple[int, dict[str, list[str]]]]:
    """``(number of the chunk's first data row, columns)``; file faults raise before anything is kept."""
    if not path.exists():
        raise ValidationError("io.file_not_found", f"File {path} does not exist.", hint="Check the path.")
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise ValidationError("io.empty_file", f"{path.name} is empty.", hint="Give a CSV file with a header.")
            check_columns(m, header)
            rows: list[list[str]] = []
            first = 1
            for rows_seen, row in enumerate(reader, start=1):
                if len(row) != len(header):
                    raise ValidationError(
                        "io.malformed_row", f"{path.name}, data row {rows_seen} (line {reader.line_num}) has "
                        f"{len(row)} fields; the header has {len(header)}.",
                        hint="The file may be truncated or have a stray delimiter; fix it and import again. "
                             "Nothing was imported.")
                rows.append(row)
                if len(rows) == size:
                    yield first, {h: [r[j] for r in rows] for j, h in enumerate(header)}
                    first += len(rows)
                    rows = []
            if rows:
                yield first, {h: [r[j] for r in rows] for j, h in enumerate(header)}
    except UnicodeDecodeError as exc:
        raise ValidationError("io.bad_encoding", f"{path.name} is not UTF-8 text (byte {exc.start}: {exc.reason}).",
                              hint="Save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8') and import again. "
                                   "Nothing was imported.") from None
    except csv.Error as exc:
        raise ValidationError("io.malformed_csv", f"{path.name} is not a well-formed CSV file: {exc}.",
                              hint="Check quoting and line ends. Nothing was imported.") from None


def _provenance(m: ImportMapping, rows: LayerRows, columns: dict[str, list[str]], path: Path, first: int) -> None:
    """Each record keeps its file and row (or the source's own id)."""
    rows.columns["source"] = [path.name] * len(rows.rows)
    if m.source_id:
        rows.columns["source_id"] = [columns[m.source_id][i] or str(first + i) for i in rows.rows]
    else:
        rows.columns["source_id"] = [str(first + i) for i in rows.rows]


def _flag_duplicates(layer: str, stored: dict[int, str], columns: dict[str, list[str]],
                     first_seen: dict[tuple[str, ...], tuple[str, str]], run: str) -> list[dict[str, Any]]:
    """Exact copies of an earlier source row are kept and flagged for a person to confirm, never merged."""
    names = sorted(columns)
    links = []
    for i, uuid in stored.items():
        key = tuple(columns[c][i] for c in names)
        seen = first_seen.setdefault(key, (layer, uuid))
        if seen[1] != uuid and seen[0] == layer:
            links.append({"layer": layer, "uuid": uuid, "duplicate_of": seen[1], "kind": "exact_source_row",
                          "reason": "every column equals an earlier row of the same file", "import_run": run})
    return links


def _reimport(ws: Workspace, layer: str, rows: LayerRows,
              report: MappedImportReport) -> tuple[set[int], list[tuple[int, SafeGroundError]]]:
    """Rows already imported (same source and source id) update their record instead of adding one.

    Returns the positions handled here, and (position, error) for updates the rules refuse."""
    ids = rows.columns["source_id"]
    found = ws.store.query(layer, where={"source": rows.columns["source"][0] if ids else "", "source_id": ids},
                           include_retired=True)
    existing = {r["source_id"]: r for r in found}
    handled: set[int] = set()
    refused: list[tuple[int, SafeGroundError]] = []
    rt = record_type(layer)
    for k, sid in enumerate(ids):
        record = existing.get(sid)
        if record is None:
            continue
        handled.add(k)
        changes = {name: col[k] for name, col in rows.columns.items() if record.get(name) != _typed(rt, name, col[k])}
        geom = rows.geometry[k]
        if geom is not None and (record.get("geometry") is None or not record["geometry"].equals(geom)):
            changes["geometry"] = geom
        if not changes:
            report.rows_unchanged += 1
            report.rows_stored += 1
            continue
        try:
            records.update_record(ws, layer, record["uuid"], changes)
        except SafeGroundError as err:
            refused.append((k, err))
            continue
        report.rows_updated += 1
        report.rows_stored += 1
    return handled, refused


def _typed(rt: RecordType, name: str, value: Any) -> Any:
    """``value`` as the store holds it, so that an unchanged source row compares equal to its record."""
    try:
        return rt.field(name).check(value) if rt.has_field(name) else value
    except SafeGroundError:
        return value  # refused later, by the update itself


def _store(ws: Workspace, layer: str, rows: LayerRows, run: str, review_state: str,
           skip: Collection[int] = ()) -> tuple[dict[int, str], list[tuple[int, SafeGroundError]]]:
    """Store the new rows the rules accept; return {source row index: uuid} and (position, error) per refusal."""
    keep = [k for k in range(len(rows.rows)) if k not in skip]
    refused: list[tuple[int, SafeGroundError]] = []
    geoms = np.array(rows.geometry, dtype=object)
    while keep:
        batch = Batch({k: [v[i] for i in keep] for k, v in rows.columns.items()}, geoms[keep])
        try:
            prepared = records.prepare(ws, layer, batch)
        except SafeGroundError as err:
            at = err.details.get("row", err.details.get("index"))
            if at is None:
                raise  # not about one row: a file fault
            refused.append((keep.pop(int(at)), err))
            continue
        records.write_prepared(ws, prepared, review_state=review_state, import_run=run)
        return {rows.rows[k]: u for k, u in zip(keep, prepared.uuids, strict=True)}, refused
    return {}, refused


def _q(run: str, layer: str | None, path: Path, source_row: int, code: str, reason: str, hint: str,
       columns: dict[str, list[str]], i: int) -> dict[str, Any]:
    reason = re.sub(r"^(Feature|Row) \d+: ", "", reason)  # batch positions mean nothing here; source_row does
    return {"import_run": run, "layer": layer, "source": path.name, "source_row": source_row, "code": code,
            "reason": reason, "hint": hint, "raw": {k: v[i] for k, v in columns.items()}}
