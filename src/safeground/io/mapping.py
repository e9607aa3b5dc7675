"""Declarative import mappings: column to field, value maps, source CRS, source id, routing and dates.

A mapping is a YAML document (see ``data/mappings/`` for the shipped ones). Applying it to a
table of source columns gives, per target layer, the source row numbers and the record columns.
Rows whose values a mapping cannot translate are returned as faults with a reason, so that the
importer can quarantine them; nothing is silently dropped.

>>> m = load_mapping("colombia_aicma")
>>> m.review_state, m.route.default
('approved', 'event')
>>> out = apply_mapping(m, {"year": ["2004"], "tipo_evento": ["Accidente por MAP"], "departamento": ["META"],
...                          "municipio": ["URIBE"], "tipo_area": ["Rural"], "lat": ["3.2"], "lon": ["-74.3"]})
>>> rows = out.layers["accident"]
>>> rows.rows, rows.columns["accident_date"], rows.columns["date_precision"], rows.columns["info_date"]
([0], ['2004-12-31'], ['year'], ['2004-12-31'])
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import shapely
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from safeground.domain.errors import ConfigError, GeometryError, NotFoundError
from safeground.domain.errors import ValidationError as RowValidationError
from safeground.domain.records import LAYERS, record_type
from safeground.geo.survey import BEARING_UNITS, parse_dms, parse_legs, parse_mgrs, perimeter
from safeground.geo.survey import Perimeter as Walk


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Route(_Strict):
    """Send each row to a layer by the value of one column; unlisted values go to ``default``."""

    column: str | None = None
    cases: dict[str, list[str]] = {}
    default: str | None = None

    @model_validator(mode="after")
    def _column_for_cases(self) -> Route:
        if self.column is None and (self.cases or self.default is None):
            raise ValueError("name the 'column' to route by, or give only a 'default' layer for every row")
        return self


class Derived(_Strict):
    """A field whose value is looked up from another column's value."""

    column: str
    values: dict[str, Any]


class DateSpec(_Strict):
    """The event's own date: ``column`` holds a date, or only a year (then 31 December, precision year)."""

    field: str
    column: str
    precision: Literal["day", "month", "year"] = "day"


class LayerSpec(_Strict):
    fields: dict[str, str] = {}
    values: dict[str, dict[str, Any]] = {}
    constants: dict[str, Any] = {}
    derived: dict[str, Derived] = {}
    date: DateSpec | None = None
    info_date: str | None = None
    #: link field → column holding the *source id* of the linked record (e.g. casualty.accident ←
    #: accident_localid). The importer finds the record that an earlier import gave that source id.
    links: dict[str, str] = {}


class Perimeter(_Strict):
    """A perimeter as IMAS survey forms write it: benchmark, reference point, then turning points.

    The benchmark is ``x``/``y`` columns (decimal degrees or, with ``format: dms``, degrees-minutes-seconds)
    or an ``mgrs`` column. The reference point is ``reference_bearing``/``reference_distance`` from it; ``legs``
    holds the turning points as ``bearing/distance; ...`` from the reference point round to it again.
    A walk that misses closing by more than ``tolerance_m`` is a file fault: nothing is imported.
    """

    x: str | None = None
    y: str | None = None
    mgrs: str | None = None
    format: Literal["decimal", "dms"] = "decimal"
    reference_bearing: str
    reference_distance: str
    legs: str
    bearing_unit: Literal["degrees", "mils"] = "degrees"
    declination_deg: float = 0.0
    tolerance_m: float = 5.0

    @model_validator(mode="after")
    def _benchmark(self) -> Perimeter:
        if (self.mgrs is None) == (self.x is None or self.y is None):
            raise ValueError("give the benchmark as x and y columns, or as an mgrs column")
        return self

    def columns(self) -> set[str]:
        return {c for c in (self.x, self.y, self.mgrs, self.reference_bearing, self.reference_distance, self.legs)
                if c}


class Geometry(_Strict):
    """Where a row's geometry comes from: x/y (decimal or DMS), WKT, an MGRS reference, or a perimeter walk."""

    x: str | None = None
    y: str | None = None
    format: Literal["decimal", "dms"] = "decimal"
    wkt: str | None = None
    mgrs: str | None = None
    perimeter: Perimeter | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Geometry:
        kinds = [self.x is not None or self.y is not None, self.wkt is not None, self.mgrs is not None,
                 self.perimeter is not None]
        if sum(kinds) != 1 or (kinds[0] and (self.x is None or self.y is None)):
            raise ValueError("give exactly one of: x and y columns, a wkt column, an mgrs column, or a perimeter")
        return self

    def columns(self) -> set[str]:
        used = {c for c in (self.x, self.y, self.wkt, self.mgrs) if c}
        return used | (self.perimeter.columns() if self.perimeter else set())


