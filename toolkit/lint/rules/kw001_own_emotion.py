"""KW001: the text names its own emotion (its name, its keyword family, or a form of either)."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import FileContext, Hit, Rule


def check(ctx: FileContext) -> Iterator[Hit]:
    concept = ctx.text.concept
    if concept is None or ctx.analysis is None:
        return
    family = ctx.lexicon.family(concept)
    covered_until = -1
    for span in ctx.analysis.emotions:
        if not span.stems & family or span.start_char < covered_until:
            continue
        longest = max(
            (s for s in ctx.analysis.emotions if s.start == span.start and s.stems & family),
            key=lambda s: s.end,
        )
        covered_until = longest.end_char
        word = ctx.body[longest.start_char : longest.end_char]
        stem = min(longest.stems & family, key=lambda s: (s != longest.phrase, len(s), s))
        what = "the name" if stem.replace(" ", "_").replace("-", "_") == concept else "in the keyword family"
        form = "" if word.lower() == stem else f", a form of {stem!r}"
        yield ctx.span_hit(
            "KW001",
            longest.start_char,
            longest.end_char,
            f"{word!r} leaks the text's own emotion: {what} of {concept!r}{form}",
        )


RULE = Rule(
    code="KW001",
    name="own-emotion-leak",
    severity="error",
    summary="The text's own emotion leaks: its name, its keyword family, or a form derived from them.",
    scope="file",
    check=check,
    explanation="""\
The concept is the file's name (`stories/furious.txt`, `paired/<scenario>/furious.txt`).
If the text contains that word, the steering vector can learn the keyword instead of the
emotion. The rule matches, case-insensitively and on whole words, the concept's name and
every member of its keyword family in `manifest.json`, their inflections through
lemmas ("lonelier" for lonely, "raged" for rage), and the forms derived from them by
English word formation: -ly adverbs ("warily" for wary), -ness nouns ("shyness"), -ful
and -less adjectives and their stacks ("fearless", "fearlessly" for fear), British and
American spellings ("galvanised" for galvanized), and hyphenated compounds, reported
whole ("rage-filled"). Derivations the rules cannot make, such as "fury" for furious,
come from the manifest's family, which lists them. Multi-word entries ("at ease", "fed
up") match as phrases. Every occurrence counts, whatever its sense: "the wall safe" in
`safe.txt` still puts the token "safe" in the sample. A label of the own emotion ("she
felt furious" in `furious.txt`) is reported here once, not also as KW002.

Bad (`stories/furious.txt`):

    The fury came up through his chest when he saw the ticket.

Good:

    He held the pawn ticket up between them, and his voice came out very low and very
    even, which was worse than shouting.
""",
)
