"""The in-memory matching of a read-only database gives exactly the matches ``minefields match`` stores."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import db_content

from safeground.domain.errors import ValidationError
from safeground.services.demo import build_demo
from safeground.services.minefields import compute_minefield_matches, match_minefield_records
from safeground.services.workspace import Workspace


def _key(m: dict[str, Any]) -> tuple[Any, ...]:
    overlap = None if m["overlap_m2"] is None else round(m["overlap_m2"], 3)
    return (m["minefield_record"], m["layer"], m["uuid"], bool(m["inside"]), round(m["distance_m"], 6),
            m["quantity"], overlap)


@pytest.mark.parametrize("search_m", [0.0, 150.0, 500.0])
def test_in_memory_matches_equal_the_stored_ones_on_the_demo(any_db: str, search_m: float) -> None:
    path = any_db
    with Workspace.open(path, user="ana", create=True) as ws:
        build_demo(ws, scale="small", seed=11)
        match_minefield_records(ws, search_m=search_m)
    before = db_content(path)
    with Workspace.open(path, read_only=True) as ws:
        memory = compute_minefield_matches(ws, search_m=search_m)
        stored = ws.store.minefield_matches()
    assert db_content(path) == before
    assert sorted(map(_key, memory)) == sorted(map(_key, stored))
    assert {m["layer"] for m in memory} == {"activity", "device"}  # the demo has both kinds of match
    assert {m["search_m"] for m in memory} == {search_m}


def test_a_search_distance_out_of_range_is_refused(any_db: str) -> None:
    with Workspace.open(any_db, user="ana", create=True) as ws, \
            pytest.raises(ValidationError) as info:
        compute_minefield_matches(ws, search_m=20_000)
    assert info.value.code == "minefield.bad_search_distance"
