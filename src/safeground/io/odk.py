"""Read form submissions as ODK Central and KoBoToolbox export them: CSV (zipped with media, or alone) and JSON.

Every format becomes the same thing: a list of :class:`Submission`, each with its instance id, its
values keyed by question name, its repeat items, and a way to fetch attached files by name.

- **ODK Central, "all submissions with media"** (``.zip``): ``<form>.csv`` (group paths joined with
  ``-``, e.g. ``meta-instanceID``; ``KEY`` = instance id; a geopoint split into ``-Latitude``,
  ``-Longitude``, ``-Altitude``, ``-Accuracy`` columns; a geoshape or geotrace as
  ``lat lon alt acc;lat lon alt acc;...``), ``<form>-<repeat>.csv`` per repeat group (``PARENT_KEY``,
  ``KEY`` = ``<instance id>/<repeat>[n]``) and ``media/`` with the attached files. A lone ``.csv`` too.
- **ODK Central OData** (``.json``): ``{"value": [...]}``; ``__id``, ``__system``, groups as nested
  objects, geo questions as GeoJSON, repeats inline (``$expand=*``).
- **KoBoToolbox CSV** (``,`` or ``;``): ``/`` group separators, ``_uuid``, ``_id``, ``_submission_time``;
  select-multiple "details" columns (``blockages/farming``) are skipped; KoBo's CSV holds no repeat groups.
- **KoBoToolbox JSON API** (``{"results": [...]}``): full paths as keys, ``_attachments`` with
  ``filename``, ``download_url`` and ``mimetype``, ``_geolocation``, repeats as lists of objects.

Files a JSON or lone CSV export names are looked for in ``media/`` or ``<stem>/`` beside it, then beside it.

>>> geometry_from_odk("5.001 -72.5 0 4", "POINT").wkt
'POINT (-72.5 5.001)'
>>> geometry_from_odk("5 -72.5 0 0;5 -72.49 0 0;5.01 -72.49 0 0;5 -72.5 0 0", "MULTIPOLYGON").geom_type
'Polygon'
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
import shapely.geometry

from safeground.domain.errors import GeometryError, NotFoundError, ValidationError

GEO_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")


@dataclass
class Item:
    """One repeat item: its values by question name and its key (``<instance id>/<repeat>[n]``)."""

    key: str
    values: dict[str, Any]


@dataclass
class Submission:
    """One submission: instance id, position in the file (from 1), values, repeat items and the raw row."""

    instance_id: str
    row: int
    values: dict[str, Any]
    repeats: dict[str, list[Item]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    rejected: bool = False


@dataclass
class SubmissionExport:
    """What an export file holds: its format, the submissions, and attached files by name."""

    format: str
    submissions: list[Submission]
    media: Callable[[str], bytes | None]
    close: Callable[[], None] = lambda: None


def read_submissions(path: str | Path) -> SubmissionExport:
    """Read an ODK Central or KoBoToolbox export (``.zip``, ``.csv`` or ``.json``)."""
    p = Path(path)
    if not p.is_file():
        raise NotFoundError("io.file_not_found", f"File {p} does not exist.", hint="Check the path.")
    kind = p.suffix.lower()
    if kind == ".zip":
        return _read_zip(p)
    if kind == ".csv":
        return _read_lone_csv(p)
    if kind == ".json":
        return _read_json(p)
    raise ValidationError("io.unsupported_format", f"Cannot tell the submission format of '{p.name}'.",
                          hint="Give ODK Central's .zip or .csv export, its OData .json, or KoBo's .csv or .json.")


# --- CSV -------------------------------------------------------------------------------------------------------
def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("io.bad_encoding", f"{name} is not UTF-8 text (byte {exc.start}).",
                              hint="Export the submissions again as UTF-8 CSV. Nothing was imported.") from None


def _csv_rows(text: str, name: str) -> tuple[list[str], list[list[str]]]:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","  # KoBo often exports with ';'
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ValidationError("io.malformed_csv", f"{name} is not a well-formed CSV file: {exc}.",
                              hint="Export it again. Nothing was imported.") from None
    if not rows:
        raise ValidationError("io.empty_file", f"{name} is empty.", hint="Give a CSV export with a header.")
    header, body = rows[0], [r for r in rows[1:] if any(c.strip() for c in r)]
    for i, r in enumerate(body, start=1):
        if len(r) != len(header):
            raise ValidationError("io.malformed_row", f"{name}, data row {i} has {len(r)} fields; the header has "
                                  f"{len(header)}.", hint="The file may be truncated; export it again. "
                                  "Nothing was imported.")
    return header, body


def _leaf_columns(header: list[str], sep: str) -> dict[int, str]:
    """Column position → question name: the last group-path segment; split geopoints joined back;
    select-multiple detail columns (whose parent path is itself a column) skipped."""
    paths = set(header)
    out: dict[int, str] = {}
    for j, col in enumerate(header):
        parts = col.split(sep)
        if len(parts) > 1 and parts[-1] in GEO_PARTS:
            continue  # joined below
        if len(parts) > 1 and sep.join(parts[:-1]) in paths:
            continue  # 'blockages/farming' = 1 beside 'blockages' = 'farming roads'
        out[j] = parts[-1]
    return out


def _row_values(header: list[str], row: list[str], sep: str) -> dict[str, Any]:
    cols = _leaf_columns(header, sep)
    values: dict[str, Any] = {name: row[j] for j, name in cols.items()}
    geo: dict[str, dict[str, str]] = {}
    for j, col in enumerate(header):
        parts = col.split(sep)
        if len(parts) > 1 and parts[-1] in GEO_PARTS:
            geo.setdefault(parts[-2], {})[parts[-1]] = row[j]
    for name, part in geo.items():
        if part.get("Latitude", "").strip() and part.get("Longitude", "").strip():
            values[name] = " ".join(part.get(k, "") or "0" for k in GEO_PARTS)
        else:
            values.setdefault(name, "")
    return values


def _submissions_from_csv(main: tuple[list[str], list[list[str]]], repeats: dict[str, tuple[list[str],
                          list[list[str]]]], sep: str) -> list[Submission]:
    header, body = main
    subs: list[Submission] = []
    by_key: dict[str, Submission] = {}
    for i, row in enumerate(body, start=1):
        values = _row_values(header, row, sep)
        raw = dict(zip(header, row, strict=True))
        instance = values.get("instanceID") or values.get("KEY") or (
            f"uuid:{values['_uuid']}" if values.get("_uuid") else "")
        sub = Submission(instance or f"row:{i}", i, values, {}, raw, _rejected(values.get("ReviewState"),
                                                                            values.get("_validation_status")))
        subs.append(sub)
        by_key[values.get("KEY") or sub.instance_id] = sub
    for name, (rheader, rbody) in repeats.items():
        for row in rbody:
            values = _row_values(rheader, row, sep)
            parent = by_key.get(values.get("PARENT_KEY", ""))
            if parent is None:
                raise ValidationError("io.malformed_row", f"A '{name}' row names parent {values.get('PARENT_KEY')!r}, "
                                      "which is not in the main file.", hint="Export all submissions again.")
            parent.repeats.setdefault(name, []).append(Item(values.get("KEY", ""), values))
            parent.raw.setdefault(name, []).append(dict(zip(rheader, row, strict=True)))
    return subs


def _read_zip(p: Path) -> SubmissionExport:
    try:
        zf = zipfile.ZipFile(p)
    except zipfile.BadZipFile:
        raise ValidationError("io.unreadable", f"{p.name} is not a zip file.",
                              hint="Give ODK Central's 'all submissions with media' zip.") from None
    with zf:
        names = zf.namelist()
        tables = {n: _csv_rows(_decode(zf.read(n), n), n) for n in names if n.lower().endswith(".csv")}
        media_names = {Path(n).name: n for n in names if "/media/" in f"/{n}" and not n.endswith("/")}
    mains = [n for n, (h, _b) in tables.items() if "PARENT_KEY" not in h]
    if len(mains) != 1:
        raise ValidationError("io.which_layer", f"{p.name} should hold one main CSV file; it holds {len(mains)}.",
                              hint="Give ODK Central's export of one form.")
    main = mains[0]
    stem = Path(main).stem
    repeats = {Path(n).stem.removeprefix(stem + "-").split("-")[-1]: t for n, t in tables.items() if n != main}

    submissions = _submissions_from_csv(tables[main], repeats, "-")
    archive = zipfile.ZipFile(p)  # kept open while the photos are read; closed by SubmissionExport.close

    def media(name: str) -> bytes | None:
        inner = media_names.get(Path(name).name)
        return None if inner is None else archive.read(inner)

    return SubmissionExport("odk_central_zip", submissions, media, archive.close)


def _beside(p: Path) -> Callable[[str], bytes | None]:
    folders = [p.parent / "media", p.parent / p.stem, p.parent]

    def media(name: str) -> bytes | None:
        base = Path(name.replace("\\", "/")).name
        for folder in folders:
            f = folder / base
            if base and f.is_file():
                return f.read_bytes()
        return None

    return media


def _read_lone_csv(p: Path) -> SubmissionExport:
    header, body = _csv_rows(_decode(p.read_bytes(), p.name), p.name)
    kobo = "_uuid" in header or any("/" in h for h in header)
    sep = "/" if kobo else "-"
    fmt = "kobo_csv" if kobo else "odk_central_csv"
    return SubmissionExport(fmt, _submissions_from_csv((header, body), {}, sep), _beside(p))


def _rejected(central_review: Any, kobo_validation: Any) -> bool:
    """Whether a reviewer turned the submission down on the server (Central 'rejected', KoBo 'not approved')."""
    return central_review == "rejected" or kobo_validation in ("validation_status_not_approved", "Not Approved")


# --- JSON ------------------------------------------------------------------------------------------------------
def _is_geojson(v: Any) -> bool:
    return isinstance(v, dict) and "type" in v and "coordinates" in v


def _flatten(obj: dict[str, Any], sep: str | None) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Values by leaf name, and lists of objects (repeat groups) by leaf name."""
    values: dict[str, Any] = {}
    lists: dict[str, list[dict[str, Any]]] = {}
    for key, v in obj.items():
        leaf = key.split(sep)[-1] if sep else key
        if key.startswith("__") or key.endswith("@odata.navigationLink"):
            continue
        if isinstance(v, dict) and not _is_geojson(v):
            inner, inner_lists = _flatten(v, sep)
            values.update(inner)
            lists.update(inner_lists)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v) and not key.startswith("_"):
            lists[leaf] = v
        else:
            values[leaf] = v
    return values, lists


