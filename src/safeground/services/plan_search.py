"""Local search on the clearance plan: each team's ordered list of hazards, moved and reordered.

A plan is read as one sequence of hazards per team, worked one after another from week 0 (list
scheduling, as the greedy plans them: travel in the first week of each run, a new run after a week the team
is away, nothing after the horizon). The search tries moves on these sequences and keeps a move when the
plan's value does not fall (a move that only removes work must raise it):

- *pull*: take the hazard a target waits on longest and put it earlier, in its team or another capable one;
- *relocate*: a hazard to another place in its team or another team;
- *insert*: a hazard nobody works on into a team's sequence;
- *complete*: all the hazards nobody works on of one target (up to four), each into a capable team;
- *advance*: all the worked hazards of one target, each moved earlier in its team's sequence at once (a
  settlement waits on its last hazard, so moving one alone rarely gains);
- *swap*: two neighbours in a team's sequence;
- *remove*: a hazard out of its team's sequence, freeing the weeks after it.

Only the changed teams are scheduled again from the first changed place, and only the targets of hazards
whose release week changed are valued again, so a move costs tens of microseconds. Every hazard is worked
by one team, so the sharing rule holds; the result goes through ``check_plan`` in the tests.

>>> from safeground.domain.plan import Hazard, PlanInstance, Target, Team, plan_value
>>> from safeground.services.plan_greedy import greedy_plan
>>> inst = PlanInstance((Hazard("A", 400.0, {"manual": 1.0}), Hazard("B", 900.0, {"manual": 1.0})),
...                     (Team("T", "manual", 500.0),), (Target("S", "settlement", ("A",), households=5),), 3)
>>> result = local_search(inst, greedy_plan(inst), time_limit=1.0, seed=1)
>>> plan_value(inst, result.plan) == result.value >= plan_value(inst, greedy_plan(inst))
True
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from safeground.domain.plan import Assignment, Plan, PlanInstance, plan_value

_EPS = 1e-9


@dataclass(frozen=True)
class SearchResult:
    """The best plan found, its value, the moves tried and kept, and ``(seconds, value)`` at each gain."""

    plan: Plan
    value: float
    tried: int
    kept: int
    progress: tuple[tuple[float, float], ...]


class _State:
    """Team sequences, their schedules and the release week of every hazard."""

    def __init__(self, instance: PlanInstance, sequences: list[list[int]]) -> None:
        self.inst = instance
        self.horizon = instance.horizon
        teams, hazards = instance.teams, instance.hazards
        self.areas = [h.area_m2 for h in hazards]
        self.hv = [instance.hazard_value(h) for h in hazards]
        index = {h.id: i for i, h in enumerate(hazards)}
        self.capable: list[list[int]] = [[] for _ in hazards]
        self.rate: list[dict[int, float]] = []
        self.loss: list[dict[int, float]] = []
        for ti, team in enumerate(teams):
            rates, losses = {}, {}
            for hi, hazard in enumerate(hazards):
                r = instance.rate(team, hazard)
                if r > 0:
                    rates[hi], losses[hi] = r, instance.loss(team, hazard)
                    self.capable[hi].append(ti)
            self.rate.append(rates)
            self.loss.append(losses)
        self.avail = [[team.available(w) for w in range(self.horizon)] for team in teams]
        self.targets = [([index[h] for h in t.blocking], t) for t in instance.targets]
        self.targets_of: list[list[int]] = [[] for _ in hazards]
        for k, (blocking, _) in enumerate(self.targets):
            for hi in blocking:
                self.targets_of[hi].append(k)
        w = instance.weights
        self.settle = [w.households * t.households if t.kind == "settlement" else 0.0 for _, t in self.targets]
        self.project = [w.project * t.value if t.kind != "settlement" else 0.0 for _, t in self.targets]
        self.deadline = [min(t.deadline_week, self.horizon - 1) for _, t in self.targets]
        self.seq = sequences
        self.team_of: list[int] = [-1] * len(hazards)
        self.released: list[int | None] = [None] * len(hazards)
        self.ends: list[list[int]] = []  # first free week after each place of each team's sequence
        for ti, seq in enumerate(sequences):
            for hi in seq:
                self.team_of[hi] = ti
            ends, rel = self.schedule(ti, seq, 0, 0)
            self.ends.append(ends)
            for hi, week in rel.items():
                self.released[hi] = week
        get = self.released.__getitem__
        self.tval = [self.target_value(k, get) for k in range(len(self.targets))]
        self.missing = [sum(self.released[hi] is None for hi in blocking) for blocking, _ in self.targets]
        self.pending: dict[int, tuple[int, float]] = {}
        self.value = self.total()

    def run(self, ti: int, hi: int, week: int) -> int:
        """The week after ``team`` finishes ``hazard`` started at ``week`` (``horizon + 1`` if it cannot)."""
        rate, loss, avail, horizon = self.rate[ti][hi], self.loss[ti][hi], self.avail[ti], self.horizon
        left, first = self.areas[hi], True
        while left > 1e-9:
            if week >= horizon:
                return horizon + 1
            if not avail[week]:
                week, first = week + 1, True
                continue
            left -= rate * (1.0 - loss) if first else rate
            week, first = week + 1, False
        return week

    def schedule(self, ti: int, seq: Sequence[int], start: int, week: int, old_ends: Sequence[int] = (),
                 settled: int | None = None) -> tuple[list[int], dict[int, int | None]]:
        """Schedule ``seq[start:]`` from ``week``: the free week after each place and the release weeks. From
        place ``settled`` on, where ``seq`` is the old sequence again, it stops as soon as the free week is
        the old one (the rest of the schedule is unchanged); the caller keeps the old ends from there."""
        ends: list[int] = []
        rel: dict[int, int | None] = {}
        for place in range(start, len(seq)):
            hi = seq[place]
            end = self.run(ti, hi, week) if week < self.horizon else self.horizon + 1
            if end > self.horizon:
                rel[hi] = None
                week = self.horizon
            else:
                rel[hi], week = end - 1, end
            ends.append(week)
            if settled is not None and place + 1 >= settled and week == old_ends[place]:
                break
        return ends, rel

    def target_value(self, k: int, released: Callable[[int], int | None]) -> float:
        blocking = self.targets[k][0]
        week = 0
        for hi in blocking:
            r = released(hi)
            if r is None:
                return 0.0
            week = max(week, r)
        if self.settle[k]:
            return self.settle[k] * (self.horizon - week)
        return self.project[k] if week <= self.deadline[k] else 0.0

    def total(self) -> float:
        value = sum(self.hv[hi] * (self.horizon - r) for hi, r in enumerate(self.released) if r is not None)
        get = self.released.__getitem__
        return value + sum(self.target_value(k, get) for k in range(len(self.targets)))

    def delta(self, changed: dict[int, int | None]) -> float:
        """The change in value if the hazards in ``changed`` were released in the given weeks. A target
        with a hazard still unreleased is worth 0 and is not valued again; the targets' new state is kept
        for :meth:`commit`."""
        d = 0.0
        released, horizon = self.released, self.horizon
        step: dict[int, int] = {}
        for hi, new in changed.items():
            old = released[hi]
            if new != old:
                d += self.hv[hi] * ((horizon - new if new is not None else 0) -
                                    (horizon - old if old is not None else 0))
                s = (new is None) - (old is None)
                for k in self.targets_of[hi]:
                    step[k] = step.get(k, 0) + s

        def after(hi: int) -> int | None:
            return changed[hi] if hi in changed else released[hi]

        pending: dict[int, tuple[int, float]] = {}
        for k, s in step.items():
            missing = self.missing[k] + s
            value = 0.0 if missing else self.target_value(k, after)
            pending[k] = (missing, value)
            d += value - self.tval[k]
        self.pending = pending
        return d

    def propose(self, edits: dict[int, tuple[list[int], int]]) -> tuple[float, dict[int, tuple[list[int], list[int]]],
                                                                          dict[int, int | None]]:
        """Value change of new sequences ``edits[team] = (sequence, first changed place)``."""
        changed: dict[int, int | None] = {}
        new: dict[int, tuple[list[int], list[int]]] = {}
        for ti, (seq, at) in edits.items():
            week = self.ends[ti][at - 1] if at > 0 else 0
            old = self.ends[ti]
            settled = None
            before = self.seq[ti]
            if len(seq) == len(before):  # from where the sequence is the old one again
                settled = len(seq)
                while settled > at and seq[settled - 1] == before[settled - 1]:
                    settled -= 1
            ends, rel = self.schedule(ti, seq, at, week, old, settled)
            new[ti] = (seq, old[:at] + ends + (old[at + len(ends):] if settled is not None else []))
            changed.update(rel)
        kept = {hi for seq, _ in edits.values() for hi in seq}
        for ti in edits:
            for hi in self.seq[ti]:
                if hi not in kept:
                    changed[hi] = None  # left this team and joined no other
        return self.delta(changed), new, changed

    def commit(self, d: float, new: dict[int, tuple[list[int], list[int]]], changed: dict[int, int | None]) -> None:
        for ti in new:
            for hi in self.seq[ti]:
                self.team_of[hi] = -1
        for ti, (seq, ends) in new.items():
            self.seq[ti], self.ends[ti] = seq, ends
            for hi in seq:
                self.team_of[hi] = ti
        for hi, r in changed.items():
            self.released[hi] = r
        for k, (missing, value) in self.pending.items():
            self.missing[k], self.tval[k] = missing, value
        self.value += d

    def plan(self) -> Plan:
        """The assignments of the current sequences (work past the horizon left out)."""
        out: list[Assignment] = []
        team_ids = [t.id for t in self.inst.teams]
        hazard_ids = [h.id for h in self.inst.hazards]
        for ti, seq in enumerate(self.seq):
            week = 0
            for hi in seq:
                rate, loss, avail = self.rate[ti][hi], self.loss[ti][hi], self.avail[ti]
                left, first = self.areas[hi], True
                while left > 1e-9 and week < self.horizon:
                    if not avail[week]:
                        week, first = week + 1, True
                        continue
                    area = min(left, rate * (1.0 - loss) if first else rate)
                    out.append(Assignment(team_ids[ti], hazard_ids[hi], week, area))
                    left -= area
                    week, first = week + 1, False
        return Plan(tuple(sorted(out, key=lambda a: (a.team_id, a.week))))


def sequences_plan(instance: PlanInstance, sequences: Sequence[Sequence[int]]) -> Plan:
    """The plan that works each team's hazards (indices into ``instance.hazards``) in the order given, one
    after another from week 0 (list scheduling; work past the horizon is left out).

    >>> from safeground.domain.plan import Hazard, PlanInstance, Team
    >>> inst = PlanInstance((Hazard("A", 400.0, {"manual": 1.0}), Hazard("B", 900.0, {"manual": 1.0})),
    ...                     (Team("T", "manual", 500.0),), (), 3)
    >>> [(a.hazard_id, a.week, a.area_m2) for a in sequences_plan(inst, [[1, 0]]).assignments]
    [('B', 0, 500.0), ('B', 1, 400.0), ('A', 2, 400.0)]
    """
    return _State(instance, [list(s) for s in sequences]).plan()


def _sequences(instance: PlanInstance, plan: Plan) -> list[list[int]]:
    """Each team's hazards in the order it starts them; a hazard worked by two teams stays with the first."""
    index = {h.id: i for i, h in enumerate(instance.hazards)}
    team_index = {t.id: i for i, t in enumerate(instance.teams)}
    seqs: list[list[int]] = [[] for _ in instance.teams]
    seen: set[int] = set()
    for a in sorted(plan.assignments, key=lambda a: (a.week, a.team_id)):
        hi = index[a.hazard_id]
        if hi not in seen:
            seen.add(hi)
            seqs[team_index[a.team_id]].append(hi)
    return seqs