class ImportMapping(_Strict):
    """A whole mapping document."""

    name: str
    description: str = ""
    review_state: Literal["submitted", "approved"] = "submitted"
    crs: int = 4326
    geometry: Geometry | None = None
    source_id: str | None = None
    route: Route
    layers: dict[str, LayerSpec]

    @model_validator(mode="after")
    def _layers_known(self) -> ImportMapping:
        if self.geometry and (self.geometry.mgrs or self.geometry.perimeter) and self.crs != 4326:
            raise ValueError("MGRS references and perimeters are WGS84 by definition: leave 'crs' at 4326")
        targets = set(self.route.cases) | ({self.route.default} if self.route.default else set())
        for layer in targets | set(self.layers):
            if layer not in LAYERS:
                raise ValueError(f"unknown layer '{layer}'")
        for layer in targets - set(self.layers):
            raise ValueError(f"rows are routed to '{layer}' but it has no entry under 'layers'")
        for layer, spec in self.layers.items():
            rt = record_type(layer)
            names = list(spec.fields) + list(spec.values) + list(spec.constants) + list(spec.derived)
            if spec.date:
                names.append(spec.date.field)
            for name in spec.links:
                if rt.has_field(name) and rt.field(name).links_to is None:
                    raise ValueError(f"'{name}' of layer '{layer}' is not a link field: map it under 'fields'")
            for name in names + list(spec.links):
                if not rt.has_field(name):
                    raise ValueError(f"layer '{layer}' has no field '{name}'")
        return self

    def columns_used(self) -> set[str]:
        used = {self.route.column} if self.route.column else set()
        if self.source_id:
            used.add(self.source_id)
        if self.geometry:
            used |= self.geometry.columns()
        for spec in self.layers.values():
            used |= set(spec.fields.values()) | set(spec.links.values()) | {d.column for d in spec.derived.values()}
            if spec.date:
                used.add(spec.date.column)
            if spec.info_date:
                used.add(spec.info_date)
        return used


def load_mapping(name_or_path: str | Path) -> ImportMapping:
    """A shipped mapping by name (``colombia_aicma``) or a YAML file, validated."""
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise NotFoundError("mapping.not_found", f"Mapping file {path} does not exist.", hint="Check the path.")
        text = path.read_text(encoding="utf-8")
    else:
        ref = resources.files("safeground").joinpath(f"data/mappings/{name_or_path}.yaml")
        if not ref.is_file():
            raise NotFoundError("mapping.not_found", f"No shipped mapping named '{name_or_path}'.",
                                hint="Give the path of a mapping YAML file, or a shipped name such as "
                                     "colombia_aicma.")
        text = ref.read_text(encoding="utf-8")
    try:
        return ImportMapping.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        raise ConfigError("mapping.invalid", f"The mapping {name_or_path} is not valid: "
                          f"{str(exc).splitlines()[0] if not isinstance(exc, ValidationError) else _first(exc)}.",
                          hint="Compare it with the shipped mappings in safeground/data/mappings/.") from None


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


@dataclass
class LayerRows:
    """Rows routed to one layer: their source row numbers and their record columns."""

    rows: list[int] = field(default_factory=list)
    columns: dict[str, list[Any]] = field(default_factory=dict)
    geometry: list[Any] = field(default_factory=list)  # shapely geometries (or None) once mapped

    def drop(self, positions: set[int]) -> None:
        """Remove the rows at ``positions`` (indexes into :attr:`rows`), e.g. to quarantine them."""
        keep = [k for k in range(len(self.rows)) if k not in positions]
        self.rows = [self.rows[k] for k in keep]
        self.geometry = [self.geometry[k] for k in keep]
        self.columns = {name: [col[k] for k in keep] for name, col in self.columns.items()}


@dataclass
class Mapped:
    """The result of applying a mapping: rows per layer, rows that could not be mapped (with why), and
    for perimeters, how far each walk missed closing (row → metres)."""

    layers: dict[str, LayerRows]
    faults: dict[int, str]
    misclosure_m: dict[int, float] = field(default_factory=dict)


