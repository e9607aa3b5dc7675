"""Land-release rules (IMAS 07.11, 08.10, 08.20, 09.10, 09.11), as pure functions.

The services layer loads the records a rule needs and calls these functions; the scenario
generator calls the same ones, so demo data obeys the same rules as real data.
Records are plain mappings of field name to value, as the store returns them.

>>> nts = {"activity_type": "nts", "evidence_found": False, "report_approved_on": "2024-03-01"}
>>> release_state("cancelled", nts, hazard={"hazard_class": "sha"}, organisation=None, inspections=[])
('released', '2024-03-01')
>>> release_state("cancelled", {"activity_type": "ts"}, hazard={"hazard_class": "sha"}, organisation=None,
...               inspections=[])
Traceback (most recent call last):
...
safeground.domain.errors.ReleaseRuleError: Land can be cancelled only through non-technical survey (NTS), not through 'ts'.
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from safeground.domain.errors import ReleaseRuleError

Record = Mapping[str, Any]

#: Activity types that count as clearance for the clearance rules.
CLEARANCE_TYPES = frozenset({"clearance", "bac"})
#: Activity types that task technical assets.
TECHNICAL_TYPES = frozenset({"ts", "clearance", "bac"})


def _refuse(code: str, message: str, hint: str, imas: str, **details: Any) -> ReleaseRuleError:
    return ReleaseRuleError(f"release.{code}", message, hint=hint, imas=imas, details=details)


def check_tasking(activity: Record, evidence_count: int) -> None:
    """No technical asset is tasked on a hazard without recorded evidence (IMAS 07.11, 09.10).

    >>> check_tasking({"activity_type": "ts", "assets": "manual"}, evidence_count=0)
    Traceback (most recent call last):
    ...
    safeground.domain.errors.ReleaseRuleError: Technical assets cannot be tasked on a hazard with no recorded evidence.
    """
    if activity.get("activity_type") in TECHNICAL_TYPES and evidence_count == 0:
        raise _refuse("assets_require_evidence",
                      "Technical assets cannot be tasked on a hazard with no recorded evidence.",
                      "Record the evidence (an evidence record linked to the hazard) from non-technical survey "
                      "first, or cancel the land through NTS if there is none.",
                      "IMAS 07.11 §5, 09.10")


def check_activity(activity: Record, *, linked_devices: int | None = None, min_depth_cm: float = 0.0) -> None:
    """Rules on an activity's own report, independent of what it releases.

    Technical survey must record assets and finds; clearance needs a depth of at least
    ``min_depth_cm`` (the national standard's figure, from configuration). When
    ``linked_devices`` is given, a stated ``devices_found`` must match the device records
    linked to the activity, so that every find has a location.
    """
    kind = activity.get("activity_type")
    if kind == "ts" or kind in CLEARANCE_TYPES:
        if not activity.get("assets"):
            raise _refuse("reduction_requires_assets",
                          f"A {kind} activity must record the assets used.",
                          "Set 'assets' (manual, mechanical, mdd, detector, bac).", "IMAS 08.20 §6",
                          field="assets")
        if activity.get("devices_found") is None:
            raise _refuse("reduction_requires_finds",
                          f"A {kind} activity must record what was found (0 if nothing).",
                          "Set 'devices_found' and record each device with its location.", "IMAS 08.20 §6",
                          field="devices_found")
        if linked_devices is not None and linked_devices != activity["devices_found"]:
            raise _refuse("finds_without_location",
                          f"The activity reports {activity['devices_found']} devices found but "
                          f"{linked_devices} device records with a location are linked to it.",
                          "Record every device found as a device linked to this activity, with its location.",
                          "IMAS 08.20 §6", field="devices_found")
    if kind in CLEARANCE_TYPES:
        depth = activity.get("depth_cm")
        if depth is None or depth <= 0:
            raise _refuse("clearance_requires_depth", "Clearance must state the depth it was cleared to.",
                          "Set 'depth_cm' on the clearance activity.", "IMAS 09.10 §7", field="depth_cm")
        if depth < min_depth_cm:
            raise _refuse("clearance_depth_below_standard",
                          f"Clearance depth {depth:g} cm is below the national standard of {min_depth_cm:g} cm.",
                          "Clear to the national depth, or change 'release.clearance_min_depth_cm' in the "
                          "configuration if the standard changed.", "IMAS 09.10 §7", field="depth_cm")


def release_state(
    kind: str,
    activity: Record,
    *,
    hazard: Record,
    organisation: Record | None,
    inspections: Iterable[Record],
) -> tuple[str, str | None]:
    """Check a released polygon of ``kind`` against the rules; return ``(release_status, released_on)``.

    - ``cancelled``: only through NTS that found no evidence; released from the NTS report's approval.
    - ``reduced``: only through TS with assets and finds recorded; released from the QC pass.
    - ``cleared``: needs a depth, a parent CHA, an accredited organisation and a passed QC inspection;
      until QC passes it is ``awaiting_qc`` and does not count.
    """
    atype = activity.get("activity_type")
    if kind == "cancelled":
        if atype != "nts":
            raise _refuse("cancellation_requires_nts",
                          f"Land can be cancelled only through non-technical survey (NTS), not through '{atype}'.",
                          "Link the cancelled polygon to an NTS activity, or use 'reduced' for technical survey.",
                          "IMAS 07.11 §7.2, 08.10", activity_type=atype)
        if activity.get("evidence_found") is not False:
            raise _refuse("cancellation_requires_no_evidence",
                          "Cancellation needs an NTS that records the absence of evidence.",
                          "Set 'evidence_found' to false on the NTS activity; land with evidence must go "
                          "to technical survey or clearance.", "IMAS 08.10 §6")
        approved = activity.get("report_approved_on")
        return ("released", approved) if approved else ("awaiting_approval", None)
    if kind == "reduced":
        if atype != "ts":
            raise _refuse("reduction_requires_ts",
                          f"Land can be reduced only through technical survey (TS), not through '{atype}'.",
                          "Link the reduced polygon to a TS activity.", "IMAS 07.11 §7.3, 08.20",
                          activity_type=atype)
        check_activity(activity)
        return _after_qc(activity, inspections)
    if kind == "cleared":
        if atype not in CLEARANCE_TYPES:
            raise _refuse("clearance_requires_clearance_activity",
                          f"Land can be cleared only by a clearance or BAC activity, not by '{atype}'.",
                          "Link the cleared polygon to a clearance activity.", "IMAS 09.10", activity_type=atype)
        check_activity(activity)
        if hazard.get("hazard_class") != "cha":
            raise _refuse("clearance_requires_cha",
                          f"Clearance needs a parent confirmed hazardous area, but the hazard is "
                          f"'{hazard.get('hazard_class')}'.",
                          "Confirm the hazard as a CHA first (technical survey or direct evidence).",
                          "IMAS 07.11 §7.4, 09.10", hazard_class=hazard.get("hazard_class"))
        check_accreditation(organisation, on=activity.get("start_date"))
        return _after_qc(activity, inspections)
    raise _refuse("unknown_kind", f"Unknown release kind '{kind}'.", "Use cancelled, reduced or cleared.",
                  "IMAS 07.11")


def check_accreditation(organisation: Record | None, *, on: str | None) -> None:
    """The organisation must be accredited on the date the work started (IMAS 07.30)."""
    if organisation is None:
        raise _refuse("clearance_requires_organisation", "Clearance must name the organisation that did it.",
                      "Set 'organisation' on the clearance activity.", "IMAS 07.30")
    start, until = organisation.get("accredited_from"), organisation.get("accredited_until")
    name = organisation.get("name", "?")
    if not start:
        raise _refuse("clearance_requires_accreditation", f"Organisation '{name}' is not accredited.",
                      "Record its accreditation dates ('accredited_from', 'accredited_until').", "IMAS 07.30")
    if on and (on < start or (until and on > until)):
        raise _refuse("clearance_requires_accreditation",
                      f"Organisation '{name}' was not accredited on {on} (accredited {start} to {until or '…'}).",
                      "Use an accredited organisation or correct the activity's start date.", "IMAS 07.30")


def _after_qc(activity: Record, inspections: Iterable[Record]) -> tuple[str, str | None]:
    """Released from the earliest passed QC inspection of the activity, else awaiting QC."""
    passed = sorted(i["inspection_date"] for i in inspections
                    if i.get("kind") == "qc" and i.get("result") == "pass" and i.get("inspection_date"))
    if passed:
        return "released", passed[0]
    return "awaiting_qc", None


def require_qc_passed(status: str) -> None:
    """Refuse to count land as released while it awaits QC (``release.clearance_requires_qc``)."""
    if status == "awaiting_qc":
        raise _refuse("clearance_requires_qc",
                      "Cleared or reduced land counts as released only after a passed QC inspection.",
                      "Record a QC inspection with result 'pass' for the activity.", "IMAS 07.12, 09.10")


def hazard_status_after_release(current: str, remaining_m2: float, tolerance_m2: float = 1.0) -> str:
    """The hazard status implied by its remaining area: closed when nothing remains, else worked on.

    >>> hazard_status_after_release("worked_on", 0.2)
    'closed'
    >>> hazard_status_after_release("open", 500.0)
    'worked_on'
    """
    if remaining_m2 <= tolerance_m2:
        return "closed" if current != "handed_over" else current
    return "worked_on" if current in ("open", "worked_on") else current
