"""ST006: a file or folder name is not a lowercase_underscore slug."""

from __future__ import annotations

import re
from typing import Iterator

from schemas.common import SLUG_PATTERN
from toolkit.lint.model import CorpusContext, Hit, Rule

_SLUG = re.compile(SLUG_PATTERN)
# Names inside stories/<concept>/ may start with a digit ("01_night_bus.txt").
_STORY_NAME = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")


def _names(ctx: CorpusContext) -> Iterator[tuple[str, str, re.Pattern[str]]]:
    """(path, name, pattern) for every named thing: folders once, files by stem."""
    seen: set[str] = set()
    for text in ctx.corpus.texts():
        parts = text.rel.split("/")
        folders = ["/".join(parts[: i + 1]) for i in range(1, len(parts) - 1)]
        for folder in folders:
            if folder not in seen:
                seen.add(folder)
                yield folder, folder.rsplit("/", 1)[-1], _SLUG
        stem = parts[-1][: -len(".txt")]
        nested_story = text.kind == "story" and len(parts) == 3
        yield text.rel, stem, _STORY_NAME if nested_story else _SLUG
    for scenario in ctx.corpus.scenarios:
        rel = scenario.path.relative_to(ctx.corpus.root).as_posix()
        if rel not in seen:
            yield rel, scenario.slug, _SLUG


def check(ctx: CorpusContext) -> Iterator[Hit]:
    for rel, name, pattern in _names(ctx):
        if not pattern.match(name) and ctx.in_scope(rel):
            slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
            hint = f"; rename to {slug!r}" if slug and pattern.match(slug) else ""
            yield Hit("ST006", rel, f"{name!r} is not a lowercase_underscore slug{hint}")


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
Folder findings are reported on the folder.

Bad:

    stories/On-Edge.txt
    paired/The Green Build/proud.txt

Good:

    stories/on_edge.txt
    paired/the_green_build/proud.txt
""",
)
