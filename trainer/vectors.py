"""Concept vectors from pooled activations: pure numpy over arrays and row labels.

Every method is linear in the activations: it builds a contrast matrix ``W`` [n_concepts, n_texts]
whose rows say how much each text counts for or against a concept, and the raw vectors are
``W @ activations`` at every layer. Denoising and normalisation come after.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol, Sequence

import numpy as np

from schemas.run import Method
from toolkit.errors import AmygdalaError


class Row(Protocol):
    """What the methods need to know about a text (schemas.run.TextRecord satisfies it)."""

    kind: str
    concept: str | None
    scenario: str | None


def _positives(rows: Sequence[Row], concepts: Sequence[str]) -> np.ndarray:
    """[n_concepts, n_texts] 0/1: the concept's stories and paired variants."""
    index = {c: i for i, c in enumerate(concepts)}
    out = np.zeros((len(concepts), len(rows)))
    for j, row in enumerate(rows):
        if row.kind != "baseline" and row.concept in index:
            out[index[row.concept], j] = 1.0
    return out


def _row_means(indicator: np.ndarray) -> np.ndarray:
    counts = indicator.sum(1, keepdims=True)
    return np.divide(indicator, counts, out=np.zeros_like(indicator), where=counts > 0)


def diffmean_weights(rows: Sequence[Row], concepts: Sequence[str]) -> np.ndarray:
    """mean(the concept's stories and variants) - mean(the other concepts' stories and all baselines)."""
    positives = _positives(rows, concepts)
    story = np.array([r.kind == "story" for r in rows])
    baseline = np.array([r.kind == "baseline" for r in rows])
    negatives = (story[None, :] & (positives == 0)) | baseline[None, :]
    alone = [c for c, row in zip(concepts, negatives) if not row.any()]
    if alone:
        raise AmygdalaError(
            f"diffmean has nothing to contrast {alone[0]!r} with: it needs another concept's story or a baseline"
        )
    return _row_means(positives) - _row_means(negatives.astype(float))


def paired_weights(rows: Sequence[Row], concepts: Sequence[str]) -> np.ndarray:
    """Contrastive (CAA): the mean over the concept's scenarios of (its variant - that scenario's baseline)."""
    baseline_of = {r.scenario: j for j, r in enumerate(rows) if r.kind == "baseline"}
    pairs: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for j, row in enumerate(rows):
        if row.kind == "variant" and row.scenario in baseline_of:
            pairs[row.concept].append((j, baseline_of[row.scenario]))
    out = np.zeros((len(concepts), len(rows)))
    for i, concept in enumerate(concepts):
        for variant, baseline in pairs.get(concept, []):
            out[i, variant] += 1.0 / len(pairs[concept])
            out[i, baseline] -= 1.0 / len(pairs[concept])
    return out


def centered_weights(rows: Sequence[Row], concepts: Sequence[str]) -> np.ndarray:
    """The paper's recipe: the concept's mean minus the mean of all concept means."""
    means = _row_means(_positives(rows, concepts))
    return means - means.mean(0, keepdims=True)


WEIGHTS = {"diffmean": diffmean_weights, "paired": paired_weights, "centered": centered_weights}


def trainable_concepts(method: Method, rows: Sequence[Row], candidates: Sequence[str]) -> list[str]:
    """The candidates (in their order) the method can make a vector for from these rows."""
    if method == "paired":
        with_baseline = {r.scenario for r in rows if r.kind == "baseline"}
        have = {r.concept for r in rows if r.kind == "variant" and r.scenario in with_baseline}
    else:
        have = {r.concept for r in rows if r.kind != "baseline"}
    return [c for c in candidates if c in have]


def raw_vectors(activations: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """[n_layers, n_texts, hidden] activations and [n_concepts, n_texts] weights -> [n_layers, n_concepts, hidden]."""
    return np.matmul(weights.astype(activations.dtype)[None], activations)


def neutral_components(neutral: np.ndarray, variance: float) -> list[np.ndarray]:
    """Per layer, the top principal directions [k, hidden] of neutral activations [n_layers, m, hidden]
    that together explain at least ``variance`` of their variance."""
    out = []
    for states in neutral.astype(np.float64):
        centered = states - states.mean(0)
        _, singular, directions = np.linalg.svd(centered, full_matrices=False)
        share = np.cumsum(singular**2) / max(float((singular**2).sum()), np.finfo(float).tiny)
        k = int(np.searchsorted(share, variance - 1e-12) + 1)
        out.append(directions[:k])
    return out


def project_out(vectors: np.ndarray, components: list[np.ndarray]) -> np.ndarray:
    """Remove from each layer's vectors their part in that layer's (orthonormal) components."""
    out = vectors.astype(np.float64).copy()
    for layer, basis in enumerate(components):
        out[layer] -= (out[layer] @ basis.T) @ basis
    return out.astype(vectors.dtype)


def unit_vectors(vectors: np.ndarray, concepts: Sequence[str], layers: Sequence[int]) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    zero = np.argwhere(norms[..., 0] <= 1e-12)
    if len(zero):
        layer, concept = zero[0]
        raise AmygdalaError(
            f"the vector of {concepts[concept]!r} is zero at layer {layers[layer]}: "
            "its positive and negative texts give identical means"
        )
    return vectors / norms


def concept_vectors(
    activations: np.ndarray,
    rows: Sequence[Row],
    concepts: Sequence[str],
    method: Method = "diffmean",
    layers: Sequence[int] | None = None,
    neutral: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Unit-length vectors [n_layers, n_concepts, hidden]; ``neutral``: components to project out first."""
    vectors = raw_vectors(activations, WEIGHTS[method](rows, concepts))
    if neutral is not None:
        vectors = project_out(vectors, neutral)
    return unit_vectors(vectors, concepts, layers or list(range(1, len(activations) + 1)))
