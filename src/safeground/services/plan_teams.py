"""``plan make --teams TEAMS.csv``: import or update clearance teams in the ``team`` layer (issue 7 §2).

One row per team. Columns (names as here, any order; extra columns are ignored and reported):

- ``ref`` (optional): an existing team's ref (TM-000001) to update; without it a team of the same ``name``
  (not retired) is updated, and otherwise a new one is created;
- ``name``, ``method`` (``manual``, ``mechanical``, ``mdd``, ``bac``; the ``team_method`` vocabulary),
  ``capacity_m2_week`` (m² of standard terrain a week, > 0), ``lon`` and ``lat`` of its base (WGS84);
- ``organisation``: ref, uuid, acronym or name of an organisation (needed for a new team);
- ``available_from``, ``available_until`` (optional dates, ISO);
- ``capacity_m2_week_vegetated``, ``_forest``, ``_rocky``, ``_urban`` (optional): m² a week on that terrain
  class (vocabulary ``terrain_class``), ≥ 0 (0: the team cannot work there); empty: ``capacity_m2_week ×
  plan.terrain_factor[method][class]`` from the configuration.

A row that breaks a rule (unknown ref or organisation, a method outside the vocabulary, no positive capacity, no
base, a base outside the country, a bad date) goes to the quarantine with its reason, as every importer's rows
do; the other rows are stored, all in one transaction. A file without the needed columns is refused whole.
"""

from __future__ import annotations

import csv
import re
import uuid as uuidlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import shapely

from safeground.domain.errors import SafeGroundError, ValidationError
from safeground.domain.plan import STANDARD_TERRAIN
from safeground.domain.timestamps import now_iso
from safeground.domain.vocabularies import TERRAIN_CLASS
from safeground.services.records import add_record, update_record
from safeground.services.workspace import Workspace

TERRAIN_COLUMNS = tuple(f"capacity_m2_week_{c}" for c in TERRAIN_CLASS.codes if c != STANDARD_TERRAIN)
COLUMNS = ("ref", "name", "organisation", "method", "capacity_m2_week", "lon", "lat", "available_from",
           "available_until", *TERRAIN_COLUMNS)
REQUIRED = ("name", "method", "capacity_m2_week", "lon", "lat")


@dataclass
class TeamImport:
    """What a team file did: rows read = created + updated + quarantined."""

    import_run: str
    source: str
    rows_read: int
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    rows_quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _row_error(code: str, message: str, hint: str) -> ValidationError:
    return ValidationError(f"plan.{code}", message, hint=hint)


