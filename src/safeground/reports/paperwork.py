"""Task orders, completion reports and handover certificates as HTML or PDF pages.

The figures come from :mod:`safeground.services.paperwork`; this module only lays them out: the site map
(:mod:`safeground.reports.site_map`, embedded as PNG) and the templates ``task_order.html``,
``completion_report.html`` and ``handover_certificate.html``, which share ``paperwork_macros.html``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.reports.render import figure_png_data_uri, render_html, write_pdf
from safeground.reports.site_map import site_map

TITLES = {"task_order": "Task order", "completion_report": "Completion report",
          "handover_certificate": "Handover certificate"}


def render_document(doc: dict[str, Any]) -> str:
    """The HTML page of a paperwork document (``doc["document"]`` picks the template)."""
    kind = doc["document"]
    subject = doc.get("activity", {}).get("ref") if kind == "completion_report" else doc["hazard"]["ref"]
    if kind == "handover_certificate":
        subject = doc["scope"]["ref"]
    title = f"{TITLES[kind]} {subject}"
    map_uri = figure_png_data_uri(site_map(doc["site"]), dpi=200)
    return render_html(f"{kind}.html", title=title, doc=doc, map_uri=map_uri)


def write_document(doc: dict[str, Any], target: str | Path, *, html: bool = False) -> Path:
    """Write the document as PDF (WeasyPrint), or as HTML when ``html`` or the target ends in .html.

    A target that exists, or that is neither .pdf nor .html, is refused before anything is drawn."""
    path = Path(target)
    as_html = html or path.suffix.lower() in (".html", ".htm")
    if path.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise ValidationError("document.bad_target", f"{path.name}: a document is written as .pdf or .html.",
                              hint="Name the file task_order.pdf, or task_order.html with --html.")
    if as_html and path.suffix.lower() == ".pdf":
        raise ValidationError("document.bad_target", f"{path.name}: --html writes HTML, not a .pdf file.",
                              hint="Name the file with .html, or leave out --html.")
    if path.exists():
        raise ValidationError("document.target_exists", f"{path} exists; documents never overwrite a file.",
                              hint="Choose a new file name, or move the old document away first.")
    page = render_document(doc)
    if as_html:
        path.write_text(page, encoding="utf-8")
        return path
    return write_pdf(page, path)
