"""Contamination risk prediction: run kinds, evidence types, the monotone rule, labels and reasons in plain words.

Pure declarations and rules; the fitting, the features and the storage live in ``services/risk_*.py``.

>>> is_distance_feature("roads_dist"), is_evidence_distance("roads_dist"), is_evidence_distance("ev_accident_dist")
(True, False, True)
>>> reason_text("ev_accident_dist", 1.234, year=2013)
'1.2 km from a 2013 accident'
>>> reason_text("ev_device_n5km", 12.0)
'12 finds within 5 km'
>>> reason_text("CLIMA_Frío muy húmedo", 1.0)
'CLIMA_Frío muy húmedo = 1'
>>> reason_text("ctx_contact_dist", 0.304), reason_text("ctx_road_dist", 2.46)
('300 m from the former line of contact', '2.5 km from a road')
>>> reason_text("ctx_contact_side", -1.2), reason_text("ctx_bridge_n5km", 3.0)
('1.2 km right of the former line of contact (as digitised)', '3 bridges within 5 km')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: What a stored run is: a fitted model, an evaluation, a surface over the study area, or a prediction.
RUN_KINDS = ("fit", "evaluate", "surface", "predict")

#: Label values of a cell: found (positive), released with nothing found (negative), or unknown.
POSITIVE, NEGATIVE = 1.0, 0.0

#: Counts of evidence are taken within this radius of a cell's centre (``ev_<type>_n5km``).
DENSITY_RADIUS_KM = 5.0

#: "Recent" evidence for ``ev_any_recent_dist``: dated within this many years before the cut-off.
RECENT_YEARS = 5

#: Weight of a minefield record by its reliability grade in ``ev_minefield_record_w5km``.
RELIABILITY_WEIGHTS = {"a": 1.0, "b": 0.75, "c": 0.5, "d": 0.25, "unknown": 0.25}


@dataclass(frozen=True)
class EvidenceType:
    """A kind of past evidence the features measure: its layer, its own date field and its words."""

    name: str
    layer: str
    date_field: str | None
    singular: str
    plural: str


EVIDENCE_TYPES: tuple[EvidenceType, ...] = (
    EvidenceType("accident", "accident", "accident_date", "accident", "accidents"),
    EvidenceType("device", "device", "found_date", "find", "finds"),
    EvidenceType("event", "event", "event_date", "register event", "register events"),
    EvidenceType("hazard", "hazard_area", "reported_date", "hazard area", "hazard areas"),
    EvidenceType("evidence", "evidence", "observed_date", "item of survey evidence", "items of survey evidence"),
    # A record's laying date says nothing about when it became known: only its info_date counts.
    EvidenceType("minefield_record", "minefield_record", None, "minefield record", "minefield records"),
)

#: The pseudo-type "any": the nearest evidence of every type together.
ANY = EvidenceType("any", "", None, "item of evidence", "items of evidence")

_WORDS = {t.name: t for t in (*EVIDENCE_TYPES, ANY)}


@dataclass(frozen=True)
class LayerKind:
    """A kind of context layer the user adds (``--layer KIND=FILE``, ``risk.layers``): its words, and whether
    a signed distance (left or right of the line as digitised) is measured for it.

    Layers are context, not evidence: they carry no dates and no ``--as-of`` applies to them, and risk is not
    constrained to fall with their distances (mines lie near some roads and far from others)."""

    name: str
    noun: str  # with its article, as a reason says it: "300 m from a road"
    plural: str  # for the count of points within 5 km
    signed: bool = False


LAYER_KINDS: tuple[LayerKind, ...] = (
    LayerKind("contact", "the former line of contact", "lines of contact", signed=True),
    LayerKind("road", "a road", "roads"),
    LayerKind("water", "a river or lake", "rivers or lakes"),
    LayerKind("settlement", "a settlement", "settlements"),
    LayerKind("military", "a military position", "military positions"),
    LayerKind("bridge", "a bridge", "bridges"),
)

_LAYERS = {k.name: k for k in LAYER_KINDS}


def layer_kind(name: str) -> LayerKind | None:
    """The layer kind called ``name``, or ``None``.

    >>> layer_kind("road").plural, layer_kind("roads")
    ('roads', None)
    """
    return _LAYERS.get(name)


def layer_feature(kind: str, what: str) -> str:
    """The column name of a context-layer feature: ``dist`` (km to the nearest feature), ``side`` (signed km,
    positive on the left of the line as digitised) or ``n5km`` (points within 5 km).

    >>> layer_feature("contact", "side")
    'ctx_contact_side'
    """
    return f"ctx_{kind}_{what}"


def _distance_words(km: float) -> str:
    """A distance as a reason says it: metres to the nearest 10 below 1 km, else km to one decimal."""
    if km < 0.995:
        return f"{round(km * 100) * 10:.0f} m"
    return f"{km:.1f} km"


def is_distance_feature(name: str) -> bool:
    """Whether a column is a distance (``*_dist``): each one is a baseline score, nearer meaning riskier."""
    return name.endswith("_dist")


def is_evidence_distance(name: str) -> bool:
    """Whether a feature is a distance from past evidence (``ev_*_dist``): risk never rises with it."""
    return name.startswith("ev_") and name.endswith("_dist")


def is_monotone(name: str, patterns: tuple[str, ...] = ()) -> bool:
    """Whether risk must never rise with a feature: evidence distances, and the columns ``patterns`` name
    (``--monotone``: a column name or a shell pattern such as ``*_dist``).

    >>> is_monotone("roads_dist"), is_monotone("roads_dist", ("*_dist",)), is_monotone("ev_any_dist")
    (False, True, True)
    """
    from fnmatch import fnmatchcase

    return is_evidence_distance(name) or any(fnmatchcase(name, p) for p in patterns)


def evidence_feature(type_name: str, what: str) -> str:
    """The column name of an evidence feature, e.g. ``ev_accident_dist``.

    >>> evidence_feature("accident", "n5km")
    'ev_accident_n5km'
    """
    return f"ev_{type_name}_{what}"


def reason_text(feature: str, value: float, *, year: int | None = None) -> str:
    """A feature's value in plain words, as a cell's reason."""
    if feature.startswith("ev_"):
        type_name, _, what = feature[3:].rpartition("_")
        if type_name.endswith("_recent"):
            type_name, what = type_name[: -len("_recent")], "recent_" + what
        words = _WORDS.get(type_name)
        if words is not None and not math.isnan(value):
            if what == "dist":
                noun = f"{year} {words.singular}" if year is not None else words.singular
                return f"{value:.1f} km from {'an' if noun[0] in 'aeiou' else 'a'} {noun}"
            if what == "recent_dist":
                return f"{value:.1f} km from the nearest {words.singular} of the last {RECENT_YEARS} years"
            if what == "n5km":
                return f"{value:.0f} {words.plural if value != 1 else words.singular} within {DENSITY_RADIUS_KM:g} km"
            if what == "w5km":
                return f"reliability-weighted {words.plural} within {DENSITY_RADIUS_KM:g} km: {value:.2f}"
    if feature.startswith("ctx_") and not math.isnan(value):
        kind_name, _, what = feature[4:].rpartition("_")
        kind = _LAYERS.get(kind_name)
        if kind is not None:
            if what == "dist":
                return f"{_distance_words(value)} from {kind.noun}"
            if what == "side":
                side = "left" if value >= 0 else "right"
                return f"{_distance_words(abs(value))} {side} of {kind.noun} (as digitised)"
            if what == "n5km":
                return f"{value:.0f} {kind.plural if value != 1 else kind.noun.split(' ', 1)[1]} within " \
                       f"{DENSITY_RADIUS_KM:g} km"
    if math.isnan(value):
        return f"{feature} unknown"
    return f"{feature} = {value:.4g}"
