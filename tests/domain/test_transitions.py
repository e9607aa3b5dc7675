"""Each transition table: every allowed change passes, every other change between known states is refused."""

from __future__ import annotations

import itertools

import pytest

from safeground.domain import vocabularies as voc
from safeground.domain.errors import TransitionError
from safeground.domain.transitions import TABLES, TransitionTable, check_transition

STATES = {
    "hazard_status": voc.HAZARD_STATUS.codes,
    "hazard_class": voc.HAZARD_CLASS.codes,
    "review_state": voc.REVIEW_STATE.codes,
    "release_status": voc.RELEASE_STATUS.codes,
}

ALLOWED = [(t, a, b) for t in TABLES for (a, b) in t.allowed]
REFUSED = [(t, a, b) for t in TABLES for a, b in itertools.permutations(STATES[t.name], 2)
           if (a, b) not in t.allowed]


def test_every_table_uses_only_vocabulary_states() -> None:
    for t in TABLES:
        for a, b in t.allowed:
            assert a in STATES[t.name] and b in STATES[t.name], (t.name, a, b)
            assert t.allowed[(a, b)].strip(), "each transition documents why it is allowed"


@pytest.mark.parametrize(("table", "old", "new"), ALLOWED, ids=lambda v: getattr(v, "name", v))
def test_allowed_transition_passes(table: TransitionTable, old: str, new: str) -> None:
    check_transition(table, old, new)


@pytest.mark.parametrize(("table", "old", "new"), REFUSED, ids=lambda v: getattr(v, "name", v))
def test_other_transition_is_refused_with_the_table_named(table: TransitionTable, old: str, new: str) -> None:
    with pytest.raises(TransitionError) as info:
        check_transition(table, old, new)
    err = info.value
    assert err.code == f"transition.{table.name}"
    assert err.status == 409
    assert old in err.message and new in err.message
    assert err.hint


def test_released_land_never_goes_back() -> None:
    from safeground.domain.transitions import RELEASE_STATUS

    assert RELEASE_STATUS.targets("released") == []
