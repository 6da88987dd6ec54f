"""Layer-wise validation of the concept geometry against permutation nulls: cluster cohesion and
silhouette, grouped probes, PC1 valence, and the confounds (text source, shared scenarios, narrator person).

cohesion(cluster, layer) = mean cosine between distinct concepts of the cluster
                          - mean cosine between its concepts and every other cluster's concepts.
silhouette(cluster, layer) = mean cosine silhouette (scikit-learn's definition) of the cluster's concepts.

Labels come from a size-matched null: cluster labels permuted across concepts (every cluster keeps
its size), the cohesion of the permuted "cluster" with that size is its null. Per third (and per
layer), a two-sided permutation p, Holm-adjusted across the judged clusters: cohesive when above its
null at ``alpha``, anti-clustered when below, scattered otherwise. A cluster with fewer than
``MIN_CLUSTER_CONCEPTS`` concepts is "too small to judge" (its numbers are still reported); the only
cluster of a run, or one with fewer than two concepts, is undetermined.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from schemas.analysis import ClusterValidation, ProbeResult, SourceGeometry, ThirdSummary, ValenceLayer, ValidationReport, ValidationThresholds
from trainer.analysis.confounds import narrator_confound, scenario_confound, shared_scenarios, source_vectors
from trainer.linalg import default_report_layer, gram_matrices, thirds
from trainer.analysis.clusters import cluster_statistics
from trainer.analysis.probes import ProbeConfig, ProbeData, probe
from trainer.runfolder.data import RunData
from trainer.stats import holm, label_permutations, null_test, permutation_p, two_sided_p, z_score

ALPHA = 0.05
MIN_CLUSTER_CONCEPTS = 4
PERMUTATIONS = 999
THRESHOLDS = ValidationThresholds(alpha=ALPHA, min_cluster_concepts=MIN_CLUSTER_CONCEPTS, permutations=PERMUTATIONS, valence_separation_auc=0.8)
CONCEPT_PROBE_MIN_TEXTS = 5


def label_from_null(side: str, p_adjusted: float, alpha: float = ALPHA) -> str:
    if p_adjusted < alpha:
        return "cohesive" if side == "above" else "anti-clustered"
    return "scattered"


def cluster_tests(cohesion: np.ndarray, judged: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cohesion [K, 1+P] (observed first) -> z [K], Holm-adjusted two-sided p [K] (NaN if not judged), above [K]."""
    z = z_score(cohesion[:, 0], cohesion[:, 1:])
    p, above = two_sided_p(cohesion[:, 0], cohesion[:, 1:])
    adjusted = np.full(len(p), np.nan)
    if judged.any():
        adjusted[judged] = holm(p[judged])
    return z, adjusted, above


def cluster_geometry(gram: np.ndarray, codes: np.ndarray, n_clusters: int, permutations: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """gram [L, C, C] -> cohesion and silhouette [L, K, 1+P], the observed labelling first, then size-keeping permutations."""
    labelings = label_permutations(codes, permutations, rng)
    return cluster_statistics(gram, labelings, n_clusters)


def valence_separation(vectors: np.ndarray, valences: list[str], layers: list[int], permutations: int = PERMUTATIONS, seed: int = 0) -> list[ValenceLayer]:
    """Does the first principal component of the concept directions split positive from negative concepts?
    Null: the valence labels permuted across the concepts."""
    rng = np.random.default_rng(seed)
    valence = np.array(valences)
    keep = np.isin(valence, ["positive", "negative"])
    centered = vectors - vectors.mean(axis=1, keepdims=True)
    gram = gram_matrices(centered)
    eig, vecs = np.linalg.eigh(gram)
    labels = valence[keep] == "positive"
    perms = label_permutations(labels, permutations, rng)  # [1+P, m]: 1 for positive
    out = []
    for li, layer in enumerate(layers):
        scores = vecs[li, :, -1] * np.sqrt(max(eig[li, -1], 0.0))
        scores = scores * np.sign(scores[np.argmax(np.abs(scores))])  # deterministic sign: largest |score| positive
        kept = scores[keep]
        ranks = _ranks(kept)
        n_pos = labels.sum()
        n_neg = len(labels) - n_pos
        auc_all = ((perms * ranks).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)  # Mann-Whitney
        separation_all = np.maximum(auc_all, 1 - auc_all)
        auc = float(auc_all[0])
        p = float(permutation_p(separation_all[0], separation_all[1:]))
        pos, neg = kept[labels], kept[~labels]
        spread = float(scores.std())
        effect = abs(float(pos.mean() - neg.mean())) / spread if spread > 0 else 0.0
        separation = max(auc, 1.0 - auc)
        out.append(
            ValenceLayer(
                layer=layer,
                auc=round(auc, 5),
                separation=round(separation, 5),
                positive_side="+" if auc >= 0.5 else "-",
                effect=round(effect, 5),
                pc1_variance_ratio=round(float(eig[li, -1] / max(eig[li].clip(0).sum(), 1e-30)), 5),
                p_value=round(p, 5),
                separates=separation >= THRESHOLDS.valence_separation_auc and p < ALPHA,
            )
        )
    return out


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x)


