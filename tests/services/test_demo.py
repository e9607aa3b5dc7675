"""The demo use case: the seeded scenario written through the one door for writes, with its truth kept apart; on
both backends (a server database's side files go beside ``side_path``, in the working folder)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
import shapely
from tests.conftest import backend_db, backend_of

from safeground.domain.config import Config
from safeground.domain.errors import SafeGroundError
from safeground.domain.records import LAYERS
from safeground.scenario import generate
from safeground.scenario.truth import CONTEXT_LAYERS, TRUTH_LAYERS, read_layer
from safeground.services.demo import DemoSummary, build_demo
from safeground.services.workspace import Workspace

TIMESTAMPS = {"created_at", "updated_at"}


Built = tuple[Workspace, DemoSummary, list[tuple[str, int, int]]]


@pytest.fixture(scope="module")
def demo(any_module_db: str) -> Iterator[Built]:
    ws = Workspace.open(any_module_db, user="demo", create=True)
    steps: list[tuple[str, int, int]] = []
    summary = build_demo(ws, scale="small", seed=1, progress=lambda *step: steps.append(step))
    yield ws, summary, steps
    ws.close()


def test_counts_in_the_database_equal_the_generator_counts(demo: Built) -> None:
    ws, summary, _steps = demo
    expected = generate("small", seed=1).counts()
    assert set(expected) == set(LAYERS)
    assert summary.counts == expected
    assert {layer: ws.store.count(layer) for layer in LAYERS} == expected
    assert summary.to_dict()["counts"] == expected


def test_progress_reports_every_step(demo: Built) -> None:
    _ws, _summary, steps = demo
    done = [d for _n, d, _t in steps]
    assert done == list(range(1, len(steps) + 1))
    assert {t for _n, _d, t in steps} == {len(steps)}
    assert {n for n, _d, _t in steps} >= set(LAYERS) | {"generate", "truth", "context"}


def test_config_is_set_to_colombia(demo: Built) -> None:
    ws, _summary, _steps = demo
    assert ws.config.country == "COL"


def test_a_second_build_into_the_same_database_is_refused(demo: Built) -> None:
    ws, _summary, _steps = demo
    before = ws.store.count("hazard_area")
    with pytest.raises(SafeGroundError) as exc:
        build_demo(ws)
    assert exc.value.code == "demo.not_empty" and exc.value.hint
    assert ws.store.count("hazard_area") == before


def test_a_database_for_another_country_is_refused(any_db: str) -> None:
    ws = Workspace.open(any_db, user="ana", create=True)
    ws.set_config(Config(country="UKR"))
    with pytest.raises(SafeGroundError) as exc:
        build_demo(ws)
    assert exc.value.code == "demo.wrong_country" and exc.value.hint
    assert ws.store.count("organisation") == 0
    side = ws.store.side_path
    assert not side.with_name(side.stem + ".truth.gpkg").exists()
    ws.close()


def _layers(ws: Workspace) -> set[str]:
    """The tables of the database: the GeoPackage's layers as GDAL lists them, or the server database's tables."""
    if backend_of(ws.store.location) == "gpkg":
        return set(pyogrio.list_layers(ws.store.location)[:, 0])
    rows = ws.store.connection.execute(  # type: ignore[attr-defined]
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return {r[0] for r in rows}


def test_truth_is_a_separate_file_the_database_cannot_read(demo: Built) -> None:
    ws, summary, _steps = demo
    db = ws.store.side_path
    assert summary.truth_path == db.with_name(db.stem + ".truth.gpkg")
    assert summary.context_path == db.with_name(db.stem + ".context.gpkg")
    main_layers = _layers(ws)
    assert "hazard_area" in main_layers
    truth_layers = set(pyogrio.list_layers(summary.truth_path)[:, 0])
    assert truth_layers == set(TRUTH_LAYERS)
    assert not main_layers & truth_layers
    assert set(pyogrio.list_layers(summary.context_path)[:, 0]) == set(CONTEXT_LAYERS)
    with pytest.raises(SafeGroundError) as exc:
        Workspace.open(summary.truth_path)
    assert exc.value.code == "store.not_safeground"
    assert not list(db.parent.glob("*.partial.gpkg"))


def test_truth_matches_what_the_database_holds(demo: Built) -> None:
    ws, summary, _steps = demo
    assert summary.truth_path is not None
    mine = read_layer(summary.truth_path, "mine")
    found = mine.fields["fate"] == "found"
    assert found.sum() == ws.store.count("device")
    device_uuids = {r["uuid"] for r in ws.store.query("device", geometry=False)}
    assert set(mine.fields["device_uuid"][found].tolist()) == device_uuids
    hazards = read_layer(summary.truth_path, "hazard_truth")
    assert set(hazards.fields["hazard_uuid"].tolist()) == {r["uuid"] for r in ws.store.query("hazard_area",
                                                                                              geometry=False)}
    # The true minefields are not the hazards: the database never holds a true polygon.
    truth_polys = read_layer(summary.truth_path, "minefield").geometry
    assert truth_polys is not None
    stored = [r["geometry"] for r in ws.store.query("hazard_area")]
    assert not any(shapely.equals(t, h) for t in truth_polys[:20] for h in stored)


def test_every_released_area_obeys_the_release_rules(demo: Built) -> None:
    ws, _summary, _steps = demo
    st = ws.store
    acts = {a["uuid"]: a for a in st.query("activity", geometry=False)}
    hazards = {h["uuid"]: h for h in st.query("hazard_area", geometry=False)}
    orgs = {o["uuid"]: o for o in st.query("organisation")}
    devices = Counter(d["activity"] for d in st.query("device", geometry=False))
    qc_pass: dict[str, list[str]] = {}
    for i in st.query("qm_inspection", geometry=False):
        if i["kind"] == "qc" and i["result"] == "pass":
            qc_pass.setdefault(i["activity"], []).append(i["inspection_date"])
    evidence = Counter(e["hazard"] for e in st.query("evidence", geometry=False))
    released = st.query("released_area", geometry=False)
    kinds = Counter(r["kind"] for r in released)
    assert kinds["cancelled"] and kinds["reduced"] and kinds["cleared"], kinds
    statuses = Counter(r["release_status"] for r in released)
    assert statuses["released"] and statuses["awaiting_qc"] + statuses["awaiting_approval"], statuses
    for r in released:
        act = acts[r["activity"]]
        assert act["hazard"] == r["hazard"]
        if r["kind"] == "cancelled":
            assert act["activity_type"] == "nts" and act["evidence_found"] is False
            assert r["released_on"] == act["report_approved_on"]
            continue
        assert act["activity_type"] == ("ts" if r["kind"] == "reduced" else "clearance")
        assert act["assets"] and devices.get(act["uuid"], 0) == act["devices_found"]
        assert r["released_on"] == (min(qc_pass[act["uuid"]]) if act["uuid"] in qc_pass else None)
        if r["kind"] == "cleared":
            org = orgs[act["organisation"]]
            assert hazards[r["hazard"]]["hazard_class"] == "cha"
            assert act["depth_cm"] >= 10
            assert org["accredited_from"] <= act["start_date"]
            assert org["accredited_until"] is None or act["start_date"] <= org["accredited_until"]
    for a in acts.values():
        if a["activity_type"] in ("ts", "clearance", "bac"):
            assert evidence[a["hazard"]] > 0


def test_hazard_status_follows_the_released_land(demo: Built) -> None:
    ws, _summary, _steps = demo
    status: Counter[str] = Counter()
    for h in ws.store.query("hazard_area", geometry=False):
        status[h["status"]] += 1
        assert (h["status"] == "closed") == (h["remaining_area_m2"] <= 1.0)
        assert 0 <= h["remaining_area_m2"] <= h["area_m2"] + 1e-6
    assert status["closed"] and status["open"] and status["worked_on"], status


def test_casualties_have_the_monitor_breakdown(demo: Built) -> None:
    ws, _summary, _steps = demo
    rows = ws.store.query("casualty")
    assert {r["status"] for r in rows} == {"civilian", "military", "deminer"}
    assert {r["outcome"] for r in rows} >= {"killed", "injured"}
    assert {r["sex"] for r in rows} >= {"female", "male"}
    assert any(r["age"] is None for r in rows) and any(r["age_group"] == "child" for r in rows)
    assert all(r["given_name"] and r["family_name"] for r in rows)


def test_same_seed_builds_an_identical_database(tmp_path: Path, demo: Built, request: pytest.FixtureRequest,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ws, _summary, _steps = demo
    monkeypatch.chdir(tmp_path)
    db = backend_db(backend_of(ws.store.location), tmp_path, "again", request)
    with Workspace.open(db, user="demo", create=True) as again:
        build_demo(again, scale="small", seed=1)
        for layer in ("hazard_area", "released_area", "device", "casualty", "priority_target"):
            a = ws.store.query(layer, order_by="source_id")
            b = again.store.query(layer, order_by="source_id")
            assert len(a) == len(b)
            for x, y in zip(a, b, strict=True):
                gx, gy = x.pop("geometry", None), y.pop("geometry", None)
                assert {k: v for k, v in x.items() if k not in TIMESTAMPS} == \
                       {k: v for k, v in y.items() if k not in TIMESTAMPS}
                assert (gx is None and gy is None) or shapely.equals_exact(gx, gy, 0.0)


def test_a_failed_build_leaves_no_records_and_no_side_files(any_db: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from safeground.services import demo as demo_module

    real = demo_module.add_records

    def fail_on_devices(ws: Workspace, layer: str, *args: object, **kwargs: object) -> object:
        if layer == "device":
            raise SafeGroundError("test.injected", "disk full", hint="free some space")
        return real(ws, layer, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(demo_module, "add_records", fail_on_devices)
    ws = Workspace.open(any_db, user="demo", create=True)
    try:
        with pytest.raises(SafeGroundError, match="disk full"):
            build_demo(ws, scale="small", seed=2)
        assert {layer: ws.store.count(layer) for layer in LAYERS} == dict.fromkeys(LAYERS, 0)
        assert list(ws.store.changes_since(0)) == []
        assert ws.store.read_config_text() is None
    finally:
        ws.close()
    assert [p.name for p in tmp_path.iterdir() if str(p) != any_db] == []  # side files go to tmp_path either way
