"""CV001: concepts of the manifest have no text yet: one "what to write next" finding for the corpus."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import CorpusContext, Hit, Rule

def texts_per_concept(ctx: CorpusContext) -> dict[str, int]:
    """Non-empty texts per concept (an empty file, as `amygdala new` creates it, covers nothing)."""
    counts: dict[str, int] = {}
    for text in ctx.corpus.texts():
        if text.concept is not None and ctx.words.get(text.rel, 0) > 0:
            counts[text.concept] = counts.get(text.concept, 0) + 1
    return counts


def check(ctx: CorpusContext) -> Iterator[Hit]:
    if not ctx.root_in_scope:
        return
    from toolkit.coverage import write_next, write_next_line

    summary = write_next(ctx.corpus.manifest, texts_per_concept(ctx))
    # One finding for the whole corpus: a young corpus would otherwise print a line per cluster
    # (or per concept), on every run and every save.
    if summary.with_text < summary.concepts:
        yield Hit("CV001", "", write_next_line(summary))


RULE = Rule(
    code="CV001",
    name="uncovered-concept",
    severity="info",
    summary="What to write next: the concepts without a text, per cluster, in one finding (`amygdala coverage` owns the gate).",
    scope="corpus",
    check=check,
    explanation="""\
Every concept in the manifest should have at least one text, or the trainer has no
direction for it. This is information while the corpus grows; `amygdala coverage
--require` (or `require` in the coverage table of the configuration) is the gate. One
finding on the corpus folder says what to write next: for each cluster still missing
concepts, how many have a text and the first few without one. The full list, per cluster
(and, once every concept has a text, the thinnest ones), is printed after the findings and
is `write_next` in `--format json`. Reported only when the whole corpus is linted (not for a
list of files). An empty file covers nothing.

Bad: `manifest.json` lists `wistful`, and no `stories/wistful/*.txt` and no
`paired/*/wistful.txt` has any text.

Good: write `stories/wistful/01.txt`, or remove the concept from the manifest.
""",
)
