"""Cluster validation, probes and PC1 valence on planted structure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _synthetic_run import CONCEPTS, LAYERS, directions, write_run
from trainer.linalg import thirds
from trainer.analysis.clusters import cluster_statistics
from trainer.stats import holm, label_permutations
from trainer.analysis.probes import ProbeConfig
from trainer.runfolder.folder import RunFolder
from trainer.analysis.validation import compute_validation, valence_separation


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


def test_planted_clusters_get_their_labels_from_a_size_matched_null(run):
    report = compute_validation(run, probes=False)
    clusters = report.clusters
    assert set(clusters["tight"].labels) == {"cohesive"}
    assert clusters["split"].labels[:4] == ["cohesive"] * 4 and set(clusters["split"].labels[4:]) <= {"scattered", "anti-clustered"}
    assert clusters["split"].thirds["early"].label == "cohesive"
    deep = clusters["split"].thirds["deep"]
    assert deep.label != "cohesive" and deep.cohesion_test.side == "below" and deep.cohesion_test.z < 0
    assert clusters["loose"].thirds["deep"].label == "scattered"
    # exact geometry: loose concepts share only 0.2·e5, pairwise cosine 0.04/1.04
    loose = clusters["loose"]
    assert loose.within[0] == pytest.approx(0.04 / 1.04, abs=2e-3)
    # a tight pair is still too small to judge, never cohesive
    pair = clusters["pair"]
    assert set(pair.labels) == {"too small to judge"} and pair.cohesion[0] > 0.8 and pair.cohesion_p is None
    assert "fewer than 4" in pair.reason
    for single in ("lone", "mix"):
        assert clusters[single].cohesion is None and set(clusters[single].labels) == {"undetermined"}
        assert "needs at least two" in clusters[single].reason
    test = clusters["tight"].thirds["deep"].cohesion_test
    assert test.permutations == 999 and test.p_adjusted >= test.p and test.null_low < test.null_mean < test.null_high < test.value
    assert report.thresholds.min_cluster_concepts == 4 and report.thresholds.alpha == 0.05


def shuffled_manifest_run(root: Path, seed: int):
    """The synthetic run with its concepts' clusters permuted (sizes kept): no cluster means anything."""
    import json

    run_dir = write_run(root)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    names = list(manifest["concepts"])
    clusters = np.random.default_rng(seed).permutation([manifest["concepts"][n]["cluster"] for n in names])
    for name, cluster in zip(names, clusters):
        manifest["concepts"][name]["cluster"] = str(cluster)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    return RunFolder.read(run_dir)


def test_cohesion_z_per_layer_is_large_for_planted_clusters_and_null_for_shuffled_ones(run, tmp_path: Path):
    """validation.json's cohesion_z: distance from the size-matched null in null standard deviations, per layer."""
    clusters = compute_validation(run, probes=False).clusters
    deep = [i for i, layer in enumerate(LAYERS) if layer in thirds(LAYERS)["deep"]]
    early = [i for i in range(len(LAYERS)) if i not in deep]
    assert min(clusters["tight"].cohesion_z) > 3
    split = clusters["split"].cohesion_z
    assert min(split[i] for i in early) > 3 and max(split[i] for i in deep) < 0  # cohesive, then pulled apart
    assert max(abs(z) for z in clusters["loose"].cohesion_z) < 1  # scattered: indistinguishable from its null
    for name in ("tight", "split", "loose", "pair"):
        c = clusters[name]
        for z, value, null_mean in zip(c.cohesion_z, c.cohesion, c.cohesion_null_mean):
            assert np.sign(z) == np.sign(value - null_mean), name
    assert clusters["lone"].cohesion_z is None
    # the control: shuffled manifests, where every cluster is a random set of concepts
    shuffled = [
        abs(z)
        for seed in range(3)
        for c in compute_validation(shuffled_manifest_run(tmp_path / f"s{seed}", seed), probes=False).clusters.values()
        if c.cohesion_p is not None
        for z in c.cohesion_z
    ]
    assert len(shuffled) >= 12 and np.mean(shuffled) < 1.3  # about 0.8 for a standard normal
    planted = [abs(z) for name in ("tight", "split") for z in clusters[name].cohesion_z]
    assert np.mean(planted) > 3


