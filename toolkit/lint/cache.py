"""The lint cache: per-file results keyed on content, one JSON store per configuration.

``<cache dir>/<fingerprint>.json`` holds ``{"files": {key: FileEntry}, "anchors": {key: lemmas},
"memos": {rule: {"key": corpus key, "value": ...}}, "stats": {rel: [size, mtime_ns, sha256]}}``.
A ``FileEntry`` is one file's per-file hits (``HitRow``, named fields) and the facts the
cross-file rules read (word count, MinHash bands, lemmas of a paired text, a baseline's terms).
Memos are whole-corpus results (DU001's pairs) that stay valid while no text changes.
``stats`` lets a warm run take a file's content hash without reading it, as git's index
does: only when size and modification time are unchanged, and only for files last
modified well before the hash was recorded (a file rewritten within the same clock tick
would otherwise look unchanged).
The fingerprint covers the tool version and the linter's own source, the spaCy and
lookups versions, the manifest bytes and the rule options; a file's key covers its path
and content. Stores of other fingerprints are pruned to the few most recent.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from toolkit import __version__
from toolkit.corpus import Text
from toolkit.lint.model import HitRow, Memo
from base.jsonio import atomic_write_text

CACHE_FORMAT = 3
_KEEP_STORES = 4
# A file modified this recently is hashed every time, whatever its stat says.
_RACY_NS = 2_000_000_000


def _source_digest() -> str:
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "missing"


def fingerprint(manifest_bytes: bytes, options: dict[str, Any]) -> str:
    parts = {
        "format": CACHE_FORMAT,
        "amygdala": __version__,
        "source": _source_digest(),
        "spacy": _version("spacy"),
        "lookups": _version("spacy-lookups-data"),
        "manifest": hashlib.sha256(manifest_bytes).hexdigest(),
        "options": options,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def key_of(rel: str, sha256: str) -> str:
    # surrogateescape: a file name that is not valid UTF-8 arrives with lone surrogates (ST006).
    return hashlib.sha256(f"{rel}\0{sha256}".encode("utf-8", "surrogateescape")).hexdigest()[:32]


def corpus_key(file_keys: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(file_keys)).encode()).hexdigest()[:32]


class FileEntryJSON(TypedDict):
    hits: list[HitRow]
    words: int
    bands: str
    lemmas: NotRequired[list[str]]
    leaned: NotRequired[list[list[str]]]


@dataclass(slots=True)
class FileEntry:
    """One file's cached lint results: its per-file hits and the facts the cross-file rules read.
    (Slots, not frozen: a warm lint builds one per file of the corpus, and that keeps it cheap.)"""

    hits: list[HitRow]
    words: int
    bands: str  # MinHash band keys (DU001); "" without words or without NLP
    lemmas: list[str] | None = None  # a paired text's lemmas (LN002, AN001)
    leaned: list[tuple[str, str]] | None = None  # a baseline's (shown, lemma) terms (AN002)

    def to_json(self) -> FileEntryJSON:
        out = FileEntryJSON(hits=self.hits, words=self.words, bands=self.bands)
        if self.lemmas is not None:
            out["lemmas"] = self.lemmas
        if self.leaned is not None:
            out["leaned"] = [list(term) for term in self.leaned]
        return out

    @classmethod
    def from_json(cls, data: FileEntryJSON) -> "FileEntry":
        """KeyError or TypeError on a malformed entry (the caller then drops the store)."""
        leaned = data.get("leaned")
        return cls(
            data["hits"], data["words"], data["bands"], data.get("lemmas"), None if leaned is None else [(shown, lemma) for shown, lemma in leaned]
        )


class LintCache:
    """An in-memory view of one store; ``save`` writes it back atomically when it changed."""

    def __init__(self, directory: Path | None, fp: str) -> None:
        self.directory = directory
        self.path = directory / f"{fp}.json" if directory else None
        self.files: dict[str, FileEntry] = {}
        self.anchors: dict[str, list[list[str]]] = {}
        self.memos: dict[str, Memo] = {}
        self.stats: dict[str, list[Any]] = {}
        self._remember_stats = directory is not None
        self._dirty = False
        if self.path is not None and self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.files = {key: FileEntry.from_json(entry) for key, entry in data["files"].items()}
                self.anchors, self.memos, self.stats = data["anchors"], data["memos"], data["stats"]
            except (OSError, ValueError, KeyError, TypeError):
                self.files, self.anchors, self.memos, self.stats = {}, {}, {}, {}

    def detach(self) -> None:
        """Keep this store in memory only: ``save`` writes nothing from now on.

        For the language server, whose texts include unsaved buffers: their content must
        not reach the disk store. Stats of files are still remembered in memory; a buffer
        (a text whose ``mtime_ns`` is negative) never is.
        """
        self.path = None
        self.directory = None

    def digest(self, text: Text) -> str:
        """The text's sha256: remembered when its size and mtime are unchanged, else read and hashed."""
        known = self.stats.get(text.rel)
        if known is not None and known[0] == text.size and known[1] == text.mtime_ns:
            return known[2]
        sha256 = text.sha256
        if self._remember_stats and text.mtime_ns >= 0 and time.time_ns() - text.mtime_ns > _RACY_NS:
            self.stats[text.rel] = [text.size, text.mtime_ns, sha256]
            self._dirty = True
        return sha256

    def put_file(self, key: str, entry: FileEntry) -> None:
        self.files[key] = entry
        self._dirty = True

    def put_anchors(self, key: str, lemmas: list[list[str]]) -> None:
        self.anchors[key] = lemmas
        self._dirty = True

    def put_memos(self, memos: dict[str, Memo]) -> None:
        if memos != self.memos:
            self.memos = memos
            self._dirty = True

    def save(self, live_files: set[str], live_anchors: set[str], live_rels: set[str]) -> None:
        """Keep the entries of files that still exist with this content; drop the rest."""
        if self.path is None or self.directory is None:
            return
        stale = (self.files.keys() - live_files) or (self.anchors.keys() - live_anchors) or (self.stats.keys() - live_rels)
        if not (self._dirty or stale):
            return
        data = {
            "files": {k: v.to_json() for k, v in self.files.items() if k in live_files},
            "anchors": {k: v for k, v in self.anchors.items() if k in live_anchors},
            "memos": self.memos,
            "stats": {k: v for k, v in self.stats.items() if k in live_rels},
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                atomic_write_text(ignore, "# Written by amygdala lint.\n*\n")
            # ASCII escapes keep the lone surrogates of a name that is not UTF-8 (they round-trip through json).
            atomic_write_text(self.path, json.dumps(data, separators=(",", ":")))
            self._prune()
        except OSError:
            # A read-only checkout still lints; it just lints cold every time.
            return
        self._dirty = False

    def _prune(self) -> None:
        assert self.directory is not None
        stores = sorted(self.directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in stores[_KEEP_STORES:]:
            if old != self.path:
                old.unlink(missing_ok=True)
        os.utime(self.path)
