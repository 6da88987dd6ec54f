"""``amygdala validate RUN``, ``amygdala triage RUN`` and ``amygdala compare RUN_A RUN_B``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from toolkit.cli._app import command, console
from trainer.formatting import layer_span, percent, rich_label, signed, text_or_dash, unsigned

if TYPE_CHECKING:
    from schemas.analyses import AnalysesReport
    from schemas.analysis import ComparisonReport, TriageReport, ValidationReport

RunArg = Annotated[Path, typer.Argument(help="A run folder written by `amygdala train`.", show_default=False)]
LayerOpt = Annotated[
    Optional[int],
    typer.Option("--layer", help="Layer of the heatmap, PCA, nearest concepts and redundancy (default: middle of the deep third).", show_default=False),
]
ModelOpt = Annotated[
    Optional[Path],
    typer.Option("--model", help="Folder with the model's safetensors, for single-neuron alignment (default: the model run.json names).", show_default=False),
]
NoProbesOpt = Annotated[bool, typer.Option("--no-probes", help="Skip the linear probes (the slowest step).")]
LensLayersOpt = Annotated[
    str,
    typer.Option(
        "--lens-layers",
        help="Layers of the logit lens: report (the report layer), all, or a list like 20-30 (each layer costs one vocab-sized product per concept).",
    ),
]

def render_validation(out: Console, validation: ValidationReport) -> None:
    from trainer.report import cluster_rows

    deep = validation.thirds["deep"]
    table = Table(title=f"Clusters by third (deep: layers {layer_span(deep)})", title_justify="left")
    for col in ("cluster", "concepts", "early", "middle", "deep", "deep cohesion", "deep silhouette"):
        table.add_column(col, justify="right" if col in ("concepts", "deep cohesion", "deep silhouette") else "left")
    for row in cluster_rows(validation.clusters):
        table.add_row(
            row.name,
            str(row.n_concepts),
            *(rich_label(third.label if third else None) for third in (row.early, row.middle, row.deep)),
            signed(row.deep.cohesion if row.deep else None),
            signed(row.deep.silhouette if row.deep else None),
        )
    out.print(table)
    probe = validation.cluster_probe
    if probe is not None:
        deep_layers = [p for p in probe.layers if p.layer in deep]
        best = max(probe.layers, key=lambda p: p.accuracy)
        mean = sum(p.accuracy for p in deep_layers) / len(deep_layers)
        out.print(
            f"cluster probe: {percent(mean)} mean accuracy over the deep third (chance {percent(best.chance)}); best layer {best.layer} "
            f"{percent(best.accuracy)} [{percent(best.ci_low)}, {percent(best.ci_high)}], permutation p = {unsigned(best.p_value)}"
        )
    elif validation.cluster_probe_reason:
        out.print(f"cluster probe: {validation.cluster_probe_reason}", style="dim")
    if validation.concept_probe is None and validation.concept_probe_reason:
        out.print(f"concept probe: {validation.concept_probe_reason}", style="dim")
    if validation.valence:
        deep_valence = [v for v in validation.valence if v.layer in deep]
        splits = sum(v.separates for v in deep_valence)
        best_v = max(validation.valence, key=lambda v: v.separation)
        out.print(
            f"PC1 valence: separates positive from negative at {splits}/{len(deep_valence)} deep layers; "
            f"best layer {best_v.layer} AUC {unsigned(best_v.separation, 2)}, effect {unsigned(best_v.effect, 2)}"
        )
    elif validation.valence_reason:
        out.print(f"PC1 valence: {validation.valence_reason}", style="dim")


def render_analyses(out: Console, analyses: AnalysesReport | None) -> None:
    """One line per analysis of analyses.json (docs/analyses.md explains them)."""
    if analyses is None:
        return
    layer = analyses.report_layer
    lens = analyses.lens
    if lens is None:
        out.print(f"logit lens: {analyses.lens_reason}", style="dim", markup=False)
    else:
        out.print(
            f"logit lens (layer {', '.join(str(x.layer) for x in lens.layers)}): {len(lens.flags)} of {analyses.n_concepts} concepts "
            f"flagged, top tokens mostly pronouns, punctuation or template (random directions: {lens.random_flag_rate:.1%})",
            markup=False,
        )
    if analyses.affect is not None:
        row = next(x for x in analyses.affect.layers if x.layer == layer)
        text = f"valence/arousal (layer {layer}): PC1 share {row.variance_explained[0]:.1%}"
        if row.best_valence:
            text += f"; valence best PC{row.best_valence.component} r {row.best_valence.r:+.2f} (p {row.best_valence.p_value:.3f})"
        if row.best_arousal:
            text += f"; arousal best other PC{row.best_arousal.component} r {row.best_arousal.r:+.2f} (p {row.best_arousal.p_value:.3f})"
        out.print(text + " (p corrected for picking among PC1-5)", markup=False)
    elif analyses.affect_reason:
        out.print(f"valence/arousal: {analyses.affect_reason}", style="dim", markup=False)
    if analyses.structure is not None:
        h = next(x for x in analyses.structure.hierarchical if x.layer == layer)
        k = next(x for x in analyses.structure.kmeans if x.layer == layer)
        out.print(
            f"unsupervised groups vs manifest clusters (layer {layer}): ARI hierarchical {h.ari:+.3f} (null 95th pct {h.null_high:+.3f}, "
            f"p {h.p_value:.3f}), k-means {k.ari:+.3f} (p {k.p_value:.3f})",
            markup=False,
        )
    if analyses.pairs is not None:
        p = analyses.pairs
        out.print(
            f"pairs (layer {layer}): {p.similar_same_share:.0%} of the {p.n} most similar share a cluster (chance {p.chance_same_share:.1%}), "
            f"{p.opposed_same_share:.0%} of the most opposed",
            markup=False,
        )
    out.print(f"stability: the concept geometry has settled from layer {analyses.stability.settled_from}", markup=False)


def render_triage(out: Console, triage: TriageReport, limit: int = 20) -> None:
    if not triage.weak_clusters:
        out.print("[green]Every cluster is cohesive in the deep third.[/]")
    for w in triage.weak_clusters:
        out.print(f"weak cluster [bold]{w.cluster}[/] {rich_label(w.label)}: {w.reason}")
    if triage.far_concepts:
        table = Table(title="Concepts farthest from their cluster", title_justify="left")
        for col in ("concept", "cluster", "cosine to mates", "closest other cluster", "cosine"):
            table.add_column(col, justify="right" if "cosine" in col and "cluster" not in col else "left")
        for f in triage.far_concepts:
            table.add_row(f.concept, f.cluster, signed(f.mate_cosine), text_or_dash(f.closest_cluster), signed(f.closest_cosine))
        out.print(table)
    if triage.texts:
        table = Table(title=f"Texts to rewrite ({len(triage.texts)}, lowest alignment first)", title_justify="left")
        for col in ("#", "text", "concept", "alignment", "reasons"):
            table.add_column(col, justify="right" if col in ("#", "alignment") else "left", overflow="fold")
        for i, t in enumerate(triage.texts[:limit], 1):
            reasons = "\n".join(f"{r.kind}: {r.detail}" for r in t.reasons)
            table.add_row(str(i), t.rel, t.concept or "baseline", signed(t.alignment), reasons)
        out.print(table)
        if len(triage.texts) > limit:
            out.print(f"... and {len(triage.texts) - limit} more in triage.md", style="dim")


def render_comparison(out: Console, report: ComparisonReport, limit: int = 15) -> None:
    for note in report.notes:
        out.print(f"[yellow]note:[/] {note}")
    table = Table(title="Deep-third cohesion per cluster", title_justify="left")
    for col in ("cluster", "before", "after", "change", "label"):
        table.add_column(col, justify="right" if col in ("before", "after", "change") else "left")
    for c in report.clusters:
        label = (
            f"[bold]{rich_label(c.label_before)} -> {rich_label(c.label_after)}[/]" if c.flip else rich_label(c.label_after or c.label_before)
        )
        table.add_row(c.cluster, signed(c.before), signed(c.after), signed(c.delta), label)
    out.print(table)
    changed = [c for c in report.concepts if c.alignment_before != c.alignment_after][:limit]
    if changed:
        table = Table(title=f"Concepts whose alignment moved most (top {len(changed)})", title_justify="left")
        for col in ("concept", "alignment before", "after", "first PC before", "after ", "redundancy before", "after  "):
            table.add_column(col, justify="left" if col == "concept" else "right")
        for c in changed:
            table.add_row(
                c.concept,
                signed(c.alignment_before),
                signed(c.alignment_after),
                signed(c.first_pc_before),
                signed(c.first_pc_after),
                signed(c.redundancy_before),
                signed(c.redundancy_after),
            )
        out.print(table)
    t = report.texts
    out.print(f"texts: {len(t.changed)} changed, {len(t.added)} added, {len(t.removed)} removed, {t.unchanged} unchanged")
    for label, rels in (("changed", t.changed), ("added", t.added), ("removed", t.removed)):
        for rel in rels[:limit]:
            out.print(f"  {label}: {rel}", markup=False)


@command("validate", training=True)
def validate_command(
    run: RunArg, layer: LayerOpt = None, model: ModelOpt = None, no_probes: NoProbesOpt = False, lens_layers: LensLayersOpt = "report"
) -> None:
    """Per-concept quality and layer-wise cluster validation of a run; writes quality.json, validation.json and the pictures."""
    from trainer.analysis import analyze_run

    result = analyze_run(run, layer=layer, model_path=model, probes=not no_probes, triage=False, lens_layers=lens_layers)
    render_validation(console, result.validation)
    render_analyses(console, result.analyses)
    for path in result.written:
        console.print(f"wrote {path}", style="dim", markup=False)


@command("triage", training=True)
def triage_command(
    run: RunArg,
    layer: LayerOpt = None,
    model: ModelOpt = None,
    no_probes: NoProbesOpt = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Texts to show in the terminal (all are in triage.md).")] = 20,
    lens_layers: LensLayersOpt = "report",
) -> None:
    """Weak clusters, the concepts farthest from their cluster and the texts to rewrite; writes triage.*, report.html and everything validate writes."""
    from trainer.analysis import analyze_run

    result = analyze_run(run, layer=layer, model_path=model, probes=not no_probes, triage=True, lens_layers=lens_layers)
    render_validation(console, result.validation)
    render_analyses(console, result.analyses)
    assert result.triage is not None
    render_triage(console, result.triage, limit)
    for path in result.written:
        console.print(f"wrote {path}", style="dim", markup=False)


@command("compare", training=True)
def compare_command(
    run_a: Annotated[Path, typer.Argument(help="The earlier run folder.", show_default=False)],
    run_b: Annotated[Path, typer.Argument(help="The later run folder.", show_default=False)],
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the comparison as JSON here.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show per table.")] = 15,
) -> None:
    """Compare two runs: deep-third cohesion per cluster with flips, per-concept quality, and which texts changed."""
    from toolkit.jsonio import write_json
    from trainer.compare import compare_runs

    report = compare_runs(run_a, run_b)
    render_comparison(console, report, limit)
    if out is not None:
        write_json(out, report)
        console.print(f"wrote {out}", style="dim", markup=False)