def check_columns(mapping: ImportMapping, available: Sequence[str]) -> None:
    """Refuse a mapping that names columns the source does not have (a file fault: nothing is imported)."""
    missing = sorted(mapping.columns_used() - set(available))
    if missing:
        raise ConfigError("mapping.absent_column",
                          f"The mapping '{mapping.name}' names columns the file does not have: {', '.join(missing)}.",
                          hint="Columns in the file: " + ", ".join(available) + ". Fix the mapping or the file.",
                          details={"missing": missing})


def apply_mapping(mapping: ImportMapping, source: MappingABC[str, Sequence[Any]], *, first_row: int = 0,
                  columnar: bool = True) -> Mapped:
    """Route and translate source rows; untranslatable rows become faults (row number → reason).

    Works column by column: each distinct value of a column is stripped, translated and checked once,
    and points are made in one vectorised call. ``columnar=False`` maps row by row instead, the plain
    definition the column-wise path is tested against (and the path for mapping keys it does not know:
    DMS, MGRS and perimeters). ``first_row`` is the file row of ``source``'s first row, for messages.
    A perimeter that fails to close raises ``geometry.perimeter_not_closed`` (a file fault).
    """
    check_columns(mapping, list(source))
    misclosure: dict[int, float] = {}
    n = len(next(iter(source.values()), []))
    table = _Table(source)
    route: dict[str | None, str | None] = {v: layer for layer, values in mapping.route.cases.items() for v in values}
    key = table.text(mapping.route.column) if mapping.route.column else [None] * n
    layer_of: dict[str | None, str | None] = {v: route.get(v, mapping.route.default) for v in set(key)}
    targets = sorted({t for t in layer_of.values() if t is not None})
    code: dict[str | None, int] = {t: k for k, t in enumerate(targets)}
    code_of = {v: code.get(t, -1) for v, t in layer_of.items()}
    codes = np.fromiter((code_of[v] for v in key), dtype=np.int64, count=n)
    raw_key = source[mapping.route.column] if mapping.route.column else key
    faults: dict[int, str] = {int(i): f"'{mapping.route.column}' value {raw_key[i]!r} is not routed to any layer"
                              for i in np.flatnonzero(codes < 0).tolist()}
    out: dict[str, LayerRows] = {}
    for t in [layer for layer in mapping.layers if layer in code]:  # the mapping's order, as row by row
        idx = np.flatnonzero(codes == code[t])
        spec = mapping.layers[t]
        if columnar and _plain_layer(spec) and _plain_geometry(mapping.geometry):
            rows = _layer_columns(mapping, spec, table, idx, faults)
        else:
            rows = _layer_rows(mapping, t, source, idx, faults, misclosure, first_row)
        if rows.rows:
            out[t] = rows
    order = {t: min(r.rows) for t, r in out.items()}  # layers in order of their first row, as row by row
    return Mapped({t: out[t] for t in sorted(out, key=order.__getitem__)}, dict(sorted(faults.items())), misclosure)


class _Table:
    """Source columns with each column's stripped text (``None`` for blank) made once, per distinct value."""

    def __init__(self, source: MappingABC[str, Sequence[Any]]) -> None:
        self.source = source
        self._text: dict[str, list[str | None]] = {}

    def text(self, column: str) -> list[str | None]:
        if column not in self._text:
            values = self.source[column]
            out: list[str | None]
            try:
                out = list(map(str.strip, values))  # the usual case, text from a file: C speed
            except TypeError:  # not all text: each distinct value once
                distinct = {v: _text(v) for v in set(values)}
                out = [distinct[v] for v in values]
            else:
                if "" in out:
                    out = [v or None for v in out]
            self._text[column] = out
        return self._text[column]

    def take(self, column: str, rows: list[int]) -> list[str | None]:
        """The text of ``column`` at ``rows`` (ascending positions)."""
        text = self.text(column)
        if len(rows) == len(text):
            return text
        return [text[i] for i in rows]


_LAYER_KEYS = {"fields", "values", "constants", "derived", "date", "info_date", "links"}
_DATE_KEYS = {"field", "column", "precision"}
_GEOMETRY_KEYS = {"x", "y", "wkt"}


def _plain_layer(spec: LayerSpec) -> bool:
    """Whether the column-wise path knows every key the layer's spec sets."""
    if spec.model_dump(exclude=_LAYER_KEYS, exclude_defaults=True):
        return False
    return spec.date is None or not spec.date.model_dump(exclude=_DATE_KEYS, exclude_defaults=True)


