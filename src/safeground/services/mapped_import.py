"""Import a CSV or GIS file through a mapping: rows routed to layers, bad rows quarantined, nothing lost.

- **File faults** (undecodable text, a row with the wrong number of fields, columns the mapping needs
  but the file lacks) roll back the whole import: nothing is written, not even the run record.
- **Row faults** (a value with no translation, bad coordinates, a record the rules refuse) send the row to
  the quarantine with its reason; the rest is stored.
- Every run records rows read, stored and quarantined, and they add up.
- **Fixed quarantined rows** come back through the same door: a file written by
  :func:`safeground.services.quarantine.export_quarantine` has a ``quarantine_id`` column; each of its rows
  that now goes in resolves its entry (linked to the record it became, with its original source and row),
  and a row that fails again stays quarantined with the new reason.

The file streams through in chunks, all inside one transaction: memory does not grow with the file
(what must outlive a chunk, such as the source rows for the exact-duplicate check, waits in temporary
tables of the store). Each chunk is mapped and validated column by column. A GIS file (an IMSMA Core File
Geodatabase, say) is read whole by GDAL, then goes through the same chunks.
"""

from __future__ import annotations

import csv
import io
import re
import uuid as uuidlib
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import shapely

from safeground.domain.errors import SafeGroundError, ValidationError
from safeground.domain.records import RecordType, record_type
from safeground.domain.timestamps import now_iso
from safeground.geo.crs import WGS84, check_epsg, reproject
from safeground.io.mapping import Geometry, ImportMapping, LayerRows, apply_mapping, check_columns, load_mapping
from safeground.io.vector import as_text, read_vector, suffix
from safeground.services import records
from safeground.services.source_links import resolve_source_links
from safeground.services.workspace import Workspace
from safeground.store.base import Batch

Progress = Callable[[str, int, int], None]

#: Columns a quarantine export adds to the source columns; a file with them is a retry of those entries.
QUARANTINE_ID, QUARANTINE_REASON = "quarantine_id", "quarantine_reason"
RETRY_COLUMNS = (QUARANTINE_ID, QUARANTINE_REASON)

#: Rows read and mapped at a time: large enough that per-chunk work is noise, small enough for memory.
CHUNK_ROWS = 100_000

#: Bytes Arrow parses at a time. Its reader reads some 32 blocks ahead, whatever the chunk: small blocks keep that
#: to a few MiB (4 MiB blocks held most of a 40 MB file at once, so memory grew with the file).
BLOCK_BYTES = 1 << 18


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
    quarantine_resolved: int = 0
    stored_by_layer: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Chunk:
    first: int  # number of the chunk's first data row (1-based)
    columns: dict[str, Sequence[str]]
    done: int  # bytes read so far, of
    total: int


def import_csv(ws: Workspace, path: str | Path, mapping: str | Path | ImportMapping, *, chunk: int = CHUNK_ROWS,
               progress: Progress | None = None, source_layer: str | None = None) -> MappedImportReport:
    """Import ``path`` through ``mapping`` (a shipped name, a file or a model).

    ``path`` is a UTF-8 CSV file with a header, streamed in chunks, or any GIS file GDAL reads (an IMSMA
    Core File Geodatabase, a GeoPackage, GeoJSON...), one layer of it (``source_layer`` when it has
    several). A GIS file's own geometry and CRS are used unless the mapping says where coordinates are.
    """
    path = Path(path)
    m = mapping if isinstance(mapping, ImportMapping) else load_mapping(mapping)
    src_epsg = check_epsg(m.crs)
    if suffix(path) != ".csv":
        m, src_epsg, parts = _gis_chunks(path, m, chunk, source_layer)
    else:
        parts = _chunks(path, m, chunk)
    run = str(uuidlib.uuid4())
    report = MappedImportReport(run, str(path), m.name)
    started = now_iso()
    prior: dict[tuple[str, str], bool] = {}  # (layer, source) -> records from an earlier import exist
    with ws.store.bulk_load():
        for part in parts:
            _import_chunk(ws, m, path, part, run, src_epsg, report, prior)
            if progress:
                progress("import", part.done, part.total)
            del part  # let go of this chunk before the next is read: memory holds one chunk at a time
        report.exact_duplicates = ws.store.link_exact_duplicates(
            run, "every column equals an earlier row of the same file")
        assert report.rows_read == report.rows_stored + report.rows_quarantined
        ws.store.write_import_run({
            "id": run, "layer": ",".join(sorted(report.stored_by_layer)), "source": str(path),
            "format": suffix(path).lstrip("."),
            "started_at": started, "finished_at": now_iso(), "user": ws.user, "rows_read": report.rows_read,
            "rows_stored": report.rows_stored, "rows_quarantined": report.rows_quarantined, "status": "complete",
            "report": report.to_dict(),
        })
    return report


