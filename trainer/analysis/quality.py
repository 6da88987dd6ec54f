"""Per-concept quality, vectorised over every layer at once, each figure against a null.

- ``first_pc_variance_ratio``: share of the centered positives' variance on their first principal
  component; judged from ``MIN_FIRST_PC_TEXTS`` positives up (two centered points span one direction,
  three at most two) against random sets of positives of the same size.
- alignment: cosine of each positive's centered pooled state (minus the mean over all texts of the run)
  with the concept direction, in sample; and out of sample (``loo``): against the concept's other
  positives' mean (minus the same all-text mean), closed form, no refit, judged against random
  sets of texts of the concept's size.
- nearest concepts and redundancy: the directions' Gram matrix; redundancy is the R² of a ridge
  regression of a direction on every other concept's direction (samples = hidden dimensions, no
  intercept), tested against the R² of vectors built from texts whose concept labels were shuffled.
- single-neuron alignment: best |cosine| with a column of the MLP down-projection of the block that
  writes the layer (layer idx is the output of block idx-1), per layer; the verdict uses the deep third.
"""

from __future__ import annotations

import numpy as np

from schemas.analysis import (
    ConceptQuality,
    Contributor,
    LowAlignment,
    Neighbour,
    QualityReport,
    QualityThresholds,
    Redundancy,
    SingleNeuron,
    NullTest,
    TextAlignment,
)
from trainer.analysis.confounds import shared_scenarios
from trainer.extraction.weights import DownProjections
from trainer.linalg import gram_matrices, thirds, unit
from trainer.runfolder.data import RunData
from trainer.stats import null_test, permutation_p

ALPHA = 0.05
MIN_FIRST_PC_TEXTS = 4
NULL_DRAWS = 499
FIRST_PC_DRAWS = 199  # an eigendecomposition per draw and layer: the costliest null of the report


def first_pc_draws(size: int) -> int:
    """Draws of the first-PC null for sets of ``size`` texts: 199, fewer for large sets (their null is
    narrow, and each draw costs size² x hidden), never under 49 (a p floor of 0.02)."""
    return int(min(FIRST_PC_DRAWS, max(49, FIRST_PC_DRAWS * (32 / size) ** 2)))
REDUNDANCY_SHUFFLES = 49
THRESHOLDS = QualityThresholds(
    alpha=ALPHA,
    min_first_pc_texts=MIN_FIRST_PC_TEXTS,
    null_draws=NULL_DRAWS,
    redundancy_shuffles=REDUNDANCY_SHUFFLES,
    single_neuron_cosine=0.6,
    ridge_alpha=0.01,
)
NEAREST = 5
LOWEST = 2
CONTRIBUTORS = 3


# --------------------------------------------------------------------------- pure numerics


def first_pc_variance_ratio(positives: np.ndarray) -> np.ndarray | None:
    """[layers, n, hidden] -> [layers] share of variance on the first PC of the centered rows; None if no variance."""
    centered = (positives - positives.mean(axis=1, keepdims=True)).astype(np.float32)
    eig = np.clip(np.linalg.eigvalsh(centered @ np.swapaxes(centered, -1, -2)).astype(np.float64), 0.0, None)
    total = eig.sum(axis=-1)
    if np.any(total <= 0):
        return None
    return eig[:, -1] / total


def alignments(activations: np.ndarray, vectors: np.ndarray, concept_of_text: np.ndarray) -> np.ndarray:
    """Cosine of each text's centered state with its concept's direction: [layers, n_texts] (NaN for baselines)."""
    centered = unit(activations - activations.mean(axis=1, keepdims=True))
    out = np.full(activations.shape[:2], np.nan)
    rows = np.flatnonzero(concept_of_text >= 0)
    out[:, rows] = np.einsum("lnh,lnh->ln", centered[:, rows], vectors[:, concept_of_text[rows]])
    return out


