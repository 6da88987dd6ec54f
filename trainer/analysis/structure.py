"""Unsupervised structure of the concept vectors: clustering against the manifest, pairs, stability.

- Clustering: per layer, hierarchical clustering (average linkage on cosine distance) cut into as
  many groups as the run has manifest clusters, and k-means on the unit vectors with the same k.
  Agreement with the manifest is the adjusted Rand index (ARI); its null permutes the manifest
  labels across concepts (the exchangeable unit) and recomputes the ARI against the same groups.
- Pairs: the most similar and most opposed concept pairs at one layer, and the share of them in the
  same manifest cluster against the share among all pairs (hypergeometric tail for the similar side).
- Stability: each concept's cosine between adjacent layers and to the report layer, and the
  correlation of whole cosine matrices, which says where the geometry stops changing.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from schemas.analyses import AgreementLayer, ClusterFate, Pair, PairsReport, RecoveredGroup, StabilityReport, StructureReport
from trainer.stats import permutation_p

PERMUTATIONS = 1000
SEED = 0
KMEANS_RESTARTS = 1  # one k-means++ start: restarts cost 0.1 s per layer on the bundled corpus (bench/analyses_bench.py)
PAIRS = 15
SETTLE_THRESHOLD = 0.9


def _comb2(x: np.ndarray) -> np.ndarray:
    return x * (x - 1) / 2.0


def adjusted_rand_many(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ARI of one labelling ``a`` [n] against each row of ``b`` [P, n] (integer codes from 0), vectorised.

    Same formula as scikit-learn's adjusted_rand_score (Hubert and Arabie 1985), one contingency table
    per row built with a single bincount.
    """
    b = np.atleast_2d(b)
    rows, n = b.shape
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    cells = (a[None, :] * kb + b) + (np.arange(rows)[:, None] * ka * kb)
    table = np.bincount(cells.ravel(), minlength=rows * ka * kb).reshape(rows, ka * kb)
    sum_ij = _comb2(table.astype(np.float64)).sum(axis=1)
    sum_a = _comb2(np.bincount(a, minlength=ka).astype(np.float64)).sum()
    b_counts = np.bincount((b + np.arange(rows)[:, None] * kb).ravel(), minlength=rows * kb).reshape(rows, kb)
    sum_b = _comb2(b_counts.astype(np.float64)).sum(axis=1)
    expected = sum_a * sum_b / _comb2(np.float64(n))
    top = (sum_a + sum_b) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(top == expected, 1.0, (sum_ij - expected) / (top - expected))


def _codes(labels: list[str]) -> tuple[np.ndarray, list[str]]:
    names = list(dict.fromkeys(labels))
    return np.array([names.index(x) for x in labels]), names


def hierarchical_groups(vectors: np.ndarray, k: int) -> np.ndarray:
    """Average-linkage tree on cosine distance, cut into at most k groups: codes from 0."""
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(vectors.astype(np.float64), method="average", metric="cosine")
    return fcluster(tree, t=k, criterion="maxclust") - 1


def span_coordinates(vectors: np.ndarray) -> np.ndarray:
    """[n, hidden] -> [n, min(n, hidden)] coordinates in the rows' own span: every distance and inner
    product is unchanged, and k-means on n concepts no longer pays for the model's width."""
    x = vectors.astype(np.float64)
    if x.shape[0] >= x.shape[1]:
        return x
    eig, vecs = np.linalg.eigh(x @ x.T)
    return vecs * np.sqrt(np.clip(eig, 0.0, None))


def kmeans_groups(vectors: np.ndarray, k: int, seed: int = SEED) -> np.ndarray:
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    # One OpenMP thread: on 179 points the second thread's start-up and spinning cost more than it saves.
    with threadpool_limits(limits=1, user_api="openmp"):
        return KMeans(n_clusters=k, n_init=KMEANS_RESTARTS, random_state=seed).fit_predict(span_coordinates(vectors))


