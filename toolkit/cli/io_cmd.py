from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli._app import ConfigOpt, CorpusOpt, ManifestOpt, command, console, open_corpus_from_options


@command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A JSONL file, one object per text.", show_default=False)],
    text_field: Annotated[str, typer.Option("--text-field", help="Field holding the text (a dotted name reaches into objects).")] = "text",
    concept_field: Annotated[str, typer.Option("--concept-field", help="Field holding the concept, e.g. emotion.")] = "concept",
    include_unknown: Annotated[
        bool,
        typer.Option("--include-unknown", help="Also import concepts missing from the manifest (lint reports them as ST004)."),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would be written; write nothing.")] = False,
    corpus: CorpusOpt = None,
    manifest: ManifestOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Bring texts from a JSONL file into the corpus, never overwriting.

    Stories go to stories/<concept>/<n>.txt, numbered on from the highest number there (or to the record's free `path`).

    Records with `kind` baseline or variant and a `scenario` go to paired/<scenario>/.

    Concept names become slugs ("Grief-stricken" -> grief_stricken); concepts missing from the manifest are skipped.

    Texts the corpus already holds are reported, not duplicated. A malformed line stops the import, writing nothing.
    """
    from toolkit.config import load_config
    from toolkit.corpus import resolve_locations
    from toolkit.interchange import apply_import, corpus_for_import, plan_import, read_jsonl

    records = read_jsonl(file, text_field, concept_field)
    root, manifest_path = resolve_locations(load_config(explicit=config), corpus, manifest)
    target = corpus_for_import(root, manifest_path)
    plan = plan_import(target, records, include_unknown=include_unknown)
    if not dry_run:
        apply_import(plan)
    verb = "would import" if dry_run else "imported"
    kinds = Counter(record.kind for _, record in plan.writes)
    plural = {"story": "stories", "baseline": "baselines", "variant": "variants"}
    detail = ", ".join(f"{kinds[kind]} {kind if kinds[kind] == 1 else plural[kind]}" for kind in plural if kinds[kind])
    concepts = {record.concept for _, record in plan.writes if record.concept}
    console.print(
        f"{verb} {len(plan.writes)} of {len(records)} texts into {target.root}"
        + (f" ({detail}; {len(concepts)} concepts)" if plan.writes else "")
    )
    if plan.present:
        console.print(f"already present: {len(plan.present)} (e.g. {plan.present[0][1]})")
    if plan.unknown:
        described = []
        for name, count in sorted(plan.unknown.items()):
            hint = plan.suggestions.get(name)
            described.append(f"{name} ({count}{f'; did you mean {hint!r}?' if hint else ''})")
        console.print(
            f"[yellow]skipped {sum(plan.unknown.values())} texts of concepts not in the manifest[/yellow] "
            f"(--include-unknown imports them): {', '.join(described)}"
        )


@command("export")
def export_command(
    out: Annotated[str, typer.Option("--out", help="File to write, or - for standard output.")] = "-",
    corpus: CorpusOpt = None,
    manifest: ManifestOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write every text as JSONL: text, concept, cluster, kind, scenario, path (`amygdala import` reads it back)."""
    from toolkit.interchange import export_records, to_jsonl
    from base.jsonio import atomic_write_text

    _, loaded = open_corpus_from_options(corpus, manifest, config)
    records = export_records(loaded)
    if out == "-":
        sys.stdout.write(to_jsonl(records))
        return
    atomic_write_text(Path(out), to_jsonl(records))
    console.print(f"wrote {len(records)} texts to {out}")
