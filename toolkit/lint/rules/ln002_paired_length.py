"""LN002: a paired variant's length is outside the tolerance around its baseline's."""

from __future__ import annotations

import math
from typing import Iterator

from toolkit.lint.model import CorpusContext, Hit, Rule


def check(ctx: CorpusContext) -> Iterator[Hit]:
    tolerance = ctx.settings.paired_tolerance
    for scenario in ctx.corpus.scenarios:
        baseline = scenario.baseline
        if baseline is None or not ctx.words.get(baseline.rel):
            continue
        target = ctx.words[baseline.rel]
        low, high = math.ceil(target * (1 - tolerance)), math.floor(target * (1 + tolerance))
        for variant in scenario.variants:
            n = ctx.words.get(variant.rel)
            if n and not low <= n <= high and ctx.in_scope(variant.rel):
                yield Hit(
                    "LN002",
                    variant.rel,
                    f"{n} words; baseline.txt has {target}, so a variant runs {low}–{high} (±{tolerance:.0%})",
                    related=(baseline.rel,),
                )


RULE = Rule(
    code="LN002",
    name="paired-length",
    severity="error",
    summary="Paired variant outside ±20% of its baseline's word count (configurable).",
    scope="corpus",
    check=check,
    explanation="""\
Within a scenario only the emotional colouring should vary. If the furious telling runs
twice as long as the baseline, length becomes part of the difference the trainer learns.
Each variant stays within ±20% of its baseline's word count (`paired-tolerance = 0.2` in
`[tool.amygdala.lint]`); sentence shape may change, the size may not. Words are counted
as LN001 counts them. Empty variants are ST002's.

Bad (baseline 80 words):

    paired/the_comment/furious.txt    131 words

Good:

    paired/the_comment/furious.txt     88 words (allowed 64–96)
""",
)
