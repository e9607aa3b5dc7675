"""Casualty statistics: every figure against counts made independently here, each person once."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import DATA

from safeground.domain.errors import ValidationError
from safeground.domain.vocabularies import DEVICE_CATEGORY
from safeground.services.duplicates import decide
from safeground.services.mapped_import import import_csv
from safeground.services.records import add_records, retire_record, update_record
from safeground.services.stats_casualties import DIMENSIONS, _People, casualty_stats, statement_text
from safeground.services.workspace import Workspace
from safeground.store.base import Batch


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

SCHEMA = json.loads(resources.files("safeground").joinpath("data/schemas/stats_casualties.schema.json").read_text())
SINCE = "2020-11-10"
ISSUE_SENTENCE = ("Since 10 November 2020, 20 people have been killed by mines and explosive remnants of war, "
                  "including 14 civilians, and 85 have been seriously injured, including 16 civilians.")


@dataclass
class Person:
    """One real person and how the sources recorded them (``copies`` records, all alike)."""

    outcome: str
    status: str
    date: str | None = "2021-06-01"
    precision: str = "day"
    severity: str | None = None
    sex: str | None = None
    age_group: str | None = None
    age: int | None = None
    displacement: str | None = None
    device: str | None = None
    activity: str | None = None
    admin1: str | None = "Antioquia"
    admin2: str | None = "Anorí"
    state: str = "approved"
    copies: int = 1
    retired: bool = False
    uuids: list[str] = field(default_factory=list)


def store_people(ws: Workspace, people: list[Person]) -> None:
    """Each copy gets its own accident (as from its own source); copies are joined by confirmed links."""
    accidents = [{"accident_type": "mine_erw", "accident_date": p.date,
                  "date_precision": p.precision if p.date else None, "device_category": p.device,
                  "activity_at_time": p.activity, "admin1": p.admin1, "admin2": p.admin2}
                 for p in people for _ in range(p.copies)]
    acc_uuids = iter(add_records(ws, "accident", Batch.from_records(accidents), review_state="approved").uuids)
    # Accidents were made in people order; casualties are made in the same order, one batch per state.
    order = [(p, k) for p in people for k in range(p.copies)]
    acc_for = {(id(p), k): next(acc_uuids) for p, k in order}
    for state in ("approved", "published", "submitted"):
        mine = [(p, k) for p, k in order if p.state == state]
        if not mine:
            continue
        batch = [{"accident": acc_for[(id(p), k)], "outcome": p.outcome, "severity": p.severity, "status": p.status,
                  "sex": p.sex, "age_group": p.age_group, "age": p.age, "displacement": p.displacement,
                  "source": f"source {k}"} for p, k in mine]
        uuids = add_records(ws, "casualty", Batch.from_records(batch), review_state=state).uuids
        for (p, _), uuid in zip(mine, uuids, strict=True):
            p.uuids.append(uuid)
    links = [{"layer": "casualty", "uuid": p.uuids[k], "duplicate_of": p.uuids[k - 1], "kind": "probable_casualty",
              "reason": "same person"} for p in people for k in range(1, p.copies)]
    if links:
        first = len(ws.store.duplicate_links())
        ws.store.write_duplicate_links(links)
        for link in ws.store.duplicate_links()[first:]:
            decide(ws, link["id"], "confirmed")
    for p in people:
        if p.retired:
            for uuid in p.uuids:
                retire_record(ws, "casualty", uuid, "entered twice by mistake")


def link(ws: Workspace, a: str, b: str, decision: str | None) -> None:
    """A duplicate link between two different people, left proposed or decided."""
    ws.store.write_duplicate_links([{"layer": "casualty", "uuid": b, "duplicate_of": a, "kind": "probable_casualty",
                                     "reason": "same date and place"}])
    if decision:
        decide(ws, ws.store.duplicate_links()[-1]["id"], decision)


def statement_people() -> tuple[list[Person], dict[str, Person]]:
    """20 killed (14 civilians) and 85 seriously injured (16 civilians) since 10 November 2020, among
    records before the date, minor injuries, unapproved and retired records, duplicates and unknowns."""
    P = Person
    counted_killed = (
        [P("killed", "civilian", date=SINCE)]  # the first day counts
        + [P("killed", "civilian", date="2021-12-31", precision="year")]  # known only to 2021: inside
        + [P("killed", "civilian", date="2020-12-31", precision="month")]  # December 2020: inside
        + [P("killed", "civilian", copies=2), P("killed", "civilian", copies=2, state="published"),
           P("killed", "civilian", copies=3)]  # one person each, recorded by 2 or 3 sources
        + [P("killed", "civilian", sex=None, age_group=None) for _ in range(8)]  # unknown sex and age
        + [P("killed", "military", sex="male") for _ in range(4)]
        + [P("killed", "deminer", copies=2), P("killed", "deminer")]
    )
    counted_serious = (
        [P("injured", "civilian", severity="serious", sex="female", age_group="child", copies=2)]
        + [P("injured", "civilian", severity="serious", date="2023-05-01") for _ in range(15)]
        + [P("injured", "military", severity="serious", date="2022-02-02", copies=1 + (i % 7 == 0)) for i in range(60)]
        + [P("injured", "deminer", severity="serious", date="2024-08-08") for _ in range(9)]
    )
    noise = (
        [P("killed", "civilian", date="2020-11-09") for _ in range(5)]  # the day before
        + [P("injured", "civilian", severity="serious", date="2019-03-03") for _ in range(6)]
        + [P("killed", "civilian", date="2020-12-31", precision="year")]  # 2020 only: straddles the date
        + [P("injured", "civilian", severity="serious", date="2020-11-30", precision="month")]  # November 2020
        + [P("killed", "civilian", date=None)]  # undated
        + [P("injured", "civilian", severity="minor") for _ in range(7)]
        + [P("injured", "military", severity="unknown"), P("injured", "civilian", severity=None),
           P("injured", "civilian", severity=None)]
        + [P("unknown", "civilian"), P("unknown", "military")]
        + [P("killed", "civilian", state="submitted") for _ in range(4)]
        + [P("injured", "civilian", severity="serious", state="submitted") for _ in range(4)]
        + [P("killed", "civilian", retired=True)]
    )
    named = {"a": counted_killed[8], "b": counted_killed[9], "c": counted_killed[10],
             "sub": noise[-2], "d": counted_serious[1], "e": counted_serious[2]}
    return counted_killed + counted_serious + noise, named


def test_statement_reproduces_the_issue_sentence_exactly(ws: Workspace) -> None:
    people, named = statement_people()
    store_people(ws, people)
    link(ws, named["a"].uuids[0], named["b"].uuids[0], None)  # proposed: two people still
    link(ws, named["b"].uuids[0], named["c"].uuids[0], "rejected")
    link(ws, named["d"].uuids[0], named["sub"].uuids[0], "confirmed")  # joins a counted and an unapproved record

    doc = casualty_stats(ws, since=SINCE)
    assert doc["statement"] == {"killed": 20, "killed_civilians": 14, "seriously_injured": 85,
                                "seriously_injured_civilians": 16, "text": ISSUE_SENTENCE}
    jsonschema.validate(doc, SCHEMA)
    r = doc["records"]
    assert (r["undated"], r["date_straddles_period"]) == (1, 2)
    official = [p for p in people if p.state != "submitted" and not p.retired]
    assert r["counted_records"] == sum(p.copies for p in official)
    assert r["duplicates_merged"] == sum(p.copies - 1 for p in official)
    assert r["outside_period"] == 11  # 5 killed the day before, 6 injured in 2019
    assert r["people"] == len(official) - 11 - 1 - 2
    assert doc["outcome"]["severity_missing"] == 3  # unknown and empty severity
    assert doc["outcome"]["injured_by_severity"]["minor"] == 7
    # Without a period the coarse and undated records count, and submitted ones only when asked.
    everything = casualty_stats(ws)
    assert everything["records"]["people"] == len(official)
    assert casualty_stats(ws, include_submitted=True)["records"]["people"] == len(official) + 8 - 1  # sub = d


def test_a_coarse_date_counts_in_its_year_and_has_no_month(ws: Workspace) -> None:
    store_people(ws, [Person("killed", "civilian", date="2020-12-31", precision="year"),
                      Person("killed", "civilian", date="2020-06-30", precision="month")])
    doc = casualty_stats(ws, by=["year", "month"])
    assert [(r["key"], r["people"]) for r in doc["breakdown"]] == [
        ({"year": "2020", "month": "2020-06"}, 1), ({"year": "2020", "month": "unknown"}, 1)]
    assert doc["breakdown_missing"] == {"year": 0, "month": 1}
    assert casualty_stats(ws, since="2020-06-01", until="2020-06-30")["records"]["people"] == 1
    assert casualty_stats(ws, since="2020-01-01", until="2020-12-31")["records"]["people"] == 2
    assert casualty_stats(ws, until="2020-06-15")["records"]["date_straddles_period"] == 2


VALUES: dict[str, list[Any]] = {
    "outcome": ["killed", "injured", "unknown"], "severity": ["serious", "minor", "unknown", None],
    "status": ["civilian", "military", "deminer"], "sex": ["female", "male", "unknown", None],
    "age_group": ["child", "adult", "unknown", None], "age": [None, None, 9, 17, 18, 40],
    "displacement": ["resident", "displaced", "returnee", "refugee", "unknown", None],
    "device": [*DEVICE_CATEGORY.codes, None], "activity": ["farming", "playing", "demining", "unknown", None],
    "admin1": ["Antioquia", "Meta", None], "admin2": ["Uno", "Dos", None],
    "precision": ["day", "day", "month", "year"], "state": ["approved", "published", "submitted"],
}


def random_people(seed: int, n: int) -> list[Person]:
    rng = random.Random(seed)
    people = []
    for _ in range(n):
        kw = {k: rng.choice(v) for k, v in VALUES.items()}
        day = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(3650))
        kw["date"] = None if rng.random() < 0.05 else day.isoformat()
        people.append(Person(copies=rng.choice([1, 1, 1, 2, 3]), retired=rng.random() < 0.05, **kw))
    return people


def expected_frame(people: list[Person], states: tuple[str, ...], since: str | None, until: str | None) -> pd.DataFrame:
    """The people that count, one row each, with the values the statistics group by (made here, not by SafeGround)."""
    rows = []
    for p in people:
        if p.state not in states or p.retired:
            continue
        if since or until:
            if p.date is None:
                continue
            first, last = _period(p.date, p.precision)
            if (since and first < dt.date.fromisoformat(since)) or (until and last > dt.date.fromisoformat(until)):
                continue
        unknown = (None, "unknown")
        child = p.age_group if p.age_group not in unknown else (
            "unknown" if p.age is None else ("child" if p.age < 18 else "adult"))
        rows.append({
            "outcome": p.outcome, "severity": p.severity if p.severity not in unknown else "unknown",
            "status": p.status, "sex": p.sex if p.sex not in unknown else "unknown", "age_group": child,
            "displacement": p.displacement if p.displacement not in unknown else "unknown",
            "device": p.device or "not_broken_down", "activity": p.activity if p.activity not in unknown else "unknown",
            "year": p.date[:4] if p.date else "unknown",
            "month": p.date[:7] if p.date and p.precision != "year" else "unknown",
            "adm1": p.admin1 or "unknown", "adm2": f"{p.admin1 or 'unknown'} / {p.admin2}" if p.admin2 else "unknown",
        })
    return pd.DataFrame(rows)


def _period(day: str, precision: str) -> tuple[dt.date, dt.date]:
    """The first and last day of the day, month or year a date is known to."""
    d = dt.date.fromisoformat(day)
    if precision == "year":
        return dt.date(d.year, 1, 1), dt.date(d.year, 12, 31)
    if precision == "month":
        return d.replace(day=1), d.replace(day=calendar.monthrange(d.year, d.month)[1])
    return d, d


@pytest.mark.parametrize(("seed", "since", "until", "include_submitted"), [
    (1, None, None, False), (2, "2018-03-01", "2023-12-31", False), (3, "2019-07-15", "2022-06-30", True)])
def test_every_figure_matches_an_independent_count(ws: Workspace, seed: int, since: str | None, until: str | None,
                                                   include_submitted: bool) -> None:
    people = random_people(seed, 140)
    store_people(ws, people)
    states = ("approved", "published", "submitted") if include_submitted else ("approved", "published")
    df = expected_frame(people, states, since, until)
    doc = casualty_stats(ws, since=since, until=until, include_submitted=include_submitted,
                         by=["year", "status", "device"])
    jsonschema.validate(doc, SCHEMA)

    assert doc["records"]["people"] == len(df)
    o = doc["outcome"]
    assert {k: o[k] for k in ("killed", "injured", "unknown")} == {
        k: int((df.outcome == k).sum()) for k in ("killed", "injured", "unknown")}
    assert o["missing"] == int((df.outcome == "unknown").sum())
    injured = df[df.outcome == "injured"]
    assert o["injured_by_severity"] == {s: int((injured.severity == s).sum()) for s in ("serious", "minor", "unknown")}
    assert doc["status"] == {**{s: int((df.status == s).sum()) for s in ("civilian", "military", "deminer")},
                             "missing": 0}
    civ = df[df.status == "civilian"]
    known_age = civ[civ.age_group != "unknown"]
    assert doc["children"]["civilian_children"] == int((known_age.age_group == "child").sum())
    assert doc["children"]["civilians_with_age"] == len(known_age)
    assert doc["children"]["missing"] == len(civ) - len(known_age)
    assert doc["children"]["share"] == pytest.approx((known_age.age_group == "child").mean(), abs=1e-4)
    known_sex = df[df.sex != "unknown"]
    assert doc["women_and_girls"] == {
        "women_and_girls": int((known_sex.sex == "female").sum()), "with_sex": len(known_sex),
        "share": pytest.approx((known_sex.sex == "female").mean(), abs=1e-4), "missing": len(df) - len(known_sex)}
    assert list(doc["device"])[:7] == [*DEVICE_CATEGORY.codes, "not_broken_down"]  # Landmine Monitor's order
    assert doc["device"] == {**{d: int((df.device == d).sum()) for d in (*DEVICE_CATEGORY.codes, "not_broken_down")},
                             "missing": int((df.device == "not_broken_down").sum())}
    assert doc["displacement"] == {d: int((df.displacement == d).sum())
                                   for d in ("displaced", "returnee", "resident", "refugee")} | {
        "missing": int((df.displacement == "unknown").sum())}
    serious = df[(df.outcome == "injured") & (df.severity == "serious")]
    killed = df[df.outcome == "killed"]
    assert doc["statement"] == {"killed": len(killed), "killed_civilians": int((killed.status == "civilian").sum()),
                                "seriously_injured": len(serious),
                                "seriously_injured_civilians": int((serious.status == "civilian").sum()),
                                "text": statement_text(dt.date.fromisoformat(since), len(killed),
                                                       int((killed.status == "civilian").sum()), len(serious),
                                                       int((serious.status == "civilian").sum())) if since else None}
    # The breakdown is pandas' groupby of the people that count.
    got = {tuple(r["key"].values()): (r["people"], r["killed"], r["injured"], r["unknown"]) for r in doc["breakdown"]}
    want = {key: (len(g), int((g.outcome == "killed").sum()), int((g.outcome == "injured").sum()),
                  int((g.outcome == "unknown").sum())) for key, g in df.groupby(["year", "status", "device"])}
    assert got == want
    assert doc["breakdown_missing"] == {"year": int((df.year == "unknown").sum()), "status": 0,
                                        "device": int((df.device == "not_broken_down").sum())}


def test_every_dimension_groups_like_pandas(ws: Workspace) -> None:
    people = random_people(7, 80)
    store_people(ws, people)
    df = expected_frame(people, ("approved", "published"), None, None)
    for dim in DIMENSIONS:
        doc = casualty_stats(ws, by=[dim])
        assert {r["key"][dim]: r["people"] for r in doc["breakdown"]} == df.groupby(dim).size().to_dict(), dim


def test_no_personal_field_leaves_the_statistics(ws: Workspace) -> None:
    store_people(ws, [Person("killed", "civilian", age=41, sex="female")])
    update_record(ws, "casualty", ws.store.query("casualty")[0]["uuid"],
                  {"given_name": "Zenaida", "family_name": "Quintero", "national_id": "99887766"})
    doc = casualty_stats(ws, by=list(DIMENSIONS))
    del doc["database"], doc["generated_at"]  # a file path and a clock may hold any digits
    text = json.dumps(doc)
    assert not any(s in text for s in ("Zenaida", "Quintero", "99887766", '"age"'))
    assert not re.search(r"\b41\b", text)  # the exact age, as a number anywhere


def test_bad_input_is_refused_with_a_code(ws: Workspace) -> None:
    with pytest.raises(ValidationError) as err:
        casualty_stats(ws, since="10/11/2020")
    assert err.value.code == "stats.bad_date"
    with pytest.raises(ValidationError) as err:
        casualty_stats(ws, since="2021-01-01", until="2020-01-01")
    assert err.value.code == "stats.bad_period"
    with pytest.raises(ValidationError) as err:
        casualty_stats(ws, by=["colour"])
    assert err.value.code == "stats.bad_dimension"


@given(st.integers(2, 12).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=20))))
def test_confirmed_links_join_whole_chains(case: tuple[int, list[tuple[int, int]]]) -> None:
    n, pairs = case
    people = _People((f"u{a:02d}", f"u{b:02d}") for a, b in pairs)
    # Independent: grow each group by following links until nothing new joins.
    groups = [{i} for i in range(n)]
    changed = True
    while changed:
        changed = False
        for a, b in pairs:
            ga = next(g for g in groups if a in g)
            gb = next(g for g in groups if b in g)
            if ga is not gb:
                ga |= gb
                groups.remove(gb)
                changed = True
    assert len({people.find(f"u{i:02d}") for i in range(n)}) == len(groups)
    for g in groups:
        assert len({people.find(f"u{i:02d}") for i in g}) == 1


@given(st.integers(0, 10**4), st.integers(0, 10**4), st.integers(0, 10**4), st.integers(0, 10**4),
       st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)))
def test_statement_numbers_read_back(k: int, kc: int, s: int, sc: int, since: dt.date) -> None:
    text = statement_text(since, k, kc, s, sc)
    words = text.replace(",", "").split()
    assert dt.datetime.strptime(" ".join(words[1:4]), "%d %B %Y").date() == since
    assert [int(w) for w in words[4:] if w.isdigit()] == [k, kc, s, sc]
    assert text.endswith(".") and Counter(text)["."] == 1


def test_colombia_register_accidents_group_like_pandas(ws: Workspace, tmp_path: Path) -> None:
    """The real register (year-only dates): one casualty per accident, grouped as pandas groups the file."""
    register = pd.read_csv(DATA / "colombia_aicma" / "events_1990_2014.csv")
    accidents = register[register.tipo_evento.str.startswith("Accidente")]
    sample = accidents.groupby("year").head(12)  # every year of the register, a dozen accidents each
    path = tmp_path / "register-sample.csv"
    sample.to_csv(path, index=False)
    import_csv(ws, path, "colombia_aicma")
    stored = ws.store.query("accident", geometry=False)
    add_records(ws, "casualty", Batch.from_records([{"accident": a["uuid"], "outcome": "killed", "status": "civilian"}
                                                    for a in stored]), review_state="approved")
    assert len(stored) == len(sample)  # every sampled row went in: none quarantined
    doc = casualty_stats(ws, by=["year", "adm1", "device"], since="1990-01-01", until="2014-12-31")
    device = {"Accidente por MAP": "unspecified_mine", "Accidente por MUSE": "other_erw"}
    want = sample.assign(device=sample.tipo_evento.map(device), year=sample.year.astype(str)) \
        .groupby(["year", "departamento", "device"]).size().to_dict()
    got = {(r["key"]["year"], r["key"]["adm1"].upper(), r["key"]["device"]): r["people"] for r in doc["breakdown"]}
    assert got == want
    assert doc["records"]["people"] == len(sample) and doc["records"]["date_straddles_period"] == 0
    # A period that cuts a year leaves that year's register out and says so.
    cut = casualty_stats(ws, since="2000-06-01")
    assert cut["records"]["date_straddles_period"] == int((sample.year == 2000).sum())
    assert cut["records"]["people"] == int((sample.year > 2000).sum())