def _import_chunk(ws: Workspace, m: ImportMapping, path: Path, part: _Chunk, run: str, src_epsg: int,
                  report: MappedImportReport, prior: dict[tuple[str, str], bool]) -> None:
    """Map, validate and store one chunk; its rows that fail go to the quarantine."""
    columns = {k: v for k, v in part.columns.items() if k not in RETRY_COLUMNS}
    entries = _entries(ws, path, part) if QUARANTINE_ID in part.columns else None
    report.rows_read += len(next(iter(part.columns.values())))
    mapped = apply_mapping(m, columns, first_row=part.first)
    resolve_source_links(ws, m, mapped)
    if mapped.misclosure_m:
        report.perimeters += len(mapped.misclosure_m)
        report.max_misclosure_m = max(report.max_misclosure_m, *mapped.misclosure_m.values())
    quarantine = [_q(run, None, path, part.first + i, "mapping.row", reason, "", columns, i)
                  for i, reason in mapped.faults.items()]
    resolved: list[tuple[int, str, str]] = []
    for layer, rows in mapped.layers.items():
        _provenance(m, rows, columns, path, part.first, entries)
        if src_epsg != WGS84:
            rows.geometry = list(reproject(np.array(rows.geometry, dtype=object), src_epsg, WGS84))
        again, bad_again = _reimport(ws, layer, rows, report, prior)
        stored, bad = _store(ws, layer, rows, run, m.review_state, skip=again)
        bad += bad_again
        report.stored_by_layer[layer] = report.stored_by_layer.get(layer, 0) + len(stored)
        report.rows_stored += len(stored)
        _stage_source_rows(ws, layer, stored, columns)
        quarantine += [_q(run, layer, path, part.first + rows.rows[k], err.code, err.message, err.hint,
                          columns, rows.rows[k]) for k, err in bad]
        if entries is not None:
            became = {**stored, **{rows.rows[k]: u for k, u in again.items()}}
            resolved += [(entries[i]["id"], layer, u) for i, u in became.items()]
    _keep_in_quarantine(ws, quarantine, entries)
    if resolved:
        ws.store.resolve_quarantine(resolved, import_run=run, user=ws.user)
        report.quarantine_resolved += len(resolved)
    report.rows_quarantined += len(quarantine)
    for q in quarantine:
        report.quarantine_reasons[q["code"]] = report.quarantine_reasons.get(q["code"], 0) + 1


#: The column that carries a GIS file's own geometry (as WKT) through a mapping.
FILE_GEOMETRY = "<geometry>"


def _gis_chunks(path: Path, m: ImportMapping, size: int, layer: str | None
                ) -> tuple[ImportMapping, int, Iterator[_Chunk]]:
    """A GIS file's layer as text columns in chunks, read whole by GDAL first (file faults raise here).

    Its geometry becomes a WKT column that the mapping reads, unless the mapping names coordinate columns.
    """
    data = read_vector(path, layer)
    columns = {name: as_text(values) for name, values in data.columns.items()}
    epsg = check_epsg(m.crs)
    if data.geometry is not None and m.geometry is None:
        columns[FILE_GEOMETRY] = ["" if g is None else shapely.to_wkt(g, rounding_precision=-1)
                                  for g in data.geometry.tolist()]
        m = m.model_copy(update={"geometry": Geometry(wkt=FILE_GEOMETRY)})
        epsg = data.epsg or epsg
    check_columns(m, list(columns))
    n = len(next(iter(columns.values()), []))

    def parts() -> Iterator[_Chunk]:
        for a in range(0, n, size):
            yield _Chunk(a + 1, {k: v[a:a + size] for k, v in columns.items()}, min(a + size, n), n)

    return m, epsg, parts()


