"""Documentation generated from the declarations: the layer and field list, vocabularies and transitions.

``docs/design.md`` holds these between ``<!-- generated:NAME -->`` markers; ``make docs`` (or
:func:`update_design`) rewrites them, and a test fails when they are out of date.

>>> "| `hazard_class` |" in fields_markdown()
True
"""

from __future__ import annotations

import re
from pathlib import Path

from safeground.domain.records import METADATA, RECORD_TYPES
from safeground.domain.transitions import TABLES
from safeground.domain.vocabularies import ALL as VOCABULARIES


def fields_markdown() -> str:
    """One table per layer: field, type, required, vocabulary, unit, personal, managed, HXL, label."""
    out = ["Every layer also has the metadata columns: " + ", ".join(f"`{f.name}`" for f in METADATA) + ".", ""]
    for rt in RECORD_TYPES.values():
        geom = rt.geometry_type or "none (attribute table)"
        out += [f"#### `{rt.layer}` ({rt.prefix}-000001): {rt.title}", "", rt.description, "",
                f"Geometry: {geom}{', required' if rt.geometry_required else ''}.", "",
                "| field | type | required | vocabulary / link | unit | personal | managed | HXL | label (en / es) |",
                "|---|---|---|---|---|---|---|---|---|"]
        for f in rt.fields:
            vocab = f"`{f.vocabulary.name}`" if f.vocabulary else (f"→ `{f.links_to}`" if f.links_to else "")
            label = " / ".join(x for x in (f.labels.get("en", ""), f.labels.get("es", "")) if x)
            out.append(f"| `{f.name}` | {f.type.value} | {'yes' if f.required else ''} | {vocab} | {f.unit or ''} | "
                       f"{'**yes**' if f.personal else ''} | {'yes' if f.managed else ''} | {f.hxl or ''} | {label} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def vocabularies_markdown() -> str:
    out = ["| vocabulary | source | codes |", "|---|---|---|"]
    for v in VOCABULARIES:
        out.append(f"| `{v.name}` | {v.source} | {', '.join(f'`{c}`' for c in v.codes)} |")
    return "\n".join(out) + "\n"


def transitions_markdown() -> str:
    out = []
    for t in TABLES:
        out += [f"#### {t.title} (`transition.{t.name}`, {t.imas})", "", "| from | to | when |", "|---|---|---|"]
        out += [f"| `{a}` | `{b}` | {why} |" for (a, b), why in t.allowed.items()]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def forms_markdown() -> str:
    """One row per field form section: form id, layer, what the form fixes, the link of a repeat, questions."""
    from safeground.domain.forms import FORMS

    out = ["| form (id) | section | layer | fixed or restricted | link to the main record | questions |",
           "|---|---|---|---|---|---|"]
    for spec in FORMS.values():
        for section in (spec.main, *spec.repeats):
            fixed = [f"`{k}` = `{v}`" for k, v in section.constants.items()]
            fixed += [f"`{k}` ∈ {', '.join(f'`{c}`' for c in v)}" for k, v in section.choices.items()]
            link = ""
            if section.parent_link:
                link = f"`{section.parent_link}`" + "".join(f"; `{c}` ← main `{m}`" for c, m in section.inherit.items())
            questions = ", ".join(f"`{f.name}`" for f in section.questions())
            geo = "geometry, " if section.record_type.is_spatial else ""
            kind = "main" if section.parent_link is None else f"repeat `{section.name}`"
            out.append(f"| `{spec.name}` (`{spec.form_id}`) | {kind} | `{section.layer}` | {'; '.join(fixed)} | "
                       f"{link} | {geo}{questions}, {section.photos} photo(s) |")
    return "\n".join(out) + "\n"


def shapefile_markdown() -> str:
    from safeground.io.shapefile_names import markdown

    return markdown()


SECTIONS = {"fields": fields_markdown, "vocabularies": vocabularies_markdown, "transitions": transitions_markdown,
            "shapefile": shapefile_markdown, "forms": forms_markdown}


def render(text: str) -> str:
    """``text`` with every generated section replaced by its current content."""
    for name, fn in SECTIONS.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.S)
        text = pattern.sub(lambda m, fn=fn: m.group(1) + fn() + m.group(2), text)  # type: ignore[misc]
    return text


def update_design(path: str | Path) -> bool:
    """Rewrite the generated sections of ``path``; return whether anything changed."""
    p = Path(path)
    old = p.read_text(encoding="utf-8")
    new = render(old)
    if new != old:
        p.write_text(new, encoding="utf-8")
    return new != old
