"""Reading records as a person may: the public sees published records only, personal fields go unless the
role reads them, restricted users see their areas (casualties through their accident), filters and paging."""

from __future__ import annotations

import datetime as dt

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import HAZARD_BOX

from safeground.domain.errors import AuthenticationError, ForbiddenError, NotFoundError, ValidationError
from safeground.domain.roles import Role
from safeground.domain.users import User
from safeground.services.record_access import RecordFilter, find_records, get_record, record_history
from safeground.services.records import add_record, set_review_state, update_record
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

OUTSIDE = shapely.box(-75.6, 6.4, -75.59, 6.41)  # in Antioquia, not Meta


def person(role: Role, *areas: str) -> User:
    return User(uuid=role.value, username=role.value, display_name=None, role=role, areas=areas, created_at="t")


@pytest.fixture
def records(ws: Workspace, areas: dict[str, dict]) -> dict[str, dict]:
    inside = add_record(ws, "hazard_area", {"name": "North field", "hazard_class": "cha", "status": "open",
                                            "reported_date": "2021-03-01", "geometry": HAZARD_BOX})
    outside = add_record(ws, "hazard_area", {"name": "Far field", "hazard_class": "sha", "status": "open",
                                             "reported_date": "2023-07-15", "admin2_code": "CO05001",
                                             "geometry": OUTSIDE})
    acc_in = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2022-01-02",
                                         "geometry": shapely.Point(-72.495, 5.005)})
    acc_out = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": "2022-01-03",
                                          "geometry": shapely.Point(-75.595, 6.405)})
    cas_in = add_record(ws, "casualty", {"accident": acc_in["uuid"], "outcome": "killed", "status": "civilian",
                                         "given_name": "Rosa", "family_name": "Mejía", "age": 34})
    cas_out = add_record(ws, "casualty", {"accident": acc_out["uuid"], "outcome": "injured", "status": "civilian",
                                          "given_name": "Luis", "family_name": "Ortiz"})
    return {"inside": inside, "outside": outside, "cas_in": cas_in, "cas_out": cas_out}


def test_the_public_reads_only_published_records_and_never_about_persons(ws: Workspace, records: dict) -> None:
    assert find_records(ws, None, "hazard_area").total == 0
    set_review_state(ws, "hazard_area", records["inside"]["uuid"], "approved")
    set_review_state(ws, "hazard_area", records["inside"]["uuid"], "published")
    page = find_records(ws, None, "hazard_area", RecordFilter(review_state=("submitted", "published")))
    assert [r["ref"] for r in page.records] == [records["inside"]["ref"]]
    assert get_record(ws, None, "hazard_area", records["inside"]["ref"])["name"] == "North field"
    with pytest.raises(NotFoundError):
        get_record(ws, None, "hazard_area", records["outside"]["ref"])
    with pytest.raises(AuthenticationError):
        find_records(ws, None, "casualty")
    with pytest.raises(ForbiddenError):
        record_history(ws, None, "hazard_area", records["inside"]["ref"])


def test_personal_fields_only_for_roles_that_read_them(ws: Workspace, records: dict) -> None:
    with pytest.raises(ForbiddenError):
        find_records(ws, person(Role.VIEWER), "casualty")
    entry = find_records(ws, person(Role.DATA_ENTRY), "casualty").records[0]
    assert entry["outcome"] == "killed" and not {"given_name", "family_name", "age"} & set(entry)
    qa = get_record(ws, person(Role.QA), "casualty", records["cas_in"]["ref"])
    assert (qa["given_name"], qa["age"]) == ("Rosa", 34)
    update_record(ws, "casualty", records["cas_in"]["uuid"], {"family_name": "Mejía López", "outcome": "injured"})
    seen = record_history(ws, person(Role.DATA_ENTRY), "casualty", records["cas_in"]["ref"])
    assert seen[-1]["changed"] == ["outcome"], "the change of name is not disclosed"
    assert "Mejía" not in repr(seen)
    full = record_history(ws, person(Role.QA), "casualty", records["cas_in"]["ref"])
    assert set(full[-1]["changed"]) >= {"family_name", "outcome"} and full[-1]["actor"] == "ana"


