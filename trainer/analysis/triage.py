"""Triage: weak clusters, the concepts farthest from their cluster, and the texts to rewrite, each
with its evidence.

Everything is judged on the deep third of the run's layers, where abstract features live.
- weak cluster: a judged cluster (at least validation's minimum of concepts) whose deep-third
  cohesion is not above its size-matched null (scattered, or anti-clustered: below it). Smaller
  clusters are "too small to judge" and never called weak or cohesive.
- far concepts: in each weak cluster, the concepts with the lowest mean cosine to their
  cluster-mates, each against a random set of as many concepts (exact finite-population z), with the
  other cluster they sit closest to (against a random set of that cluster's size, Bonferroni over
  clusters) and the paired scenarios they share with it (a confound, named).
- texts to rewrite, each with every reason that applies, lowest out-of-sample alignment first:
  far-from-cluster (the texts of a far concept); low-alignment (leave-one-out alignment with its
  concept's other texts no better than a random text set of that size at alpha, or negative); the
  lowest-aligned text of a fragmented concept; near-duplicates (cosine of centered pooled states, or
  lint DU001); lint errors and warnings from lint.json. Texts of a one-text concept cannot be judged.
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
from trainer.analysis.confounds import shared_scenarios
from trainer.linalg import gram_matrices, unit
from trainer.runfolder.data import RunData
from trainer.report.wording import describe_cluster_test

CONCEPTS_PER_CLUSTER = 3
ALPHA = 0.05
# A text is a rewrite candidate when its out-of-sample alignment is at or below the median of random
# text sets of its concept's size (p >= 0.5); one merely not significant at ALPHA is counted, not listed.
TYPICAL = 0.5
NEAR_DUPLICATE_COSINE = 0.97
LABEL_ORDER = {"anti-clustered": 0, "scattered": 1}


def mate_cosines(gram: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """gram [C, C] -> [C, K]: each concept's mean cosine to the concepts of every cluster (itself excluded)."""
    membership = np.eye(n_clusters)[codes]
    sums = gram @ membership
    sizes = membership.sum(axis=0)[None, :] - membership
    sums -= membership * np.diagonal(gram)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sizes > 0, sums / np.maximum(sizes, 1), np.nan)


