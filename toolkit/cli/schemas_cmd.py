from __future__ import annotations

from typing import Annotated

import typer

from toolkit.cli._app import command, console, err_console


@command("schemas")
def schemas_command(
    check: Annotated[bool, typer.Option("--check", help="Only report stale schema files; exit 1 if any.")] = False,
) -> None:
    """Export the JSON Schemas of every file amygdala reads or writes to schemas/json/."""
    from schemas.export import SCHEMA_DIR, export, stale

    if check:
        names = stale()
        for name in names:
            err_console.print(f"stale: {SCHEMA_DIR / name}")
        if names:
            raise typer.Exit(1)
        console.print("schemas are current")
        return
    for name in export():
        console.print(f"wrote {SCHEMA_DIR / name}")
