"""Per-concept quality on synthetic runs with planted structure (see tests/_synthetic_run.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from _synthetic_run import LAYERS, OUTLIER, directions, write_model, write_run
from trainer.analysis import analyze
from trainer.runfolder import RunFolder
from trainer.quality import first_pc_variance_ratio, load_down_projections, ridge_redundancy


def quality_of(run_dir: Path, **kwargs):
    return analyze(RunFolder.read(run_dir), probes=False, triage=False, **kwargs).quality


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    vectors = {layer: directions(layer) for layer in LAYERS}
    model = write_model(tmp_path / "model", vectors, concept="loose_2", layer=5)
    return write_run(tmp_path / "run", model=model)


def test_first_pc_ratio_separates_one_direction_from_scattered_positives():
    rng = np.random.default_rng(0)
    axis = rng.normal(size=32)
    along = np.stack([s * axis + rng.normal(size=32) * 0.01 for s in (1.0, 2.0, 3.5, -1.0)])[None]
    assert first_pc_variance_ratio(along)[0] > 0.99
    corners = np.eye(32)[:4][None]  # four orthogonal unit points: centered, three equal components
    assert first_pc_variance_ratio(corners)[0] == pytest.approx(1 / 3)
    assert first_pc_variance_ratio(np.ones((1, 3, 8))) is None


def test_ridge_redundancy_equals_a_ridge_fit_per_concept():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(7, 40))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    r2, coef = ridge_redundancy((vectors @ vectors.T)[None], alpha=0.3)
    for c in range(7):
        others = np.delete(np.arange(7), c)
        fit = Ridge(alpha=0.3, fit_intercept=False).fit(vectors[others].T, vectors[c])
        residual = vectors[c] - fit.predict(vectors[others].T)
        assert r2[0, c] == pytest.approx(1 - residual @ residual, abs=1e-9)
        assert coef[0, others, c] == pytest.approx(fit.coef_, abs=1e-9)
        assert coef[0, c, c] == 0


def test_planted_outlier_is_the_lowest_aligned_text(planted: Path):
    concept = quality_of(planted).concepts["tight_1"]
    assert concept.lowest_aligned[0].rel == OUTLIER
    assert concept.lowest_aligned[0].deep < 0 < concept.lowest_aligned[1].deep
    assert len(concept.alignment) == 3 and len(concept.alignment[0].by_layer) == len(LAYERS)


def test_a_mix_of_two_concepts_is_redundant_and_names_them(planted: Path):
    quality = quality_of(planted)
    blend = quality.concepts["blend"].redundancy
    assert blend is not None and blend.redundant and blend.r2 > 0.99
    assert {c.concept for c in blend.contributors[:2]} == {"tight_1", "anchor"}
    assert not quality.concepts["loose_3"].redundancy.redundant
    assert quality.concepts["loose_3"].redundancy.r2 < 0.1
    assert quality.redundancy_chance_r2 == pytest.approx((11 - 1) / 64, abs=1e-4)


def test_nearest_concepts_are_the_cluster_mates(planted: Path):
    nearest = quality_of(planted).concepts["tight_2"].nearest
    assert len(nearest) == 5
    assert {n.concept for n in nearest[:3]} == {"tight_1", "tight_3", "tight_4"}
    assert nearest[0].cosine >= nearest[-1].cosine


def test_direction_equal_to_a_down_projection_column_scores_one(planted: Path):
    quality = quality_of(planted)
    assert quality.down_projection.available and quality.down_projection.pattern == "model.layers.{block}.mlp.down_proj.weight"
    single = quality.concepts["loose_2"].single_neuron
    assert single is not None
    # the column sits in block 4, which writes layer 5
    assert single.best == pytest.approx(1.0, abs=1e-3) and single.best_layer == 5 and single.neuron == 7
    assert single.by_layer[4] == single.best
    assert single.one_neuron
    assert max(v for v in single.by_layer if v is not None and v != single.best) < 0.6
    assert not quality.concepts["tight_3"].single_neuron.one_neuron


def test_gpt2_conv1d_layout_is_transposed(tmp_path: Path):
    vectors = {layer: directions(layer) for layer in LAYERS}
    model = write_model(tmp_path / "gpt2", vectors, concept="split_1", layer=6, gpt2=True)
    run_dir = write_run(tmp_path / "run", model=model)
    quality = quality_of(run_dir)
    assert quality.down_projection.pattern == "transformer.h.{block}.mlp.c_proj.weight"
    single = quality.concepts["split_1"].single_neuron
    assert single.best == pytest.approx(1.0, abs=1e-3) and single.best_layer == 6


def test_missing_weights_give_null_with_the_reason(tmp_path: Path):
    run_dir = write_run(tmp_path / "run")  # run.json names a model that is not on disk
    quality = quality_of(run_dir)
    assert not quality.down_projection.available
    concept = quality.concepts["tight_1"]
    assert concept.single_neuron is None and "no safetensors weights" in concept.single_neuron_reason
    # an explicit folder overrides run.json
    vectors = {layer: directions(layer) for layer in LAYERS}
    model = write_model(tmp_path / "model", vectors, concept="tight_1", layer=6)
    assert load_down_projections(None, LAYERS, 64, model).source.available


def test_first_pc_needs_two_positives_and_says_when_two_are_trivial(planted: Path):
    texts = json.loads((planted / "texts.json").read_text())
    for t in texts:
        if t["rel"] in ("stories/loose_1_a.txt", "stories/loose_1_b.txt", "stories/anchor_a.txt"):
            t["concept"] = None
    (planted / "texts.json").write_text(json.dumps(texts))
    quality = quality_of(planted)
    one = quality.concepts["loose_1"]
    assert one.n_positives == 1 and one.first_pc_variance_ratio is None and "needs at least two" in one.first_pc_reason
    two = quality.concepts["anchor"]
    assert two.n_positives == 2 and two.first_pc_deep == pytest.approx(1.0) and two.shape is None
    assert "by construction" in two.first_pc_reason
    assert quality.concepts["tight_2"].shape in ("clean", "mixed", "fragmented")


def test_single_neuron_verdict_uses_the_deep_third(tmp_path: Path):
    vectors = {layer: directions(layer) for layer in LAYERS}
    model = write_model(tmp_path / "model", vectors, concept="loose_2", layer=2)
    single = quality_of(write_run(tmp_path / "run", model=model)).concepts["loose_2"].single_neuron
    assert single.by_layer[1] == pytest.approx(1.0, abs=1e-3)  # layer 2 is in the early third
    assert single.best_layer in (5, 6) and not single.one_neuron
