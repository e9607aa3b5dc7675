"""Colours and type sizes for every chart, map and document.

The categorical palette is Okabe and Ito's (2008), chosen so that readers with the common forms of
colour blindness can tell its colours apart; charts also never rely on colour alone where a label or
hatch can say the same. Sizes are for print: a chart placed at 16 cm wide keeps text at 8 pt or more.

>>> len(CATEGORICAL), CATEGORICAL[0]
(8, '#E69F00')
>>> colour_for(9) == CATEGORICAL[1]
True
"""

from __future__ import annotations

from typing import Any

#: Okabe-Ito, without its black (kept for text and outlines), orange first.
CATEGORICAL: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#999999",  # grey, for "other" and "unknown"
)
TEXT = "#000000"
MUTED = "#666666"
UNKNOWN = "#999999"

#: Meaning-bearing colours, the same in every output.
HAZARD_STATUS = {"SHA": "#E69F00", "CHA": "#D55E00", "released": "#009E73"}
OUTCOME = {"killed": "#D55E00", "injured": "#E69F00", "unknown": UNKNOWN}
RELEASE = {"cancelled": "#56B4E9", "reduced": "#0072B2", "cleared": "#009E73"}
#: Predicted risk in bands (``services/risk_map.BANDS``): ColorBrewer's sequential YlOrRd, light to dark, as
#: the web map draws it (a categorical palette cannot show an order).
RISK_BANDS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")

#: Print sizes (points) and figure width (inches) for a 16 cm text column.
FONT_PT = 9
TITLE_PT = 10
FIGURE_WIDTH_IN = 6.3


def colour_for(i: int) -> str:
    """The i-th categorical colour, wrapping round after the last.

    >>> colour_for(0)
    '#E69F00'
    """
    return CATEGORICAL[i % len(CATEGORICAL)]


def matplotlib_style() -> dict[str, Any]:
    """Matplotlib ``rcParams`` for print: sizes above, palette as the colour cycle, no chart junk.

    >>> matplotlib_style()["font.size"]
    9
    """
    from cycler import cycler

    return {
        "font.family": "DejaVu Sans",
        "font.size": FONT_PT,
        "axes.titlesize": TITLE_PT,
        "axes.labelsize": FONT_PT,
        "xtick.labelsize": FONT_PT - 1,
        "ytick.labelsize": FONT_PT - 1,
        "legend.fontsize": FONT_PT - 1,
        "axes.prop_cycle": cycler(color=list(CATEGORICAL)),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.axisbelow": True,
        "grid.color": "#dddddd",
        "grid.linewidth": 0.5,
        "figure.dpi": 150,
        "savefig.bbox": "tight",
        "svg.fonttype": "none",
    }
