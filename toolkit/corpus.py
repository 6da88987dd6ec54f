"""The typed corpus: the only view of the files that the linter and the trainer read.

Layout under the corpus root::

    stories/<concept>.txt              one story
    stories/<concept>/<name>.txt       several stories for one concept
    paired/<scenario>/baseline.txt     the event told neutrally
    paired/<scenario>/<concept>.txt    the same event under one emotion
    paired/<scenario>/scenario.json    optional: anchors every telling must keep
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterator, Literal

from schemas.manifest import Manifest
from schemas.scenario import ScenarioSpec
from toolkit.config import Config
from base.errors import AmygdalaError
from base.jsonio import validate_file

TextKind = Literal["story", "baseline", "variant"]
STORIES = "stories"
PAIRED = "paired"
BASELINE = "baseline"
SCENARIO_SPEC = "scenario.json"


@dataclass(frozen=True)
class Text:
    """One text file, read on first use. ``text`` is None when the bytes are not valid UTF-8.

    ``size`` and ``mtime_ns`` come from the directory scan, so a cache that trusts them
    (the linter's) can skip reading an unchanged file at all.
    """

    filename: str  # absolute; a plain string because building 100k Paths up front costs more than the scan
    rel: str
    kind: TextKind
    concept: str | None
    scenario: str | None
    size: int
    mtime_ns: int

    @cached_property
    def path(self) -> Path:
        return Path(self.filename)

    @cached_property
    def raw(self) -> bytes:
        try:
            with open(self.filename, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise AmygdalaError(exc.strerror or str(exc), self.path) from exc

    @cached_property
    def text(self) -> str | None:
        try:
            return self.raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def is_blank(self) -> bool:
        """Empty or whitespace only (``amygdala new`` creates stories so): no text yet, no coverage."""
        return self.size == 0 or not self.raw.strip()

    @property
    def label(self) -> str:
        """What the text is training data for: its concept, or ``baseline``."""
        return self.concept if self.concept is not None else BASELINE


@dataclass
class Scenario:
    slug: str
    path: Path
    baseline: Text | None
    variants: list[Text]
    spec: ScenarioSpec | None = None
    spec_path: Path | None = None


@dataclass
class Corpus:
    root: Path
    manifest: Manifest
    manifest_path: Path
    stories: list[Text] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    # Entries that break the layout (a folder where a file belongs, a non-.txt file...),
    # relative to the root; the linter reports them.
    stray: list[str] = field(default_factory=list)

    def texts(self) -> Iterator[Text]:
        yield from self.stories
        for scenario in self.scenarios:
            if scenario.baseline is not None:
                yield scenario.baseline
            yield from scenario.variants

    def scenario(self, slug: str) -> Scenario | None:
        return next((s for s in self.scenarios if s.slug == slug), None)

    def texts_of(self, concept: str) -> list[Text]:
        return [t for t in self.texts() if t.concept == concept]

    def content_hash(self) -> str:
        """Hash of the manifest and every text's path and content: equal hashes, same training data."""
        digest = hashlib.sha256(self.manifest_path.read_bytes())
        for t in sorted(self.texts(), key=lambda t: t.rel):
            digest.update(f"{t.rel}\0{t.sha256}\n".encode())
        return digest.hexdigest()


def load_manifest(path: Path) -> Manifest:
    return validate_file(Manifest, path)


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True


def _check_link(root: Path, entry: os.DirEntry[str]) -> None:
    # DirEntry answers is_symlink from the directory listing: no extra system call per file.
    if entry.is_symlink() and not _inside(root, Path(entry.path)):
        raise AmygdalaError("symlink points outside the corpus", entry.path)


def _text_entry(
    root: Path, entry: os.DirEntry[str], rel: str, kind: TextKind, concept: str | None, scenario: str | None
) -> Text:
    _check_link(root, entry)
    stat = entry.stat()
    return Text(
        filename=entry.path,
        rel=rel,
        kind=kind,
        concept=concept,
        scenario=scenario,
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
    )


def _sorted_entries(folder: str | Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


def _load_stories(root: Path, corpus: Corpus) -> None:
    folder = root / STORIES
    if not folder.is_dir():
        return
    for entry in _sorted_entries(folder):
        rel = f"{STORIES}/{entry.name}"
        if entry.is_dir():
            _check_link(root, entry)
            for sub in _sorted_entries(entry.path):
                sub_rel = f"{rel}/{sub.name}"
                if sub.is_file() and sub.name.endswith(".txt"):
                    corpus.stories.append(_text_entry(root, sub, sub_rel, "story", entry.name, None))
                else:
                    corpus.stray.append(sub_rel)
        elif entry.is_file() and entry.name.endswith(".txt"):
            corpus.stories.append(_text_entry(root, entry, rel, "story", entry.name[:-4], None))
        else:
            corpus.stray.append(rel)


def _load_scenario(root: Path, folder: os.DirEntry[str]) -> tuple[Scenario, list[str]]:
    _check_link(root, folder)
    scenario = Scenario(slug=folder.name, path=Path(folder.path), baseline=None, variants=[])
    stray: list[str] = []
    for entry in _sorted_entries(folder.path):
        rel = f"{PAIRED}/{folder.name}/{entry.name}"
        if entry.name == SCENARIO_SPEC and entry.is_file():
            _check_link(root, entry)
            scenario.spec_path = Path(entry.path)
            scenario.spec = validate_file(ScenarioSpec, scenario.spec_path)
        elif entry.is_file() and entry.name.endswith(".txt"):
            stem = entry.name[:-4]
            if stem == BASELINE:
                scenario.baseline = _text_entry(root, entry, rel, "baseline", None, folder.name)
            else:
                scenario.variants.append(_text_entry(root, entry, rel, "variant", stem, folder.name))
        else:
            stray.append(rel)
    return scenario, stray


def _load_paired(root: Path, corpus: Corpus) -> None:
    folder = root / PAIRED
    if not folder.is_dir():
        return
    for entry in _sorted_entries(folder):
        if entry.is_dir():
            scenario, stray = _load_scenario(root, entry)
            corpus.scenarios.append(scenario)
            corpus.stray.extend(stray)
        else:
            corpus.stray.append(f"{PAIRED}/{entry.name}")


def load_corpus(root: Path, manifest_path: Path) -> Corpus:
    """Read every text and scenario under ``root``; raise AmygdalaError on unusable input."""
    root = root.resolve()
    if not root.is_dir():
        raise AmygdalaError("corpus folder not found", root)
    manifest = load_manifest(manifest_path)
    corpus = Corpus(root=root, manifest=manifest, manifest_path=manifest_path)
    _load_stories(root, corpus)
    _load_paired(root, corpus)
    return corpus


DEFAULT_CORPUS = "amygdala_stories"


def _is_corpus(folder: Path) -> bool:
    return (folder / STORIES).is_dir() or (folder / PAIRED).is_dir()


def find_corpus(start: Path) -> Path | None:
    """The nearest corpus at or above ``start``, as ruff finds its configuration: a folder
    holding ``amygdala_stories/``, or a folder that is a corpus (has ``stories/`` or ``paired/``)."""
    for folder in [start, *start.parents]:
        if (folder / DEFAULT_CORPUS).is_dir():
            return folder / DEFAULT_CORPUS
        if _is_corpus(folder):
            return folder
    return None


def resolve_locations(
    config: Config, corpus: Path | None = None, manifest: Path | None = None, start: Path | None = None
) -> tuple[Path, Path]:
    """Where the corpus and its manifest are: flags, then config, then the nearest corpus above
    ``start`` (default: the working directory); the manifest beside or inside it."""
    corpus_root = corpus or config.settings.corpus or find_corpus((start or Path.cwd()).resolve())
    if corpus_root is None:
        raise AmygdalaError(
            "no corpus found here or above: pass --corpus, set corpus in amygdala.toml or [tool.amygdala] "
            "of pyproject.toml, or start one with `amygdala init`"
        )
    explicit = manifest or config.settings.manifest
    if explicit is not None:
        return corpus_root, explicit
    for candidate in (corpus_root / "manifest.json", corpus_root.parent / "manifest.json", Path.cwd() / "manifest.json"):
        if candidate.is_file():
            return corpus_root, candidate
    raise AmygdalaError(
        "no manifest found: pass --manifest, set manifest in the configuration, or put manifest.json in the corpus"
    , corpus_root)


def open_corpus(config: Config, corpus: Path | None = None, manifest: Path | None = None) -> Corpus:
    root, manifest_path = resolve_locations(config, corpus, manifest)
    return load_corpus(root, manifest_path)

