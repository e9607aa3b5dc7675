"""EORE reach (``safeground stats eore``): risk-education sessions and the people they reached.

Official figures count ``eore_session`` records whose review state is approved or published
(``include_submitted`` adds submitted ones); retired records never count. A session counts in the period
when its ``session_date`` lies within ``since``/``until`` (both inclusive); ``session_date`` is required,
so no session is undated.

People reached are split the way IMAS 12.10 and the treaties ask: women, girls, boys and men
(``beneficiaries`` is their sum). **Missing data is visible**: a session that gives none of the four
counts is ``not_broken_down`` (it reached people nobody counted), one that gives some but not all is
``partly_broken_down``, and ``missing`` says, per figure, how many sessions lack that count. A missing
count is never read as zero in a share.

``--by`` (repeatable, in the order given) takes ``year``, ``month``, ``adm1``, ``adm2`` (as given on the
session), ``organisation`` (its name) and ``method``; a session lacking the field is grouped under
``null`` and counted in ``breakdown_missing``.

The JSON document (``safeground stats eore --format json``; schema ``data/schemas/stats_eore.schema.json``)
has these keys:

- ``database``, ``generated_at``, ``official_only``, ``review_states``, ``since``, ``until``, ``by``;
- ``total``: FIGURES, where FIGURES is ``{"sessions", "beneficiaries", "women", "girls", "boys", "men",
  "not_broken_down", "partly_broken_down"}``;
- ``missing``: ``{"women", "girls", "boys", "men"}``: sessions lacking each count;
- ``shares``: ``{"women_and_girls", "children"}``: shares (0-1) of the people counted, ``null`` when
  nobody was counted;
- ``groups``: ``[{<by key>: value or null, ..., **FIGURES}]`` sorted by the keys (nulls last);
  ``breakdown_missing``: per ``by`` key, sessions lacking it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.services.stats_casualties import check_dimensions, parse_day
from safeground.services.workspace import Workspace

#: The ways ``--by`` can break the sessions down.
DIMENSIONS = ("year", "month", "adm1", "adm2", "organisation", "method")
#: The beneficiary split, in the order the treaties' forms list it.
GROUPS = ("women", "girls", "boys", "men")


def _figures() -> dict[str, int]:
    return {"sessions": 0, "beneficiaries": 0, **dict.fromkeys(GROUPS, 0), "not_broken_down": 0,
            "partly_broken_down": 0}


def _add(fig: dict[str, int], session: dict[str, Any]) -> None:
    counts = [session[g] for g in GROUPS]
    fig["sessions"] += 1
    for g, n in zip(GROUPS, counts, strict=True):
        fig[g] += int(n or 0)
    fig["beneficiaries"] += sum(int(n or 0) for n in counts)
    known = sum(n is not None for n in counts)
    fig["not_broken_down"] += known == 0
    fig["partly_broken_down"] += 0 < known < len(GROUPS)


def _share(part: int, whole: int) -> float | None:
    """A share rounded to 4 places, ``None`` when the whole is zero.

    >>> _share(1, 3), _share(0, 0)
    (0.3333, None)
    """
    return round(part / whole, 4) if whole else None


def eore_stats(ws: Workspace, *, since: str | dt.date | None = None, until: str | dt.date | None = None,
               by: Sequence[str] = (), include_submitted: bool = False) -> dict[str, Any]:
    """The EORE document described in the module docstring.

    >>> import tempfile, os
    >>> from safeground.services.records import add_record
    >>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "e.gpkg"), user="ana", create=True)
    >>> for values in ({"women": 12, "girls": 7, "boys": 8, "men": 10}, {"girls": 20, "boys": 18}, {}):
    ...     _ = add_record(ws, "eore_session", {"session_date": "2024-05-02", "geometry": None, **values},
    ...                    review_state="approved")
    >>> total = eore_stats(ws)["total"]
    >>> total["sessions"], total["beneficiaries"], total["not_broken_down"], total["partly_broken_down"]
    (3, 75, 1, 1)
    >>> ws.close()
    """
    start, end = parse_day(since, "since"), parse_day(until, "until")
    if start and end and start > end:
        raise ValidationError("stats.bad_period", f"--since {start} is after --until {end}.",
                              hint="Give a --since on or before --until.")
    dims = check_dimensions(by, DIMENSIONS, "EORE sessions")
    states = ["submitted", "approved", "published"] if include_submitted else ["approved", "published"]
    lo, hi = (start.isoformat() if start else None), (end.isoformat() if end else None)
    rows = [r for r in ws.store.query("eore_session", where={"review_state": states}, geometry=False,
                                      fields=["session_date", "method", "organisation", *GROUPS, "admin1",
                                              "admin2"])
            if (lo is None or str(r["session_date"]) >= lo) and (hi is None or str(r["session_date"]) <= hi)]
    names: dict[str, str] = {}
    if "organisation" in dims:
        orgs = sorted({r["organisation"] for r in rows if r["organisation"]})
        if orgs:
            names = {o["uuid"]: o["name"] for o in ws.store.query(
                "organisation", where={"uuid": orgs}, include_retired=True, geometry=False, fields=["name"])}

    total = _figures()
    groups: dict[tuple[Any, ...], dict[str, int]] = {}
    for r in rows:
        _add(total, r)
        if dims:
            day = str(r["session_date"])
            values = {"year": day[:4], "month": day[:7], "adm1": r["admin1"] or None, "adm2": r["admin2"] or None,
                      "organisation": names.get(r["organisation"] or ""), "method": r["method"] or None}
            _add(groups.setdefault(tuple(values[d] for d in dims), _figures()), r)

    def order(key: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple((v is None, v or "") for v in key)

    counted = total["beneficiaries"]
    return {
        "database": ws.store.location,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "official_only": not include_submitted,
        "review_states": states,
        "since": lo,
        "until": hi,
        "by": dims,
        "total": total,
        "missing": {g: sum(r[g] is None for r in rows) for g in GROUPS},
        "shares": {"women_and_girls": _share(total["women"] + total["girls"], counted),
                   "children": _share(total["girls"] + total["boys"], counted)},
        "groups": [{**dict(zip(dims, key, strict=True)), **fig} for key, fig in sorted(groups.items(),
                                                                                      key=lambda kv: order(kv[0]))],
        "breakdown_missing": {d: sum(fig["sessions"] for key, fig in groups.items() if key[i] is None)
                              for i, d in enumerate(dims)},
    }


def render_text(doc: dict[str, Any]) -> str:
    """The EORE figures as a readable table."""
    scope = "approved and published records" if doc["official_only"] else "all records, submitted included"
    period = f"{doc['since'] or 'the start'} to {doc['until'] or 'today'}"
    head = (f"{'sessions':>9} {'women':>9} {'girls':>9} {'boys':>9} {'men':>9} {'total':>10} "
            f"{'no split':>9} {'partial':>8}")

    def figures(f: dict[str, Any]) -> str:
        return (f"{f['sessions']:>9} {f['women']:>9} {f['girls']:>9} {f['boys']:>9} {f['men']:>9} "
                f"{f['beneficiaries']:>10} {f['not_broken_down']:>9} {f['partly_broken_down']:>8}")

    def share(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.1%}"

    width = max([len(" / ".join(str(g[d]) if g[d] is not None else "(unknown)" for d in doc["by"]))
                 for g in doc["groups"]] + [5])
    lines = [f"Explosive ordnance risk education in {doc['database']} ({scope}), {period}", "",
             f"{'':<{width}}  {head}"]
    for g in doc["groups"]:
        name = " / ".join(str(g[d]) if g[d] is not None else "(unknown)" for d in doc["by"])
        lines.append(f"{name:<{width}}  {figures(g)}")
    lines.append(f"{'total':<{width}}  {figures(doc['total'])}")
    miss = doc["missing"]
    lines += ["", f"Women and girls {share(doc['shares']['women_and_girls'])}, children "
                  f"{share(doc['shares']['children'])} of the people counted.",
              "Sessions lacking a count: " + ", ".join(f"{g} {miss[g]}" for g in GROUPS)
              + f"; with no split at all: {doc['total']['not_broken_down']}."]
    gaps = [f"{d} {n}" for d, n in doc["breakdown_missing"].items() if n]
    if gaps:
        lines.append("Sessions lacking a grouping field: " + ", ".join(gaps))
    return "\n".join(lines)
