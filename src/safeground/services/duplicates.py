"""Duplicate links: probable duplicates that imports and checks propose and a person decides.

A link says that record ``uuid`` may be the same as the earlier record ``duplicate_of`` of the same layer.
Kinds: ``exact_source_row`` (the CSV importer: every column equals an earlier row of the same file) and
``probable_casualty`` (``safeground check``: two casualties that are probably one person). A link stays
``proposed`` until a person confirms it (the two records are one; statistics count them once) or rejects it.
A decision is final and records who made it and when.

**Probable duplicate casualties.** Sources overlap: a hospital list and an operator's accident report may
name the same person. Two casualties are a probable duplicate when their accidents happened at the same time
(the same date, compared at the coarser precision of the two: a date known only to the year matches every
date of that year) and place (points within ``same_place_km``, or the same admin area: ``admin2_code``,
else the ``admin1``/``admin2`` names as given), and

- when both names are known: the names are alike, at least ``name_similarity`` out of 100 by rapidfuzz's
  ``token_set_ratio`` of the normalised given and family names (it forgives accents, case, word order,
  small spelling differences and a name part one source left out);
- otherwise: the same age and the same sex (both known).

Casualties of one accident from one source are different people and are never paired. Names and ages are
read here and never written anywhere else: the link's reason says which criterion matched, not the values.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from rapidfuzz import fuzz

from safeground.domain.errors import ConflictError, NotFoundError, ValidationError
from safeground.geo.crs import WGS84, reproject, utm_epsg
from safeground.services.workspace import Workspace
from safeground.store.base import Record

KIND_CASUALTY = "probable_casualty"
DECISIONS = ("confirmed", "rejected")
STATUSES = ("proposed", *DECISIONS)

#: Metres between consecutive dates (days, months or years) laid side by side along x, so that one spatial
#: query finds pairs on the same date within the distance (far more than any country is wide).
_DATE_STRIDE_M = 1e8


@dataclass(frozen=True)
class ProposedPair:
    """A probable duplicate still waiting for a decision: the later record, the earlier one and why."""

    link_id: int
    ref: str
    uuid: str
    other_ref: str
    other_uuid: str
    reason: str


def normalise_name(*parts: str | None) -> str:
    """Lower-case letters only, accents removed, words in their order.

    >>> normalise_name("María José", "Pérez-Gómez")
    'maria jose perez gomez'
    >>> normalise_name(None, "  ")
    ''
    """
    text = unicodedata.normalize("NFKD", " ".join(p for p in parts if p))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.findall(r"[^\W\d_]+", text.lower()))


def name_score(a: str, b: str) -> float:
    """How alike two normalised names are, 0-100, whatever the order of the words; a name that holds only
    some of the other's words (one source left out a second given name) scores 100.

    >>> name_score(normalise_name("Pérez", "María"), normalise_name("Maria", "Perez"))
    100.0
    >>> name_score("jose luis gomez perez", "luis gomez"), name_score("maria perez", "maria peres") > 85
    (100.0, True)
    >>> name_score("juan perez", "pedro perez") < 85, name_score("ana gomez", "ana lopez") < 85
    (True, True)
    """
    return float(fuzz.token_set_ratio(a, b))


def propose_casualty_duplicates(ws: Workspace, *, same_place_km: float = 1.0,
                                name_similarity: float = 85.0) -> list[ProposedPair]:
    """Find probable duplicate casualties, store each new pair as a proposed link, return the undecided ones.

    Running it again proposes nothing twice, and never proposes again a pair a person has decided.
    """
    if same_place_km < 0 or not 0 <= name_similarity <= 100:
        raise ValidationError("duplicate.bad_threshold", "The distance must be >= 0 km and the name similarity "
                              "between 0 and 100.", hint="For example --same-place-km 1 --name-similarity 85.")
    people = _casualties(ws)
    if len(people["uuid"]) < 2:
        return []
    left, right, place = same_time_and_place(people, same_place_km, ws.national_crs)
    same_report = (people["accident"][left] == people["accident"][right]) & \
                  (people["source"][left] == people["source"][right])
    left, right, place = left[~same_report], right[~same_report], place[~same_report]
    found: list[tuple[int, int, str]] = []
    names, age, sex = people["name"], people["age"], people["sex"]
    for i, j, where in zip(left.tolist(), right.tolist(), place.tolist(), strict=True):
        alike = ""
        if names[i] and names[j]:
            score = name_score(names[i], names[j])
            if score >= name_similarity:
                alike = f"names {score:.0f}% alike"
        elif age[i] is not None and age[i] == age[j] and sex[i] in ("female", "male") and sex[i] == sex[j]:
            alike = "same age and sex (a name is missing)"
        if alike:
            found.append((i, j, f"{where}, {alike}"))
    return _store_pairs(ws, people, found)


def _casualties(ws: Workspace) -> dict[str, np.ndarray]:
    """Active casualties with the date and place of their accident, in record order."""
    rows = [c for c in ws.store.query("casualty") if c.get("accident")]
    accidents = {a["uuid"]: a for a in ws.store.query("accident", where={"uuid": sorted({c["accident"] for c in rows})},
                                                     include_retired=True)}
    rows = [c for c in rows if accidents.get(c["accident"], {}).get("accident_date")]
    acc = [accidents[c["accident"]] for c in rows]

    def area(a: Record) -> str | None:  # compared without accents and case: sources spell names differently
        if a.get("admin2_code"):
            return str(a["admin2_code"])
        if a.get("admin2"):
            return f"{normalise_name(a.get('admin1'))}/{normalise_name(a['admin2'])}"
        return None

    def area_label(a: Record) -> str | None:
        if a.get("admin2_code"):
            return f"admin area {a['admin2_code']}"
        return f"admin area {a.get('admin1') or '?'}/{a['admin2']}" if a.get("admin2") else None

    def column(values: list[Any]) -> np.ndarray:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out

    return {
        "uuid": column([c["uuid"] for c in rows]), "ref": column([c["ref"] for c in rows]),
        "accident": column([c["accident"] for c in rows]), "source": column([c.get("source") for c in rows]),
        "name": column([normalise_name(c.get("given_name"), c.get("family_name")) for c in rows]),
        "age": column([c.get("age") for c in rows]), "sex": column([c.get("sex") for c in rows]),
        "date": column([a["accident_date"] for a in acc]), "precision": column([a.get("date_precision") for a in acc]),
        "admin": column([area(a) for a in acc]), "admin_label": column([area_label(a) for a in acc]),
        "point": column([a.get("geometry") for a in acc]),
    }


_PRECISIONS = ("day", "month", "year")


def same_time_and_place(people: dict[str, np.ndarray], km: float,
                        crs: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of accidents at the same time and place, and a phrase saying when and where.

    Same time: the same ``date`` (ISO), compared at the coarser ``precision`` of the two (day, month or
    year; a date known only to the year matches every date of that year). Same place: ``point``s (WGS84)
    within ``km`` of each other, measured in the projected ``crs`` (default: the UTM zone of the points), or
    the same ``admin`` area (``admin_label``, if given, names it in the phrase).

    >>> people = {"date": np.array(["2010-05-03", "2010-05-03", "2010-05-04", "2010-12-31"]),
    ...           "precision": np.array(["day", "day", "day", "year"]), "admin": np.array([None] * 4),
    ...           "point": np.array([shapely.Point(-74, 4), shapely.Point(-74.005, 4), shapely.Point(-74, 4),
    ...                              shapely.Point(-74, 4.5)])}
    >>> left, right, why = same_time_and_place(people, 1.0)
    >>> list(zip(left.tolist(), right.tolist(), why))
    [(0, 1, 'same accident date 2010-05-03, 0.6 km apart')]
    """
    n = len(people["date"])
    dates = np.array(people["date"], dtype="datetime64[D]")
    given = people.get("precision", np.full(n, None, dtype=object))
    rank = np.array([_PRECISIONS.index(p) if p in _PRECISIONS else 0 for p in given], dtype=np.int64)
    admin = people["admin"]
    label = people.get("admin_label", admin)
    pts = people["point"]
    has_point = np.array([p is not None and not p.is_empty for p in pts], dtype=bool)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if has_point.any():
        located = np.asarray(pts[has_point], dtype=object)
        if crs is None:
            c = shapely.centroid(shapely.multipoints(shapely.centroid(located)))
            crs = utm_epsg(c.x, c.y)
        metric = reproject(shapely.centroid(located), WGS84, crs)
        x[has_point], y[has_point] = shapely.get_x(metric), shapely.get_y(metric)
    pairs: dict[tuple[int, int], str] = {}
    # One pass per precision: records known to that precision against all records known at least as finely.
    for level, unit in enumerate("DMY"):
        query = np.flatnonzero(rank == level)
        if not len(query):
            continue
        pool = np.flatnonzero(rank <= level)
        key = dates.astype(f"datetime64[{unit}]").astype(np.int64)
        when = [_when(level, dates[k]) for k in range(n)] if level else [f"same accident date {d}" for d in dates]
        groups: dict[tuple[int, str], list[int]] = {}
        for t in pool[[admin[t] is not None for t in pool]].tolist():
            groups.setdefault((int(key[t]), admin[t]), []).append(t)
        for q in query[[admin[q] is not None for q in query]].tolist():
            for t in groups.get((int(key[q]), admin[q]), []):
                if t != q:
                    pairs[(min(q, t), max(q, t))] = f"{when[q]}, same {label[q]}"
        # Within the distance: one STRtree query, with each date's points laid apart along x.
        q_pts, t_pts = query[has_point[query]], pool[has_point[pool]]
        if not len(q_pts) or not len(t_pts):
            continue
        base = key[pool].min()
        tree = shapely.STRtree(shapely.points(x[t_pts] + (key[t_pts] - base) * _DATE_STRIDE_M, y[t_pts]))
        qi, ti = tree.query(shapely.points(x[q_pts] + (key[q_pts] - base) * _DATE_STRIDE_M, y[q_pts]),
                            predicate="dwithin", distance=km * 1000)
        for a, b in zip(q_pts[qi].tolist(), t_pts[ti].tolist(), strict=True):
            if a == b:
                continue
            d = float(np.hypot(x[a] - x[b], y[a] - y[b])) / 1000
            pairs.setdefault((min(a, b), max(a, b)), f"{when[a]}, " + ("same place" if d < 0.0005 else
                                                                       f"{d:.1f} km apart"))
    ordered = sorted(pairs)
    left = np.array([p[0] for p in ordered], dtype=np.int64)
    right = np.array([p[1] for p in ordered], dtype=np.int64)
    return left, right, np.array([pairs[p] for p in ordered], dtype=object)


