"""ST007: a file or folder the corpus layout does not use."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import CorpusContext, Hit, Rule


def check(ctx: CorpusContext) -> Iterator[Hit]:
    for rel in ctx.corpus.stray:
        if any(part.startswith(".") for part in rel.split("/")) or not ctx.in_scope(rel):
            continue
        kind = "folder" if (ctx.corpus.root / rel).is_dir() else "file"
        yield Hit("ST007", rel, f"{kind} is not part of the corpus layout and is ignored by lint and training")


RULE = Rule(
    code="ST007",
    name="unexpected-entry",
    severity="warning",
    summary="File or folder that the corpus layout does not use (ignored by training).",
    scope="corpus",
    check=check,
    explanation="""\
Only `stories/<concept>.txt`, `stories/<concept>/<name>.txt`, and `paired/<scenario>/`
holding `baseline.txt`, `<concept>.txt` and an optional `scenario.json` are read. Anything
else under `stories/` or `paired/` (a `.md` note, a `.TXT` file, a folder nested one level
too deep) is silently skipped by training, which is rarely what the author meant. Hidden
files (starting with a dot) are not reported.

Bad:

    stories/furious.md
    paired/the_comment/drafts/bitter.txt

Good:

    stories/furious.txt
    paired/the_comment/bitter.txt
""",
)
