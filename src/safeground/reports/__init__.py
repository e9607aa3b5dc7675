"""Printed outputs: charts, maps, HTML pages and PDFs built from the services' figures.

This is a presentation layer, beside the CLI: ``domain <- store/io <- services <- reports <- cli``.
Nothing here reads the store directly or computes a figure; it lays out what the services return.

Libraries, one per job: matplotlib draws charts and maps (static, print-quality SVG/PNG, no browser);
Jinja2 fills the HTML templates (autoescaped, so record text can never inject markup); WeasyPrint turns
that HTML and CSS into PDF (pure Python over Pango, paged media, no headless browser needed).
"""
