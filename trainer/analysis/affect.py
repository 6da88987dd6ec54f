"""Valence and arousal in the concept geometry: principal components, their correlation with the
manifest's ratings, and the circumplex.

Per layer the concept vectors are centred and decomposed (PCA). Each of the first
``COMPONENTS_SEARCHED`` components' scores is correlated (Pearson) with the coded valence
(negative -1, neutral 0, positive +1) and arousal (low -1, medium 0, high +1). p-values permute
the ratings across concepts, the exchangeable unit; the best-aligned component's p uses the
maximum |r| over the searched components in each permutation, so choosing it is paid for. The
circumplex places concepts on the component best aligned with valence (x) and the best other one
for arousal (y).
"""

from __future__ import annotations

import numpy as np

from schemas.analyses import AffectLayer, AffectReport, AxisCorrelation, BestComponent, CircumplexPoint
from trainer.stats import label_permutations, max_statistic_p, permutation_p

VALENCE_CODES = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
AROUSAL_CODES = {"low": -1.0, "medium": 0.0, "high": 1.0}
COMPONENTS_SEARCHED = 5
PERMUTATIONS = 1000
SEED = 0


def principal_scores(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """[n, hidden] -> (scores [n, k] on the first k components, variance share [k]) of the centred rows.

    From the eigenvectors of the n x n Gram matrix of the centred rows (n concepts < hidden: cheaper
    than an SVD of the rows, same scores up to sign)."""
    centred = vectors.astype(np.float64) - vectors.mean(axis=0)
    eig, vecs = np.linalg.eigh(centred @ centred.T)
    eig, vecs = np.clip(eig[::-1], 0.0, None), vecs[:, ::-1]
    k = min(k, len(eig))
    total = float(eig.sum())
    share = eig[:k] / total if total > 0 else np.zeros(k)
    scores = vecs[:, :k] * np.sqrt(eig[:k])
    # deterministic signs: the largest |score| of each component is positive
    signs = np.sign(scores[np.argmax(np.abs(scores), axis=0), np.arange(k)])
    return scores * np.where(signs == 0, 1.0, signs), share


def _standardise(x: np.ndarray, axis: int) -> np.ndarray:
    centred = x - x.mean(axis=axis, keepdims=True)
    norm = np.linalg.norm(centred, axis=axis, keepdims=True)
    return centred / np.where(norm == 0, 1.0, norm)


def shuffled_ratings(ratings: np.ndarray, permutations: int, rng: np.random.Generator) -> np.ndarray:
    """[P, n] standardised copies of ratings, each permuted across concepts (shared by every layer)."""
    return _standardise(label_permutations(ratings, permutations, rng)[1:], axis=1)


def permutation_correlations(scores: np.ndarray, ratings: np.ndarray, shuffled: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pearson r of each score column with ratings, its two-sided permutation p, and the max-|r| corrected p.

    scores [n, k], ratings [n], shuffled [P, n] from ``shuffled_ratings`` -> (r [k], p [k], p_max [k]),
    p_max[j] = P(max over columns of |r_perm| >= |r_j|).
    """
    z_scores = _standardise(scores, axis=0)
    r = _standardise(ratings[None, :], axis=1)[0] @ z_scores
    null = np.abs(shuffled @ z_scores).T  # [k, P]
    return r, permutation_p(np.abs(r), null), max_statistic_p(np.abs(r), null)


def _correlation(r: np.ndarray, p: np.ndarray, j: int, n: int) -> AxisCorrelation | None:
    return AxisCorrelation(r=round(float(r[j]), 5), p_value=round(float(p[j]), 5), n=n) if j < len(r) else None


def _best(r: np.ndarray, p_max: np.ndarray, exclude: int | None = None) -> tuple[int, BestComponent]:
    order = np.argsort(-np.abs(r))
    j = int(next(i for i in order if i != exclude))
    return j, BestComponent(component=j + 1, r=round(float(r[j]), 5), p_value=round(float(p_max[j]), 5))


def _affect_layer(
    layer: int,
    vectors: np.ndarray,
    components: int,
    v_codes: np.ndarray,
    v_null: np.ndarray,
    a_rated: np.ndarray,
    a_codes: np.ndarray,
    a_null: np.ndarray | None,
) -> tuple[AffectLayer, tuple[int, int, float, float, np.ndarray]]:
    """One layer's components against the ratings, and its circumplex axes (x, y, their signs, the scores)."""
    scores, share = principal_scores(vectors, components)
    rv, pv, pv_max = permutation_correlations(scores, v_codes, v_null)
    x, best_v = _best(rv, pv_max)
    entry = AffectLayer(
        layer=layer,
        variance_explained=[round(float(s), 5) for s in share],
        pc1_valence=_correlation(rv, pv, 0, len(v_codes)),
        pc2_valence=_correlation(rv, pv, 1, len(v_codes)),
        pc1_arousal=None,
        pc2_arousal=None,
        best_valence=best_v,
        best_arousal=None,
    )
    y = 1 if x == 0 else 0
    sign_y = 1.0
    if a_null is not None and a_rated.sum() >= 3 and len(set(a_codes)) > 1 and scores.shape[1] > 1:
        ra, pa, pa_max = permutation_correlations(scores[a_rated], a_codes, a_null)
        entry.pc1_arousal = _correlation(ra, pa, 0, len(a_codes))
        entry.pc2_arousal = _correlation(ra, pa, 1, len(a_codes))
        y, entry.best_arousal = _best(ra, pa_max, exclude=x)
        sign_y = np.sign(ra[y]) or 1.0
    return entry, (x, y, np.sign(rv[x]) or 1.0, sign_y, scores)


def compute_affect(
    vectors: np.ndarray,
    layers: list[int],
    concepts: list[str],
    clusters: list[str],
    valence: list[str],
    arousal: list[str | None],
    circumplex_layer: int,
    *,
    components: int = COMPONENTS_SEARCHED,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> AffectReport:
    """vectors [n_layers, n_concepts, hidden]; ratings in concept order (arousal None = unrated)."""
    v_codes = np.array([VALENCE_CODES[v] for v in valence])
    a_rated = np.array([a is not None for a in arousal])
    a_codes = np.array([AROUSAL_CODES[a] for a in arousal if a is not None])
    rng = np.random.default_rng(seed)
    v_null = shuffled_ratings(v_codes, permutations, rng)
    a_null = shuffled_ratings(a_codes, permutations, rng) if len(a_codes) else None
    out, axes = [], {}
    for li, layer in enumerate(layers):
        entry, axes[layer] = _affect_layer(layer, vectors[li], components, v_codes, v_null, a_rated, a_codes, a_null)
        out.append(entry)
    x, y, sign_x, sign_y, scores = axes[circumplex_layer]
    points = [
        CircumplexPoint(concept=c, cluster=k, x=round(float(sign_x * scores[i, x]), 5), y=round(float(sign_y * scores[i, y]), 5) if scores.shape[1] > 1 else 0.0)
        for i, (c, k) in enumerate(zip(concepts, clusters))
    ]
    return AffectReport(
        coding={"valence": VALENCE_CODES, "arousal": AROUSAL_CODES},
        components_searched=components,
        permutations=permutations,
        seed=seed,
        n_valence=len(v_codes),
        n_arousal=int(a_rated.sum()),
        layers=out,
        circumplex_layer=circumplex_layer,
        circumplex_axes=(x + 1, y + 1),
        circumplex=points,
    )
