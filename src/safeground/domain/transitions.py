"""Transition tables: which status changes are allowed, and why.

Each table maps ``(from, to)`` to the reason the change is allowed. A change not in the table
is refused with :class:`TransitionError`, whose code names the table.

>>> check_transition(HAZARD_STATUS, "open", "worked_on")
>>> check_transition(HAZARD_STATUS, "closed", "open")
Traceback (most recent call last):
...
safeground.domain.errors.TransitionError: Hazard status cannot change from 'closed' to 'open'.
"""

from __future__ import annotations

from dataclasses import dataclass

from safeground.domain.errors import TransitionError


@dataclass(frozen=True)
class TransitionTable:
    """The allowed changes of one status field."""

    name: str
    title: str
    allowed: dict[tuple[str, str], str]
    imas: str = ""

    def targets(self, state: str) -> list[str]:
        return [b for (a, b) in self.allowed if a == state]


HAZARD_STATUS = TransitionTable("hazard_status", "Hazard status", {
    ("open", "worked_on"): "A survey or clearance activity starts on the hazard.",
    ("open", "closed"): "All of the hazard's area is released (typically cancelled by NTS).",
    ("worked_on", "open"): "Work stops before all of the area is released (suspended task).",
    ("worked_on", "closed"): "The remaining area reaches zero after release.",
    ("closed", "handed_over"): "Released land is formally handed over to its users (IMAS 08.30).",
    ("closed", "worked_on"): "New evidence after release: the hazard is reopened for work (IMAS 07.11 liability).",
}, "IMAS 07.11, 08.30")

HAZARD_CLASS = TransitionTable("hazard_class", "Hazard class", {
    ("indication", "sha"): "NTS finds evidence enough to define a suspected hazardous area.",
    ("indication", "cha"): "NTS finds direct evidence that confirms contamination.",
    ("sha", "cha"): "Direct evidence (NTS or TS) confirms contamination.",
    ("indication", "eod_spot_task"): "A single item of ordnance that needs only an EOD spot task.",
    ("sha", "eod_spot_task"): "Survey shows only an isolated item needing an EOD spot task.",
}, "IMAS 07.11, 08.10")

REVIEW_STATE = TransitionTable("review_state", "Review state", {
    ("submitted", "approved"): "A QA officer checks the report and approves it.",
    ("approved", "published"): "The approved record is made public.",
    ("approved", "submitted"): "The approval is withdrawn and the report returned to its author.",
    ("published", "approved"): "The record is withdrawn from public outputs.",
}, "IMSMA workbench reconciliation")

RELEASE_STATUS = TransitionTable("release_status", "Release status", {
    ("awaiting_approval", "released"): "The NTS report that cancels the land is approved.",
    ("awaiting_qc", "released"): "A quality-control inspection of the activity passes.",
}, "IMAS 07.11, 07.12")

TABLES: tuple[TransitionTable, ...] = (HAZARD_STATUS, HAZARD_CLASS, REVIEW_STATE, RELEASE_STATUS)


def check_transition(table: TransitionTable, old: str | None, new: str | None) -> None:
    """Raise :class:`TransitionError` unless ``old`` → ``new`` is allowed (no change is always allowed)."""
    if old == new or old is None:
        return
    if (old, new) not in table.allowed:
        allowed = table.targets(old)
        raise TransitionError(
            f"transition.{table.name}",
            f"{table.title} cannot change from '{old}' to '{new}'.",
            hint=(f"From '{old}' it can go to: {', '.join(allowed)}." if allowed
                  else f"'{old}' is final."),
            imas=table.imas or None,
            details={"from": old, "to": new},
        )
