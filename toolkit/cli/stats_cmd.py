from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich import box
from rich.table import Table

from toolkit.cli._app import ConfigOpt, CorpusOpt, ManifestOpt, command, console, open_corpus_from_options

if TYPE_CHECKING:
    from schemas.reports import NarratorBalance, StatsReport, WordSummary


class StatsFormat(str, Enum):
    table = "table"
    json = "json"


def _words(summary: WordSummary) -> str:
    if summary.min is None:
        return "-"
    return f"{summary.min}/{summary.median:g}/{summary.max}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _narrators(balance: NarratorBalance, max_share: float) -> str:
    text = f"{balance.first}/{balance.second}/{balance.third}"
    if balance.dominant_share is not None and balance.dominant_share > max_share:
        return f"[yellow]{text} ({balance.dominant} {balance.dominant_share:.0%})[/yellow]"
    return text


def _render(report: StatsReport, top: int) -> None:
    limit = report.thresholds.narrator_max_share
    n = report.narrator
    console.print(
        f"{report.words.texts} texts; words min/median/max {_words(report.words)}; "
        f"reading ease {_number(report.readability.reading_ease)}, "
        f"{_number(report.readability.words_per_sentence)} words per sentence; "
        f"narrators (first/second/third) over {n.first + n.second + n.third} tellings: {_narrators(n, limit)}"
    )
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="words: min/median/max; ease: Flesch reading ease; w/sent: words per sentence; narrators per telling",
    )
    table.add_column("cluster", no_wrap=True)
    for column in ("texts", "words", "ease", "w/sent", "1st/2nd/3rd"):
        table.add_column(column, justify="right", no_wrap=True)
    for c in report.clusters:
        table.add_row(
            c.title,
            str(c.words.texts),
            _words(c.words),
            _number(c.readability.reading_ease),
            _number(c.readability.words_per_sentence),
            _narrators(c.narrator, limit),
        )
    console.print(table)
    shared = report.shared_vocabulary
    if shared:
        shown = ", ".join(f"{w.word} ({len(w.clusters)}/{w.stories})" for w in shared[:top])
        more = f" and {len(shared) - top} more" if len(shared) > top else ""
        console.print(
            f"[bold]Shared vocabulary[/bold]: content words in stories of at least "
            f"{report.thresholds.shared_min_clusters} clusters (clusters/stories): {shown}{more}"
        )
    for flag in report.flags:
        console.print(f"[yellow]{flag.kind}[/yellow] {flag.subject}: {flag.message}")
    if report.skipped:
        console.print(f"[dim]not counted (not UTF-8 or blank): {', '.join(report.skipped)}[/dim]")


@command("stats")
def stats_command(
    output_format: Annotated[StatsFormat, typer.Option("--format", help="table or json.")] = StatsFormat.table,
    narrator_max: Annotated[
        float,
        typer.Option("--narrator-max", min=0.0, max=1.0, help="Flag a narrator person above this share of tellings, overall or in a cluster."),
    ] = 0.6,
    shared_min_clusters: Annotated[
        Optional[int],
        typer.Option("--shared-min-clusters", min=2, help="List content words used in stories of at least this many clusters.", show_default="more than half of the clusters with stories"),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Shared words shown in the table (json lists all).")] = 20,
    corpus: CorpusOpt = None,
    manifest: ManifestOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Length, readability, narrator balance and shared vocabulary per cluster; flags what skews the vectors.

    A telling is one story, or one paired scenario with all its texts; narrators are counted per telling.

    Flags are advisory (exit 0):
    [bold]narrator_dominant[/bold]: one person above --narrator-max of the tellings, overall or in a cluster of 5 or more;
    [bold]scene_bound[/bold]: a concept whose only texts are variants in one scenario;
    [bold]setting_word[/bold]: words in at least 60% of a concept's tellings (3 or more) but in at most 3% of the corpus's.
    """
    from toolkit.stats import corpus_stats

    _, loaded = open_corpus_from_options(corpus, manifest, config)
    report = corpus_stats(loaded, narrator_max_share=narrator_max, shared_min_clusters=shared_min_clusters)
    if output_format is StatsFormat.json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _render(report, top)