def _chunks(path: Path, m: ImportMapping, size: int) -> Iterator[_Chunk]:
    """The file in chunks of columns; file faults raise before anything is kept.

    Arrow's C++ reader reads it (:func:`_fast_chunks`); where it stops short (anything it or the csv module
    would refuse, or read differently), the standard csv module reads the rest and names the fault."""
    if not path.exists():
        raise ValidationError("io.file_not_found", f"File {path} does not exist.", hint="Check the path.")
    total = path.stat().st_size
    with _file_faults(path):
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), None)
        if header is None:
            raise ValidationError("io.empty_file", f"{path.name} is empty.", hint="Give a CSV file with a header.")
        check_columns(m, header)
        done = yield from _fast_chunks(path, header, size, total)
        if done is not None:
            yield from _csv_chunks(path, header, size, total, done)


@contextmanager
def _file_faults(path: Path) -> Iterator[None]:
    """Undecodable text and broken quoting become file faults (nothing is imported)."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise ValidationError("io.bad_encoding", f"{path.name} is not UTF-8 text (byte {exc.start}: {exc.reason}).",
                              hint="Save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8') and import again. "
                                   "Nothing was imported.") from None
    except csv.Error as exc:
        raise ValidationError("io.malformed_csv", f"{path.name} is not a well-formed CSV file: {exc}.",
                              hint="Check quoting and line ends. Nothing was imported.") from None


def _fast_chunks(path: Path, header: list[str], size: int, total: int) -> Generator[_Chunk, None, int | None]:
    """Chunks read by Arrow's CSV reader (C++, off the GIL: five times the csv module's speed), the same
    values as the csv module gives. Returns ``None`` at the end of the file, or the number of data rows read
    when it stops short: at a row it cannot read (ragged, undecodable, broken quoting) or a chunk that the
    csv module might read otherwise (:func:`_csv_reads_alike`); the csv module takes over there.
    A one-column file is left to the csv module (a blank line is a row of no fields to it, of one to Arrow).
    """
    if len(header) < 2:
        return 0
    done = 0
    try:
        with pa.OSFile(str(path)) as raw:
            reader = pa_csv.open_csv(
                raw, read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
                convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                                      strings_can_be_null=False, quoted_strings_can_be_null=False))
            if reader.schema.names != header or any(t != pa.string() for t in reader.schema.types):
                return 0
            batches: list[pa.RecordBatch] = []
            held = 0
            end = False
            while not end:
                try:
                    batch = reader.read_next_batch()
                    batches.append(batch)
                    held += batch.num_rows
                except StopIteration:
                    end = True
                while held >= size or (end and held):
                    table = pa.Table.from_batches(batches)
                    part, rest = table.slice(0, size), table.slice(size)
                    if not _csv_reads_alike(part):
                        return done
                    n = part.num_rows
                    columns: dict[str, Sequence[str]] = {name: part.column(k).to_pylist()
                                                         for k, name in enumerate(header)}
                    batches, held = rest.to_batches(), rest.num_rows
                    del table, part, rest
                    yield _Chunk(done + 1, columns, raw.tell(), total)
                    del columns
                    done += n
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return done
    return None


def _csv_reads_alike(part: pa.Table) -> bool:
    """Whether the csv module reads these rows the same: it refuses NUL and fields over its size limit, and
    reads a blank line as a row of no fields (Arrow: a row of empty ones; so any row of empty fields is left
    to the csv module)."""
    limit = csv.field_size_limit()
    lengths = [pc.binary_length(col) for col in part.columns]
    if any(pc.max(n).as_py() > limit or pc.any(pc.match_substring(col, "\x00")).as_py()
           for n, col in zip(lengths, part.columns, strict=True)):
        return False
    blank = pc.equal(lengths[0], 0)
    for n in lengths[1:]:
        blank = pc.and_(blank, pc.equal(n, 0))
    return not pc.any(blank).as_py()


def _csv_chunks(path: Path, header: list[str], size: int, total: int, skip: int) -> Iterator[_Chunk]:
    """The file in chunks read by the csv module, after its first ``skip`` data rows."""
    with open(path, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for _ in islice(reader, skip):
            pass
        first = skip + 1
        while rows := list(islice(reader, size)):
            if set(map(len, rows)) != {len(header)}:
                k = next(k for k, r in enumerate(rows) if len(r) != len(header))
                _malformed(path, first + k, len(rows[k]), len(header))
            n = len(rows)
            columns: dict[str, Sequence[str]] = dict(zip(header, zip(*rows, strict=True), strict=True))
            del rows  # one copy of a chunk at a time
            yield _Chunk(first, columns, raw.tell(), total)
            del columns
            first += n


def _malformed(path: Path, row: int, fields: int, width: int) -> None:
    """Refuse data row ``row``, naming its line (found by reading the file again up to it)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        for _ in islice(reader, row + 1):
            pass
        line = reader.line_num
    raise ValidationError(
        "io.malformed_row", f"{path.name}, data row {row} (line {line}) has {fields} fields; the header has {width}.",
        hint="The file may be truncated or have a stray delimiter; fix it and import again. Nothing was imported.")