def test_cluster_statistics_match_a_direct_computation_under_every_labelling():
    from sklearn.metrics import silhouette_samples

    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(2, 13, 20))
    vectors /= np.linalg.norm(vectors, axis=-1, keepdims=True)
    gram = vectors @ vectors.transpose(0, 2, 1)
    codes = np.array([0] * 5 + [1] * 4 + [2] * 3 + [3])
    labelings = label_permutations(codes, 5, rng)
    cohesion, silhouette = cluster_statistics(gram, labelings, 4)
    for p, lab in enumerate(labelings):
        for li in range(2):
            per = silhouette_samples(1 - gram[li].clip(-1, 1), lab, metric="precomputed")
            for k in range(3):
                m = lab == k
                inside = gram[li][np.ix_(m, m)]
                within = (inside.sum() - np.trace(inside)) / (m.sum() * (m.sum() - 1))
                between = gram[li][np.ix_(m, ~m)].mean()
                assert cohesion[li, k, p] == pytest.approx(within - between, abs=1e-5)
                assert silhouette[li, k, p] == pytest.approx(per[m].mean(), abs=1e-5)
            assert np.isnan(cohesion[li, 3, p])  # one concept: no within-cluster pair


def test_holm_adjustment():
    assert list(holm(np.array([0.01, 0.04, 0.03]))) == pytest.approx([0.03, 0.06, 0.06])


def test_probes_in_the_report_cluster_level_grouped_by_concept(run, tmp_path: Path):
    report = compute_validation(run, probe_config=ProbeConfig(permutations=19, bootstrap=100, cv_seeds=1))
    probe = report.cluster_probe
    assert probe is not None and [p.layer for p in probe.layers] == LAYERS
    # single-concept clusters cannot be on both sides of a concept-grouped fold
    assert probe.dropped_classes == ["lone", "mix"] and probe.n_units == 14 and probe.n_groups == 14
    assert probe.headline is not None and probe.headline.layers == [6] and probe.settings.headline_layers == [6]
    assert probe.best_p_family is not None and "purged" in probe.settings.grouping
    assert report.concept_probe is None and "fewer than 5 texts" in report.concept_probe_reason
    declared = compute_validation(run, probe_config=ProbeConfig(permutations=19, bootstrap=100, cv_seeds=1), headline_layers=[2, 3])
    assert declared.cluster_probe.headline.layers == [2, 3]

    # five texts for every concept: the concept-level probe runs, grouped by text, no permutation test
    run.texts = run.texts * 2
    run.activations = np.concatenate([run.activations] * 2, axis=1)
    report = compute_validation(run, probe_config=ProbeConfig(permutations=19, bootstrap=100, cv_seeds=1))
    concept = report.concept_probe
    assert concept is not None and concept.n_classes == len(CONCEPTS) and concept.layers[0].p_value is None
    assert concept.settings.permutations == 0


def test_pc1_valence_separation():
    rng = np.random.default_rng(4)
    valences = ["positive"] * 5 + ["negative"] * 5 + ["neutral"] * 2
    axis = rng.normal(size=40)
    signs = np.array([1.0] * 5 + [-1.0] * 5 + [0.0] * 2)
    vectors = (signs[:, None] * axis * 3 + rng.normal(size=(12, 40)))[None]
    (layer,) = valence_separation(vectors, valences, [7])
    assert layer.separation == 1.0 and layer.separates and layer.effect > 1.5 and layer.p_value < 0.02
    assert layer.positive_side == ("+" if layer.auc > 0.5 else "-")
    flat = rng.normal(size=(1, 12, 40))
    (layer,) = valence_separation(flat, valences, [7])
    assert layer.separation < 0.9 and not layer.separates and layer.p_value > 0.05


def test_valence_needs_both_signs(run):
    report = compute_validation(run, probes=False)
    assert report.valence is not None  # tight (positive) and split/loose (negative)
    run.manifest.concepts["anchor"].valence = "negative"
    for name in ("tight_2", "tight_3", "tight_4", "pair_1", "pair_2"):
        run.manifest.concepts[name].valence = "neutral"
    report = compute_validation(run, probes=False)
    assert report.valence is None and "has 1 and" in report.valence_reason


def test_every_layer_of_the_deep_third_uses_the_deep_directions():
    deep = directions(6)
    early = directions(1)
    split = [i for i, c in enumerate(CONCEPTS) if c.startswith("split")]
    assert float(deep[split[0]] @ deep[split[1]]) == pytest.approx(0.0)
    assert float(early[split[0]] @ early[split[1]]) == pytest.approx(0.8)
