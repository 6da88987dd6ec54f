"""ST003: the text has more than one paragraph."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import FileContext, Hit, Rule
from toolkit.lint.textutil import paragraph_starts


def check(ctx: FileContext) -> Iterator[Hit]:
    starts = paragraph_starts(ctx.body)
    if starts:
        line, column = ctx.locator.at(starts[0])
        yield Hit(
            "ST003",
            ctx.text.rel,
            f"{len(starts) + 1} paragraphs; a text is one paragraph (join them or cut the rest)",
            line,
            column,
        )


RULE = Rule(
    code="ST003",
    name="multiple-paragraphs",
    severity="error",
    summary="More than one paragraph.",
    scope="file",
    check=check,
    explanation="""\
A text is one paragraph about one emotion: long enough for texture, short enough that
it is about the emotion and nothing else. A blank line starts a second paragraph, which
usually means a second scene or a coda that explains the feeling. Line breaks inside a
paragraph (hard wrapping) are fine. The finding points at the second paragraph.

Bad:

    The kettle clicked off and nobody moved to pour it.

    Later, she would understand that this was the moment she knew.

Good:

    The kettle clicked off and nobody moved to pour it. Steam crawled up the
    window and hung there.
""",
)
