"""The pure statistics of readout, eval and the steering check, on planted data where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from schemas.run import TextRecord
from trainer.use.evaluate import heldout_zscores, rank_hits, summarise
from trainer.use.readout import projections, reference_stats, zscores
from trainer.use.steering import family_scores, random_zscores, recommend
from trainer.vectors import concept_vectors


def test_rank_hits_counts_ties_and_missing_vectors_against_the_truth():
    z = np.array([[3.0, 1.0, 2.0], [1.0, 1.0, 0.0], [np.nan, 5.0, 1.0], [0.0, np.nan, 1.0]])
    truth = np.array([0, 1, 0, 0])
    assert rank_hits(z, truth, 1).tolist() == [True, False, False, False]
    assert rank_hits(z, truth, 2).tolist() == [True, True, False, True]  # NaN columns never outrank


def _planted(rng, n_concepts=6, per_concept=4, hidden=24, signal=3.0, paired=True):
    """Texts whose activations are their concept's planted direction plus noise; one paired scenario."""
    directions = rng.standard_normal((n_concepts, hidden))
    rows, acts = [], []
    for c in range(n_concepts):
        for k in range(per_concept):
            rows.append(TextRecord(rel=f"stories/c{c}/{k}.txt", kind="story", concept=f"c{c}", scenario=None, sha256="0" * 64, words=50))
            acts.append(signal * directions[c] + rng.standard_normal(hidden))
    if paired:
        rows.append(TextRecord(rel="paired/s/baseline.txt", kind="baseline", concept=None, scenario="s", sha256="0" * 64, words=50))
        acts.append(rng.standard_normal(hidden))
        for c in (0, 1):
            rows.append(TextRecord(rel=f"paired/s/c{c}.txt", kind="variant", concept=f"c{c}", scenario="s", sha256="0" * 64, words=50))
            acts.append(signal * directions[c] + rng.standard_normal(hidden))
    activations = np.stack(acts)[None].repeat(2, 0)  # two identical layers
    return rows, activations, [f"c{c}" for c in range(n_concepts)]


def _groups(rows):
    return np.array([f"s:{r.scenario}" if r.scenario else f"t:{r.rel}" for r in rows])


@pytest.mark.parametrize("method", ["diffmean", "centered"])
def test_heldout_zscores_equal_retraining_without_the_group(method):
    rng = np.random.default_rng(0)
    rows, acts, concepts = _planted(rng)
    groups = _groups(rows)
    fast = heldout_zscores(acts, rows, concepts, method, groups)
    for group in ("t:stories/c2/1.txt", "s:s"):
        held = np.flatnonzero(groups == group)
        kept = np.flatnonzero(groups != group)
        vectors = concept_vectors(acts[:, kept], [rows[j] for j in kept], concepts, method)
        mean, sd = reference_stats(projections(acts[:, kept], vectors))
        slow = zscores(projections(acts[:, held], vectors), mean, sd)
        np.testing.assert_allclose(fast[:, held], slow, rtol=1e-4, atol=1e-4)  # float32 Gram matrix


def test_cv_accuracy_is_high_with_a_planted_signal_and_at_chance_without():
    rng = np.random.default_rng(3)
    for signal, expect_high in ((3.0, True), (0.0, False)):
        rows, acts, concepts = _planted(rng, n_concepts=8, per_concept=6, signal=signal, paired=False)
        z = heldout_zscores(acts, rows, concepts, "diffmean", _groups(rows))
        truth = np.array([concepts.index(r.concept) for r in rows])
        result = summarise(z, truth, concepts, ["a", "b"] * 4, [1, 2])
        top1 = result["headline"].top1
        assert result["chance_top1"] == 0.125 and result["chance_top5"] == 0.625 and result["chance_cluster"] == 0.5
        if expect_high:
            assert top1.value > 0.9 and top1.ci_low > result["chance_top1"]
        else:
            assert top1.ci_low <= result["chance_top1"] <= top1.ci_high  # the null control comes out null
        assert sum(map(sum, result["confusion"].matrix)) == len(rows) == top1.n


def test_family_scores_and_z_find_the_planted_steering():
    rng = np.random.default_rng(0)
    n_concepts, n_clusters, prompts = 3, 3, 5
    cluster_of = np.array([0, 1, 2])
    n_families = n_concepts + n_clusters
    base = rng.standard_normal((prompts, n_families)) - 5
    null = base[None] + 0.1 * rng.standard_normal((30, prompts, n_families))
    own = null[:3].copy()
    own[0, :, 0] += 2.0  # concept 0's vector raises its own family by 2 nats; the others do nothing
    scores = family_scores(base, np.concatenate([own, null[3:]]), np.arange(n_concepts), cluster_of, n_clusters)
    mine, noise = scores[np.arange(3), np.arange(3)], scores[3:]
    z = random_zscores(mine, noise)
    assert mine[0] == pytest.approx(2.0, abs=0.3) and z[0] > 5
    assert abs(z[1]) < 4 and abs(z[2]) < 4
    # Raising every family alike is no steering: own minus others cancels.
    alike = family_scores(base, base[None] + 1.0, np.arange(n_concepts), cluster_of, n_clusters)
    np.testing.assert_allclose(alike, 0.0, atol=1e-12)


def test_family_scores_leave_empty_cluster_families_out():
    base = np.array([[-1.0, -2.0, -np.inf, -3.0]])  # concept 0; clusters 0 (own), 1 (empty), 2
    steered = np.array([[[-0.5, -2.0, -np.inf, -2.0]]])
    score = family_scores(base, steered, np.array([0]), np.array([0]), 3)
    assert score[0, 0] == pytest.approx(0.5 - 1.0)


def test_recommend_takes_the_best_cell_and_the_layers_near_it():
    median = np.array([[0.5, 1.0, 0.2], [2.0, 4.0, 1.0], [1.0, 2.5, 0.0], [0.1, 1.9, 0.0]])
    rec = recommend(median, [9, 14, 18, 22], [0.25, 0.5, 1.0])
    assert (rec.layer, rec.strength, rec.median_z, rec.layers) == (14, 0.5, 4.0, [14, 18])
