"""A user of SafeGround: who they are, their role and the admin areas they are restricted to.

>>> u = User(uuid="0", username="ana", display_name="Ana", role=Role.QA, areas=("XS01",), created_at="t")
>>> u.active, u.can("review", "hazard_area"), u.restricted
(True, True, True)
>>> check_username("Ana.Pérez")
Traceback (most recent call last):
...
safeground.domain.errors.ValidationError: Username 'Ana.Pérez' is not allowed.
>>> check_username("ana.perez")
'ana.perez'
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.domain.roles import Role, can

#: Lower-case letters, digits and ``. _ - @``, starting with a letter or digit: safe in audit rows, URLs and
#: shells, and never two accounts that differ only by case.
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")


def check_username(name: str) -> str:
    """``name`` if it is a valid username; ``user.bad_username`` otherwise."""
    if not USERNAME.fullmatch(name or ""):
        raise ValidationError("user.bad_username", f"Username {name!r} is not allowed.",
                              hint="Use 1 to 64 lower-case letters, digits, '.', '_', '-' or '@', starting with "
                                   "a letter or digit.")
    return name


@dataclass(frozen=True)
class User:
    """A user as the services hand it out: never with a password or token hash."""

    uuid: str
    username: str
    display_name: str | None
    role: Role
    areas: tuple[str, ...]
    created_at: str
    created_by: str | None = None
    retired_at: str | None = None
    retired_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.retired_at is None

    @property
    def restricted(self) -> bool:
        """Whether access is limited to some admin areas (no areas: the whole country)."""
        return bool(self.areas)

    def can(self, action: str, layer: str | None = None, *, review_state: str | None = None) -> bool:
        """The role's policy; a retired user may do nothing."""
        return self.active and can(self.role, action, layer, review_state=review_state)

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["role"] = self.role.value
        doc["areas"] = list(self.areas)
        return doc
