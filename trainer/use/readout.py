"""Read new text with a run's vectors: pooled states (through the activation cache) projected on every
concept at every layer, as z-scores against the run's own corpus.

The numbers are pure functions over arrays (``projections``, ``reference_stats``, ``zscores``,
``top_concepts``); ``pooled_states`` and ``open_run`` are the only I/O.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from schemas.evaluation import ConceptScore, EvalReport, ReadoutReport, ReadoutText, SteeringReport
from schemas.run import CacheStats
from base.errors import AmygdalaError
from trainer.reporter import Reporter
from trainer.runfolder.folder import EVAL, STEERING, Run, RunFolder

# sd below this share of the mean |projection| is treated as no spread (a z-score would explode).
_MIN_SD = 1e-6


def open_run(folder: Path) -> Run:
    """The run folder, read through trainer.runfolder.folder (the one module that opens run files)."""
    return RunFolder.read(Path(folder))


def layer_rows(run: Run, layers: list[int]) -> list[int]:
    return [run.layers.index(layer) for layer in layers]


def choose_layers(run: Run, spec: str | None) -> list[int]:
    """``--layers`` against the run's layers (default: all of them)."""
    from trainer.run import parse_layers

    if not spec:
        return list(run.layers)
    chosen = parse_layers(spec, run.info.model.n_layers)
    missing = [layer for layer in chosen if layer not in run.layers]
    if missing:
        raise AmygdalaError(f"--layers: layer {missing[0]} was not extracted by this run (it has {run.layers[0]}..{run.layers[-1]})", run.root)
    return chosen


def display_layer(layers: list[int]) -> int:
    """Declared in advance, never picked by looking: the middle of the deep third (as the report)."""
    from trainer.linalg import default_report_layer

    return default_report_layer(layers)


# --------------------------------------------------------------------------- pure math


def projections(activations: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """[n_layers, n_texts, hidden] · [n_layers, n_concepts, hidden] -> [n_layers, n_texts, n_concepts]."""
    return np.matmul(activations, np.swapaxes(vectors, 1, 2))


def reference_stats(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd (ddof=1) over texts of reference projections [n_layers, n_texts, n_concepts]."""
    if reference.shape[1] < 2:
        raise AmygdalaError("z-scores need at least two reference texts")
    mean = reference.mean(1)
    sd = reference.std(1, ddof=1)
    return mean, np.maximum(sd, _MIN_SD * (np.abs(mean) + 1.0))


def zscores(proj: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    return (proj - mean[:, None, :]) / sd[:, None, :]


def top_concepts(z: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores per row of [n_texts, n_concepts], best first (ties: lower index)."""
    order = np.argsort(-z, axis=1, kind="stable")
    return order[:, :k]


# --------------------------------------------------------------------------- I/O


def pooled_states(run: Run, texts: list[str], layers: list[int], reporter: Reporter, use_cache: bool = True) -> tuple[np.ndarray, CacheStats]:
    """Pooled states [n_layers, n_texts, hidden] of ``texts`` with the run's own model and extraction
    options, through the activation cache (the path ``amygdala train`` extracts with)."""
    from trainer.extraction.activations import ArraySink, extract
    from trainer.extraction.cache import cache_root
    from trainer.extraction.distributed import OtherRank, from_environment, process_group, rank_device
    from trainer.extraction.model import placement, resolve_model

    config = run.info.config.model_copy(update={"dtype": run.info.model.dtype})
    source = resolve_model(config.model, config.revision, reporter.step)
    if source.revision != run.info.model.revision:
        reporter.warn(f"the model changed since the run was trained ({run.info.model.revision[:12]} -> {source.revision[:12]}): read-outs are not comparable")
    bodies = [t.strip() for t in texts]
    for i, body in enumerate(bodies):
        if not body:
            raise AmygdalaError(f"text {i + 1} is empty")
    states = ArraySink.empty(len(layers), len(bodies), source.hidden_size)
    # Under torchrun the ranks share out the uncached texts; rank 0 then reads them all from the cache.
    ranks = from_environment()
    device = rank_device(ranks, placement(config.dtype, config.device, config.device_map)[1])
    with process_group(ranks, device):
        stats = extract(source, bodies, layers, config, cache_root() if use_cache else None, reporter, [states.add], ranks=ranks)
    if stats is None:
        raise OtherRank
    return states.states, stats.cache


def readout(run: Run, texts: list[str], sources: list[str], layers: list[int], reporter: Reporter | None = None, top: int = 5) -> ReadoutReport:
    reporter = reporter or Reporter()
    rows = layer_rows(run, layers)
    vectors = run.vectors[rows]
    states, cache = pooled_states(run, texts, layers, reporter)
    mean, sd = reference_stats(projections(run.activations[rows], vectors))
    z = zscores(projections(states, vectors), mean, sd)
    shown = display_layer(layers)
    clusters = run.clusters
    best = top_concepts(z[layers.index(shown)], min(top, len(run.concepts)))
    out = []
    for i, source in enumerate(sources):
        scores = [ConceptScore(concept=run.concepts[c], cluster=clusters[c], z=round(float(z[layers.index(shown), i, c]), 4)) for c in best[i]]
        out.append(ReadoutText(source=source, top=scores, z=np.round(z[:, i], 4).tolist()))
    return ReadoutReport(
        run=str(run.root),
        layers=layers,
        concepts=run.concepts,
        display_layer=shown,
        n_reference=int(run.activations.shape[1]),
        cache=cache,
        texts=out,
    )


# --------------------------------------------------------------------------- the reports these commands add to the run folder


def write_eval(run: Run, report: EvalReport) -> Path:
    return run.write_report(EVAL, report)


def write_steering(run: Run, report: SteeringReport) -> Path:
    return run.write_report(STEERING, report)


def read_steering(run: Run) -> SteeringReport | None:
    return run.read_report(STEERING, SteeringReport)