def _agreement(layer: int, groups: np.ndarray, truth: np.ndarray, shuffled: np.ndarray) -> AgreementLayer:
    ari = float(adjusted_rand_many(groups, truth[None, :])[0])
    null = adjusted_rand_many(groups, shuffled)
    return AgreementLayer(
        layer=layer,
        ari=round(ari, 5),
        null_mean=round(float(null.mean()), 5),
        null_high=round(float(np.quantile(null, 0.95)), 5),
        p_value=round(float(permutation_p(ari, null)), 5),
    )


def cluster_fates(groups: np.ndarray, clusters: list[str]) -> list[ClusterFate]:
    """What a grouping did with each manifest cluster.

    A cluster's home groups hold at least max(2, a quarter) of its members. kept: one home group
    whose members come mostly from this cluster; split: several home groups; merged: its home
    group is mostly another cluster's, or another cluster has at least max(2, a quarter of the group)
    members there too; scattered: no home group.
    """
    out = []
    for name in dict.fromkeys(clusters):
        mine = [g for g, c in zip(groups, clusters) if c == name]
        counts = Counter(int(g) for g in mine)
        need = max(2, len(mine) / 4)
        homes = [g for g, n in counts.items() if n >= need]
        merged = False
        for g in homes:
            others = Counter(c for gg, c in zip(groups, clusters) if gg == g and c != name)
            size = counts[g] + sum(others.values())
            if counts[g] < size / 2 or any(n >= max(2, size / 4) for n in others.values()):
                merged = True
        if not homes:
            verdict = "scattered"
        elif len(homes) > 1:
            verdict = "split and merged" if merged else "split"
        else:
            verdict = "merged" if merged else "kept"
        out.append(ClusterFate(cluster=name, size=len(mine), groups={str(g): n for g, n in counts.most_common()}, verdict=verdict))
    return out


def recovered_groups(groups: np.ndarray, concepts: list[str], clusters: list[str]) -> list[RecoveredGroup]:
    out = []
    for g in sorted(set(int(x) for x in groups), key=lambda g: (-(groups == g).sum(), g)):
        idx = np.flatnonzero(groups == g)
        counts = Counter(clusters[i] for i in idx)
        majority, top = counts.most_common(1)[0]
        out.append(
            RecoveredGroup(
                group=g,
                members=[concepts[i] for i in idx],
                clusters=dict(counts.most_common()),
                majority=majority,
                purity=round(top / len(idx), 4),
            )
        )
    return out


