from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from toolkit.cli._app import ConfigOpt, CorpusOpt, ManifestOpt, command, console


@command("concepts")
def concepts_command(
    names: Annotated[Optional[list[str]], typer.Argument(help="Concepts to show (default: all).", show_default=False)] = None,
    corpus: CorpusOpt = None,
    manifest: ManifestOpt = None,
    config: ConfigOpt = None,
) -> None:
    """List the manifest's concepts with cluster, valence and the keyword family a text must avoid."""
    from toolkit.concepts import select_concepts
    from toolkit.config import load_config
    from toolkit.corpus import load_manifest, resolve_locations

    _, manifest_path = resolve_locations(load_config(explicit=config), corpus, manifest)
    selected = select_concepts(load_manifest(manifest_path), names or [], manifest_path)
    table = Table(title=f"{len(selected)} concepts ({manifest_path})")
    for column in ("concept", "cluster", "valence", "words to avoid"):
        table.add_column(column, overflow="fold")
    for name, concept in selected:
        label = f"{name} [dim](extra)[/dim]" if concept.extra else name
        table.add_row(label, concept.cluster, concept.valence, ", ".join(concept.keywords))
    console.print(table)
