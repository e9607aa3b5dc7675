"""The offline field sync's own tables (migration 12), shared by both stores (a mixin over the connection).

``safeground_sync`` holds one row per field copy made or merge applied, ``safeground_sync_record`` the version
each record of a field copy had on the server (at copy time, then at each merge), ``safeground_sync_conflict``
the records a merge found changed on both sides. The SQL is written once with ``?`` parameters; the PostGIS
store's driver takes ``%s``, and its audit log's ``before``/``after`` are ``jsonb``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from safeground.domain.errors import ConflictError, NotFoundError
from safeground.domain.timestamps import now_iso
from safeground.store.base import Record

_SYNC = ("id", "kind", "status", "server", "field_copy", "area", "username", "role", "server_seq", "field_seq",
         "started_at", "finished_at", "summary")
_CONFLICT = ("id", "sync_id", "layer", "uuid", "ref", "base_version", "server_version", "server_record",
             "field_record", "field_changes", "created_at", "created_by", "status", "resolution", "resolved_by",
             "resolved_at", "result_version")
_JSON_COLUMNS = ("summary", "server_record", "field_record", "field_changes")


class SyncTables:
    """Rows of the sync tables; the store gives ``_conn``, ``transaction`` and its parameter style."""

    _conn: Any
    #: The driver's parameter marker, and the expression that binds a JSON document to the audit log.
    _MARK = "?"
    _JSON_MARK = "?"

    def transaction(self) -> AbstractContextManager[None]:  # pragma: no cover - the store's own
        raise NotImplementedError

    def _run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql.replace("?", self._MARK), tuple(params))

    def write_sync(self, row: Mapping[str, Any]) -> None:
        """Insert or replace the sync row ``row["id"]`` (``summary`` a dict, kept as JSON)."""
        values = [json.dumps(row.get(c), ensure_ascii=False, sort_keys=True, default=str) if c == "summary"
                  and row.get(c) is not None else row.get(c) for c in _SYNC]
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _SYNC[1:])
        with self.transaction():
            self._run(f"INSERT INTO safeground_sync ({', '.join(_SYNC)}) VALUES ({', '.join('?' * len(_SYNC))}) "
                      f"ON CONFLICT (id) DO UPDATE SET {updates}", values)

    def syncs(self, *, sync_id: str | None = None, kind: str | None = None,
              status: str | None = None) -> list[Record]:
        """Sync rows, oldest first (``summary`` decoded)."""
        conds = [(c, v) for c, v in (("id", sync_id), ("kind", kind), ("status", status)) if v is not None]
        sql = f"SELECT {', '.join(_SYNC)} FROM safeground_sync"
        if conds:
            sql += " WHERE " + " AND ".join(f"{c} = ?" for c, _ in conds)
        rows = [dict(zip(_SYNC, r, strict=True)) for r in self._run(sql + " ORDER BY started_at, id",
                                                                   [v for _, v in conds])]
        for r in rows:
            r["summary"] = json.loads(r["summary"]) if r["summary"] else None
        return rows

    def write_sync_versions(self, rows: Sequence[tuple[str, str, int]], *, sync_id: str) -> None:
        """Remember, for a field copy, the server version of each record ``(layer, uuid, version)``."""
        with self.transaction():
            for layer, uuid, version in rows:
                self._run("INSERT INTO safeground_sync_record (layer, uuid, version, sync_id) VALUES (?, ?, ?, ?) "
                          "ON CONFLICT (layer, uuid) DO UPDATE SET version = EXCLUDED.version, "
                          "sync_id = EXCLUDED.sync_id", (layer, uuid, int(version), sync_id))

    def sync_versions(self) -> dict[tuple[str, str], int]:
        """The server version each record of a field copy had when copied or last merged, by (layer, uuid)."""
        return {(r[0], r[1]): int(r[2]) for r in self._run("SELECT layer, uuid, version FROM safeground_sync_record")}

    def write_conflicts(self, rows: Sequence[Mapping[str, Any]], *, user: str) -> list[int]:
        """Keep conflicts (sync_id, layer, uuid, ref, base_version, server_version, server_record, field_record,
        field_changes; the last three dicts); return their ids."""
        ids: list[int] = []
        cols = _CONFLICT[1:12]
        with self.transaction():
            for row in rows:
                fixed = {"created_at": now_iso(), "created_by": user}
                values = [json.dumps(row[c], ensure_ascii=False, sort_keys=True, default=str) if c in _JSON_COLUMNS
                          else fixed[c] if c in fixed else row[c] for c in cols]
                cur = self._run(f"INSERT INTO safeground_sync_conflict ({', '.join(cols)}) "
                                f"VALUES ({', '.join('?' * len(cols))}) RETURNING id", values)
                ids.append(int(cur.fetchone()[0]))
        return ids

    def conflicts(self, *, conflict_id: int | None = None, status: str | None = None,
                  sync_id: str | None = None) -> list[Record]:
        """Conflicts, oldest first, the records and changes decoded."""
        conds = [(c, v) for c, v in (("id", conflict_id), ("status", status), ("sync_id", sync_id)) if v is not None]
        sql = f"SELECT {', '.join(_CONFLICT)} FROM safeground_sync_conflict"
        if conds:
            sql += " WHERE " + " AND ".join(f"{c} = ?" for c, _ in conds)
        rows = [dict(zip(_CONFLICT, r, strict=True)) for r in self._run(sql + " ORDER BY id", [v for _, v in conds])]
        for r in rows:
            for c in _JSON_COLUMNS[1:]:
                r[c] = json.loads(r[c])
        return rows

    def resolve_conflict(self, conflict_id: int, resolution: str, *, user: str,
                         result_version: int | None) -> Record:
        """Mark an open conflict resolved (``server``, ``field`` or ``merged``), by whom and when, and audit it;
        ``conflicts.unknown`` (404) or ``conflicts.resolved`` (409) otherwise."""
        with self.transaction():
            found = self.conflicts(conflict_id=conflict_id)
            if not found:
                raise NotFoundError("conflicts.unknown", f"No conflict {conflict_id}.",
                                    hint="List them with 'safeground conflicts list'.")
            before = found[0]
            if before["status"] != "open":
                raise ConflictError("conflicts.resolved",
                                    f"Conflict {conflict_id} was resolved by {before['resolved_by']} at "
                                    f"{before['resolved_at']} (kept {before['resolution']}).",
                                    hint="Nothing to do; edit the record itself to change it again.")
            stamp = now_iso()
            self._run("UPDATE safeground_sync_conflict SET status = 'resolved', resolution = ?, resolved_by = ?, "
                      "resolved_at = ?, result_version = ? WHERE id = ?",
                      (resolution, user, stamp, result_version, conflict_id))
            after = {"status": "resolved", "resolution": resolution, "resolved_by": user, "resolved_at": stamp,
                     "result_version": result_version, "layer": before["layer"], "uuid": before["uuid"]}
            self._run("INSERT INTO safeground_audit (layer, fid, uuid, op, actor, import_run, at, before, after) "
                      f"VALUES ('safeground_sync_conflict', ?, ?, 'resolve_conflict', ?, ?, ?, {self._JSON_MARK}, "
                      f"{self._JSON_MARK})",
                      (conflict_id, before["uuid"], user, before["sync_id"], stamp,
                       json.dumps({"status": "open"}), json.dumps(after)))
        return self.conflicts(conflict_id=conflict_id)[0]
