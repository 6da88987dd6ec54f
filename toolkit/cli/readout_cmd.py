"""``amygdala readout``: z-scores of new text on every concept of a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from toolkit.cli._app import command, console
from base.errors import AmygdalaError

RunArg = Annotated[Path, typer.Argument(help="A run folder written by `amygdala train`.", show_default=False)]
LayersOpt = Annotated[Optional[str], typer.Option("--layers", help="Layers to read out (default: all the run's), e.g. 12-24.", show_default=False)]


def read_inputs(texts: list[str], jsonl: Path | None, text_field: str) -> tuple[list[str], list[str]]:
    """(texts, sources): each argument is a file when one exists at that path, else the text itself."""
    from base.jsonio import read_text

    bodies, sources = [], []
    for arg in texts:
        path = Path(arg)
        try:
            is_file = "\n" not in arg and path.is_file()
        except OSError:  # a long text is not a path
            is_file = False
        if is_file:
            bodies.append(read_text(path))
            sources.append(str(path))
        else:
            bodies.append(arg)
            sources.append("argument")
    if jsonl is not None:
        from trainer.use.evaluate import read_records

        for source, body in read_records(jsonl, text_field):
            bodies.append(body)
            sources.append(source)
    if not bodies:
        raise AmygdalaError("nothing to read out: give a text, files, or --jsonl FILE --text-field NAME")
    return bodies, sources


@command("readout")
def readout_command(
    run: RunArg,
    texts: Annotated[Optional[list[str]], typer.Argument(help="Texts, or paths of text files.", show_default=False)] = None,
    jsonl: Annotated[Optional[Path], typer.Option("--jsonl", help="A JSONL file of texts.", show_default=False)] = None,
    text_field: Annotated[str, typer.Option("--text-field", help="The --jsonl field holding the text.")] = "text",
    layers: LayersOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Concepts shown per text.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full read-out (every layer and concept) as JSON.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the full read-out as JSON to this file.", show_default=False)] = None,
) -> None:
    """Project new text on every concept of a run, as z-scores against the run's own corpus.

    Pooled with the run's model and extraction options through the activation cache, so text read before is not run through the model again. The terminal shows the top concepts at the display layer (the middle of the deep third); --json / --out hold every layer and concept.
    """
    from toolkit.cli.train_cmd import RichReporter
    from base.jsonio import write_json
    from trainer.use.readout import choose_layers, open_run, readout

    bodies, sources = read_inputs(texts or [], jsonl, text_field)
    view = open_run(run)
    report = readout(view, bodies, sources, choose_layers(view, layers), RichReporter(), top=top)
    if out is not None:
        write_json(out, report)
    if as_json:
        console.print_json(report.model_dump_json(), highlight=False)
        return
    for text in report.texts:
        ranked = ", ".join(f"{s.concept} {s.z:+.2f}" for s in text.top)
        console.print(f"{text.source}: {ranked}", markup=False)
    console.print(
        f"z at layer {report.display_layer} against {report.n_reference} corpus texts; "
        f"{report.cache.hits} cached, {report.cache.misses} extracted",
        style="dim",
        markup=False,
    )
    if out is not None:
        console.print(f"wrote {out}", style="dim", markup=False)