def compute_validation(
    run: RunData,
    *,
    probes: bool = True,
    probe_config: ProbeConfig = ProbeConfig(),
    permutations: int = PERMUTATIONS,
    headline_layers: list[int] | None = None,
    seed: int = 0,
) -> ValidationReport:
    """validation.json: every cluster against its size-matched null (per layer and per third), the
    probes (unless ``probes`` is off: the pipeline runs them beside the rest), PC1 valence and the confounds."""
    rng = np.random.default_rng(seed)
    layers = run.layers
    parts = thirds(layers)
    part_idx = {name: [layers.index(x) for x in part] for name, part in parts.items()}
    concept_clusters = run.clusters
    cluster_names = [c for c in run.manifest.clusters if c in set(concept_clusters)]
    codes = np.array([cluster_names.index(c) for c in concept_clusters])
    sizes = np.bincount(codes, minlength=len(cluster_names))
    gram = gram_matrices(run.vectors)
    coh, sil = cluster_geometry(gram, codes, len(cluster_names), permutations, rng)  # [L, K, 1+P]
    judged = (sizes >= MIN_CLUSTER_CONCEPTS) & (len(cluster_names) >= 2)
    tests = cluster_null_tests(coh, sil, judged, part_idx) if permutations else None
    within, between = _within_between(gram, np.eye(len(cluster_names))[codes])

    clusters: dict[str, ClusterValidation] = {}
    for k, name in enumerate(cluster_names):
        members = [c for c, cl in zip(run.concepts, concept_clusters) if cl == name]
        title = run.manifest.clusters[name].title
        if sizes[k] < 2 or len(cluster_names) < 2:
            clusters[name] = _undetermined_cluster(title, members, int(sizes[k]), len(layers), parts, part_idx)
        else:
            clusters[name] = _cluster_validation(k, title, members, coh, sil, within, between, tests, not judged[k], parts, part_idx)

    report = ValidationReport(layers=layers, thirds=parts, thresholds=THRESHOLDS.model_copy(update={"permutations": permutations}),
                              clusters=clusters, cluster_probe=None, concept_probe=None, valence=None)
    if probes:
        compute_probes(run, headline_layers, probe_config).attach(report)
    else:
        report.cluster_probe_reason = report.concept_probe_reason = "probes not run (--no-probes)"

    valences = [run.manifest.concepts[c].valence for c in run.concepts]
    n_pos, n_neg = valences.count("positive"), valences.count("negative")
    if n_pos >= 2 and n_neg >= 2:
        report.valence = valence_separation(run.vectors, valences, layers, permutations, seed)
    else:
        report.valence_reason = f"needs at least two positive and two negative concepts (has {n_pos} and {n_neg})"
    _add_confounds(run, report, gram, codes, cluster_names, part_idx["deep"], permutations, rng)
    return report


@dataclass
class ClusterNullTests:
    """Every cluster against its size-matched null: per layer, and per third (the layers' mean statistic)."""

    z: np.ndarray  # [L, K]
    p_adjusted: np.ndarray  # [L, K] Holm across the judged clusters, NaN for the others
    above: np.ndarray  # [L, K] observed at or above the null mean
    null_mean: np.ndarray  # [L, K]
    thirds: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]  # mean cohesion, mean silhouette [K, 1+P], z, adjusted p, above [K]