def ridge_redundancy(gram: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """R² of each unit direction regressed on all the others, from the Gram matrix alone.

    gram: [layers, C, C] of unit directions. Returns (r2 [layers, C], coef [layers, C, C]) where
    coef[l, :, c] are the weights of the other directions for concept c. One inverse per layer: for
    B = (G + αI)⁻¹, the ridge solution without concept c is -B[:, c] / B[c, c] (block-inverse identity).
    """
    n = gram.shape[-1]
    inv = np.linalg.inv(gram + alpha * np.eye(n))
    diag = np.diagonal(inv, axis1=-2, axis2=-1)
    coef = -inv / diag[:, None, :]
    idx = np.arange(n)
    coef[:, idx, idx] = 0.0
    explained = np.einsum("ljc,ljc->lc", coef, gram)
    spread = np.einsum("ljc,ljc->lc", coef, gram @ coef)
    # 1 - ||d - Dᵀw||² with ||d|| = 1
    return 2 * explained - spread, coef


def best_column_cosine(directions: np.ndarray, unit_columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """directions [C, hidden] (unit), unit_columns [hidden, I] -> (best |cosine| [C], column index [C])."""
    cos = np.abs(directions @ unit_columns)
    best = cos.argmax(axis=1)
    return cos[np.arange(len(best)), best], best


def loo_alignment(activations: np.ndarray, concept_of_text: np.ndarray) -> np.ndarray:
    """[L, n, h] -> [n] mean over the given layers of cos(x_i - m, mean of the concept's other texts - m),
    m the mean of all texts. NaN for texts without a concept or alone in it. Closed form: one sum per concept."""
    mean = activations.mean(axis=1, keepdims=True)
    centered = activations - mean
    out = np.full(activations.shape[1], np.nan)
    rows = np.flatnonzero(concept_of_text >= 0)
    codes = concept_of_text[rows]
    counts = np.bincount(codes)
    members = np.eye(counts.size, dtype=np.float32)[codes].T  # [C, rows]
    sums = members @ centered[:, rows]  # [L, C, h]
    alone = counts[codes] < 2
    others = (sums[:, codes] - centered[:, rows]) / np.maximum(counts[codes] - 1, 1)[None, :, None]
    cos = np.einsum("lnh,lnh->ln", unit(centered[:, rows]), unit(others)).mean(axis=0)
    out[rows] = np.where(alone, np.nan, cos)
    return out


def _chunk(activations: np.ndarray, size: int) -> int:
    """Draws per batch so a gathered [layers, draws, size, hidden] block stays near 10 M numbers."""
    return max(1, min(100, 10_000_000 // (activations.shape[0] * size * activations.shape[2])))


def random_set_alignment(activations: np.ndarray, pool: np.ndarray, size: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """[draws] the LOO alignment of a random text with the mean of ``size - 1`` other random texts from ``pool``."""
    centered = activations - activations.mean(axis=1, keepdims=True)
    out = np.empty(draws)
    step = _chunk(activations, size)
    for start in range(0, draws, step):
        m = min(step, draws - start)
        idx = np.stack([rng.choice(pool, size, replace=False) for _ in range(m)])  # [m, size]
        first = centered[:, idx[:, 0]]
        others = centered[:, idx[:, 1:]].mean(axis=2)
        out[start : start + m] = np.einsum("lmh,lmh->lm", unit(first), unit(others)).mean(axis=0)
    return out


def random_set_first_pc(activations: np.ndarray, pool: np.ndarray, size: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """[draws] deep-mean first-PC variance ratio of random sets of ``size`` texts from ``pool``."""
    out = np.empty(draws)
    step = _chunk(activations, size)
    for start in range(0, draws, step):
        m = min(step, draws - start)
        idx = np.stack([rng.choice(pool, size, replace=False) for _ in range(m)])
        x = activations[:, idx].astype(np.float32)  # [L, m, size, h]
        x -= x.mean(axis=2, keepdims=True)
        eig = np.clip(np.linalg.eigvalsh(x @ np.swapaxes(x, -1, -2)), 0.0, None)
        out[start : start + m] = (eig[..., -1] / np.maximum(eig.sum(axis=-1), 1e-30)).mean(axis=0)
    return out


def shuffled_redundancy(activations: np.ndarray, concept_of_text: np.ndarray, n_concepts: int, shuffles: int, alpha: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ridge R² of mean-difference vectors (concept mean - mean of all texts) at one layer [n, h]:
    (observed [C], null [shuffles * C]) where the null reassigns the concept labels across texts (sizes kept).
    The observed vectors are rebuilt with the same recipe as the null's, so the two compare like with like."""
    rows = np.flatnonzero(concept_of_text >= 0)
    states = activations[rows] - activations.mean(axis=0)
    counts = np.maximum(np.bincount(concept_of_text[rows], minlength=n_concepts), 1)[:, None]

    def r2(codes: np.ndarray) -> np.ndarray:
        vectors = unit((np.eye(n_concepts, dtype=np.float32)[codes].T @ states) / counts)
        return ridge_redundancy(gram_matrices(vectors)[None], alpha)[0][0]

    observed = r2(concept_of_text[rows])
    null = np.concatenate([r2(rng.permutation(concept_of_text[rows])) for _ in range(shuffles)])
    return observed, null


def shape_of(test: NullTest, alpha: float = ALPHA) -> str:
    if test.p < alpha:
        return "clean"
    if test.value <= test.null_mean:
        return "fragmented"
    return "mixed"


# --------------------------------------------------------------------------- report


def _r(x: float) -> float:
    return round(float(x), 5)


def compute_quality(run: RunData, *, report_layer: int, down: DownProjections, seed: int = 0) -> QualityReport:  # long: being rewritten in issue 24 (triage's detectors)
    rng = np.random.default_rng(seed)

    layers = run.layers
    deep_layers = thirds(layers)["deep"]
    deep_idx = [layers.index(d) for d in deep_layers]
    report_idx = layers.index(report_layer)
    vectors = run.vectors
    n_concepts, hidden = vectors.shape[1], vectors.shape[2]
    concept_of_text = run.text_concept_index
    align = alignments(run.activations, vectors, concept_of_text)
    gram = gram_matrices(vectors)
    deep_acts = run.activations[deep_idx]
    loo = loo_alignment(deep_acts, concept_of_text)
    pool = np.flatnonzero(concept_of_text >= 0)
    sizes = np.bincount(concept_of_text[pool], minlength=n_concepts)
    loo_null = {int(s): random_set_alignment(deep_acts, pool, int(s), NULL_DRAWS, rng) for s in set(sizes.tolist()) if 2 <= s <= len(pool)}
    pc_null = {
        int(s): random_set_first_pc(deep_acts, pool, int(s), first_pc_draws(int(s)), rng) for s in set(sizes.tolist()) if MIN_FIRST_PC_TEXTS <= s <= len(pool)
    }

    r2 = coef = None
    rebuilt = redundancy_null = None
    if n_concepts >= 2:
        r2, coef = ridge_redundancy(gram, THRESHOLDS.ridge_alpha)
        rebuilt, redundancy_null = shuffled_redundancy(
            run.activations[report_idx], concept_of_text, n_concepts, REDUNDANCY_SHUFFLES, THRESHOLDS.ridge_alpha, rng
        )

    neuron_best = neuron_idx = None
    if down.columns:
        neuron_best = np.full((len(layers), n_concepts), np.nan)
        neuron_idx = np.zeros((len(layers), n_concepts), dtype=np.int64)
        for li, layer in enumerate(layers):
            cols = down.columns.get(layer - 1)
            if cols is not None:
                neuron_best[li], neuron_idx[li] = best_column_cosine(vectors[li], cols)

    shared = shared_scenarios([t.kind for t in run.texts], [t.scenario for t in run.texts], concept_of_text, n_concepts)
    report_gram = gram[report_idx].copy()
    np.fill_diagonal(report_gram, -np.inf)
    concepts: dict[str, ConceptQuality] = {}
    for ci, name in enumerate(run.concepts):
        spec = run.manifest.concepts[name]
        rows = np.flatnonzero(concept_of_text == ci)
        ratio = ratio_reason = shape = pc_test = None
        if len(rows) < 2:
            ratio_reason = f"{len(rows)} positive text(s): needs at least two"
        else:
            ratio = first_pc_variance_ratio(run.activations[:, rows])
            if ratio is None:
                ratio_reason = "the positives have identical pooled states"
            elif len(rows) < MIN_FIRST_PC_TEXTS:
                ratio_reason = (
                    f"{len(rows)} positives: centered, they span at most {len(rows) - 1} direction(s), so the ratio is at least "
                    f"{1 / (len(rows) - 1):.2f} by construction; judged from {MIN_FIRST_PC_TEXTS} positives up"
                )
            else:
                null = pc_null[len(rows)]
                observed = float(ratio[deep_idx].mean())
                pc_test = null_test(observed, null)
                shape = shape_of(pc_test)
        alone = len(rows) < 2
        text_align = []
        for row in rows:
            item = TextAlignment(rel=run.texts[row].rel, by_layer=[_r(v) for v in align[:, row]], deep=_r(align[deep_idx, row].mean()))
            if not alone:
                null = loo_null[len(rows)]
                item.loo = _r(loo[row])
                item.loo_null_95 = _r(np.percentile(null, 95))
                item.loo_p = _r(permutation_p(loo[row], null))
            text_align.append(item)
        lowest = [] if alone else sorted(text_align, key=lambda t: t.loo if t.loo is not None else 0.0)[:LOWEST]
        order = np.argsort(-report_gram[ci])[: min(NEAREST, n_concepts - 1)]
        nearest = [Neighbour(concept=run.concepts[j], cosine=_r(report_gram[ci, j]), shared_scenarios=shared[ci][j]) for j in order]

        redundancy = None
        if r2 is not None and coef is not None:
            weights = coef[report_idx, :, ci]
            top = np.argsort(-np.abs(weights))[:CONTRIBUTORS]
            assert rebuilt is not None and redundancy_null is not None
            test = null_test(float(rebuilt[ci]), redundancy_null)
            redundancy = Redundancy(
                r2_by_layer=[_r(v) for v in r2[:, ci]],
                r2=_r(r2[report_idx, ci]),
                test=test,
                # both the run's own R² and the rebuilt vectors' must beat the label-shuffled null
                redundant=bool(test.p < ALPHA and r2[report_idx, ci] > test.null_high),
                contributors=[
                    Contributor(concept=run.concepts[j], coefficient=_r(weights[j]), cosine=_r(gram[report_idx, ci, j]))
                    for j in top
                ],
            )

        single = None
        if neuron_best is not None and neuron_idx is not None and not np.all(np.isnan(neuron_best[deep_idx, ci])):
            column = neuron_best[:, ci]
            # judged on the deep third like every verdict: early layers can be dominated by one
            # massive-activation channel that every concept's direction shares
            best_li = deep_idx[int(np.nanargmax(column[deep_idx]))]
            single = SingleNeuron(
                by_layer=[None if np.isnan(v) else _r(v) for v in column],
                best=_r(column[best_li]),
                best_layer=layers[best_li],
                neuron=int(neuron_idx[best_li, ci]),
                one_neuron=bool(column[best_li] > THRESHOLDS.single_neuron_cosine),
            )
        concepts[name] = ConceptQuality(
            cluster=spec.cluster,
            valence=spec.valence,
            n_positives=len(rows),
            first_pc_variance_ratio=None if ratio is None else [_r(v) for v in ratio],
            first_pc_deep=None if ratio is None else _r(ratio[deep_idx].mean()),
            first_pc_reason=ratio_reason,
            first_pc_test=pc_test,
            shape=shape,  # type: ignore[arg-type]
            alignment=text_align,
            alignment_reason=(
                None if not alone else "one text: cannot judge its texts (it defines its own direction)" if len(rows) == 1 else "no texts in the run"
            ),
            lowest_aligned=[LowAlignment(rel=t.rel, deep=t.deep, loo=t.loo, loo_p=t.loo_p) for t in lowest],
            nearest=nearest,
            redundancy=redundancy,
            redundancy_reason=None if redundancy else "only one concept in the run",
            single_neuron=single,
            single_neuron_reason=None if single else (down.source.reason or "no down-projection for the deep third's blocks"),
        )
    return QualityReport(
        layers=layers,
        report_layer=report_layer,
        deep_layers=deep_layers,
        thresholds=THRESHOLDS,
        redundancy_chance_r2=_r(min(1.0, (n_concepts - 1) / hidden)),
        redundancy_null=None
        if rebuilt is None or redundancy_null is None
        else null_test(float(np.median(rebuilt)), redundancy_null),
        down_projection=down.source,
        concepts=concepts,
    )
