"""Planted controls of issue 11: every statistic on data where the answer is known, including nulls
that must come out null. Small arrays, few permutations: fast."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _synthetic_run import run_info
from schemas.manifest import Manifest
from schemas.run import ReadoutInfo, TextRecord
from trainer.analysis.confounds import narrator_confound, scenario_confound
from trainer.analysis.probes import ProbeConfig, ProbeData, RidgeLayer, assign_folds, probe, standardise
from trainer.runfolder.data import RunData
from trainer.analysis.validation import compute_validation

FAST = ProbeConfig(permutations=99, bootstrap=200, cv_seeds=1, logistic=False)


def planted(seed: int, *, cluster_signal: float, sizes=(5, 5, 5, 5), texts_per_concept: int = 4, layers: int = 2, hidden: int = 32,
            shuffle_clusters: bool = False, concept_signal: float = 1.0):
    """Concept vectors = cluster_signal * cluster axis + concept axis; texts = concept vector + noise."""
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(len(sizes)), sizes)
    C = len(codes)
    cluster_axes = rng.normal(size=(layers, len(sizes), hidden))
    concept_axes = rng.normal(size=(layers, C, hidden))
    centres = cluster_signal * cluster_axes[:, codes] + concept_signal * concept_axes
    if shuffle_clusters:
        codes = rng.permutation(codes)
    unit = np.repeat(np.arange(C), texts_per_concept)
    states = centres[:, unit] + rng.normal(size=(layers, len(unit), hidden))
    return codes, unit, states.astype(np.float32), centres


def as_run(codes: np.ndarray, unit: np.ndarray, states: np.ndarray, centres: np.ndarray, persons=None) -> RunData:
    concepts = [f"c{i:02d}" for i in range(len(codes))]
    clusters = sorted({f"k{k}" for k in codes})
    manifest = Manifest.model_validate(
        {
            "version": 1,
            "clusters": {k: {"title": k} for k in clusters},
            "concepts": {c: {"cluster": f"k{k}", "valence": "neutral", "keywords": [c]} for c, k in zip(concepts, codes)},
        }
    )
    vectors = centres / np.linalg.norm(centres, axis=-1, keepdims=True)
    texts = [
        TextRecord(rel=f"stories/{concepts[u]}_{j}.txt", kind="story", concept=concepts[u], scenario=None, sha256="0" * 64, words=100,
                   narrator=None if persons is None else persons[j])
        for j, u in enumerate(unit)
    ]
    layers = list(range(1, states.shape[0] + 1))
    return RunData(
        root=Path("."),
        info=run_info(None, len(texts)),
        readout=ReadoutInfo(concepts=concepts, layers=layers, hidden_size=states.shape[-1]),
        texts=texts,
        manifest=manifest,
        lint=None,
        vectors=vectors.astype(np.float32),
        activation_layers=list(states),
    )


def cluster_probe(codes, unit, states, seed=0, config=FAST):
    data = ProbeData(unit=unit, unit_class=codes, classes=[f"k{k}" for k in range(codes.max() + 1)], fold_group=unit.copy(),
                     scenario=[None] * len(unit))
    return probe(states, data, list(range(1, states.shape[0] + 1)), "cluster", ProbeConfig(**{**config.__dict__, "seed": seed}))


def test_a_planted_clusters_are_cohesive_and_the_probe_far_above_chance():
    codes, unit, states, centres = planted(0, cluster_signal=2.0)
    result = cluster_probe(codes, unit, states)
    for layer in result.layers:
        assert layer.accuracy > 0.8 > layer.null_95 and layer.p_value == pytest.approx(0.01) and layer.p_family == pytest.approx(0.01)
        assert layer.ci_low > layer.null_95
    report = compute_validation(as_run(codes, unit, states, centres), probes=False, permutations=199)
    assert {c.thirds["deep"].label for c in report.clusters.values()} == {"cohesive"}
    assert all(c.thirds["deep"].cohesion_test.z > 3 for c in report.clusters.values())


def test_b_concept_identity_only_gives_a_null_probe_and_no_cohesion():
    """Strong concept identity, cluster labels shuffled across concepts: the leak the old stratified
    text folds turned into 0.61-0.86 accuracy must not show."""
    null_p, cohesive, within_ci = 0, 0, 0
    for seed in range(20):
        codes, unit, states, centres = planted(seed, cluster_signal=0.0, shuffle_clusters=True, concept_signal=3.0)
        result = cluster_probe(codes, unit, states, seed)
        layer = result.layers[0]
        null_p += layer.p_value > 0.05
        within_ci += layer.accuracy <= layer.null_95  # within the null's band: chance with its uncertainty
        report = compute_validation(as_run(codes, unit, states, centres), probes=False, permutations=99, seed=seed)
        cohesive += any(c.thirds["deep"].label == "cohesive" for c in report.clusters.values())
    assert null_p >= 18 and within_ci >= 18
    assert cohesive <= 2  # family-wise 5% over 20 runs: 1 expected


def test_c_pure_noise_small_clusters_are_never_cohesive_beyond_the_nominal_rate():
    judged = cohesive = small_cohesive = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        sizes = tuple(int(s) for s in rng.integers(2, 7, size=5))
        codes, unit, states, centres = planted(seed, cluster_signal=0.0, sizes=sizes, texts_per_concept=2)
        report = compute_validation(as_run(codes, unit, states, centres), probes=False, permutations=99, seed=seed)
        for cluster in report.clusters.values():
            label = cluster.thirds["deep"].label
            if len(cluster.concepts) < 4:
                small_cohesive += label == "cohesive"
                assert label == "too small to judge"
            else:
                judged += 1
                cohesive += label == "cohesive"
    assert small_cohesive == 0 and judged > 20
    assert cohesive / judged <= 0.05


def test_d_planted_scenario_confound_is_detected_and_named():
    rng = np.random.default_rng(3)
    C, hidden = 24, 64
    codes = np.repeat(np.arange(4), 6)
    vectors = rng.normal(size=(C, hidden))
    scenario_axes = rng.normal(size=(6, hidden)) * 1.5
    shared = [[[] for _ in range(C)] for _ in range(C)]
    for s in range(6):  # each scenario holds four concepts from different clusters
        members = [s + 6 * k for k in range(4)]
        for i in members:
            vectors[i] += scenario_axes[s]
            for j in members:
                if i != j:
                    shared[i][j].append(f"scene_{s}")
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    concepts = [f"c{i}" for i in range(C)]
    found = scenario_confound(unit @ unit.T, shared, codes, concepts, [9], 199, rng)
    assert found.confounded and found.effect.p <= 0.01 and found.effect.z > 3
    assert found.shared_other_cluster.mean_cosine > found.unshared_other_cluster.mean_cosine + 0.3
    top = found.top_pairs[0]
    assert top.scenarios and top.scenarios[0].startswith("scene_") and not top.same_cluster
    control = scenario_confound(np.corrcoef(rng.normal(size=(C, hidden))), shared, codes, concepts, [9], 199, rng)
    assert not control.confounded


def test_e_planted_narrator_person_confound_is_detected():
    rng = np.random.default_rng(5)
    C, per, hidden = 24, 3, 48
    person_of_concept = np.array(["first", "third"] * (C // 2))
    concept_of_text = np.repeat(np.arange(C), per)
    persons = list(person_of_concept[concept_of_text])
    person_axis = {"first": rng.normal(size=hidden) * 2, "third": rng.normal(size=hidden) * 2}

    def run(leak: bool):
        centres = rng.normal(size=(C, hidden))
        states = centres[concept_of_text] + rng.normal(size=(len(persons), hidden))
        if leak:
            states += np.stack([person_axis[p] for p in persons])
        vectors = np.stack([states[concept_of_text == c].mean(axis=0) - states.mean(axis=0) for c in range(C)])
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return narrator_confound(vectors[None], states[None], persons, concept_of_text, [f"c{i}" for i in range(C)], [9], 199, rng)

    leaked = run(True)
    assert leaked.confounded and leaked.decodable.value > 0.9 and leaked.decodable.p <= 0.01
    assert leaked.mean_share > 10 * leaked.random_share
    assert leaked.concepts_by_person == {"first": 12, "second": 0, "third": 12}
    clean = run(False)
    assert not clean.confounded and clean.mean_share < leaked.mean_share


def test_ridge_classifier_is_scikit_learns_and_the_logistic_headline_is_scikit_learns_cross_validation():
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    codes, unit, states, _ = planted(7, cluster_signal=1.0, hidden=24)
    data = ProbeData(unit=unit, unit_class=codes, classes=["k0", "k1", "k2", "k3"], fold_group=unit.copy(), scenario=[None] * len(unit))
    y = codes[unit]
    X = standardise(states)[0]
    train, test_fold = assign_folds(data, 5, 0)
    for f in range(5):
        test = test_fold == f
        for n_train_like in (X, X[:, :12]):  # primal (n > d) and dual (n < d... forced below) paths
            layer = RidgeLayer(n_train_like)
            G = layer.scores(unit, len(codes), train[f], test, 1.0)
            ours = (G @ np.eye(4)[codes]).argmax(axis=1)
            reference = RidgeClassifier(alpha=train[f].sum()).fit(n_train_like[train[f]], y[train[f]])
            assert (ours == reference.predict(n_train_like[test])).all()
    wide = RidgeLayer(np.repeat(X, 8, axis=1))  # more features than training texts: the dual solve
    G = wide.scores(unit, len(codes), train[0], test_fold == 0, 1.0)
    reference = RidgeClassifier(alpha=train[0].sum()).fit(np.repeat(X, 8, axis=1)[train[0]], y[train[0]])
    assert ((G @ np.eye(4)[codes]).argmax(axis=1) == reference.predict(np.repeat(X, 8, axis=1)[test_fold == 0])).all()

    result = probe(states, data, [1, 2], "cluster", ProbeConfig(permutations=19, bootstrap=100, cv_seeds=2, headline_layers=(2,)))
    expected = np.zeros(len(y), bool)
    for f in range(5):
        test = test_fold == f
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)).fit(states[1][train[f]], y[train[f]])
        expected[test] = model.predict(states[1][test]) == y[test]
    assert abs(result.headline.accuracy - expected.mean()) <= 0.01
    assert result.headline.layers == [2] and result.layers[1].cv_seed_sd is not None and result.layers[0].cv_seed_sd is None


def test_folds_keep_concepts_and_scenarios_on_one_side():
    unit = np.repeat(np.arange(12), 3)
    scenario = [f"s{(u + j) % 4}" if j == 2 else None for u in range(12) for j in range(3)]
    data = ProbeData(unit=unit, unit_class=np.arange(12) % 3, classes=["a", "b", "c"], fold_group=unit.copy(), scenario=scenario)
    train, test_fold = assign_folds(data, 4, 0)
    for f in range(4):
        test = test_fold == f
        assert not set(unit[test]) & set(unit[train[f]])
        assert not ({scenario[i] for i in np.flatnonzero(test)} - {None}) & {scenario[i] for i in np.flatnonzero(train[f])}


def test_family_wise_p_is_never_below_the_layer_p_and_floors_at_one_over_p_plus_one():
    codes, unit, states, _ = planted(2, cluster_signal=0.4, layers=4)
    result = cluster_probe(codes, unit, states)
    for layer in result.layers:
        assert layer.p_family >= layer.p_value >= 1 / 100
    assert result.best_layer == max(result.layers, key=lambda x: x.accuracy).layer
