"""Concept vectors from pooled activations: pure numpy over arrays and row labels.

Every method is linear in the activations: it builds a contrast matrix ``W`` [n_concepts, n_texts]
whose rows say how much each text counts for or against a concept, and the raw vectors are
``W @ activations`` at every layer. Denoising and normalisation come after.

Texts with the same kind, concept and scenario get the same column of ``W``, so the product only
needs the sum of each such group's activations. ``GroupSums`` accumulates those sums a batch at a
time; memory then grows with the number of groups (about concepts + scenarios), never with the
number of texts, and the vectors are the same as from the whole activation matrix.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from schemas.run import Method
from base.errors import AmygdalaError


class Row(Protocol):
    """What the methods need to know about a text (schemas.run.TextRecord satisfies it)."""

    kind: str
    concept: str | None
    scenario: str | None


def _positives(rows: Sequence[Row], concepts: Sequence[str]) -> np.ndarray:
    """[n_concepts, n_rows] 0/1: the concept's stories and paired variants."""
    index = {c: i for i, c in enumerate(concepts)}
    out = np.zeros((len(concepts), len(rows)))
    for j, row in enumerate(rows):
        if row.kind != "baseline" and row.concept in index:
            out[index[row.concept], j] = 1.0
    return out


def _row_means(indicator: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Per-text weights that average the marked rows; a row stands for ``sizes`` texts."""
    counts = indicator @ sizes
    return np.divide(indicator, counts[:, None], out=np.zeros_like(indicator), where=counts[:, None] > 0)


def _sizes(rows: Sequence[Row], sizes: np.ndarray | None) -> np.ndarray:
    return np.ones(len(rows)) if sizes is None else np.asarray(sizes, dtype=float)


def diffmean_sets(rows: Sequence[Row], concepts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """[n_concepts, n_rows] 0/1 indicators of diffmean's positive and negative rows per concept."""
    positives = _positives(rows, concepts)
    story = np.array([r.kind == "story" for r in rows])
    baseline = np.array([r.kind == "baseline" for r in rows])
    return positives, ((story[None, :] & (positives == 0)) | baseline[None, :]).astype(float)


def diffmean_weights(rows: Sequence[Row], concepts: Sequence[str], sizes: np.ndarray | None = None) -> np.ndarray:
    """mean(the concept's stories and variants) - mean(the other concepts' stories and all baselines).

    ``sizes``: how many texts each row stands for (``GroupSums`` passes one row per group)."""
    sizes = _sizes(rows, sizes)
    positives, negatives = diffmean_sets(rows, concepts)
    alone = [c for c, row in zip(concepts, negatives) if not row.any()]
    if alone:
        raise AmygdalaError(
            f"diffmean has nothing to contrast {alone[0]!r} with: it needs another concept's story or a baseline"
        )
    return _row_means(positives, sizes) - _row_means(negatives, sizes)


def paired_weights(rows: Sequence[Row], concepts: Sequence[str], sizes: np.ndarray | None = None) -> np.ndarray:
    """Contrastive (CAA): the mean over the concept's scenarios of (its variant - that scenario's baseline).

    A scenario has one baseline and one telling per concept, so every row here stands for one text;
    ``sizes`` is accepted for a uniform signature and must be all ones."""
    if sizes is not None and np.any(np.asarray(sizes) != 1):
        raise ValueError("paired weights are defined per text: each variant is paired with its own baseline")
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


def centered_weights(rows: Sequence[Row], concepts: Sequence[str], sizes: np.ndarray | None = None) -> np.ndarray:
    """The paper's recipe: the concept's mean minus the mean of all concept means."""
    means = _row_means(_positives(rows, concepts), _sizes(rows, sizes))
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


@dataclass(frozen=True)
class _Group:
    kind: str
    concept: str | None
    scenario: str | None


class GroupSums:
    """Running sums of pooled states per (kind, concept, scenario) group, fed a batch at a time.

    ``add`` may see the texts in any order and in any number of batches; ``vectors`` then gives what
    ``concept_vectors`` gives on the whole activation matrix, up to floating-point summation order.
    """

    def __init__(self, rows: Sequence[Row], n_layers: int, hidden: int) -> None:
        index: dict[_Group, int] = {}
        self.group_of = np.array(
            [index.setdefault(_Group(r.kind, r.concept, r.scenario), len(index)) for r in rows], dtype=np.int64
        )
        self.groups = list(index)
        self.sizes = np.bincount(self.group_of, minlength=len(self.groups)).astype(float)
        self.sums = np.zeros((n_layers, len(self.groups), hidden))
        self.norm_sums = np.zeros(n_layers)
        self.seen = np.zeros(len(rows), dtype=bool)

    def add(self, indices: Sequence[int], states: np.ndarray) -> None:
        """``states`` [n_layers, len(indices), hidden] of the texts at ``indices`` (rows order)."""
        indices = np.asarray(indices, dtype=np.int64)
        if self.seen[indices].any():
            raise ValueError("a text was added twice")
        self.seen[indices] = True
        states = np.asarray(states, dtype=np.float64)
        for layer in range(states.shape[0]):
            np.add.at(self.sums[layer], self.group_of[indices], states[layer])
        self.norm_sums += np.linalg.norm(states, axis=-1).sum(-1)

    def mean_norm(self) -> np.ndarray:
        """Mean L2 norm of the pooled states per layer."""
        return self.norm_sums / max(int(self.seen.sum()), 1)

    def raw(self, concepts: Sequence[str], method: Method) -> np.ndarray:
        """Unnormalised vectors [n_layers, n_concepts, hidden]."""
        if not self.seen.all():
            raise ValueError(f"{int((~self.seen).sum())} texts were never added")
        sizes = None if method == "paired" else self.sizes
        per_text = WEIGHTS[method](self.groups, concepts, sizes)
        return np.einsum("cg,lgh->lch", per_text, self.sums)

    def vectors(
        self,
        concepts: Sequence[str],
        method: Method,
        layers: Sequence[int],
        neutral: list[np.ndarray] | None = None,
    ) -> np.ndarray:
        """Unit-length vectors [n_layers, n_concepts, hidden] (float32); ``neutral``: components to project out first."""
        vectors = self.raw(concepts, method)
        if neutral is not None:
            vectors = project_out(vectors, neutral)
        return unit_vectors(vectors, concepts, layers).astype(np.float32)


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
    """Unit-length vectors [n_layers, n_concepts, hidden] from the whole activation matrix at once."""
    sums = GroupSums(rows, activations.shape[0], activations.shape[-1])
    sums.add(range(len(rows)), activations)
    return sums.vectors(concepts, method, layers or list(range(1, len(activations) + 1)), neutral)
