"""Parameters of the seeded scenario generator, and what the scenario is.

The scenario is a FICTIONAL post-conflict region placed on REAL land: the eastern plains of
Colombia (``small``: lon -72.6..-71.4, lat 4.6..5.8, about 130 x 130 km; ``national``: lon
-75..-70, lat 2.5..7.5), clipped to Colombia's Natural Earth outline. The land is real; every
record, name, mine, accident and person is invented. It is generated in UTM 18N (EPSG:32618,
metres) and stored in WGS84. The same ``(params, seed)`` always gives the same data.

What is generated (each step uses its own random stream derived from the seed):

- **Geography.** Municipalities are Voronoi cells of random seeds clipped to the region; a few
  provinces group them (codes ``XS01``, ``XS0103``; no level 0: the national outline comes from
  Natural Earth). Former lines of contact are smooth random walks crossing the region north to
  south; roads run north-south and west-east, rivers meander west to east; bridges are their
  crossings; settlements lie mostly along roads.
- **Minefields (ground truth).** Placed near a line of contact (share ``share_front``, distance
  exponential with mean ``front_scale_m``), as nuisance mining near roads and bridges (share
  ``share_nuisance``) or scattered. Patterns: *rows* (2-4 parallel rows 5-20 m apart, a mine every
  1-5 m), *clusters* (2-5 groups of 2-8 mines), *nuisance* (1-6 mines) and *scattered* (3-20
  mines). Each minefield's true polygon is the rectangle around its mines, aligned with its rows,
  widened by 5 m. Anti-vehicle mines are mostly in nuisance mining near roads. ``silent_fraction``
  of the minefields are *silent*: nobody knows of them, so they never produce evidence.
- **Hazard areas.** ``hazard_fraction`` of the minefields are recorded as a hazard: the true
  polygon buffered by a log-normal margin (median ``hazard_margin_m``), stretched, rotated and
  shifted by N(0, ``hazard_jitter_m``), so hazards are bigger than the truth and some mines fall
  outside them. The other minefields are unknown contamination. ``false_hazard_ratio`` false
  hazards (rumours, with no minefield) per true hazard lie near the lines of contact and roads.
- **Minefield records.** ``record_fraction`` of the minefields (recorded as hazards or not) have a
  record handed over by the party that laid them. Each record has a latent quality q ~ U(0, 1);
  its perimeter is the true polygon rotated by N(0, f * ``record_rotation_deg``) and shifted by
  N(0, f * ``record_offset_m``), its mine count off by a log-normal factor with sigma
  f * ``record_count_error``, where f = 0.3 + 1.7 q; the reliability grade is a/b/c/d from
  q + N(0, 0.1) (quartiles), so worse grades have larger errors. 5 % are graded ``unknown``.
- **Non-technical survey and evidence.** ``survey_fraction`` of the hazards get an NTS
  (2016-2025). The team examines K = 1 + Poisson(``candidates_mean``) spots uniformly in a disc of
  the hazard's area around its centre. A spot at distance d from the nearest mine of a non-silent
  minefield yields an evidence item with probability
  ``P = p_fp + (p_max - p_fp) * exp(-d / evidence_length_m)``. The item is *direct* (observed, placed
  at that mine + N(0, ``direct_sigma_m``)) with probability ``p_direct`` when d < ``direct_max_m``,
  else *indirect* (verbal, records or observed, placed at the spot + N(0, ``indirect_sigma_m``)).
  So evidence is a noisy, incomplete function of the truth: false hazards get evidence at rate
  ``p_fp`` per spot (false positives far from any mine), silent and unknown minefields get none,
  and some true hazards are cancelled with mines in them.
- **Land release** (the rules of :mod:`safeground.domain.release`, enforced again on write):
  NTS without evidence cancels the whole hazard (report approved with probability
  ``p_report_approved``, else awaiting approval). Direct evidence makes the hazard a CHA, cleared
  whole with probability ``p_clear_direct``. Indirect evidence only leads to technical survey with
  probability ``p_ts``; TS on a minefield's own mines confirms it with probability ``p_ts_detect``
  (finding 1 + Poisson(1.5) of them), reduces the hazard outside the true polygon buffered by
  ``clear_margin_m`` and makes it a CHA, whose rest is cleared with probability
  ``p_clear_after_ts``; TS that finds nothing reduces the whole hazard. Clearance (depth 10-25 cm,
  30 cm where anti-vehicle mines or ERW are expected, never below the national 10 cm) detects each
  mine inside the cleared polygon with probability ``p_detect`` (``p_detect_deep`` if the mine lies
  deeper than the clearance depth); devices are the true positions + N(0, ``gps_sigma_m``).
  Work that would end after ``as_of`` is ongoing. A QC
  inspection passes 5-60 days after the end, except for ``p_awaiting_qc`` of the activities
  (awaiting QC); ``p_qc_fail_first`` first fail and pass later. Only accredited organisations
  clear, only on hazards with evidence.
- **Accidents and people.** Mine/ERW accidents (2000-2025) happen 2-15 m from a true mine (another
  mine of the same minefield, which exploded), before the minefield's clearance; a share
  ``p_demining_accident`` are demining accidents at a find during clearance. Each has 1-3
  casualties (civilian/military, or deminer in demining accidents) with outcome, severity, sex,
  age (15 % missing), displacement and invented names; about 60 % of the injured are referred to
  assistance. EORE sessions are held at settlements. A few register events (seizures,
  stockpiles) lie near the lines of contact.
- **Priority targets.** Settlements (points, with displaced households) and reconstruction projects
  (roads, power lines, schools; mostly where hazards are in the way) with a deadline, a value and the
  unreleased hazards within 2 km (settlements), 500 m (lines) or 1 km (schools).
- **Review state.** Records are approved or published, except ``p_submitted`` of them (and NTS
  reports not yet approved), which are submitted.

The ground truth (mines, minefields, the truth behind each hazard and evidence item) goes to a
separate ``<db>.truth.gpkg``; context layers (lines of contact, roads, rivers, bridges) to
``<db>.context.gpkg``. See ``docs/scenario.md`` for the same description with the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from safeground.domain.errors import ValidationError


def _p(default: Any, doc: str) -> Any:
    """A parameter with its one-line description (rendered into ``docs/scenario.md``)."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class ScenarioParams:
    """Every knob of the generator; ``SCALES`` holds the named presets."""

    scale: str = _p("small", "Name of the preset.")
    bbox: tuple[float, float, float, float] = _p((-72.6, 4.6, -71.4, 5.8),
                                                 "Region (lon/lat min, max), clipped to Colombia's outline.")
    crs: int = _p(32618, "Projected CRS the world is generated in (UTM 18N).")
    as_of: str = _p("2025-12-31", "The scenario's 'today': nothing happens after it.")
    # geography
    provinces: int = _p(3, "Level-1 administrative areas.")
    municipalities: int = _p(14, "Level-2 administrative areas (Voronoi cells).")
    front_lines: int = _p(1, "Former lines of contact, crossing north to south.")
    roads: int = _p(4, "Roads (half north-south, half west-east).")
    rivers: int = _p(3, "Rivers (west to east).")
    settlements: int = _p(40, "Settlements (70 % within a few hundred metres of a road).")
    projects: int = _p(12, "Reconstruction projects: roads, power lines, schools.")
    # minefields
    minefields: int = _p(80, "True minefields.")
    share_front: float = _p(0.6, "Share of minefields near a line of contact.")
    share_nuisance: float = _p(0.25, "Share of nuisance mining near roads and bridges (the rest is scattered).")
    front_scale_m: float = _p(1500.0, "Mean distance (m) of front minefields from the line of contact.")
    nuisance_scale_m: float = _p(150.0, "Mean distance (m) of nuisance mining from its road or bridge.")
    silent_fraction: float = _p(0.12, "Share of minefields nobody knows of: they never yield evidence.")
    # hazards
    hazard_fraction: float = _p(0.85, "Share of minefields recorded as a hazard area.")
    false_hazard_ratio: float = _p(0.35, "False hazards (rumours, no mines) per true hazard.")
    hazard_margin_m: float = _p(40.0, "Median margin (m) of a hazard around its minefield (log-normal).")
    hazard_jitter_m: float = _p(15.0, "Sigma (m) of the shift of a hazard off its minefield.")
    # minefield records
    record_fraction: float = _p(0.35, "Share of minefields with a record handed over.")
    record_offset_m: float = _p(40.0, "Sigma (m) of a record's perimeter shift, times its error factor.")
    record_rotation_deg: float = _p(8.0, "Sigma (degrees) of a record's perimeter rotation, times its error factor.")
    record_count_error: float = _p(0.3, "Sigma of the log error of a record's mine count, times its error factor.")
    # survey and evidence
    survey_fraction: float = _p(0.75, "Share of hazards that get a non-technical survey.")
    candidates_mean: float = _p(2.0, "Mean of the Poisson number of extra spots an NTS examines.")
    p_max: float = _p(0.85, "P(evidence) at a spot on a mine.")
    p_fp: float = _p(0.1, "P(evidence) at a spot far from any known mine (false positives).")
    evidence_length_m: float = _p(150.0, "Distance scale L (m) of the evidence probability.")
    direct_max_m: float = _p(25.0, "Direct evidence only from spots this close (m) to a mine.")
    p_direct: float = _p(0.6, "P(direct | evidence, spot within direct_max_m).")
    direct_sigma_m: float = _p(5.0, "Sigma (m) of a direct evidence item's location around its mine.")
    indirect_sigma_m: float = _p(30.0, "Sigma (m) of an indirect evidence item's location around its spot.")
    # land release
    p_report_approved: float = _p(0.9, "P(an NTS report is approved).")
    p_ts: float = _p(0.7, "P(technical survey | indirect evidence only).")
    p_ts_detect: float = _p(0.9, "P(technical survey finds a minefield that lies in the hazard).")
    p_clear_after_ts: float = _p(0.8, "P(clearance | confirmed by technical survey).")
    p_clear_direct: float = _p(0.75, "P(clearance | direct evidence).")
    clear_margin_m: float = _p(20.0, "Margin (m) around the minefield kept for clearance after technical survey.")
    p_detect: float = _p(0.995, "P(clearance finds a mine inside the cleared polygon).")
    p_detect_deep: float = _p(0.7, "The same for a mine deeper than the clearance depth.")
    gps_sigma_m: float = _p(1.5, "Sigma (m) of a device's recorded position.")
    p_awaiting_qc: float = _p(0.1, "Share of finished TS and clearance still awaiting QC.")
    p_qc_fail_first: float = _p(0.05, "Share whose first QC fails (a later one passes).")
    # people and operators
    accidents: int = _p(40, "Accidents (mine/ERW and demining).")
    p_demining_accident: float = _p(0.05, "Share of demining accidents.")
    eore_sessions: int = _p(60, "EORE sessions.")
    events: int = _p(8, "Register events (seizures, stockpiles, ...).")
    ngos: int = _p(3, "NGO operators.")
    commercial: int = _p(2, "Commercial operators (the last loses its accreditation at the end of 2021).")
    military: int = _p(1, "Military operators.")
    teams_per_operator: int = _p(3, "Teams per operator (at least an NTS and a manual team).")
    # review
    p_submitted: float = _p(0.1, "Share of records still submitted (not yet approved).")
    p_published: float = _p(0.3, "Share of records published.")

    def __post_init__(self) -> None:
        for name in ("share_front", "share_nuisance", "record_fraction", "hazard_fraction", "survey_fraction",
                     "p_max", "p_fp", "p_direct", "p_ts", "p_detect", "p_submitted", "silent_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValidationError("scenario.bad_param", f"Scenario parameter '{name}' = {v} is not in 0..1.",
                                      hint="Give a probability between 0 and 1.")
        if self.share_front + self.share_nuisance > 1.0:
            raise ValidationError("scenario.bad_param", "share_front + share_nuisance exceeds 1.",
                                  hint="The rest of the minefields are scattered; lower one of the shares.")
        if self.p_fp > self.p_max:
            raise ValidationError("scenario.bad_param", "p_fp must not exceed p_max.",
                                  hint="Evidence is likelier near mines than far from them.")


