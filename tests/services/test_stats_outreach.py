"""EORE reach: every figure compared with pandas counting the sessions the test itself built."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeground.domain.config import Config
from safeground.domain.errors import ValidationError
from safeground.services.records import add_record, add_records, retire_record
from safeground.services.stats_outreach import DIMENSIONS, GROUPS, eore_stats
from safeground.services.workspace import Workspace
from safeground.store.base import Batch


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

ORGS = ("Alpha Demining", "Beta Outreach")
AREAS = (("Meta", "Vista Hermosa"), ("Meta", "Mesetas"), ("Antioquia", "Sonsón"), (None, None))
METHODS = ("face_to_face", "school", "mass_media", None)


@dataclass
class Session:
    date: str
    method: str | None
    org: str | None
    counts: dict[str, int | None]
    adm1: str | None
    adm2: str | None
    state: str
    retired: bool = False


def random_sessions(seed: int, n: int) -> list[Session]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        day = dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(3 * 365))
        shape = rng.random()
        counts: dict[str, int | None] = {g: rng.randrange(0, 40) for g in GROUPS}
        if shape < 0.1:  # no split at all
            counts = dict.fromkeys(GROUPS)
        elif shape < 0.25:  # some counts missing
            for g in rng.sample(GROUPS, rng.randrange(1, 4)):
                counts[g] = None
        adm1, adm2 = rng.choice(AREAS)
        out.append(Session(day.isoformat(), rng.choice(METHODS), rng.choice((*ORGS, None)), counts, adm1, adm2,
                           rng.choice(("approved", "approved", "published", "submitted")), rng.random() < 0.05))
    return out


def store(ws: Workspace, sessions: list[Session]) -> None:
    orgs = {name: add_record(ws, "organisation", {"name": name}, review_state="approved")["uuid"] for name in ORGS}
    for state in ("approved", "published", "submitted"):
        mine = [s for s in sessions if s.state == state]
        if not mine:
            continue
        rows = [{"session_date": s.date, "method": s.method, "organisation": orgs.get(s.org or ""), **s.counts,
                 "admin1": s.adm1, "admin2": s.adm2} for s in mine]
        uuids = add_records(ws, "eore_session", Batch.from_records(rows), review_state=state).uuids
        for s, uuid in zip(mine, uuids, strict=True):
            if s.retired:
                retire_record(ws, "eore_session", uuid, "entered twice")


def frame(sessions: list[Session], since: str | None = None, until: str | None = None,
          submitted: bool = False) -> pd.DataFrame:
    """The sessions that should count, one row each, as pandas sees them."""
    states = {"approved", "published"} | ({"submitted"} if submitted else set())
    rows = [{"year": s.date[:4], "month": s.date[:7], "adm1": s.adm1, "adm2": s.adm2, "organisation": s.org,
             "method": s.method, **s.counts} for s in sessions
            if s.state in states and not s.retired and (since is None or s.date >= since)
            and (until is None or s.date <= until)]
    df = pd.DataFrame(rows, columns=["year", "month", "adm1", "adm2", "organisation", "method", *GROUPS])
    known = df[list(GROUPS)].notna().sum(axis=1)
    return df.assign(not_broken_down=known == 0, partly=(known > 0) & (known < 4))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, list[Session]]]:
    ws = Workspace.open(tmp_path_factory.mktemp("eore") / "eore.gpkg", user="ana", create=True)
    ws.set_config(Config(country="COL"))
    sessions = random_sessions(11, 300)
    store(ws, sessions)
    yield ws, sessions
    ws.close()


@pytest.mark.parametrize(("since", "until", "submitted"), [(None, None, False), ("2023-01-01", "2023-12-31", False),
                                                           ("2022-06-15", None, True), (None, "2022-02-28", False)])
def test_every_figure_matches_an_independent_count(built: tuple[Workspace, list[Session]], since: str | None,
                                                   until: str | None, submitted: bool) -> None:
    ws, sessions = built
    doc = eore_stats(ws, since=since, until=until, include_submitted=submitted)
    df = frame(sessions, since, until, submitted)
    total = doc["total"]
    assert total["sessions"] == len(df) > 0
    for g in GROUPS:
        assert total[g] == int(df[g].fillna(0).sum()), g
        assert doc["missing"][g] == int(df[g].isna().sum()), g
    assert total["beneficiaries"] == int(df[list(GROUPS)].fillna(0).to_numpy().sum())
    assert total["not_broken_down"] == int(df["not_broken_down"].sum())
    assert total["partly_broken_down"] == int(df["partly"].sum())
    if since is None and until is None:  # the data exercises both kinds of missing split
        assert total["not_broken_down"] > 0 and total["partly_broken_down"] > 0
    counted = df[list(GROUPS)].fillna(0).to_numpy().sum()
    assert doc["shares"]["women_and_girls"] == pytest.approx((df["women"].sum() + df["girls"].sum()) / counted,
                                                             abs=1e-4)
    assert doc["shares"]["children"] == pytest.approx((df["girls"].sum() + df["boys"].sum()) / counted, abs=1e-4)


def test_every_breakdown_groups_like_pandas(built: tuple[Workspace, list[Session]]) -> None:
    ws, sessions = built
    df = frame(sessions)
    for by in [*([d] for d in DIMENSIONS), *itertools.permutations(("adm1", "method", "year"), 2)]:
        doc = eore_stats(ws, by=list(by))
        expected = df.groupby(list(by), dropna=False).agg(
            sessions=("women", "size"), women=("women", "sum"), men=("men", "sum"),
            not_broken_down=("not_broken_down", "sum"))
        got = {tuple(g[d] for d in by): g for g in doc["groups"]}
        keys = {tuple(None if pd.isna(v) else v for v in (k if isinstance(k, tuple) else (k,)))
                for k in expected.index}
        assert set(got) == keys, by
        for k, row in expected.iterrows():
            g = got[tuple(None if pd.isna(v) else v for v in (k if isinstance(k, tuple) else (k,)))]
            assert (g["sessions"], g["women"], g["men"], g["not_broken_down"]) == \
                (row["sessions"], row["women"], row["men"], row["not_broken_down"]), (by, k)
        for d in by:
            assert doc["breakdown_missing"][d] == int(df[d].isna().sum()), (by, d)


@settings(max_examples=30, deadline=None)
@given(since=st.one_of(st.none(), st.dates(dt.date(2021, 6, 1), dt.date(2025, 6, 1))),
       until=st.one_of(st.none(), st.dates(dt.date(2021, 6, 1), dt.date(2025, 6, 1))),
       by=st.lists(st.sampled_from(DIMENSIONS), max_size=3, unique=True))
def test_groups_always_add_up_to_the_sessions_of_the_period(built: tuple[Workspace, list[Session]],
                                                            since: dt.date | None, until: dt.date | None,
                                                            by: list[str]) -> None:
    ws, sessions = built
    if since and until and since > until:
        since, until = until, since
    s, u = (since.isoformat() if since else None), (until.isoformat() if until else None)
    doc = eore_stats(ws, since=s, until=u, by=by)
    assert doc["total"]["sessions"] == len(frame(sessions, s, u))
    keys: list[str] = ["sessions", "beneficiaries", *GROUPS, "not_broken_down", "partly_broken_down"]
    if by:
        assert {k: sum(g[k] for g in doc["groups"]) for k in keys} == {k: doc["total"][k] for k in keys}
    assert doc["total"]["beneficiaries"] == sum(doc["total"][g] for g in GROUPS)


def test_bad_input_is_refused_with_a_code(built: tuple[Workspace, Any]) -> None:
    ws, _ = built
    cases = [({"by": ["gender"]}, "stats.bad_dimension"), ({"since": "2024-02-30"}, "stats.bad_date"),
             ({"since": "2024-02-01", "until": "2024-01-01"}, "stats.bad_period")]
    for kwargs, code in cases:
        with pytest.raises(ValidationError) as err:
            eore_stats(ws, **kwargs)
        assert err.value.code == code and err.value.hint
