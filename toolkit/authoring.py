"""Create the files of a new story or paired scenario, and hand them to the writer's editor.

``new`` is the one command besides ``import`` that writes into the corpus, so it is careful:
it never overwrites, it checks every name against the manifest (suggesting the closest),
and it creates text files empty rather than with placeholder prose, because anything
written into a text file is training data. An empty file fails lint (ST002) until the
writer fills it. With ``--edit`` the files are opened in ``$VISUAL`` or ``$EDITOR``; any
left blank when the editor closes are removed again, so ``--edit`` never leaves an empty
file behind.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from pydantic import ValidationError

from schemas.common import SLUG_PATTERN
from schemas.scenario import ScenarioSpec
from toolkit.concepts import closest, unknown_concept_message
from toolkit.corpus import BASELINE, PAIRED, SCENARIO_SPEC, STORIES, Corpus
from base.errors import AmygdalaError
from base.jsonio import json_path, write_json

_SLUG = re.compile(SLUG_PATTERN)
# Inside stories/<concept>/ a name may start with a digit ("7", "01_night_bus"), as lint's ST006 allows.
_STORY_NAME = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
_NUMBERED = re.compile(r"^\d+$")


def slugify(name: str) -> str:
    """``"Grief-stricken"`` -> ``grief_stricken``: lowercase, runs of other characters become one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def is_story_name(name: str) -> bool:
    """A story file's stem inside ``stories/<concept>/``: a slug that may start with a digit."""
    return bool(_STORY_NAME.match(name))


_LEADING_NUMBER = re.compile(r"^(\d+)(?:_|$)")


def next_number(folder: Path, taken: Iterable[str] = ()) -> int:
    """One more than the highest number that starts a story name in ``folder`` (and in ``taken``), from 1.

    "01", "2" and "03_night_bus" are numbers 1, 2 and 3, so the bundled corpus's names and the
    ones ``new`` makes share one sequence.
    """
    stems = set(taken)
    if folder.is_dir():
        stems |= {p.stem for p in folder.glob("*.txt")}
    numbers = [int(m.group(1)) for s in stems if (m := _LEADING_NUMBER.match(s))]
    return max(numbers, default=0) + 1


def story_name(number: int) -> str:
    """The file stem of a numbered story: two digits at least, as ``init`` and the bundled corpus write them."""
    return f"{number:02d}"


@dataclass(frozen=True)
class ConceptBrief:
    """What a writer needs at hand for one concept."""

    concept: str
    cluster: str
    cluster_title: str
    avoid: list[str]
    existing: list[str]


@dataclass(frozen=True)
class NewStory:
    """``new_folder``: the concept folder, when this story created it; ``flat``: an older
    ``stories/<concept>.txt`` of the same concept, which the writer may want to move in."""

    path: Path
    brief: ConceptBrief
    words: tuple[int, int]
    new_folder: Path | None = None
    flat: Path | None = None


@dataclass(frozen=True)
class NewScenario:
    folder: Path
    baseline: Path
    variants: list[tuple[Path, ConceptBrief]]
    anchors: list[str]
    words: tuple[int, int]
    tolerance: float
    similar: str | None

    @property
    def texts(self) -> list[Path]:
        return [self.baseline, *(path for path, _ in self.variants)]


def concept_brief(corpus: Corpus, name: str) -> ConceptBrief:
    concept = corpus.manifest.concepts.get(name)
    if concept is None:
        raise AmygdalaError(unknown_concept_message(name, corpus.manifest), corpus.manifest_path)
    return ConceptBrief(
        concept=name,
        cluster=concept.cluster,
        cluster_title=corpus.manifest.clusters[concept.cluster].title,
        avoid=list(concept.keywords),
        existing=[t.rel for t in corpus.texts_of(name)],
    )


