"""Every record type, declared once.

The layer names are fixed: other tools and later features rely on them. The store schema,
API schemas, XLSForms and docs are all derived from :data:`RECORD_TYPES`.

>>> HAZARD_AREA.prefix, HAZARD_AREA.geometry_type
('HA', 'MULTIPOLYGON')
>>> [f.name for f in record_type("casualty").fields if f.personal]
['given_name', 'family_name', 'contact', 'national_id', 'age']
>>> record_type("nope")
Traceback (most recent call last):
...
safeground.domain.errors.NotFoundError: Unknown layer 'nope'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safeground.domain import vocabularies as voc
from safeground.domain.errors import NotFoundError, ValidationError
from safeground.domain.fields import Field, FieldType, Vocabulary

TEXT, INTEGER, REAL, BOOLEAN = FieldType.TEXT, FieldType.INTEGER, FieldType.REAL, FieldType.BOOLEAN
DATE, DATETIME, LINK, LINKS, CHOICES = (
    FieldType.DATE, FieldType.DATETIME, FieldType.LINK, FieldType.LINKS, FieldType.CHOICES,
)


def F(
    name: str,
    type: FieldType,
    en: str,
    es: str = "",
    *,
    hxl: str | None = None,
    required: bool = False,
    vocab: Vocabulary | None = None,
    unit: str | None = None,
    personal: bool = False,
    managed: bool = False,
    links_to: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    description: str = "",
) -> Field:
    """Shorthand for declaring a :class:`Field` with English and Spanish labels."""
    labels = {"en": en}
    if es:
        labels["es"] = es
    return Field(name, type, required=required, vocabulary=vocab, unit=unit, personal=personal, managed=managed,
                 labels=labels, hxl=hxl, links_to=links_to, description=description,
                 minimum=minimum, maximum=maximum)


#: Metadata columns every record has, in this order, before its own fields.
METADATA: tuple[Field, ...] = (
    F("uuid", TEXT, "UUID", "UUID", hxl="#meta+id", managed=True),
    F("ref", TEXT, "Reference", "Referencia", hxl="#meta+ref", managed=True,
      description="Readable reference such as HA-000123, made from the layer prefix and the row id."),
    F("version", INTEGER, "Version", "Versión", hxl="#meta+version", managed=True,
      description="Bumped by a database trigger on every change; used for optimistic concurrency."),
    F("review_state", TEXT, "Review state", "Estado de revisión", hxl="#status+review", vocab=voc.REVIEW_STATE,
      managed=True),
    F("source", TEXT, "Source", "Fuente", hxl="#meta+source",
      description="Organisation, form or file the information came from."),
    F("source_id", TEXT, "Source id", "Id en la fuente", hxl="#meta+source+id"),
    F("import_run", TEXT, "Import run", "Lote de importación", hxl="#meta+import", managed=True),
    F("info_date", DATE, "Date of information", "Fecha de información", hxl="#date+info",
      description="When the information became known; never the import date."),
    F("created_by", TEXT, "Created by", "Creado por", managed=True),
    F("created_at", DATETIME, "Created at", "Creado el", managed=True),
    F("updated_by", TEXT, "Updated by", "Actualizado por", managed=True),
    F("updated_at", DATETIME, "Updated at", "Actualizado el", managed=True),
    F("retired_at", DATETIME, "Retired at", "Retirado el", managed=True),
    F("retired_reason", TEXT, "Reason retired", "Motivo del retiro", managed=True),
)
METADATA_NAMES = frozenset(f.name for f in METADATA)


@dataclass(frozen=True)
class RecordType:
    """A record type: its layer name, ref prefix, geometry and fields."""

    layer: str
    prefix: str
    title: str
    geometry_type: str | None
    fields: tuple[Field, ...]
    geometry_required: bool = False
    event_date: str | None = None
    description: str = ""

    @property
    def all_fields(self) -> tuple[Field, ...]:
        """Metadata columns followed by the record's own fields."""
        return METADATA + self.fields

    @property
    def is_spatial(self) -> bool:
        return self.geometry_type is not None

    @property
    def is_polygonal(self) -> bool:
        return self.geometry_type in ("POLYGON", "MULTIPOLYGON")

    def field(self, name: str) -> Field:
        for f in self.all_fields:
            if f.name == name:
                return f
        raise NotFoundError("record.unknown_field", f"Layer '{self.layer}' has no field '{name}'.",
                            hint="Fields: " + ", ".join(f.name for f in self.all_fields))

    def has_field(self, name: str) -> bool:
        return any(f.name == name for f in self.all_fields)

    @property
    def personal_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.personal)

    def check(self, values: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
        """Validate user-supplied values: known fields, types, vocabularies, required fields.

        Managed fields are refused; ``partial`` (an update) skips the required check.

        >>> HAZARD_AREA.check({"name": "Las Palmas", "hazard_class": "sha", "status": "open"})["hazard_class"]
        'sha'
        >>> HAZARD_AREA.check({"name": "x", "status": "open"})
        Traceback (most recent call last):
        ...
        safeground.domain.errors.ValidationError: Field 'hazard_class' of hazard_area is required.
        """
        out: dict[str, Any] = {}
        for name, value in values.items():
            f = self.field(name)
            if f.managed:
                raise ValidationError("record.managed_field",
                                      f"Field '{name}' of {self.layer} is managed by SafeGround and cannot be set.",
                                      hint="Leave it out; SafeGround computes it.", details={"field": name})
            out[name] = f.check(value)
        if not partial:
            for f in self.fields:
                if f.required and out.get(f.name) in (None, ""):
                    raise ValidationError("record.required_field", f"Field '{f.name}' of {self.layer} is required.",
                                          hint=f"Give a value for '{f.name}' ({f.label()}).",
                                          details={"field": f.name})
        return out


def _admin_fields() -> tuple[Field, ...]:
    return (
        F("admin1", TEXT, "Admin level 1 (as given)", "Departamento", hxl="#adm1+name"),
        F("admin2", TEXT, "Admin level 2 (as given)", "Municipio", hxl="#adm2+name"),
        F("admin2_code", TEXT, "Admin level 2 code", "Código de municipio", hxl="#adm2+code"),
    )


def _dated(name: str, en: str, es: str) -> tuple[Field, ...]:
    return (
        F(name, DATE, en, es, hxl="#date"),
        F("date_precision", TEXT, "Date precision", "Precisión de la fecha", vocab=voc.DATE_PRECISION),
    )


HAZARD_AREA = RecordType("hazard_area", "HA", "Hazard area", "MULTIPOLYGON", (
    F("name", TEXT, "Name", "Nombre", hxl="#loc+name", required=True),
    F("hazard_class", TEXT, "Class", "Clase", hxl="#indicator+class", required=True, vocab=voc.HAZARD_CLASS),
    F("status", TEXT, "Status", "Estado", hxl="#status", required=True, vocab=voc.HAZARD_STATUS),
    F("marking", TEXT, "Marking status", "Señalización", hxl="#status+marking", vocab=voc.MARKING_STATUS),
    F("contamination_type", TEXT, "Contamination type", "Tipo de contaminación", hxl="#indicator+contamination",
      vocab=voc.CONTAMINATION_TYPE),
    F("blockages", CHOICES, "Blockages", "Bloqueos", hxl="#impact", vocab=voc.BLOCKAGE),
    F("terrain", TEXT, "Terrain class", "Clase de terreno", vocab=voc.TERRAIN_CLASS,
      description="Ground and vegetation, which set how fast teams clear it; empty is open ground."),
    F("expected_returnees", INTEGER, "Expected returnee households", "Hogares retornantes esperados",
      hxl="#affected+hh+returnees", unit="households", minimum=0),
    F("estimated_area_m2", REAL, "Estimated area (as reported)", "Área estimada", hxl="#indicator+area+estimated",
      unit="m2", minimum=0),
    F("area_m2", REAL, "Area", "Área", hxl="#indicator+area", unit="m2", managed=True),
    F("remaining_area_m2", REAL, "Remaining area", "Área remanente", hxl="#indicator+area+remaining", unit="m2",
      managed=True, description="Polygon minus released polygons, computed, never typed in."),
    F("organisation", LINK, "Reporting organisation", "Organización", links_to="organisation", hxl="#org+id"),
    *_dated("reported_date", "Date reported", "Fecha de reporte"),
    *_admin_fields(),
), geometry_required=True, event_date="reported_date",
    description="Land suspected or confirmed to contain explosive ordnance (IMAS 04.10).")

EVIDENCE = RecordType("evidence", "EV", "Evidence", "POINT", (
    F("hazard", LINK, "Hazard area", "Área peligrosa", links_to="hazard_area", hxl="#loc+hazard"),
    F("kind", TEXT, "Direct or indirect", "Directa o indirecta", required=True, vocab=voc.EVIDENCE_KIND,
      hxl="#indicator+evidence"),
    F("evidence_source", TEXT, "Source of evidence", "Fuente de la evidencia", required=True,
      vocab=voc.EVIDENCE_SOURCE, hxl="#meta+evidence"),
    F("contamination_type", TEXT, "Contamination type", "Tipo de contaminación", vocab=voc.CONTAMINATION_TYPE),
    F("description", TEXT, "Description", "Descripción", hxl="#description"),
    F("activity", LINK, "Survey activity", "Actividad", links_to="activity"),
    *_dated("observed_date", "Date observed", "Fecha de observación"),
), event_date="observed_date", description="An item of direct or indirect evidence of contamination (IMAS 08.10).")

MINEFIELD_RECORD = RecordType("minefield_record", "MR", "Minefield record", "MULTIPOLYGON", (
    F("name", TEXT, "Name or number", "Nombre o número", hxl="#loc+name"),
    F("laid_by", TEXT, "Laid by", "Sembrado por", hxl="#org+laid"),
    *_dated("laid_date", "Date laid", "Fecha de siembra"),
    F("reference_lon", REAL, "Reference point longitude", "Longitud del punto de referencia", unit="degree",
      hxl="#geo+lon+ref", minimum=-180, maximum=180),
    F("reference_lat", REAL, "Reference point latitude", "Latitud del punto de referencia", unit="degree",
      hxl="#geo+lat+ref", minimum=-90, maximum=90),
    F("mine_types", TEXT, "Mine types", "Tipos de mina", hxl="#item+type"),
    F("mine_count", INTEGER, "Mines recorded", "Minas registradas", unit="mines", minimum=0, hxl="#item+num"),
    F("rows", INTEGER, "Rows", "Hileras", minimum=0),
    F("pattern", TEXT, "Pattern", "Patrón", vocab=voc.MINEFIELD_PATTERN),
    F("reliability", TEXT, "Reliability grade", "Confiabilidad", required=True, vocab=voc.RELIABILITY,
      hxl="#indicator+reliability"),
    F("hazard", LINK, "Matched hazard area", "Área peligrosa", links_to="hazard_area"),
), geometry_required=True, event_date="laid_date",
    description="A record of a minefield from the party that laid it or from archives.")

ACTIVITY = RecordType("activity", "AC", "Activity", "MULTIPOLYGON", (
    F("activity_type", TEXT, "Activity type", "Tipo de actividad", required=True, vocab=voc.ACTIVITY_TYPE,
      hxl="#activity+type"),
    F("hazard", LINK, "Hazard area", "Área peligrosa", links_to="hazard_area", hxl="#loc+hazard"),
    F("organisation", LINK, "Organisation", "Organización", links_to="organisation", hxl="#org+id"),
    F("team", LINK, "Team", "Equipo", links_to="team"),
    F("start_date", DATE, "Start date", "Fecha de inicio", hxl="#date+start"),
    F("end_date", DATE, "End date", "Fecha de fin", hxl="#date+end"),
    F("depth_cm", REAL, "Clearance depth", "Profundidad", unit="cm", minimum=0, hxl="#indicator+depth"),
    F("assets", CHOICES, "Assets used", "Medios empleados", vocab=voc.ASSET, hxl="#activity+assets"),
    F("evidence_found", BOOLEAN, "Evidence found", "Evidencia encontrada",
      description="For NTS: whether evidence of contamination was found. Cancellation needs 'false'."),
    F("devices_found", INTEGER, "Devices found", "Artefactos encontrados", unit="devices", minimum=0,
      hxl="#item+found+num"),
    F("report_approved_on", DATE, "Report approved on", "Informe aprobado el", managed=True,
      description="Set when the activity report is approved; cancellation counts from this date."),
), event_date="end_date", description="A survey, clearance or other land-release activity (IMAS 07.11).")

RELEASED_AREA = RecordType("released_area", "RA", "Released area", "MULTIPOLYGON", (
    F("activity", LINK, "Activity", "Actividad", required=True, links_to="activity"),
    F("hazard", LINK, "Hazard area", "Área peligrosa", required=True, links_to="hazard_area"),
    F("kind", TEXT, "Cancelled, reduced or cleared", "Cancelada, reducida o despejada", required=True,
      vocab=voc.RELEASE_KIND, hxl="#indicator+release"),
    F("release_status", TEXT, "Release status", "Estado", managed=True, vocab=voc.RELEASE_STATUS),
    F("released_on", DATE, "Counts as released from", "Liberada desde", managed=True, hxl="#date+released",
      description="QC pass date for reduced and cleared land; NTS approval date for cancelled land."),
    F("area_m2", REAL, "Area (within the hazard)", "Área", unit="m2", managed=True, hxl="#indicator+area"),
), geometry_required=True, description="A polygon released by cancellation, reduction or clearance.")

DEVICE = RecordType("device", "DV", "Device found", "POINT", (
    F("category", TEXT, "Category", "Categoría", required=True, vocab=voc.DEVICE_CATEGORY, hxl="#item+type"),
    F("model", TEXT, "Model", "Modelo", hxl="#item+model"),
    F("quantity", INTEGER, "Quantity", "Cantidad", unit="devices", minimum=1, hxl="#item+num"),
    F("condition", TEXT, "Condition", "Condición", vocab=voc.DEVICE_CONDITION),
    F("depth_cm", REAL, "Depth", "Profundidad", unit="cm", minimum=0),
    F("markings", TEXT, "Markings (lot, year)", "Marcas (lote, año)"),
    F("disposal", TEXT, "Disposal", "Disposición", vocab=voc.DISPOSAL, hxl="#status+disposal"),
    F("activity", LINK, "Activity", "Actividad", links_to="activity"),
    F("hazard", LINK, "Hazard area", "Área peligrosa", links_to="hazard_area"),
    *_dated("found_date", "Date found", "Fecha del hallazgo"),
    *_admin_fields(),
), geometry_required=True, event_date="found_date", description="An item of explosive ordnance found.")

ACCIDENT = RecordType("accident", "AX", "Accident", "POINT", (
    F("accident_type", TEXT, "Accident type", "Tipo de accidente", required=True, vocab=voc.ACCIDENT_TYPE,
      hxl="#event+type"),
    *_dated("accident_date", "Date of accident", "Fecha del accidente"),
    F("device_category", TEXT, "Device", "Artefacto", vocab=voc.DEVICE_CATEGORY, hxl="#item+type"),
    F("activity_at_time", TEXT, "Activity at the time", "Actividad en el momento", vocab=voc.ACTIVITY_AT_ACCIDENT),
    F("hazard", LINK, "Hazard area", "Área peligrosa", links_to="hazard_area"),
    F("activity", LINK, "Demining activity", "Actividad de desminado", links_to="activity"),
    F("description", TEXT, "Description", "Descripción", hxl="#description"),
    F("area_type", TEXT, "Rural or urban", "Rural o urbano", vocab=voc.AREA_TYPE),
    *_admin_fields(),
), event_date="accident_date", description="A mine/ERW or demining accident (IMAS 10.60).")

CASUALTY = RecordType("casualty", "CS", "Casualty", None, (
    F("accident", LINK, "Accident", "Accidente", required=True, links_to="accident"),
    F("outcome", TEXT, "Outcome", "Resultado", required=True, vocab=voc.OUTCOME, hxl="#affected+outcome"),
    F("severity", TEXT, "Injury severity", "Gravedad", vocab=voc.SEVERITY, hxl="#affected+severity"),
    F("status", TEXT, "Civilian, military/security or deminer", "Civil, fuerza pública o desminador",
      required=True, vocab=voc.CASUALTY_STATUS, hxl="#affected+status"),
    F("sex", TEXT, "Sex", "Sexo", vocab=voc.SEX, hxl="#affected+sex"),
    F("age_group", TEXT, "Adult or child", "Adulto o menor", hxl="#affected+age", vocab=voc.AGE_GROUP,
      description="'child' (under 18) or 'adult', kept when the exact age is not known."),
    F("displacement", TEXT, "Displacement status", "Situación de desplazamiento", vocab=voc.DISPLACEMENT,
      hxl="#affected+displaced"),
    F("given_name", TEXT, "Given name", "Nombre", personal=True, hxl="#affected+name+given"),
    F("family_name", TEXT, "Family name", "Apellido", personal=True, hxl="#affected+name+family"),
    F("contact", TEXT, "Contact", "Contacto", personal=True, hxl="#contact"),
    F("national_id", TEXT, "National id", "Documento de identidad", personal=True),
    F("age", INTEGER, "Age", "Edad", unit="years", minimum=0, maximum=120, personal=True, hxl="#affected+age+num"),
), description="A person killed or injured in an accident. Personal fields are never public.")

ASSISTANCE_REFERRAL = RecordType("assistance_referral", "VR", "Victim assistance referral", None, (
    F("casualty", LINK, "Casualty", "Víctima", required=True, links_to="casualty"),
    F("service", TEXT, "Service", "Servicio", required=True, vocab=voc.ASSISTANCE_SERVICE, hxl="#service"),
    F("referred_to", TEXT, "Referred to", "Remitido a", hxl="#org+provider"),
    F("referred_by", LINK, "Referred by", "Remitido por", links_to="organisation"),
    F("referral_date", DATE, "Referral date", "Fecha de remisión", hxl="#date+referral"),
    F("outcome", TEXT, "Outcome", "Resultado", vocab=voc.REFERRAL_OUTCOME, hxl="#status+referral"),
    F("outcome_date", DATE, "Outcome date", "Fecha del resultado"),
    F("notes", TEXT, "Notes", "Notas", personal=True),
), event_date="referral_date",
    description="Identification of a victim and referral to a service (IMAS 13.10).")

EORE_SESSION = RecordType("eore_session", "RE", "EORE session", "POINT", (
    F("session_date", DATE, "Date", "Fecha", required=True, hxl="#date"),
    F("method", TEXT, "Method", "Método", vocab=voc.EORE_METHOD),
    F("organisation", LINK, "Organisation", "Organización", links_to="organisation", hxl="#org+id"),
    F("women", INTEGER, "Women", "Mujeres", unit="people", minimum=0, hxl="#reached+f+adults"),
    F("girls", INTEGER, "Girls", "Niñas", unit="people", minimum=0, hxl="#reached+f+children"),
    F("boys", INTEGER, "Boys", "Niños", unit="people", minimum=0, hxl="#reached+m+children"),
    F("men", INTEGER, "Men", "Hombres", unit="people", minimum=0, hxl="#reached+m+adults"),
    *_admin_fields(),
), event_date="session_date", description="An explosive ordnance risk education session (IMAS 12.10).")

QM_INSPECTION = RecordType("qm_inspection", "QM", "Quality management inspection", "POINT", (
    F("kind", TEXT, "QA or QC", "QA o QC", required=True, vocab=voc.INSPECTION_KIND),
    F("activity", LINK, "Activity inspected", "Actividad", required=True, links_to="activity"),
    F("inspection_date", DATE, "Inspection date", "Fecha de inspección", required=True, hxl="#date"),
    F("result", TEXT, "Result", "Resultado", required=True, vocab=voc.INSPECTION_RESULT, hxl="#status+qm"),
    F("inspector", TEXT, "Inspector", "Inspector"),
    F("findings", TEXT, "Findings", "Hallazgos", hxl="#description"),
), event_date="inspection_date", description="A quality assurance or quality control inspection (IMAS 07.12).")

PRIORITY_TARGET = RecordType("priority_target", "PT", "Priority target", "GEOMETRY", (
    F("name", TEXT, "Name", "Nombre", required=True, hxl="#loc+name"),
    F("kind", TEXT, "Kind", "Tipo", required=True, vocab=voc.TARGET_KIND, hxl="#indicator+target"),
    F("displaced_households", INTEGER, "Displaced households waiting", "Hogares desplazados", unit="households",
      minimum=0, hxl="#affected+hh+displaced"),
    F("population", INTEGER, "Population", "Población", unit="people", minimum=0, hxl="#population"),
    F("deadline", DATE, "Project deadline", "Fecha límite", hxl="#date+deadline"),
    F("value", REAL, "Project value", "Valor del proyecto", unit="USD", minimum=0, hxl="#value"),
    F("blocking_hazards", LINKS, "Blocking hazard areas", "Áreas que lo bloquean", links_to="hazard_area"),
    *_admin_fields(),
), geometry_required=True,
    description="A settlement awaiting return or a reconstruction project, with the hazards that block it.")

ORGANISATION = RecordType("organisation", "OR", "Organisation", None, (
    F("name", TEXT, "Name", "Nombre", required=True, hxl="#org+name"),
    F("acronym", TEXT, "Acronym", "Sigla", hxl="#org+code"),
    F("kind", TEXT, "Kind", "Tipo", vocab=voc.ORGANISATION_KIND, hxl="#org+type"),
    F("accredited_from", DATE, "Accredited from", "Acreditada desde"),
    F("accredited_until", DATE, "Accredited until", "Acreditada hasta",
      description="Clearance by this organisation counts only while it is accredited."),
), description="An authority, operator or partner organisation.")

TEAM = RecordType("team", "TM", "Team", "POINT", (
    F("name", TEXT, "Name", "Nombre", required=True, hxl="#org+team"),
    F("organisation", LINK, "Organisation", "Organización", required=True, links_to="organisation"),
    F("method", TEXT, "Method", "Método", required=True, vocab=voc.TEAM_METHOD),
    F("capacity_m2_week", REAL, "Capacity", "Capacidad", unit="m2/week", minimum=0,
      description="m² of open ground (the standard terrain) it clears in a week."),
    *(F(f"capacity_m2_week_{t.code}", REAL, f"Capacity: {t.label.lower()}", f"Capacidad: {t.es.lower()}",
        unit="m2/week", minimum=0, description=f"m² of {t.label.lower()} it clears in a week; empty: "
                                               "capacity_m2_week × plan.terrain_factor[method].")
      for t in voc.TERRAIN_CLASS.terms if t.code != "open"),
    F("available_from", DATE, "Available from", "Disponible desde"),
    F("available_until", DATE, "Available until", "Disponible hasta"),
), description="A survey or clearance team; its point is its base.")

ADMIN_AREA = RecordType("admin_area", "AD", "Administrative area", "MULTIPOLYGON", (
    F("name", TEXT, "Name", "Nombre", required=True, hxl="#adm+name"),
    F("level", INTEGER, "Level", "Nivel", required=True, minimum=0, maximum=5),
    F("code", TEXT, "Code (P-code)", "Código", required=True, hxl="#adm+code"),
    F("parent_code", TEXT, "Parent code", "Código superior", hxl="#adm+code+parent"),
), geometry_required=True, description="A country (level 0) or one of its administrative divisions.")

EVENT = RecordType("event", "EVT", "Register event", "POINT", (
    F("event_type", TEXT, "Event type (as given)", "Tipo de evento", required=True, hxl="#event+type"),
    *_dated("event_date", "Date of event", "Fecha del evento"),
    F("description", TEXT, "Description", "Descripción", hxl="#description"),
    F("area_type", TEXT, "Rural or urban", "Rural o urbano", vocab=voc.AREA_TYPE),
    *_admin_fields(),
), event_date="event_date",
    description="A register entry that fits no other record, such as a seizure or a stockpile.")

RECORD_TYPES: dict[str, RecordType] = {rt.layer: rt for rt in (
    HAZARD_AREA, EVIDENCE, MINEFIELD_RECORD, ACTIVITY, RELEASED_AREA, DEVICE, ACCIDENT, CASUALTY,
    ASSISTANCE_REFERRAL, EORE_SESSION, QM_INSPECTION, PRIORITY_TARGET, ORGANISATION, TEAM, ADMIN_AREA, EVENT,
)}
LAYERS: tuple[str, ...] = tuple(RECORD_TYPES)


def record_type(layer: str) -> RecordType:
    """The declaration of ``layer``, or :class:`NotFoundError` naming the valid layers."""
    try:
        return RECORD_TYPES[layer]
    except KeyError:
        raise NotFoundError("record.unknown_layer", f"Unknown layer '{layer}'.",
                            hint="Layers: " + ", ".join(LAYERS) + ".") from None
