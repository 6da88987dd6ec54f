"""Triage: weak clusters, the concepts farthest from their cluster, and the texts to rewrite.

Everything is judged on the deep third of the run's layers, where abstract features live.
- weak cluster: its deep-third label is not cohesive (undetermined clusters are listed last).
- far concepts: in each weak cluster, the concepts with the lowest mean cosine to their cluster-mates,
  with the other cluster they sit closest to.
- texts to rewrite, each with every reason that applies, lowest alignment first:
  far-from-cluster (the texts of a far concept: they carry it toward another cluster), low-alignment (deep-third alignment below the lowest-decile cut, or negative, among texts of concepts
  with at least two positives: a lone positive defines its own direction), the lowest-aligned
  text of a fragmented concept, near-duplicates (cosine of centered pooled states, or lint DU001), and
  lint errors and warnings from lint.json.
"""

from __future__ import annotations

import numpy as np

from schemas.analysis import (
    FarConcept,
    QualityReport,
    TextReason,
    TextToRewrite,
    TriageReport,
    TriageSettings,
    ValidationReport,
    WeakCluster,
)
from schemas.finding import Finding
from trainer.linalg import gram_matrices, unit
from trainer.rundata import RunData

CONCEPTS_PER_CLUSTER = 3
LOW_ALIGNMENT_QUANTILE = 0.1
NEAR_DUPLICATE_COSINE = 0.97
LABEL_ORDER = {"anti-clustered": 0, "scattered": 1, "undetermined": 2}


def mate_cosines(gram: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """gram [C, C] -> [C, K]: each concept's mean cosine to the concepts of every cluster (itself excluded)."""
    membership = np.eye(n_clusters)[codes]
    sums = gram @ membership
    sizes = membership.sum(axis=0)[None, :] - membership
    sums -= membership * np.diagonal(gram)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sizes > 0, sums / np.maximum(sizes, 1), np.nan)


