"""analyses.json: the researcher's analyses of a loaded run, assembled from the pure modules
(trainer.analysis.lens, trainer.analysis.affect, trainer.analysis.structure); the model's
unembedding (read by trainer.extraction.weights) is the only input beyond the run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.analyses import AffectReport, AnalysesReport, StructureReport
from base.errors import AmygdalaError
from trainer.reporter import Laps
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
    from trainer.analysis.structure import compute_pairs, compute_stability

    lap = Laps()
    concepts, layers, vectors, clusters = run.concepts, run.layers, run.vectors, run.clusters
    lens = None
    if unembedding is not None:
        from trainer.analysis.lens import logit_lens

        lens, lens_reason = logit_lens(vectors, layers, concepts, unembedding, lens_layers or [report_layer]), None
    lap("lens")

    affect, affect_reason = _affect(run, report_layer)
    lap("affect")
    structure, structure_reason = _structure(run, report_layer)
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
        timings=lap.timings,
    )


def _affect(run: RunData, report_layer: int) -> tuple[AffectReport | None, str | None]:
    """Valence and arousal, or why not (too few concepts, one valence); arousal's own shortfall is the reason beside a report."""
    from trainer.analysis.affect import compute_affect

    concepts = run.concepts
    rated = [run.manifest.concepts[c] for c in concepts]
    valences = [c.valence for c in rated]
    if len(concepts) < 4:
        return None, f"needs at least four concepts (has {len(concepts)})"
    if len(set(valences)) < 2:
        return None, "every concept has the same valence: nothing to correlate"
    affect = compute_affect(run.vectors, run.layers, concepts, run.clusters, valences, [c.arousal for c in rated], report_layer)
    if affect.n_arousal < 3:
        return affect, f"arousal rated for {affect.n_arousal} concepts: arousal correlations need at least three"
    return affect, None


def _structure(run: RunData, report_layer: int) -> tuple[StructureReport | None, str | None]:
    """Agreement of unsupervised groups with the manifest clusters, or why it cannot be measured."""
    from trainer.analysis.structure import compute_structure

    n_clusters, n_concepts = len(set(run.clusters)), len(run.concepts)
    if n_clusters < 2 or n_clusters >= n_concepts:
        return None, f"{n_clusters} clusters for {n_concepts} concepts: agreement needs 2 <= clusters < concepts"
    return compute_structure(run.vectors, run.layers, run.concepts, run.clusters, report_layer), None
