"""The steering check as `amygdala steer --check` and `amygdala train --steer-check` run and print it."""

from __future__ import annotations

from toolkit.cli._app import console
from base.errors import AmygdalaError

DEFAULT_CHECK_STRENGTHS = "0.25,0.5,1"


def parse_strengths(spec: str) -> list[float]:
    try:
        values = [float(part) for part in spec.split(",") if part.strip()]
    except ValueError as exc:
        raise AmygdalaError(f"--strengths: {spec!r} is not a comma list of numbers") from exc
    if not values or any(v <= 0 for v in values):
        raise AmygdalaError("--strengths: give positive numbers, e.g. 0.25,0.5,1")
    return sorted(set(values))


def run_check(view, layers: str | None, strengths: str, n_random: int, seed: int, reporter) -> None:
    """The steering check on a run: steering.json and steering_heatmap.png in the run folder, printed summary."""
    from trainer.report.evalplots import steering_heatmap
    from trainer.runfolder.folder import STEERING_PNG
    from trainer.use.readout import choose_layers, write_steering
    from trainer.use.steering import check_layers, load_run_model, steering_check

    chosen = choose_layers(view, layers) if layers else check_layers(view.info.model.n_layers, view.layers)
    lm = load_run_model(view, reporter)
    report = steering_check(view, lm, chosen, parse_strengths(strengths), n_random, seed, reporter=reporter)
    path = write_steering(view, report)
    steering_heatmap(report, view.root / STEERING_PNG)
    render_check(report)
    console.print(f"wrote {path}", style="dim", markup=False)


def render_check(report) -> None:
    from rich.table import Table

    table = Table(title=f"median z vs {report.n_random} random directions (share of concepts with z >= {report.z_threshold:g})", title_justify="left")
    table.add_column("layer", justify="right")
    for strength in report.strengths:
        table.add_column(f"x{strength:g}", justify="right")
    for layer in report.layers:
        cells = [c for c in report.cells if c.layer == layer]
        table.add_row(str(layer), *(f"{c.median_z:+.1f} ({c.share_steering:.0%})" for c in cells))
    console.print(table)
    rec = report.recommended
    tested = len(report.concepts) - len(report.untestable)
    console.print(
        f"recommended: layers {', '.join(map(str, rec.layers))} at strength {rec.strength:g} (best cell: layer {rec.layer}, median z {rec.median_z:+.2f}); "
        f"{tested - len(report.not_steering)} of {tested} testable concepts steer there, {len(report.untestable)} untestable (no single-token keyword)",
        markup=False,
    )
    if report.not_steering:
        console.print(f"do not steer: {', '.join(report.not_steering)}", markup=False)
    console.print(f"{report.seconds:.1f} s", style="dim", markup=False)