def compute_structure(
    vectors: np.ndarray,
    layers: list[int],
    concepts: list[str],
    clusters: list[str],
    report_layer: int,
    *,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> StructureReport:
    """vectors [n_layers, n_concepts, hidden] unit rows; clusters in concept order (at least two distinct)."""
    truth, names = _codes(clusters)
    k = len(names)
    rng = np.random.default_rng(seed)
    shuffled = np.stack([rng.permutation(truth) for _ in range(permutations)])
    hierarchical, kmeans, report_groups = [], [], None
    for li, layer in enumerate(layers):
        tree = hierarchical_groups(vectors[li], k)
        hierarchical.append(_agreement(layer, tree, truth, shuffled))
        kmeans.append(_agreement(layer, kmeans_groups(vectors[li], k, seed), truth, shuffled))
        if layer == report_layer:
            report_groups = tree
    assert report_groups is not None, "report_layer must be one of layers"
    return StructureReport(
        n_groups=k,
        permutations=permutations,
        seed=seed,
        hierarchical=hierarchical,
        kmeans=kmeans,
        report_layer=report_layer,
        groups=recovered_groups(report_groups, concepts, clusters),
        fates=cluster_fates(report_groups, clusters),
    )


def compute_pairs(vectors: np.ndarray, concepts: list[str], clusters: list[str], layer: int, n: int = PAIRS) -> PairsReport:
    """vectors [n_concepts, hidden] unit rows at ``layer``."""
    from scipy.stats import hypergeom

    cos = vectors.astype(np.float64) @ vectors.T.astype(np.float64)
    i, j = np.triu_indices(len(concepts), k=1)
    values = cos[i, j]
    same = np.array([clusters[a] == clusters[b] for a, b in zip(i, j)])
    n = min(n, len(values))
    order = np.argsort(-values, kind="stable")

    def listed(idx: np.ndarray) -> list[Pair]:
        return [Pair(a=concepts[i[x]], b=concepts[j[x]], cosine=round(float(values[x]), 5), same_cluster=bool(same[x])) for x in idx]

    similar, opposed = order[:n], order[::-1][:n]
    hits = int(same[similar].sum())
    return PairsReport(
        layer=layer,
        n=n,
        similar=listed(similar),
        opposed=listed(opposed),
        similar_same_share=round(hits / n, 4) if n else 0.0,
        opposed_same_share=round(float(same[opposed].mean()), 4) if n else 0.0,
        chance_same_share=round(float(same.mean()), 4),
        similar_p_value=round(float(hypergeom.sf(hits - 1, len(values), int(same.sum()), n)), 6),
    )


def _offdiag_correlation(a: np.ndarray, b: np.ndarray) -> float:
    i, j = np.triu_indices(a.shape[0], k=1)
    x, y = a[i, j], b[i, j]
    if x.std() == 0 or y.std() == 0:
        return 1.0 if np.allclose(x, y) else 0.0
    return float(np.corrcoef(x, y)[0, 1])


# Three concepts give three pairs, the fewest a correlation between two cosine matrices can use.
MIN_GEOMETRY_CONCEPTS = 3


def compute_stability(vectors: np.ndarray, layers: list[int], report_layer: int, threshold: float = SETTLE_THRESHOLD) -> StabilityReport:
    """vectors [n_layers, n_concepts, hidden] unit rows."""
    from trainer.analysis.quality import gram_matrices

    x = vectors.astype(np.float64)
    ri = layers.index(report_layer)
    adjacent = (x[1:] * x[:-1]).sum(axis=-1)  # [L-1, C]
    to_report = (x * x[ri][None]).sum(axis=-1)
    n_concepts = x.shape[1]
    geometry_adjacent: list[float | None] = [None] * len(layers)
    geometry_to_report: list[float | None] = [None] * len(layers)
    settled: int | None = None
    reason = None
    if n_concepts < MIN_GEOMETRY_CONCEPTS:
        pairs = n_concepts * (n_concepts - 1) // 2
        reason = (f"not enough concepts to judge how the geometry settles: {n_concepts} concept(s) give {pairs} pair(s), "
                  f"a correlation of cosine matrices needs at least {MIN_GEOMETRY_CONCEPTS} concepts")
    else:
        grams = gram_matrices(x)
        geometry_adjacent = [None] + [round(_offdiag_correlation(grams[li], grams[li - 1]), 5) for li in range(1, len(layers))]
        geometry_to_report = [round(_offdiag_correlation(grams[li], grams[ri]), 5) for li in range(len(layers))]
        settled = report_layer
        for li in range(ri, -1, -1):
            if geometry_to_report[li] < threshold:  # type: ignore[operator]
                break
            settled = layers[li]
    return StabilityReport(
        layers=layers,
        report_layer=report_layer,
        adjacent_mean=[None] + [round(float(v), 5) for v in adjacent.mean(axis=1)],
        adjacent_min=[None] + [round(float(v), 5) for v in adjacent.min(axis=1)],
        to_report_mean=[round(float(v), 5) for v in to_report.mean(axis=1)],
        geometry_adjacent=geometry_adjacent,
        geometry_to_report=geometry_to_report,
        settle_threshold=threshold,
        settled_from=settled,
        geometry_reason=reason,
    )
