"""Held-out accuracy of the readout: labelled outside text, or the run's own corpus cross-validated.

Pure functions over arrays (``rank_hits``, ``heldout_zscores``, ``summarise``; intervals from ``trainer.stats``);
``evaluate_labelled`` and ``evaluate_cv`` read the run and the texts and call them.

- Each text's true concept is ranked among the *candidates*: the run's concepts that occur as labels.
  Labels outside the run are skipped and counted. Chance is 1/candidates (top-1), 5/candidates (top-5).
- Confidence intervals: percentile bootstrap that resamples the true concepts (all texts of a drawn
  concept come along), because texts of one concept are not independent of each other.
- The headline layer is declared before looking (the middle of the deep third, as in the report);
  the best layer is reported too, labelled exploratory: it is a selected maximum.
- ``--cv``: every text is read out by vectors (and z-score references) made without it. Texts of a
  paired scenario are held out together (the baseline and every variant), so no vector has seen the
  scenario it is tested on; a story is held out alone. A text whose concept has no other text
  outside its group is skipped and counted.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from schemas.evaluation import ClusterAccuracy, Confusion, Estimate, EvalReport, LayerAccuracy
from schemas.run import TextRecord
from base.errors import AmygdalaError
from trainer.use.readout import choose_layers, display_layer, layer_rows, pooled_states, projections, reference_stats, zscores
from trainer.reporter import Reporter
from trainer.runfolder.folder import Run
from trainer.stats import bootstrap_interval, grouped_bootstrap

N_BOOTSTRAP = 2000
CV_SCHEME = "leave one group out: a story alone, a paired scenario's baseline and variants together; vectors and z references rebuilt without the group"

# --------------------------------------------------------------------------- pure math


def rank_hits(z: np.ndarray, truth: np.ndarray, k: int) -> np.ndarray:
    """[n_texts] bool: the true column is among the k highest of each row of z [n_texts, n_candidates].

    NaN columns (a concept without a vector for that text) never rank; ties count against the truth.
    """
    scores = np.where(np.isnan(z), -np.inf, z)
    own = scores[np.arange(len(truth)), truth]
    above = (scores >= own[:, None]).sum(1) - 1  # others scoring at least as high
    return (above < k) & np.isfinite(own)


def estimate(hits: np.ndarray, groups: np.ndarray, seed: int) -> Estimate:
    low, high = bootstrap_interval(grouped_bootstrap(hits, groups, N_BOOTSTRAP, np.random.default_rng(seed)))
    return Estimate(value=round(float(hits.mean()), 4), ci_low=round(float(low), 4), ci_high=round(float(high), 4), n=int(len(hits)))


def heldout_zscores(
    activations: np.ndarray, rows: Sequence[TextRecord], concepts: Sequence[str], method: str, groups: np.ndarray
) -> np.ndarray:
    """[n_layers, n_texts, n_concepts] z-scores of every text under vectors made without its group.

    Exact for any method (the method's weights are rebuilt on the remaining rows); computed through
    the Gram matrix of the texts, so a fold costs [concepts x texts x texts] per layer, not a pass
    over the hidden size. NaN where a concept has no vector without the group.
    """
    from trainer.vectors import WEIGHTS, trainable_concepts

    n_layers, n_texts, _ = activations.shape
    acts = np.asarray(activations, dtype=np.float32)
    gram = np.matmul(acts, np.swapaxes(acts, 1, 2))  # [n_layers, n_texts, n_texts]
    if method == "diffmean":
        return _heldout_diffmean(gram, rows, concepts, groups)
    out = np.full((n_layers, n_texts, len(concepts)), np.nan)
    for group in np.unique(groups):
        held = np.flatnonzero(groups == group)
        kept = np.flatnonzero(groups != group)
        kept_rows = [rows[j] for j in kept]
        alive = set(trainable_concepts(method, kept_rows, concepts))
        live = np.array([c in alive for c in concepts])
        if not live.any():
            continue
        try:
            weights = WEIGHTS[method](kept_rows, concepts)[live].astype(np.float32)  # [n_live, n_kept]
        except AmygdalaError:
            continue
        raws = np.matmul(weights, gram[:, kept, :])  # [n_layers, n_live, n_texts]: every text on the fold's raw vectors
        for layer in range(n_layers):
            raw = raws[layer].astype(np.float64)
            norms = np.sqrt(np.maximum((raw[:, kept] * weights).sum(1), 0.0))
            ok = norms > 1e-12
            proj = raw[ok] / norms[ok, None]
            mean = proj[:, kept].mean(1)
            sd = np.maximum(proj[:, kept].std(1, ddof=1), 1e-6 * (np.abs(mean) + 1.0))
            cols = np.flatnonzero(live)[ok]
            out[layer][np.ix_(held, cols)] = ((proj[:, held] - mean[:, None]) / sd[:, None]).T
    return out


def _fold_zscores(raw: np.ndarray, weights: np.ndarray, kept: np.ndarray, held: np.ndarray) -> np.ndarray:
    """z [n_layers, len(held), n_concepts] of the held texts from the projections ``raw`` [n_layers,
    n_concepts, n_texts] of every text on the fold's raw vectors, whose weights over the kept texts
    are ``weights`` [n_concepts, n_kept]; NaN for a zero vector."""
    norms = np.sqrt(np.maximum(np.einsum("lkj,kj->lk", raw[:, :, kept], weights), 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        proj = raw / norms[:, :, None]
    mean = proj[:, :, kept].mean(2)
    sd = np.maximum(proj[:, :, kept].std(2, ddof=1), 1e-6 * (np.abs(mean) + 1.0))
    z = (proj[:, :, held] - mean[:, :, None]) / sd[:, :, None]
    z[np.broadcast_to((norms <= 1e-12)[:, :, None], z.shape)] = np.nan
    return np.swapaxes(z, 1, 2)


def _heldout_diffmean(gram: np.ndarray, rows: Sequence[TextRecord], concepts: Sequence[str], groups: np.ndarray) -> np.ndarray:
    """``heldout_zscores`` for diffmean in closed form: a fold's positive and negative means are the
    full sums minus the held texts, over the remaining counts, so no fold recomputes a [concepts x
    texts x texts] product (the Gram rows of the held texts are all it touches)."""
    from trainer.vectors import diffmean_sets

    positive, negative = diffmean_sets(rows, concepts)  # [n_concepts, n_texts] 0/1 each
    pos_gram = np.einsum("kn,lnm->lkm", positive, gram)
    neg_gram = np.einsum("kn,lnm->lkm", negative, gram)
    out = np.full((gram.shape[0], len(rows), len(concepts)), np.nan)
    for group in np.unique(groups):
        held, kept = np.flatnonzero(groups == group), np.flatnonzero(groups != group)
        n_pos, n_neg = positive[:, kept].sum(1), negative[:, kept].sum(1)
        live = (n_pos > 0) & (n_neg > 0)
        if not live.any():
            continue
        p, q = positive[live], negative[live]
        pos_sum = pos_gram[:, live] - np.einsum("kh,lhm->lkm", p[:, held], gram[:, held, :])
        neg_sum = neg_gram[:, live] - np.einsum("kh,lhm->lkm", q[:, held], gram[:, held, :])
        raw = pos_sum / n_pos[live, None] - neg_sum / n_neg[live, None]
        weights = p[:, kept] / n_pos[live, None] - q[:, kept] / n_neg[live, None]
        out[:, held[:, None], np.flatnonzero(live)[None, :]] = _fold_zscores(raw, weights, kept, held)
    return out


def chance_cluster(truth_clusters: Sequence[str], candidate_clusters: Sequence[str]) -> float:
    counts = Counter(candidate_clusters)
    return float(np.mean([counts[c] / len(candidate_clusters) for c in truth_clusters]))


def summarise(
    z: np.ndarray,
    truth: np.ndarray,
    candidates: list[str],
    candidate_clusters: list[str],
    layers: list[int],
    seed: int = 0,
) -> dict:
    """Accuracy per layer, at the headline layer, per cluster and the cluster confusion, from
    z [n_layers, n_texts, n_candidates] and each text's true candidate index."""
    groups = truth  # bootstrap unit: the true concept
    per_layer = []
    for i, layer in enumerate(layers):
        per_layer.append(
            LayerAccuracy(layer=layer, top1=estimate(rank_hits(z[i], truth, 1), groups, seed), top5=estimate(rank_hits(z[i], truth, 5), groups, seed))
        )
    headline = display_layer(layers)
    h = layers.index(headline)
    top1 = rank_hits(z[h], truth, 1)
    top5 = rank_hits(z[h], truth, 5)
    predicted = np.argmax(np.where(np.isnan(z[h]), -np.inf, z[h]), axis=1)
    clusters = sorted(set(candidate_clusters))
    true_cluster = np.array([clusters.index(candidate_clusters[t]) for t in truth])
    pred_cluster = np.array([clusters.index(candidate_clusters[p]) for p in predicted])
    matrix = np.zeros((len(clusters), len(clusters)), dtype=int)
    np.add.at(matrix, (true_cluster, pred_cluster), 1)
    per_cluster = [
        ClusterAccuracy(
            cluster=name,
            n=int((true_cluster == k).sum()),
            top1=round(float(top1[true_cluster == k].mean()), 4),
            top5=round(float(top5[true_cluster == k].mean()), 4),
            cluster_top1=round(float((pred_cluster == k)[true_cluster == k].mean()), 4),
        )
        for k, name in enumerate(clusters)
        if (true_cluster == k).any()
    ]
    best = max(per_layer, key=lambda row: (row.top1.value, -row.layer))
    n = len(candidates)
    return dict(
        candidates=candidates,
        chance_top1=round(1 / n, 4),
        chance_top5=round(min(5, n) / n, 4),
        chance_cluster=round(chance_cluster([candidate_clusters[t] for t in truth], candidate_clusters), 4),
        bootstrap=f"percentile, {N_BOOTSTRAP} resamples of the true concepts (a drawn concept brings all its texts), 95%",
        layers=layers,
        per_layer=per_layer,
        headline_layer=headline,
        headline=per_layer[h],
        cluster_top1=estimate(pred_cluster == true_cluster, groups, seed),
        best_layer=best.layer,
        per_cluster=per_cluster,
        confusion=Confusion(clusters=clusters, matrix=matrix.tolist()),
    )


# --------------------------------------------------------------------------- I/O


def _jsonl_rows(path: Path, text_field: str, label_field: str | None = None) -> list[tuple[str, str, str | None]]:
    """(``<file>:<line>``, text, label) per non-blank line; a null label is None (skipped and counted
    by the caller). A bad line is an error naming file and line."""
    from base.jsonio import jsonl_object, read_text

    out = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        where = f"{path}:{number}"
        record = jsonl_object(line, where)
        if record is None:
            continue
        if not isinstance(record.get(text_field), str):
            raise AmygdalaError(f"no string field {text_field!r}", where)
        label = record.get(label_field) if label_field else None
        if label_field and not (label is None or isinstance(label, str)):
            raise AmygdalaError(f"field {label_field!r} is neither a string nor null", where)
        if label_field and label_field not in record:
            raise AmygdalaError(f"no field {label_field!r}", where)
        out.append((where, record[text_field], label.strip().lower() if label else None))
    if not out:
        raise AmygdalaError("no records", path)
    return out


def read_records(path: Path, text_field: str) -> list[tuple[str, str]]:
    return [(source, text) for source, text, _ in _jsonl_rows(path, text_field)]


def read_labelled(path: Path, text_field: str, concept_field: str) -> list[tuple[str, str, str | None]]:
    """(source, text, label) per line; labels compared lowercased and stripped; null labels as None."""
    return _jsonl_rows(path, text_field, concept_field)


def trained_on(run: Run, states: np.ndarray, layer: int) -> np.ndarray:
    """Which texts the run trained on, as a bool per row of ``states`` [n_texts, hidden] at ``layer``.

    The same text through the same model and options gives the same pooled state, bit for bit (the
    activation cache even returns the stored one), so a state equal to one of the run's stored rows,
    once rounded to the run's storage dtype, is one of its training texts.
    """
    from trainer.runfolder.folder import from_stored, to_stored

    dtype = run.info.extraction.store_dtype
    stored = np.ascontiguousarray(run.layer_activations(layer), dtype=np.float32)
    seen = {row.tobytes() for row in stored}
    rounded = np.ascontiguousarray(from_stored(to_stored(states, dtype), dtype), dtype=np.float32)
    return np.array([row.tobytes() in seen for row in rounded], dtype=bool)


def evaluate_labelled(
    run: Run, path: Path, text_field: str, concept_field: str, layers_spec: str | None = None, reporter: Reporter | None = None
) -> EvalReport:
    reporter = reporter or Reporter()
    records = read_labelled(path, text_field, concept_field)
    layers = choose_layers(run, layers_spec)
    known = set(run.concepts)
    unlabelled = sum(1 for _, _, label in records if label is None)
    outside = Counter(label for _, _, label in records if label is not None and label not in known)
    empty = sum(1 for _, text, label in records if label in known and not text.strip())
    kept = [(text, label) for _, text, label in records if label in known and text.strip()]
    if not kept:
        raise AmygdalaError(f"no labelled text names a concept of the run ({len(outside)} outside labels, e.g. {next(iter(outside), '-')!r})", path)
    states, _ = pooled_states(run, [text for text, _ in kept], layers, reporter)
    # A text the run trained on is not out of sample: left out and counted.
    fresh = ~trained_on(run, states[0], layers[0])
    if not fresh.any():
        raise AmygdalaError("every labelled text is one the run trained on: nothing is out of sample", path)
    training = int((~fresh).sum())
    states, kept = states[:, fresh], [pair for pair, keep in zip(kept, fresh) if keep]
    candidates = [c for c in run.concepts if c in {label for _, label in kept}]
    columns = [run.concepts.index(c) for c in candidates]
    rows = layer_rows(run, layers)
    vectors = run.vectors[rows][:, columns]
    mean, sd = reference_stats(projections(run.activations[rows], vectors))
    z = zscores(projections(states, vectors), mean, sd)
    truth = np.array([candidates.index(label) for _, label in kept])
    clusters = [run.manifest.concepts[c].cluster for c in candidates]
    skipped = {"label outside the run's concepts": sum(outside.values())}
    if empty:
        skipped["empty text"] = empty
    if unlabelled:
        skipped["no label (null)"] = unlabelled
    if training:
        skipped["a text the run trained on"] = training
    return EvalReport(
        run=str(run.root),
        mode="labelled",
        source=str(path),
        n_labelled=len(records),
        n_evaluated=len(kept),
        skipped=skipped,
        outside_labels=dict(outside.most_common()),
        **summarise(z, truth, candidates, clusters, layers),
    )


def cv_groups(texts: Sequence[TextRecord]) -> np.ndarray:
    """The hold-out unit of each corpus text: its paired scenario, or the text itself."""
    return np.array([f"scenario:{t.scenario}" if t.scenario else f"text:{t.rel}" for t in texts])


def evaluate_cv(run: Run, layers_spec: str | None = None) -> EvalReport:
    layers = choose_layers(run, layers_spec)
    records = run.texts
    rows = layer_rows(run, layers)
    z_all = heldout_zscores(run.activations[rows], records, run.concepts, run.info.config.method, cv_groups(run.texts))
    labelled = np.array([t.concept is not None and t.kind != "baseline" for t in records])
    index = {c: i for i, c in enumerate(run.concepts)}
    own = np.array([index.get(t.concept or "", -1) for t in records])
    scorable = labelled & (own >= 0)
    scorable[scorable] = np.isfinite(z_all[0][np.flatnonzero(scorable), own[scorable]])
    if not scorable.any():
        raise AmygdalaError("--cv: no text's concept has another text outside its group to build a vector from", run.root)
    candidates = [c for c in run.concepts if c in {records[j].concept for j in np.flatnonzero(scorable)}]
    columns = [run.concepts.index(c) for c in candidates]
    z = z_all[:, scorable][:, :, columns]
    truth = np.array([candidates.index(records[j].concept) for j in np.flatnonzero(scorable)])
    skipped = {}
    if (~labelled).sum():
        skipped["baseline (no concept)"] = int((~labelled).sum())
    if (labelled & ~scorable).sum():
        skipped["its concept has no other text outside its group"] = int((labelled & ~scorable).sum())
    return EvalReport(
        run=str(run.root),
        mode="cv",
        source=run.info.corpus.root,
        cv_scheme=CV_SCHEME,
        n_labelled=int(labelled.sum()),
        n_evaluated=int(scorable.sum()),
        skipped=skipped,
        outside_labels={},
        **summarise(z, truth, candidates, [run.manifest.concepts[c].cluster for c in candidates], layers),
    )
