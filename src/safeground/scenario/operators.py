"""Organisations (authority, NGOs, commercial and military operators) and their teams, and who does which task."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from safeground.scenario import dates, names
from safeground.scenario.geography import Geography
from safeground.scenario.identifiers import uuids
from safeground.scenario.params import ScenarioParams

NAT = dates.NAT
#: Team methods that may do each activity type.
METHODS_FOR = {"nts": ("nts",), "ts": ("manual", "mdd", "mechanical"), "clearance": ("manual", "mechanical", "mdd")}
CAPACITY_M2_WEEK = {"nts": (50_000, 150_000), "manual": (1_500, 4_000), "mechanical": (10_000, 30_000),
                    "mdd": (5_000, 12_000), "bac": (20_000, 60_000)}


@dataclass
class Operators:
    """Organisations (index 0 is the authority) and teams."""

    uuid: np.ndarray
    name: np.ndarray
    acronym: np.ndarray
    kind: np.ndarray
    accredited_from: np.ndarray
    accredited_until: np.ndarray
    team_uuid: np.ndarray
    team_name: np.ndarray
    team_org: np.ndarray
    team_method: np.ndarray
    team_capacity: np.ndarray
    team_base: np.ndarray

    def assign(self, rng: np.random.Generator, activity: str, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """An operator accredited on each start date, and one of its teams able to do ``activity``.

        Returns ``(organisation index, team index)``.
        """
        n = len(start)
        methods = METHODS_FOR[activity]
        able = np.isin(self.team_method, methods)
        ok = ((self.kind != "authority") & (self.accredited_from[None, :] <= start[:, None])
              & (np.isnat(self.accredited_until)[None, :] | (start[:, None] <= self.accredited_until[None, :])))
        has_team = np.array([able[self.team_org == o].any() for o in range(len(self.uuid))])
        ok &= has_team[None, :]
        score = rng.random(ok.shape) * ok
        org = np.argmax(score, axis=1)
        if n and not ok[np.arange(n), org].all():
            raise RuntimeError("no accredited operator for an activity")  # guarded by the accreditation dates
        team = np.zeros(n, dtype=np.int64)
        for o in np.unique(org):
            teams = np.flatnonzero((self.team_org == o) & able)
            sel = np.flatnonzero(org == o)
            team[sel] = teams[rng.integers(0, len(teams), len(sel))]
        return org, team


def build_operators(rng: np.random.Generator, params: ScenarioParams, geo: Geography) -> Operators:
    """One authority and ``ngos``/``commercial``/``military`` operators with accreditation dates and teams."""
    kinds = ["authority"] + ["ngo"] * params.ngos + ["commercial"] * params.commercial + ["military"] * params.military
    n = len(kinds)
    kind = np.array(kinds, dtype=object)
    word = names.unique_words(rng, n)
    templates = {"authority": "{} Mine Action Authority", "ngo": "{} Demining Foundation",
                 "commercial": "{} Clearance Services", "military": "{} Engineer Battalion"}
    name = np.array([templates[k].format(w) for k, w in zip(kinds, word, strict=True)], dtype=object)
    acronym = np.array(["".join(p[0] for p in s.split()).upper() + str(i) for i, s in enumerate(name)], dtype=object)
    acc_from = np.full(n, NAT, dtype="datetime64[D]")
    acc_until = np.full(n, NAT, dtype="datetime64[D]")
    for k, (lo, hi) in {"ngo": ("2012-01-01", "2015-12-31"), "commercial": ("2015-06-01", "2017-12-31"),
                        "military": ("2010-01-01", "2012-12-31")}.items():
        sel = kind == k
        acc_from[sel] = dates.between(rng, dates.day(lo), dates.day(hi), int(sel.sum()))
    commercial = np.flatnonzero(kind == "commercial")
    if len(commercial) > 1:  # one commercial operator lost its accreditation
        acc_until[commercial[-1]] = dates.day("2021-12-31")
    # Teams: every operator has an NTS and a manual team, then a mix.
    team_org: list[int] = []
    team_method: list[str] = []
    extra = ("manual", "mechanical", "mdd", "manual", "bac")
    for o in range(1, n):
        count = max(params.teams_per_operator, 2)
        ms = ["nts", "manual"] + [extra[int(i)] for i in rng.integers(0, len(extra), count - 2)]
        team_org += [o] * count
        team_method += ms
    t = len(team_org)
    org_arr = np.array(team_org)
    method = np.array(team_method, dtype=object)
    low = np.array([CAPACITY_M2_WEEK[m][0] for m in team_method], dtype=float)
    high = np.array([CAPACITY_M2_WEEK[m][1] for m in team_method], dtype=float)
    capacity = np.round(low + rng.random(t) * (high - low), -2)
    bases = geo.settlements[rng.integers(0, len(geo.settlements), t)]
    team_name = np.array([f"{acronym[o]} {m.upper()} team {i + 1}" for i, (o, m) in
                          enumerate(zip(org_arr, method, strict=True))], dtype=object)
    return Operators(uuid=uuids(rng, n), name=name, acronym=acronym, kind=kind, accredited_from=acc_from,
                     accredited_until=acc_until, team_uuid=uuids(rng, t), team_name=team_name, team_org=org_arr,
                     team_method=method, team_capacity=capacity, team_base=shapely.points(shapely.get_coordinates(
                         bases)))