def _entries(ws: Workspace, path: Path, part: _Chunk) -> list[dict[str, Any]]:
    """The open quarantine entries a retry file's rows stand for, in row order."""
    ids: list[int] = []
    for k, value in enumerate(part.columns[QUARANTINE_ID]):
        try:
            ids.append(int(value))
        except ValueError:
            ids.append(-1)
            _unknown_entry(path, part.first + k, value)
    found = {q["id"]: q for q in ws.store.quarantined(ids=ids)}
    for k, qid in enumerate(ids):
        if qid not in found:
            _unknown_entry(path, part.first + k, str(qid))
    return [found[qid] for qid in ids]


def _unknown_entry(path: Path, row: int, value: str) -> None:
    raise ValidationError(
        "quarantine.unknown_entry", f"{path.name}, data row {row}: '{QUARANTINE_ID}' {value!r} is not an open "
        "quarantine entry (resolved already, or never quarantined).",
        hint="Export the open entries again with 'safeground quarantine export', fix the rows there and keep their "
             f"'{QUARANTINE_ID}'; remove rows that were imported since. Nothing was imported.")


def _provenance(m: ImportMapping, rows: LayerRows, columns: Mapping[str, Sequence[str]], path: Path, first: int,
                entries: list[dict[str, Any]] | None) -> None:
    """Each record keeps its file and row (or the source's own id); a retried row keeps its original ones."""
    if entries is None:
        rows.columns["source"] = [path.name] * len(rows.rows)
        row_ids = [str(first + i) for i in rows.rows]
    else:
        rows.columns["source"] = [entries[i]["source"] for i in rows.rows]
        row_ids = [str(entries[i]["source_row"]) for i in rows.rows]
    if m.source_id:
        own = columns[m.source_id]
        rows.columns["source_id"] = [own[i] or r for i, r in zip(rows.rows, row_ids, strict=True)]
    else:
        rows.columns["source_id"] = row_ids


def _stage_source_rows(ws: Workspace, layer: str, stored: dict[int, str], columns: Mapping[str, Sequence[str]]
                       ) -> None:
    """Hand the store each new record's source row, for the exact-duplicate links made at the end."""
    if not stored:
        return
    at = list(stored)
    n = len(next(iter(columns.values())))
    every = len(at) == n and at[0] == 0 and at[-1] == n - 1  # the whole chunk, in order (positions ascend)
    picked = [col if every else [col[i] for i in at] for col in (columns[c] for c in sorted(columns))]
    ws.store.stage_source_rows(layer, list(stored.values()), list(map("\x1f".join, zip(*picked, strict=True))))


