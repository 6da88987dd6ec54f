"""``amygdala train``: lint, extract hidden states, make concept vectors, write a run folder, analyse it."""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, Literal, Optional, get_args, get_origin

import annotated_types
import typer

from toolkit.cli._app import ConfigOpt, CorpusOpt, ManifestOpt, command, console, err_console, open_corpus_from_options
from base.errors import AmygdalaError


class RichReporter:
    """Steps and warnings on stderr; progress as a bar with texts/s on a terminal, and as lines
    (``trainer.reporter.LineProgress``) in a log that is no terminal, where a bar shows nothing
    until the step ends."""

    def __init__(self, console: Any = None) -> None:
        self.console = console or err_console

    def step(self, message: str) -> None:
        self.console.print(message, style="dim", markup=False)

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/] {message}", highlight=False)

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        if not self.console.is_terminal:
            from trainer.reporter import LineProgress

            lines = LineProgress(description, total, lambda line: self.console.print(line, markup=False, highlight=False))
            yield lines.advance
            lines.close()
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        columns = (
            TextColumn("{task.description}"),
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self.console, transient=False, expand=False) as bar:
            task = bar.add_task(description, total=total, rate="")

            def advance(n: int) -> None:
                bar.advance(task, n)
                speed = bar.tasks[task].speed
                bar.update(task, rate=f"{speed:.1f} texts/s" if speed else "")

            yield advance


# Fields whose option turns them off.
INVERTED = {"use_cache": "--no-cache"}


def option_name(field: str) -> str:
    return INVERTED.get(field, "--" + field.replace("_", "-"))


def _choices(name: str, annotation: Any) -> type[Enum] | None:
    if get_origin(annotation) is not Literal:
        return None
    return Enum(f"{name.title().replace('_', '')}Choice", {v: v for v in get_args(annotation)}, type=str)  # type: ignore[return-value]


def config_parameters() -> list[inspect.Parameter]:
    """One typer option per TrainConfig field: name, type, choices, bounds, default and help all come from the field."""
    from schemas.run import TrainConfig

    params = []
    for name, field in TrainConfig.model_fields.items():
        flag, default, annotation = option_name(name), field.default, field.annotation
        extra: dict[str, Any] = {}
        for bound in field.metadata:
            if isinstance(bound, (annotated_types.Ge, annotated_types.Gt)):
                extra["min"] = getattr(bound, "ge", getattr(bound, "gt", None))
            elif isinstance(bound, annotated_types.Le):
                extra["max"] = bound.le
        if name in INVERTED:
            annotation, default = bool, False
        elif (enum := _choices(name, annotation)) is not None:
            annotation, default = enum, enum(default)
        elif default is None:
            annotation, extra["show_default"] = Optional[str], False
        option = typer.Option(flag, help=field.description, **extra)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[annotation, option]))
    return params


def to_config(options: dict[str, Any]) -> Any:
    """The TrainConfig of the parsed options; a value the field refuses is a one-line error naming the option."""
    from pydantic import ValidationError

    from schemas.run import TrainConfig

    values = {
        name: (not value) if name in INVERTED else (value.value if isinstance(value, Enum) else value) for name, value in options.items()
    }
    try:
        return TrainConfig(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise AmygdalaError(f"{option_name(str(err['loc'][0]))}: {err['msg']}") from exc


def options_table() -> str:
    """The markdown table of the TrainConfig options, as docs/training.md shows it (a test compares them)."""
    from schemas.run import TrainConfig

    rows = ["| option | default | meaning |", "|---|---|---|"]
    for name, field in TrainConfig.model_fields.items():
        if name in INVERTED or isinstance(field.default, bool):
            default = "off"
        else:
            default = "none" if field.default is None else f"`{field.default}`"
        meaning = (field.description or "").replace("<", "&lt;").replace(">", "&gt;")
        rows.append(f"| `{option_name(name)}` | {default} | {meaning} |")
    return "\n".join(rows) + "\n"


def train_command(
    corpus: CorpusOpt = None,
    manifest: ManifestOpt = None,
    config: ConfigOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run folder (default: runs/<timestamp> beside the config).", show_default=False)] = None,
    analyze: Annotated[bool, typer.Option("--analyze/--no-analyze", help="Go on to quality, validation and triage of the run.")] = True,
    no_probes: Annotated[bool, typer.Option("--no-probes", help="Skip the linear probes of the analysis (the slowest step).")] = False,
    steer_check: Annotated[
        bool, typer.Option("--steer-check", help="Then run `amygdala steer --check` on the run: steering.json and steering_heatmap.png.")
    ] = False,
    **options: Any,
) -> None:
    """Extract hidden states of every text, make one unit vector per concept and layer, and write a run folder.

    Lints first and refuses a corpus with lint errors. Pooled states are cached by content, so a retrain extracts only the texts that changed. Environment: AMYGDALA_CACHE_DIR moves the cache (default ~/.cache/amygdala), HF_HUB_OFFLINE=1 forbids downloads.
    """
    from trainer.run import default_out, train

    settings = to_config(options)
    project, loaded = open_corpus_from_options(corpus, manifest, config)
    result = train(loaded, settings, project, out or default_out(project.root), RichReporter())
    if result is None:  # a rank other than 0 of a torchrun launch: rank 0 writes and reports the run
        return
    info = result.info
    cache = info.extraction.cache
    console.print(
        f"trained {info.vectors.n_concepts} {info.vectors.method} vectors over {len(info.extraction.layers)} layers "
        f"from {info.corpus.n_texts} texts ({cache.hits} cached, {cache.misses} extracted"
        + (f", {cache.corrupt} corrupt entries recomputed" if cache.corrupt else "")
        + f") in {info.timings['total']:.1f} s",
        markup=False,
    )
    console.print(f"wrote {result.folder}", markup=False)
    if steer_check:
        from toolkit.cli.steer_check import DEFAULT_CHECK_STRENGTHS, run_check
        from trainer.use.readout import open_run
        from trainer.use.steering import N_RANDOM

        run_check(open_run(result.folder), None, DEFAULT_CHECK_STRENGTHS, N_RANDOM, 0, RichReporter())
    if not analyze:
        return
    from toolkit.cli.analysis_cmd import render_analyses, render_triage, render_validation
    from trainer.analysis.pipeline import analyze_run

    try:
        analysis = analyze_run(result.folder, probes=not no_probes, triage=True)
    except AmygdalaError as err:
        raise AmygdalaError(f"the run folder is written, but its analysis failed: {err.message}", err.where) from err
    render_validation(console, analysis.validation)
    render_analyses(console, analysis.analyses)
    if analysis.triage is not None:
        render_triage(console, analysis.triage)
    for path in analysis.written:
        console.print(f"wrote {path}", style="dim", markup=False)


def _signature() -> inspect.Signature:
    """train_command's own options, then one per TrainConfig field (what typer reads)."""
    own = [p for p in inspect.signature(train_command, eval_str=True).parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    return inspect.Signature([*own, *config_parameters()])


train_command.__signature__ = _signature()  # type: ignore[attr-defined]
train_command.__annotations__ = {p.name: p.annotation for p in train_command.__signature__.parameters.values()}  # type: ignore[attr-defined]
command("train", training=True)(train_command)
