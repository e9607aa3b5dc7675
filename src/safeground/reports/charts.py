"""The situation report's charts, drawn from the services' JSON documents (nothing is counted here).

Each function takes a document as ``stats casualties`` or ``stats release`` returns it and gives a matplotlib
figure, or ``None`` when the document holds nothing to draw (the report then says so in words). Colours come
from :mod:`~safeground.reports.palette` only (Okabe-Ito); categories that colour tells apart also differ by
hatch, and every bar carries its number, so no reading depends on colour alone. Call them inside
``plt.rc_context(matplotlib_style())`` for the print sizes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from safeground.domain.vocabularies import DEVICE_CATEGORY
from safeground.reports.palette import CATEGORICAL, FIGURE_WIDTH_IN, OUTCOME, RELEASE, TEXT, UNKNOWN

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Casualty status: colour and hatch (the hatch tells them apart in grey print too).
STATUS_STYLE = {"civilian": (CATEGORICAL[0], ""), "military": (CATEGORICAL[4], "//"),
                "deminer": (CATEGORICAL[2], ".."), "unknown": (UNKNOWN, "xx")}
STATUS_LABELS = {"civilian": "Civilian", "military": "Military/security", "deminer": "Deminer",
                 "unknown": "Status unknown"}
KIND_STYLE = {"cancelled": (RELEASE["cancelled"], ""), "reduced": (RELEASE["reduced"], "//"),
              "cleared": (RELEASE["cleared"], "..")}
KIND_LABELS = {"cancelled": "Cancelled (NTS)", "reduced": "Reduced (TS)", "cleared": "Cleared"}
SEX_STYLE = {"female": (CATEGORICAL[6], ""), "male": (CATEGORICAL[1], "//"), "unknown": (UNKNOWN, "xx")}
SEX_LABELS = {"female": "Female", "male": "Male", "unknown": "Sex unknown"}
AGE_LABELS = {"child": "Child (under 18)", "adult": "Adult", "unknown": "Age unknown"}
DEVICE_LABELS = {**{t.code: t.label for t in DEVICE_CATEGORY.terms}, "not_broken_down": "Not broken down"}


def _figure(height: float, ncols: int = 1) -> tuple[Figure, Any]:
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(FIGURE_WIDTH_IN, height), squeeze=True)


def _thousands(axis: Any) -> None:
    """Tick labels with thousands separators (12,000, not 12000)."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}" if abs(v) >= 1000 or v == int(v) else f"{v:g}"))


def _legend(ax: Axes, **kw: Any) -> None:
    ax.legend(frameon=False, **kw)


def _bar_labels(ax: Axes, bars: Any, fmt: str = "{:,.0f}", extra: list[str] | None = None) -> None:
    values = [b.get_width() for b in bars]
    texts = [fmt.format(v) if v else "" for v in values]
    if extra:
        texts = [f"{t} {e}" if t else "" for t, e in zip(texts, extra, strict=True)]
    ax.bar_label(bars, labels=texts, padding=2, fontsize=7, color=TEXT)


def _year_ticks(ax: Axes, years: list[int], highlight: int | None, most: int = 14, flat: int = 6) -> None:
    step = next(s for s in (1, 2, 5, 10, 20, 50) if len(years) / s <= most)
    shown = [y for y in years if (y - years[0]) % step == 0 and (highlight is None or abs(y - highlight) >= step
                                                                  or y == highlight)]
    if highlight in years and highlight not in shown:
        shown = sorted([*shown, highlight])
    ax.set_xticks(shown)
    ax.set_xticklabels([str(y) for y in shown], rotation=90 if len(shown) > flat else 0)
    for label in ax.get_xticklabels():
        if highlight is not None and label.get_text() == str(highlight):
            label.set_fontweight("bold")


def casualties_over_time(doc: dict[str, Any], year: int | None = None) -> Figure | None:
    """Killed and injured per year, stacked by status; ``doc`` is ``casualty_stats(by=["year", "status"])``.

    People whose outcome is unknown appear in neither panel (the caption gives their number)."""
    rows = [r for r in doc["breakdown"] if r["key"].get("year") not in (None, "unknown")]
    if not rows:
        return None
    years = list(range(min(int(r["key"]["year"]) for r in rows), max(int(r["key"]["year"]) for r in rows) + 1))
    fig, axes = _figure(2.9, ncols=2)
    for ax, outcome, title in ((axes[0], "killed", "Killed"), (axes[1], "injured", "Injured")):
        counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for r in rows:
            counts[r["key"]["status"]][int(r["key"]["year"])] += r[outcome]
        bottom = [0] * len(years)
        for status, (colour, hatch) in STATUS_STYLE.items():
            values = [counts[status][y] for y in years]
            if not any(values):
                continue
            ax.bar(years, values, bottom=bottom, color=colour, hatch=hatch, edgecolor=TEXT, linewidth=0.3,
                   label=STATUS_LABELS[status], width=0.8)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_title(title, loc="left", color=OUTCOME[outcome] if outcome == "killed" else TEXT, fontweight="bold")
        ax.set_ylabel("people")
        ax.yaxis.get_major_locator().set_params(integer=True)
        _thousands(ax.yaxis)
        _year_ticks(ax, years, year, most=8)
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def _hbar(labels: list[str], values: list[float], colours: list[str], hatches: list[str], xlabel: str,
          fmt: str = "{:,.0f}", height: float | None = None, integer: bool = True,
          extra: list[str] | None = None) -> Figure:
    fig, ax = _figure(height or max(1.3, 0.32 * len(labels) + 0.7))
    pos = list(range(len(labels)))[::-1]
    bars = ax.barh(pos, values, color=colours, hatch=hatches, edgecolor=TEXT, linewidth=0.3, height=0.65)
    ax.set_yticks(pos)
    ax.set_yticklabels(labels)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    ax.set_xlim(0, max(values) * 1.2 if max(values) > 0 else 1)
    if integer:
        ax.xaxis.get_major_locator().set_params(integer=True)
    _thousands(ax.xaxis)
    _bar_labels(ax, bars, fmt, extra)
    fig.tight_layout()
    return fig


