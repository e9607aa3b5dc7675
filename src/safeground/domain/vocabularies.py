"""Controlled vocabularies, from IMAS, IMSMA and Landmine Monitor.

Codes are stable, lower-case and English; labels are for people. Every vocabulary is a
module-level constant, and :data:`ALL` lists them for docs and form generation.

>>> "cha" in HAZARD_CLASS
True
>>> DEVICE_CATEGORY.codes[:3]
('ap_mine', 'improvised_mine', 'av_mine')
"""

from __future__ import annotations

from safeground.domain.fields import Term as T
from safeground.domain.fields import Vocabulary as V

REVIEW_STATE = V("review_state", (
    T("submitted", "Submitted", "Enviado"),
    T("approved", "Approved", "Aprobado"),
    T("published", "Published", "Publicado"),
), "SafeGround workflow (IMSMA workbench reconciliation)")

DATE_PRECISION = V("date_precision", (
    T("day", "Day", "Día"), T("month", "Month", "Mes"), T("year", "Year", "Año"),
))

HAZARD_CLASS = V("hazard_class", (
    T("indication", "Indication of contamination", "Indicio"),
    T("sha", "Suspected hazardous area (SHA)", "Área peligrosa sospechada (ASP)"),
    T("cha", "Confirmed hazardous area (CHA)", "Área peligrosa confirmada (APC)"),
    T("eod_spot_task", "EOD spot task", "Tarea puntual de EOD"),
    T("stockpile", "Stockpile", "Arsenal"),
), "IMAS 04.10, 07.11")

HAZARD_STATUS = V("hazard_status", (
    T("open", "Open", "Abierta"),
    T("worked_on", "Worked on", "En intervención"),
    T("closed", "Closed (released)", "Cerrada (liberada)"),
    T("handed_over", "Handed over", "Entregada"),
), "IMSMA")

MARKING_STATUS = V("marking_status", (
    T("unmarked", "Not marked", "Sin señalizar"),
    T("temporary", "Temporary marking", "Señalización temporal"),
    T("permanent", "Permanent marking", "Señalización permanente"),
    T("fenced", "Fenced", "Cercada"),
    T("unknown", "Unknown", "Desconocido"),
), "IMAS 08.40")

CONTAMINATION_TYPE = V("contamination_type", (
    T("ap_mines", "Anti-personnel mines", "Minas antipersonal"),
    T("av_mines", "Anti-vehicle mines", "Minas antivehículo"),
    T("mixed_mines", "Mixed mines", "Minas mixtas"),
    T("improvised", "Improvised explosive devices", "Artefactos explosivos improvisados"),
    T("cluster_munitions", "Cluster munition remnants", "Restos de municiones en racimo"),
    T("erw", "Other explosive remnants of war", "Otros REG"),
    T("unknown", "Unknown", "Desconocido"),
), "IMSMA")

BLOCKAGE = V("blockage", (
    T("farming", "Farming", "Agricultura"),
    T("roads", "Roads and paths", "Vías y caminos"),
    T("housing", "Housing", "Vivienda"),
    T("infrastructure", "Infrastructure", "Infraestructura"),
    T("water", "Water access", "Acceso al agua"),
    T("services", "Schools, health and services", "Servicios"),
), "IMSMA impact")

EVIDENCE_KIND = V("evidence_kind", (
    T("direct", "Direct evidence", "Evidencia directa"),
    T("indirect", "Indirect evidence", "Evidencia indirecta"),
), "IMAS 08.10")

EVIDENCE_SOURCE = V("evidence_source", (
    T("observed", "Observed", "Observada"),
    T("verbal", "Verbal report", "Testimonio"),
    T("records", "Records", "Registros"),
), "IMAS 08.10")

RELIABILITY = V("reliability", (
    T("a", "A: reliable (verified on the ground)", "A: confiable"),
    T("b", "B: usually reliable", "B: generalmente confiable"),
    T("c", "C: doubtful", "C: dudoso"),
    T("d", "D: unreliable", "D: no confiable"),
    T("unknown", "Unknown", "Desconocido"),
))

MINEFIELD_PATTERN = V("minefield_pattern", (
    T("rows", "Rows", "Hileras"),
    T("clusters", "Clusters", "Grupos"),
    T("scattered", "Scattered", "Disperso"),
    T("nuisance", "Nuisance mining", "Minado de hostigamiento"),
    T("unknown", "Unknown", "Desconocido"),
))