def _reimport(ws: Workspace, layer: str, rows: LayerRows, report: MappedImportReport,
              prior: dict[tuple[str, str], bool]) -> tuple[dict[int, str], list[tuple[int, SafeGroundError]]]:
    """Rows already imported (same source and source id) update their record instead of adding one.

    Returns {position: uuid} of the rows handled here, and (position, error) for updates the rules refuse.
    A source seen for the first time (the usual case) costs one count per layer and run."""
    handled: dict[int, str] = {}
    refused: list[tuple[int, SafeGroundError]] = []
    rt = record_type(layer)
    sources = rows.columns["source"]
    by_source: dict[str, list[int]] = {}
    if len(set(sources)) == 1:  # one file: the usual case
        by_source[sources[0]] = list(range(len(sources)))
    else:
        for k, source in enumerate(sources):
            by_source.setdefault(source, []).append(k)
    for source, positions in by_source.items():
        if (layer, source) not in prior:
            prior[(layer, source)] = ws.store.count(layer, where={"source": source}) > 0
        if not prior[(layer, source)]:
            continue
        ids = [rows.columns["source_id"][k] for k in positions]
        found = ws.store.query(layer, where={"source": source, "source_id": ids}, include_retired=True)
        existing = {r["source_id"]: r for r in found}
        for k, sid in zip(positions, ids, strict=True):
            record = existing.get(sid)
            if record is None:
                continue
            handled[k] = record["uuid"]
            changes = {name: col[k] for name, col in rows.columns.items()
                       if record.get(name) != _typed(rt, name, col[k])}
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
                del handled[k]
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
    """Store the new rows the rules accept; return {source row index: uuid} and (position, error) per refusal.

    One validation pass finds every bad row, however many there are. Only a layer rule (a hook) that refuses
    a row sends it round again without that row."""
    keep = [k for k in range(len(rows.rows)) if k not in skip]
    refused: list[tuple[int, SafeGroundError]] = []
    geoms = np.array(rows.geometry, dtype=object)
    while keep:
        whole = len(keep) == len(rows.rows)
        batch = Batch({k: v if whole else [v[i] for i in keep] for k, v in rows.columns.items()},
                      geoms if whole else geoms[keep])
        errors: dict[int, SafeGroundError] = {}
        try:
            prepared = records.prepare(ws, layer, batch, errors=errors)
        except SafeGroundError as err:
            at = err.details.get("row", err.details.get("index"))
            if at is None:
                raise  # not about one row: a file fault
            kept = [p for p in range(len(keep)) if p not in errors]
            refused.append((keep.pop(kept[int(at)]), err))
            continue
        refused += [(keep[p], err) for p, err in errors.items()]
        records.write_prepared(ws, prepared, review_state=review_state, import_run=run)
        return {rows.rows[keep[p]]: u for p, u in zip(prepared.rows, prepared.uuids, strict=True)}, refused
    return {}, refused


def _keep_in_quarantine(ws: Workspace, quarantine: list[dict[str, Any]], entries: list[dict[str, Any]] | None
                        ) -> None:
    """New entries for a plain file; for a retry file, the rows' own entries with the new reason."""
    if not quarantine:
        return
    if entries is None:
        ws.store.write_quarantine(quarantine)
        return
    for q in quarantine:
        entry = entries[q.pop("position")]
        q.update(id=entry["id"], source=entry["source"], source_row=entry["source_row"])
    ws.store.requarantine(quarantine)


def _q(run: str, layer: str | None, path: Path, source_row: int, code: str, reason: str, hint: str,
       columns: Mapping[str, Sequence[str]], i: int) -> dict[str, Any]:
    reason = re.sub(r"^(Feature|Row) \d+: ", "", reason)  # batch positions mean nothing here; source_row does
    return {"import_run": run, "layer": layer, "source": path.name, "source_row": source_row, "code": code,
            "reason": reason, "hint": hint, "raw": {k: v[i] for k, v in columns.items()}, "position": i}