def casualties_by_device(doc: dict[str, Any]) -> Figure | None:
    """People per device category (Landmine Monitor's order, then "not broken down")."""
    device = doc["device"]
    codes = [*DEVICE_CATEGORY.codes, "not_broken_down"]
    values = [device[c] for c in codes]
    if not any(values):
        return None
    colours = [UNKNOWN if c == "not_broken_down" else CATEGORICAL[4] for c in codes]
    hatches = ["xx" if c == "not_broken_down" else "" for c in codes]
    return _hbar([DEVICE_LABELS[c] for c in codes], values, colours, hatches, "people killed or injured")


def casualties_by_age_sex(doc: dict[str, Any]) -> Figure | None:
    """People per age group and sex; ``doc`` is ``casualty_stats(by=["age_group", "sex"])``."""
    table: dict[tuple[str, str], int] = defaultdict(int)
    for r in doc["breakdown"]:
        table[(r["key"]["age_group"], r["key"]["sex"])] += r["people"]
    if not any(table.values()):
        return None
    ages = [a for a in AGE_LABELS if any(table[(a, s)] for s in SEX_STYLE)]
    fig, ax = _figure(max(1.6, 0.55 * len(ages) + 0.9))
    height = 0.8 / len(SEX_STYLE)
    for i, (sex, (colour, hatch)) in enumerate(SEX_STYLE.items()):
        pos = [len(ages) - 1 - k + (1 - i) * height for k in range(len(ages))]
        values = [table[(a, sex)] for a in ages]
        bars = ax.barh(pos, values, height=height, color=colour, hatch=hatch, edgecolor=TEXT, linewidth=0.3,
                       label=SEX_LABELS[sex])
        _bar_labels(ax, bars)
    ax.set_yticks(range(len(ages))[::-1])
    ax.set_yticklabels([AGE_LABELS[a] for a in ages])
    ax.set_xlabel("people killed or injured")
    ax.grid(axis="y", visible=False)
    ax.set_xlim(0, max(table.values()) * 1.15)
    ax.xaxis.get_major_locator().set_params(integer=True)
    _thousands(ax.xaxis)
    _legend(ax, loc="center left", bbox_to_anchor=(1.01, 0.5))  # beside the bars, never over them
    fig.tight_layout()
    return fig


def land_released_per_year(doc: dict[str, Any], year: int | None = None) -> Figure | None:
    """km² cancelled, reduced and cleared per year; ``doc`` is ``release_stats(by=["year"])``."""
    groups = [g for g in doc["released"]["groups"] if g.get("year") is not None]
    if not groups:
        return None
    years = list(range(min(g["year"] for g in groups), max(g["year"] for g in groups) + 1))
    by_year = {g["year"]: g for g in groups}
    fig, ax = _figure(2.7)
    bottom = [0.0] * len(years)
    for kind, (colour, hatch) in KIND_STYLE.items():
        values = [by_year[y][f"{kind}_km2"] if y in by_year else 0.0 for y in years]
        ax.bar(years, values, bottom=bottom, color=colour, hatch=hatch, edgecolor=TEXT, linewidth=0.3,
               label=KIND_LABELS[kind], width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("km² released")
    _year_ticks(ax, years, year, flat=12)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncols=3, frameon=False,
               bbox_to_anchor=(0.5, -0.02))  # below the chart, never over the bars
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return fig


def devices_destroyed(doc: dict[str, Any]) -> Figure | None:
    """Devices destroyed per category; ``doc`` is ``release_stats`` for the period."""
    by_cat = doc["devices_destroyed"]["by_category"]
    codes = [c for c in DEVICE_CATEGORY.codes if c in by_cat] + sorted(set(by_cat) - set(DEVICE_CATEGORY.codes))
    values = [by_cat[c] for c in codes]
    if not any(values):
        return None
    return _hbar([str(DEVICE_LABELS.get(c, c)) for c in codes], values, [CATEGORICAL[5]] * len(codes),
                 [""] * len(codes), "devices destroyed")


def productivity_by_method(doc: dict[str, Any]) -> Figure | None:
    """m² per team-day per method (assets joined with +); ``doc`` is ``release_stats`` for the period."""
    methods = doc["productivity"]["by_method"]
    if not methods:
        return None
    names = sorted(methods, key=lambda m: -methods[m]["m2_per_team_day"])
    return _hbar([m.replace("+", " + ") for m in names], [methods[m]["m2_per_team_day"] for m in names],
                 [CATEGORICAL[2]] * len(names), [""] * len(names), "m² per team-day", integer=False,
                 extra=[f"m² ({methods[m]['team_days']:,} team-days)" for m in names])
