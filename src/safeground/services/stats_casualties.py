"""Casualty statistics in Landmine Monitor's classification (``safeground stats casualties``).

Who counts. Casualty records whose review state is approved or published (``include_submitted`` adds
submitted ones); retired records never count. **Each person counts once**: casualty records joined by
*confirmed* duplicate links (``safeground duplicates confirm``) are one person, also through chains
(A = B and B = C). Proposed and rejected links join nothing, and no fuzzy matching happens here. A person's
figures come from the group's counted record with the lowest ref (the first one recorded).

Which date. The date that counts is the accident date. A date known only to the month or the year
(``date_precision``) counts in that month or year: in ``--by year`` a year-only date counts in its year, and
in ``--by month`` it counts as an unknown month. A period given with ``since``/``until`` (both inclusive)
counts a person when the whole day, month or year of the accident lies inside it; a coarse date that
straddles a limit (a 2020-only date against ``since`` 10 November 2020) cannot be placed and is left out,
counted in ``records.date_straddles_period``; undated accidents likewise in ``records.undated``.

Missing data is visible: each figure carries ``missing``, the number of people whose record lacks the field
the figure depends on (empty or ``unknown``). Personal fields are read only to tell a child from an adult
when ``age_group`` is empty (``age`` under 18); no name, contact, id or age ever leaves this module.

The JSON document (``safeground stats casualties --format json``; schema
``data/schemas/stats_casualties.schema.json``) has these keys:

- ``database``, ``generated_at``, ``official_only``, ``review_states``, ``since``, ``until`` (ISO or null);
- ``records``: ``{"counted_records", "duplicates_merged", "people", "outside_period", "undated",
  "date_straddles_period"}`` (records counted before merging, records merged into another, people counted);
- ``outcome``: ``{"killed", "injured", "unknown", "missing", "injured_by_severity": {"serious", "minor",
  "unknown"}, "severity_missing"}``;
- ``status``: ``{"civilian", "military", "deminer", "missing"}`` (people per status);
- ``children``: ``{"civilian_children", "civilians_with_age", "share", "missing"}``: civilians under 18
  as a share of civilians whose age is known (``share`` null when none is known);
- ``women_and_girls``: ``{"women_and_girls", "with_sex", "share", "missing"}``;
- ``device``: ``{"ap_mine", "improvised_mine", "av_mine", "unspecified_mine", "cluster_submunition",
  "other_erw", "not_broken_down", "missing"}`` in Landmine Monitor's order (``not_broken_down`` =
  ``missing``: the accident does not say which device);
- ``displacement``: ``{"displaced", "returnee", "resident", "refugee", "missing"}``;
- ``statement``: ``{"killed", "killed_civilians", "seriously_injured", "seriously_injured_civilians",
  "text"}`` (``text`` null unless ``since`` is given);
- ``by``: the ``--by`` dimensions; ``breakdown``: one row per combination, ``{"key": {dim: value}, "people",
  "killed", "injured", "unknown"}``, value ``"unknown"`` where the field is missing; ``breakdown_missing``:
  per dimension, people whose record lacks it.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.domain.vocabularies import DEVICE_CATEGORY
from safeground.services.workspace import Workspace

DIMENSIONS = ("year", "month", "adm1", "adm2", "device", "activity", "sex", "age_group", "status", "displacement")
NOT_BROKEN_DOWN = "not_broken_down"
UNKNOWN = "unknown"
_CASUALTY_FIELDS = ("accident", "outcome", "severity", "status", "sex", "age_group", "age", "displacement")
_ACCIDENT_FIELDS = ("accident_date", "date_precision", "device_category", "activity_at_time", "admin1", "admin2")


def long_date(day: dt.date) -> str:
    """A date as the statement writes it.

    >>> long_date(dt.date(2020, 11, 10)), long_date(dt.date(2021, 3, 1))
    ('10 November 2020', '1 March 2021')
    """
    return f"{day.day} {day.strftime('%B')} {day.year}"


def statement_text(since: dt.date, killed: int, killed_civilians: int, serious: int, serious_civilians: int) -> str:
    """The public sentence, in exactly the form an authority publishes.

    >>> statement_text(dt.date(2020, 11, 10), 20, 14, 85, 16)  # doctest: +NORMALIZE_WHITESPACE
    'Since 10 November 2020, 20 people have been killed by mines and explosive remnants of war,
    including 14 civilians, and 85 have been seriously injured, including 16 civilians.'
    >>> statement_text(dt.date(2024, 1, 1), 1, 1, 1, 0)  # doctest: +NORMALIZE_WHITESPACE
    'Since 1 January 2024, 1 person has been killed by mines and explosive remnants of war,
    including 1 civilian, and 1 has been seriously injured, including 0 civilians.'
    """
    def civ(n: int) -> str:
        return f"{n} civilian" if n == 1 else f"{n} civilians"

    people = "1 person has" if killed == 1 else f"{killed} people have"
    injured = "1 has" if serious == 1 else f"{serious} have"
    return (f"Since {long_date(since)}, {people} been killed by mines and explosive remnants of war, "
            f"including {civ(killed_civilians)}, and {injured} been seriously injured, "
            f"including {civ(serious_civilians)}.")


def parse_day(value: str | dt.date | None, what: str) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) from the command line, or ``None``.

    >>> parse_day("2020-11-10", "since")
    datetime.date(2020, 11, 10)
    >>> parse_day("10/11/2020", "since")
    Traceback (most recent call last):
    ...
    safeground.domain.errors.ValidationError: --since '10/11/2020' is not a date.
    """
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError("stats.bad_date", f"--{what} '{value}' is not a date.",
                              hint="Write the date as YYYY-MM-DD, e.g. 2020-11-10.") from None