def near_duplicates(states: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """Pairs of texts whose centered pooled states have mean cosine >= threshold over the given layers.

    Exact and cheaper than comparing every pair on every layer: a mean over L layers of cosines (each
    at most 1) reaches the threshold only if every single layer's cosine reaches 1 - L (1 - threshold),
    so one layer's Gram matrix finds the candidates and only they are compared on all layers.
    """
    directions = unit(states - states.mean(axis=1, keepdims=True)).astype(np.float32)
    L = states.shape[0]
    floor = 1.0 - L * (1.0 - threshold)
    first = directions[L // 2] @ directions[L // 2].T
    i, j = np.nonzero(np.triu(first >= floor - 1e-5, k=1))
    if len(i) == 0:
        return []
    cos = np.einsum("lph,lph->p", directions[:, i], directions[:, j], dtype=np.float64) / L
    keep = cos >= threshold
    return [(int(a), int(b), float(c)) for a, b, c in zip(i[keep], j[keep], cos[keep])]


def _finding_rel(finding: Finding, rels: list[str], known: set[str]) -> str | None:
    """The corpus-relative path of a finding's file; lint.json of amygdala 0.1.0 has only the display
    path, which ends with it."""
    if finding.rel is not None:
        return finding.rel if finding.rel in known else None
    path = finding.path.replace("\\", "/")
    return next((rel for rel in rels if path == rel or path.endswith("/" + rel)), None)


def random_set_z(row: np.ndarray, exclude: int, members: np.ndarray) -> float | None:
    """z of the mean of ``row[members]`` against the mean of a random set of as many entries of ``row``
    (``exclude`` left out), from the exact moments of sampling without replacement."""
    pool = np.delete(row, exclude)
    N, m = len(pool), len(members)
    if m == 0 or m >= N:
        return None
    var = pool.var() / m * (N - m) / (N - 1)
    return float((row[members].mean() - pool.mean()) / np.sqrt(var)) if var > 0 else None


def compute_triage(run: RunData, quality: QualityReport, validation: ValidationReport) -> TriageReport:  # long: being rewritten in issue 24
    from scipy.stats import norm

    deep = validation.thirds["deep"]
    deep_idx = [run.layers.index(x) for x in deep]

    weak, cohesive, unjudged = [], [], []
    for name, cluster in validation.clusters.items():
        summary = cluster.thirds.get("deep")
        if summary is None:
            continue
        n = len(cluster.concepts)
        if summary.label == "cohesive":
            cohesive.append(name)
            continue
        item = dict(cluster=name, label=summary.label, n_concepts=n, cohesion=summary.cohesion, silhouette=summary.silhouette,
                    test=summary.cohesion_test)
        if summary.label in ("too small to judge", "undetermined"):
            unjudged.append(WeakCluster(**item, reason=cluster.reason or summary.label))
        elif summary.cohesion_test is not None:
            weak.append(WeakCluster(**item, reason=describe_cluster_test(summary.label, summary.cohesion_test, n)))
    weak.sort(key=lambda w: (LABEL_ORDER[w.label], w.test.z if w.test else 0.0))

    cluster_names = list(validation.clusters)
    codes = np.array([cluster_names.index(c) for c in run.clusters])
    gram = gram_matrices(run.vectors[deep_idx]).mean(axis=0)
    to_cluster = mate_cosines(gram, codes, len(cluster_names))
    shared = shared_scenarios([t.kind for t in run.texts], [t.scenario for t in run.texts], run.text_concept_index, len(run.concepts))
    n_others = sum(1 for k in range(len(cluster_names)) if (codes == k).any()) - 1
    far: list[FarConcept] = []
    for w in weak:
        k = cluster_names.index(w.cluster)
        members = np.flatnonzero(codes == k)
        for ci in sorted(members, key=lambda c: to_cluster[c, k])[:CONCEPTS_PER_CLUSTER]:
            others = to_cluster[ci].copy()
            others[k] = -np.inf
            others[np.isnan(others)] = -np.inf
            best = int(np.argmax(others))
            has_other = bool(np.isfinite(others[best]))
            closest_members = np.flatnonzero(codes == best)
            closest_z = random_set_z(gram[ci], ci, np.where(closest_members > ci, closest_members - 1, closest_members)) if has_other else None
            mates = members[members != ci]
            mate_z = random_set_z(gram[ci], ci, np.where(mates > ci, mates - 1, mates))
            far.append(
                FarConcept(
                    concept=run.concepts[ci],
                    cluster=w.cluster,
                    mate_cosine=round(float(to_cluster[ci, k]), 5),
                    mate_z=None if mate_z is None else round(mate_z, 3),
                    closest_cluster=cluster_names[best] if has_other else None,
                    closest_cosine=round(float(others[best]), 5) if has_other else None,
                    closest_z=None if closest_z is None else round(closest_z, 3),
                    closest_p=None if closest_z is None else round(float(min(1.0, norm.sf(closest_z) * max(n_others, 1))), 5),
                    shared_scenarios=sorted({s for j in closest_members for s in shared[ci][j]}) if has_other else [],
                )
            )

    texts = _texts_to_rewrite(run, quality, deep_idx, far, {w.cluster for w in weak})
    return TriageReport(
        settings=TriageSettings(deep_layers=deep, concepts_per_cluster=CONCEPTS_PER_CLUSTER, alpha=ALPHA, near_duplicate_cosine=NEAR_DUPLICATE_COSINE),
        weak_clusters=weak,
        cohesive_clusters=cohesive,
        unjudged_clusters=unjudged,
        far_concepts=far,
        one_text_concepts=[name for name, c in quality.concepts.items() if c.n_positives == 1],
        unconvincing_texts=sum(
            1 for c in quality.concepts.values() for t in c.alignment if t.loo_p is not None and ALPHA <= t.loo_p < TYPICAL and t.loo >= 0
        ),
        texts=texts,
    )


def far_detail(concept: FarConcept) -> str:
    mate = f"mean cosine {concept.mate_cosine:+.3f} to its cluster-mates" + ("" if concept.mate_z is None else f" (z {concept.mate_z:+.1f} against random concepts)")
    if not concept.closest_cluster:
        return f"{concept.concept} sits far from {concept.cluster}: {mate}"
    closer = f"closest to {concept.closest_cluster} ({concept.closest_cosine:+.3f}"
    if concept.closest_z is not None:
        closer += f", z {concept.closest_z:+.1f}, p {concept.closest_p:.3g} after choosing among clusters"
    closer += ")"
    if concept.shared_scenarios:
        closer += f", but they share scenario {', '.join(concept.shared_scenarios[:3])}: that closeness may be the scenario's"
    return f"{concept.concept} sits far from {concept.cluster}: {mate}; {closer}"


def _texts_to_rewrite(  # long: being rewritten in issue 24
    run: RunData, quality: QualityReport, deep_idx: list[int], far: list[FarConcept], weak: set[str]
) -> list[TextToRewrite]:
    loo: dict[str, tuple[float, float, float | None]] = {}
    for concept in quality.concepts.values():
        for text in concept.alignment:
            if text.loo is not None and text.loo_p is not None:
                loo[text.rel] = (text.loo, text.loo_p, text.loo_null_95)
    reasons: dict[str, list[TextReason]] = {}

    def add(rel: str, reason: TextReason) -> None:
        reasons.setdefault(rel, []).append(reason)

    for concept in far:
        detail = far_detail(concept)
        for text in run.texts:
            if text.concept == concept.concept:
                add(text.rel, TextReason(kind="far-from-cluster", detail=detail, value=concept.mate_cosine))

    for rel, (value, p, null_95) in loo.items():
        if value < 0:
            add(rel, TextReason(kind="low-alignment", detail=f"points away from its concept's other texts (leave-one-out cosine {value:+.3f})", value=value))
        elif p >= TYPICAL:
            add(
                rel,
                TextReason(
                    kind="low-alignment",
                    detail=f"aligns with its concept's other texts no better than a typical random text set (leave-one-out {value:+.3f}, random sets' 95th percentile {null_95:+.3f}, p = {p:.3g})",
                    value=value,
                ),
            )

    for name, concept in quality.concepts.items():
        if concept.shape == "fragmented" and concept.lowest_aligned and concept.first_pc_test:
            worst = concept.lowest_aligned[0]
            t = concept.first_pc_test
            add(
                worst.rel,
                TextReason(
                    kind="fragmented-concept",
                    detail=(
                        f"{name}'s {concept.n_positives} texts pull apart: first PC {t.value:.2f} of their variance, no more than random "
                        f"texts (null mean {t.null_mean:.2f}, p = {t.p:.3g}); this one aligns least"
                    ),
                    value=t.value,
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
        value = loo.get(rel)
        out.append(
            TextToRewrite(
                rel=rel,
                concept=concept,
                cluster=cluster,
                alignment=None if value is None else value[0],
                alignment_p=None if value is None else value[1],
                in_weak_cluster=cluster in weak,
                reasons=why,
            )
        )
    out.sort(key=lambda t: (t.alignment is None, t.alignment if t.alignment is not None else 0.0, t.rel))
    return out
