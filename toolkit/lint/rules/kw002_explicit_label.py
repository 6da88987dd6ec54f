"""KW002: an explicit emotion label, such as "she felt nervous" or "a wave of sadness"."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import FileContext, Hit, Rule


def check(ctx: FileContext) -> Iterator[Hit]:
    if ctx.analysis is None:
        return
    own = ctx.lexicon.family(ctx.text.concept) if ctx.text.concept else frozenset()
    for label in ctx.analysis.labels:
        if label.emotion.stems & own:
            continue  # KW001 reports the own emotion, once per span
        words = " ".join(ctx.body[label.start_char : label.end_char].split())  # a hard line wrap shown as a space
        yield ctx.span_hit(
            "KW002",
            label.start_char,
            label.end_char,
            f"explicit emotion label {words!r} names {label.emotion.phrase!r}; show it instead",
        )


RULE = Rule(
    code="KW002",
    name="explicit-emotion-label",
    severity="error",
    summary='An explicit emotion label naming any emotion ("she felt nervous", "a wave of sadness").',
    scope="file",
    check=check,
    explanation="""\
Embodied, not labeled: the emotion should come from the details, the timing and the
sentence shape, not from a sentence that names it. The rule looks, on lemmas, for these
constructions followed by any emotion word (every concept's name and keyword family in
the manifest, the forms derived from them, plus a few such as "dread" and "nerves"),
with intensifiers ("so", "a little", "always") and emotion-noun modifiers ("sudden",
"pure", "her") allowed in between:

- a feeling verb: "felt nervous", "feeling anxious" (not when a thing is the subject:
  "the evening felt calmer");
- a copula with a person for subject (a pronoun, a name, a word for a person or a group
  such as "her mother", "the crowd at the gate", "the boy who"): "I was so happy",
  "Mara seemed calm", "he's upset" (not "the water was calm", "Monday was calm");
- an emotion noun frame: "a wave of sadness", "a pang of guilt", "a sigh of relief";
- a filling verb: "filled with dread", "overcome by grief", "shaking with rage";
- a causative: "it made her angry", "the news left the whole street stunned";
- an emotion noun of manner or state: "with grim satisfaction", "was in mourning";
- an emotion noun as the subject of a verb of motion or grip whose object is a person,
  a part of one or a community: "Fear gripped her", "Anger flared in him", "Panic rose
  in her chest", "Terror gripped the village"; and a possessed emotion noun as a
  subject ("Her jealousy was a small hard thing", "Mara's grief filled the kitchen").

A hard line wrap between the words ("she felt" / "nervous") does not hide a label.

Not labels: a frame whose word is an adjective before a noun, the first word of a
compound noun or a noun for people or things ("full of bitter greens", "full of hate
mail", "a wave of patients", "a wave of content"), an idiom ("with ease"); after a
copula, words that are as often physical ("stuck", "safe", "hurt", "exposed",
"relieved"...) followed by a place word, after "badly" or "seriously", or with
"nobody"/"no one"/"everyone" for subject ("nobody was hurt", not "hurt by");
an -ly adverb after a trigger ("looked wistfully at"). A label of the text's own
emotion is KW001's, reported once.

Bad:

    She felt nervous as the results loaded, a wave of dread rising in her chest.

Good:

    She refreshed the page, then refreshed it again, and realised she had been holding
    the same breath since the spinner appeared.
""",
)