def _known(value: Any) -> bool:
    return value not in (None, "", UNKNOWN)


def _span(date: str, precision: str | None) -> tuple[str, str]:
    """First and last ISO day of the day, month or year a date is known to (string-comparable).

    >>> _span("2020-02-01", "month"), _span("2020-12-31", "year")
    (('2020-02-01', '2020-02-29'), ('2020-01-01', '2020-12-31'))
    """
    if precision == "year":
        return f"{date[:4]}-01-01", f"{date[:4]}-12-31"
    if precision == "month":
        last = calendar.monthrange(int(date[:4]), int(date[5:7]))[1]
        return f"{date[:7]}-01", f"{date[:7]}-{last:02d}"
    return date[:10], date[:10]


class _People:
    """Union-find over casualty uuids joined by confirmed duplicate links."""

    def __init__(self, links: Iterable[tuple[str, str]]) -> None:
        self.parent: dict[str, str] = {}
        for a, b in links:
            ra, rb = self.find(a), self.find(b)
            if ra != rb:
                self.parent[max(ra, rb)] = min(ra, rb)

    def find(self, uuid: str) -> str:
        root = uuid
        while root in self.parent:
            root = self.parent[root]
        while uuid != root:  # path compression
            nxt = self.parent[uuid]
            self.parent[uuid] = root
            uuid = nxt
        return root


