"""Users, API tokens and area restrictions in the PostGIS store (tables of migration 8).

The GeoPackage store's semantics (``gpkg_users.py``): reads never hand out hashes but through
:meth:`user_credentials`; every change writes an audit row (layer ``safeground_user``) with the acting user and
the values before and after, never a hash. Adding a user takes a lock on its name, so two servers adding the
same username at once give one user and one ``user.exists``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from safeground.domain.errors import ConflictError, NotFoundError
from safeground.domain.timestamps import now_iso
from safeground.domain.uuids import time_ordered
from safeground.store.base import Record
from safeground.store.postgis_tables import as_jsonb, select

USER_LAYER = "safeground_user"
_USER = ("id", "uuid", "username", "display_name", "role", "created_at", "created_by", "updated_at", "retired_at",
         "retired_reason")
_TOKEN = ("id", "uuid", "user_uuid", "name", "created_at", "created_by", "last_used_at", "revoked_at", "revoked_by")
_USER_CHANGES = frozenset({"display_name", "role", "password_hash", "retired_at", "retired_reason", "areas"})


class PostGISUsers:
    """The user half of :class:`~safeground.store.postgis.PostGISStore` (a mixin over its connection)."""

    _conn: Any

    def transaction(self) -> AbstractContextManager[None]:  # pragma: no cover - provided by the store
        raise NotImplementedError

    # --- users -----------------------------------------------------------------------------------------
    def add_user(self, row: Mapping[str, Any], *, user: str) -> Record:
        stamp = now_iso()
        values = {"uuid": time_ordered(1)[0], "username": row["username"], "display_name": row.get("display_name"),
                  "role": row["role"], "password_hash": row.get("password_hash"), "created_at": stamp,
                  "created_by": user, "updated_at": stamp}
        with self.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(7400514, hashtext(%s))", (row["username"],))
            if self._conn.execute("SELECT 1 FROM safeground_user WHERE username = %s", (row["username"],)).fetchone():
                raise ConflictError("user.exists", f"A user named {row['username']!r} exists already.",
                                    hint="Choose another username; a retired user keeps its name, so that the "
                                         "audit log keeps meaning one person.")
            user_id = self._conn.execute(f"INSERT INTO safeground_user ({', '.join(values)}) "
                                         f"VALUES ({', '.join(['%s'] * len(values))}) RETURNING id",
                                         list(values.values())).fetchone()[0]
            self._write_areas(str(values["uuid"]), row.get("areas") or ())
            after = self._user(uuid=str(values["uuid"]))
            self._audit(int(user_id), after["uuid"], "user_add", user, None,
                        {**after, "password_set": values["password_hash"] is not None})
        return after

    def users(self, *, username: str | None = None, uuid: str | None = None) -> list[Record]:
        rows = select(self._conn, "safeground_user", _USER, {"username": username, "uuid": uuid}, "username")
        one = username is not None or uuid is not None
        areas: dict[str, list[str]] = {}
        area_sql = "SELECT user_uuid, code FROM safeground_user_area"
        if one:  # one user: its own rows only (sign-in runs this on every API request)
            area_sql += " WHERE user_uuid = ANY(%s::text[])"
        for user_uuid, code in self._conn.execute(area_sql + " ORDER BY code",
                                                  [[r["uuid"] for r in rows]] if one else []):
            areas.setdefault(user_uuid, []).append(code)
        for r in rows:
            r["areas"] = areas.get(r["uuid"], [])
        return rows

    def user_credentials(self, username: str) -> tuple[Record, str | None] | None:
        row = self._conn.execute("SELECT uuid, password_hash FROM safeground_user WHERE username = %s",
                                 (username,)).fetchone()
        if row is None:
            return None
        return self._user(uuid=row[0]), row[1]

    def update_user(self, uuid: str, changes: Mapping[str, Any], *, user: str, op: str) -> Record:
        unknown = set(changes) - _USER_CHANGES
        if unknown:
            raise ValueError(f"not a user field: {sorted(unknown)}")
        with self.transaction():
            before = self._user(uuid=uuid)
            columns = {k: v for k, v in changes.items() if k != "areas"}
            if columns:
                sets = ", ".join(f"{k} = %s" for k in columns)
                self._conn.execute(f"UPDATE safeground_user SET {sets}, updated_at = %s WHERE uuid = %s",
                                   [*columns.values(), now_iso(), uuid])
            if "areas" in changes:
                self._conn.execute("DELETE FROM safeground_user_area WHERE user_uuid = %s", (uuid,))
                self._write_areas(uuid, changes["areas"])
            after = self._user(uuid=uuid)
            extra = {"password_changed": True} if "password_hash" in changes else {}
            self._audit(int(before["id"]), uuid, op, user, before, {**after, **extra})
        return after

    def _user(self, *, uuid: str) -> Record:
        rows = self.users(uuid=uuid)
        if not rows:
            raise NotFoundError("user.not_found", f"No user with uuid {uuid}.",
                                hint="List users with 'safeground users list'.")
        return rows[0]

    def _write_areas(self, uuid: str, codes: Sequence[str]) -> None:
        if codes:
            with self._conn.cursor() as cur:
                cur.executemany("INSERT INTO safeground_user_area (user_uuid, code) VALUES (%s, %s) "
                                "ON CONFLICT DO NOTHING", [(uuid, c) for c in codes])

    # --- API tokens --------------------------------------------------------------------------------------
    def add_api_token(self, row: Mapping[str, Any], *, user: str) -> Record:
        values = {"uuid": time_ordered(1)[0], "user_uuid": row["user_uuid"], "name": row.get("name"),
                  "token_sha256": row["token_sha256"], "created_at": now_iso(), "created_by": user}
        with self.transaction():
            owner = self._user(uuid=str(row["user_uuid"]))
            self._conn.execute(f"INSERT INTO safeground_api_token ({', '.join(values)}) "
                               f"VALUES ({', '.join(['%s'] * len(values))})", list(values.values()))
            token = self.api_tokens(uuid=str(values["uuid"]))[0]
            self._audit(int(owner["id"]), owner["uuid"], "token_create", user, None, token)
        return token

    def api_tokens(self, *, user_uuid: str | None = None, uuid: str | None = None,
                   token_sha256: str | None = None) -> list[Record]:
        return select(self._conn, "safeground_api_token", _TOKEN,
                           {"user_uuid": user_uuid, "uuid": uuid, "token_sha256": token_sha256}, "id")

    def revoke_api_tokens(self, uuids: Sequence[str], *, user: str) -> list[Record]:
        stamp = now_iso()
        out = []
        with self.transaction():
            for uuid in uuids:
                found = self.api_tokens(uuid=uuid)
                if not found:
                    raise NotFoundError("token.not_found", f"No API token with id {uuid}.",
                                        hint="List a user's tokens with 'safeground users tokens USERNAME'.")
                before = found[0]
                if before["revoked_at"] is not None:
                    out.append(before)
                    continue
                self._conn.execute("UPDATE safeground_api_token SET revoked_at = %s, revoked_by = %s WHERE uuid = %s",
                                   (stamp, user, uuid))
                after = self.api_tokens(uuid=uuid)[0]
                owner = self._user(uuid=after["user_uuid"])
                self._audit(int(owner["id"]), owner["uuid"], "token_revoke", user, before, after)
                out.append(after)
        return out

    def touch_api_token(self, uuid: str, at: str) -> None:
        """Bookkeeping, not a change of data: ``last_used_at`` is set without an audit row."""
        with self.transaction():
            self._conn.execute("UPDATE safeground_api_token SET last_used_at = %s WHERE uuid = %s", (at, uuid))

    def user_changes(self, uuid: str) -> Iterator[Record]:
        """The audit rows of one user, oldest first (the changes to the account, not the user's own edits)."""
        sql = ("SELECT seq, op, actor, at, before, after FROM safeground_audit WHERE layer = %s AND uuid = %s "
               "ORDER BY seq")
        for seq, op, actor, at, before, after in self._conn.execute(sql, (USER_LAYER, uuid)).fetchall():
            yield {"seq": seq, "op": op, "actor": actor, "at": at, "before": before, "after": after}

    def _audit(self, fid: int, uuid: str, op: str, user: str, before: Mapping[str, Any] | None,
               after: Mapping[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO safeground_audit (layer, fid, uuid, op, actor, at, before, after) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (USER_LAYER, fid, uuid, op, user, now_iso(), as_jsonb(before) if before else None, as_jsonb(after)))