def _create_empty(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.open("x", encoding="utf-8").close()
    except FileExistsError as exc:
        raise AmygdalaError("already exists; refusing to overwrite", path) from exc


def story_path(corpus: Corpus, concept: str, name: str | None = None) -> Path:
    """Where a new story of ``concept`` goes: ``stories/<concept>/NN.txt``, the next number, or ``NAME.txt``.

    One layout for every concept and every story, the first included (``init`` writes
    ``stories/patient/01.txt``; the next is ``02.txt``).
    """
    folder = corpus.root / STORIES / concept
    if name is not None:
        if not is_story_name(name):
            hint = f" (try {slugify(name)!r})" if is_story_name(slugify(name)) else ""
            raise AmygdalaError(f"--name {name!r} is not a lowercase_underscore slug{hint}")
        return folder / f"{name}.txt"
    return folder / f"{story_name(next_number(folder))}.txt"


def create_story(corpus: Corpus, concept: str, name: str | None, words: tuple[int, int]) -> NewStory:
    brief = concept_brief(corpus, concept)
    path = story_path(corpus, concept, name)
    new_folder = not path.parent.exists()
    _create_empty(path)
    flat = corpus.root / STORIES / f"{concept}.txt"
    return NewStory(path=path, brief=brief, words=words, new_folder=path.parent if new_folder else None, flat=flat if flat.exists() else None)


def _parse_concepts(corpus: Corpus, concepts: list[str]) -> list[str]:
    names = [c.strip() for item in concepts for c in item.split(",") if c.strip()]
    if not names:
        raise AmygdalaError("--concepts needs at least one concept")
    for name in names:
        if name == BASELINE:
            raise AmygdalaError("baseline.txt is created anyway; name only the emotions in --concepts")
        if name not in corpus.manifest.concepts:
            raise AmygdalaError(unknown_concept_message(name, corpus.manifest), corpus.manifest_path)
    return list(dict.fromkeys(names))


def create_scenario(
    corpus: Corpus,
    slug: str,
    concepts: list[str],
    anchors: list[str],
    notes: str,
    words: tuple[int, int],
    tolerance: float,
) -> NewScenario:
    """Create ``paired/<slug>/`` with scenario.json, an empty baseline.txt and one empty file per concept."""
    if not _SLUG.match(slug):
        hint = f" (try {slugify(slug)!r})" if _SLUG.match(slugify(slug)) else ""
        raise AmygdalaError(f"scenario name {slug!r} is not a lowercase_underscore slug{hint}")
    names = _parse_concepts(corpus, concepts)
    try:
        spec = ScenarioSpec.model_validate({"anchors": anchors, "notes": notes})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise AmygdalaError(f"--anchor: {json_path(err['loc'])}: {err['msg']}") from exc
    folder = corpus.root / PAIRED / slug
    if folder.exists():
        raise AmygdalaError("already exists; refusing to overwrite", folder)
    briefs = [concept_brief(corpus, name) for name in names]
    similar = closest(slug, [s.slug for s in corpus.scenarios])
    folder.mkdir(parents=True)
    try:
        write_json(folder / SCENARIO_SPEC, spec)
        baseline = folder / f"{BASELINE}.txt"
        _create_empty(baseline)
        variants = []
        for brief in briefs:
            path = folder / f"{brief.concept}.txt"
            _create_empty(path)
            variants.append((path, brief))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # the folder is ours: it did not exist a moment ago
        raise
    return NewScenario(
        folder=folder,
        baseline=baseline,
        variants=variants,
        anchors=list(spec.anchors),
        words=words,
        tolerance=tolerance,
        similar=similar,
    )


def editor_command(environ: Mapping[str, str] = os.environ) -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, split as a shell would (``code --wait`` is two words)."""
    for variable in ("VISUAL", "EDITOR"):
        value = environ.get(variable, "").strip()
        if value:
            try:
                words = shlex.split(value)
            except ValueError as exc:
                raise AmygdalaError(f"${variable} cannot be parsed: {exc}") from exc
            if words:
                return words
    raise AmygdalaError("--edit needs an editor: set $EDITOR (or $VISUAL), e.g. EDITOR='code --wait'")


def _blank(path: Path) -> bool:
    return not path.exists() or not path.read_bytes().strip()


@dataclass(frozen=True)
class EditOutcome:
    written: list[Path]
    removed: list[Path]


def edit(paths: list[Path], command: list[str], remove_folder: Path | None = None, prune_folder: Path | None = None) -> EditOutcome:
    """Open ``paths`` in the editor and wait; remove the ones left blank.

    When every path is left blank and ``remove_folder`` is given (a folder ``new`` just
    created), the folder goes too, so an abandoned scenario leaves nothing behind;
    ``prune_folder`` (a story's new concept folder) goes only if nothing else is in it.
    """
    try:
        returncode = subprocess.run([*command, *map(str, paths)], check=False).returncode
    except OSError as exc:
        _remove_blank(paths, remove_folder, prune_folder)
        raise AmygdalaError(f"cannot run the editor {command[0]!r}: {exc.strerror or exc}") from exc
    outcome = _remove_blank(paths, remove_folder, prune_folder)
    if returncode != 0:
        raise AmygdalaError(
            f"the editor {command[0]!r} exited with status {returncode}"
            + (f"; kept {len(outcome.written)} written file(s)" if outcome.written else "; nothing written")
        )
    return outcome


def _remove_blank(paths: list[Path], remove_folder: Path | None, prune_folder: Path | None = None) -> EditOutcome:
    written = [p for p in paths if not _blank(p)]
    removed = [p for p in paths if _blank(p)]
    if not written and remove_folder is not None:
        shutil.rmtree(remove_folder, ignore_errors=True)
    else:
        for path in removed:
            path.unlink(missing_ok=True)
    if not written and prune_folder is not None and prune_folder.is_dir() and not any(prune_folder.iterdir()):
        prune_folder.rmdir()
    return EditOutcome(written=written, removed=removed)