def cluster_null_tests(coh: np.ndarray, sil: np.ndarray, judged: np.ndarray, part_idx: dict[str, list[int]]) -> ClusterNullTests:
    """cohesion and silhouette [L, K, 1+P] (observed first) -> the tests per layer and per third."""
    n_layers, n_clusters = coh.shape[:2]
    z, p, above = np.full((n_layers, n_clusters), np.nan), np.full((n_layers, n_clusters), np.nan), np.zeros((n_layers, n_clusters), bool)
    for li in range(n_layers):
        z[li], p[li], above[li] = cluster_tests(coh[li], judged)
    by_third = {}
    for part, idx in part_idx.items():
        if idx:
            mean_coh, mean_sil = coh[idx].mean(axis=0), sil[idx].mean(axis=0)  # [K, 1+P]
            by_third[part] = (mean_coh, mean_sil, *cluster_tests(mean_coh, judged))
    return ClusterNullTests(z, p, above, coh[:, :, 1:].mean(axis=2), by_third)


def _undetermined_cluster(
    title: str, members: list[str], size: int, n_layers: int, parts: dict[str, list[int]], part_idx: dict[str, list[int]]
) -> ClusterValidation:
    """A cluster with fewer than two concepts, or the only cluster of the run: its numbers cannot be judged."""
    reason = f"{size} concept in the run: cohesion needs at least two" if size < 2 else "the only cluster in the run: nothing to compare against"
    return ClusterValidation(
        title=title, concepts=members, cohesion=None, within=None, between=None, silhouette=None,
        labels=["undetermined"] * n_layers, reason=reason,
        thirds={part: ThirdSummary(layers=parts[part], cohesion=None, silhouette=None, label="undetermined",
                                   layer_labels={"undetermined": len(idx)}) if idx else None
                for part, idx in part_idx.items()},
    )


def _cluster_validation(
    k: int,
    title: str,
    members: list[str],
    coh: np.ndarray,
    sil: np.ndarray,
    within: np.ndarray,
    between: np.ndarray,
    tests: ClusterNullTests | None,
    small: bool,
    parts: dict[str, list[int]],
    part_idx: dict[str, list[int]],
) -> ClusterValidation:
    """One cluster's numbers and labels per layer and per third; ``small``: fewer concepts than a judgement needs."""
    n_layers = coh.shape[0]
    if small:
        labels = ["too small to judge"] * n_layers
    elif tests is not None:
        labels = [label_from_null("above" if tests.above[li, k] else "below", tests.p_adjusted[li, k]) for li in range(n_layers)]
    else:
        labels = ["undetermined"] * n_layers
    thirds_out = {part: _third_summary(k, part, parts[part], idx, coh, sil, labels, tests, small) if idx else None for part, idx in part_idx.items()}
    return ClusterValidation(
        title=title,
        concepts=members,
        cohesion=_r(coh[:, k, 0]),
        within=_r(within[:, k]),
        between=_r(between[:, k]),
        silhouette=_r(sil[:, k, 0]),
        cohesion_null_mean=_r(tests.null_mean[:, k]) if tests is not None else None,
        cohesion_z=_r(tests.z[:, k]) if tests is not None else None,
        cohesion_p=None if small or tests is None else _r(tests.p_adjusted[:, k]),
        labels=labels,  # type: ignore[arg-type]
        reason=f"{len(members)} concepts: fewer than {MIN_CLUSTER_CONCEPTS}, a random set this small looks cohesive too often" if small else None,
        thirds=thirds_out,
    )


