"""Risk surfaces on the demo scenario: positive-unlabelled fit, stored cells, adoption, targets, ground truth."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from safeground.domain.errors import ValidationError
from safeground.scenario.truth import truth_path
from safeground.services.risk_evaluate import recall_at
from safeground.services.risk_features import evidence_features
from safeground.services.risk_layers import layer_features, layers_for
from safeground.services.risk_model import ModelSettings
from safeground.services.risk_pu import fit_pu_model, label_frequency, unlabelled_weight
from safeground.services.risk_runs import adopt
from safeground.services.risk_surface import Surface, make_surface, write_surface
from safeground.services.risk_targets import survey_targets
from safeground.services.workspace import Workspace

SMALL = ModelSettings(trees=30, grid=((7, 20),), inner_folds=3, start_from_baseline=True)
AS_OF = dt.date(2025, 12, 31)
DEMO_BOX = "-72.6,4.6,-71.4,5.8"  # the small demo's whole region


@pytest.fixture(scope="module")
def demo_copy(any_small_demo: str) -> Iterator[Workspace]:
    """A writable copy of the small demo, on each backend in turn."""
    with Workspace.open(any_small_demo, user="ana") as ws:
        yield ws


@pytest.fixture(scope="module")
def surface(demo_copy: Workspace) -> Surface:
    """The surface with the demo's configured context layers (line of contact, roads, rivers, bridges,
    settlements)."""
    return make_surface(demo_copy, as_of=AS_OF, cell_size=2000, area=DEMO_BOX, settings=SMALL,
                        layers=layers_for(demo_copy))


def test_a_surface_is_stored_with_every_cell_and_only_it_can_become_current(demo_copy: Workspace,
                                                                            surface: Surface) -> None:
    run = surface.run
    assert (run["kind"], run["cells_source"], run["current"], run["as_of"]) == ("surface", "grid", False,
                                                                               "2025-12-31")
    cells = list(demo_copy.store.risk_cells(run["id"]))
    assert len(cells) == run["cell_count"] == len(surface.cells.ids) > 3000  # 130 km square in 2 km cells
    assert [c["cell_id"] for c in cells[:3]] == surface.cells.ids[:3].tolist()
    assert all(c["geometry"].geom_type == "Polygon" for c in cells[:100])
    risk = np.array([c["risk"] for c in cells])
    assert ((risk > 0) & (risk < 1)).all()
    # Reasons: a JSON list of up to three plain-language strings per cell.
    assert all(isinstance(c["reasons"], list) and 1 <= len(c["reasons"]) <= 3 for c in cells)
    assert all(isinstance(t, str) and t.startswith(("raises risk: ", "lowers risk: ", "served baseline: "))
               for c in cells[:200] for t in c["reasons"])
    riskiest = cells[int(np.argmax(risk))]
    assert any(" km from a" in t for t in riskiest["reasons"]), riskiest["reasons"]
    # Labels come from the five years before the cut-off; the fit used features known at their start.
    assert run["parameters"]["fitted_as_of"] == "2020-12-31"
    assert surface.labels["positive"] > 0 and surface.labels["unknown"] > 0.9 * len(cells)
    assert run["metrics"]["served"] == surface.model.served
    current = adopt(demo_copy, run["id"])
    assert current["current"] and demo_copy.store.risk_runs(current=True)[0]["id"] == run["id"]


def test_out_writes_the_cells_as_a_geopackage_layer(surface: Surface, tmp_path: Path) -> None:
    path = write_surface(tmp_path / "risk.gpkg", surface)
    df = pyogrio.read_dataframe(path, layer="risk_cell")
    assert len(df) == len(surface.cells.ids) and list(df.columns) == ["cell_id", "risk", "reasons", "geometry"]
    assert df.crs.to_epsg() == 4326
    np.testing.assert_allclose(df["risk"].to_numpy(), surface.risk)
    assert json.loads(df["reasons"].iloc[0]) and df["cell_id"].iloc[0].startswith("E")
    with pytest.raises(ValidationError) as info:
        write_surface(tmp_path / "risk.csv", surface)
    assert info.value.code == "risk.bad_out"


def test_targets_are_clusters_of_adjacent_top_cells_ranked_by_expected_finds(demo_copy: Workspace,
                                                                             surface: Surface) -> None:
    _, targets = survey_targets(demo_copy, run_id=surface.run["id"], top_share=0.05)
    top = np.argsort(-surface.risk, kind="stable")[: int(np.ceil(0.05 * len(surface.risk)))]
    chosen = [c for t in targets for c in t.cells]
    assert sorted(chosen) == sorted(surface.cells.ids[top].tolist())  # exactly the top 5%, each cell once
    assert sum(t.expected_finds for t in targets) == pytest.approx(float(surface.risk[top].sum()))
    assert [t.rank for t in targets] == list(range(1, len(targets) + 1))
    assert all(a.expected_finds >= b.expected_finds for a, b in itertools.pairwise(targets))
    index = {c: i for i, c in enumerate(surface.cells.ids.tolist())}
    for t in targets:
        polys = surface.cells.polygons[[index[c] for c in t.cells]]
        assert shapely.union_all(shapely.buffer(polys, 1e-7)).geom_type == "Polygon"  # one patch (corners join)
        assert t.area_m2 == pytest.approx(len(t.cells) * 4e6, rel=0.01)  # 2 km cells
        assert t.words().startswith(f"{t.rank}. {len(t.cells)} cell")
    others = [t for t in targets if len(t.cells) == 1]
    assert all(shapely.distance(surface.cells.polygons[index[a.cells[0]]],
                                surface.cells.polygons[index[b.cells[0]]]) > 0
               for a, b in itertools.pairwise(others))
    with pytest.raises(ValidationError) as info:
        survey_targets(demo_copy, run_id=surface.run["id"], top_share=1.5)
    assert info.value.code == "risk.bad_share"


@settings(max_examples=50, deadline=None)
@given(g=st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 0.999)), min_size=1, max_size=50),
       c=st.floats(0.01, 1.0))
def test_an_unlabelled_cell_is_weighed_as_a_hidden_positive_never_as_a_plain_negative(g: list[float],
                                                                                      c: float) -> None:
    w = unlabelled_weight(np.array(g), c)
    assert ((w >= 0) & (w <= 1)).all()
    order = np.argsort(g, kind="stable")
    assert (np.diff(w[order]) >= -1e-12).all()  # the likelier a find, the more it weighs as a positive
    # Only where the first stage gives it no chance at all is an unlabelled cell wholly a negative.
    assert ((w > 0) == ((np.array(g) > 0) & (c < 1))).all()


def test_unlabelled_cells_are_not_negatives_in_the_fit(demo_copy: Workspace, surface: Surface) -> None:
    ws = demo_copy
    past = evidence_features(ws, surface.cells.points, dt.date(2020, 12, 31), crs=surface.cells.crs)
    from safeground.services.risk_labels import area_labels

    labels, _ = area_labels(ws, surface.cells.polygons, AS_OF, since=dt.date(2020, 12, 31))
    pu = fit_pu_model(past.values, labels, past.names, SMALL, surface.cells.blocks)
    c = pu.chosen["label_frequency"]
    assert 0 < c < 1 and pu.chosen["expected_hidden_positives"] > 0
    # Calling every unlabelled cell a negative is a different fit: it gives the land nobody surveyed a lower
    # mean risk than the positive-unlabelled fit does.
    as_negatives = np.nan_to_num(labels, nan=0.0)
    naive = fit_pu_model(past.values, as_negatives, past.names, SMALL, surface.cells.blocks)
    unl = np.isnan(labels)
    assert pu.risk(past.values)[unl].mean() > naive.risk(past.values)[unl].mean()
    assert label_frequency(labels == 1, np.where(labels == 1, 0.5, 0.0)) == 0.5


def test_the_surface_on_the_scenario_ground_truth(demo_copy: Workspace, surface: Surface) -> None:
    """Scored against the scenario's true mines, which nothing in the fit can read, with the context layers as
    features and the context prior (where evidence known at the fit's cut-off turns up, given the layers). The
    served score must beat the nearest evidence of any type, the strongest ruler, on both ROC-AUC and the share
    of mine cells in the top 10% of cells: the mine cells the ruler misses lie kilometres from any evidence,
    near the line of contact, where only the prior ranks them (docs/design.md)."""
    from sklearn.metrics import roc_auc_score

    assert {"ctx_contact_dist", "ctx_contact_side", "ctx_road_dist", "ctx_bridge_dist"} <= set(surface.model.names)
    assert surface.run["parameters"]["layers"][0].startswith("contact=")
    truth = truth_path(demo_copy.store.side_path)
    mines = pyogrio.read_dataframe(truth, layer="mine")
    hit = shapely.STRtree(surface.cells.polygons).query(mines.geometry.values, predicate="intersects")[1]
    y = np.zeros(len(surface.risk))
    y[np.unique(hit)] = 1
    assert y.sum() > 20
    now = evidence_features(demo_copy, surface.cells.points, AS_OF, crs=surface.cells.crs)
    ruler = -now.values[:, now.names.index("ev_any_dist")]
    served_auc, ruler_auc = roc_auc_score(y, surface.risk), roc_auc_score(y, ruler)
    assert surface.model.served == "model" and surface.model.prior is not None
    assert surface.model.chosen["context_prior"]["weight"] > 0  # chosen on the fit's own inner folds
    assert served_auc > ruler_auc, (served_auc, ruler_auc)
    assert recall_at(y, surface.risk, 0.1) > recall_at(y, ruler, 0.1)


def test_the_context_prior_learns_where_evidence_turns_up_from_the_layers_alone(demo_copy: Workspace,
                                                                                surface: Surface) -> None:
    """The prior is fitted on the evidence known at the fit's cut-off against every other cell, from the
    ``ctx_*`` columns only: it ranks the cells holding that evidence high, and nothing but the layers moves it."""
    from sklearn.metrics import roc_auc_score

    from safeground.services.risk_prior import fit_context_prior, presence_cells

    prior = surface.model.prior
    assert prior is not None and all(n.startswith("ctx_") for n in prior.names)
    past = evidence_features(demo_copy, surface.cells.points, dt.date(2020, 12, 31), crs=surface.cells.crs)
    context = layer_features(demo_copy, layers_for(demo_copy), surface.cells.xy, surface.cells.crs)
    names = [*past.names, *context.names]
    values = np.column_stack([past.values, context.values])
    presence = presence_cells(names, values, 1.0)  # evidence within half of a 2 km cell
    assert prior.presence == int(presence.sum()) > 50
    odds = prior.log_odds(names, values)
    assert roc_auc_score(presence, odds) > 0.8
    # Evidence columns do not enter it: the same context with the evidence wiped gives the same log-odds.
    wiped = values.copy()
    wiped[:, : len(past.names)] = np.nan
    np.testing.assert_allclose(prior.log_odds(names, wiped), odds)
    # The model file keeps the prior and its weight: a reloaded model scores the cells the same.
    from safeground.services.risk_model import RiskModel

    again = RiskModel.from_bytes(surface.model.to_bytes())
    assert again.prior is not None and again.prior.weight == prior.weight
    features = values[:, [names.index(n) for n in again.names]]
    np.testing.assert_allclose(again.risk(features), surface.model.risk(features))
    # No context columns, or no evidence at all: no prior.
    assert fit_context_prior(past.names, past.values, 2000) is None
    assert fit_context_prior(names, np.full_like(values, 1e6), 2000) is None


def test_reasons_name_the_context_layers(surface: Surface) -> None:
    words = " ".join(surface.reasons.tolist())
    assert "of the former line of contact (as digitised)" in words or "from the former line of contact" in words
    assert any(w in words for w in (" from a road", " from a bridge", " from a river or lake", " from a settlement"))


def test_the_fast_path_gives_each_cell_the_same_risk_and_reasons_as_scoring_it_alone(demo_copy: Workspace,
                                                                                     surface: Surface) -> None:
    """A surface scores the booster once per split signature and explains each tree once per pattern of its
    splits; a user must get the same numbers and words as the plain per-cell prediction and TreeSHAP."""
    import dataclasses

    from safeground.services.risk_layers import layer_features, with_layers
    from safeground.services.risk_reasons import _contributions, reason_lists, signature_risk, signatures
    from safeground.services.risk_surface import in_model_order

    cells = surface.cells
    context = layer_features(demo_copy, layers_for(demo_copy), cells.xy, cells.crs)
    now = with_layers(evidence_features(demo_copy, None, AS_OF, crs=cells.crs, xy=cells.xy), context)
    x = in_model_order(now.names, now.values, surface.model.names)
    np.testing.assert_array_equal(surface.risk, surface.model.risk(x))
    model = dataclasses.replace(surface.model, served="model")  # the fit may serve a distance instead
    assert model.base is not None  # boosting from the best distance: a per-cell term beside the trees
    signature = signatures(model.booster, x)
    assert len(signature[0]) < len(x) / 2  # many cells share a signature ...
    np.testing.assert_array_equal(signature_risk(model, x, signature), model.risk(x))  # ... and their score
    np.testing.assert_allclose(_contributions(model, x), model.booster.predict(x, pred_contrib=True)[:, :-1],
                               rtol=0, atol=1e-12)
    fast = [json.loads(r) for r in reason_lists(model, x, now.years, signature=signature)]
    plain = [[r["text"] for r in cell] for cell in model.reasons(x, now.years)]
    assert fast == plain  # the same words, most important first
