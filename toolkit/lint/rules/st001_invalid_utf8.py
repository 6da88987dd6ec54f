"""ST001: the file is not valid UTF-8 text (undecodable bytes, or NUL bytes of a binary file)."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import FileContext, Hit, Rule
from toolkit.lint.textutil import invalid_utf8_position, is_binary


def check(ctx: FileContext) -> Iterator[Hit]:
    if ctx.text.text is None:
        line, column = invalid_utf8_position(ctx.text.raw)
        yield Hit("ST001", ctx.text.rel, "not valid UTF-8 (first bad byte here); re-save the file as UTF-8", line, column)
    elif is_binary(ctx.body):
        line, column = ctx.locator.at(ctx.body.index("\0"))
        yield Hit("ST001", ctx.text.rel, "NUL byte: a binary file, not text; save the story as plain UTF-8 text", line, column)


RULE = Rule(
    code="ST001",
    name="invalid-utf8",
    severity="error",
    summary="File is not valid UTF-8 text (bad bytes, or NUL bytes of a binary file).",
    scope="file",
    check=check,
    explanation="""\
Every text is read as UTF-8, the encoding the tokenizer and the trainer expect. A file
saved as Latin-1 or Windows-1252 cannot be decoded, so no other rule can look at it and
the trainer would refuse it. The finding points at the first byte that does not decode.
A file holding NUL bytes (a word-processor document, an image renamed to `.txt`) may decode,
but it is not text: it is reported at the first NUL, and no other text rule reads it.

Bad (saved as Windows-1252, the curly quote is byte 0x92):

    She didn<0x92>t look up from the ledger.

Good (the same sentence saved as UTF-8):

    She didn’t look up from the ledger.
""",
)