def check_dimensions(by: Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    """``by`` without repeats, or ``stats.bad_dimension`` naming what ``what`` cannot be broken down by.

    >>> check_dimensions(["year", "sex", "year"], DIMENSIONS, "casualties")
    ['year', 'sex']
    >>> check_dimensions(["colour"], DIMENSIONS, "casualties")
    Traceback (most recent call last):
    ...
    safeground.domain.errors.ValidationError: Cannot break casualties down by colour.
    """
    bad = [d for d in by if d not in allowed]
    if bad:
        raise ValidationError("stats.bad_dimension", f"Cannot break {what} down by {', '.join(bad)}.",
                              hint="Use --by with: " + ", ".join(allowed) + ".")
    return list(dict.fromkeys(by))


def casualty_stats(ws: Workspace, *, since: str | dt.date | None = None, until: str | dt.date | None = None,
                   by: Sequence[str] = (), include_submitted: bool = False) -> dict[str, Any]:
    """The casualty document described in the module docstring."""
    start, end = parse_day(since, "since"), parse_day(until, "until")
    if start and end and start > end:
        raise ValidationError("stats.bad_period", f"--since {start} is after --until {end}.",
                              hint="Give a --since on or before --until.")
    dims = check_dimensions(by, DIMENSIONS, "casualties")
    states = ["submitted", "approved", "published"] if include_submitted else ["approved", "published"]
    store = ws.store
    casualties = store.query("casualty", where={"review_state": states}, geometry=False, fields=_CASUALTY_FIELDS)
    accidents = {a["uuid"]: a for a in store.query("accident", geometry=False, fields=_ACCIDENT_FIELDS,
                                                    include_retired=True)}
    people = _People((link["uuid"], link["duplicate_of"])
                     for link in store.duplicate_links(layer="casualty", status="confirmed"))

    first: dict[str, dict[str, Any]] = {}
    for c in casualties:  # the group's record with the lowest ref stands for the person
        root = people.find(c["uuid"])
        if root not in first or c["ref"] < first[root]["ref"]:
            first[root] = c

    records = {"counted_records": len(casualties), "duplicates_merged": len(casualties) - len(first),
               "people": 0, "outside_period": 0, "undated": 0, "date_straddles_period": 0}
    lo, hi = (start.isoformat() if start else None), (end.isoformat() if end else None)
    counted: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for c in sorted(first.values(), key=lambda r: r["ref"]):
        acc = accidents.get(c["accident"]) or {}
        date = acc.get("accident_date")
        if lo or hi:
            if not date:
                records["undated"] += 1
                continue
            first_day, last_day = _span(str(date), acc.get("date_precision"))
            if (lo and last_day < lo) or (hi and first_day > hi):
                records["outside_period"] += 1
                continue
            if (lo and first_day < lo) or (hi and last_day > hi):
                records["date_straddles_period"] += 1
                continue
        counted.append((c, acc))
    records["people"] = len(counted)

    outcome = Counter(c["outcome"] if _known(c["outcome"]) else UNKNOWN for c, _ in counted)
    severity = Counter(c["severity"] if _known(c["severity"]) else UNKNOWN
                       for c, _ in counted if c["outcome"] == "injured")
    status = Counter(c["status"] if _known(c["status"]) else UNKNOWN for c, _ in counted)
    civilians = [c for c, _ in counted if c["status"] == "civilian"]
    civ_age = [_age_group(c) for c in civilians]
    sexes = [c["sex"] for c, _ in counted if _known(c["sex"])]
    devices = Counter(a.get("device_category") if _known(a.get("device_category")) else NOT_BROKEN_DOWN
                      for _, a in counted)
    displacement = Counter(c["displacement"] if _known(c["displacement"]) else UNKNOWN for c, _ in counted)
    with_age = sum(1 for g in civ_age if g != UNKNOWN)
    children = sum(1 for g in civ_age if g == "child")
    women = sum(1 for s in sexes if s == "female")

    killed = [c for c, _ in counted if c["outcome"] == "killed"]
    serious = [c for c, _ in counted if c["outcome"] == "injured" and c["severity"] == "serious"]
    statement: dict[str, Any] = {
        "killed": len(killed), "killed_civilians": sum(1 for c in killed if c["status"] == "civilian"),
        "seriously_injured": len(serious),
        "seriously_injured_civilians": sum(1 for c in serious if c["status"] == "civilian"),
    }
    statement["text"] = statement_text(start, *statement.values()) if start else None

    breakdown: dict[tuple[str, ...], Counter[str]] = {}
    missing = dict.fromkeys(dims, 0)
    for c, a in counted:
        key = tuple(_dimension(d, c, a) for d in dims)
        for d, v in zip(dims, key, strict=True):
            if v == UNKNOWN or (d == "device" and v == NOT_BROKEN_DOWN):
                missing[d] += 1
        row = breakdown.setdefault(key, Counter())
        row["people"] += 1
        row[c["outcome"] if _known(c["outcome"]) else UNKNOWN] += 1

    return {
        "database": store.location,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "official_only": not include_submitted, "review_states": states,
        "since": lo, "until": hi,
        "records": records,
        "outcome": {"killed": outcome["killed"], "injured": outcome["injured"], "unknown": outcome[UNKNOWN],
                    "missing": outcome[UNKNOWN],
                    "injured_by_severity": {s: severity[s] for s in ("serious", "minor", UNKNOWN)},
                    "severity_missing": severity[UNKNOWN]},
        "status": {"civilian": status["civilian"], "military": status["military"], "deminer": status["deminer"],
                   "missing": status[UNKNOWN]},
        "children": {"civilian_children": children, "civilians_with_age": with_age,
                     "share": round(children / with_age, 4) if with_age else None,
                     "missing": len(civilians) - with_age},
        "women_and_girls": {"women_and_girls": women, "with_sex": len(sexes),
                            "share": round(women / len(sexes), 4) if sexes else None,
                            "missing": len(counted) - len(sexes)},
        "device": {**{code: devices[code] for code in DEVICE_CATEGORY.codes},
                   NOT_BROKEN_DOWN: devices[NOT_BROKEN_DOWN], "missing": devices[NOT_BROKEN_DOWN]},
        "displacement": {k: displacement[k] for k in ("displaced", "returnee", "resident", "refugee")}
        | {"missing": displacement[UNKNOWN]},
        "statement": statement,
        "by": dims,
        "breakdown": [{"key": dict(zip(dims, key, strict=True)), "people": row["people"], "killed": row["killed"],
                       "injured": row["injured"], "unknown": row[UNKNOWN]}
                      for key, row in sorted(breakdown.items())] if dims else [],
        "breakdown_missing": missing,
    }


def _age_group(c: dict[str, Any]) -> str:
    if _known(c["age_group"]):
        return str(c["age_group"])
    if c["age"] is not None:
        return "child" if int(c["age"]) < 18 else "adult"
    return UNKNOWN


def _dimension(dim: str, c: dict[str, Any], a: dict[str, Any]) -> str:
    date, precision = a.get("accident_date"), a.get("date_precision")
    if dim == "year":
        return str(date)[:4] if date else UNKNOWN
    if dim == "month":
        return str(date)[:7] if date and precision != "year" else UNKNOWN
    if dim == "adm1":
        return str(a["admin1"]) if _known(a.get("admin1")) else UNKNOWN
    if dim == "adm2":
        return f"{a['admin1'] or UNKNOWN} / {a['admin2']}" if _known(a.get("admin2")) else UNKNOWN
    if dim == "device":
        return str(a["device_category"]) if _known(a.get("device_category")) else NOT_BROKEN_DOWN
    if dim == "activity":
        return str(a["activity_at_time"]) if _known(a.get("activity_at_time")) else UNKNOWN
    if dim == "age_group":
        return _age_group(c)
    value = c[dim]  # sex, status, displacement
    return str(value) if _known(value) else UNKNOWN


def render_text(doc: dict[str, Any]) -> str:
    """The casualty figures as a readable table."""
    r, o, s, ch, w = doc["records"], doc["outcome"], doc["status"], doc["children"], doc["women_and_girls"]
    scope = "approved and published records" if doc["official_only"] else "all records, submitted included"
    period = f"{doc['since'] or 'the start'} to {doc['until'] or 'today'}"

    def share(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.1%}"

    lines = [
        f"Casualties in {doc['database']} ({scope}), {period}",
        f"  people counted      {r['people']:>8}   from {r['counted_records']} records, "
        f"{r['duplicates_merged']} confirmed duplicates merged",
        f"  left out            outside the period {r['outside_period']}, undated {r['undated']}, "
        f"date straddles a limit {r['date_straddles_period']}",
        "",
        f"{'figure':<28} {'people':>8} {'missing':>8}",
        f"{'killed':<28} {o['killed']:>8} {o['missing']:>8}",
        f"{'injured':<28} {o['injured']:>8} {o['missing']:>8}",
    ]
    for sev, n in o["injured_by_severity"].items():
        lines.append(f"{'  ' + sev:<28} {n:>8} {o['severity_missing']:>8}")
    lines.append(f"{'outcome unknown':<28} {o['unknown']:>8} {o['missing']:>8}")
    for st in ("civilian", "military", "deminer"):
        lines.append(f"{st:<28} {s[st]:>8} {s['missing']:>8}")
    lines.append(f"{'children (of civilians)':<28} {ch['civilian_children']:>8} {ch['missing']:>8}   "
                 f"{share(ch['share'])} of {ch['civilians_with_age']} with age known")
    lines.append(f"{'women and girls':<28} {w['women_and_girls']:>8} {w['missing']:>8}   "
                 f"{share(w['share'])} of {w['with_sex']} with sex known")
    dev = doc["device"]
    for code in (*DEVICE_CATEGORY.codes, NOT_BROKEN_DOWN):
        lines.append(f"{'device: ' + code:<28} {dev[code]:>8} {dev['missing']:>8}")
    disp = doc["displacement"]
    for k in ("displaced", "returnee", "resident", "refugee"):
        lines.append(f"{k:<28} {disp[k]:>8} {disp['missing']:>8}")
    if doc["by"]:
        lines += ["", "  ".join(f"{d:<20}" for d in doc["by"]) + f"{'people':>8} {'killed':>8} {'injured':>8} "
                  f"{'unknown':>8}"]
        for row in doc["breakdown"]:
            lines.append("  ".join(f"{row['key'][d]:<20}" for d in doc["by"]) + f"{row['people']:>8} "
                         f"{row['killed']:>8} {row['injured']:>8} {row['unknown']:>8}")
        lines.append("missing: " + ", ".join(f"{d} {n}" for d, n in doc["breakdown_missing"].items()))
    if doc["statement"]["text"]:
        lines += ["", doc["statement"]["text"]]
    return "\n".join(lines)


def person_resolver(ws: Workspace) -> _People:
    """Who is who: ``person_resolver(ws).find(uuid)`` names the person a casualty record belongs to.

    Casualty records joined by confirmed duplicate links (also through chains) give one name; proposed and
    rejected links join nothing. Other statistics (victim assistance) count people with this, as here.
    """
    return _People((link["uuid"], link["duplicate_of"])
                   for link in ws.store.duplicate_links(layer="casualty", status="confirmed"))


def age_group_of(casualty: dict[str, Any]) -> str:
    """``child``, ``adult`` or ``unknown``: the ``age_group``, else the ``age`` (read, never returned).

    >>> age_group_of({"age_group": None, "age": 12}), age_group_of({"age_group": "adult", "age": None})
    ('child', 'adult')
    """
    return _age_group(casualty)