def _when(level: int, date: np.datetime64) -> str:
    unit, name = ("M", "month") if level == 1 else ("Y", "year")
    return f"accidents in the same {name} {date.astype(f'datetime64[{unit}]')} (a date known only to the {name})"


def _store_pairs(ws: Workspace, people: dict[str, np.ndarray], found: list[tuple[int, int, str]]) -> list[ProposedPair]:
    uuid, ref = people["uuid"], people["ref"]
    with ws.store.transaction():
        known = {frozenset((lk["uuid"], lk["duplicate_of"])) for lk in ws.store.duplicate_links(layer="casualty")}
        new = [{"layer": "casualty", "uuid": uuid[j], "duplicate_of": uuid[i], "kind": KIND_CASUALTY, "reason": why}
               for i, j, why in found if frozenset((uuid[i], uuid[j])) not in known]
        if new:
            ws.store.write_duplicate_links(new)
        links = {frozenset((lk["uuid"], lk["duplicate_of"])): lk
                 for lk in ws.store.duplicate_links(layer="casualty", status="proposed")}
    out = []
    for i, j, _why in found:
        link = links.get(frozenset((uuid[i], uuid[j])))
        if link is not None:
            out.append(ProposedPair(int(link["id"]), ref[j], uuid[j], ref[i], uuid[i], link["reason"]))
    return out


