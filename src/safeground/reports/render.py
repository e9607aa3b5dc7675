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
    return env


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
