"""CV001: a manifest concept has no text."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import CorpusContext, Hit, Rule


def check(ctx: CorpusContext) -> Iterator[Hit]:
    if not ctx.root_in_scope:
        return
    covered = {t.concept for t in ctx.corpus.texts()}
    for concept in ctx.corpus.manifest.concepts:
        if concept not in covered:
            yield Hit("CV001", "", f"concept {concept!r} has no text (no story and no paired variant)")


RULE = Rule(
    code="CV001",
    name="uncovered-concept",
    severity="info",
    summary="A manifest concept has no text (`amygdala coverage` owns the strict check).",
    scope="corpus",
    check=check,
    explanation="""\
Every concept in the manifest should have at least one text, or the trainer has no
direction for it. This is information while the corpus grows; `amygdala coverage
--require` is the gate. Reported on the corpus folder, and only when the whole corpus is
linted (not for a list of files).

Bad: `manifest.json` lists `wistful`, and neither `stories/wistful.txt` nor any
`paired/*/wistful.txt` exists.

Good: write `stories/wistful.txt`, or remove the concept from the manifest.
""",
)