def _read_json(p: Path) -> SubmissionExport:
    try:
        doc = json.loads(_decode(p.read_bytes(), p.name))
    except json.JSONDecodeError as exc:
        raise ValidationError("io.unreadable", f"{p.name} is not JSON: {exc}.",
                              hint="Give ODK Central's OData JSON or KoBo's JSON API export.") from None
    if isinstance(doc, dict) and isinstance(doc.get("value"), list):
        fmt, rows, sep = "odk_central_json", doc["value"], None
    elif isinstance(doc, dict) and isinstance(doc.get("results"), list):
        fmt, rows, sep = "kobo_json", doc["results"], "/"
    else:
        raise ValidationError("io.unreadable", f"{p.name} holds neither a 'value' nor a 'results' list.",
                              hint="Give ODK Central's OData JSON or KoBo's JSON API export.")
    subs: list[Submission] = []
    for i, obj in enumerate(rows, start=1):
        if not isinstance(obj, dict):
            raise ValidationError("io.malformed_row", f"{p.name}: submission {i} is not an object.",
                                  hint="Export the submissions again.")
        values, lists = _flatten(obj, sep)
        instance = values.get("instanceID") or obj.get("__id") or (
            f"uuid:{obj['_uuid']}" if obj.get("_uuid") else f"row:{i}")
        system: dict[str, Any] = obj["__system"] if isinstance(obj.get("__system"), dict) else {}
        status: dict[str, Any] = obj["_validation_status"] if isinstance(obj.get("_validation_status"), dict) else {}
        sub = Submission(str(instance), i, values, {}, obj, _rejected(system.get("reviewState"), status.get("uid")))
        for name, items in lists.items():
            sub.repeats[name] = [Item(f"{instance}/{name}[{n}]", _flatten(item, sep)[0])
                                 for n, item in enumerate(items, start=1)]
        subs.append(sub)
    media = _beside(p)
    if fmt == "kobo_json":  # _attachments name files by a server path; the base name is what sits beside
        media = _kobo_media(media, rows)
    return SubmissionExport(fmt, subs, media)