def _read(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    if not path.is_file():
        raise ValidationError("plan.teams_file", f"{path.name}: no such file.", hint="Give --teams a CSV file.")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = [h.strip() for h in reader.fieldnames or []]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValidationError("plan.teams_file", f"{path.name} is not a readable UTF-8 CSV file ({exc}).",
                              hint="Save the team table as CSV (UTF-8).") from None
    absent = [c for c in REQUIRED if c not in header]
    if absent:
        raise ValidationError("plan.teams_file", f"{path.name} has no column {', '.join(absent)}.",
                              hint="Columns: " + ", ".join(COLUMNS) + ". Nothing was imported.")
    clean = [{(k or "").strip(): (v or "").strip() for k, v in r.items() if k is not None} for r in rows]
    return clean, [h for h in header if h not in COLUMNS]


def _number(row: dict[str, str], name: str) -> float:
    try:
        return float(row[name])
    except ValueError:
        raise _row_error("team_value", f"'{name}' is '{row[name]}', not a number.",
                         "Write numbers with a decimal point, e.g. 2500 or -72.5.") from None


def _values(row: dict[str, str], orgs: dict[str, str], *, new: bool) -> dict[str, Any]:
    """The team's fields from a row; for an update only the cells that hold something."""
    values: dict[str, Any] = {k: row[k] for k in ("name", "method", "available_from", "available_until") if row[k]}
    if new or row["capacity_m2_week"]:
        capacity = _number(row, "capacity_m2_week") if row["capacity_m2_week"] else 0.0
        if capacity <= 0:
            raise _row_error("team_capacity", f"Team '{row['name'] or row['ref']}' has no positive "
                             "capacity_m2_week.", "Give the m² of standard terrain it clears in a week, e.g. 2500.")
        values["capacity_m2_week"] = capacity
    for column in TERRAIN_COLUMNS:
        if row[column]:
            values[column] = _number(row, column)
            if values[column] < 0:
                raise _row_error("team_capacity", f"Team '{row['name'] or row['ref']}' has a negative {column}.",
                                 "Give the m² of that terrain it clears in a week, 0 if it cannot work there.")
    if new or row["lon"] or row["lat"]:
        if not row["lon"] or not row["lat"]:
            raise _row_error("team_base", f"Team '{row['name'] or row['ref']}' has no base (lon, lat).",
                             "Give the longitude and latitude (WGS84) of the team's base.")
        values["geometry"] = shapely.Point(_number(row, "lon"), _number(row, "lat"))
    org = row["organisation"]
    if org:
        found = orgs.get(org.lower())
        if found is None:
            raise _row_error("team_organisation", f"No organisation '{org}'.",
                             "Give the ref (OR-000001), acronym or name of an organisation in the database.")
        values["organisation"] = found
    return values


def _organisations(ws: Workspace) -> dict[str, str]:
    out: dict[str, str] = {}
    for o in ws.store.query("organisation", fields=["name", "acronym"], geometry=False):
        for key in (o["uuid"], o["ref"], o["acronym"], o["name"]):
            if key:
                out.setdefault(str(key).lower(), o["uuid"])
    return out


def import_teams(ws: Workspace, path: str | Path) -> TeamImport:
    """Create or update the teams of a CSV file (see module); bad rows are quarantined with their reason."""
    p = Path(path)
    rows, ignored = _read(p)
    run = TeamImport(str(uuidlib.uuid4()), str(p), len(rows), ignored_columns=ignored)
    started = now_iso()
    quarantine: list[dict[str, Any]] = []
    with ws.store.transaction():
        orgs = _organisations(ws)
        teams = ws.store.query("team", fields=["name"], geometry=False)
        by_ref = {t["ref"]: t["uuid"] for t in teams}
        by_name = {t["name"].lower(): t["uuid"] for t in teams}
        for i, raw in enumerate(rows):
            row = {c: raw.get(c, "") for c in COLUMNS}
            try:
                with ws.store.savepoint():
                    ref = row["ref"]
                    if ref and ref not in by_ref:
                        raise _row_error("team_unknown_ref", f"There is no team {ref} to update.",
                                         "Leave 'ref' empty to create a team, or give an existing team's ref.")
                    uuid = by_ref.get(ref) if ref else by_name.get(row["name"].lower())
                    values = _values(row, orgs, new=uuid is None)
                    if uuid is None:
                        team = add_record(ws, "team", {**values, "source": p.name, "source_id": str(i + 1)},
                                          import_run=run.import_run)
                        run.created.append(team["ref"])
                        by_ref[team["ref"]] = by_name[team["name"].lower()] = team["uuid"]
                    else:
                        run.updated.append(update_record(ws, "team", uuid, values)["ref"])
            except SafeGroundError as err:
                quarantine.append({"import_run": run.import_run, "layer": "team", "source": p.name,
                                   "source_row": i + 1, "code": err.code, "hint": err.hint,
                                   "reason": re.sub(r"^(Feature|Row) \d+: ", "", err.message),
                                   "raw": raw})
                run.quarantine_reasons[err.code] = run.quarantine_reasons.get(err.code, 0) + 1
        run.rows_quarantined = len(quarantine)
        if quarantine:
            ws.store.write_quarantine(quarantine)
        ws.store.write_import_run({
            "id": run.import_run, "layer": "team", "source": str(p), "format": "csv", "started_at": started,
            "finished_at": now_iso(), "user": ws.user, "rows_read": run.rows_read,
            "rows_stored": len(run.created) + len(run.updated), "rows_quarantined": run.rows_quarantined,
            "status": "complete", "report": run.to_dict()})
    assert run.rows_read == len(run.created) + len(run.updated) + run.rows_quarantined
    return run

