"""Victim assistance referrals (``safeground stats assistance``), IMAS 13.10: aggregates only.

The mine action sector identifies victims and refers them to services; each ``assistance_referral`` record
is one referral of one casualty to one service, with its outcome. Official figures count referrals whose
review state is approved or published (``include_submitted`` adds submitted ones); retired referrals never
count. A referral counts in the period when its ``referral_date`` lies within ``since``/``until`` (both
inclusive); undated referrals are left out when a period is given and counted in ``records.undated``.

**Each person counts once.** ``people`` counts the persons referred, not the casualty records: records
joined by confirmed duplicate links are one person, through the very resolution the casualty statistics
use (:func:`safeground.services.stats_casualties.person_resolver`). A person's sex, age group and status
come from the lowest-ref casualty record among those the counted referrals name. Personal fields (names,
contacts, ids, the exact age, the referral notes) never leave this module: the age is read only to tell a
child from an adult when ``age_group`` is empty.

**Missing data is visible**: a referral without an outcome counts in ``by_outcome.missing``; a person whose
record lacks sex, age group or status in that figure's ``missing``.

``devices`` restricts the count to casualties of accidents with those device categories (the Convention on
Cluster Munitions' victim assistance counts cluster munition victims); referrals left out by it are counted
in ``records.other_device``.

``--by`` (repeatable) takes ``service``, ``outcome``, ``year`` (of the referral), ``status``, ``sex`` and
``age_group``; a value that is missing is ``null`` in the groups and counted in ``breakdown_missing``.

The JSON document (``safeground stats assistance --format json``; schema
``data/schemas/stats_assistance.schema.json``) has these keys:

- ``database``, ``generated_at``, ``official_only``, ``review_states``, ``since``, ``until``, ``by``,
  ``devices`` (the device filter, or null);
- ``records``: ``{"counted_referrals", "outside_period", "undated", "other_device", "casualty_records",
  "duplicates_merged"}`` (casualty records the counted referrals name, and how many of them were merged
  into another person);
- ``total``: ``{"referrals", "people"}``;
- ``by_service``: ``{service: {"referrals", "people"}}`` for every service of IMAS 13.10;
- ``by_outcome``: ``{"pending", "received", "declined", "unreachable", "unavailable", "missing"}``
  (referrals);
- ``people_by_status``: ``{"civilian", "military", "deminer", "missing"}``; ``people_by_sex``:
  ``{"female", "male", "missing"}``; ``people_by_age_group``: ``{"child", "adult", "missing"}``;
- ``groups``: ``[{<by key>: value or null, ..., "referrals", "people"}]``; ``breakdown_missing``: per
  ``by`` key, referrals lacking it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from safeground.domain.errors import ValidationError
from safeground.domain.vocabularies import ASSISTANCE_SERVICE, DEVICE_CATEGORY, REFERRAL_OUTCOME
from safeground.services.stats_casualties import age_group_of, check_dimensions, parse_day, person_resolver
from safeground.services.workspace import Workspace

#: The ways ``--by`` can break the referrals down.
DIMENSIONS = ("service", "outcome", "year", "status", "sex", "age_group")
_MISSING = (None, "", "unknown")


def _check(by: Sequence[str], devices: Sequence[str] | None) -> list[str]:
    dims = check_dimensions(by, DIMENSIONS, "referrals")
    wrong = [d for d in devices or () if d not in DEVICE_CATEGORY.codes]
    if wrong:
        raise ValidationError("stats.bad_dimension", f"Unknown device category {', '.join(wrong)}.",
                              hint="Use device categories among: " + ", ".join(DEVICE_CATEGORY.codes) + ".")
    return dims


def _known(value: Any) -> str | None:
    return None if value in _MISSING else str(value)


def assistance_stats(ws: Workspace, *, since: str | dt.date | None = None, until: str | dt.date | None = None,
                     by: Sequence[str] = (), include_submitted: bool = False,
                     devices: Sequence[str] | None = None) -> dict[str, Any]:
    """The victim assistance document described in the module docstring.

    >>> import tempfile, os
    >>> from safeground.services.records import add_record
    >>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "v.gpkg"), user="ana", create=True)
    >>> acc = add_record(ws, "accident", {"accident_type": "mine_erw", "geometry": None}, review_state="approved")
    >>> cas = add_record(ws, "casualty", {"accident": acc["uuid"], "outcome": "injured", "status": "civilian"},
    ...                  review_state="approved")
    >>> for service in ("emergency_medical", "rehabilitation"):
    ...     _ = add_record(ws, "assistance_referral", {"casualty": cas["uuid"], "service": service,
    ...                    "referral_date": "2024-02-01", "outcome": "received"}, review_state="approved")
    >>> doc = assistance_stats(ws, since="2024-01-01", until="2024-12-31")
    >>> doc["total"], doc["by_outcome"]["received"]
    ({'referrals': 2, 'people': 1}, 2)
    >>> ws.close()
    """
    start, end = parse_day(since, "since"), parse_day(until, "until")
    if start and end and start > end:
        raise ValidationError("stats.bad_period", f"--since {start} is after --until {end}.",
                              hint="Give a --since on or before --until.")
    dims = _check(by, devices)
    states = ["submitted", "approved", "published"] if include_submitted else ["approved", "published"]
    lo, hi = (start.isoformat() if start else None), (end.isoformat() if end else None)
    store = ws.store
    referrals = store.query("assistance_referral", where={"review_state": states}, geometry=False,
                            fields=["casualty", "service", "referral_date", "outcome"])
    records = {"counted_referrals": 0, "outside_period": 0, "undated": 0, "other_device": 0,
               "casualty_records": 0, "duplicates_merged": 0}
    in_period = []
    for r in referrals:
        day = r["referral_date"]
        if lo or hi:
            if not day:
                records["undated"] += 1
                continue
            if (lo and str(day) < lo) or (hi and str(day) > hi):
                records["outside_period"] += 1
                continue
        in_period.append(r)

    wanted = sorted({r["casualty"] for r in in_period if r["casualty"]})
    casualties = {c["uuid"]: c for c in store.query(
        "casualty", where={"uuid": wanted}, include_retired=True, geometry=False,
        fields=["accident", "status", "sex", "age_group", "age"])} if wanted else {}
    if devices is not None:
        accidents = sorted({c["accident"] for c in casualties.values() if c["accident"]})
        category = {a["uuid"]: a["device_category"] for a in store.query(
            "accident", where={"uuid": accidents}, include_retired=True, geometry=False,
            fields=["device_category"])} if accidents else {}
        keep = set(devices)
        kept = [r for r in in_period
                if category.get((casualties.get(r["casualty"]) or {}).get("accident") or "") in keep]
        records["other_device"] = len(in_period) - len(kept)
        in_period = kept
    records["counted_referrals"] = len(in_period)

    people = person_resolver(ws)
    person_of = {u: people.find(u) for u in {r["casualty"] for r in in_period}}
    stands_for: dict[str, dict[str, Any]] = {}
    for u, person in person_of.items():  # the lowest-ref record named stands for the person
        c = casualties.get(u)
        if c is not None and (person not in stands_for or c["ref"] < stands_for[person]["ref"]):
            stands_for[person] = c
    records["casualty_records"] = len(person_of)
    records["duplicates_merged"] = len(person_of) - len(set(person_of.values()))

    def attribute(person: str, name: str) -> str | None:
        c = stands_for.get(person)
        if c is None:
            return None
        return _known(age_group_of(c)) if name == "age_group" else _known(c[name])

    everyone = set(person_of.values())
    by_service = {s: {"referrals": 0, "people": 0} for s in ASSISTANCE_SERVICE.codes}
    served: dict[str, set[str]] = {s: set() for s in ASSISTANCE_SERVICE.codes}
    outcome: Counter[str] = Counter()
    groups: dict[tuple[Any, ...], tuple[list[int], set[str]]] = {}
    for r in in_period:
        person = person_of[r["casualty"]]
        by_service[r["service"]]["referrals"] += 1
        served[r["service"]].add(person)
        outcome[_known(r["outcome"]) or "missing"] += 1
        if dims:
            values = {"service": r["service"], "outcome": _known(r["outcome"]),
                      "year": str(r["referral_date"])[:4] if r["referral_date"] else None}
            key = tuple(values[d] if d in values else attribute(person, d) for d in dims)
            count, persons = groups.setdefault(key, ([0], set()))
            count[0] += 1
            persons.add(person)
    for s, persons in served.items():
        by_service[s]["people"] = len(persons)

    def tally(name: str, codes: Sequence[str]) -> dict[str, int]:
        got = Counter(attribute(p, name) or "missing" for p in everyone)
        return {**{c: got[c] for c in codes}, "missing": got["missing"]}

    def order(key: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple((v is None, v or "") for v in key)

    return {
        "database": store.location,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "official_only": not include_submitted,
        "review_states": states,
        "since": lo,
        "until": hi,
        "by": dims,
        "devices": sorted(devices) if devices is not None else None,
        "records": records,
        "total": {"referrals": len(in_period), "people": len(everyone)},
        "by_service": by_service,
        "by_outcome": {**{o: outcome[o] for o in REFERRAL_OUTCOME.codes}, "missing": outcome["missing"]},
        "people_by_status": tally("status", ("civilian", "military", "deminer")),
        "people_by_sex": tally("sex", ("female", "male")),
        "people_by_age_group": tally("age_group", ("child", "adult")),
        "groups": [{**dict(zip(dims, key, strict=True)), "referrals": n[0], "people": len(p)}
                   for key, (n, p) in sorted(groups.items(), key=lambda kv: order(kv[0]))],
        "breakdown_missing": {d: sum(n[0] for key, (n, _) in groups.items() if key[i] is None)
                              for i, d in enumerate(dims)},
    }


def render_text(doc: dict[str, Any]) -> str:
    """The referral figures as readable tables (aggregates only)."""
    scope = "approved and published records" if doc["official_only"] else "all records, submitted included"
    period = f"{doc['since'] or 'the start'} to {doc['until'] or 'today'}"
    r, t = doc["records"], doc["total"]
    lines = [f"Victim assistance referrals in {doc['database']} ({scope}), {period}"
             + (f", casualties of {', '.join(doc['devices'])}" if doc["devices"] is not None else ""),
             f"  referrals {t['referrals']}, people referred {t['people']} ({r['duplicates_merged']} casualty "
             f"records merged by confirmed duplicate links)",
             f"  left out: outside the period {r['outside_period']}, undated {r['undated']}"
             + (f", other devices {r['other_device']}" if doc["devices"] is not None else ""),
             "", f"  {'service':<22} {'referrals':>10} {'people':>8}"]
    for s, v in doc["by_service"].items():
        lines.append(f"  {s:<22} {v['referrals']:>10} {v['people']:>8}")
    lines += ["", "  outcome: " + ", ".join(f"{k} {v}" for k, v in doc["by_outcome"].items())]
    for name in ("status", "sex", "age_group"):
        lines.append(f"  people by {name}: " + ", ".join(f"{k} {v}" for k, v in doc[f"people_by_{name}"].items()))
    if doc["by"]:
        lines += ["", "  ".join(f"{d:<18}" for d in doc["by"]) + f"{'referrals':>10} {'people':>8}"]
        for g in doc["groups"]:
            lines.append("  ".join(f"{g[d] if g[d] is not None else '(missing)':<18}" for d in doc["by"])
                         + f"{g['referrals']:>10} {g['people']:>8}")
        gaps = [f"{d} {n}" for d, n in doc["breakdown_missing"].items() if n]
        if gaps:
            lines.append("Referrals lacking a grouping field: " + ", ".join(gaps))
    return "\n".join(lines)
