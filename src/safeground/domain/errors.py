"""One error hierarchy for the whole application.

Every error carries a stable ``code`` (``<area>.<rule>``), a message a person can act on,
a ``hint`` that says how to fix it, an optional IMAS reference and the HTTP status the web
layer should answer with. The CLI prints it as one line and exits non-zero.

>>> err = ReleaseRuleError("release.clearance_requires_qc", "Cleared land needs a passed QC inspection.",
...                        hint="Record a QC inspection with result 'pass'.", imas="IMAS 09.20")
>>> err.one_line()
"release.clearance_requires_qc: Cleared land needs a passed QC inspection. (IMAS 09.20) Hint: Record a QC inspection with result 'pass'."
>>> err.status
422
"""  # noqa: E501

from __future__ import annotations

from typing import Any


class SafeGroundError(Exception):
    """Base class: a refusal with a stable code, a message, a hint and an HTTP status."""

    status: int = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        hint: str = "",
        imas: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.imas = imas
        self.details = details or {}
        if status is not None:
            self.status = status

    def one_line(self) -> str:
        """The message as the CLI prints it: code, message, IMAS reference and hint on one line."""
        text = f"{self.code}: {self.message}"
        if self.imas:
            text += f" ({self.imas})"
        if self.hint:
            text += f" Hint: {self.hint}"
        return text.replace("\n", " ")

    def to_problem(self) -> dict[str, Any]:
        """An RFC 9457 problem document, for the web layer."""
        doc: dict[str, Any] = {
            "type": f"https://safeground.org/errors/{self.code}",
            "title": self.message,
            "status": self.status,
            "code": self.code,
            "hint": self.hint,
        }
        if self.imas:
            doc["imas"] = self.imas
        if self.details:
            doc["details"] = self.details
        return doc


class ValidationError(SafeGroundError):
    """A record or value that breaks its declaration (required, vocabulary, type)."""

    status = 422


class GeometryError(ValidationError):
    """An invalid, empty, wrongly typed or misplaced geometry."""


class ReleaseRuleError(ValidationError):
    """A land-release rule of IMAS 07.11, 08.10, 08.20, 09.10 or 09.11 refused the change."""


class TransitionError(SafeGroundError):
    """A status change that the transition table does not allow."""

    status = 409


class ConflictError(SafeGroundError):
    """A write based on a stale version of a record."""

    status = 409


class NotFoundError(SafeGroundError):
    """A record, layer or file that does not exist."""

    status = 404


class StoreError(SafeGroundError):
    """The database cannot be used as asked (schema too new, not a SafeGround file, ...)."""

    status = 500


class ConfigError(SafeGroundError):
    """The configuration document is malformed or holds an unknown key."""

    status = 422


class AuthenticationError(SafeGroundError):
    """Credentials that do not identify an active user (wrong password, unknown or revoked token)."""

    status = 401


class ForbiddenError(SafeGroundError):
    """An authenticated user whose role or area restriction does not allow the action."""

    status = 403


class RateLimitError(SafeGroundError):
    """A client that sent more requests than its rate limit allows; ``details["retry_after_s"]`` says when to
    try again (the web layer sends it as ``Retry-After``)."""

    status = 429
