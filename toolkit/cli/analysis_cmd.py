"""``amygdala validate RUN``, ``amygdala triage RUN`` and ``amygdala compare RUN_A RUN_B``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from toolkit.cli._app import command, console
from trainer.report.formatting import MISSING, layer_span, p_value, rich_label, signed

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

def _rich(line: str) -> str:
    return escape(line).replace("**", "")


def render_validation(out: Console, validation: ValidationReport) -> None:
    from trainer.analysis.triage import adjusted_p, confound_lines, probe_lines

    deep = validation.thirds["deep"]
    t = validation.thresholds
    table = Table(
        title=f"Clusters by third (deep: layers {layer_span(deep)}); labels against random concept sets of the same size "
        f"({t.permutations} permutations, Holm across clusters, alpha {t.alpha}; under {t.min_cluster_concepts} concepts: too small to judge)",
        title_justify="left",
    )
    for col in ("cluster", "concepts", "early", "middle", "deep", "deep cohesion", "null mean [95%]", "z", "p (Holm)", "deep silhouette"):
        table.add_column(col, justify="left" if col in ("cluster", "early", "middle", "deep") else "right")
    for name, cluster in validation.clusters.items():
        th = cluster.thirds
        d = th.get("deep")
        test = d.cohesion_test if d else None
        table.add_row(
            name,
            str(len(cluster.concepts)),
            *(rich_label(th[p].label if th.get(p) else None) for p in ("early", "middle", "deep")),
            signed(d.cohesion if d else None),
            MISSING if test is None else f"{signed(test.null_mean)} [{signed(test.null_low)}, {signed(test.null_high)}]",
            MISSING if test is None else signed(test.z, 1),
            MISSING if test is None or test.p_adjusted is None else adjusted_p(test),
            signed(d.silhouette if d else None),
        )
    out.print(table)
    for line in probe_lines(validation):
        out.print(_rich(line))
    if validation.valence:
        deep_valence = [v for v in validation.valence if v.layer in deep]
        splits = sum(v.separates for v in deep_valence)
        best_v = max(validation.valence, key=lambda v: v.separation)
        out.print(
            f"PC1 valence: separates positive from negative (AUC >= {t.valence_separation_auc} and p < {t.alpha}, valence permuted across "
            f"concepts) at {splits}/{len(deep_valence)} deep layers; best layer {best_v.layer} (exploratory) AUC {best_v.separation:.2f}, "
            f"p = {best_v.p_value}"
        )
    elif validation.valence_reason:
        out.print(f"PC1 valence: {validation.valence_reason}", style="dim")
    for line in confound_lines(validation):
        out.print(_rich(line))


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
    if analyses.stability.settled_from is None:
        out.print(f"stability: {analyses.stability.geometry_reason}", style="dim", markup=False)
    else:
        out.print(f"stability: the concept geometry has settled from layer {analyses.stability.settled_from}", markup=False)


def render_triage(out: Console, triage: TriageReport, limit: int = 20) -> None:
    from trainer.analysis.triage import far_detail

    if not triage.weak_clusters and not triage.cohesive_clusters:
        out.print("No cluster judged: not enough concepts in any cluster to compare with its size-matched null.", style="dim")
    elif not triage.weak_clusters:
        out.print("[green]Every judged cluster is cohesive against its size-matched null in the deep third.[/]")
    for w in triage.weak_clusters:
        out.print(f"weak cluster [bold]{escape(w.cluster)}[/] {rich_label(w.label)}: {escape(w.reason)}")
    if triage.unjudged_clusters:
        out.print("not judged: " + "; ".join(escape(f"{w.cluster} ({w.reason})") for w in triage.unjudged_clusters), style="dim")
    for f in triage.far_concepts:
        out.print("far concept: " + escape(far_detail(f)))
    if triage.one_text_concepts:
        out.print(f"{len(triage.one_text_concepts)} concepts have one text: cannot judge their texts", style="dim")
    if triage.not_steering is not None:
        ns = triage.not_steering
        out.print(
            f"steering (layer {ns.layer}, strength {ns.strength}): {len(ns.concepts)} of {ns.n_testable} testable concepts do not steer "
            f"(z < {ns.z_threshold} against random directions)" + (": " + escape(", ".join(ns.concepts)) if ns.concepts else "")
        )
    if triage.unconvincing_texts:
        out.print(
            f"{triage.unconvincing_texts} more texts beat a typical random text set but not significantly "
            f"(p between {triage.settings.alpha} and 0.5): not listed",
            style="dim",
        )
    if triage.texts:
        table = Table(title=f"Texts to rewrite ({len(triage.texts)}, lowest leave-one-out alignment first; p: random text sets of the concept's size)", title_justify="left")
        for col in ("#", "text", "concept", "alignment (p)", "reasons"):
            table.add_column(col, justify="right" if col in ("#", "alignment (p)") else "left", overflow="fold")
        for i, t in enumerate(triage.texts[:limit], 1):
            reasons = "\n".join(f"{r.kind}: {r.detail}" for r in t.reasons)
            align = MISSING if t.alignment is None else f"{signed(t.alignment)} ({p_value(t.alignment_p)})"
            table.add_row(str(i), escape(t.rel), t.concept or "baseline", align, escape(reasons))
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
    from trainer.analysis.pipeline import analyze_run

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
    from trainer.analysis.pipeline import analyze_run

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
    from base.jsonio import write_json
    from trainer.analysis.compare import compare_runs

    report = compare_runs(run_a, run_b)
    render_comparison(console, report, limit)
    if out is not None:
        write_json(out, report)
        console.print(f"wrote {out}", style="dim", markup=False)
