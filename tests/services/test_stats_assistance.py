"""Victim assistance referrals: every figure compared with pandas counting what the test built.

Each person is recorded by one or more casualty records (copies from different sources, alike), joined by
confirmed duplicate links; proposed and rejected links join different people and must merge nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeground.domain.config import Config
from safeground.domain.errors import ValidationError
from safeground.domain.vocabularies import ASSISTANCE_SERVICE, REFERRAL_OUTCOME
from safeground.services.duplicates import decide
from safeground.services.records import add_records, retire_record
from safeground.services.stats_assistance import DIMENSIONS, assistance_stats
from safeground.services.workspace import Workspace
from safeground.store.base import Batch


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

DEVICES = ("ap_mine", "improvised_mine", "cluster_submunition", "other_erw", None)


@dataclass
class Person:
    status: str
    sex: str | None
    age_group: str | None
    age: int | None
    device: str | None
    copies: int
    uuids: list[str] = field(default_factory=list)

    def group(self) -> str | None:
        """The age group as the test reads it: the stated group, else the age."""
        if self.age_group:
            return self.age_group
        return None if self.age is None else ("child" if self.age < 18 else "adult")


@dataclass
class Referral:
    person: int
    copy: int
    service: str
    outcome: str | None
    date: str | None
    state: str
    retired: bool = False


def build_people(rng: random.Random, n: int) -> list[Person]:
    people = []
    for _ in range(n):
        group = rng.choice(("child", "adult", None, None))
        age = rng.randrange(5, 70) if group is None and rng.random() < 0.6 else None
        people.append(Person(rng.choice(("civilian", "civilian", "military", "deminer")),
                             rng.choice(("female", "male", "male", None)), group, age, rng.choice(DEVICES),
                             rng.choice((1, 1, 1, 2, 3))))
    return people


def build_referrals(rng: random.Random, people: list[Person], n: int) -> list[Referral]:
    out = []
    for _ in range(n):
        i = rng.randrange(len(people))
        day = dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(3 * 365))
        out.append(Referral(i, rng.randrange(people[i].copies), rng.choice(ASSISTANCE_SERVICE.codes),
                            rng.choice((*REFERRAL_OUTCOME.codes, None)),
                            None if rng.random() < 0.08 else day.isoformat(),
                            rng.choice(("approved", "approved", "published", "submitted")), rng.random() < 0.04))
    return out


def store(ws: Workspace, people: list[Person], referrals: list[Referral]) -> None:
    copies = [(p, k) for p in people for k in range(p.copies)]
    acc = add_records(ws, "accident", Batch.from_records(
        [{"accident_type": "mine_erw", "device_category": p.device, "accident_date": "2021-05-01"} for p, _ in copies]),
        review_state="approved").uuids
    cas = add_records(ws, "casualty", Batch.from_records(
        [{"accident": a, "outcome": "injured", "status": p.status, "sex": p.sex, "age_group": p.age_group,
          "age": p.age, "given_name": "Zenaida", "family_name": "Quintero", "national_id": "99887766"}
         for (p, _), a in zip(copies, acc, strict=True)]), review_state="approved").uuids
    for (p, _), u in zip(copies, cas, strict=True):
        p.uuids.append(u)
    ws.store.write_duplicate_links([{"layer": "casualty", "uuid": p.uuids[k], "duplicate_of": p.uuids[k - 1],
                                     "kind": "probable_casualty", "reason": "same person"}
                                    for p in people for k in range(1, p.copies)])
    for link in ws.store.duplicate_links():
        decide(ws, link["id"], "confirmed")
    # Different people linked by mistake: a proposed and a rejected link merge nothing.
    for a, b, decision in ((0, 1, None), (2, 3, "rejected")):
        ws.store.write_duplicate_links([{"layer": "casualty", "uuid": people[b].uuids[0],
                                         "duplicate_of": people[a].uuids[0], "kind": "probable_casualty",
                                         "reason": "same date and place"}])
        if decision:
            decide(ws, ws.store.duplicate_links()[-1]["id"], decision)
    for state in ("approved", "published", "submitted"):
        mine = [r for r in referrals if r.state == state]
        rows = [{"casualty": people[r.person].uuids[r.copy], "service": r.service, "outcome": r.outcome,
                 "referral_date": r.date, "notes": "lives behind the school, phone 555-0199"} for r in mine]
        uuids = add_records(ws, "assistance_referral", Batch.from_records(rows), review_state=state).uuids
        for r, u in zip(mine, uuids, strict=True):
            if r.retired:
                retire_record(ws, "assistance_referral", u, "entered twice")


def frame(people: list[Person], referrals: list[Referral], since: str | None = None, until: str | None = None,
          submitted: bool = False, devices: set[str] | None = None) -> pd.DataFrame:
    states = {"approved", "published"} | ({"submitted"} if submitted else set())
    rows = []
    for r in referrals:
        p = people[r.person]
        if r.state not in states or r.retired:
            continue
        if (since or until) and (r.date is None or (since and r.date < since) or (until and r.date > until)):
            continue
        if devices is not None and p.device not in devices:
            continue
        rows.append({"person": r.person, "copy": (r.person, r.copy), "service": r.service, "outcome": r.outcome,
                     "year": r.date[:4] if r.date else None, "status": p.status, "sex": p.sex,
                     "age_group": p.group()})
    return pd.DataFrame(rows, columns=["person", "copy", *DIMENSIONS])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, list[Person], list[Referral]]]:
    ws = Workspace.open(tmp_path_factory.mktemp("va") / "va.gpkg", user="ana", create=True)
    ws.set_config(Config(country="COL"))
    rng = random.Random(5)
    people = build_people(rng, 60)
    referrals = build_referrals(rng, people, 220)
    store(ws, people, referrals)
    yield ws, people, referrals
    ws.close()


@pytest.mark.parametrize(("since", "until", "submitted"), [(None, None, False), ("2023-01-01", "2023-12-31", False),
                                                           ("2022-07-01", None, True)])
def test_every_figure_matches_an_independent_count(built: tuple[Workspace, list[Person], list[Referral]],
                                                   since: str | None, until: str | None, submitted: bool) -> None:
    ws, people, referrals = built
    doc = assistance_stats(ws, since=since, until=until, include_submitted=submitted)
    df = frame(people, referrals, since, until, submitted)
    assert doc["total"] == {"referrals": len(df), "people": df["person"].nunique()}
    assert doc["total"]["people"] < doc["total"]["referrals"]
    assert doc["records"]["casualty_records"] == df["copy"].nunique()
    assert doc["records"]["duplicates_merged"] == df["copy"].nunique() - df["person"].nunique()
    for s in ASSISTANCE_SERVICE.codes:
        mine = df[df["service"] == s]
        assert doc["by_service"][s] == {"referrals": len(mine), "people": mine["person"].nunique()}, s
    outcomes = df["outcome"].fillna("missing").value_counts().to_dict()
    assert doc["by_outcome"] == {o: outcomes.get(o, 0) for o in (*REFERRAL_OUTCOME.codes, "missing")}
    persons = df.drop_duplicates("person")
    for name, codes in (("status", ("civilian", "military", "deminer")), ("sex", ("female", "male")),
                        ("age_group", ("child", "adult"))):
        counts = persons[name].fillna("missing").value_counts().to_dict()
        assert doc[f"people_by_{name}"] == {c: counts.get(c, 0) for c in (*codes, "missing")}, name
    if since or until:
        counted = [r for r in referrals if r.state in ({"approved", "published"} | ({"submitted"} if submitted
                                                                                    else set())) and not r.retired]
        assert doc["records"]["undated"] == sum(r.date is None for r in counted) > 0
        assert doc["records"]["outside_period"] == sum(
            r.date is not None and ((since is not None and r.date < since) or (until is not None and r.date > until))
            for r in counted)


def test_every_breakdown_groups_like_pandas(built: tuple[Workspace, list[Person], list[Referral]]) -> None:
    ws, people, referrals = built
    df = frame(people, referrals)
    for by in [*([d] for d in DIMENSIONS), ("service", "outcome"), ("sex", "age_group", "status")]:
        doc = assistance_stats(ws, by=list(by))
        expected = df.groupby(list(by), dropna=False).agg(referrals=("person", "size"),
                                                          people=("person", "nunique"))
        got = {tuple(g[d] for d in by): (g["referrals"], g["people"]) for g in doc["groups"]}
        want = {tuple(None if pd.isna(v) else v for v in (k if isinstance(k, tuple) else (k,))):
                (row["referrals"], row["people"]) for k, row in expected.iterrows()}
        assert got == want, by
        for d in by:
            assert doc["breakdown_missing"][d] == int(df[d].isna().sum()), (by, d)


def test_the_device_filter_keeps_victims_of_those_devices_only(
        built: tuple[Workspace, list[Person], list[Referral]]) -> None:
    ws, people, referrals = built
    doc = assistance_stats(ws, devices=["cluster_submunition"], by=["service"])
    df = frame(people, referrals, devices={"cluster_submunition"})
    assert doc["total"] == {"referrals": len(df), "people": df["person"].nunique()}
    assert 0 < len(df) < len(frame(people, referrals))
    assert doc["records"]["other_device"] == len(frame(people, referrals)) - len(df)
    assert doc["devices"] == ["cluster_submunition"]


def test_confirmed_links_make_one_person_and_others_do_not(
        built: tuple[Workspace, list[Person], list[Referral]]) -> None:
    ws, people, _ = built
    tripled = next(p for p in people if p.copies == 3)
    ids = {tripled.uuids[0]: "a", tripled.uuids[2]: "b"}
    from safeground.services.stats_casualties import person_resolver

    resolve = person_resolver(ws)
    assert len({resolve.find(u) for u in ids}) == 1
    assert resolve.find(people[0].uuids[0]) != resolve.find(people[1].uuids[0])  # proposed link
    assert resolve.find(people[2].uuids[0]) != resolve.find(people[3].uuids[0])  # rejected link


def test_no_personal_field_leaves_the_figures(built: tuple[Workspace, list[Person], list[Referral]]) -> None:
    ws, _, _ = built
    text = json.dumps(assistance_stats(ws, by=list(DIMENSIONS)))
    assert not any(s in text for s in ("Zenaida", "Quintero", "99887766", "555-0199", '"age"', '"notes"'))


@settings(max_examples=25, deadline=None)
@given(since=st.one_of(st.none(), st.dates(dt.date(2021, 6, 1), dt.date(2025, 6, 1))),
       until=st.one_of(st.none(), st.dates(dt.date(2021, 6, 1), dt.date(2025, 6, 1))),
       by=st.lists(st.sampled_from(DIMENSIONS), max_size=2, unique=True))
def test_referrals_add_up_whatever_the_period(built: tuple[Workspace, list[Person], list[Referral]],
                                              since: dt.date | None, until: dt.date | None, by: list[str]) -> None:
    ws, people, referrals = built
    if since and until and since > until:
        since, until = until, since
    s, u = (since.isoformat() if since else None), (until.isoformat() if until else None)
    doc = assistance_stats(ws, since=s, until=u, by=by)
    t = doc["total"]
    assert t["referrals"] == len(frame(people, referrals, s, u))
    assert t["referrals"] == sum(v["referrals"] for v in doc["by_service"].values()) == sum(doc["by_outcome"].values())
    assert t["people"] <= sum(v["people"] for v in doc["by_service"].values())
    assert all(sum(doc[f"people_by_{n}"].values()) == t["people"] for n in ("status", "sex", "age_group"))
    if by:
        assert sum(g["referrals"] for g in doc["groups"]) == t["referrals"]


def test_bad_input_is_refused_with_a_code(built: tuple[Workspace, Any, Any]) -> None:
    ws = built[0]
    cases = [({"by": ["name"]}, "stats.bad_dimension"), ({"devices": ["tank"]}, "stats.bad_dimension"),
             ({"until": "yesterday"}, "stats.bad_date"), ({"since": "2024-02-01", "until": "2024-01-01"},
                                                          "stats.bad_period")]
    for kwargs, code in cases:
        with pytest.raises(ValidationError) as err:
            assistance_stats(ws, **kwargs)
        assert err.value.code == code and err.value.hint


def test_groups_are_combinations_seen(built: tuple[Workspace, list[Person], list[Referral]]) -> None:
    ws = built[0]
    doc = assistance_stats(ws, by=["service", "outcome"])
    seen = set(itertools.product(ASSISTANCE_SERVICE.codes, (*REFERRAL_OUTCOME.codes, None)))
    assert {(g["service"], g["outcome"]) for g in doc["groups"]} <= seen
    assert all(g["referrals"] > 0 for g in doc["groups"])
