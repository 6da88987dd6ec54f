"""DU001: two texts are near-duplicates."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.dedup import candidate_pairs, jaccard, shingles
from toolkit.lint.model import CorpusContext, Hit, Rule


def near_duplicates(ctx: CorpusContext) -> list[list]:
    """Every pair at or above the threshold in the whole corpus: ``[a, b, similarity]``."""
    threshold = ctx.settings.duplicate_threshold
    bodies = {t.rel: t.text or "" for t in ctx.corpus.texts()}
    grams: dict[str, set[str]] = {}

    def grams_of(rel: str) -> set[str]:
        if rel not in grams:
            grams[rel] = shingles(bodies[rel])
        return grams[rel]

    out = []
    for a, b in candidate_pairs(ctx.bands):
        similarity = round(jaccard(grams_of(a), grams_of(b)), 4)
        if similarity >= threshold:
            out.append([a, b, similarity])
    return out


def check(ctx: CorpusContext) -> Iterator[Hit]:
    threshold = ctx.settings.duplicate_threshold
    for a, b, similarity in ctx.remember("DU001", lambda: near_duplicates(ctx)):
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