def _plain_geometry(spec: Geometry | None) -> bool:
    return spec is None or not spec.model_dump(exclude=_GEOMETRY_KEYS, exclude_defaults=True)


def _layer_rows(mapping: ImportMapping, layer: str, source: MappingABC[str, Sequence[Any]],
                idx: np.ndarray, faults: dict[int, str], misclosure: dict[int, float], first_row: int) -> LayerRows:
    """Row by row: the definition of what a mapping does to one source row."""
    target = LayerRows()
    spec = mapping.layers[layer]
    for i in idx.tolist():
        try:
            values = _row(spec, source, i)
            geom = _geometry(mapping.geometry, source, i)
            if isinstance(geom, Walk):
                misclosure[i] = geom.misclosure_m
                if record_type(layer).has_field("reference_lon"):
                    values.setdefault("reference_lon", geom.reference.x)
                    values.setdefault("reference_lat", geom.reference.y)
                geom = geom.polygon
        except GeometryError as exc:
            if exc.code != "geometry.perimeter_not_closed":
                faults[i] = exc.message
                continue
            exc.message = f"Row {first_row + i}: {exc.message}"
            raise
        except RowValidationError as exc:
            faults[i] = exc.message
            continue
        except _RowFault as fault:
            faults[i] = str(fault)
            continue
        target.rows.append(i)
        target.geometry.append(geom)
        n_rows = len(target.rows)
        for name, value in values.items():
            col = target.columns.get(name)
            if col is None:  # a field first seen now: earlier rows lacked it
                col = target.columns[name] = [None] * (n_rows - 1)
            col.append(value)
        for col in target.columns.values():
            if len(col) < n_rows:
                col.append(None)
    xy = [g for g in target.geometry if isinstance(g, tuple)]
    if xy:  # points are made all at once (shapely is vectorised), from (x, y) pairs
        points = iter(shapely.points(np.array(xy, dtype=float)).tolist())
        target.geometry = [next(points) if isinstance(g, tuple) else g for g in target.geometry]
    return target


def _translate(column: list[str | None], table: dict[str, Any], reason: str) -> tuple[list[Any], dict[int, str]]:
    """Values looked up in ``table`` (blank stays ``None``); positions with no translation, with why."""
    distinct: dict[str | None, Any] = {}
    bad: dict[int, str] = {}
    missing = object()
    for v in set(column):
        distinct[v] = None if v is None else table.get(v, missing)
    out = [distinct[v] for v in column]
    if any(d is missing for d in distinct.values()):
        for k, v in enumerate(column):
            if distinct[v] is missing:
                bad[k] = reason.format(value=repr(v))
                out[k] = None
    return out, bad


def _layer_columns(mapping: ImportMapping, spec: LayerSpec, table: _Table, idx: np.ndarray,
                   faults: dict[int, str]) -> LayerRows:
    """Column by column; the same rows, values and faults (the first, in the same order) as row by row."""
    rows = idx.tolist()
    m = len(rows)
    bad: dict[int, str] = {}  # position in ``rows`` -> first fault

    def take(column: str) -> list[str | None]:
        return table.take(column, rows)

    def fault(found: dict[int, str]) -> None:
        for k, reason in found.items():
            bad.setdefault(k, reason)

    values: dict[str, list[Any]] = {name: [v] * m for name, v in spec.constants.items()}
    for name, column in spec.fields.items():
        raw = take(column)
        if name in spec.values:
            values[name], found = _translate(raw, spec.values[name], f"'{column}' value {{value}} has no "
                                             f"translation for field '{name}'")
            fault(found)
        else:
            values[name] = raw
    for name, column in spec.links.items():  # source ids, resolved to uuids by the importer
        values[name] = take(column)
    for name, d in spec.derived.items():
        raw = take(d.column)
        values[name], found = _translate(raw, d.values, f"'{d.column}' value {{value}} has no translation for "
                                         f"field '{name}'")
        lookup: dict[Any, Any] = d.values
        if None in lookup:  # a blank source value may itself be translated
            values[name] = [lookup[None] if v is None else x for v, x in zip(raw, values[name], strict=True)]
        else:
            found.update({k: f"'{d.column}' value None has no translation for field '{name}'"
                          for k, v in enumerate(raw) if v is None})
        fault(dict(sorted(found.items())))
    if spec.date:
        raw = take(spec.date.column)
        if spec.date.precision == "year":
            years = {v: f"{v}-12-31" if v.isdigit() and len(v) == 4 else None for v in set(raw) if v is not None}
            fault({k: f"'{spec.date.column}' value {v!r} is not a year" for k, v in enumerate(raw)
                   if v is not None and years[v] is None})
            values[spec.date.field] = [None if v is None else years[v] for v in raw]
        else:
            values[spec.date.field] = raw
        values["date_precision"] = [None if v is None else spec.date.precision for v in raw]
    info = take(spec.info_date) if spec.info_date else [None] * m
    event = values.get(spec.date.field) if spec.date else None
    # Where there is no information date, it is the event date, never the import date.
    values["info_date"] = [i or e for i, e in zip(info, event, strict=True)] if event else \
        [i or None for i in info]
    geometry = _geometry_columns(mapping.geometry, table, rows, bad)
    keep = [k for k in range(m) if k not in bad]
    for k, reason in bad.items():
        faults[rows[k]] = reason
    if len(keep) == m:
        return LayerRows(rows, values, geometry)
    return LayerRows([rows[k] for k in keep], {name: [col[k] for k in keep] for name, col in values.items()},
                     [geometry[k] for k in keep])


