"""Field and vocabulary declarations: the building blocks of every record type.

A :class:`Field` says everything the rest of SafeGround needs to know about one column:
its type, whether it is required, its vocabulary, unit, whether it is personal (never
public), whether the server manages it, its labels per language and its HXL tag.
The store schema, API schemas, XLSForms and docs are all derived from these declarations.

>>> sex = Vocabulary("sex", (Term("female", "Female", es="Mujer"), Term("male", "Male", es="Hombre"),
...                          Term("unknown", "Unknown", es="Desconocido")))
>>> f = Field("sex", FieldType.TEXT, vocabulary=sex, hxl="#affected+sex")
>>> f.check("female")
'female'
>>> f.check("Female")
Traceback (most recent call last):
...
safeground.domain.errors.ValidationError: Value 'Female' is not in vocabulary 'sex' of field 'sex'.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from safeground.domain.errors import ValidationError


class FieldType(enum.StrEnum):
    """Storage-neutral field types. ``LINK`` holds another record's uuid; ``CHOICES`` holds
    space-separated vocabulary codes, as ODK's select_multiple does."""

    TEXT = "text"
    INTEGER = "integer"
    REAL = "real"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    LINK = "link"
    LINKS = "links"
    CHOICES = "choices"


@dataclass(frozen=True)
class Term:
    """One vocabulary entry: a stable code and its labels (English first, others by language code)."""

    code: str
    label: str
    es: str = ""
    fr: str = ""

    def labels(self) -> dict[str, str]:
        out = {"en": self.label}
        if self.es:
            out["es"] = self.es
        if self.fr:
            out["fr"] = self.fr
        return out


@dataclass(frozen=True)
class Vocabulary:
    """A closed list of codes (IMAS, IMSMA or Landmine Monitor categories)."""

    name: str
    terms: tuple[Term, ...]
    source: str = ""

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.terms)

    def __contains__(self, code: object) -> bool:
        return code in self.codes


@dataclass(frozen=True)
class Field:
    """One declared field of a record type."""

    name: str
    type: FieldType
    required: bool = False
    vocabulary: Vocabulary | None = None
    unit: str | None = None
    personal: bool = False
    managed: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    hxl: str | None = None
    links_to: str | None = None
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None

    def label(self, lang: str = "en") -> str:
        """The field's label in ``lang``, falling back to English, then to its name."""
        return self.labels.get(lang) or self.labels.get("en") or self.name.replace("_", " ").capitalize()

    def check(self, value: Any) -> Any:
        """Return ``value`` normalised to this field's type, or raise :class:`ValidationError`.

        ``None`` passes (required-ness is checked per record, where the whole row is known).
        """
        if value is None:
            return None
        t = self.type
        try:
            if t in (FieldType.TEXT, FieldType.LINK):
                value = str(value)
            elif t is FieldType.INTEGER:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                value = int(value)
                if not -(2**63) <= value < 2**63:  # SQLite's INTEGER is 64-bit
                    raise ValueError
            elif t is FieldType.REAL:
                value = float(value)
            elif t is FieldType.BOOLEAN:
                value = _to_bool(value)
            elif t is FieldType.DATE:
                value = _to_date(value)
            elif t is FieldType.DATETIME:
                value = str(value)
            elif t in (FieldType.CHOICES, FieldType.LINKS):
                items = value.split() if isinstance(value, str) else [str(v) for v in value]
                value = " ".join(items)
        except (TypeError, ValueError):
            raise ValidationError(
                "record.bad_value",
                f"Value {value!r} of field '{self.name}' is not a valid {t.value}.",
                hint=_TYPE_HINTS.get(t, ""),
                details={"field": self.name, "value": repr(value)},
            ) from None
        if self.vocabulary is not None:
            codes = value.split() if t is FieldType.CHOICES else [value]
            bad = [c for c in codes if c not in self.vocabulary]
            if bad:
                raise ValidationError(
                    "record.not_in_vocabulary",
                    f"Value {bad[0]!r} is not in vocabulary '{self.vocabulary.name}' of field '{self.name}'.",
                    hint="Use one of: " + ", ".join(self.vocabulary.codes) + ".",
                    details={"field": self.name, "value": bad[0]},
                )
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ValidationError(
                "record.out_of_range",
                f"Value {value!r} of field '{self.name}' is outside {self.minimum}..{self.maximum}.",
                hint="Check the unit" + (f" ({self.unit})." if self.unit else "."),
                details={"field": self.name, "value": value},
            )
        return value


_TYPE_HINTS = {
    FieldType.INTEGER: "Give a whole number.",
    FieldType.REAL: "Give a number, with '.' as the decimal mark.",
    FieldType.BOOLEAN: "Give true/false, yes/no or 1/0.",
    FieldType.DATE: "Give a date as YYYY-MM-DD.",
}


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "y", "si", "sí", "oui"}:
        return True
    if text in {"0", "false", "no", "n", "non"}:
        return False
    raise ValueError(value)


def _to_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if len(text) >= 10 and text[4] == "/" and text[7] == "/":  # GDAL's CSV and some GIS write 2024/03/05
        text = text[:10].replace("/", "-")
    return dt.date.fromisoformat(text[:10]).isoformat()
