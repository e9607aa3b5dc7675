"""HXL export for HDX: public records only, hashtags from the declarations, casualties only as counts."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from safeground.services.demo import build_demo
from safeground.services.hxl import export_hxl
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    ws = Workspace.open(tmp_path_factory.mktemp("hxl") / "d.gpkg", user="x", create=True)
    build_demo(ws, scale="small", seed=4)
    yield ws
    ws.close()


def read(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_casualties_leave_only_as_counts(demo: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "casualties.csv"
    export_hxl(demo, "casualty", path)
    header, tags, *rows = read(path)
    assert header == ["admin1", "admin2", "month", "outcome", "status", "casualties"]
    assert tags[0].startswith("#adm1") and tags[-1] == "#affected+num"
    assert sum(int(r[-1]) for r in rows) == demo.store.count("casualty", where={"review_state": "published"},
                                                                include_retired=False)
    text = path.read_text(encoding="utf-8")
    for c in demo.store.query("casualty", geometry=False):
        for name in (c["given_name"], c["family_name"]):
            assert not name or name not in text


def test_records_carry_hxl_tags_and_only_published_rows(demo: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "hazards.csv"
    n = export_hxl(demo, "hazard_area", path)
    header, tags, *rows = read(path)
    assert n == len(rows) == demo.store.count("hazard_area", where={"review_state": "published"},
                                              include_retired=False)
    assert tags[header.index("hazard_class")] == "#indicator+class" and header[-1] == "wkt"
    assert {r[header.index("review_state")] for r in rows} == {"published"}
    assert "created_by" not in header
