"""A warm lint takes unchanged files' hashes from their size and mtime, without reading them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from toolkit.corpus import Text, load_corpus
from toolkit.lint import lint_corpus

STORY = " ".join(["The ferry left at six and the gulls followed it past the breakwater."] * 4) + "\n"
AN_HOUR_AGO = time.time() - 3600


def _age(root: Path) -> None:
    for path in root.rglob("*.txt"):
        os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The texts whose bytes were read, in order."""
    seen: list[str] = []
    original = Text.raw.func

    def counting(self: Text) -> bytes:
        seen.append(self.rel)
        return original(self)

    monkeypatch.setattr(Text, "raw", property(counting))
    return seen


def _lint(root: Path, cache: Path):
    return lint_corpus(load_corpus(root, root / "manifest.json"), cache_dir=cache)


def test_unchanged_old_files_are_not_read_on_a_warm_run(make_corpus, tmp_path, reads):
    root = make_corpus({"stories/calm.txt": STORY, "stories/sad.txt": STORY.replace("six", "seven")})
    _age(root)
    cache = tmp_path / "cache"
    assert _lint(root, cache).findings  # CV001 infos at least
    assert set(reads) >= {"stories/calm.txt", "stories/sad.txt"}
    reads.clear()
    result = _lint(root, cache)
    assert reads == [] and result.cached == 2


def test_an_edit_is_seen_even_with_the_same_size(make_corpus, tmp_path, reads):
    root = make_corpus({"stories/furious.txt": STORY})
    _age(root)
    cache = tmp_path / "cache"
    assert not [f for f in _lint(root, cache).findings if f.code == "KW001"]
    story = root / "stories" / "furious.txt"
    edited = STORY.replace("the gulls", "fury gull", 1)  # same length, new mtime
    assert len(edited) == len(STORY)
    story.write_text(edited)
    reads.clear()
    findings = _lint(root, cache).findings
    assert "stories/furious.txt" in reads
    assert [f.code for f in findings if f.code == "KW001"] == ["KW001"]


def test_a_file_written_just_now_is_always_hashed(make_corpus, tmp_path, reads):
    root = make_corpus({"stories/calm.txt": STORY})
    # A minute ahead stands for "just written" however slowly the machine runs the test.
    soon = time.time() + 60
    os.utime(root / "stories" / "calm.txt", (soon, soon))
    cache = tmp_path / "cache"
    _lint(root, cache)
    reads.clear()
    _lint(root, cache)
    assert reads == ["stories/calm.txt"]
