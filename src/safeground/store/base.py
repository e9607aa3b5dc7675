"""The Store interface: everything above the storage layer talks to this, never to SQL.

A backend (the embedded GeoPackage today, PostGIS later) implements these methods. Records
come back as plain dicts of field name to value, with the geometry (a shapely object in
WGS84) under ``"geometry"``. Field names in filters are checked against the record
declarations, and values always travel as query parameters.

Filters (``where``) map a field to a value (equality), a list (membership), or a pair
``(op, value)`` with ``op`` one of ``= != < <= > >= in not_in is_null not_null``.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from safeground.geo.measure import areas_m2

Record = dict[str, Any]
Where = Mapping[str, Any]

#: Conditions a ``Where`` may hold per field: ``value`` (equals), ``[values]`` (in), ``None`` (is null), or
#: ``(operator, value)``; ``("between", (low, high))`` includes both ends, and either may be ``None`` (open).
OPERATORS = frozenset({"=", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_null", "not_null", "between"})


@dataclass(frozen=True)
class Change:
    """One audit row: what changed, who did it, and the values before and after."""

    seq: int
    layer: str
    fid: int
    uuid: str | None
    op: str
    actor: str | None
    import_run: str | None
    at: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass
class Batch:
    """Column-oriented rows for a bulk insert: ``columns[field][i]`` and ``geometry[i]`` (WGS84)."""

    columns: Mapping[str, Sequence[Any]]
    geometry: np.ndarray | None = None

    def __len__(self) -> int:
        if self.geometry is not None:
            return len(self.geometry)
        return len(next(iter(self.columns.values()))) if self.columns else 0

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]]) -> Batch:
        """Build a batch from dicts; the key ``geometry`` holds the shapely geometry."""
        names = sorted({k for r in records for k in r if k != "geometry"})
        columns = {n: [r.get(n) for r in records] for n in names}
        geoms = None
        if any("geometry" in r for r in records) or (records and not names):  # empty dicts: keep their count
            geoms = np.array([r.get("geometry") for r in records], dtype=object)
        return cls(columns, geoms)


def change_mark(seq: int, at: str, layer: str, fid: int) -> str:
    """One audit row's identity: its number, time, layer and feature id (``"0"`` stands for an empty log).

    >>> change_mark(12, "2026-11-29T02:45:08.864Z", "hazard_area", 3)
    '12/2026-11-29T02:45:08.864Z/hazard_area/3'
    """
    return f"{seq}/{at}/{layer}/{fid}"


def ref_number(records: Sequence[Mapping[str, Any]]) -> int:
    """The highest number ending the records' refs (``HA-000012`` → 12), 0 when none: a store that copies records
    numbers its own new ones after it.

    >>> ref_number([{"ref": "HA-000012"}, {"ref": "HA-000003"}, {"ref": None}])
    12
    """
    numbers = [int(m.group(1)) for r in records if (m := re.search(r"(\d+)$", str(r.get("ref") or "")))]
    return max(numbers, default=0)


class Store(abc.ABC):
    """Abstract storage backend. Use as a context manager; ``close()`` makes the database complete."""

    #: Opened so that nothing can be written (``open_store(..., read_only=True)``).
    read_only: bool = False

    # --- lifecycle -------------------------------------------------------------------------------
    @abc.abstractmethod
    def close(self) -> None:
        """Finish: checkpoint and release the database."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """All writes inside happen atomically; nested calls join the outer transaction."""

    @abc.abstractmethod
    def savepoint(self) -> AbstractContextManager[None]:
        """Writes inside are undone on their own when it raises; the enclosing transaction goes on."""

    def bulk_load(self) -> AbstractContextManager[None]:
        """A transaction for loading many rows; a backend may defer index work to its end (same guarantees)."""
        return self.transaction()

    @property
    @abc.abstractmethod
    def schema_version(self) -> int: ...

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """The path or URL of the database (without a password), for messages."""

    @property
    def side_path(self) -> Path:
        """The path that files kept beside the database are named after (``<side_path>.tiles``, the demo's
        ``.truth.gpkg``): the GeoPackage itself; a server database names them ``<database>.gpkg`` in the
        working folder."""
        return Path(self.location)

    # --- configuration ---------------------------------------------------------------------------
    @abc.abstractmethod
    def read_config_text(self) -> str | None:
        """The stored YAML configuration document, or ``None`` if never set."""

    @abc.abstractmethod
    def write_config_text(self, text: str, user: str) -> None: ...

    # --- writes ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def insert(self, layer: str, batch: Batch, *, user: str, import_run: str | None = None,
               review_state: str = "submitted") -> list[str]:
        """Insert validated rows; return their new uuids. Refs, versions and timestamps are set here."""

    @abc.abstractmethod
    def update(self, layer: str, uuid: str, changes: Mapping[str, Any], *, user: str,
               expected_version: int | None = None) -> Record:
        """Change one record; a stale ``expected_version`` raises ``store.version_conflict``.

        ``changes`` may hold declared fields (managed ones included: this is the services' door)
        and ``geometry``. Returns the updated record.
        """

    @abc.abstractmethod
    def update_many(self, layer: str, uuids: Sequence[str], columns: Mapping[str, Sequence[Any]], *,
                    user: str) -> int:
        """Bulk update: set ``columns[f][i]`` on the record ``uuids[i]``; return rows changed.

        No version check: for system recomputations (remaining area, release status)."""

    @abc.abstractmethod
    def write_import_run(self, run: Mapping[str, Any]) -> None:
        """Insert or replace an import run's summary (id, layer, source, format, times, counts, report)."""

    @abc.abstractmethod
    def import_runs(self) -> list[Record]:
        """Every import run's summary, oldest first, with its ``report`` decoded."""

    @abc.abstractmethod
    def write_quarantine(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Keep rows that failed validation: import_run, layer, source, source_row, code, reason, hint, raw."""

    @abc.abstractmethod
    def quarantined(self, *, import_run: str | None = None, source: str | None = None,
                    ids: Sequence[int] | None = None) -> list[Record]:
        """Quarantined rows not yet resolved, oldest first (``raw`` decoded from JSON)."""

    @abc.abstractmethod
    def requarantine(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """A quarantined row that failed again: entry ``id`` gets the new import_run, code, reason, hint, raw."""

    @abc.abstractmethod
    def resolve_quarantine(self, resolved: Sequence[tuple[int, str, str]], *, import_run: str, user: str) -> None:
        """Entries ``(id, layer, uuid)`` became that record: marked resolved and linked to it, never deleted."""

    @abc.abstractmethod
    def stage_source_rows(self, layer: str, uuids: Sequence[str], rows: Sequence[str]) -> None:
        """Remember, for this transaction, the source row (as one text) each new record came from."""

    @abc.abstractmethod
    def link_exact_duplicates(self, import_run: str, reason: str) -> int:
        """Flag each staged record whose source row equals an earlier staged one of the same layer as a proposed
        duplicate of the first (kind ``exact_source_row``); forget the staged rows; return how many links."""

    @abc.abstractmethod
    def write_duplicate_links(self, links: Sequence[Mapping[str, Any]]) -> None:
        """Record that ``uuid`` may duplicate ``duplicate_of`` (layer, kind, reason, import_run; status proposed)."""

    @abc.abstractmethod
    def duplicate_links(self, *, layer: str | None = None, status: str | None = None,
                        link_id: int | None = None) -> list[Record]:
        """Duplicate links, oldest first, with ``id``, ``decided_by`` and ``decided_at``."""

    @abc.abstractmethod
    def decide_duplicate_link(self, link_id: int, status: str, *, user: str) -> None:
        """Set a link's status (confirmed or rejected), who decided and when."""

    @abc.abstractmethod
    def replace_minefield_matches(self, record: str, matches: Sequence[Mapping[str, Any]], *, search_m: float) -> None:
        """Replace the derived matches of minefield record ``record`` (layer, uuid, inside, distance_m,
        overlap_m2, quantity), computed with search distance ``search_m``."""

    @abc.abstractmethod
    def minefield_matches(self, record: str | None = None, *, counted: Sequence[str] | None = None) -> list[Record]:
        """Stored minefield-record matches, of one record or of all, in record order.

        ``counted`` keeps only matches whose activity or device is not retired and has one of these review
        states (the join is done by the database: statistics read only what counts)."""

    @abc.abstractmethod
    def write_publication(self, publication: Mapping[str, Any], *, user: str) -> Record:
        """Keep a year's frozen figures as its next version (1 for a year never published) and audit it.

        ``publication`` holds year, note, official_only, fingerprint, fingerprint_layers (a dict) and figures
        (a dict). The store adds id, uuid, version, published_at, published_by and ``audit_seq`` (the last
        audit row before it: later rows are revisions). Returns the stored row, as :meth:`publications` does."""

    @abc.abstractmethod
    def publications(self, *, year: int | None = None, version: int | None = None,
                     figures: bool = False) -> list[Record]:
        """Publications by year then version; ``figures`` (the frozen documents) only when asked for."""

    @abc.abstractmethod
    def retire(self, layer: str, uuid: str, reason: str, *, user: str,
               expected_version: int | None = None) -> Record:
        """Retire a record (nothing is ever hard-deleted)."""

    # --- attachments -------------------------------------------------------------------------------
    @abc.abstractmethod
    def add_attachment(self, layer: str, record_uuid: str, file_name: str, content_type: str, data: bytes, *,
                       user: str, personal: bool = False, source: str | None = None) -> Record:
        """Store a file with a record; return its metadata (uuid, size, sha256, ...), never the bytes.

        The same bytes under the same name on the same record are kept once: that attachment comes back."""

    @abc.abstractmethod
    def attachments(self, *, layer: str | None = None, record_uuids: Sequence[str] | None = None,
                    include_retired: bool = False) -> list[Record]:
        """Attachment metadata (no bytes), oldest first."""

    @abc.abstractmethod
    def attachment_data(self, uuid: str) -> bytes:
        """The bytes of one attachment; ``attachment.not_found`` if absent."""

    @abc.abstractmethod
    def retire_attachment(self, uuid: str, reason: str, *, user: str) -> Record:
        """Retire an attachment with a reason (nothing is ever hard-deleted)."""

    # --- users, API tokens, area restrictions (never handed out with their hashes) -----------------------
    @abc.abstractmethod
    def add_user(self, row: Mapping[str, Any], *, user: str) -> Record:
        """Add a user (username, display_name, role, password_hash, areas) and audit it; ``user.exists`` when
        the username is taken, retired users included. Returns the user as :meth:`users` does."""

    @abc.abstractmethod
    def users(self, *, username: str | None = None, uuid: str | None = None) -> list[Record]:
        """Users by username, retired ones included, each with its ``areas``; never a hash."""

    @abc.abstractmethod
    def user_credentials(self, username: str) -> tuple[Record, str | None] | None:
        """The user and its password hash, for checking a password; ``None`` for an unknown username."""

    @abc.abstractmethod
    def update_user(self, uuid: str, changes: Mapping[str, Any], *, user: str, op: str) -> Record:
        """Change display_name, role, password_hash, retired_at/retired_reason or areas; audited as ``op``."""

    @abc.abstractmethod
    def add_api_token(self, row: Mapping[str, Any], *, user: str) -> Record:
        """Keep a token's hash (user_uuid, name, token_sha256) and audit it; returns it without the hash."""

    @abc.abstractmethod
    def api_tokens(self, *, user_uuid: str | None = None, uuid: str | None = None,
                   token_sha256: str | None = None) -> list[Record]:
        """API tokens, oldest first, without their hashes (``token_sha256`` only selects)."""

    @abc.abstractmethod
    def revoke_api_tokens(self, uuids: Sequence[str], *, user: str) -> list[Record]:
        """Revoke tokens (already revoked ones are left as they are); ``token.not_found`` for an unknown id."""

    @abc.abstractmethod
    def touch_api_token(self, uuid: str, at: str) -> None:
        """Set a token's ``last_used_at`` (bookkeeping: not audited)."""

    @abc.abstractmethod
    def user_changes(self, uuid: str) -> Iterator[Record]:
        """The audit rows of one user account, oldest first: seq, op, actor, at, before, after."""

    # --- contamination risk runs (migration 9) --------------------------------------------------------
    @abc.abstractmethod
    def write_risk_run(self, run: Mapping[str, Any], cells: Mapping[str, Sequence[Any]] | None, *,
                       user: str) -> Record:
        """Store a run (kind, as_of, cells_source, parameters, metrics, model bytes, served) and its cells
        (columns ``cell_id``, ``risk``, ``reasons``, optional ``geometry`` in WGS84), in input order, in one
        transaction. A new run is never current. Returns the run as :meth:`risk_runs` does."""

    @abc.abstractmethod
    def risk_runs(self, *, run_id: int | None = None, kind: str | None = None,
                  current: bool | None = None) -> list[Record]:
        """Runs, oldest first, with parameters and metrics decoded; never the model bytes."""

    @abc.abstractmethod
    def risk_run_model(self, run_id: int) -> bytes | None:
        """A run's stored model (``risk.run_not_found`` for an unknown run)."""

    @abc.abstractmethod
    def risk_cells(self, run_id: int) -> Iterator[Record]:
        """A run's cells in input order: position, cell_id, geometry (or ``None``), risk, reasons."""

    @abc.abstractmethod
    def adopt_risk_run(self, run_id: int, *, user: str) -> Record:
        """Make a run the only current one, audited; the service decides which runs may be adopted."""

    # --- clearance plan runs (migration 10) ------------------------------------------------------------
    @abc.abstractmethod
    def write_plan_run(self, run: Mapping[str, Any], items: Sequence[Mapping[str, Any]], *, user: str) -> Record:
        """Store a plan run (kind ``plan`` or ``what_if``, label, start_date, horizon_weeks, parameters, value,
        greedy_value, bound, gap, solve_seconds, bound_seconds, status ``optimal`` or ``feasible``, targets) and its
        items (team_uuid, team_ref, hazard_uuid, hazard_ref, start_week, end_week, area_m2, method,
        released_week) in order, in one transaction. A new run is never current. Returns it as :meth:`plan_runs`."""

    @abc.abstractmethod
    def plan_runs(self, *, run_id: int | None = None, kind: str | None = None,
                  current: bool | None = None) -> list[Record]:
        """Plan runs, oldest first, with parameters and targets decoded (no items)."""

    @abc.abstractmethod
    def plan_items(self, run_id: int) -> list[Record]:
        """A run's items in plan order (``plan.run_not_found`` for an unknown run)."""

    @abc.abstractmethod
    def adopt_plan_run(self, run_id: int, *, user: str) -> Record:
        """Make a run the only current plan, audited; the service decides which runs may be adopted."""

    # --- offline field sync (migration 12) ----------------------------------------------------------
    @abc.abstractmethod
    def insert_copies(self, layer: str, records: Sequence[Mapping[str, Any]]) -> None:
        """Insert records exactly as another SafeGround database holds them, for a field copy: fid, uuid, ref,
        version, review state, who and when, retirement and every field (a field left out is null); audited as
        inserts by their creators. Later new records get fids (and refs) after the copied ones."""

    @abc.abstractmethod
    def write_sync(self, row: Mapping[str, Any]) -> None:
        """Insert or replace the sync row ``row["id"]``: kind (copy, merge), status (started, done), server,
        field_copy, area, username, role, server_seq, field_seq, started_at, finished_at, summary (a dict)."""

    @abc.abstractmethod
    def syncs(self, *, sync_id: str | None = None, kind: str | None = None,
              status: str | None = None) -> list[Record]:
        """Sync rows, oldest first, ``summary`` decoded."""

    @abc.abstractmethod
    def write_sync_versions(self, rows: Sequence[tuple[str, str, int]], *, sync_id: str) -> None:
        """A field copy remembers the server version of each record, ``(layer, uuid, version)``."""

    @abc.abstractmethod
    def sync_versions(self) -> dict[tuple[str, str], int]:
        """The server version of each record of a field copy, by ``(layer, uuid)``."""

    @abc.abstractmethod
    def write_conflicts(self, rows: Sequence[Mapping[str, Any]], *, user: str) -> list[int]:
        """Keep records changed on both sides (sync_id, layer, uuid, ref, base_version, server_version,
        server_record, field_record, field_changes); return their ids."""

    @abc.abstractmethod
    def conflicts(self, *, conflict_id: int | None = None, status: str | None = None,
                  sync_id: str | None = None) -> list[Record]:
        """Conflicts, oldest first."""

    @abc.abstractmethod
    def resolve_conflict(self, conflict_id: int, resolution: str, *, user: str,
                         result_version: int | None) -> Record:
        """Mark a conflict resolved (server, field or merged), audited; ``conflicts.unknown``,
        ``conflicts.resolved``."""

    # --- reads -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def get(self, layer: str, uuid: str) -> Record:
        """One record by uuid, retired or not; ``record.not_found`` if absent."""

    @abc.abstractmethod
    def query(self, layer: str, *, where: Where | None = None, bbox: tuple[float, float, float, float] | None = None,
              include_retired: bool = False, order_by: str | None = None, limit: int | None = None,
              offset: int = 0, geometry: bool = True, fields: Sequence[str] | None = None) -> list[Record]:
        """Records matching attribute filters and a WGS84 bounding box (minx, miny, maxx, maxy).

        ``fields`` reads only those fields (with ``uuid`` and ``ref``), for checks over whole layers."""

    @abc.abstractmethod
    def count(self, layer: str, *, where: Where | None = None, include_retired: bool = True,
              bbox: tuple[float, float, float, float] | None = None) -> int:
        """How many records match, as :meth:`query` would return them (but retired ones count by default)."""

    def extent(self, layer: str, *, where: Where | None = None,
               include_retired: bool = False) -> tuple[float, float, float, float] | None:
        """The bounding box (minx, miny, maxx, maxy, WGS84) of the matching records' geometries; ``None``
        when none has one. This default reads the geometries; a store with a spatial index reads its boxes."""
        rows = self.query(layer, where=where, include_retired=include_retired, fields=[])
        geoms = [r["geometry"] for r in rows if r.get("geometry") is not None]
        if not geoms:
            return None
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        return float(minx), float(miny), float(maxx), float(maxy)

    def remaining_areas(self, hazards: Sequence[str]) -> dict[str, float]:
        """Remaining area in m² of each hazard area (by uuid, retired ones too; unknown uuids are left out): its
        polygon minus its released polygons (``release_status`` released, not retired), measured in the UTM zone
        of the remainder's centroid (0 when nothing remains). This default subtracts with shapely, released
        polygon after released polygon, every hazard at once; a spatial database computes it in SQL."""
        wanted = sorted(set(hazards))
        if not wanted:
            return {}
        rows = self.query("hazard_area", where={"uuid": wanted}, include_retired=True, fields=[])
        released: dict[str, list[shapely.Geometry]] = {r["uuid"]: [] for r in rows}
        for r in self.query("released_area", where={"hazard": wanted, "release_status": "released"},
                            fields=["hazard"]):
            released[r["hazard"]].append(r["geometry"])
        order = [r["uuid"] for r in rows]
        remaining = np.array([r["geometry"] for r in rows], dtype=object)
        for k in range(max((len(v) for v in released.values()), default=0)):
            sel = np.array([i for i, u in enumerate(order) if len(released[u]) > k], dtype=np.intp)
            cut = np.array([released[order[i]][k] for i in sel], dtype=object)
            remaining[sel] = shapely.difference(remaining[sel], cut)
        return dict(zip(order, areas_m2(remaining).tolist(), strict=True))

    def vector_tile(self, name: str, layer: str, fields: Sequence[str], z: int, x: int, y: int, *,
                    where: Where | None = None, area: shapely.Geometry | None = None, extent: int = 4096,
                    buffer: int = 64, simplification: float = 0.0) -> bytes | None:
        """One MVT layer ``name`` of tile ``z/x/y`` (XYZ, Web Mercator) encoded by the database itself: the
        records of ``layer`` (not retired) matching ``where`` and meeting ``area`` (WGS84), with ``fields``, clipped
        to the tile plus ``buffer`` grid units, simplified by ``simplification`` grid units; ``b""`` when empty.
        ``None`` says this store does not encode tiles (the caller encodes the records it reads)."""
        return None

    @abc.abstractmethod
    def aggregate(self, layer: str, *, group_by: Sequence[str] = (),
                  metrics: Mapping[str, tuple[str, str]] | None = None,
                  where: Where | None = None, include_retired: bool = False) -> list[Record]:
        """Grouped aggregates. ``metrics`` maps an output name to ``(fn, field)`` with fn in
        count, sum, min, max; the default is ``{"count": ("count", "*")}``."""

    @abc.abstractmethod
    def within_distance(self, layer: str, geom: shapely.Geometry, metres: float, *, where: Where | None = None,
                        include_retired: bool = False) -> list[Record]:
        """Records within ``metres`` of ``geom`` (WGS84), nearest first, each with ``distance_m``."""

    @abc.abstractmethod
    def existing_uuids(self, layer: str, uuids: Sequence[str]) -> set[str]:
        """Which of ``uuids`` exist in ``layer``."""

    @abc.abstractmethod
    def changes_since(self, seq: int = 0, *, limit: int | None = None) -> Iterator[Change]:
        """Audit rows with a sequence number above ``seq``, in order. Numbers follow commit order, so a reader
        that keeps the last number it read as its high-water mark never skips a change committed later."""

    @abc.abstractmethod
    def record_changes(self, layer: str, uuid: str) -> list[Change]:
        """The audit rows of one record, oldest first (its history); ``record.not_found`` if absent."""

    @abc.abstractmethod
    def last_change_seq(self) -> int:
        """The sequence number of the latest audit row (0 when none): what :meth:`changes_since` continues from."""

    @abc.abstractmethod
    def last_change_mark(self) -> str:
        """The :func:`change_mark` of the latest audit row (``"0"`` when none), in one indexed read. A cache that
        keeps the mark of the last change it reflects can tell a log that went on from one that was rewound
        (a point-in-time recovery, a restored backup) and written again up to the same number."""

    @abc.abstractmethod
    def backup(self, target: str) -> None:
        """A consistent copy of the whole database at ``target``."""