ACTIVITY_TYPE = V("activity_type", (
    T("nts", "Non-technical survey (NTS)", "Estudio no técnico (ENT)"),
    T("ts", "Technical survey (TS)", "Estudio técnico (ET)"),
    T("clearance", "Clearance", "Despeje"),
    T("bac", "Battle area clearance (BAC)", "Despeje de área de batalla"),
    T("eod_spot_task", "EOD spot task", "Tarea puntual de EOD"),
    T("cancellation", "Cancellation (desk)", "Cancelación"),
    T("completion", "Completion survey", "Verificación de terminación"),
    T("handover", "Handover", "Entrega"),
), "IMAS 07.11, 08.10, 08.20, 09.10")

ASSET = V("asset", (
    T("manual", "Manual deminers", "Desminado manual"),
    T("mechanical", "Mechanical assets", "Medios mecánicos"),
    T("mdd", "Mine detection dogs", "Perros detectores de minas"),
    T("detector", "Large-loop or dual-sensor detectors", "Detectores"),
    T("bac", "Battle area clearance", "Despeje de área de batalla"),
), "IMAS 09.10, 09.41, 09.50")

RELEASE_KIND = V("release_kind", (
    T("cancelled", "Cancelled (NTS)", "Cancelada (ENT)"),
    T("reduced", "Reduced (TS)", "Reducida (ET)"),
    T("cleared", "Cleared", "Despejada"),
), "IMAS 07.11")

RELEASE_STATUS = V("release_status", (
    T("awaiting_approval", "Awaiting NTS report approval", "Pendiente de aprobación"),
    T("awaiting_qc", "Awaiting QC", "Pendiente de control de calidad"),
    T("released", "Released", "Liberada"),
))

DEVICE_CATEGORY = V("device_category", (
    T("ap_mine", "Factory-made anti-personnel mine", "Mina antipersonal de fábrica"),
    T("improvised_mine", "Improvised mine", "Mina improvisada"),
    T("av_mine", "Anti-vehicle mine", "Mina antivehículo"),
    T("unspecified_mine", "Unspecified mine", "Mina no especificada"),
    T("cluster_submunition", "Cluster submunition", "Submunición en racimo"),
    T("other_erw", "Other explosive remnant of war", "Otro REG"),
), "Landmine Monitor")

DEVICE_CONDITION = V("device_condition", (
    T("intact", "Intact", "Intacto"),
    T("armed", "Armed", "Armado"),
    T("damaged", "Damaged", "Dañado"),
    T("unknown", "Unknown", "Desconocido"),
))

DISPOSAL = V("disposal", (
    T("destroyed_in_situ", "Destroyed in situ", "Destruido in situ"),
    T("removed_and_destroyed", "Removed and destroyed", "Retirado y destruido"),
    T("rendered_safe", "Rendered safe", "Neutralizado"),
    T("not_disposed", "Not yet disposed", "Sin disponer"),
), "IMAS 09.30")

ACCIDENT_TYPE = V("accident_type", (
    T("mine_erw", "Mine/ERW accident", "Accidente por MAP/MUSE"),
    T("demining", "Demining accident", "Accidente de desminado"),
), "IMAS 10.60")

ACTIVITY_AT_ACCIDENT = V("activity_at_accident", (
    T("farming", "Farming", "Agricultura"),
    T("herding", "Herding", "Pastoreo"),
    T("collecting", "Collecting wood, food or water", "Recolección"),
    T("travelling", "Travelling", "Desplazamiento"),
    T("playing", "Playing", "Jugando"),
    T("tampering", "Tampering", "Manipulación"),
    T("demining", "Demining", "Desminado"),
    T("military_operation", "Military operation", "Operación militar"),
    T("household", "Household activity", "Actividad doméstica"),
    T("other", "Other", "Otra"),
    T("unknown", "Unknown", "Desconocida"),
), "Landmine Monitor")

OUTCOME = V("casualty_outcome", (
    T("killed", "Killed", "Muerto"),
    T("injured", "Injured", "Herido"),
    T("unknown", "Unknown", "Desconocido"),
), "Landmine Monitor")

SEVERITY = V("injury_severity", (
    T("serious", "Serious", "Grave"),
    T("minor", "Minor", "Leve"),
    T("unknown", "Unknown", "Desconocida"),
))

CASUALTY_STATUS = V("casualty_status", (
    T("civilian", "Civilian", "Civil"),
    T("military", "Military/security", "Fuerza pública"),
    T("deminer", "Deminer", "Desminador"),
), "Landmine Monitor")

