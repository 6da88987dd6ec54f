"""analyses.json: the researcher's analyses of a loaded run, assembled from the pure modules
(trainer.analysis.lens, trainer.analysis.affect, trainer.analysis.structure); the model's
unembedding (read by trainer.extraction.weights) is the only input beyond the run."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from schemas.analyses import AnalysesReport
from base.errors import AmygdalaError
from trainer.runfolder.data import RunData

if TYPE_CHECKING:
    from trainer.extraction.weights import Unembedding

NO_WEIGHTS = "no model weights were given to the logit lens"


def lens_layer_list(spec: str, layers: list[int], report_layer: int) -> list[int]:
    """``report`` (the report layer alone), ``all``, or layers and ranges like ``20-30``, each one of the run's layers."""
    from trainer.run import parse_layers

    spec = spec.strip().lower()
    if spec == "report":
        return [report_layer]
    if spec == "all":
        return list(layers)
    try:
        chosen = parse_layers(spec, max(layers))
    except AmygdalaError as exc:
        raise AmygdalaError(exc.message.replace("--layers", "--lens-layers", 1)) from exc
    missing = [x for x in chosen if x not in layers]
    if missing:
        raise AmygdalaError(f"--lens-layers: layer(s) {', '.join(map(str, missing))} are not in the run (layers {layers[0]}..{layers[-1]})")
    return chosen


def compute_analyses(
    run: RunData,
    report_layer: int,
    *,
    unembedding: "Unembedding | None" = None,
    lens_reason: str | None = NO_WEIGHTS,
    lens_layers: list[int] | None = None,
) -> AnalysesReport:
    """Every analysis of analyses.json; the logit lens runs when ``unembedding`` is given (else
    ``lens_reason`` says why not), at ``lens_layers`` (default: the report layer alone)."""
    from trainer.analysis.affect import compute_affect
    from trainer.analysis.structure import compute_pairs, compute_stability, compute_structure

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now

    concepts, layers, vectors, clusters = run.concepts, run.layers, run.vectors, run.clusters
    lens = None
    if unembedding is not None:
        from trainer.analysis.lens import logit_lens

        lens, lens_reason = logit_lens(vectors, layers, concepts, unembedding, lens_layers or [report_layer]), None
    lap("lens")

    rated = [run.manifest.concepts[c] for c in concepts]
    valences = [c.valence for c in rated]
    affect, affect_reason = None, None
    if len(concepts) < 4:
        affect_reason = f"needs at least four concepts (has {len(concepts)})"
    elif len(set(valences)) < 2:
        affect_reason = "every concept has the same valence: nothing to correlate"
    else:
        affect = compute_affect(vectors, layers, concepts, clusters, valences, [c.arousal for c in rated], report_layer)
        if affect.n_arousal < 3:
            affect_reason = f"arousal rated for {affect.n_arousal} concepts: arousal correlations need at least three"
    lap("affect")

    n_clusters = len(set(clusters))
    structure, structure_reason = None, None
    if n_clusters < 2 or n_clusters >= len(concepts):
        structure_reason = f"{n_clusters} clusters for {len(concepts)} concepts: agreement needs 2 <= clusters < concepts"
    else:
        structure = compute_structure(vectors, layers, concepts, clusters, report_layer)
    lap("structure")

    ri = layers.index(report_layer)
    pairs = compute_pairs(vectors[ri], concepts, clusters, report_layer) if len(concepts) >= 2 else None
    stability = compute_stability(vectors, layers, report_layer)
    lap("pairs_stability")
    return AnalysesReport(
        layers=layers,
        report_layer=report_layer,
        n_concepts=len(concepts),
        lens=lens,
        lens_reason=lens_reason,
        affect=affect,
        affect_reason=affect_reason,
        structure=structure,
        structure_reason=structure_reason,
        pairs=pairs,
        stability=stability,
        timings=timings,
    )
