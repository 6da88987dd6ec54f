"""ST006: a file or folder name is not a lowercase_underscore slug."""

from __future__ import annotations

import re
from typing import Iterator

from schemas.common import SLUG_PATTERN
from toolkit.authoring import slugify
from toolkit.lint.model import CorpusContext, Hit, Rule
from toolkit.lint.rules.st004_unknown_concept import closest_concepts
from toolkit.lint.textutil import printable_name

_SLUG = re.compile(SLUG_PATTERN)
# Names inside stories/<concept>/ may start with a digit ("01_night_bus.txt").
_STORY_NAME = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")


def _names(ctx: CorpusContext) -> Iterator[tuple[str, str, re.Pattern[str], bool]]:
    """(path, name, pattern, names a concept) for every named thing: folders once, files by stem."""
    seen: set[str] = set()
    for text in ctx.corpus.texts():
        parts = text.rel.split("/")
        nested_story = text.kind == "story" and len(parts) == 3
        folders = ["/".join(parts[: i + 1]) for i in range(1, len(parts) - 1)]
        for folder in folders:
            if folder not in seen:
                seen.add(folder)
                yield folder, folder.rsplit("/", 1)[-1], _SLUG, nested_story
        stem = parts[-1][: -len(".txt")]
        yield text.rel, stem, _STORY_NAME if nested_story else _SLUG, text.concept is not None and not nested_story
    for scenario in ctx.corpus.scenarios:
        rel = scenario.path.relative_to(ctx.corpus.root).as_posix()
        if rel not in seen:
            yield rel, scenario.slug, _SLUG, False


def _rename(name: str, pattern: re.Pattern[str], names_concept: bool, ctx: CorpusContext) -> str | None:
    """The name to use instead: the concept ST004 suggests where the name is a concept, else its slug."""
    if names_concept:
        close = closest_concepts(name, ctx)
        if len(close) == 1:
            return close[0]
    slug = slugify(name)
    return slug if slug and pattern.match(slug) else None


def check(ctx: CorpusContext) -> Iterator[Hit]:
    for rel, name, pattern, names_concept in _names(ctx):
        if pattern.match(name) or not ctx.in_scope(rel):
            continue
        rename = _rename(name, pattern, names_concept, ctx)
        hint = f"; rename to {rename!r}" if rename else ""
        shown = printable_name(name)
        # The scan hands the bytes of a name that is not UTF-8 over as lone surrogates.
        problem = "is not a lowercase_underscore slug" if shown == name else "is not valid UTF-8"
        yield Hit("ST006", rel, f"{shown!r} {problem}{hint}")


RULE = Rule(
    code="ST006",
    name="slug-name",
    severity="error",
    summary="File or folder name is not a lowercase_underscore slug.",
    scope="corpus",
    check=check,
    explanation="""\
Concept and scenario names are slugs: lowercase letters and digits joined by single
underscores, starting with a letter (`on_edge`, `grief_stricken`, `the_green_build`). The
manifest uses the same names, and other tools (coverage, training, triage) refer to texts
by them. Story files inside a concept folder may start with a digit (`01_night_bus.txt`).
Folder findings are reported on the folder. Where the name stands for a concept, the
suggested rename is the concept ST004 suggests (`Furious Story.txt` -> `furious.txt`). A name
that is not valid UTF-8 (written by another system's encoding) is reported here too; lint
goes on with the other files.

Bad:

    stories/On-Edge.txt
    paired/The Green Build/proud.txt

Good:

    stories/on_edge.txt
    paired/the_green_build/proud.txt
""",
)
