"""SafeGround's own tables in the PostGIS store: import runs, quarantine, an import's source rows, duplicate
links, minefield-record matches, publications, attachments and risk runs (a mixin over the store's connection).

The same rows and semantics as the GeoPackage store's; JSON documents are ``jsonb``, files ``bytea``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg.types.json import Jsonb

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.domain.records import record_type
from safeground.domain.timestamps import now_iso
from safeground.domain.uuids import time_ordered
from safeground.store.base import Record
from safeground.store.sqlite_schema import FID, q

ATTACHMENT = "safeground_attachment"
_ATTACHMENT = ("id", "uuid", "layer", "record_uuid", "file_name", "content_type", "size", "sha256", "personal",
               "source", "created_at", "created_by", "retired_at", "retired_by", "retired_reason")
_RUN = ("id", "uuid", "kind", "created_at", "created_by", "as_of", "cells_source", "parameters", "metrics", "served",
        "cell_count", "current", "adopted_at", "adopted_by")


def select(conn: Any, table: str, columns: Sequence[str], where: Mapping[str, Any], order_by: str) -> list[Record]:
    """Rows of one of SafeGround's own tables as dicts, filtered by equality on each ``where`` value that is
    not ``None`` (names are the code's own; values are bound)."""
    conds = [f"{q(name)} = %s" for name, value in where.items() if value is not None]
    params = [value for value in where.values() if value is not None]
    sql = f"SELECT {', '.join(q(c) for c in columns)} FROM {q(table)}"
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    return [dict(zip(columns, row, strict=True)) for row in conn.execute(f"{sql} ORDER BY {order_by}", params)]


def as_jsonb(value: Any) -> Jsonb:
    """``value`` as a jsonb parameter (anything JSON cannot hold written as its text)."""
    return Jsonb(value, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@contextmanager
def no_nul() -> Iterator[None]:
    """PostgreSQL's text cannot hold the NUL character (SQLite's can): refuse such a value, saying what to do."""
    try:
        yield
    except psycopg.DataError as exc:
        if "0x00" not in str(exc):
            raise
        raise ValidationError("store.nul_character", "A text value holds a NUL character (0x00), which "
                              "PostgreSQL cannot store.",
                              hint="Remove the NUL characters (invisible, code 0) from the file or value.") from None


class PostGISTables:
    """Import runs, quarantine, duplicates, matches, publications, attachments and risk runs."""

    _conn: Any

    def transaction(self) -> AbstractContextManager[None]:  # pragma: no cover - provided by the store
        raise NotImplementedError

    # --- import runs -----------------------------------------------------------------------------
    def write_import_run(self, run: Mapping[str, Any]) -> None:
        cols = ["id", "layer", "source", "format", "started_at", "finished_at", "user", "rows_read",
                "rows_stored", "rows_quarantined", "status", "report"]
        values = [json.dumps(run[c]) if c == "report" and run.get(c) is not None else run.get(c) for c in cols]
        updates = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in cols[1:])
        with self.transaction():
            self._conn.execute(f"INSERT INTO safeground_import_run ({', '.join(map(q, cols))}) "
                               f"VALUES ({', '.join(['%s'] * len(cols))}) ON CONFLICT (id) DO UPDATE SET {updates}",
                               values)

    def import_runs(self) -> list[Record]:
        cur = self._conn.execute("SELECT * FROM safeground_import_run ORDER BY started_at, id")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        return [r | {"report": json.loads(r["report"]) if r["report"] else None} for r in rows]

    # --- quarantine -----------------------------------------------------------------------------------
    _QUARANTINE = ("import_run", "layer", "source", "source_row", "code", "reason", "hint", "raw", "created_at")

    def write_quarantine(self, rows: Sequence[Mapping[str, Any]]) -> None:
        stamp = now_iso()
        values = [tuple(_dumps(r["raw"]) if c == "raw" else r.get(c, stamp if c == "created_at" else None)
                        for c in self._QUARANTINE) for r in rows]
        if not values:
            return
        with self.transaction(), self._conn.cursor() as cur:
            cur.executemany(f"INSERT INTO safeground_quarantine ({', '.join(self._QUARANTINE)}) "
                            f"VALUES ({', '.join(['%s'] * len(self._QUARANTINE))})", values)

    def quarantined(self, *, import_run: str | None = None, source: str | None = None,
                    ids: Sequence[int] | None = None) -> list[Record]:
        cols = ("id", *self._QUARANTINE)
        sql = f"SELECT {', '.join(cols)} FROM safeground_quarantine WHERE resolved_at IS NULL"
        params: list[Any] = []
        for name, value in (("import_run", import_run), ("source", source)):
            if value is not None:
                sql += f" AND {name} = %s"
                params.append(value)
        if ids is not None:
            sql += " AND id = ANY(%s::bigint[])"
            params.append([int(i) for i in ids])
        out = []
        for row in self._conn.execute(sql + " ORDER BY id", params):
            rec = dict(zip(cols, row, strict=True))
            rec["raw"] = json.loads(rec["raw"])
            out.append(rec)
        return out

    def requarantine(self, rows: Sequence[Mapping[str, Any]]) -> None:
        values = [(r["import_run"], r["code"], r["reason"], r.get("hint"), _dumps(r["raw"]), now_iso(), r["id"])
                  for r in rows]
        if not values:
            return
        with self.transaction(), self._conn.cursor() as cur:
            cur.executemany("UPDATE safeground_quarantine SET import_run = %s, code = %s, reason = %s, hint = %s, "
                            "raw = %s, created_at = %s WHERE id = %s AND resolved_at IS NULL", values)

    def resolve_quarantine(self, resolved: Sequence[tuple[int, str, str]], *, import_run: str, user: str) -> None:
        stamp = now_iso()
        if not resolved:
            return
        with self.transaction(), self._conn.cursor() as cur:
            cur.executemany(
                "UPDATE safeground_quarantine SET resolved_at = %s, resolved_layer = %s, resolved_uuid = %s, "
                "resolved_run = %s, resolved_by = %s WHERE id = %s AND resolved_at IS NULL",
                [(stamp, layer, uuid, import_run, user, qid) for qid, layer, uuid in resolved])

    # --- source rows of one import, for exact duplicates ----------------------------------------------
    def stage_source_rows(self, layer: str, uuids: Sequence[str], rows: Sequence[str]) -> None:
        # The 128-bit key of the GeoPackage store: Python's keyed hash of the row, and of the row with a marker.
        with self.transaction():
            self._conn.execute("CREATE TEMP TABLE IF NOT EXISTS sg_source_row (seq bigserial, h1 bigint, h2 bigint, "
                               "layer text, uuid text)")
            with self._conn.cursor() as cur, cur.copy("COPY sg_source_row (h1, h2, layer, uuid) FROM STDIN") as cp:
                for row, uuid in zip(rows, uuids, strict=True):
                    cp.write_row((hash(row), hash("\x1e" + row), layer, uuid))

    def link_exact_duplicates(self, import_run: str, reason: str) -> int:
        with self.transaction():
            if self._conn.execute("SELECT to_regclass('pg_temp.sg_source_row')").fetchone()[0] is None:
                return 0
            cur = self._conn.execute(
                f"INSERT INTO safeground_duplicate_link ({', '.join(self._LINK)}) "
                "SELECT layer, uuid, first_uuid, 'exact_source_row', 'proposed', %s, %s, %s FROM ("
                "  SELECT seq, layer, uuid, first_value(uuid) OVER w AS first_uuid, "
                "  first_value(layer) OVER w AS first_layer FROM sg_source_row "
                "  WHERE h1 IN (SELECT h1 FROM sg_source_row GROUP BY h1 HAVING COUNT(*) > 1) "
                "  WINDOW w AS (PARTITION BY h1, h2 ORDER BY seq)) x "
                "WHERE uuid <> first_uuid AND layer = first_layer ORDER BY seq", (reason, import_run, now_iso()))
            self._conn.execute("DROP TABLE pg_temp.sg_source_row")
        return int(cur.rowcount)

    # --- duplicate links -----------------------------------------------------------------------------
    _LINK = ("layer", "uuid", "duplicate_of", "kind", "status", "reason", "import_run", "created_at")

    def write_duplicate_links(self, links: Sequence[Mapping[str, Any]]) -> None:
        defaults = {"status": "proposed", "created_at": now_iso()}
        values = [tuple(link.get(c, defaults.get(c)) for c in self._LINK) for link in links]
        if not values:
            return
        with self.transaction(), self._conn.cursor() as cur:
            cur.executemany(f"INSERT INTO safeground_duplicate_link ({', '.join(self._LINK)}) "
                            f"VALUES ({', '.join(['%s'] * len(self._LINK))})", values)

    def duplicate_links(self, *, layer: str | None = None, status: str | None = None,
                        link_id: int | None = None) -> list[Record]:
        return select(self._conn, "safeground_duplicate_link", ("id", *self._LINK, "decided_by", "decided_at"),
                      {"layer": layer, "status": status, "id": link_id}, "id")

    def decide_duplicate_link(self, link_id: int, status: str, *, user: str) -> None:
        with self.transaction():
            self._conn.execute("UPDATE safeground_duplicate_link SET status = %s, decided_by = %s, decided_at = %s "
                               "WHERE id = %s", (status, user, now_iso(), link_id))

    # --- minefield-record matches --------------------------------------------------------------------
    _MATCH = ("minefield_record", "layer", "uuid", "inside", "distance_m", "overlap_m2", "quantity", "search_m",
              "computed_at")

    def replace_minefield_matches(self, record: str, matches: Sequence[Mapping[str, Any]], *, search_m: float) -> None:
        fixed = {"minefield_record": record, "search_m": search_m, "computed_at": now_iso()}
        values = [tuple(fixed[c] if c in fixed else bool(m.get(c)) if c == "inside" else m.get(c)
                        for c in self._MATCH) for m in matches]
        with self.transaction(), self._conn.cursor() as cur:
            cur.execute("DELETE FROM safeground_minefield_match WHERE minefield_record = %s", (record,))
            if values:
                cur.executemany(f"INSERT INTO safeground_minefield_match ({', '.join(self._MATCH)}) "
                                f"VALUES ({', '.join(['%s'] * len(self._MATCH))})", values)

    def minefield_matches(self, record: str | None = None, *, counted: Sequence[str] | None = None) -> list[Record]:
        cols = ("id", *self._MATCH)
        select_sql = f"SELECT {', '.join('m.' + c for c in cols)} FROM safeground_minefield_match m"
        by_record = " AND m.minefield_record = %s" if record is not None else ""
        if counted is None:
            sql = select_sql + (" WHERE m.minefield_record = %s" if record is not None else "")
            params: list[Any] = [record] if record is not None else []
        else:
            sql = " UNION ALL ".join(
                f"{select_sql} JOIN {q(layer)} r ON r.uuid = m.uuid WHERE m.layer = '{layer}' "
                f"AND r.retired_at IS NULL AND r.review_state = ANY(%s::text[]){by_record}"
                for layer in ("activity", "device"))
            params = [list(counted), *([record] if record is not None else [])] * 2
        return [dict(zip(cols, row, strict=True)) for row in self._conn.execute(sql + " ORDER BY 1", params)]

    # --- publications ----------------------------------------------------------------------------
    _PUBLICATION = ("id", "uuid", "year", "version", "published_at", "published_by", "note", "official_only",
                    "audit_seq", "fingerprint", "fingerprint_layers")

    def write_publication(self, publication: Mapping[str, Any], *, user: str) -> Record:
        with self.transaction():
            year = int(publication["year"])
            # One publisher of a year at a time: the next version number is then free.
            self._conn.execute("SELECT pg_advisory_xact_lock(7400513, %s)", (year,))
            version = int(self._conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM safeground_publication "
                                             "WHERE year = %s", (year,)).fetchone()[0])
            seq = int(self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM safeground_audit").fetchone()[0])
            row = {"uuid": time_ordered(1)[0], "year": year, "version": version, "published_at": now_iso(),
                   "published_by": user, "note": publication.get("note"),
                   "official_only": bool(publication["official_only"]), "audit_seq": seq,
                   "fingerprint": publication["fingerprint"],
                   "fingerprint_layers": json.dumps(publication["fingerprint_layers"], sort_keys=True),
                   "figures": json.dumps(publication["figures"], ensure_ascii=False, sort_keys=True, default=str)}
            pid = self._conn.execute(f"INSERT INTO safeground_publication ({', '.join(row)}) "
                                     f"VALUES ({', '.join(['%s'] * len(row))}) RETURNING id",
                                     list(row.values())).fetchone()[0]
            meta = {k: v for k, v in row.items() if k not in ("figures", "fingerprint_layers")}
            meta["official_only"] = int(meta["official_only"])
            self._conn.execute("INSERT INTO safeground_audit (layer, fid, uuid, op, actor, at, after) "
                               "VALUES ('safeground_publication', %s, %s, 'publish', %s, %s, %s)",
                               (pid, row["uuid"], user, row["published_at"], as_jsonb(meta)))
        [stored] = self.publications(year=year, version=version)
        return stored

    def publications(self, *, year: int | None = None, version: int | None = None,
                     figures: bool = False) -> list[Record]:
        cols = (*self._PUBLICATION, *(("figures",) if figures else ()))
        where = {"year": None if year is None else int(year), "version": None if version is None else int(version)}
        out = []
        for rec in select(self._conn, "safeground_publication", cols, where, "year, version"):
            rec["fingerprint_layers"] = json.loads(rec["fingerprint_layers"])
            if figures:
                rec["figures"] = json.loads(rec["figures"])
            out.append(rec)
        return out

    # --- attachments -------------------------------------------------------------------------------
    def add_attachment(self, layer: str, record_uuid: str, file_name: str, content_type: str, data: bytes, *,
                       user: str, personal: bool = False, source: str | None = None) -> Record:
        record_type(layer)
        digest = hashlib.sha256(data).hexdigest()
        with self.transaction():
            row = self._conn.execute(f"SELECT {FID} FROM {q(layer)} WHERE uuid = %s", (record_uuid,)).fetchone()
            if row is None:
                raise NotFoundError("record.not_found", f"No {layer} record with uuid {record_uuid}.",
                                    hint="Check the reference; retired records are still found.")
            same = self._attachments("layer = %s AND record_uuid = %s AND file_name = %s AND sha256 = %s "
                                     "AND retired_at IS NULL", (layer, record_uuid, file_name, digest))
            if same:
                return same[0]
            meta = {"uuid": time_ordered(1)[0], "layer": layer, "record_uuid": record_uuid, "file_name": file_name,
                    "content_type": content_type, "size": len(data), "sha256": digest, "personal": bool(personal),
                    "source": source, "created_at": now_iso(), "created_by": user}
            values = {**meta, "record_fid": int(row[0]), "data": data}
            self._conn.execute(f"INSERT INTO {ATTACHMENT} ({', '.join(values)}) "
                               f"VALUES ({', '.join(['%s'] * len(values))})", list(values.values()))
            self._audit_attachment(layer, int(row[0]), record_uuid, "attach", user, None, meta)
        return self._attachment(str(meta["uuid"]))

    def _audit_attachment(self, layer: str, fid: int, record_uuid: str, op: str, user: str,
                          before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO safeground_audit (layer, fid, uuid, op, actor, at, before, after) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (layer, fid, record_uuid, op, user, now_iso(), as_jsonb(before) if before else None, as_jsonb(after)))

    def _attachments(self, where: str, params: Sequence[Any], *, data: bool = False) -> list[Record]:
        cols = _ATTACHMENT + (("data",) if data else ())
        sql = f"SELECT {', '.join(cols)} FROM {ATTACHMENT} {'WHERE ' + where if where else ''} ORDER BY id"
        return [dict(zip(cols, row, strict=True)) for row in self._conn.execute(sql, list(params))]

    def attachments(self, *, layer: str | None = None, record_uuids: Sequence[str] | None = None,
                    include_retired: bool = False) -> list[Record]:
        conds: list[str] = []
        params: list[Any] = []
        if layer is not None:
            record_type(layer)
            conds.append("layer = %s")
            params.append(layer)
        if record_uuids is not None:
            conds.append("record_uuid = ANY(%s::text[])")
            params.append(list(record_uuids))
        if not include_retired:
            conds.append("retired_at IS NULL")
        return self._attachments(" AND ".join(conds), params)

    def _attachment(self, uuid: str, *, data: bool = False) -> Record:
        rows = self._attachments("uuid = %s", (uuid,), data=data)
        if not rows:
            raise NotFoundError("attachment.not_found", f"No attachment with uuid {uuid}.",
                                hint="List a record's attachments with 'safeground attachments REF'.")
        return rows[0]

    def attachment_data(self, uuid: str) -> bytes:
        return bytes(self._attachment(uuid, data=True)["data"])

    def retire_attachment(self, uuid: str, reason: str, *, user: str) -> Record:
        if not reason or not reason.strip():
            raise ValidationError("record.retire_needs_reason", "An attachment can be retired only with a reason.",
                                  hint="Say why, e.g. 'wrong photo'.")
        with self.transaction():
            before = self._attachment(uuid)
            self._conn.execute(f"UPDATE {ATTACHMENT} SET retired_at = %s, retired_by = %s, retired_reason = %s "
                               "WHERE uuid = %s AND retired_at IS NULL", (now_iso(), user, reason, uuid))
            after = self._attachment(uuid)
            fid = self._conn.execute(f"SELECT record_fid FROM {ATTACHMENT} WHERE uuid = %s", (uuid,)).fetchone()[0]
            self._audit_attachment(after["layer"], int(fid), after["record_uuid"], "retire_attachment", user,
                                   before, after)
        return after

    # --- contamination risk runs ----------------------------------------------------------------------
    def write_risk_run(self, run: Mapping[str, Any], cells: Mapping[str, Sequence[Any]] | None, *,
                       user: str) -> Record:
        cell_ids: Sequence[Any] = cells["cell_id"] if cells else ()
        values = {"uuid": time_ordered(1)[0], "kind": run["kind"], "created_at": now_iso(), "created_by": user,
                  "as_of": run.get("as_of"), "cells_source": run["cells_source"],
                  "parameters": _dumps(run.get("parameters") or {}), "metrics": _dumps(run.get("metrics") or {}),
                  "model": run.get("model"), "served": run.get("served"), "cell_count": len(cell_ids)}
        with self.transaction():
            run_id = int(self._conn.execute(f"INSERT INTO safeground_risk_run ({', '.join(values)}) "
                                            f"VALUES ({', '.join(['%s'] * len(values))}) RETURNING id",
                                            list(values.values())).fetchone()[0])
            if cells:
                geoms = cells.get("geometry")
                hexes: Sequence[str | None] = [None] * len(cell_ids)
                if geoms is not None:
                    arr = np.asarray(geoms, dtype=object)
                    present = np.flatnonzero(~shapely.is_missing(arr))
                    hexes = [None] * len(arr)
                    for i, h in zip(present.tolist(), shapely.to_wkb(shapely.set_srid(arr[present], 4326), hex=True,
                                                                     include_srid=True).tolist(), strict=True):
                        hexes[i] = h
                copy_sql = "COPY safeground_risk_cell (run, position, cell_id, geometry, risk, reasons) FROM STDIN"
                with no_nul(), self._conn.cursor() as cur, cur.copy(copy_sql) as cp:
                    for i in range(len(cell_ids)):
                        reasons = cells["reasons"][i]
                        cp.write_row((run_id, i, str(cell_ids[i]), hexes[i], float(cells["risk"][i]),
                                      reasons if isinstance(reasons, str) else _dumps(reasons)))
        return self.risk_runs(run_id=run_id)[0]

    def risk_runs(self, *, run_id: int | None = None, kind: str | None = None,
                  current: bool | None = None) -> list[Record]:
        rows = select(self._conn, "safeground_risk_run", _RUN, {"id": run_id, "kind": kind, "current": current}, "id")
        for r in rows:
            r["parameters"] = json.loads(r["parameters"])
            r["metrics"] = json.loads(r["metrics"])
        return rows

    def risk_run_model(self, run_id: int) -> bytes | None:
        row = self._conn.execute("SELECT model FROM safeground_risk_run WHERE id = %s", (run_id,)).fetchone()
        if row is None:
            raise _no_run(run_id)
        return None if row[0] is None else bytes(row[0])

    def risk_cells(self, run_id: int) -> Iterator[Record]:
        rows = self._conn.execute("SELECT position, cell_id, ST_AsBinary(geometry), risk, reasons "
                                  "FROM safeground_risk_cell WHERE run = %s ORDER BY position", (run_id,)).fetchall()
        geoms = shapely.from_wkb(np.array([r[2] for r in rows], dtype=object)) if rows else []
        for k, (position, cell_id, _blob, risk, reasons) in enumerate(rows):
            yield {"position": position, "cell_id": cell_id, "geometry": geoms[k], "risk": risk,
                   "reasons": json.loads(reasons)}

    def adopt_risk_run(self, run_id: int, *, user: str) -> Record:
        with self.transaction():
            found = self.risk_runs(run_id=run_id)
            if not found:
                raise _no_run(run_id)
            self._conn.execute("LOCK TABLE safeground_risk_run IN SHARE ROW EXCLUSIVE MODE")
            before = self.risk_runs(current=True)
            stamp = now_iso()
            self._conn.execute("UPDATE safeground_risk_run SET current = false WHERE current")
            self._conn.execute("UPDATE safeground_risk_run SET current = true, adopted_at = %s, adopted_by = %s "
                               "WHERE id = %s", (stamp, user, run_id))
            after = self.risk_runs(run_id=run_id)[0]
            self._conn.execute(
                "INSERT INTO safeground_audit (layer, fid, uuid, op, actor, at, before, after) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                ("safeground_risk_run", run_id, after["uuid"], "risk_adopt", user, stamp,
                 as_jsonb({"current_run": before[0]["id"] if before else None}), as_jsonb({"current_run": run_id})))
        return after


def _no_run(run_id: int) -> NotFoundError:
    return NotFoundError("risk.run_not_found", f"There is no risk run {run_id}.",
                         hint="List the runs with 'safeground risk runs --db DB'.")
