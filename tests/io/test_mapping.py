"""Import mappings: the shipped Colombia mapping routes the real register, and bad mappings are refused."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import DATA

from safeground.domain.errors import SafeGroundError
from safeground.io.mapping import apply_mapping, load_mapping
from safeground.services.records import add_records
from safeground.services.workspace import Workspace
from safeground.store.base import Batch

REGISTER = DATA / "colombia_aicma" / "events_1990_2014.csv"


def register() -> dict[str, list[str]]:
    with open(REGISTER, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: [r[k] for r in rows] for k in rows[0]}


def test_colombia_mapping_routes_every_row_of_the_real_register() -> None:
    source = register()
    mapped = apply_mapping(load_mapping("colombia_aicma"), source)
    types = Counter(source["tipo_evento"])
    assert mapped.faults == {}
    counts = {layer: len(rows.rows) for layer, rows in mapped.layers.items()}
    assert counts == {
        "accident": types["Accidente por MAP"] + types["Accidente por MUSE"],
        "device": types["Desminado militar en operaciones"] + types["Municiones sin explotar"],
        "event": sum(types.values()) - sum(types[t] for t in ("Accidente por MAP", "Accidente por MUSE",
                                                              "Desminado militar en operaciones",
                                                              "Municiones sin explotar")),
    }
    assert sum(counts.values()) == len(source["year"])  # read = routed + faults
    events = mapped.layers["event"]
    assert set(events.columns["event_type"]) == {"Incautaciones", "Sospecha de campo minado", "Arsenal almacenado",
                                                 "Produccion de minas (fabrica)"}
    for layer, rows in mapped.layers.items():  # every column stays aligned with its source rows
        assert all(len(col) == len(rows.rows) for col in rows.columns.values()), layer
        assert [rows.columns["admin2"][j] for j in range(len(rows.rows))] == [source["municipio"][i] for i in rows.rows]
    i = events.rows[0]
    assert events.columns["admin2"][0] == source["municipio"][i]  # kept as given, accents and all
    assert events.columns["event_date"][0] == f"{source['year'][i]}-12-31"
    assert events.columns["date_precision"][0] == "year"
    assert events.columns["info_date"][0] == events.columns["event_date"][0]
    assert all(g.geom_type == "Point" for g in events.geometry)  # no polygon is invented


def test_mapped_rows_are_valid_records(ws: Workspace) -> None:
    source = register()
    year = [i for i, y in enumerate(source["year"]) if y == "2010"]
    mapping = load_mapping("colombia_aicma")
    mapped = apply_mapping(mapping, {k: [v[i] for i in year] for k, v in source.items()})
    for layer, rows in mapped.layers.items():
        add_records(ws, layer, Batch(rows.columns, np.array(rows.geometry, dtype=object)),
                    review_state=mapping.review_state)
    stored = sum(ws.store.count(layer) for layer in mapped.layers)
    assert stored == len(year)
    assert {r["review_state"] for r in ws.store.query("device", geometry=False)} == {"approved"}


def test_a_mapping_naming_absent_columns_is_refused() -> None:
    source = register()
    del source["municipio"]
    with pytest.raises(SafeGroundError) as info:
        apply_mapping(load_mapping("colombia_aicma"), source)
    assert info.value.code == "mapping.absent_column" and "municipio" in info.value.message


def test_untranslatable_rows_become_faults_with_a_reason() -> None:
    source = {k: v[:3] for k, v in register().items()}
    source["tipo_area"][1] = "Selva"
    source["lat"][2] = "norte"
    mapped = apply_mapping(load_mapping("colombia_aicma"), source)
    assert set(mapped.faults) == {1, 2}
    assert "Selva" in mapped.faults[1] and "not numbers" in mapped.faults[2]


@pytest.mark.parametrize(("text", "fragment"), [
    ("name: x\nroute: {column: a, default: nowhere}\nlayers: {}\n", "unknown layer"),
    ("name: x\nroute: {column: a, default: event}\nlayers: {}\n", "no entry under 'layers'"),
    ("name: x\nroute: {column: a, default: event}\nlayers: {event: {fields: {colour: a}}}\n", "no field 'colour'"),
    ("name: x\nroute: {column: a, default: event}\nlayers: {event: {}}\nextra: 1\n", "extra"),
])
def test_invalid_mappings_are_refused_with_what_is_wrong(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(SafeGroundError) as info:
        load_mapping(path)
    assert info.value.code == "mapping.invalid" and fragment in info.value.message


_CELLS = {
    "year": ["2004", "1999", " 2010 ", "", "20x4", "04"],
    "tipo_evento": ["Accidente por MAP", "Accidente por MUSE", "Municiones sin explotar", "Incautaciones", "",
                    " Desminado militar en operaciones"],
    "departamento": ["META", "", "  ", "NARIÑO"],
    "municipio": ["URIBE", "", "TUMACO"],
    "tipo_area": ["Rural", "Urbana", "", "Selva", " Rural"],
    "lat": ["3.2", "", "norte", "nan", "1e400", " 4.5 "],
    "lon": ["-74.3", "", "oeste", "-72", "inf"],
}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(*(st.sampled_from(v) for v in _CELLS.values())), min_size=0, max_size=40))
def test_column_wise_mapping_gives_exactly_what_row_by_row_mapping_gives(rows: list[tuple[str, ...]]) -> None:
    source = {name: [r[k] for r in rows] for k, name in enumerate(_CELLS)}
    mapping = load_mapping("colombia_aicma")
    fast, slow = apply_mapping(mapping, source), apply_mapping(mapping, source, columnar=False)
    assert fast.faults == slow.faults
    assert list(fast.layers) == list(slow.layers)
    for layer, rows_ in slow.layers.items():
        got = fast.layers[layer]
        assert got.rows == rows_.rows and got.columns == rows_.columns
        assert [g is None or g.wkt for g in got.geometry] == [g is None or g.wkt for g in rows_.geometry]
    assert len(fast.faults) + sum(len(r.rows) for r in fast.layers.values()) == len(rows)
