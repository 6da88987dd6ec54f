"""DU001: two texts are near-duplicates."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.dedup import candidate_pairs, jaccard, pairs_with, shingles
from toolkit.lint.model import CorpusContext, Hit, Rule


def near_duplicates(ctx: CorpusContext, selected: set[str] | None = None) -> list[list]:
    """Every pair at or above the threshold: ``[a, b, similarity]``; with ``selected``, only the
    pairs that involve one of those texts."""
    threshold = ctx.settings.duplicate_threshold
    texts = {t.rel: t for t in ctx.corpus.texts()}
    grams: dict[str, set[str]] = {}

    def grams_of(rel: str) -> set[str]:
        if rel not in grams:
            grams[rel] = shingles(texts[rel].text or "")
        return grams[rel]

    out = []
    pairs = candidate_pairs(ctx.bands) if selected is None else pairs_with(ctx.bands, selected)
    for a, b in pairs:
        similarity = round(jaccard(grams_of(a), grams_of(b)), 4)
        if similarity >= threshold:
            out.append([a, b, similarity])
    return out


def check(ctx: CorpusContext) -> Iterator[Hit]:
    threshold = ctx.settings.duplicate_threshold
    if ctx.root_in_scope:
        found = ctx.remember("DU001", lambda: near_duplicates(ctx))
    else:
        # A few files (the editor's buffer on every keystroke): pair only those, not the corpus.
        found = near_duplicates(ctx, {rel for rel in ctx.bands if ctx.in_scope(rel)})
    for a, b, similarity in found:
        for this, other in ((a, b), (b, a)):
            if ctx.in_scope(this):
                yield Hit(
                    "DU001",
                    this,
                    f"near-duplicate of {other} ({similarity:.0%} of word pairs shared; duplicate-threshold is {threshold:.0%})",
                    related=(other,),
                )


RULE = Rule(
    code="DU001",
    name="near-duplicate",
    severity="error",
    summary="Two texts are near-duplicates (names the pair and how similar).",
    scope="corpus",
    check=check,
    explanation="""\
A copied story with a few words changed counts twice in training and pulls its concept's
direction toward one scene. Similarity is the Jaccard index of the two texts' sets of
word pairs (bigrams, lowercase); a pair at or above `duplicate-threshold` (0.8 by default)
is reported on both files, each naming the other. Candidates are found with MinHash
locality-sensitive hashing, so the check stays fast on large corpora; a pair right at the
threshold is found 99.5% of the time, a pair further above it all but surely.

Bad (`stories/sad.txt` and `stories/sad/kitchen.txt`):

    The kettle clicked off and nobody moved to pour it.
    The kettle clicked off and nobody moved to pour the tea.

Good: two different scenes, or one text.
""",
)