def list_links(ws: Workspace, *, layer: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Duplicate links, oldest first, each with the refs of both records (never their personal fields)."""
    if status is not None and status not in STATUSES:
        raise ValidationError("duplicate.bad_status", f"Unknown link status '{status}'.",
                              hint="Use " + ", ".join(STATUSES) + ".")
    links = ws.store.duplicate_links(layer=layer, status=status)
    refs: dict[str, str] = {}
    for lay in sorted({lk["layer"] for lk in links}):
        wanted = sorted({u for lk in links if lk["layer"] == lay for u in (lk["uuid"], lk["duplicate_of"])})
        refs.update({r["uuid"]: r["ref"] for r in ws.store.query(lay, where={"uuid": wanted}, include_retired=True,
                                                                 geometry=False)})
    return [{"id": lk["id"], "layer": lk["layer"], "ref": refs.get(lk["uuid"]), "uuid": lk["uuid"],
             "duplicate_of_ref": refs.get(lk["duplicate_of"]), "duplicate_of": lk["duplicate_of"],
             "kind": lk["kind"], "status": lk["status"], "reason": lk["reason"], "created_at": lk["created_at"],
             "decided_by": lk["decided_by"], "decided_at": lk["decided_at"]} for lk in links]


def decide(ws: Workspace, link_id: int, decision: str) -> dict[str, Any]:
    """Confirm (the two records are one) or reject a proposed link; return it as :func:`list_links` shows it."""
    if decision not in DECISIONS:
        raise ValidationError("duplicate.bad_status", f"Unknown decision '{decision}'.",
                              hint="Use confirmed or rejected.")
    with ws.store.transaction():
        found = ws.store.duplicate_links(link_id=link_id)
        if not found:
            raise NotFoundError("duplicate.not_found", f"There is no duplicate link {link_id}.",
                                hint="List the links with 'safeground duplicates list'.")
        link = found[0]
        if link["status"] != "proposed":
            raise ConflictError("duplicate.already_decided",
                                f"Link {link_id} was {link['status']} by {link['decided_by']} at "
                                f"{link['decided_at']}; a decision is final.",
                                hint="List the open links with 'safeground duplicates list --status proposed'.")
        ws.store.decide_duplicate_link(link_id, decision, user=ws.user)
    [shown] = [lk for lk in list_links(ws, layer=link["layer"]) if lk["id"] == link_id]
    return shown