def _geometry_columns(spec: Geometry | None, table: _Table, rows: list[int], bad: dict[int, str]) -> list[Any]:
    """Geometries of ``rows`` (points made at once); rows with faults not seen before get theirs in ``bad``."""
    if spec is None:
        return [None] * len(rows)
    if spec.wkt:
        out: list[Any] = []
        for k, i in enumerate(rows):
            try:
                out.append(_geometry(spec, table.source, i))
            except _RowFault as exc:
                bad.setdefault(k, str(exc))
                out.append(None)
        return out
    assert spec.x is not None and spec.y is not None
    x, y = table.take(spec.x, rows), table.take(spec.y, rows)
    try:  # the usual case: every coordinate a number
        fx = np.array(list(map(float, x)), dtype=np.float64)  # type: ignore[arg-type]
        fy = np.array(list(map(float, y)), dtype=np.float64)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        pass
    else:
        finite = np.isfinite(fx) & np.isfinite(fy)
        for k in np.flatnonzero(~finite).tolist():
            bad.setdefault(k, f"coordinates ({x[k]!r}, {y[k]!r}) in '{spec.x}'/'{spec.y}' are not finite numbers")
        if finite.all():
            made: list[Any] = shapely.points(fx, fy).tolist()
            return made
        made = [None] * len(rows)
        for k, p in zip(np.flatnonzero(finite).tolist(), shapely.points(fx[finite], fy[finite]).tolist(),
                        strict=True):
            made[k] = p
        return made
    numbers: dict[str | None, float] = {None: np.nan}
    for v in set(x) | set(y):
        try:
            numbers[v] = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            numbers[v] = np.nan  # not a number; told apart from 'nan' below
    fx = np.fromiter((numbers[v] for v in x), dtype=float, count=len(rows))
    fy = np.fromiter((numbers[v] for v in y), dtype=float, count=len(rows))
    blank = np.array([a is None and b is None for a, b in zip(x, y, strict=True)], dtype=bool)
    for k in np.flatnonzero(~np.isfinite(fx) | ~np.isfinite(fy)).tolist():
        if blank[k]:
            continue
        try:
            float(x[k]), float(y[k])  # type: ignore[arg-type]
            reason = "are not finite numbers"
        except (TypeError, ValueError):
            reason = "are not numbers"
        bad.setdefault(k, f"coordinates ({x[k]!r}, {y[k]!r}) in '{spec.x}'/'{spec.y}' {reason}")
    good = ~blank & np.isfinite(fx) & np.isfinite(fy)
    out = [None] * len(rows)
    if good.any():
        points = shapely.points(fx[good], fy[good]).tolist()
        for k, p in zip(np.flatnonzero(good).tolist(), points, strict=True):
            out[k] = p
    return out


