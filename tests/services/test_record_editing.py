"""Writing records as a person may: refusals leave the file as it was, answers are redacted, and a record with
only some of its fields (or none) never slips past the required ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import shapely
from tests.conftest import HAZARD_BOX, refused_unchanged

from safeground.domain.errors import ValidationError
from safeground.domain.roles import Role
from safeground.domain.users import User
from safeground.services import record_editing
from safeground.services.records import add_record
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws


def _user(role: Role, *areas: str) -> User:
    return User(uuid="u", username=f"{role.value}-user", display_name=None, role=role, areas=areas, created_at="t")


@pytest.mark.parametrize(("layer", "values"), [
    ("organisation", {}),
    ("hazard_area", {}),
    ("hazard_area", {"geometry": HAZARD_BOX}),  # a geometry alone: the name, class and status are still required
    ("accident", {"geometry": shapely.Point(-72.495, 5.005)}),
])
def test_a_record_lacking_its_required_fields_is_refused_even_when_it_has_no_fields_at_all(
        ws: Workspace, layer: str, values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        add_record(ws, layer, values)
    assert info.value.code == "record.required_field"
    assert ws.store.count(layer) == 0


def test_a_restricted_users_record_outside_their_areas_is_refused_with_nothing_written(
        ws: Workspace, db_path: Path, areas: dict[str, dict]) -> None:
    meta_only = _user(Role.DATA_ENTRY, "CO50")
    values = {"name": "El Retiro", "hazard_class": "sha", "status": "open",
              "geometry": shapely.box(-75.52, 6.50, -75.51, 6.51)}  # in Antioquia
    err = refused_unchanged(ws, db_path, lambda w: record_editing.create(w, meta_only, "hazard_area", values))
    assert (err.code, err.status) == ("records.outside_area", 403)


def test_a_move_out_of_the_users_areas_is_refused_with_nothing_written(ws: Workspace, db_path: Path,
                                                                       areas: dict[str, dict]) -> None:
    meta_only = _user(Role.DATA_ENTRY, "CO50")
    record_editing.create(ws, meta_only, "hazard_area", {"name": "La Esperanza", "hazard_class": "sha",
                                                         "status": "open", "geometry": HAZARD_BOX})
    away = {"geometry": shapely.box(-75.52, 6.50, -75.51, 6.51)}
    err = refused_unchanged(ws, db_path, lambda w: record_editing.update(w, meta_only, "hazard_area", "HA-000001",
                                                                         away, version=1))
    assert err.code == "records.outside_area"


def test_data_entry_writes_a_casualtys_name_but_never_gets_it_back(ws: Workspace) -> None:
    clerk, qa = _user(Role.DATA_ENTRY), _user(Role.QA)
    accident = record_editing.create(ws, clerk, "accident", {"accident_type": "mine_erw",
                                                             "geometry": shapely.Point(-72.495, 5.005)})
    answer = record_editing.create(ws, clerk, "casualty", {"accident": accident["uuid"], "outcome": "injured",
                                                           "status": "civilian", "given_name": "Yurley", "age": 14})
    assert "given_name" not in answer and "age" not in answer
    changed = record_editing.update(ws, clerk, "casualty", answer["ref"], {"family_name": "Cárdenas"}, version=1)
    assert "family_name" not in changed
    stored = record_editing.review(ws, qa, "casualty", answer["ref"], "approved", version=2)
    assert (stored["given_name"], stored["family_name"], stored["age"]) == ("Yurley", "Cárdenas", 14)


def test_unknown_fields_and_non_scalar_values_are_bad_input(ws: Workspace) -> None:
    qa = _user(Role.QA)
    with pytest.raises(ValidationError) as unknown:
        record_editing.create(ws, qa, "organisation", {"name": "NGO", "colour": "red"})
    assert (unknown.value.code, unknown.value.status) == ("record.unknown_field", 422)
    with pytest.raises(ValidationError) as nested:
        record_editing.create(ws, qa, "organisation", {"name": {"en": "NGO"}})
    assert nested.value.code == "record.bad_value"
    with pytest.raises(ValidationError) as huge:
        record_editing.create(ws, qa, "eore_session", {"session_date": "2024-01-01", "women": 2**64})
    assert huge.value.code == "record.bad_value"
    assert ws.store.count("organisation") == ws.store.count("eore_session") == 0
    target = record_editing.create(ws, qa, "priority_target", {"name": "School", "kind": "school",
                                                               "geometry": shapely.Point(-72.495, 5.005)})
    assert target["blocking_hazards"] is None
