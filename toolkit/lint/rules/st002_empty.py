"""ST002: the file is empty or holds only whitespace."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import FileContext, Hit, Rule


def check(ctx: FileContext) -> Iterator[Hit]:
    if ctx.text.text is not None and not ctx.body.strip():
        yield ctx.file_hit("ST002", "empty file" if not ctx.body else "file holds only whitespace")


RULE = Rule(
    code="ST002",
    name="empty-text",
    severity="error",
    summary="File is empty or whitespace-only.",
    scope="file",
    check=check,
    explanation="""\
An empty text still counts as a story (or a paired telling) of its concept, so it would
enter training as a sample with no content. Write the text or delete the file.

Bad (`stories/wistful.txt`):

    (nothing, or only blank lines)

Good:

    The bus timetable taped inside the shelter still listed the 41, which had stopped
    running the year the mill closed. Ines read it twice anyway.
""",
)
