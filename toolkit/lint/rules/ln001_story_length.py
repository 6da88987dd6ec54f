"""LN001: a story (or a scenario's baseline) is outside the configured word range."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import FileContext, Hit, Rule
from toolkit.lint.textutil import MAX_PARSED_CHARS, count_words, is_binary


def check(ctx: FileContext) -> Iterator[Hit]:
    if len(ctx.body) > MAX_PARSED_CHARS:
        # Any kind, variants too: no other rule can read it, and training would take it whole.
        yield ctx.file_hit(
            "LN001",
            f"{len(ctx.body):,} characters: too long to lint (the limit is {MAX_PARSED_CHARS:,}; a story is one paragraph)",
        )
        return
    if ctx.text.kind == "variant" or not ctx.body.strip() or is_binary(ctx.body):
        return
    low, high = ctx.settings.story_words
    n = count_words(ctx.body)
    if not low <= n <= high:
        side = "short" if n < low else "long"
        yield ctx.file_hit("LN001", f"{n} word{'' if n == 1 else 's'}: too {side} (story-words is {low}–{high})")


RULE = Rule(
    code="LN001",
    name="story-length",
    severity="error",
    summary="Story length outside the configured range (default 40–120 words).",
    scope="file",
    check=check,
    explanation="""\
Stories and paired baselines run roughly one paragraph: 40 to 120 words by default
(`story-words = [40, 120]` in `[tool.amygdala.lint]`). Shorter texts carry too little
texture for a direction to form; longer ones drift into plot. Words are counted as the
trainer and `amygdala stats` count them: runs of non-space characters. Paired variants
are measured against their baseline instead (LN002). A text over 1,000,000 characters (of
any kind) is reported without being parsed, and no other text rule looks at it.

Bad (12 words):

    He checked the oven twice, then the door, then the oven again.

Good (50-odd words):

    He checked the oven twice, then the front door, then the oven again, palm flat
    above each ring though the dials all pointed at zero. In the car he stopped at the
    end of the road, engine running, and tried to picture the knob. It would not come.
    He turned back.
""",
)
