"""The roles' policy table: what each role may do, written out as the README states it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeground.domain.errors import NotFoundError, ValidationError
from safeground.domain.records import LAYERS
from safeground.domain.roles import ACTIONS, Role, can, policy_table
from safeground.domain.users import User, check_username
from safeground.store.migrations import USER_ROLES

V, D, Q, A = "viewer", "data_entry", "qa", "admin"
valid_names = st.from_regex(r"[a-z0-9][a-z0-9._@-]{0,63}", fullmatch=True)

#: action -> roles allowed on (an ordinary layer, a layer about persons, a reference layer).
EXPECTED = {
    "read": ([V, D, Q, A], [D, Q, A], [V, D, Q, A]),
    "read_personal": ([Q, A], [Q, A], [Q, A]),
    "create": ([D, Q, A], [D, Q, A], [Q, A]),
    "update": ([D, Q, A], [D, Q, A], [Q, A]),
    "retire": ([Q, A], [Q, A], [Q, A]),
    "review": ([Q, A], [Q, A], [Q, A]),
    "publish_figures": ([Q, A], [Q, A], [Q, A]),
    "configure": ([A], [A], [A]),
    "manage_users": ([A], [A], [A]),
}


def test_policy_table_is_the_documented_one() -> None:
    rows = {r["action"]: (r["ordinary"], r["person"], r["reference"]) for r in policy_table()}
    assert rows == EXPECTED


@pytest.mark.parametrize("layer", ["casualty", "assistance_referral"])
def test_a_viewer_sees_persons_only_as_aggregates(layer: str) -> None:
    assert not can(Role.VIEWER, "read", layer)
    assert can(Role.DATA_ENTRY, "read", layer) and not can(Role.DATA_ENTRY, "read_personal", layer)
    assert can(Role.DATA_ENTRY, "create", layer), "an accident report names its casualties"


def test_data_entry_changes_only_submitted_records_and_never_accredits() -> None:
    assert can(Role.DATA_ENTRY, "update", "activity", review_state="submitted")
    for state in ("approved", "published"):
        assert not can(Role.DATA_ENTRY, "update", "activity", review_state=state)
        assert can(Role.QA, "update", "activity", review_state=state)
    assert not can(Role.DATA_ENTRY, "update", "organisation")
    assert not can(Role.DATA_ENTRY, "review", "activity")


@given(st.sampled_from(list(ACTIONS)), st.sampled_from([None, *LAYERS]),
       st.sampled_from([None, "submitted", "approved", "published"]))
def test_each_role_includes_the_rights_of_the_one_before(action: str, layer: str | None, state: str | None) -> None:
    allowed = [can(r, action, layer, review_state=state) for r in Role]
    assert allowed == sorted(allowed), f"{action} on {layer}: {allowed}"
    assert allowed[-1], "admin may do everything"


def test_unknown_actions_roles_and_layers_are_errors_not_refusals() -> None:
    with pytest.raises(ValidationError) as info:
        can(Role.ADMIN, "delete", "hazard_area")
    assert info.value.code == "auth.unknown_action"
    with pytest.raises(ValidationError) as info:
        can("superuser", "read", "hazard_area")
    assert info.value.code == "user.bad_role"
    with pytest.raises(NotFoundError):
        can(Role.ADMIN, "read", "minefields")


def test_a_retired_user_may_do_nothing() -> None:
    admin = User(uuid="u", username="ana", display_name=None, role=Role.ADMIN, areas=(), created_at="t",
                 retired_at="2026-01-01T00:00:00.000Z")
    assert not any(admin.can(a, "hazard_area") for a in ACTIONS)


def test_migration_allows_exactly_the_roles() -> None:
    assert tuple(r.value for r in Role) == USER_ROLES


@given(valid_names)
def test_valid_usernames_pass(name: str) -> None:
    assert check_username(name) == name


@given(st.one_of(
    st.tuples(valid_names, st.sampled_from(["A", " ", "É", "é", "/", ":", "\n", "ñ"]), valid_names).map("".join),
    valid_names.map(lambda n: (n * 65)[:65]),  # too long
    st.sampled_from(["", "-ana", ".ana", "_ana"])))
def test_usernames_with_capitals_spaces_or_too_long_are_refused(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_username(name)
    assert info.value.code == "user.bad_username"
