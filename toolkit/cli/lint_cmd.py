"""``amygdala lint``, ``amygdala rule CODE`` and ``amygdala rules``."""

from __future__ import annotations

import functools
import io
import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Callable, Optional

import typer
from rich.console import Console

from toolkit.cli._app import ConfigOpt, CorpusOpt, ManifestOpt, command, console, open_corpus_from_options
from base.errors import AmygdalaError

if TYPE_CHECKING:
    from toolkit.config import Config, LintSettings
    from toolkit.corpus import Corpus


class LintFormat(str, Enum):
    full = "full"
    concise = "concise"
    json = "json"
    github = "github"
    sarif = "sarif"


class RulesFormat(str, Enum):
    table = "table"
    json = "json"


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


SelectorList = Optional[list[str]]


@command("lint")
def lint_command(
    paths: Annotated[
        Optional[list[Path]],
        typer.Argument(help="Files or folders inside the corpus to lint (default: the whole corpus).", show_default=False),
    ] = None,
    corpus: CorpusOpt = None,
    manifest: ManifestOpt = None,
    config: ConfigOpt = None,
    output_format: Annotated[LintFormat, typer.Option("--format", help="Output format.")] = LintFormat.full,
    select: Annotated[
        SelectorList,
        typer.Option("--select", help="Rule codes, prefixes or names to run (comma-separated; replaces the configured select).", show_default=False),
    ] = None,
    ignore: Annotated[
        SelectorList, typer.Option("--ignore", help="Rule codes or prefixes to skip (added to the configured ignore).", show_default=False)
    ] = None,
    extend_select: Annotated[
        SelectorList, typer.Option("--extend-select", help="Rule codes or prefixes to run in addition.", show_default=False)
    ] = None,
    statistics: Annotated[bool, typer.Option("--statistics", help="Count findings per rule instead of listing them.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the lint cache.")] = False,
    output_file: Annotated[
        Optional[Path], typer.Option("--output-file", "-o", help="Write the output to this file instead of stdout.", show_default=False)
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Lint again whenever a corpus file, the manifest or the configuration changes (Ctrl+C stops).")
    ] = False,
) -> None:
    """Check the corpus against the style rules; exit 1 when any finding is an error.

    Paths default to the whole corpus. A variant given alone is measured against its
    baseline on disk, so pre-commit's partial file lists give the same answer as a full run.
    """
    from toolkit.lint import lint_cache_dir
    from toolkit.lint.selection import expand, validate

    cfg, corpus_obj = open_corpus_from_options(corpus, manifest, config)
    settings = cfg.settings.lint
    try:
        validate(settings)
    except AmygdalaError as err:
        raise AmygdalaError(err.message, cfg.where(f"lint.{err.where}")) from err
    updates: dict[str, object] = {}
    if select is not None:
        updates["select"] = sorted(expand(_split(select), "--select"))
    if ignore:
        updates["ignore"] = [*settings.ignore, *sorted(expand(_split(ignore), "--ignore"))]
    if extend_select:
        updates["extend_select"] = [*settings.extend_select, *sorted(expand(_split(extend_select), "--extend-select"))]
    settings = settings.model_copy(update=updates)

    run = functools.partial(
        _lint_and_render,
        settings=settings,
        paths=paths or None,
        cache_dir=lint_cache_dir(cfg, corpus_obj),
        use_cache=not no_cache,
        fmt=output_format.value,
        statistics=statistics,
        output_file=output_file,
    )
    has_errors = run(corpus_obj)
    if watch:
        _watch(cfg, corpus_obj, run)
    raise typer.Exit(1 if has_errors else 0)


def _lint_and_render(
    corpus_obj: Corpus,
    settings: LintSettings,
    paths: list[Path] | None,
    cache_dir: Path,
    use_cache: bool,
    fmt: str,
    statistics: bool,
    output_file: Path | None,
) -> bool:
    """One lint run, rendered to the console or ``output_file``; True when it found an error."""
    from toolkit.lint import lint_corpus, render

    result = lint_corpus(corpus_obj, settings, paths=paths, cache_dir=cache_dir, use_cache=use_cache)
    if statistics:
        text = render.statistics(result, fmt)
    elif fmt == "full":
        if output_file is None:
            render.full(result, console)
            return result.has_errors
        buffer = Console(file=io.StringIO(), no_color=True, width=200, highlight=False)
        render.full(result, buffer)
        text = buffer.file.getvalue()  # type: ignore[attr-defined]
    else:
        text = {"concise": render.concise, "json": render.as_json, "github": render.github, "sarif": render.sarif}[fmt](result)
    if output_file is not None:
        from base.jsonio import atomic_write_text

        atomic_write_text(output_file, text)
    else:
        console.file.write(text)
        console.file.flush()
    return result.has_errors