def near_duplicates(states: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """Pairs of texts whose centered pooled states have mean cosine >= threshold over the given layers."""
    centered = unit(states - states.mean(axis=1, keepdims=True))
    stacked = centered.transpose(1, 0, 2).reshape(states.shape[1], -1)  # summing over layers = one wide product
    cos = gram_matrices(stacked) / states.shape[0]
    i, j = np.nonzero(np.triu(cos >= threshold, k=1))
    return [(int(a), int(b), float(cos[a, b])) for a, b in zip(i, j)]


def _finding_rel(finding: Finding, rels: list[str], known: set[str]) -> str | None:
    """The corpus-relative path of a finding's file; lint.json of amygdala 0.1.0 has only the display
    path, which ends with it."""
    if finding.rel is not None:
        return finding.rel if finding.rel in known else None
    path = finding.path.replace("\\", "/")
    return next((rel for rel in rels if path == rel or path.endswith("/" + rel)), None)


def compute_triage(run: RunData, quality: QualityReport, validation: ValidationReport) -> TriageReport:
    deep = validation.thirds["deep"]
    deep_idx = [run.layers.index(x) for x in deep]

    weak, cohesive = [], []
    for name, cluster in validation.clusters.items():
        summary = cluster.thirds.get("deep")
        if summary is None:
            continue
        if summary.label == "cohesive":
            cohesive.append(name)
            continue
        if summary.label == "undetermined":
            reason = cluster.reason or "undetermined"
        elif summary.label == "anti-clustered":
            reason = (
                f"its concepts are closer to other clusters than to each other "
                f"(cohesion {summary.cohesion:+.3f}, silhouette {summary.silhouette:+.3f})"
            )
        else:
            reason = (
                f"cohesion {summary.cohesion:+.3f} / silhouette {summary.silhouette:+.3f} miss the cohesive bar "
                f"(> {validation.thresholds.cohesive_cohesion} and > {validation.thresholds.cohesive_silhouette})"
            )
        weak.append(
            WeakCluster(cluster=name, label=summary.label, cohesion=summary.cohesion, silhouette=summary.silhouette, reason=reason)
        )
    weak.sort(key=lambda w: (LABEL_ORDER[w.label], w.cohesion if w.cohesion is not None else 0.0))

    cluster_names = list(validation.clusters)
    codes = np.array([cluster_names.index(c) for c in run.clusters])
    gram = gram_matrices(run.vectors[deep_idx]).mean(axis=0)
    to_cluster = mate_cosines(gram, codes, len(cluster_names))
    far: list[FarConcept] = []
    for w in weak:
        if w.label == "undetermined":
            continue
        k = cluster_names.index(w.cluster)
        members = np.flatnonzero(codes == k)
        for ci in sorted(members, key=lambda c: to_cluster[c, k])[:CONCEPTS_PER_CLUSTER]:
            others = to_cluster[ci].copy()
            others[k] = -np.inf
            others[np.isnan(others)] = -np.inf
            best = int(np.argmax(others))
            has_other = np.isfinite(others[best])
            far.append(
                FarConcept(
                    concept=run.concepts[ci],
                    cluster=w.cluster,
                    mate_cosine=round(float(to_cluster[ci, k]), 5),
                    closest_cluster=cluster_names[best] if has_other else None,
                    closest_cosine=round(float(others[best]), 5) if has_other else None,
                )
            )

    texts = _texts_to_rewrite(run, quality, deep_idx, far, {w.cluster for w in weak})
    return TriageReport(
        settings=TriageSettings(
            deep_layers=deep,
            concepts_per_cluster=CONCEPTS_PER_CLUSTER,
            low_alignment_quantile=LOW_ALIGNMENT_QUANTILE,
            near_duplicate_cosine=NEAR_DUPLICATE_COSINE,
        ),
        weak_clusters=weak,
        cohesive_clusters=cohesive,
        far_concepts=far,
        texts=texts,
    )


def _texts_to_rewrite(
    run: RunData, quality: QualityReport, deep_idx: list[int], far: list[FarConcept], weak: set[str]
) -> list[TextToRewrite]:
    alignment: dict[str, float] = {}
    judged: dict[str, float] = {}  # a lone positive defines its own direction: its alignment says nothing
    for concept in quality.concepts.values():
        for text in concept.alignment:
            alignment[text.rel] = text.deep
            if concept.n_positives >= 2:
                judged[text.rel] = text.deep
    reasons: dict[str, list[TextReason]] = {}

    def add(rel: str, reason: TextReason) -> None:
        reasons.setdefault(rel, []).append(reason)

    for concept in far:
        where = f"closer to {concept.closest_cluster} ({concept.closest_cosine:+.3f})" if concept.closest_cluster else "no closer cluster"
        detail = f"{concept.concept} sits far from {concept.cluster} (mean cosine {concept.mate_cosine:+.3f}; {where})"
        for text in run.texts:
            if text.concept == concept.concept:
                add(text.rel, TextReason(kind="far-from-cluster", detail=detail, value=concept.mate_cosine))

    if judged:
        cut = float(np.quantile(list(judged.values()), LOW_ALIGNMENT_QUANTILE))
        for rel, value in judged.items():
            if value < 0:
                add(rel, TextReason(kind="low-alignment", detail="points away from its concept's direction", value=value))
            elif value <= cut:
                add(rel, TextReason(kind="low-alignment", detail=f"in the lowest {LOW_ALIGNMENT_QUANTILE:.0%} of the corpus (cut {cut:.3f})", value=value))

    for name, concept in quality.concepts.items():
        if concept.shape == "fragmented" and concept.lowest_aligned:
            worst = concept.lowest_aligned[0]
            add(
                worst.rel,
                TextReason(
                    kind="fragmented-concept",
                    detail=f"{name}'s positives pull apart (first PC {concept.first_pc_deep:.2f} of their variance); this one aligns least",
                    value=concept.first_pc_deep,
                ),
            )

    rels = run.rels
    for a, b, cos in near_duplicates(run.activations[deep_idx], NEAR_DUPLICATE_COSINE):
        for one, other in ((a, b), (b, a)):
            add(rels[one], TextReason(kind="near-duplicate", detail=f"pooled state nearly equal to {rels[other]}", value=round(cos, 5)))

    if run.lint is not None:
        known = set(rels)
        for finding in run.lint.findings:
            rel = _finding_rel(finding, rels, known) if finding.severity != "info" else None
            if rel is not None:
                kind = "near-duplicate" if finding.code.startswith("DU") else "lint"
                add(rel, TextReason(kind=kind, detail=f"{finding.code} {finding.name} (line {finding.line}): {finding.message}"))

    concept_of = {t.rel: t.concept for t in run.texts}
    out = []
    for rel, why in reasons.items():
        concept = concept_of.get(rel)
        cluster = run.manifest.concepts[concept].cluster if concept in run.manifest.concepts else None
        out.append(
            TextToRewrite(
                rel=rel, concept=concept, cluster=cluster, alignment=alignment.get(rel), in_weak_cluster=cluster in weak, reasons=why
            )
        )
    out.sort(key=lambda t: (t.alignment is None, t.alignment if t.alignment is not None else 0.0, t.rel))
    return out