def local_search(instance: PlanInstance, plan: Plan, time_limit: float = 10.0, seed: int = 0,
                 on_gain: Callable[[float], None] | None = None, patience: int | None = None) -> SearchResult:
    """Improve ``plan`` by moves on the teams' sequences until ``time_limit`` seconds, or until ``patience``
    moves in a row (default ``max(2000, 20 × hazards)``) raised nothing; the returned value is never below
    the value of ``plan`` read as sequences (equal to it for greedy plans, which are list schedules).
    ``on_gain(value)`` is called after each kept move that raises the value."""
    began = time.monotonic()
    rnd = random.Random(seed)
    state = _State(instance, _sequences(instance, plan))
    n_hazards, n_teams = len(instance.hazards), len(instance.teams)
    progress = [(0.0, state.value)]
    tried = kept = 0
    if not n_hazards or not n_teams:
        best = state.plan()
        return SearchResult(best, plan_value(instance, best), 0, 0, tuple(progress))
    valued_targets = [k for k in range(len(state.targets)) if state.settle[k] or state.project[k]]

    def insert_edits(hi: int, ti: int, pos: int) -> dict[int, tuple[list[int], int]]:
        edits: dict[int, tuple[list[int], int]] = {}
        src = state.team_of[hi]
        if src >= 0:
            old = state.seq[src]
            at = old.index(hi)
            if src == ti:
                seq = old[:at] + old[at + 1:]
                seq.insert(pos, hi)
                return {ti: (seq, min(at, pos))}
            edits[src] = (old[:at] + old[at + 1:], at)
        seq = list(state.seq[ti])
        seq.insert(pos, hi)
        edits[ti] = (seq, pos)
        return edits

    def complete(k: int) -> tuple[dict[int, tuple[list[int], int]], bool] | None:
        """Insert every unreleased hazard of target ``k`` that nobody works on, each into a capable team."""
        missing = [hi for hi in state.targets[k][0] if state.released[hi] is None]
        if not missing or len(missing) > 4 or any(state.team_of[hi] >= 0 or not state.capable[hi]
                                                  for hi in missing):
            return None
        edits: dict[int, tuple[list[int], int]] = {}
        for hi in missing:
            ti = rnd.choice(state.capable[hi])
            seq, at = edits.get(ti, (list(state.seq[ti]), len(state.seq[ti])))
            pos = rnd.randint(0, len(seq))
            seq.insert(pos, hi)
            edits[ti] = (seq, min(at, pos))
        return edits, False

    def advance(k: int) -> tuple[dict[int, tuple[list[int], int]], bool] | None:
        """Move every worked hazard of target ``k`` earlier in its team's sequence, all at once."""
        edits: dict[int, tuple[list[int], int]] = {}
        for hi in state.targets[k][0]:
            ti = state.team_of[hi]
            if ti < 0:
                continue
            seq, at = edits.get(ti, (list(state.seq[ti]), len(state.seq[ti])))
            old = seq.index(hi)
            if old == 0:
                continue
            pos = rnd.randint(0, old - 1)
            seq.pop(old)
            seq.insert(pos, hi)
            edits[ti] = (seq, min(at, pos))
        return (edits, False) if edits else None

    def move() -> tuple[dict[int, tuple[list[int], int]], bool] | None:
        kind = rnd.random()
        if 0.40 <= kind < 0.45 and valued_targets:
            return advance(rnd.choice(valued_targets))
        if kind < 0.45 and valued_targets:
            k = rnd.choice(valued_targets)
            blocking = state.targets[k][0]
            late = [hi for hi in blocking if state.released[hi] is None]
            hi = rnd.choice(late) if late else max(blocking, key=lambda h: state.released[h] or 0)
        else:
            hi = rnd.randrange(n_hazards)
        if 0.35 <= kind < 0.40 and valued_targets:
            return complete(rnd.choice(valued_targets))
        if 0.45 <= kind < 0.65:
            ti = rnd.randrange(n_teams)
            seq = state.seq[ti]
            if len(seq) < 2:
                return None
            at = rnd.randrange(len(seq) - 1)
            swapped = [*seq[:at], seq[at + 1], seq[at], *seq[at + 2:]]
            return {ti: (swapped, at)}, False
        if not state.capable[hi]:
            return None
        src = state.team_of[hi]
        if kind > 0.92 and src >= 0:
            old = state.seq[src]
            at = old.index(hi)
            return {src: (old[:at] + old[at + 1:], at)}, True
        ti = src if src >= 0 and rnd.random() < 0.3 else rnd.choice(state.capable[hi])
        seq = state.seq[ti]
        limit = len(seq) if src != ti else len(seq) - 1
        if src == ti and (state.released[hi] is not None):
            limit = seq.index(hi)  # same team: only earlier places help a released hazard
        pos = rnd.randint(0, max(0, limit))
        return insert_edits(hi, ti, pos), False

    patience = max(2000, 20 * n_hazards) if patience is None else patience
    since_gain = 0
    while time.monotonic() - began < time_limit and since_gain < patience:
        for _ in range(200):
            since_gain += 1
            proposal = move()
            if proposal is None:
                continue
            edits, removal = proposal
            tried += 1
            d, new, changed = state.propose(edits)
            if d > _EPS or (d > -_EPS and not removal):
                state.commit(d, new, changed)
                kept += 1
                if d > _EPS:
                    since_gain = 0
                    progress.append((time.monotonic() - began, state.value))
                    if on_gain is not None:
                        on_gain(state.value)
    best = state.plan()
    return SearchResult(best, plan_value(instance, best), tried, kept, tuple(progress))
