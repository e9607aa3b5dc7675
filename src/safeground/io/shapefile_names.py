"""The documented field-name map for Shapefiles, whose DBF names hold at most 10 characters.

Derived from the declarations, so export and import always agree: a name of 10 characters or fewer is
kept; a longer one is cut to 10, and when two cuts collide the later one becomes its first 8 characters
plus a two-digit number. ``docs/design.md`` lists the map.

>>> field_map("hazard_area")["remaining_area_m2"], field_map("hazard_area")["hazard_class"]
('remaining_', 'hazard_cla')
"""

from __future__ import annotations

from functools import cache

from safeground.domain.records import RECORD_TYPES, record_type

MAX = 10


@cache
def field_map(layer: str) -> dict[str, str]:
    """Declared field name → Shapefile column name, for every field of ``layer``."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for f in record_type(layer).all_fields:
        short = f.name[:MAX]
        n = 1
        while short in used:
            short = f"{f.name[:MAX - 2]}{n:02d}"
            n += 1
        used.add(short)
        out[f.name] = short
    return out


def reverse_map(layer: str) -> dict[str, str]:
    """Shapefile column name → declared field name."""
    return {short: name for name, short in field_map(layer).items()}


def markdown() -> str:
    """The renamed fields of every layer, as a table for the design record."""
    rows = ["| layer | field | Shapefile column |", "|---|---|---|"]
    for layer in RECORD_TYPES:
        rows += [f"| `{layer}` | `{name}` | `{short}` |" for name, short in field_map(layer).items() if name != short]
    return "\n".join(rows) + "\n"
