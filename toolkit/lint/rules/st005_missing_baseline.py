"""ST005: a paired scenario folder without baseline.txt."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import CorpusContext, Hit, Rule


def check(ctx: CorpusContext) -> Iterator[Hit]:
    for scenario in ctx.corpus.scenarios:
        rel = scenario.path.relative_to(ctx.corpus.root).as_posix()
        if scenario.baseline is None and ctx.in_scope(rel):
            yield Hit("ST005", rel, f"scenario {scenario.slug!r} has no baseline.txt; its variants have nothing to pair with")


RULE = Rule(
    code="ST005",
    name="missing-baseline",
    severity="error",
    summary="Paired scenario folder without baseline.txt.",
    scope="corpus",
    check=check,
    explanation="""\
A paired scenario tells one event neutrally in `baseline.txt` and again under each
emotion; the trainer subtracts the baseline from each variant, and LN002 and AN002
measure variants against it. Without it the variants are unpaired stories in the wrong
folder. The finding is reported on the folder.

Bad:

    paired/the_doorway/grateful.txt
    paired/the_doorway/loving.txt

Good:

    paired/the_doorway/baseline.txt
    paired/the_doorway/grateful.txt
    paired/the_doorway/loving.txt
""",
)
