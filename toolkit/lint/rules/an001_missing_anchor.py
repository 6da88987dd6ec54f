"""AN001: a telling omits an anchor declared in its scenario.json."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import CorpusContext, Hit, Rule, scenario_texts


def contains(tokens: list[str], phrase: list[str]) -> bool:
    """Whether ``phrase`` occurs as a contiguous run of ``tokens``."""
    n = len(phrase)
    if n == 0:
        return True
    first = phrase[0]
    return any(tokens[i : i + n] == phrase for i, token in enumerate(tokens) if token == first)


def check(ctx: CorpusContext) -> Iterator[Hit]:
    for scenario in ctx.corpus.scenarios:
        if scenario.spec is None or not scenario.spec.anchors or scenario.spec_path is None:
            continue
        spec_rel = scenario.spec_path.relative_to(ctx.corpus.root).as_posix()
        for text in scenario_texts(scenario):
            lemmas = ctx.lemmas.get(text.rel)
            if lemmas is None or not ctx.in_scope(text.rel):
                continue
            for anchor, anchor_lemmas in zip(scenario.spec.anchors, ctx.anchors.get(scenario.slug, [])):
                if not contains(lemmas, anchor_lemmas):
                    yield Hit(
                        "AN001",
                        text.rel,
                        f"omits the anchor {anchor!r} declared in scenario.json",
                        related=(spec_rel,),
                    )


RULE = Rule(
    code="AN001",
    name="missing-anchor",
    severity="error",
    summary="A telling omits an anchor declared in its scenario.json (inflected forms count).",
    scope="corpus",
    check=check,
    explanation="""\
`paired/<scenario>/scenario.json` may declare `anchors`: the names and objects every
telling (baseline and variants) must keep, so that only the emotion differs between them.
An anchor matches on lemmas, case-insensitively, as a phrase; plural and inflected forms
count ("the back rows" keeps "back row"), and a leading article is optional.

Bad (`scenario.json` declares `["Kwabena", "terrier", "sandwich"]`):

    A small dog ran off with his lunch and dropped it in the wet sand.

Good:

    The terrier ran off with Kwabena's sandwich and dropped it in the wet sand.
""",
)
