"""Per-concept quality on synthetic runs with planted structure (see tests/_synthetic_run.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from _synthetic_run import LAYERS, OUTLIER, directions, write_model, write_run
from trainer.analysis.pipeline import analyze
from trainer.analysis.quality import first_pc_variance_ratio, loo_alignment, ridge_redundancy, shuffled_redundancy
from trainer.extraction.weights import load_down_projections
from trainer.runfolder.folder import RunFolder


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


def test_planted_outlier_is_the_lowest_aligned_text_out_of_sample(planted: Path):
    quality = quality_of(planted)
    concept = quality.concepts["tight_1"]
    assert concept.lowest_aligned[0].rel == OUTLIER
    assert concept.lowest_aligned[0].loo < 0 and concept.lowest_aligned[0].loo_p > 0.5
    assert len(concept.alignment) == 3 and len(concept.alignment[0].by_layer) == len(LAYERS)
    # a text of a coherent concept aligns with its concept's other texts far beyond random texts
    good = quality.concepts["tight_2"].alignment[0]
    assert good.loo > good.loo_null_95 and good.loo_p <= 0.01


def test_leave_one_out_alignment_is_the_refit_without_the_text():
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(2, 12, 16))
    concept = np.array([0, 0, 0, 1, 1, 1, 1, 2, -1, -1, 2, 2])
    ours = loo_alignment(acts, concept)
    for i in range(12):
        if concept[i] < 0:
            assert np.isnan(ours[i])
            continue
        mean = acts.mean(axis=1)
        others = [j for j in range(12) if concept[j] == concept[i] and j != i]
        direction = acts[:, others].mean(axis=1) - mean
        x = acts[:, i] - mean
        cos = (x * direction).sum(-1) / np.linalg.norm(x, axis=-1) / np.linalg.norm(direction, axis=-1)
        assert ours[i] == pytest.approx(cos.mean(), abs=1e-6)


def test_a_mix_of_two_concepts_is_redundant_and_names_them(planted: Path):
    quality = quality_of(planted)
    blend = quality.concepts["blend"].redundancy
    assert blend is not None and blend.r2 > 0.99 and blend.test is not None
    assert {c.concept for c in blend.contributors[:2]} == {"tight_1", "anchor"}
    assert not quality.concepts["loose_3"].redundancy.redundant
    assert quality.concepts["loose_3"].redundancy.r2 < 0.1
    assert quality.redundancy_chance_r2 == pytest.approx((16 - 1) / 64, abs=1e-4)
    assert quality.redundancy_null.permutations == 49 * 16


def test_redundancy_null_flags_a_planted_mix_and_not_independent_concepts():
    rng = np.random.default_rng(1)
    C, per, hidden = 30, 5, 256
    directions = rng.normal(size=(C, hidden))
    directions[0] = directions[1] + directions[2]  # concept 0 is a mix of concepts 1 and 2
    concept = np.repeat(np.arange(C), per)
    states = directions[concept] * 2 + rng.normal(size=(C * per, hidden))
    observed, null = shuffled_redundancy(states, concept, C, 20, 0.01, rng)
    cut = np.percentile(null, 95)
    assert observed[0] > cut
    assert (observed[1:] <= cut).mean() >= 0.9
    assert null.shape == (20 * C,)


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


def test_first_pc_is_judged_from_four_texts_against_random_sets(planted: Path):
    texts = json.loads((planted / "texts.json").read_text())
    for t in texts:  # give tight_2 the texts of tight_3: six positives on one cluster axis
        if t["concept"] == "tight_3":
            t["concept"] = "tight_2"
    (planted / "texts.json").write_text(json.dumps(texts))
    quality = quality_of(planted)
    six = quality.concepts["tight_2"]
    assert six.n_positives == 6 and six.first_pc_test is not None and six.first_pc_test.permutations == 199
    assert quality.concepts["tight_1"].shape is None and "judged from 4" in quality.concepts["tight_1"].first_pc_reason
    assert quality.concepts["tight_3"].alignment_reason == "no texts in the run" and quality.concepts["tight_3"].n_positives == 0


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
    assert one.alignment_reason.startswith("one text: cannot judge") and one.alignment[0].loo is None


def test_single_neuron_verdict_uses_the_deep_third(tmp_path: Path):
    vectors = {layer: directions(layer) for layer in LAYERS}
    model = write_model(tmp_path / "model", vectors, concept="loose_2", layer=2)
    single = quality_of(write_run(tmp_path / "run", model=model)).concepts["loose_2"].single_neuron
    assert single.by_layer[1] == pytest.approx(1.0, abs=1e-3)  # layer 2 is in the early third
    assert single.best_layer in (5, 6) and not single.one_neuron
