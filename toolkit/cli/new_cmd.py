from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from toolkit.cli._app import ConfigOpt, CorpusOpt, ManifestOpt, app, command, console, open_corpus_from_options
from base.errors import AmygdalaError

if TYPE_CHECKING:
    from toolkit.authoring import ConceptBrief
    from toolkit.config import Config
    from toolkit.corpus import Corpus

new_app = typer.Typer(
    name="new",
    help="Create the files of a new story or paired scenario (never overwriting), with the words to avoid and the length to aim for.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(new_app)

EditOpt = Annotated[
    bool,
    typer.Option(
        "--edit",
        help="Open the new files in $VISUAL or $EDITOR, remove those left blank when it closes, and lint the rest "
        "(exit 1 on lint errors or when nothing was written).",
    ),
]


def shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _print_brief(brief: ConceptBrief, label: str) -> None:
    console.print(f"[bold]{label}[/bold] ({brief.cluster_title}) [dim]avoid:[/dim] {', '.join(brief.avoid)}", markup=True)
    if brief.existing:
        console.print(f"  [dim]its other texts: {', '.join(brief.existing)}[/dim]")


def _editor(edit: bool) -> list[str] | None:
    """With --edit, the editor command, checked before anything is written (None without --edit)."""
    if not edit:
        return None
    import shutil

    from toolkit.authoring import editor_command

    command = editor_command()
    if shutil.which(command[0]) is None:
        raise AmygdalaError(f"--edit: the editor {command[0]!r} is not on PATH; set $EDITOR (or $VISUAL) to one that is")
    return command


def _edit_and_lint(
    cfg: Config, corpus: Corpus, editor: list[str], paths: list[Path], folder: Path | None = None, prune: Path | None = None
) -> None:
    from toolkit.authoring import edit

    outcome = edit(paths, editor, remove_folder=folder, prune_folder=prune)
    for path in outcome.removed:
        console.print(f"left blank, removed: {shown(path)}")
    if not outcome.written:
        console.print("nothing written")
        raise typer.Exit(1)
    if _lint(cfg, corpus, outcome.written):
        raise typer.Exit(1)


def _lint(cfg: Config, corpus: Corpus, paths: list[Path]) -> bool:
    """Lint the written files as `amygdala lint` would; True when an error was found."""
    from toolkit.corpus import load_corpus
    from toolkit.lint import lint_cache_dir, lint_corpus, render

    fresh = load_corpus(corpus.root, corpus.manifest_path)
    result = lint_corpus(fresh, cfg.settings.lint, paths=paths, cache_dir=lint_cache_dir(cfg, fresh))
    render.full(result, console)
    return result.has_errors


@command("story", target=new_app)
def new_story(
    concept: Annotated[str, typer.Argument(help="The concept the story embodies (a manifest name).", show_default=False)],
    name: Annotated[
        Optional[str],
        typer.Option("--name", help="File name inside stories/<concept>/ (default: the next number, 01.txt for the first story).", show_default=False),
    ] = None,
    edit: EditOpt = False,
    corpus: CorpusOpt = None,
    manifest: ManifestOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create an empty story file for CONCEPT and print the words to avoid and the length target.

    The file starts empty, never with placeholder text: whatever a text file holds is training data.

    Lint reports an empty file (ST002) until you write it.
    """
    from toolkit.authoring import create_story

    editor = _editor(edit)
    cfg, loaded = open_corpus_from_options(corpus, manifest, config)
    story = create_story(loaded, concept, name, cfg.settings.lint.story_words)
    low, high = story.words
    console.print(f"created {shown(story.path)} [dim](empty until you write it)[/dim]")
    _print_brief(story.brief, story.brief.concept)
    console.print(f"[bold]length[/bold] {low}-{high} words, one paragraph")
    if story.flat is not None:
        console.print(
            f"note: {shown(story.flat)} uses the older flat layout; move it into {shown(story.path.parent)}/ "
            "to keep one layout (lint and training read both)",
            markup=False,
        )
    if editor is not None:
        _edit_and_lint(cfg, loaded, editor, [story.path], prune=story.new_folder)


@command("scenario", target=new_app)
def new_scenario(
    slug: Annotated[str, typer.Argument(help="Folder name under paired/, a lowercase_underscore slug.", show_default=False)],
    concepts: Annotated[
        list[str],
        typer.Option("--concepts", help="Comma-separated concepts, one variant file each (repeatable).", show_default=False),
    ],
    anchor: Annotated[
        Optional[list[str]],
        typer.Option("--anchor", help="A name or object every telling must keep, e.g. \"the letter\" (repeatable).", show_default=False),
    ] = None,
    notes: Annotated[str, typer.Option("--notes", help="The event in a line, for scenario.json.")] = "",
    edit: EditOpt = False,
    corpus: CorpusOpt = None,
    manifest: ManifestOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create paired/SLUG/ with scenario.json, an empty baseline.txt and an empty file per concept."""
    from toolkit.authoring import create_scenario

    editor = _editor(edit)
    cfg, loaded = open_corpus_from_options(corpus, manifest, config)
    lint = cfg.settings.lint
    scenario = create_scenario(loaded, slug, concepts, anchor or [], notes, lint.story_words, lint.paired_tolerance)
    low, high = scenario.words
    console.print(
        f"created {shown(scenario.folder)}/ with scenario.json, baseline.txt and {len(scenario.variants)} variant(s) "
        "[dim](empty until you write them)[/dim]"
    )
    if scenario.similar:
        console.print(f"[yellow]note[/yellow]: an existing scenario has a similar name: {scenario.similar}")
    if scenario.anchors:
        console.print(f"[bold]anchors[/bold] (every telling keeps them): {', '.join(scenario.anchors)}")
    else:
        console.print("[bold]anchors[/bold]: none declared; lint (AN002) will suggest the names the baseline leans on")
    console.print(
        f"[bold]length[/bold] baseline {low}-{high} words, one paragraph; "
        f"each variant within ±{scenario.tolerance:.0%} of the baseline's word count"
    )
    for path, brief in scenario.variants:
        _print_brief(brief, path.name)
    if editor is not None:
        _edit_and_lint(cfg, loaded, editor, scenario.texts, folder=scenario.folder)
