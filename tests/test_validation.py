"""Cluster validation, probes and PC1 valence on planted structure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from _synthetic_run import CONCEPTS, LAYERS, directions, write_run
from trainer.linalg import thirds
from trainer.runfolder import RunFolder
from trainer.probes import ProbeConfig, fit_softmax, principal_components, probe
from trainer.validation import cluster_silhouette, compute_validation, valence_separation


@pytest.fixture
def run(tmp_path: Path):
    return RunFolder.read(write_run(tmp_path / "run"))


def test_thirds_split_the_layers_and_keep_the_deep_third():
    assert thirds(list(range(1, 31))) == {
        "early": list(range(1, 11)),
        "middle": list(range(11, 21)),
        "deep": list(range(21, 31)),
    }
    assert thirds([7]) == {"early": [], "middle": [], "deep": [7]}
    assert thirds([3, 9])["deep"] == [9]


def test_planted_clusters_get_their_labels_per_layer_and_third(run):
    report = compute_validation(run, probes=False)
    clusters = report.clusters
    assert set(clusters["tight"].labels) == {"cohesive"}
    assert clusters["split"].labels == ["cohesive"] * 4 + ["anti-clustered"] * 2
    assert set(clusters["loose"].labels) == {"scattered"}
    assert clusters["split"].thirds["early"].label == "cohesive"
    assert clusters["split"].thirds["deep"].label == "anti-clustered"
    assert clusters["split"].thirds["deep"].layer_labels == {"anti-clustered": 2}
    assert clusters["loose"].thirds["deep"].label == "scattered"
    # exact geometry: loose concepts share only 0.2·e5, pairwise cosine 0.04/1.04 and nothing elsewhere
    assert clusters["loose"].cohesion[0] == pytest.approx(0.04 / 1.04, abs=2e-3)
    for single in ("lone", "mix"):
        assert clusters[single].cohesion is None and set(clusters[single].labels) == {"undetermined"}
        assert "needs at least two" in clusters[single].reason
    assert report.thresholds.cohesive_cohesion == 0.05 and report.thresholds.anti_clustered_cohesion == 0.0


def test_silhouette_is_scikit_learns_cosine_silhouette(run):
    from sklearn.metrics import silhouette_samples

    codes = np.array([list(dict.fromkeys(run.clusters)).index(c) for c in run.clusters])
    gram = run.vectors.astype(np.float64) @ run.vectors.transpose(0, 2, 1).astype(np.float64)
    ours = cluster_silhouette(gram, codes, codes.max() + 1)
    for li in (0, 5):
        reference = silhouette_samples(run.vectors[li].astype(np.float64), codes, metric="cosine")
        expected = [reference[codes == k].mean() for k in range(codes.max() + 1)]
        assert ours[li] == pytest.approx(expected, abs=1e-6)


def test_softmax_solver_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 120)
    x = (rng.normal(size=(4, 30))[y] * 0.6 + rng.normal(size=(120, 30))).astype(np.float32)
    features = principal_components(x[None], 12)
    logits = fit_softmax(features, y[None], np.ones((1, 120), bool), 4, C=1.0, iterations=600)[0, :, :, 0, 0]
    reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(features[0], y)
    centered = logits - logits.mean(axis=1, keepdims=True)
    assert np.abs(centered - reference.decision_function(features[0])).max() < 5e-3
    assert (logits.argmax(axis=1) == reference.predict(features[0])).all()


def test_probe_finds_planted_classes_and_not_shuffled_ones():
    rng = np.random.default_rng(1)
    n, hidden = 90, 48
    labels = [f"c{i % 3}" for i in range(n)]
    centres = rng.normal(size=(2, 3, hidden)) * 1.5
    codes = np.array([int(lab[1]) for lab in labels])
    states = (centres[:, codes] + rng.normal(size=(2, n, hidden))).astype(np.float32)
    result, reason = probe(states, labels, [1, 2], "cluster", ProbeConfig(permutations=19))
    assert reason is None and result.n_classes == 3 and result.settings.permutations == 19
    for layer in result.layers:
        assert layer.accuracy > 0.9 and layer.chance == pytest.approx(1 / 3, abs=1e-4)
        assert layer.p_value == pytest.approx(1 / 20)
        assert layer.ci_low <= layer.accuracy <= layer.ci_high
    noise = rng.normal(size=(2, n, hidden)).astype(np.float32)
    result, _ = probe(noise, labels, [1, 2], "cluster", ProbeConfig(permutations=19))
    assert all(layer.accuracy < 0.6 and layer.p_value > 0.05 for layer in result.layers)


def test_probe_drops_classes_smaller_than_the_folds():
    states = np.random.default_rng(2).normal(size=(1, 13, 16)).astype(np.float32)
    labels = ["a"] * 6 + ["b"] * 5 + ["c"] * 2
    result, _ = probe(states, labels, [1], "cluster")
    assert result.dropped_classes == ["c"] and result.n_texts == 11
    assert probe(states, ["a"] * 11 + ["c"] * 2, [1], "cluster") == (None, "fewer than two classes with at least 5 texts")


def test_probes_in_the_report_cluster_level_and_concept_level_only_with_five_texts(run, tmp_path: Path):
    report = compute_validation(run, probe_config=ProbeConfig(permutations=4))
    assert report.cluster_probe is not None and [p.layer for p in report.cluster_probe.layers] == LAYERS
    # the singleton clusters have 3 texts each: fewer than the folds
    assert report.cluster_probe.dropped_classes == ["lone", "mix"]
    assert report.concept_probe is None and "fewer than 5 texts" in report.concept_probe_reason

    # five texts for every concept: the concept-level probe runs
    rich = write_run(tmp_path / "rich")
    loaded = RunFolder.read(rich)
    repeat = 2
    loaded.texts = loaded.texts * repeat
    loaded.activations = np.concatenate([loaded.activations] * repeat, axis=1)
    report = compute_validation(loaded, probe_config=ProbeConfig(permutations=4))
    assert report.concept_probe is not None and report.concept_probe.n_classes == len(CONCEPTS)


def test_pc1_valence_separation():
    rng = np.random.default_rng(4)
    valences = ["positive"] * 5 + ["negative"] * 5 + ["neutral"] * 2
    axis = rng.normal(size=40)
    signs = np.array([1.0] * 5 + [-1.0] * 5 + [0.0] * 2)
    vectors = (signs[:, None] * axis * 3 + rng.normal(size=(12, 40)))[None]
    (layer,) = valence_separation(vectors, valences, [7])
    assert layer.separation == 1.0 and layer.separates and layer.effect > 1.5
    assert layer.positive_side == ("+" if layer.auc > 0.5 else "-")
    flat = rng.normal(size=(1, 12, 40))
    (layer,) = valence_separation(flat, valences, [7])
    assert layer.separation < 0.9


def test_valence_needs_both_signs(run):
    report = compute_validation(run, probes=False)
    assert report.valence is not None  # tight (positive) and split/loose (negative)
    run.manifest.concepts["anchor"].valence = "negative"
    for name in ("tight_2", "tight_3", "tight_4"):
        run.manifest.concepts[name].valence = "neutral"
    report = compute_validation(run, probes=False)
    assert report.valence is None and "has 1 and" in report.valence_reason


def test_every_layer_of_the_deep_third_uses_the_deep_directions():
    deep = directions(6)
    early = directions(1)
    split = [i for i, c in enumerate(CONCEPTS) if c.startswith("split")]
    assert float(deep[split[0]] @ deep[split[1]]) == pytest.approx(0.0)
    assert float(early[split[0]] @ early[split[1]]) == pytest.approx(0.8)
