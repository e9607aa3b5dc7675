"""The field forms (ODK/KoBo), declared as views of the record declarations.

A form is a main section (one record per submission) and optional repeat sections (several
child records, each linked to the main one). A section names its layer and only what differs
from the declaration: fields fixed by the form (``constants``), vocabularies cut to the codes
that make sense here (``choices``), fields not asked, when a question is asked at all (``relevant``,
an XLSForm expression over other answers), the child's link to the main record and fields the
child takes from the main record. Every question, type, vocabulary and label comes
from :mod:`safeground.domain.records`; nobody writes a second list of fields.

>>> [q.name for q in FORMS["accident"].main.questions()][:3]
['accident_type', 'accident_date', 'device_category']
>>> FORMS["nts"].main.constants
{'activity_type': 'nts'}
>>> form("nope")
Traceback (most recent call last):
...
safeground.domain.errors.NotFoundError: Unknown form 'nope'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from safeground.domain.errors import NotFoundError
from safeground.domain.fields import Field
from safeground.domain.records import RecordType, record_type

#: Fields no field form asks: the precision of a date a team records on the day is the day, and the
#: admin P-code is placed from the location by SafeGround.
NOT_ASKED = frozenset({"date_precision", "admin2_code"})

#: Questions every section adds for attached photos (kept with the record; see attachments).
PHOTO_PREFIX = "photo"


@dataclass(frozen=True)
class Section:
    """One record layer in a form: the main record, or a repeat group of child records."""

    layer: str
    name: str
    constants: Mapping[str, str] = field(default_factory=dict)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    omit: frozenset[str] = frozenset()
    parent_link: str | None = None
    inherit: Mapping[str, str] = field(default_factory=dict)
    relevant: Mapping[str, str] = field(default_factory=dict)
    photos: int = 1
    title_en: str = ""
    title_es: str = ""

    @property
    def record_type(self) -> RecordType:
        return record_type(self.layer)

    def questions(self) -> list[Field]:
        """The declared fields this section asks, in declaration order."""
        skip = NOT_ASKED | self.omit | set(self.constants) | set(self.inherit)
        if self.parent_link:
            skip |= {self.parent_link}
        return [f for f in self.record_type.fields if not f.managed and f.name not in skip]

    def photo_names(self) -> list[str]:
        """Names of the image questions: ``photo_1``... in the main section, ``<repeat>_photo_1``... in repeats."""
        stem = PHOTO_PREFIX if self.parent_link is None else f"{self.name}_{PHOTO_PREFIX}"
        return [f"{stem}_{i}" for i in range(1, self.photos + 1)]


@dataclass(frozen=True)
class FormSpec:
    """A field form: its name, titles, main section and repeat sections."""

    name: str
    title_en: str
    title_es: str
    main: Section
    repeats: tuple[Section, ...] = ()

    @property
    def form_id(self) -> str:
        """The XForm id, which ODK Central and KoBo show and export under."""
        return f"safeground_{self.name}"

    def title(self, lang: str) -> str:
        return self.title_es if lang == "es" and self.title_es else self.title_en

    def repeat(self, name: str) -> Section:
        for r in self.repeats:
            if r.name == name:
                return r
        raise NotFoundError("forms.unknown_repeat", f"Form '{self.name}' has no repeat group '{name}'.",
                            hint="Repeat groups: " + (", ".join(r.name for r in self.repeats) or "none") + ".")


_EVIDENCE_OMIT = frozenset({"activity", "hazard"})

FORMS: dict[str, FormSpec] = {f.name: f for f in (
    FormSpec("nts", "Non-technical survey (NTS)", "Estudio no técnico (ENT)",
             Section("activity", "nts", constants={"activity_type": "nts"},
                     omit=frozenset({"depth_cm", "assets", "devices_found"}), photos=3),
             (Section("evidence", "evidence", parent_link="activity", inherit={"hazard": "hazard"},
                      omit=_EVIDENCE_OMIT, title_en="Evidence", title_es="Evidencia"),)),
    FormSpec("hazard_report", "Hazard report", "Reporte de área peligrosa",
             Section("hazard_area", "hazard_report", photos=3),
             (Section("evidence", "evidence", parent_link="hazard", omit=_EVIDENCE_OMIT,
                      title_en="Evidence", title_es="Evidencia"),)),
    FormSpec("ts_clearance", "Technical survey and clearance: progress and completion",
             "Estudio técnico y despeje: avance y finalización",
             Section("activity", "ts_clearance", choices={"activity_type": ("ts", "clearance", "bac", "completion")},
                     relevant={"depth_cm": "selected(${activity_type}, 'clearance') or "
                                           "selected(${activity_type}, 'bac')"}, photos=3),
             (Section("device", "device", parent_link="activity", inherit={"hazard": "hazard"},
                      omit=frozenset({"hazard"}), title_en="Device found", title_es="Artefacto encontrado"),)),
    FormSpec("accident", "Accident and casualties", "Accidente y víctimas",
             Section("accident", "accident", photos=3),
             (Section("casualty", "casualty", parent_link="accident", title_en="Casualty", title_es="Víctima",
                      relevant={"severity": "selected(${outcome}, 'injured')"}),)),
    FormSpec("eore_session", "EORE session", "Sesión de ERM",
             Section("eore_session", "eore_session", photos=3)),
)}


def form(name: str) -> FormSpec:
    """The form called ``name``, or :class:`NotFoundError` naming the forms."""
    try:
        return FORMS[name]
    except KeyError:
        raise NotFoundError("forms.unknown_form", f"Unknown form '{name}'.",
                            hint="Forms: " + ", ".join(FORMS) + ".") from None
