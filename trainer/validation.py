"""Layer-wise validation of the concept geometry: cluster cohesion and silhouette, probes, PC1 valence.

cohesion(cluster, layer) = mean cosine between distinct concepts of the cluster
                          - mean cosine between its concepts and every other cluster's concepts.
silhouette(cluster, layer) = mean cosine silhouette (scikit-learn) of the cluster's concepts.
Labels (thresholds written into validation.json): cohesive when cohesion > 0.05 and silhouette > 0
(closer to its own cluster than to the others, by a margin); anti-clustered when cohesion < 0 (its
concepts are closer to other clusters than to each other); scattered otherwise; undetermined for a
cluster with fewer than two concepts in the run (no within-cluster pair to measure).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from schemas.analysis import ClusterValidation, ThirdSummary, ValenceLayer, ValidationReport, ValidationThresholds
from trainer.linalg import gram_matrices, thirds
from trainer.probes import ProbeConfig, probe
from trainer.rundata import RunData

THRESHOLDS = ValidationThresholds(
    cohesive_cohesion=0.05, cohesive_silhouette=0.0, anti_clustered_cohesion=0.0, valence_separation_auc=0.8
)
CONCEPT_PROBE_MIN_TEXTS = 5


def label(cohesion: float, silhouette: float, thresholds: ValidationThresholds = THRESHOLDS) -> str:
    if cohesion > thresholds.cohesive_cohesion and silhouette > thresholds.cohesive_silhouette:
        return "cohesive"
    if cohesion < thresholds.anti_clustered_cohesion:
        return "anti-clustered"
    return "scattered"


def cluster_cohesion(gram: np.ndarray, membership: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """gram [L, C, C] cosines, membership [C, K] one-hot -> (within [L, K], between [L, K]); NaN where undefined."""
    sizes = membership.sum(axis=0)
    n = membership.shape[0]
    block = membership.T @ gram @ membership  # [L, K, K] sums of cosines between clusters
    self_sum = np.diagonal(gram, axis1=1, axis2=2) @ membership  # [L, K]
    same = np.diagonal(block, axis1=1, axis2=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        within = (same - self_sum) / (sizes * (sizes - 1))
        between = (block.sum(axis=2) - same) / (sizes * (n - sizes))
    return within, between


def cluster_silhouette(gram: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """Mean cosine silhouette per cluster and layer: [L, K] (scikit-learn's silhouette_samples on 1 - cosine)."""
    from sklearn.metrics import silhouette_samples

    out = np.full((gram.shape[0], n_clusters), np.nan)
    counts = np.bincount(codes, minlength=n_clusters)
    for li in range(gram.shape[0]):
        distance = np.clip(1.0 - gram[li], 0.0, None)
        np.fill_diagonal(distance, 0.0)
        per_concept = silhouette_samples(distance, codes, metric="precomputed")
        out[li] = np.bincount(codes, weights=per_concept, minlength=n_clusters) / np.maximum(counts, 1)
    return out


def valence_separation(vectors: np.ndarray, valences: list[str], layers: list[int]) -> list[ValenceLayer]:
    """Does the first principal component of the concept directions split positive from negative concepts?"""
    pos = np.array([v == "positive" for v in valences])
    neg = np.array([v == "negative" for v in valences])
    centered = vectors - vectors.mean(axis=1, keepdims=True)
    gram = gram_matrices(centered)
    eig, vecs = np.linalg.eigh(gram)
    out = []
    for li, layer in enumerate(layers):
        scores = vecs[li, :, -1] * np.sqrt(max(eig[li, -1], 0.0))
        scores = scores * np.sign(scores[np.argmax(np.abs(scores))])  # deterministic sign: largest |score| positive
        p, q = scores[pos], scores[neg]
        auc = float((p[:, None] > q[None, :]).mean() + 0.5 * (p[:, None] == q[None, :]).mean())
        spread = float(scores.std())
        effect = abs(float(p.mean() - q.mean())) / spread if spread > 0 else 0.0
        separation = max(auc, 1.0 - auc)
        out.append(
            ValenceLayer(
                layer=layer,
                auc=round(auc, 5),
                separation=round(separation, 5),
                positive_side="+" if auc >= 0.5 else "-",
                effect=round(effect, 5),
                pc1_variance_ratio=round(float(eig[li, -1] / max(eig[li].clip(0).sum(), 1e-30)), 5),
                separates=separation >= THRESHOLDS.valence_separation_auc,
            )
        )
    return out


def _summary(layer_idx: list[int], layers: list[int], cohesion: np.ndarray, silhouette: np.ndarray, labels: list[str]) -> ThirdSummary | None:
    if not layer_idx:
        return None
    coh, sil = float(cohesion[layer_idx].mean()), float(silhouette[layer_idx].mean())
    return ThirdSummary(
        layers=[layers[i] for i in layer_idx],
        cohesion=round(coh, 5),
        silhouette=round(sil, 5),
        label=label(coh, sil),  # type: ignore[arg-type]
        layer_labels=dict(Counter(labels[i] for i in layer_idx)),
    )


def compute_validation(run: RunData, *, probes: bool = True, probe_config: ProbeConfig = ProbeConfig()) -> ValidationReport:
    layers = run.layers
    parts = thirds(layers)
    part_idx = {name: [layers.index(x) for x in part] for name, part in parts.items()}
    concept_clusters = run.clusters
    cluster_names = [c for c in run.manifest.clusters if c in set(concept_clusters)]
    codes = np.array([cluster_names.index(c) for c in concept_clusters])
    membership = np.eye(len(cluster_names))[codes]
    gram = gram_matrices(run.vectors)
    within, between = cluster_cohesion(gram, membership)
    cohesion = within - between
    silhouette = (
        cluster_silhouette(gram, codes, len(cluster_names))
        if 2 <= len(cluster_names) < len(run.concepts)
        else np.full_like(cohesion, np.nan)
    )

    clusters: dict[str, ClusterValidation] = {}
    for k, name in enumerate(cluster_names):
        members = [c for c, cl in zip(run.concepts, concept_clusters) if cl == name]
        reason = None
        if len(members) < 2:
            reason = f"{len(members)} concept in the run: cohesion needs at least two"
        elif len(cluster_names) < 2:
            reason = "the only cluster in the run: nothing to compare against"
        if reason:
            clusters[name] = ClusterValidation(
                title=run.manifest.clusters[name].title,
                concepts=members,
                cohesion=None,
                within=None,
                between=None,
                silhouette=None,
                labels=["undetermined"] * len(layers),
                reason=reason,
                thirds={
                    part: ThirdSummary(
                        layers=parts[part], cohesion=None, silhouette=None, label="undetermined", layer_labels={"undetermined": len(idx)}
                    )
                    if idx
                    else None
                    for part, idx in part_idx.items()
                },
            )
            continue
        labels = [label(float(c), float(s)) for c, s in zip(cohesion[:, k], silhouette[:, k])]
        clusters[name] = ClusterValidation(
            title=run.manifest.clusters[name].title,
            concepts=members,
            cohesion=[round(float(v), 5) for v in cohesion[:, k]],
            within=[round(float(v), 5) for v in within[:, k]],
            between=[round(float(v), 5) for v in between[:, k]],
            silhouette=[round(float(v), 5) for v in silhouette[:, k]],
            labels=labels,  # type: ignore[arg-type]
            thirds={part: _summary(idx, layers, cohesion[:, k], silhouette[:, k], labels) for part, idx in part_idx.items()},
        )

    report = ValidationReport(
        layers=layers,
        thirds=parts,
        thresholds=THRESHOLDS,
        clusters=clusters,
        cluster_probe=None,
        concept_probe=None,
        valence=None,
    )
    if probes:
        _add_probes(run, report, probe_config)
    else:
        report.cluster_probe_reason = report.concept_probe_reason = "probes not run (--no-probes)"

    valences = [run.manifest.concepts[c].valence for c in run.concepts]
    n_pos, n_neg = valences.count("positive"), valences.count("negative")
    if n_pos >= 2 and n_neg >= 2:
        report.valence = valence_separation(run.vectors, valences, layers)
    else:
        report.valence_reason = f"needs at least two positive and two negative concepts (has {n_pos} and {n_neg})"
    return report


def _add_probes(run: RunData, report: ValidationReport, config: ProbeConfig) -> None:
    rows = [i for i, t in enumerate(run.texts) if t.concept in run.manifest.concepts]
    concepts = [run.texts[i].concept for i in rows]
    states = run.activations[:, rows]
    clusters = [run.manifest.concepts[c].cluster for c in concepts]
    report.cluster_probe, report.cluster_probe_reason = probe(states, clusters, run.layers, "cluster", config)

    counts = Counter(concepts)
    short = sorted((n, c) for c in run.concepts if (n := counts.get(c, 0)) < CONCEPT_PROBE_MIN_TEXTS)
    if short:
        examples = ", ".join(f"{c}: {n}" for n, c in short[:3])
        report.concept_probe_reason = (
            f"{len(short)} of {len(run.concepts)} concepts have fewer than {CONCEPT_PROBE_MIN_TEXTS} texts ({examples})"
        )
        return
    report.concept_probe, report.concept_probe_reason = probe(states, concepts, run.layers, "concept", config)