def test_a_restricted_user_sees_their_areas_only(ws: Workspace, records: dict) -> None:
    meta = person(Role.QA, "CO50")
    assert [r["ref"] for r in find_records(ws, meta, "hazard_area").records] == [records["inside"]["ref"]]
    assert [r["ref"] for r in find_records(ws, meta, "casualty").records] == [records["cas_in"]["ref"]]
    for layer, key in (("hazard_area", "outside"), ("casualty", "cas_out")):
        with pytest.raises(NotFoundError):
            get_record(ws, meta, layer, records[key]["ref"])
    assert find_records(ws, person(Role.QA, "CO05"), "hazard_area").total == 0, \
        "a code outside the area hides the record even though its geometry also lies there"


def test_filters_by_date_status_admin_and_box(ws: Workspace, records: dict) -> None:
    qa = person(Role.QA)
    between = RecordFilter(date_from=dt.date(2021, 3, 1), date_to=dt.date(2021, 3, 1))
    assert [r["ref"] for r in find_records(ws, qa, "hazard_area", between).records] == [records["inside"]["ref"]]
    assert find_records(ws, qa, "hazard_area", RecordFilter(date_from=dt.date(2021, 3, 2))).total == 1
    assert find_records(ws, qa, "hazard_area", RecordFilter(status=("closed",))).total == 0
    assert find_records(ws, qa, "hazard_area", RecordFilter(admin=("CO50",))).records[0]["name"] == "North field"
    box = RecordFilter(bbox=(-75.7, 6.3, -75.5, 6.5))
    assert [r["name"] for r in find_records(ws, qa, "hazard_area", box).records] == ["Far field"]
    for bad, code in ((RecordFilter(admin=("XX9",)), "records.unknown_admin"),
                      (RecordFilter(status=("open",)), "records.no_status"),
                      (RecordFilter(bbox=(0, 0, 1, 1)), "query.not_spatial"),
                      (RecordFilter(date_from=dt.date(2022, 1, 1), date_to=dt.date(2021, 1, 1)), "records.bad_dates")):
        with pytest.raises(ValidationError) as err:
            find_records(ws, qa, "organisation" if code in ("records.no_status", "query.not_spatial") else
                         "hazard_area", bad)
        assert err.value.code == code


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(0, 12), limit=st.integers(1, 5), restricted=st.booleans())
def test_paging_returns_every_record_once(ws: Workspace, areas: dict, n: int, limit: int, restricted: bool) -> None:
    existing = ws.store.count("hazard_area", include_retired=False)
    for i in range(n):
        add_record(ws, "hazard_area", {"name": f"F{i}", "hazard_class": "sha", "status": "open",
                                       "geometry": shapely.box(-72.5 + i * 0.001, 5.0, -72.4995 + i * 0.001, 5.0005)})
    who = person(Role.VIEWER, "CO50") if restricted else person(Role.VIEWER)
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = find_records(ws, who, "hazard_area", limit=limit, offset=offset)
        seen += [r["uuid"] for r in page.records]
        offset = page.next_offset
    assert len(seen) == len(set(seen)) == existing + n == page.total
    with pytest.raises(ValidationError):
        find_records(ws, who, "hazard_area", limit=1001)


def test_history_names_a_new_geometry_without_its_coordinates(ws: Workspace, records: dict) -> None:
    update_record(ws, "hazard_area", records["inside"]["uuid"], {"geometry": shapely.box(-72.50, 5.00, -72.495, 5.01)})
    history = record_history(ws, person(Role.VIEWER), "hazard_area", records["inside"]["ref"])
    moved = [e for e in history if "geometry" in e["changed"]]
    assert len(moved) == 1 and "area_m2" in moved[0]["changed"] and moved[0]["op"] == "update"
    assert "'geom'" not in repr(history) and "geometry" not in moved[0]["after"]
