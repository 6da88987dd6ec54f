"""ST004: a file (or story folder) name is not a concept in the manifest."""

from __future__ import annotations

import difflib
from typing import Iterator

from toolkit.authoring import slugify
from toolkit.lint.model import CorpusContext, Hit, Rule
from toolkit.lint.textutil import printable_name


def closest_concepts(name: str, ctx: CorpusContext) -> list[str]:
    """The concept the name spells differently, belongs to the family of, or is closest to.

    ST006 renames a concept-named file to the same concept, so the two never disagree.
    """
    concepts = ctx.corpus.manifest.concepts
    normalized = slugify(name)
    if normalized in concepts:
        return [normalized]
    as_words = normalized.replace("_", " ")
    close = [c for c in sorted(concepts) if as_words in ctx.lexicon.families[c]][:2]
    if not close and "_" in normalized:
        # "Furious Story": a concept name plus a description of the story.
        close = [word for word in normalized.split("_") if word in concepts][:1]
    return close or difflib.get_close_matches(normalized, sorted(concepts), n=1, cutoff=0.6)


def _suggestion(name: str, ctx: CorpusContext) -> str:
    close = closest_concepts(name, ctx)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def check(ctx: CorpusContext) -> Iterator[Hit]:
    manifest = ctx.corpus.manifest_path.name
    reported_folders: set[str] = set()
    texts = [*ctx.corpus.stories, *(v for s in ctx.corpus.scenarios for v in s.variants)]
    for text in texts:
        if text.concept is None or text.concept in ctx.corpus.manifest.concepts:
            continue
        if slugify(text.concept) in ctx.corpus.manifest.concepts:
            continue  # a concept spelled as no slug ("On-Edge"): ST006 renames it, one finding
        parts = text.rel.split("/")
        where = "/".join(parts[:2]) if text.kind == "story" and len(parts) == 3 else text.rel
        if where in reported_folders or not ctx.in_scope(where):
            continue
        reported_folders.add(where)
        yield Hit("ST004", where, f"{printable_name(text.concept)!r} is not a concept in {manifest}{_suggestion(text.concept, ctx)}")


RULE = Rule(
    code="ST004",
    name="unknown-concept",
    severity="error",
    summary="File name is not a concept in the manifest (suggests the closest).",
    scope="corpus",
    check=check,
    explanation="""\
A text's concept is its file name (`stories/<concept>.txt`, `paired/<scenario>/<concept>.txt`)
or, for several stories of one concept, its folder (`stories/<concept>/<any>.txt`). A name
the manifest does not list trains a concept nobody asked for, and usually is a typo or a
spelling variant. The finding suggests the closest concept.

Bad:

    stories/fury.txt          (not a concept; did you mean 'furious'?)
    paired/the_comment/angry_at_him.txt

Good:

    stories/furious.txt
    paired/the_comment/angry.txt
""",
)
