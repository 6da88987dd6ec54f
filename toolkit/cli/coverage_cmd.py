from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich import box
from rich.table import Table

from toolkit.cli._app import ConfigOpt, CorpusOpt, ManifestOpt, command, console
from base.errors import AmygdalaError

if TYPE_CHECKING:
    from schemas.reports import CoverageReport


class CoverageFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


REQUIRE_HELP = (
    "The bar to meet, exit 1 below it; repeat to combine. "
    "[bold]all[/bold]: every canonical concept has at least one story in stories/ "
    "(paired variants alone do not count: such a concept carries its scenes). "
    "[bold]clusters[/bold]: every cluster has at least one story and at least one paired scenario "
    "(with a baseline) holding a variant of one of its concepts. "
    "[bold]N[/bold] or [bold]N%[/bold]: at least N% of canonical concepts have a story."
)


def _concept_table(report: CoverageReport) -> None:
    table = Table(title="Concepts by cluster", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("concept", no_wrap=True)
    table.add_column("stories", justify="right", no_wrap=True)
    table.add_column("variants", justify="right", no_wrap=True)
    table.add_column("scenarios", overflow="fold")
    for cluster in report.clusters:
        table.add_row(f"[bold]{cluster.title}[/bold]")
        for c in report.concepts:
            if c.cluster != cluster.cluster:
                continue
            name = f"  {c.concept} [dim](extra)[/dim]" if c.extra else f"  {c.concept}"
            stories = str(c.stories) if c.stories or c.extra else "[red]0[/red]"
            table.add_row(name, stories, str(c.variants), ", ".join(c.scenarios))
    console.print(table)


def _table(report: CoverageReport, show_scenarios: bool, show_concepts: bool, config: Path | None = None) -> None:
    from toolkit.lint.textutil import counted

    table = Table(title=f"Coverage of {report.corpus}", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("cluster", no_wrap=True)
    for column in ("with\nstory", "with\ntext", "extras", "stories", "paired\nscenes", "variants"):
        table.add_column(column, justify="right", no_wrap=True)
    for c in report.clusters:
        done = c.canonical_with_story == c.canonical
        table.add_row(
            c.title,
            f"[{'green' if done else 'red'}]{c.canonical_with_story}/{c.canonical}[/]",
            f"{c.canonical_with_text}/{c.canonical}",
            f"{c.extras_with_text}/{c.extras}",
            str(c.stories),
            str(len(c.paired_scenarios)) if c.paired_scenarios else "[red]0[/red]",
            str(c.variants),
        )
    console.print(table)
    if show_concepts:
        _concept_table(report)
    if show_scenarios:
        scenarios = Table(title="Paired scenarios", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for column in ("scenario", "variants", "concepts", "clusters"):
            scenarios.add_column(column, overflow="fold")
        for s in report.scenarios:
            name = s.scenario if s.has_baseline else f"{s.scenario} [red](no baseline)[/red]"
            scenarios.add_row(name, str(s.variants), ", ".join(s.concepts), ", ".join(s.clusters))
        console.print(scenarios)
    console.print(
        f"{report.canonical_with_story}/{counted(report.canonical, 'canonical concept')} "
        f"{'has' if report.canonical == 1 else 'have'} a story "
        f"({report.percent_with_story:g}%), {report.canonical_with_text} any text; "
        f"extras with text: {report.extras_with_text}/{report.extras}; "
        f"{counted(sum(s.has_baseline for s in report.scenarios), 'paired scenario')}, "
        f"{counted(sum(s.variants for s in report.scenarios), 'variant')}; "
        f"{counted(len(report.single_scenario), 'concept')} paired in a single scenario."
    )
    for c in report.clusters:
        if c.missing:
            console.print(f"[red]missing a story[/red] in {c.cluster}: {', '.join(c.missing)}")
    if report.scene_bound:
        console.print(
            f"[yellow]known from one scenario only[/yellow] (the vector carries that scene): {', '.join(report.scene_bound)}"
        )
    no_baseline = [s.scenario for s in report.scenarios if not s.has_baseline]
    if no_baseline:
        console.print(f"[yellow]scenarios without baseline.txt[/yellow] (not paired): {', '.join(no_baseline)}")
    if report.unknown_texts:
        console.print(f"[yellow]not in the manifest[/yellow] (not counted): {', '.join(report.unknown_texts)}")
    for result in report.requirements:
        mark = "[green]met[/green]" if result.met else "[red]not met[/red]"
        console.print(f"--require {result.requirement}: {mark}: {result.detail}")
    if not report.requirements:
        from toolkit.coverage import no_bar

        console.print(no_bar(config), markup=False)


@command("coverage")
def coverage_command(
    require: Annotated[
        Optional[list[str]], typer.Option("--require", help=REQUIRE_HELP, show_default="require in \\[tool.amygdala.coverage], else none: report only")
    ] = None,
    output_format: Annotated[CoverageFormat, typer.Option("--format", help="table, json or markdown (for CI summaries).")] = CoverageFormat.table,
    show_concepts: Annotated[bool, typer.Option("--concepts", help="Also list every concept with its stories, variants and scenarios.")] = False,
    show_scenarios: Annotated[bool, typer.Option("--scenarios", help="Also list every paired scenario with its variants.")] = False,
    corpus: CorpusOpt = None,
    manifest: ManifestOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Which concepts and clusters have texts, which clusters are paired, and whether the bar is met."""
    from toolkit.config import load_config
    from toolkit.coverage import coverage_report, markdown, parse_requirement
    from toolkit.corpus import open_corpus

    cfg = load_config(explicit=config)
    if require:
        requirements = [parse_requirement(r) for r in require]
    else:
        try:
            requirements = [parse_requirement(r) for r in cfg.settings.coverage.require]
        except AmygdalaError as err:
            raise AmygdalaError(err.message.replace("--require ", ""), cfg.where("coverage.require")) from err
    loaded = open_corpus(cfg, corpus, manifest)
    report = coverage_report(loaded, requirements)
    if output_format is CoverageFormat.json:
        typer.echo(report.model_dump_json(indent=2))
    elif output_format is CoverageFormat.markdown:
        typer.echo(markdown(report, cfg.source), nl=False)
    else:
        _table(report, show_scenarios, show_concepts, cfg.source)
    if not report.passed:
        raise typer.Exit(1)