class _RowFault(Exception):
    pass


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _geometry(spec: Geometry | None, source: MappingABC[str, Sequence[Any]],
              i: int) -> shapely.Geometry | tuple[float, float] | Walk | None:
    """The row's geometry in the source CRS: parsed WKT, (x, y) for a point built later, or a perimeter
    walk. Never invented: a row without coordinates has no geometry."""
    if spec is None:
        return None
    if spec.mgrs:
        raw = _text(source[spec.mgrs][i])
        return None if raw is None else parse_mgrs(raw)
    if spec.perimeter:
        return _walk(spec.perimeter, source, i)
    if spec.format == "dms":
        assert spec.x is not None and spec.y is not None
        x, y = _text(source[spec.x][i]), _text(source[spec.y][i])
        if x is None and y is None:
            return None
        if x is None or y is None:
            raise _RowFault(f"only one of '{spec.x}'/'{spec.y}' is given")
        return parse_dms(x), parse_dms(y)
    if spec.wkt:
        raw = _text(source[spec.wkt][i])
        if raw is None:
            return None
        try:
            return shapely.from_wkt(raw)
        except shapely.errors.GEOSException:
            raise _RowFault(f"'{spec.wkt}' is not valid WKT: {raw[:40]!r}") from None
    assert spec.x is not None and spec.y is not None
    x, y = _text(source[spec.x][i]), _text(source[spec.y][i])
    if x is None and y is None:
        return None
    try:
        point = (float(x), float(y))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _RowFault(f"coordinates ({x!r}, {y!r}) in '{spec.x}'/'{spec.y}' are not numbers") from None
    if not all(map(np.isfinite, point)):
        raise _RowFault(f"coordinates ({x!r}, {y!r}) in '{spec.x}'/'{spec.y}' are not finite numbers")
    return point


def _walk(spec: Perimeter, source: MappingABC[str, Sequence[Any]], i: int) -> Walk | None:
    cells = {c: _text(source[c][i]) for c in spec.columns()}
    if not any(cells.values()):
        return None
    if spec.mgrs:
        if cells[spec.mgrs] is None:
            raise _RowFault(f"the perimeter has no benchmark in '{spec.mgrs}'")
        benchmark = parse_mgrs(cells[spec.mgrs])  # type: ignore[arg-type]
    else:
        assert spec.x is not None and spec.y is not None
        x, y = cells[spec.x], cells[spec.y]
        if x is None or y is None:
            raise _RowFault(f"the perimeter's benchmark needs both '{spec.x}' and '{spec.y}'")
        benchmark = (parse_dms(x), parse_dms(y)) if spec.format == "dms" else (_number(x, spec.x), _number(y, spec.y))
    unit = BEARING_UNITS[spec.bearing_unit]
    to_reference = ((_number(cells[spec.reference_bearing], spec.reference_bearing) * unit + spec.declination_deg)
                    % 360.0, _number(cells[spec.reference_distance], spec.reference_distance))
    legs = parse_legs(cells[spec.legs] or "", unit=spec.bearing_unit, declination_deg=spec.declination_deg)
    return perimeter(benchmark, to_reference, legs, tolerance_m=spec.tolerance_m)


def _number(raw: str | None, column: str) -> float:
    try:
        value = float(str(raw).replace(",", "."))
    except ValueError:
        raise _RowFault(f"'{column}' value {raw!r} is not a number") from None
    if not np.isfinite(value):
        raise _RowFault(f"'{column}' value {raw!r} is not a finite number")
    return value


def _row(spec: LayerSpec, source: MappingABC[str, Sequence[Any]], i: int) -> dict[str, Any]:
    values: dict[str, Any] = dict(spec.constants)
    for name, column in spec.fields.items():
        raw = _text(source[column][i])
        if name in spec.values and raw is not None:
            if raw not in spec.values[name]:
                raise _RowFault(f"'{column}' value {raw!r} has no translation for field '{name}'")
            values[name] = spec.values[name][raw]
        else:
            values[name] = raw
    for name, column in spec.links.items():
        values[name] = _text(source[column][i])
    for name, d in spec.derived.items():
        raw = _text(source[d.column][i])
        if raw not in d.values:
            raise _RowFault(f"'{d.column}' value {raw!r} has no translation for field '{name}'")
        values[name] = d.values[raw]
    if spec.date:
        raw = _text(source[spec.date.column][i])
        if raw is None:
            values[spec.date.field] = None
        elif spec.date.precision == "year":
            if not (raw.isdigit() and len(raw) == 4):
                raise _RowFault(f"'{spec.date.column}' value {raw!r} is not a year")
            values[spec.date.field] = f"{raw}-12-31"
        else:
            values[spec.date.field] = raw
        values["date_precision"] = spec.date.precision if raw is not None else None
    info = _text(source[spec.info_date][i]) if spec.info_date else None
    # Where there is no information date, it is the event date, never the import date.
    values["info_date"] = info or (values.get(spec.date.field) if spec.date else None)
    return values
