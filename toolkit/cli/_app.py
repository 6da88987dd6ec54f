"""The typer application and the decorator every command registers through.

Commands import heavy libraries (spaCy, torch) inside their bodies so that
``amygdala --help`` and a fully cached lint run stay fast.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import traceback
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from rich.console import Console
from typer.core import TyperOption

from toolkit import __version__
from base.errors import AmygdalaError

app = typer.Typer(
    name="amygdala",
    help="Author, lint and train on a hand-written corpus of emotion stories.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _flag_type(display: Callable[[TyperOption, Any], str | None]) -> Callable[[TyperOption, Any], str | None]:
    """Typer's help shows ``<bool>`` after every flag (``--watch -w <bool>``), as if it took a value;
    a flag takes none, so its type column is left empty."""

    @functools.wraps(display)
    def shown(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else display(self, ctx)

    return shown


TyperOption.display_type_rich = _flag_type(TyperOption.display_type_rich)  # type: ignore[method-assign]

console = Console(highlight=False)
# soft_wrap keeps an error on one line when stderr is a pipe (CI logs, pre-commit).
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

CorpusOpt = Annotated[
    Optional[Path],
    typer.Option("--corpus", help="Corpus folder (default: \\[tool.amygdala] corpus, then ./amygdala_stories).", show_default=False),
]
ManifestOpt = Annotated[
    Optional[Path],
    typer.Option("--manifest", help="manifest.json (default: config, then <corpus>/manifest.json, then ./manifest.json).", show_default=False),
]
ConfigOpt = Annotated[
    Optional[Path],
    typer.Option("--config", help="pyproject.toml to read \\[tool.amygdala] from (default: the nearest one above the working directory).", show_default=False),
]


DEBUG_ENV = "AMYGDALA_DEBUG"
_debug = {"on": False}


def debugging() -> bool:
    """``--debug`` was given or AMYGDALA_DEBUG is set (to anything but empty or 0)."""
    return _debug["on"] or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def report_error(err: AmygdalaError) -> None:
    """The one-line ``error: ...`` on stderr; with debugging on, the full traceback (causes included) first."""
    if debugging():
        err_console.print("".join(traceback.format_exception(err)), markup=False, highlight=False, end="")
    err_console.print(f"error: {err}", markup=False)


# The import names of the `train` extra's packages that the trainer imports.
TRAINING_MODULES = ("torch", "transformers", "safetensors", "gguf", "sklearn", "matplotlib", "jinja2")
TRAINING_INSTALL = "pip install 'amygdala[train]'"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require_training_extras() -> None:
    """Fail in one line, before any work, when the training extras are not installed."""
    missing = [m for m in TRAINING_MODULES if not _installed(m)]
    if missing:
        raise AmygdalaError(f"this command needs the training extras ({', '.join(missing)} not installed): {TRAINING_INSTALL}")


def command(
    *args: Any, target: typer.Typer | None = None, training: bool = False, **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a command (on ``target``, default the root app) whose AmygdalaError becomes
    ``error: ...`` on stderr and exit code 2; ``training`` commands first check the extras."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def guarded(*a: Any, **k: Any) -> Any:
            try:
                if training:
                    require_training_extras()
                return fn(*a, **k)
            except AmygdalaError as err:
                report_error(err)
                raise typer.Exit(2) from None

        (target or app).command(*args, **kwargs)(guarded)
        return fn

    return register


def _version(value: bool) -> None:
    if value:
        console.print(f"amygdala {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help=f"On an error, print the full traceback before the one-line message (also {DEBUG_ENV}=1).")
    ] = False,
) -> None:
    """Author, lint and train on a hand-written corpus of emotion stories."""
    _debug["on"] = debug


def open_corpus_from_options(corpus: Path | None, manifest: Path | None, config: Path | None):
    """The configuration and the corpus named by the common options."""
    from toolkit.config import load_config
    from toolkit.corpus import open_corpus

    cfg = load_config(explicit=config)
    return cfg, open_corpus(cfg, corpus, manifest)
