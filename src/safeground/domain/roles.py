"""Roles and what each may do: the one policy table the CLI, the services and the web app consult.

Four roles, each including everything of the one before it:

- ``viewer`` reads records without personal fields; casualties and victim-assistance referrals (the layers
  about persons) only as aggregates;
- ``data_entry`` also creates and updates *submitted* records (field reports, imports), casualties included:
  it may write personal fields (a name on an accident report) but reads them back as a viewer does;
- ``qa`` (QA/approver) also reads personal fields, approves, publishes and returns records, retires them,
  edits records whatever their review state and the reference layers (organisations and their
  accreditation, admin areas), and publishes official figures;
- ``admin`` also manages users, their roles, area restrictions and API tokens, and the configuration.

Personal fields are read only by ``qa`` and ``admin``: a victim's name is needed to reconcile reports and
refer the person to assistance, which is the national authority's work, never for viewing a map.

>>> can(Role.VIEWER, "read", "hazard_area"), can(Role.VIEWER, "read", "casualty")
(True, False)
>>> can(Role.DATA_ENTRY, "update", "casualty"), can(Role.DATA_ENTRY, "read_personal", "casualty")
(True, False)
>>> can(Role.DATA_ENTRY, "update", "hazard_area", review_state="approved")
False
>>> can(Role.QA, "review", "hazard_area"), can(Role.QA, "manage_users")
(True, False)
"""

from __future__ import annotations

from enum import StrEnum

from safeground.domain.errors import ValidationError
from safeground.domain.records import record_type


class Role(StrEnum):
    """A user's role; later roles include every right of the earlier ones."""

    VIEWER = "viewer"
    DATA_ENTRY = "data_entry"
    QA = "qa"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


#: Every action ``can`` knows, with what it means.
ACTIONS: dict[str, str] = {
    "read": "read records of a layer, without personal fields",
    "read_personal": "read the personal fields of a layer (names, contacts, ids, ages)",
    "create": "create records (submitted) by form, import or submission",
    "update": "change records; data entry only while they are submitted",
    "retire": "retire a record, with a reason",
    "review": "approve, publish, return or withdraw records (the review workflow)",
    "publish_figures": "freeze a year's official figures (stats publish)",
    "configure": "set the configuration",
    "manage_users": "add, retire and change users, their roles, area restrictions and API tokens",
}

#: Layers about persons: a viewer sees them only as aggregates.
PERSON_LAYERS = frozenset({"casualty", "assistance_referral"})

#: Reference layers the national authority keeps: an operator's data entry never accredits itself.
REFERENCE_LAYERS = frozenset({"organisation", "admin_area"})

#: The lowest role allowed each action (on an ordinary layer).
MINIMUM_ROLE: dict[str, Role] = {
    "read": Role.VIEWER,
    "read_personal": Role.QA,
    "create": Role.DATA_ENTRY,
    "update": Role.DATA_ENTRY,
    "retire": Role.QA,
    "review": Role.QA,
    "publish_figures": Role.QA,
    "configure": Role.ADMIN,
    "manage_users": Role.ADMIN,
}

#: Review states data entry may still change: once QA approved a record, only QA changes it.
DATA_ENTRY_STATES = frozenset({"submitted"})


def parse_role(value: str) -> Role:
    """The role named ``value``; ``user.bad_role`` otherwise.

    >>> parse_role("qa")
    <Role.QA: 'qa'>
    """
    try:
        return Role(value)
    except ValueError:
        raise ValidationError("user.bad_role", f"Unknown role {value!r}.",
                              hint="Use one of: " + ", ".join(r.value for r in Role) + ".") from None


def check_action(action: str) -> None:
    """Refuse an action the policy does not know (a typo must never mean 'allowed' or 'denied' silently)."""
    if action not in ACTIONS:
        raise ValidationError("auth.unknown_action", f"Unknown action {action!r}.",
                              hint="Use one of: " + ", ".join(ACTIONS) + ".")


def can(role: Role | str, action: str, layer: str | None = None, *, review_state: str | None = None) -> bool:
    """Whether ``role`` may do ``action`` on ``layer`` (a record in ``review_state``, when given)."""
    check_action(action)
    role = parse_role(role) if isinstance(role, str) else role
    if layer is not None:
        record_type(layer)  # an unknown layer is an error, not a refusal
    needed = MINIMUM_ROLE[action]
    if layer in PERSON_LAYERS and action == "read":
        needed = Role.DATA_ENTRY
    if layer in REFERENCE_LAYERS and action in ("create", "update"):
        needed = Role.QA
    if role.rank < needed.rank:
        return False
    if action == "update" and role is Role.DATA_ENTRY and review_state is not None:
        return review_state in DATA_ENTRY_STATES
    return True


def policy_table() -> list[dict[str, object]]:
    """One row per action: which roles may do it on an ordinary, a person and a reference layer."""
    layers = {"ordinary": "hazard_area", "person": "casualty", "reference": "organisation"}
    return [{"action": action, "meaning": meaning,
             **{kind: [r.value for r in Role if can(r, action, layer)] for kind, layer in layers.items()}}
            for action, meaning in ACTIONS.items()]
