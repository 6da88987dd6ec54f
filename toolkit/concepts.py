"""Looking up concepts by name, with close-match suggestions for typos."""

from __future__ import annotations

import difflib
from pathlib import Path

from schemas.manifest import Concept, Manifest
from base.errors import AmygdalaError


def closest(name: str, choices: list[str]) -> str | None:
    matches = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_concept_message(name: str, manifest: Manifest) -> str:
    suggestion = closest(name, list(manifest.concepts))
    hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
    return f"{name!r} is not a concept in the manifest{hint}"


def select_concepts(manifest: Manifest, names: list[str], where: Path | None = None) -> list[tuple[str, Concept]]:
    """The named concepts in the given order, or all of them; unknown names are an error."""
    if not names:
        return list(manifest.concepts.items())
    for name in names:
        if name not in manifest.concepts:
            raise AmygdalaError(unknown_concept_message(name, manifest), where)
    return [(name, manifest.concepts[name]) for name in names]