SEX = V("sex", (
    T("female", "Female", "Mujer"), T("male", "Male", "Hombre"), T("unknown", "Unknown", "Desconocido"),
))

AGE_GROUP = V("age_group", (
    T("child", "Child (under 18)", "Menor de 18"), T("adult", "Adult", "Adulto"),
    T("unknown", "Unknown", "Desconocido"),
), "Landmine Monitor")

DISPLACEMENT = V("displacement", (
    T("resident", "Resident", "Residente"),
    T("displaced", "Internally displaced", "Desplazado"),
    T("returnee", "Returnee", "Retornado"),
    T("refugee", "Refugee", "Refugiado"),
    T("unknown", "Unknown", "Desconocido"),
), "Landmine Monitor")

ASSISTANCE_SERVICE = V("assistance_service", (
    T("emergency_medical", "Emergency and continuing medical care", "Atención médica"),
    T("rehabilitation", "Physical rehabilitation and prosthetics", "Rehabilitación"),
    T("psychological", "Psychological and psychosocial support", "Apoyo psicosocial"),
    T("socio_economic", "Socio-economic inclusion", "Inclusión socioeconómica"),
    T("education", "Education", "Educación"),
    T("legal", "Legal and administrative support", "Apoyo jurídico"),
), "IMAS 13.10, Landmine Monitor")

REFERRAL_OUTCOME = V("referral_outcome", (
    T("pending", "Pending", "Pendiente"),
    T("received", "Service received", "Servicio recibido"),
    T("declined", "Declined", "Rechazado"),
    T("unreachable", "Could not be reached", "No localizado"),
    T("unavailable", "Service unavailable", "Servicio no disponible"),
), "IMAS 13.10")

EORE_METHOD = V("eore_method", (
    T("face_to_face", "Face-to-face session", "Sesión presencial"),
    T("school", "School session", "Sesión escolar"),
    T("mass_media", "Mass media", "Medios masivos"),
    T("digital", "Digital", "Digital"),
), "IMAS 12.10")

INSPECTION_KIND = V("inspection_kind", (
    T("qa", "Quality assurance (QA)", "Aseguramiento de calidad"),
    T("qc", "Quality control (QC)", "Control de calidad"),
), "IMAS 07.12")

INSPECTION_RESULT = V("inspection_result", (
    T("pass", "Pass", "Aprobada"), T("fail", "Fail", "Rechazada"),
))

TARGET_KIND = V("target_kind", (
    T("settlement", "Settlement awaiting return", "Asentamiento"),
    T("road", "Road", "Vía"),
    T("power_line", "Power line", "Línea eléctrica"),
    T("school", "School", "Escuela"),
    T("health", "Health facility", "Centro de salud"),
    T("water", "Water supply", "Acueducto"),
    T("farmland", "Farmland", "Tierra agrícola"),
    T("housing", "Housing", "Vivienda"),
    T("other", "Other project", "Otro proyecto"),
))

ORGANISATION_KIND = V("organisation_kind", (
    T("authority", "National mine action authority", "Autoridad nacional"),
    T("ngo", "Humanitarian NGO", "ONG humanitaria"),
    T("commercial", "Commercial operator", "Operador comercial"),
    T("military", "Military/state", "Militar/estatal"),
    T("un", "United Nations", "Naciones Unidas"),
    T("other", "Other", "Otra"),
))

TEAM_METHOD = V("team_method", (
    T("manual", "Manual", "Manual"),
    T("mechanical", "Mechanical", "Mecánico"),
    T("mdd", "Mine detection dogs", "Perros detectores"),
    T("bac", "Battle area clearance", "Despeje de área de batalla"),
    T("nts", "Non-technical survey", "Estudio no técnico"),
), "IMAS 09.10")

TERRAIN_CLASS = V("terrain_class", (
    T("open", "Open or agricultural ground", "Terreno abierto o agrícola"),
    T("vegetated", "Bush or scrub", "Matorral"),
    T("forest", "Forest or jungle", "Bosque o selva"),
    T("rocky", "Rocky or mountain ground", "Terreno rocoso o de montaña"),
    T("urban", "Urban ground or rubble", "Zona urbana o escombros"),
), "IMAS 09.10 (terrain and vegetation set the clearance rate); empty is open ground, the standard terrain")

AREA_TYPE = V("area_type", (
    T("rural", "Rural", "Rural"), T("urban", "Urban", "Urbano"), T("unknown", "Unknown", "Desconocido"),
))

ALL: tuple[V, ...] = tuple(v for v in globals().values() if isinstance(v, V))
