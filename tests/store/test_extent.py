"""``Store.extent``: the bounding box of the matching records, from the spatial index (both backends)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeground.services.records import add_records
from safeground.services.workspace import Workspace
from safeground.store.base import Batch, Store

# Coordinates to 1e-7 degree (1 cm): SQLite's R*Tree rounds a bound outwards by a relative step, which does
# nothing to a subnormal such as 1e-272 (it becomes 0.0), a precision no survey has.
lon = st.floats(-79.0, -67.0).map(lambda v: round(v, 7))
lat = st.floats(-4.0, 12.0).map(lambda v: round(v, 7))


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One database of each backend for every example (each tags its own records): a new one per example costs
    seconds."""
    db = str(tmp_path_factory.mktemp("extent") / "e.gpkg") if request.param == "gpkg" else \
        request.getfixturevalue("pg_module_url")
    with Workspace.open(db, user="ana", create=True) as ws:
        yield ws


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(points=st.lists(st.tuples(lon, lat, st.booleans()), min_size=1, max_size=30))
def test_the_extent_holds_exactly_the_matching_records_rounded_outwards(shared: Workspace,
                                                                         points: list[tuple[float, float, bool]]
                                                                         ) -> None:
    tag = uuid.uuid4().hex
    batch = [{"accident_type": "mine_erw", "description": tag if keep else "other", "geometry": shapely.Point(x, y)}
             for x, y, keep in points]
    add_records(shared, "accident", Batch.from_records(batch))
    kept = [shapely.Point(x, y) for x, y, keep in points if keep]
    box = shared.store.extent("accident", where={"description": tag})
    default = Store.extent(shared.store, "accident", where={"description": tag})  # reads the geometries
    if not kept:
        assert box is None and default is None
        return
    exact = shapely.total_bounds(kept)
    assert default == tuple(exact)
    assert box is not None
    assert box[0] <= exact[0] and box[1] <= exact[1] and box[2] >= exact[2] and box[3] >= exact[3]
    assert max(abs(a - b) for a, b in zip(box, exact, strict=True)) < 3e-5  # float32, rounded outwards


def test_retired_records_and_layers_without_geometry_have_no_extent(any_db: str) -> None:
    with Workspace.open(any_db, user="ana", create=True) as ws:
        uuids = add_records(ws, "accident", Batch.from_records(
            [{"accident_type": "mine_erw", "geometry": shapely.Point(-73, 4)}])).uuids
        assert ws.store.extent("accident") is not None
        ws.store.retire("accident", uuids[0], "duplicate", user="ana")
        assert ws.store.extent("accident") is None
        assert ws.store.extent("accident", include_retired=True) is not None
        assert ws.store.extent("organisation") is None
