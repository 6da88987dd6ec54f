"""SP001: a word that is in no English dictionary, with suggestions."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import FileContext, Hit, Rule


def _checked(token) -> bool:
    """Lowercase words of two or more ASCII letters: a capitalised word may be a name, and a word
    with diacritics is a loanword (papier-mâché, złoty), which an English dictionary cannot judge."""
    text = token.text
    return token.is_alpha and token.is_lower and len(text) > 1 and text.isascii()


def check(ctx: FileContext) -> Iterator[Hit]:
    if ctx.analysis is None:
        return
    from toolkit.lint.spelling import speller

    accepted = ctx.settings.accepted_words()
    words = speller()
    for token in ctx.analysis.doc:
        if not _checked(token):
            continue
        word = token.lower_
        if word in accepted or word in ctx.lexicon.phrases or words.known(word):
            continue
        start = ctx.analysis.body_offset(token.idx)
        end = ctx.analysis.body_offset(token.idx + len(token) - 1) + 1
        suggested = words.suggestions(word)
        hint = f"; did you mean {' or '.join(repr(s) for s in suggested)}?" if suggested else ""
        yield ctx.span_hit(
            "SP001",
            start,
            end,
            f"{token.text!r} is not in the dictionary{hint} (a correct word: add it to the project's word list)",
        )


RULE = Rule(
    code="SP001",
    name="spelling",
    severity="info",
    summary="A word in no English dictionary, with suggestions (names and the project's word list are respected).",
    scope="file",
    check=check,
    explanation="""\
A typo in a text is a typo in the training data. The rule checks every lowercase word
against an English dictionary (pyspellchecker's word list, about 160,000 words, widened
with WordNet's and with British spellings, so "colour" and "realised" are words) and
suggests the most frequent known words one edit away.

Not checked: capitalised words (names such as Okafor or Kwabena, and the first word of
a sentence), words with diacritics (loanwords such as mâché or złoty), the emotion words
of the manifest, and the project's own words. List those in the configuration:

    [tool.amygdala.lint]
    words = ["hoodie", "satnav"]       # inline
    word-list = "spelling.txt"          # or a file, one word a line, # for comments

It is an info by default (it never fails a commit); raise it with
`severity = { SP001 = "warning" }`.

Bad:

    She set the kettle on and recieved the parcel at the door.

Good:

    She set the kettle on and received the parcel at the door.
""",
)
