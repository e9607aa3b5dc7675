"""The record-type catalogue as the API shows it: declarations only, never values.

>>> layer_document("casualty")["personal_fields"]
['given_name', 'family_name', 'contact', 'national_id', 'age']
"""

from __future__ import annotations

from typing import Any

from safeground.domain.records import LAYERS, record_type


def layer_document(layer: str) -> dict[str, Any]:
    """A record type's declaration: layer, prefix, title, geometry, event date and fields."""
    rt = record_type(layer)
    return {
        "layer": rt.layer, "prefix": rt.prefix, "title": rt.title, "description": rt.description,
        "geometry_type": rt.geometry_type, "geometry_required": rt.geometry_required, "event_date": rt.event_date,
        "personal_fields": list(rt.personal_fields),
        "fields": [{"name": f.name, "type": str(f.type), "required": f.required, "personal": f.personal,
                    "managed": f.managed, "unit": f.unit, "labels": dict(f.labels),
                    "vocabulary": list(f.vocabulary.codes) if f.vocabulary else None, "links_to": f.links_to}
                   for f in rt.all_fields],
    }


def layers_document() -> dict[str, Any]:
    """Every record type, in declaration order."""
    return {"layers": [layer_document(layer) for layer in LAYERS]}
