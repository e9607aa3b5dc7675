"""Batch validation against the record declarations: fields, types, vocabularies, required, links, geometry.

Works column by column, checking each distinct value once, so a million-row batch stays fast.
Errors name the row (``offset`` + position) so that a person can find it in the source.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

from safeground.domain.errors import GeometryError, SafeGroundError, ValidationError
from safeground.domain.fields import Field, FieldType
from safeground.domain.records import RecordType
from safeground.geo.placement import check_outside, check_placement
from safeground.geo.validity import Repair, check_geometries
from safeground.services.workspace import Workspace
from safeground.store.base import Batch


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, np.datetime64) and np.isnat(v):
        return True
    return isinstance(v, str) and not v.strip()


def _plain(v: Any) -> Any:
    if isinstance(v, np.datetime64):
        return str(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def check_column(f: Field, values: Sequence[Any], *, offset: int = 0,
                 errors: dict[int, SafeGroundError] | None = None) -> list[Any]:
    """Normalise one column through ``f.check``; blanks become ``None``.

    Each distinct value is checked once; a million-row column of a few codes costs a set and a lookup.
    With ``errors``, each refused value is recorded there by position (and left ``None``) instead of
    raising at the first.
    """
    if isinstance(values, np.ndarray):
        values = values.tolist()
    fast = _fast_path(f, values)
    if fast is not None:
        return fast
    try:  # keyed by type too: 0 and 0.0 (and True and 1) are equal but may check differently
        distinct = set(zip(map(type, values), values, strict=True))
    except TypeError:  # unhashable values (lists for CHOICES): check one by one
        return _check_each(f, values, offset, errors)
    mapping: dict[tuple[type, Any], Any] = {}
    unchanged = True
    for key in distinct:
        v = key[1]
        if _blank(v):
            mapping[key] = None
            unchanged = False
            continue
        try:
            mapping[key] = result = f.check(_plain(v))
        except SafeGroundError:
            return _check_each(f, values, offset, errors)  # to name the bad rows
        unchanged = unchanged and type(result) is key[0] and result == v
    if unchanged:
        return list(values)
    return [mapping[(type(v), v)] for v in values]


def _fast_path(f: Field, values: Sequence[Any]) -> list[Any] | None:
    """Columns of plain Python strings or numbers, checked in bulk; ``None`` when the slow path must decide."""
    types = set(map(type, values))
    if f.vocabulary is None and f.type in (FieldType.TEXT, FieldType.LINK) and types <= {str, type(None)}:
        distinct = set(values)
        distinct.discard(None)
        if not all(map(str.strip, distinct)):
            return None  # blank strings become None on the slow path
        return list(values)
    if f.type in (FieldType.REAL, FieldType.INTEGER) and types <= {float, int, type(None)}:
        arr = np.array([math.nan if v is None else v for v in values], dtype=float)
        nan = np.isnan(arr)
        real = arr[~nan]
        if f.type is FieldType.INTEGER and (float in types and not np.all(real == np.round(real))):
            return None
        if (f.minimum is not None and (real < f.minimum).any()) or (f.maximum is not None and (real > f.maximum).any()):
            return None
        if not np.isfinite(real).all() or (f.type is FieldType.INTEGER and (np.abs(real) >= 2.0**63).any()):
            return None  # the slow path refuses them by row (INTEGER: beyond SQLite's 64 bits)
        out: list[Any] = arr.tolist() if f.type is FieldType.REAL else \
            [None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v) for v in values]
        for i in np.flatnonzero(nan).tolist():
            out[i] = None
        return out
    return None


def _check_each(f: Field, values: Sequence[Any], offset: int = 0,
                errors: dict[int, SafeGroundError] | None = None) -> list[Any]:
    out: list[Any] = [None] * len(values)
    cache: dict[Any, Any] = {}
    refused: dict[Any, SafeGroundError] = {}
    for i, v in enumerate(values):
        if _blank(v):
            continue
        v = _plain(v)
        key = (type(v), v) if not isinstance(v, list) else (list, tuple(v))
        try:
            out[i] = cache[key]
            continue
        except KeyError:
            pass
        if key not in refused:
            try:
                out[i] = cache[key] = f.check(v)
                continue
            except SafeGroundError as exc:
                refused[key] = exc
        first = refused[key]
        err = type(first)(first.code, f"Row {i + offset}: {first.message}", hint=first.hint, imas=first.imas,
                          details={**first.details, "row": i + offset}, status=first.status)
        if errors is None:
            raise err
        errors.setdefault(i, err)
    return out


def check_fields(rt: RecordType, batch: Batch, *, offset: int = 0, allow_managed: frozenset[str] = frozenset(),
                 partial: bool = False, errors: dict[int, SafeGroundError] | None = None) -> dict[str, list[Any]]:
    """Validate every column of ``batch`` and the required fields; return normalised columns.

    With ``errors``, problems of single rows are recorded there by position instead of raised."""
    columns: dict[str, list[Any]] = {}
    n = len(batch)
    for name, values in batch.columns.items():
        f = rt.field(name)
        if f.managed and name not in allow_managed:
            raise ValidationError("record.managed_field",
                                  f"Field '{name}' of {rt.layer} is managed by SafeGround and cannot be set.",
                                  hint="Leave it out; SafeGround computes it.", details={"field": name})
        if len(values) != n:
            raise ValidationError("record.ragged_batch", f"Column '{name}' has {len(values)} values, not {n}.",
                                  hint="Give every column the same number of rows.")
        columns[name] = check_column(f, values, offset=offset, errors=errors)
    if not partial:
        for f in rt.fields:
            if not f.required:
                continue
            col = columns.get(f.name)
            missing = list(range(n)) if col is None else [i for i, v in enumerate(col) if v is None]
            for i in missing:
                err = ValidationError(
                    "record.required_field",
                    f"Row {i + offset}: field '{f.name}' of {rt.layer} is required"
                    + (f" ({len(missing)} rows lack it)." if len(missing) > 1 and errors is None else "."),
                    hint=f"Give a value for '{f.name}' ({f.label()}).", details={"field": f.name, "row": i + offset})
                if errors is None:
                    raise err
                errors.setdefault(i, err)
    return columns


def check_links(ws: Workspace, rt: RecordType, columns: dict[str, list[Any]], *, offset: int = 0,
                batch_uuids: Sequence[str] = (), errors: dict[int, SafeGroundError] | None = None) -> None:
    """Every LINK/LINKS value must name an existing record of the linked layer (``errors``: as for
    :func:`check_fields`)."""
    for f in rt.fields:
        if f.type not in (FieldType.LINK, FieldType.LINKS) or f.name not in columns:
            continue
        assert f.links_to is not None
        values = columns[f.name]
        wanted = {u for v in values if v for u in (v.split() if f.type is FieldType.LINKS else [v])}
        if not wanted:
            continue
        found = ws.store.existing_uuids(f.links_to, sorted(wanted))
        if f.links_to == rt.layer:
            found |= set(batch_uuids)
        missing = wanted - found
        if not missing:
            continue
        broken = [(i, min(set(v.split()) & missing)) for i, v in enumerate(values) if v and set(v.split()) & missing]
        if errors is None:  # name the smallest missing uuid, at its first row
            bad = min(b for _i, b in broken)
            broken = [next((i, b) for i, b in broken if bad in values[i].split())]
        for row, bad in broken:
            err = ValidationError("record.broken_link",
                                  f"Row {row + offset}: '{f.name}' names {f.links_to} {bad}, which does not exist.",
                                  hint=f"Create the {f.links_to} first, or correct the uuid.",
                                  details={"field": f.name, "row": row + offset, "value": bad})
            if errors is None:
                raise err
            errors.setdefault(row, err)


def check_geometry(ws: Workspace, rt: RecordType, geoms: np.ndarray | None, n: int, *, offset: int = 0,
                   repair: bool | None = None, errors: dict[int, SafeGroundError] | None = None,
                   ) -> tuple[np.ndarray | None, list[Repair]]:
    """Type, validity (repair if asked or configured) and placement against the national outline
    (``errors``: as for :func:`check_fields`)."""
    geo_errors: dict[int, GeometryError] | None = {} if errors is not None else None
    if not rt.is_spatial:
        if geoms is not None and not shapely.is_missing(geoms).all():
            raise ValidationError("geometry.not_spatial", f"Layer '{rt.layer}' has no geometry.",
                                  hint="Leave the geometry out for this layer.")
        return None, []
    if geoms is None:
        geoms = np.full(n, None, dtype=object)
    assert rt.geometry_type is not None
    do_repair = ws.config.geometry.repair if repair is None else repair
    geoms, repairs = check_geometries(geoms, rt.geometry_type, required=rt.geometry_required, repair=do_repair,
                                      offset=offset, errors=geo_errors)
    cfg = ws.config.geometry
    if cfg.check_swapped_coordinates:
        check_placement(geoms, ws.outline, offset=offset, tolerance_deg=cfg.outline_tolerance_deg, errors=geo_errors)
    if cfg.outside_tolerance_km is not None and ws.outline is not None and ws.national_crs is not None:
        check_outside(geoms, ws.outline, tolerance_km=cfg.outside_tolerance_km, crs=ws.national_crs, offset=offset,
                      errors=geo_errors)
    if errors is not None and geo_errors:
        for i, err in geo_errors.items():
            errors.setdefault(i, err)
    return geoms, repairs