def _kobo_media(beside: Callable[[str], bytes | None], rows: Iterable[dict[str, Any]]) -> Callable[[str],
                                                                                                   bytes | None]:
    known = {Path(str(a.get("filename", ""))).name for r in rows for a in r.get("_attachments") or []}

    def media(name: str) -> bytes | None:
        base = Path(name).name
        return beside(base) if base in known or not known else None

    return media


# --- geometry --------------------------------------------------------------------------------------------------
def geometry_from_odk(value: Any, geometry_type: str) -> shapely.Geometry | None:
    """A geopoint, geoshape or geotrace value (ODK text ``lat lon alt acc;...`` or GeoJSON) as WGS84 geometry."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if _is_geojson(value):
        try:
            return shapely.geometry.shape(value)
        except (ValueError, TypeError, AttributeError) as exc:
            raise GeometryError("geometry.invalid", f"Bad GeoJSON geometry: {exc}.",
                                hint="Collect the location again.") from None
    if isinstance(value, list) and len(value) >= 2:  # KoBo's _geolocation: [lat, lon]
        value = f"{value[0]} {value[1]}"
    try:
        points = [[float(x) for x in part.split()[:2]] for part in str(value).strip().strip(";").split(";")]
        coords = [(lon, lat) for lat, lon in points]
    except ValueError:
        raise GeometryError("geometry.invalid", f"'{str(value)[:60]}' is not an ODK location "
                            "('lat lon alt accuracy', ';' between points).",
                            hint="Collect the location again.") from None
    if geometry_type == "POINT" or len(coords) == 1:
        return shapely.Point(coords[0])
    if geometry_type in ("MULTIPOLYGON", "POLYGON"):
        if coords[0] != coords[-1]:
            coords.append(coords[0])
        if len(coords) < 4:
            raise GeometryError("geometry.invalid", f"A boundary needs at least 3 points; it has {len(coords) - 1}.",
                                hint="Walk or draw the whole boundary.")
        return shapely.Polygon(coords)
    return shapely.LineString(coords)
