"""AN002: a name or object the baseline leans on is missing from a variant."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import CorpusContext, Hit, Rule


def check(ctx: CorpusContext) -> Iterator[Hit]:
    for scenario in ctx.corpus.scenarios:
        declared = scenario.spec is not None and bool(scenario.spec.anchors)
        baseline = scenario.baseline
        if declared or baseline is None or not ctx.leaned.get(baseline.rel):
            continue
        terms = ctx.leaned[baseline.rel]
        for variant in scenario.variants:
            lemmas = ctx.lemmas.get(variant.rel)
            if lemmas is None or not ctx.in_scope(variant.rel):
                continue
            present = set(lemmas)
            running = f" {' '.join(lemmas)} "
            missing = [shown for shown, lemma in terms if (f" {lemma} " not in running if " " in lemma else lemma not in present)]
            if missing:
                listed = ", ".join(repr(m) for m in missing)
                yield Hit(
                    "AN002",
                    variant.rel,
                    f"never mentions {listed}, which the baseline leans on; keep them, or declare the anchors in scenario.json",
                    related=(baseline.rel,),
                )


RULE = Rule(
    code="AN002",
    name="baseline-term-missing",
    severity="warning",
    summary="A name or object the baseline leans on (proper names, repeated \"the X\") is missing from a variant.",
    scope="corpus",
    check=check,
    explanation="""\
When a scenario declares no anchors (AN001), this rule guesses them: the proper names in
the baseline (capitalised words not at the start of a sentence; "Mrs Okafor" is one name) and the nouns it repeats
after "the" (the last word of "the old letter" counts as "letter"). A variant that never
mentions one of them has probably changed the event, not just its colouring. Matching is
on lemmas, so "letters" keeps "the letter". Declaring anchors in `scenario.json` replaces
the guess.

Bad (the baseline mentions Mara twice and "the letter" twice):

    She found an envelope in the drawer and did not open it.

Good:

    Mara found the letter in the drawer and did not open it.
""",
)
