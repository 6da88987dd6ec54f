"""``amygdala train``: lint, extract hidden states, make concept vectors, write a run folder, analyse it."""

from __future__ import annotations

from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Callable, Iterator, Optional

import typer

from toolkit.cli._app import ConfigOpt, CorpusOpt, ManifestOpt, command, console, err_console, open_corpus_from_options
from toolkit.errors import AmygdalaError


class DTypeChoice(str, Enum):
    auto = "auto"
    bfloat16 = "bfloat16"
    float16 = "float16"
    float32 = "float32"


class StoreChoice(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class PoolChoice(str, Enum):
    mean = "mean"
    last = "last"


class MethodChoice(str, Enum):
    diffmean = "diffmean"
    paired = "paired"
    centered = "centered"


class RichReporter:
    """Steps and warnings on stderr, and a progress bar with texts/s."""

    def step(self, message: str) -> None:
        err_console.print(message, style="dim", markup=False)

    def warn(self, message: str) -> None:
        err_console.print(f"[yellow]warning:[/] {message}", highlight=False)

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err_console, transient=False) as bar:
            task = bar.add_task(description, total=total, rate="")

            def advance(n: int) -> None:
                bar.advance(task, n)
                speed = bar.tasks[task].speed
                bar.update(task, rate=f"{speed:.1f} texts/s" if speed else "")

            yield advance


@command("train", training=True)
def train_command(
    corpus: CorpusOpt = None,
    manifest: ManifestOpt = None,
    config: ConfigOpt = None,
    model: Annotated[
        Optional[str],
        typer.Option("--model", help="Hugging Face id, local model folder or .gguf file (default: the bundled SmolLM2-135M-Instruct).", show_default=False),
    ] = None,
    revision: Annotated[Optional[str], typer.Option("--revision", help="Hub branch, tag or commit of a Hugging Face id.", show_default=False)] = None,
    dtype: Annotated[DTypeChoice, typer.Option("--dtype", help="auto: bf16 on a GPU or a CPU that supports it, fp16 on MPS, else fp32.")] = DTypeChoice.auto,
    device: Annotated[DeviceChoice, typer.Option("--device", help="auto: cuda, then mps, then cpu.")] = DeviceChoice.auto,
    device_map: Annotated[
        Optional[str],
        typer.Option("--device-map", help="'auto' spreads a model too large for one GPU over the devices (accelerate).", show_default=False),
    ] = None,
    pool: Annotated[PoolChoice, typer.Option("--pool", help="mean over the text's tokens, or the last token's state.")] = PoolChoice.mean,
    skip_tokens: Annotated[
        int, typer.Option("--skip-tokens", min=0, help="Mean pooling starts at this token, capped at half the text (the paper's recipe: 50).")
    ] = 50,
    chat_template: Annotated[
        bool, typer.Option("--chat-template", help="Wrap each text as a user turn of the model's chat template.")
    ] = False,
    layers: Annotated[str, typer.Option("--layers", help="Layers to extract, 1..L (HF hidden_states index): all, or e.g. 8,12-20.")] = "all",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Texts per forward pass; halved on out-of-memory.")] = 16,
    method: Annotated[
        MethodChoice,
        typer.Option(
            "--method",
            help="diffmean: concept texts minus other concepts' stories and baselines; paired: variant minus its baseline (CAA); "
            "centered: concept mean minus the mean over concepts.",
        ),
    ] = MethodChoice.diffmean,
    denoise_neutral: Annotated[
        Optional[Path],
        typer.Option("--denoise-neutral", help="Folder of neutral .txt files: project their top principal components out of the vectors.", show_default=False),
    ] = None,
    denoise_variance: Annotated[
        float, typer.Option("--denoise-variance", min=0.01, max=1.0, help="Share of the neutral variance the removed components explain.")
    ] = 0.5,
    store_dtype: Annotated[
        StoreChoice,
        typer.Option("--store-dtype", help="How the run folder stores the pooled states: float32, or float16/bfloat16 at half the size."),
    ] = StoreChoice.float32,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run folder (default: runs/<timestamp> beside the config).", show_default=False)] = None,
    export_gguf: Annotated[bool, typer.Option("--export-gguf", help="Also write one llama.cpp control vector per concept to <out>/gguf/.")] = False,
    allow_lint_errors: Annotated[bool, typer.Option("--allow-lint-errors", help="Train even when the corpus has lint errors.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the activation and lint caches.")] = False,
    analyze: Annotated[bool, typer.Option("--analyze/--no-analyze", help="Go on to quality, validation and triage of the run.")] = True,
    no_probes: Annotated[bool, typer.Option("--no-probes", help="Skip the linear probes of the analysis (the slowest step).")] = False,
) -> None:
    """Extract hidden states of every text, make one unit vector per concept and layer, and write a run folder.

    Lints first and refuses a corpus with lint errors. Pooled states are cached by content, so a retrain extracts only the texts that changed. Environment: AMYGDALA_CACHE_DIR moves the cache (default ~/.cache/amygdala), HF_HUB_OFFLINE=1 forbids downloads.
    """
    from schemas.run import TrainConfig
    from trainer.run import default_out, train

    project, loaded = open_corpus_from_options(corpus, manifest, config)
    settings = TrainConfig(
        model=model,
        revision=revision,
        dtype=dtype.value,
        device=device.value,
        device_map=device_map,
        pool=pool.value,
        skip_tokens=skip_tokens,
        chat_template=chat_template,
        layers=layers,
        batch_size=batch_size,
        method=method.value,
        denoise_neutral=str(denoise_neutral) if denoise_neutral else None,
        denoise_variance=denoise_variance,
        store_dtype=store_dtype.value,
        export_gguf=export_gguf,
        allow_lint_errors=allow_lint_errors,
        use_cache=not no_cache,
    )
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
    if not analyze:
        return
    from toolkit.cli.analysis_cmd import render_analyses, render_triage, render_validation
    from trainer.analysis import analyze_run

    try:
        analysis = analyze_run(result.folder, probes=not no_probes, triage=True)
    except AmygdalaError as err:
        raise AmygdalaError(f"the run folder is written, but its analysis failed: {err.message}", err.where) from None
    render_validation(console, analysis.validation)
    render_analyses(console, analysis.analyses)
    if analysis.triage is not None:
        render_triage(console, analysis.triage)
    for path in analysis.written:
        console.print(f"wrote {path}", style="dim", markup=False)
