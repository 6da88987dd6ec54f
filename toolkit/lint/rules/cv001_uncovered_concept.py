"""CV001: a manifest cluster has concepts without a text (one finding per cluster)."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import CorpusContext, Hit, Rule
from toolkit.lint.textutil import counted

_LISTED = 8


def check(ctx: CorpusContext) -> Iterator[Hit]:
    if not ctx.root_in_scope:
        return
    manifest = ctx.corpus.manifest
    covered = {t.concept for t in ctx.corpus.texts() if ctx.words.get(t.rel, 0) > 0}  # an empty file covers nothing
    # One finding per cluster: a young corpus would otherwise print one per concept (CI shows ten).
    for slug, cluster in manifest.clusters.items():
        members = [name for name, c in manifest.concepts.items() if c.cluster == slug]
        missing = [name for name in members if name not in covered]
        if not missing:
            continue
        listed = ", ".join(missing[:_LISTED]) + (f" and {len(missing) - _LISTED} more" if len(missing) > _LISTED else "")
        yield Hit(
            "CV001",
            "",
            f"cluster {slug!r} ({cluster.title}): {len(missing)} of {counted(len(members), 'concept')} {'has' if len(missing) == 1 else 'have'} no text: {listed}",
        )


RULE = Rule(
    code="CV001",
    name="uncovered-concept",
    severity="info",
    summary="Concepts of a cluster have no text, one finding per cluster (`amygdala coverage` owns the gate).",
    scope="corpus",
    check=check,
    explanation="""\
Every concept in the manifest should have at least one text, or the trainer has no
direction for it. This is information while the corpus grows; `amygdala coverage
--require` (or `require` in `[tool.amygdala.coverage]`) is the gate. One finding per
cluster names its concepts without a text, so a young corpus gets a dozen lines rather than
one per concept. Reported on the corpus folder, and only when the whole corpus is linted
(not for a list of files).

Bad: `manifest.json` lists `wistful`, and neither `stories/wistful.txt` nor any
`paired/*/wistful.txt` exists.

Good: write `stories/wistful.txt`, or remove the concept from the manifest.
""",
)
