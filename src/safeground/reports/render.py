"""HTML from the shipped Jinja2 templates, PDF from HTML, and figures embedded in either.

>>> html = render_html("base.html", title="Test <page>", body="")
>>> "Test &lt;page&gt;" in html
True
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2
    from matplotlib.figure import Figure


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("safeground.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    env.filters["km2"] = lambda x: "–" if x is None else f"{x:,.2f}"
    env.filters["column"] = column_label
    return env


#: Words for the column names of the services' tables (CSV keeps the names; print uses the words).
_COLUMN_WORDS = {"adm1": "Admin area", "adm2": "Admin area (level 2)", "sha_areas": "SHA", "cha_areas": "CHA",
                 "areas": "Areas", "km2": "Total km²", "treaty_item": "Treaty item", "beneficiaries": "People",
                 "not_broken_down": "Not broken down", "partly_broken_down": "Partly broken down"}


def column_label(name: str) -> str:
    """A table column's name as a reader expects it.

    >>> column_label("sha_km2"), column_label("adm1"), column_label("outcome_pending")
    ('SHA km²', 'Admin area', 'Pending')
    """
    if name in _COLUMN_WORDS:
        return _COLUMN_WORDS[name]
    if name.startswith("outcome_"):
        return name.removeprefix("outcome_").replace("_", " ").capitalize()
    words = name.replace("_", " ").replace("km2", "km²")
    words = " ".join(w.upper() if w in ("sha", "cha") else w for w in words.split())
    return words[:1].upper() + words[1:]


def render_html(template: str, **context: Any) -> str:
    """Fill ``templates/<template>`` with ``context``; every value is HTML-escaped unless marked safe."""
    return _environment().get_template(template).render(**context)


def write_pdf(html: str, target: str | Path) -> Path:
    """Write ``html`` as a PDF (WeasyPrint); relative URLs resolve against the templates folder."""
    import weasyprint

    base = Path(__file__).parent / "templates"
    path = Path(target)
    weasyprint.HTML(string=html, base_url=str(base)).write_pdf(path)
    return path


def figure_svg(fig: Figure) -> str:
    """The figure as inline SVG markup (vector, text kept as text), then closed to free its memory."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def figure_png_data_uri(fig: Figure, dpi: int = 200) -> str:
    """The figure as a PNG ``data:`` URI (for maps with many polygons, where SVG would be heavy)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
