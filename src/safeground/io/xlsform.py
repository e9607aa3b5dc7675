"""XLSForms (ODK and KoBoToolbox field forms) generated from the form and record declarations.

The survey, choices and settings sheets come from :mod:`safeground.domain.forms`: field types,
required-ness, ranges, vocabularies with their labels, units and link hints. Labels go in one
column per language, named as ODK recommends (``label::English (en)``) so that ODK Collect and
Enketo pick the script direction (right to left for ``ar``) from the language code.

openpyxl writes the ``.xlsx`` (pyxform reads it with openpyxl too); pyxform converts it to an
XForm and, with ``validate=True``, runs the ODK Validate jar it ships (needs Java).

>>> from safeground.domain.forms import FORMS
>>> book = form_sheets(FORMS["eore_session"], ["en", "es"])
>>> [r["type"] for r in book["survey"][:3]]
['start', 'end', 'geopoint']
>>> next(r for r in book["survey"] if r["name"] == "women")["label::Spanish (es)"]
'Mujeres (people)'
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.domain.fields import Field, FieldType, Vocabulary
from safeground.domain.forms import FormSpec, Section
from safeground.domain.records import RECORD_TYPES

Sheet = list[dict[str, Any]]

#: Language code -> English name, for ODK's ``Name (code)`` column headers. Others use the code as name.
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "fr": "French", "ar": "Arabic", "pt": "Portuguese", "uk": "Ukrainian",
    "ru": "Russian", "ps": "Pashto", "fa": "Persian", "prs": "Dari", "ku": "Kurdish", "so": "Somali",
    "my": "Burmese", "km": "Khmer", "lo": "Lao", "vi": "Vietnamese", "bs": "Bosnian", "hr": "Croatian",
    "sr": "Serbian", "sq": "Albanian", "am": "Amharic", "ti": "Tigrinya", "ha": "Hausa", "tr": "Turkish",
}

#: Field type -> XLSForm question type (vocabularies and links handled apart).
QUESTION_TYPES = {
    FieldType.TEXT: "text", FieldType.INTEGER: "integer", FieldType.REAL: "decimal", FieldType.DATE: "date",
    FieldType.DATETIME: "dateTime", FieldType.LINK: "text", FieldType.LINKS: "text",
}

#: Geometry type -> XLSForm question type. Polygons are geoshapes; points geopoints.
GEOMETRY_QUESTIONS = {"MULTIPOLYGON": "geoshape", "POLYGON": "geoshape", "POINT": "geopoint",
                      "LINESTRING": "geotrace"}

YES_NO = Vocabulary("yes_no", ())
_YES_NO_LABELS = {"yes": {"en": "Yes", "es": "Sí", "fr": "Oui"}, "no": {"en": "No", "es": "No", "fr": "Non"}}

#: A record reference (HA-000123) or a uuid: what a link question accepts.
LINK_PATTERN = "^[A-Z]{2,3}-[0-9]{6}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

_TEXTS = {
    "link": {"en": "Reference such as {prefix}-000123, or the uuid of the {title}.",
             "es": "Referencia como {prefix}-000123, o el uuid de: {title}."},
    "link_bad": {"en": "Give a reference like {prefix}-000123 or a uuid.",
                 "es": "Indique una referencia como {prefix}-000123 o un uuid."},
    "personal": {"en": "Personal data: never published.", "es": "Dato personal: nunca se publica."},
    "range": {"en": "Must be between {lo} and {hi}.", "es": "Debe estar entre {lo} y {hi}."},
    "min": {"en": "Must be at least {lo}.", "es": "Debe ser al menos {lo}."},
    "location": {"en": "Location", "es": "Ubicación"},
    "area": {"en": "Boundary (walk or draw it)", "es": "Perímetro (recórralo o dibújelo)"},
    "photo": {"en": "Photo or sketch {n}", "es": "Foto o croquis {n}"},
}


def language_column(lang: str) -> str:
    """``English (en)``: the language name ODK wants in column headers.

    >>> language_column("ar"), language_column("xx")
    ('Arabic (ar)', 'xx (xx)')
    """
    return f"{LANGUAGE_NAMES.get(lang, lang)} ({lang})"


def _text(key: str, lang: str, **kw: Any) -> str:
    texts = _TEXTS[key]
    return texts.get(lang, texts["en"]).format(**kw)


def _label(f: Field, lang: str) -> str:
    label = f.label(lang)
    return f"{label} ({f.unit})" if f.unit else label


def _list_name(section: Section, f: Field) -> str:
    assert f.vocabulary is not None
    if f.name in section.choices:
        return f"{f.vocabulary.name}_{section.name}"
    return f.vocabulary.name


def _question(section: Section, f: Field, langs: Sequence[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"name": f.name}
    if f.type is FieldType.BOOLEAN:
        row["type"] = "select_one yes_no"
    elif f.vocabulary is not None:
        kind = "select_multiple" if f.type is FieldType.CHOICES else "select_one"
        row["type"] = f"{kind} {_list_name(section, f)}"
    else:
        row["type"] = QUESTION_TYPES[f.type]
    for lang in langs:
        col = language_column(lang)
        row[f"label::{col}"] = _label(f, lang)
        hints = []
        if f.type in (FieldType.LINK, FieldType.LINKS) and f.links_to:
            target = RECORD_TYPES[f.links_to]
            hints.append(_text("link", lang, prefix=target.prefix, title=target.title.lower()))
            row[f"constraint_message::{col}"] = _text("link_bad", lang, prefix=target.prefix)
        if f.personal:
            hints.append(_text("personal", lang))
        if f.minimum is not None and f.type is not FieldType.LINK:
            key = "range" if f.maximum is not None else "min"
            row[f"constraint_message::{col}"] = _text(key, lang, lo=_num(f.minimum), hi=_num(f.maximum))
        if hints:
            row[f"hint::{col}"] = " ".join(hints)
    if f.required:
        row["required"] = "yes"
    if f.name in section.relevant:
        row["relevant"] = section.relevant[f.name]
    if f.type is FieldType.LINK:
        row["constraint"] = f"regex(., '{LINK_PATTERN}')"
    elif f.minimum is not None:
        row["constraint"] = f". >= {_num(f.minimum)}" + (f" and . <= {_num(f.maximum)}" if f.maximum is not None
                                                         else "")
    return row


def _num(v: float | None) -> str:
    return "" if v is None else (str(int(v)) if float(v).is_integer() else str(v))


def _section_rows(section: Section, langs: Sequence[str]) -> Sheet:
    rows: Sheet = []
    rt = section.record_type
    if rt.geometry_type in GEOMETRY_QUESTIONS:
        gtype = GEOMETRY_QUESTIONS[rt.geometry_type]
        geo: dict[str, Any] = {"type": gtype, "name": "geometry" if section.parent_link is None
                               else f"{section.name}_geometry"}
        for lang in langs:
            geo[f"label::{language_column(lang)}"] = _text("area" if gtype == "geoshape" else "location", lang)
        if rt.geometry_required:
            geo["required"] = "yes"
        rows.append(geo)
    rows += [_question(section, f, langs) for f in section.questions()]
    for i, name in enumerate(section.photo_names(), start=1):
        photo: dict[str, Any] = {"type": "image", "name": name}
        for lang in langs:
            photo[f"label::{language_column(lang)}"] = _text("photo", lang, n=i)
        rows.append(photo)
    return rows


def _choices(spec: FormSpec, langs: Sequence[str]) -> Sheet:
    rows: Sheet = []
    seen: set[str] = set()
    for section in (spec.main, *spec.repeats):
        for f in section.questions():
            if f.type is FieldType.BOOLEAN and "yes_no" not in seen:
                seen.add("yes_no")
                for code, labels in _YES_NO_LABELS.items():
                    rows.append({"list_name": "yes_no", "name": code,
                                 **{f"label::{language_column(lang)}": labels.get(lang, labels["en"])
                                    for lang in langs}})
            if f.vocabulary is None or f.type is FieldType.BOOLEAN:
                continue
            list_name = _list_name(section, f)
            if list_name in seen:
                continue
            seen.add(list_name)
            allowed = section.choices.get(f.name, f.vocabulary.codes)
            for term in f.vocabulary.terms:
                if term.code in allowed:
                    labels = term.labels()
                    rows.append({"list_name": list_name, "name": term.code,
                                 **{f"label::{language_column(lang)}": labels.get(lang, term.label)
                                    for lang in langs}})
    return rows


def form_sheets(spec: FormSpec, languages: Sequence[str]) -> dict[str, Sheet]:
    """The ``survey``, ``choices`` and ``settings`` sheets of ``spec`` with labels in ``languages``.

    A language the declarations carry no label for (``ar``, say) gets the English text, for a translator
    to replace in the spreadsheet; the form works as it is.
    """
    langs = list(dict.fromkeys(languages)) or ["en"]
    survey: Sheet = [{"type": "start", "name": "start"}, {"type": "end", "name": "end"}]
    survey += _section_rows(spec.main, langs)
    for rep in spec.repeats:
        begin: dict[str, Any] = {"type": "begin_repeat", "name": rep.name}
        for lang in langs:
            begin[f"label::{language_column(lang)}"] = rep.title_es if lang == "es" and rep.title_es else \
                rep.title_en or rep.record_type.title
        survey.append(begin)
        survey += _section_rows(rep, langs)
        survey.append({"type": "end_repeat", "name": rep.name})
    choices = _choices(spec, langs)
    digest = hashlib.sha256(json.dumps([survey, choices], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    settings: Sheet = [{"form_title": spec.title(langs[0]), "form_id": spec.form_id, "version": digest[:10],
                        "default_language": language_column(langs[0])}]
    return {"survey": survey, "choices": choices, "settings": settings}


def write_xlsx(path: Path, sheets: dict[str, Sheet]) -> None:
    """Write the sheets to an ``.xlsx`` workbook, one header row of the union of their keys."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        header = list(dict.fromkeys(k for r in rows for k in r))
        sheet.append(header)
        for r in rows:
            sheet.append([r.get(h) for h in header])
    book.save(path)


def to_xform(path: Path, *, validate: bool = False) -> str:
    """Convert the XLSForm at ``path`` with pyxform; ``validate`` also runs ODK Validate (needs Java).

    Raises ``forms.invalid`` naming pyxform's or ODK Validate's complaint, ``forms.java_missing`` when
    validation is asked and Java is absent.
    """
    from pyxform.errors import PyXFormError
    from pyxform.validators.odk_validate import ODKValidateError
    from pyxform.xls2xform import convert

    if validate and shutil.which("java") is None:
        raise ValidationError("forms.java_missing", "ODK Validate needs Java, which is not installed.",
                              hint="Install it (Debian: apt-get install default-jre-headless) or skip validation.")
    try:
        return convert(xlsform=str(path), validate=validate).xform
    except (PyXFormError, ODKValidateError) as exc:
        raise ValidationError("forms.invalid", f"{path.name} is not a valid XLSForm: {exc}",
                              hint="This is a bug in the form declarations; report it with the message.") from None
