"""``amygdala init``: start a writer's project (corpus, manifest and its schema, configuration)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli._app import command, console
from toolkit.cli.new_cmd import shown


@command("init")
def init_command(
    folder: Annotated[Path, typer.Argument(help="The project folder (created if missing).")] = Path("."),
) -> None:
    """Write a starter corpus with one example story, the bundled manifest with its JSON Schema
    beside it, the configuration (\\[tool.amygdala] in an existing pyproject.toml, else
    amygdala.toml) and a requirements.txt for CI. Never overwrites: an existing file stops it
    before anything is written (an existing requirements.txt is left as it is)."""
    from toolkit.starter import init_project

    starter = init_project(folder)
    for path in starter.written:
        console.print(f"wrote {shown(path)}", markup=False)
    if any(p.name == "requirements.txt" for p in starter.written) and starter.requirement is None:
        console.print(
            "note: requirements.txt (for CI, docs/ci.md) cannot name this amygdala, installed from a local "
            "folder; put a requirement CI can install in it before you push the workflow",
            markup=False,
        )
    console.print(
        "next: `amygdala lint` checks the corpus, `amygdala new story CONCEPT` starts a story, "
        "`amygdala concepts` lists the manifest's concepts",
        markup=False,
    )
