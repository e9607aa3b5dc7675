"""Cell tables for risk prediction: the real RELand grid, and columns that are odd, missing or extra."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from safeground.domain.errors import ValidationError
from safeground.services.risk_cells import align_features, read_cell_table
from safeground.services.risk_labels import require_both_classes

RELAND = Path(__file__).resolve().parents[2] / "data" / "reland_antioquia" / "antioquia_train_all.csv"


def test_the_reland_grid_reads_with_its_labels_groups_and_locations() -> None:
    t = read_cell_table(RELAND, label_column="mines_outcome", group_column="Municipio")
    assert len(t) == 7019
    assert t.label_counts == {"positive": 1132, "negative": 3357, "unknown": 2530}
    assert len(set(t.groups)) == 19 and "NARI¥O" in set(t.groups)
    # Quoted commas in header names survive; location and text columns are never features.
    assert "Acto terrorista, Atentados, Combates, Enfrentamientos, Hostigamientos" in t.names
    assert {"LATITUD_Y", "LONGITUD_X", "geometry"} == set(t.report.location)
    assert not {"LATITUD_Y", "LONGITUD_X", "geometry", "Municipio", "mines_outcome"} & set(t.names)
    assert len(t.names) == 62 and t.features.shape == (7019, 62)
    first = t.points[0]
    assert (round(first.x, 4), round(first.y, 4)) == (-75.563, 5.7143)
    assert list(t.ids[:3]) == ["1", "2", "3"]  # the row number when no --id is given


def test_odd_columns_are_reported_never_crashed_on(tmp_path: Path) -> None:
    p = tmp_path / "cells.csv"
    p.write_text("cell,lon,lat,found,zone,roads_dist,notes_empty,slope\n"
                 "a,-75,6,1,north,0.5,,12\n"
                 "b,-75.1,6,0,south,far,,\n"
                 "c,-75.2,6,,east,2.5,,3\n"
                 "d,-75.3,6,9,west,3.0,,4\n", encoding="utf-8")
    t = read_cell_table(p, id_column="cell", label_column="found", unknown_value=9)
    assert t.names == ["roads_dist", "slope"]
    assert t.report.text_left_out == ["zone"] and t.report.empty_left_out == ["notes_empty"]
    assert t.report.not_numbers == {"roads_dist": 1} and t.report.missing_values == {"slope": 1}
    assert np.isnan(t.features[1]).all()
    assert t.labels.tolist()[:2] == [1.0, 0.0] and np.isnan(t.labels[2:]).all()  # empty and 9 are unknown
    assert list(t.ids) == ["a", "b", "c", "d"]


@pytest.mark.parametrize(("text", "kwargs", "code"), [
    ("x,y\n1,2\n", {"label_column": "mines_outcome"}, "risk.absent_column"),
    ("x,y\n1,2\n", {"group_column": "Municipio"}, "risk.absent_column"),
    ("x,y\n1,2\n1,3\n", {"id_column": "x"}, "risk.duplicate_id"),
    ("x,y\n1,2\n2,0.5\n", {"label_column": "y"}, "risk.bad_label"),
])
def test_unusable_tables_are_refused_with_a_reason(tmp_path: Path, text: str, kwargs: dict, code: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_cell_table(p, **kwargs)
    assert info.value.code == code


def test_a_table_without_negatives_is_refused_rather_than_taking_unknown_for_negative() -> None:
    with pytest.raises(ValidationError) as info:
        require_both_classes({"positive": 10, "negative": 0, "unknown": 500})
    assert info.value.code == "risk.no_negatives"


def test_columns_of_another_region_are_aligned_to_the_model(tmp_path: Path) -> None:
    p = tmp_path / "other_region.csv"
    p.write_text("elevation,CLIMA_Frio,new_col\n1200,1,5\n800,0,6\n", encoding="utf-8")
    t = read_cell_table(p)
    x, report = align_features(t, ["elevation", "CLIMA_Frio", "CLIMA_Calido", "roads_dist"], [False, True, True,
                                                                                               False])
    assert x[:, 0].tolist() == [1200, 800] and x[:, 1].tolist() == [1, 0]
    assert x[:, 2].tolist() == [0, 0]  # a one-hot category absent from this region: 0
    assert np.isnan(x[:, 3]).all()  # a measurement absent: missing, which the trees handle
    assert report.absent_filled_zero == ["CLIMA_Calido"] and report.absent_filled_missing == ["roads_dist"]
    assert report.extra_ignored == ["new_col"]
