"""The record declarations: the fixed layer list, metadata, links, personal fields and value checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeground.domain import vocabularies as voc
from safeground.domain.errors import ValidationError
from safeground.domain.fields import FieldType
from safeground.domain.records import LAYERS, METADATA_NAMES, RECORD_TYPES, record_type

FIXED_LAYERS = {"hazard_area", "evidence", "minefield_record", "activity", "released_area", "device", "accident",
                "casualty", "assistance_referral", "eore_session", "qm_inspection", "priority_target",
                "organisation", "team", "admin_area", "event"}


def test_layer_names_are_the_fixed_ones() -> None:
    assert set(LAYERS) == FIXED_LAYERS


def test_every_record_has_the_metadata_columns() -> None:
    required = {"uuid", "ref", "version", "review_state", "source", "source_id", "import_run", "info_date",
                "created_by", "created_at", "updated_by", "updated_at", "retired_at", "retired_reason"}
    assert required == METADATA_NAMES
    for rt in RECORD_TYPES.values():
        names = [f.name for f in rt.all_fields]
        assert len(names) == len(set(names)), f"{rt.layer} declares a field twice"
        assert required <= set(names)


def test_ref_prefixes_are_unique() -> None:
    prefixes = [rt.prefix for rt in RECORD_TYPES.values()]
    assert len(prefixes) == len(set(prefixes))


def test_links_point_at_declared_layers() -> None:
    for rt in RECORD_TYPES.values():
        for f in rt.fields:
            if f.type in (FieldType.LINK, FieldType.LINKS):
                assert f.links_to in RECORD_TYPES, (rt.layer, f.name)


def test_casualty_names_are_personal_and_hazards_have_marking() -> None:
    casualty = record_type("casualty")
    assert {"given_name", "family_name"} <= set(casualty.personal_fields)
    assert casualty.field("severity").vocabulary is voc.SEVERITY
    assert set(voc.SEVERITY.codes) == {"serious", "minor", "unknown"}
    assert record_type("hazard_area").field("marking").vocabulary is voc.MARKING_STATUS
    assert record_type("assistance_referral").field("service").vocabulary is voc.ASSISTANCE_SERVICE


def test_every_declared_field_has_labels_in_english() -> None:
    for rt in RECORD_TYPES.values():
        for f in rt.all_fields:
            assert f.labels.get("en"), (rt.layer, f.name)


def test_landmine_monitor_device_categories() -> None:
    assert voc.DEVICE_CATEGORY.codes == ("ap_mine", "improvised_mine", "av_mine", "unspecified_mine",
                                         "cluster_submunition", "other_erw")


def test_check_refuses_unknown_and_managed_fields() -> None:
    rt = record_type("hazard_area")
    with pytest.raises(Exception) as info:
        rt.check({"nmae": "typo"})
    assert info.value.code == "record.unknown_field"  # type: ignore[attr-defined]
    with pytest.raises(ValidationError) as info2:
        rt.check({"name": "x", "hazard_class": "sha", "status": "open", "version": 3})
    assert info2.value.code == "record.managed_field"


@given(st.integers(min_value=-(2**40), max_value=2**40))
def test_integer_fields_accept_whole_numbers_in_any_form(n: int) -> None:
    f = record_type("eore_session").field("women")
    if n < 0:
        with pytest.raises(ValidationError):
            f.check(n)
    else:
        assert f.check(n) == n
        assert f.check(str(n)) == n
        assert f.check(float(n)) == n


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not float(x).is_integer()))
def test_integer_fields_refuse_fractions(x: float) -> None:
    with pytest.raises(ValidationError) as info:
        record_type("device").field("quantity").check(x)
    assert info.value.code in ("record.bad_value", "record.out_of_range")


@given(st.lists(st.sampled_from(voc.ASSET.codes), min_size=1, max_size=4))
def test_choices_round_trip_as_space_separated_codes(codes: list[str]) -> None:
    f = record_type("activity").field("assets")
    assert f.check(codes) == " ".join(codes)
    assert f.check(" ".join(codes)) == " ".join(codes)


def test_dates_are_normalised_and_bad_dates_refused() -> None:
    f = record_type("accident").field("accident_date")
    assert f.check("2014-03-05T10:00:00") == "2014-03-05"
    with pytest.raises(ValidationError) as info:
        f.check("05/03/2014")
    assert info.value.code == "record.bad_value" and "YYYY-MM-DD" in info.value.hint
