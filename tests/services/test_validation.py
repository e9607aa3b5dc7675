"""Column validation: the bulk fast paths give exactly what checking value by value gives."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeground.domain.errors import SafeGroundError
from safeground.domain.records import record_type
from safeground.services.validation import _check_each, check_column
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

FIELDS = [record_type("device").field("depth_cm"),        # real, minimum 0
          record_type("eore_session").field("women"),      # integer, minimum 0
          record_type("hazard_area").field("name"),        # free text
          record_type("released_area").field("hazard"),    # link
          record_type("device").field("category")]         # vocabulary

values = st.one_of(st.none(), st.integers(-5, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from(["", "  ", "ap_mine", "av_mine", "Vereda 3", "3", "2.5"]), st.text(max_size=8))


def outcome(fn, f, column):
    try:
        return ("ok", fn(f, column))
    except SafeGroundError as err:
        return ("error", err.code, err.details.get("row"))


def same(a, b) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "error":
        return a == b
    return len(a[1]) == len(b[1]) and all(
        (x is None and y is None) or x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(a[1], b[1], strict=True))


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(FIELDS), column=st.lists(values, max_size=30))
def test_bulk_check_equals_value_by_value(field, column) -> None:
    assert same(outcome(check_column, field, column), outcome(_check_each, field, column))


def test_first_bad_row_is_named() -> None:
    with pytest.raises(SafeGroundError) as info:
        check_column(record_type("device").field("depth_cm"), [1.0, None, 2.0, -3.0, -4.0], offset=100)
    assert info.value.details["row"] == 103 and info.value.message.startswith("Row 103:")