def _watch(cfg: Config, corpus_obj: Corpus, run: Callable[[Corpus], bool]) -> None:
    """Lint again whenever a file of the corpus, its manifest or the configuration changes (Ctrl+C stops).

    The corpus folder is watched recursively. The manifest and the configuration are watched
    through their folders, not as files: an editor that saves by writing a temporary file and
    renaming it over the original replaces the file, and a watch on the old file never fires
    again. On a terminal the screen is cleared before each run, so it shows the current findings.
    """
    import queue
    import signal
    import threading

    from toolkit.corpus import load_corpus
    from toolkit.lint.textutil import printable_name

    root = corpus_obj.root.resolve()
    singles = {corpus_obj.manifest_path.resolve()}
    if cfg.source is not None:
        singles.add(cfg.source.resolve())
    outside = {p for p in singles if root not in p.parents}
    # Ctrl+C sets an event the watchers poll, so they stop through their own exit path (an interrupt
    # raised while a lint runs left the watcher to be torn down at exit, which once hung in CI);
    # a lint in progress finishes first, and a second Ctrl+C stops at once.
    stop = threading.Event()
    changes: queue.Queue[set[Path]] = queue.Queue()
    watchers = [threading.Thread(target=_watch_tree, args=(root, singles, stop, changes), daemon=True)]
    if outside:
        watchers.append(threading.Thread(target=_watch_files, args=(outside, stop, changes), daemon=True))

    def interrupted(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, interrupted)
    console.print(f"watching {1 + len(outside)} locations for changes (Ctrl+C to stop)", style="dim", markup=False)
    for watcher in watchers:
        watcher.start()
    try:
        while not stop.is_set():
            try:
                changed = changes.get(timeout=0.2)
            except queue.Empty:
                continue
            while not changes.empty():  # both watchers saw one save: lint once
                changed |= changes.get_nowait()
            if console.is_terminal:
                console.clear()
            names = sorted({printable_name(path.name) for path in changed})
            console.print(f"changed: {', '.join(names)}; linting again", style="dim", markup=False)
            try:
                run(load_corpus(corpus_obj.root, corpus_obj.manifest_path))
            except AmygdalaError as err:
                # A half-saved manifest or scenario.json: report it and keep watching.
                console.print(f"error: {err}", style="red", markup=False)
    finally:
        stop.set()
        for watcher in watchers:
            watcher.join(timeout=5)
        signal.signal(signal.SIGINT, previous)


def _corpus_file(path: Path, root: Path) -> bool:
    """A file lint reads (a text, a scenario.json), not an editor's temporary or backup file."""
    rel = path.relative_to(root)
    if any(part.startswith(".") for part in rel.parts) or path.name.endswith("~"):
        return False
    return path.suffix in (".txt", ".json")


def _watch_tree(root: Path, singles: set[Path], stop: object, changes: object) -> None:
    import watchfiles

    from toolkit.lint.engine import CACHE_DIR

    # The cache is written next to the corpus or the configuration: its writes must not wake us.
    ignore = watchfiles.DefaultFilter(ignore_dirs=(*watchfiles.DefaultFilter.ignore_dirs, CACHE_DIR.parts[0]))
    for batch in watchfiles.watch(root, watch_filter=ignore, stop_event=stop, raise_interrupt=False):  # type: ignore[arg-type]
        paths = {Path(path) for _, path in batch}
        relevant = {p for p in paths if p in singles or _corpus_file(p, root)}
        if relevant:
            changes.put(relevant)  # type: ignore[attr-defined]


def _watch_files(files: set[Path], stop: object, changes: object) -> None:
    """Watch the folders of ``files`` (not recursively) and report changes to those files only."""
    import watchfiles

    folders = sorted({f.parent for f in files})
    for batch in watchfiles.watch(*folders, recursive=False, stop_event=stop, raise_interrupt=False):  # type: ignore[arg-type]
        relevant = {Path(path) for _, path in batch} & files
        if relevant:
            changes.put(relevant)  # type: ignore[attr-defined]


@command("rule")
def rule_command(
    code: Annotated[str, typer.Argument(help="Rule code (KW001) or name (own-emotion-leak).", show_default=False)],
) -> None:
    """Explain one lint rule, with a bad and a good example."""
    from toolkit.lint import BY_CODE, BY_NAME

    rule = BY_CODE.get(code.upper()) or BY_NAME.get(code.lower())
    if rule is None:
        raise AmygdalaError(f"unknown rule {code!r} (see `amygdala rules`)")
    console.print(f"{rule.code} {rule.name} ({rule.severity}, {rule.scope} rule)", style="bold", markup=False, soft_wrap=True)
    console.print(rule.summary, markup=False, soft_wrap=True)
    console.print()
    console.print(rule.explanation.rstrip(), markup=False, soft_wrap=True)


@command("rules")
def rules_command(
    output_format: Annotated[RulesFormat, typer.Option("--format", help="Output format.")] = RulesFormat.table,
) -> None:
    """List every lint rule: code, name, default severity, summary."""
    from toolkit.lint import RULES

    if output_format is RulesFormat.json:
        rows = [
            {"code": r.code, "name": r.name, "severity": r.severity, "scope": r.scope, "summary": r.summary}
            for r in RULES
        ]
        console.file.write(json.dumps(rows, indent=2) + "\n")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("code", "name", "severity", "summary"):
        table.add_column(column, overflow="fold")
    for r in RULES:
        table.add_row(r.code, r.name, r.severity, r.summary)
    console.print(table)
