"""``amygdala eval``: held-out readout accuracy on labelled text, or cross-validated on the run's corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from toolkit.cli._app import command, console
from toolkit.cli.readout_cmd import LayersOpt, RunArg
from base.errors import AmygdalaError


def _ci(e) -> str:
    return f"{e.value:.1%} [{e.ci_low:.1%}, {e.ci_high:.1%}]"


def render_eval(report) -> None:
    from rich.table import Table

    head = report.headline
    console.print(
        f"{report.mode}: {report.n_evaluated} of {report.n_labelled} texts ranked among {len(report.candidates)} concepts"
        + (f"; skipped: {', '.join(f'{n} {why}' for why, n in report.skipped.items() if n)}" if any(report.skipped.values()) else ""),
        markup=False,
    )
    console.print(
        f"layer {report.headline_layer} (headline, declared in advance): top-1 {_ci(head.top1)} (chance {report.chance_top1:.1%}), "
        f"top-5 {_ci(head.top5)} (chance {report.chance_top5:.1%}), right cluster {_ci(report.cluster_top1)} (chance {report.chance_cluster:.1%})",
        markup=False,
    )
    best = next(row for row in report.per_layer if row.layer == report.best_layer)
    console.print(f"best layer {best.layer} (exploratory, a selected maximum): top-1 {_ci(best.top1)}, top-5 {_ci(best.top5)}", markup=False)
    table = Table(title=f"per cluster at layer {report.headline_layer}", title_justify="left")
    for name in ("cluster", "n", "top-1", "top-5", "right cluster"):
        table.add_column(name, justify="left" if name == "cluster" else "right")
    for row in report.per_cluster:
        table.add_row(row.cluster, str(row.n), f"{row.top1:.0%}", f"{row.top5:.0%}", f"{row.cluster_top1:.0%}")
    console.print(table)
    console.print(f"95% CI: {report.bootstrap}", style="dim", markup=False)


@command("eval")
def eval_command(
    run: RunArg,
    labelled: Annotated[Optional[Path], typer.Argument(help="JSONL of labelled texts (or use --cv).", show_default=False)] = None,
    text_field: Annotated[str, typer.Option("--text-field", help="Field holding the text.")] = "text",
    concept_field: Annotated[str, typer.Option("--concept-field", help="Field holding the concept label.")] = "concept",
    cv: Annotated[bool, typer.Option("--cv", help="Cross-validate on the run's own corpus (a story alone, a paired scenario whole, held out).")] = False,
    layers: LayersOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print eval.json to stdout as well.")] = False,
) -> None:
    """Top-1 / top-5 readout accuracy among the run's concepts present in the labels, with bootstrap CI and chance, per layer and cluster; writes eval.json and eval_by_layer.png into the run folder."""
    from toolkit.cli.train_cmd import RichReporter
    from trainer.report.evalplots import eval_by_layer
    from trainer.runfolder.folder import EVAL_PNG
    from trainer.use.evaluate import evaluate_cv, evaluate_labelled
    from trainer.use.readout import open_run, write_eval

    if cv == (labelled is not None):
        raise AmygdalaError("give either a labelled JSONL file or --cv")
    view = open_run(run)
    if cv:
        report = evaluate_cv(view, layers)
    else:
        report = evaluate_labelled(view, labelled, text_field, concept_field, layers, RichReporter())
    written = write_eval(view, report)
    eval_by_layer(report, view.root / EVAL_PNG)
    if as_json:
        console.print_json(report.model_dump_json(), highlight=False)
        return
    render_eval(report)
    console.print(f"wrote {written}", style="dim", markup=False)