def _third_summary(
    k: int,
    part: str,
    layers: list[int],
    idx: list[int],
    coh: np.ndarray,
    sil: np.ndarray,
    labels: list[str],
    tests: ClusterNullTests | None,
    small: bool,
) -> ThirdSummary:
    """A cluster over one third: the layers' mean cohesion and silhouette, each against the null of that mean."""
    c_obs, s_obs = float(coh[idx, k, 0].mean()), float(sil[idx, k, 0].mean())
    coh_test = sil_test = None
    label = labels[idx[0]]
    if tests is not None and part in tests.thirds:
        mean_coh, mean_sil, _, adjusted, above = tests.thirds[part]
        side = "above" if above[k] else "below"
        p_two = float(two_sided_p(mean_coh[k, 0], mean_coh[k, 1:])[0])
        coh_test = null_test(c_obs, mean_coh[k, 1:], p=p_two, p_adjusted=None if small else adjusted[k], side=side)
        sil_test = null_test(s_obs, mean_sil[k, 1:])
        label = "too small to judge" if small else label_from_null(side, adjusted[k])
    return ThirdSummary(
        layers=layers, cohesion=round(c_obs, 5), silhouette=round(s_obs, 5), label=label,  # type: ignore[arg-type]
        layer_labels=dict(Counter(labels[i] for i in idx)), cohesion_test=coh_test, silhouette_test=sil_test,
    )


def _r(values: np.ndarray) -> list[float]:
    return [round(float(v), 5) for v in values]