SCALES: dict[str, ScenarioParams] = {
    "small": ScenarioParams(),
    "national": ScenarioParams(
        scale="national", bbox=(-75.0, 2.5, -70.0, 7.5),
        provinces=12, municipalities=320, front_lines=9, roads=40, rivers=24, settlements=4000, projects=600,
        minefields=86_000, front_scale_m=2500.0, accidents=9000, eore_sessions=9000, events=1500,
        ngos=10, commercial=6, military=3, teams_per_operator=8,
    ),
}


def params_for(scale: str = "small", **overrides: Any) -> ScenarioParams:
    """The preset ``scale`` (``small`` or ``national``) with ``overrides`` applied.

    >>> params_for("small", minefields=10).minefields
    10
    >>> params_for("huge")
    Traceback (most recent call last):
    ...
    safeground.domain.errors.ValidationError: Unknown scenario scale 'huge'.
    """
    try:
        base = SCALES[scale]
    except KeyError:
        raise ValidationError("scenario.unknown_scale", f"Unknown scenario scale '{scale}'.",
                              hint="Use one of: " + ", ".join(SCALES) + ".") from None
    return replace(base, **overrides) if overrides else base


def params_markdown() -> str:
    """The parameter table of ``docs/scenario.md``: name, small and national values, meaning."""
    small, national = SCALES["small"], SCALES["national"]
    out = ["| parameter | small | national | meaning |", "|---|---|---|---|"]
    for f in fields(ScenarioParams):
        a, b = getattr(small, f.name), getattr(national, f.name)
        out.append(f"| `{f.name}` | {a} | {b if b != a else '='} | {f.metadata['doc']} |")
    return "\n".join(out) + "\n"