def _within_between(gram: np.ndarray, membership: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sizes = membership.sum(axis=0)
    n = membership.shape[0]
    block = membership.T @ gram @ membership
    self_sum = np.diagonal(gram, axis1=1, axis2=2) @ membership
    same = np.diagonal(block, axis1=1, axis2=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (same - self_sum) / (sizes * (sizes - 1)), (block.sum(axis=2) - same) / (sizes * (n - sizes))


def _source_geometry(source: str, recipe: str, vectors: np.ndarray, codes: np.ndarray, cluster_names: list[str], permutations: int, rng: np.random.Generator) -> SourceGeometry:
    present = sorted(set(codes.tolist()))
    local = np.array([present.index(c) for c in codes])
    sizes = np.bincount(local, minlength=len(present))
    out: dict[str, object] = {name: None for name in cluster_names}
    if len(present) < 2 or permutations == 0:
        return SourceGeometry(source=source, recipe=recipe, n_concepts=len(codes), clusters=out, reason="fewer than two clusters")  # type: ignore[arg-type]
    coh, _ = cluster_geometry(gram_matrices(vectors).mean(axis=0, keepdims=True), local, len(present), permutations, rng)
    judged = sizes >= MIN_CLUSTER_CONCEPTS
    z, adjusted, above = cluster_tests(coh[0], judged)
    for k, code in enumerate(present):
        if judged[k]:
            side = "above" if above[k] else "below"
            p_two = float(two_sided_p(coh[0, k, 0], coh[0, k, 1:])[0])
            out[cluster_names[code]] = null_test(float(coh[0, k, 0]), coh[0, k, 1:], p=p_two, p_adjusted=adjusted[k], side=side)
    return SourceGeometry(source=source, recipe=recipe, n_concepts=len(codes), clusters=out)  # type: ignore[arg-type]


def _add_confounds(run: RunData, report: ValidationReport, gram: np.ndarray, codes: np.ndarray, cluster_names: list[str], deep_idx: list[int], permutations: int, rng: np.random.Generator) -> None:
    deep = [run.layers[i] for i in deep_idx]
    concept_of_text = run.text_concept_index
    kinds = [t.kind for t in run.texts]
    scenarios = [t.scenario for t in run.texts]
    deep_acts = run.activations[deep_idx]
    recipes = {
        "story": "mean of the concept's stories - mean of the other concepts' stories",
        "paired": "mean over the concept's variants of (variant - its scenario's baseline)",
        "combined": "the run's vectors",
    }
    sources = source_vectors(deep_acts, kinds, concept_of_text, scenarios, len(run.concepts))
    sources["combined"] = (run.vectors[deep_idx], np.arange(len(run.concepts)))
    for source in ("story", "paired", "combined"):
        if source not in sources:
            report.geometry_by_source.append(
                SourceGeometry(source=source, recipe=recipes[source], n_concepts=0, clusters={}, reason=f"fewer than two concepts have {source} texts")  # type: ignore[arg-type]
            )
            continue
        vectors, which = sources[source]
        report.geometry_by_source.append(_source_geometry(source, recipes[source], vectors, codes[which], cluster_names, permutations, rng))

    shared = shared_scenarios(kinds, scenarios, run.text_concept_index, len(run.concepts))
    deep_gram = gram[deep_idx].mean(axis=0)
    report.scenario_confound = scenario_confound(deep_gram, shared, codes, run.concepts, deep, permutations, rng, ALPHA)
    persons = [t.narrator for t in run.texts]
    report.narrator_confound = narrator_confound(run.vectors[deep_idx], deep_acts, persons, concept_of_text, run.concepts, deep, permutations, rng, ALPHA)


def probe_data(run: RunData, level: str) -> tuple[ProbeData | None, np.ndarray, str | None]:
    """The texts a probe sees, their units and groups; (None, rows, reason) when it cannot run."""
    rows = np.array([i for i, t in enumerate(run.texts) if t.concept in run.manifest.concepts], dtype=np.int64)
    concepts: list[str] = [run.texts[i].concept or "" for i in rows]
    scenario = [run.texts[i].scenario if run.texts[i].kind == "variant" else None for i in rows]
    if level == "cluster":
        per_cluster = Counter(run.manifest.concepts[c].cluster for c in set(concepts))
        kept_clusters = sorted(c for c, n in per_cluster.items() if n >= 2)
        dropped = sorted(c for c, n in per_cluster.items() if n < 2)
        if len(kept_clusters) < 2:
            return None, rows, "fewer than two clusters with at least two concepts (a cluster must appear on both sides of a fold)"
        keep = [i for i, c in enumerate(concepts) if run.manifest.concepts[c].cluster in kept_clusters]
        rows = rows[keep]
        concepts = [concepts[i] for i in keep]
        scenario = [scenario[i] for i in keep]
        units = sorted(set(concepts))
        unit = np.array([units.index(c) for c in concepts])
        unit_class = np.array([kept_clusters.index(run.manifest.concepts[u].cluster) for u in units])
        data = ProbeData(unit=unit, unit_class=unit_class, classes=kept_clusters, fold_group=unit.copy(), scenario=scenario, dropped=dropped)
        return data, rows, None
    counts = Counter(concepts)
    short = sorted((n, c) for c in run.concepts if (n := counts.get(c, 0)) < CONCEPT_PROBE_MIN_TEXTS)
    if short:
        examples = ", ".join(f"{c}: {n}" for n, c in short[:3])
        return None, rows, f"{len(short)} of {len(run.concepts)} concepts have fewer than {CONCEPT_PROBE_MIN_TEXTS} texts ({examples})"
    units = sorted(set(concepts))
    unit = np.array([units.index(c) for c in concepts])
    groups = [s if s else f"story:{run.texts[r].rel}" for s, r in zip(scenario, rows)]
    group_names = sorted(set(groups))
    data = ProbeData(unit=unit, unit_class=np.arange(len(units)), classes=units, fold_group=np.array([group_names.index(g) for g in groups]),
                     scenario=scenario)
    return data, rows, None


@dataclass
class ProbeReports:
    """The cluster and concept probes of a run, or the reason each could not run."""

    cluster: ProbeResult | None
    cluster_reason: str | None
    concept: ProbeResult | None
    concept_reason: str | None

    def attach(self, report: ValidationReport) -> None:
        report.cluster_probe, report.cluster_probe_reason = self.cluster, self.cluster_reason
        report.concept_probe, report.concept_probe_reason = self.concept, self.concept_reason


def compute_probes(run: RunData, headline_layers: list[int] | None = None, probe_config: ProbeConfig = ProbeConfig()) -> ProbeReports:
    """The probes alone: the slowest part of validation, and independent of the rest of it."""
    headline = headline_layers or [default_report_layer(run.layers)]
    config = ProbeConfig(**{**probe_config.__dict__, "headline_layers": tuple(headline)})
    cluster = concept = None
    data, rows, cluster_reason = probe_data(run, "cluster")
    if data is not None:
        cluster = probe(run.activations[:, rows], data, run.layers, "cluster", config)
    data, rows, concept_reason = probe_data(run, "concept")
    if data is not None:
        # the concept probe has no null to correct over layers: it runs on the pre-declared layers only
        idx = [run.layers.index(x) for x in config.headline_layers]
        concept = probe(run.activations[idx][:, rows], data, list(config.headline_layers), "concept", config, permute=False)
    return ProbeReports(cluster, cluster_reason, concept, concept_reason)
