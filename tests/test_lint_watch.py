"""`amygdala lint --watch` lints again when a corpus file changes."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

from conftest import REPO

SERVER = "from toolkit.cli import main; main()"
STORY = " ".join(["The ferry left at six and the gulls followed it past the breakwater."] * 4) + "\n"


def _until(lines: queue.Queue[str], marker: str, save, timeout: float, stop_saving_at: str | None = None) -> list[str]:
    """The watcher's lines up to the one holding ``marker``; ``save()`` (if given) runs every 3 s
    meanwhile, until a line holds ``stop_saving_at``."""
    seen: list[str] = []
    deadline, next_save = time.monotonic() + timeout, 0.0
    while time.monotonic() < deadline:
        saving = save is not None and not (stop_saving_at and any(stop_saving_at in s for s in seen))
        if saving and time.monotonic() >= next_save:
            save()
            next_save = time.monotonic() + 3
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"{marker!r} not printed; got {seen}")


def test_watch_lints_again_after_a_change(make_corpus):
    root = make_corpus({"stories/calm.txt": STORY})
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    args = ["lint", "--watch", "--corpus", str(root), "--format", "concise", "--select", "LN001"]
    proc = subprocess.Popen([sys.executable, "-c", SERVER, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()  # type: ignore[union-attr]

    def read_until(marker: str, timeout: float = 60, write: str | None = None) -> list[str]:
        """Lines up to ``marker``; with ``write``, (re)write calm.txt every few seconds meanwhile,
        since "watching" is printed just before the watcher itself starts."""

        def save() -> None:
            if write is not None:
                (root / "stories" / "calm.txt").write_text(write)

        return _until(lines, marker, save if write is not None else None, timeout, stop_saving_at="changed:")

    try:
        assert "All checks passed! (1 file)" in "".join(read_until("watching"))
        out = "".join(read_until("Found 1 error", write="Too short.\n"))
        assert "changed: calm.txt; linting again" in out
        assert "corpus/stories/calm.txt:1:1: LN001 2 words: too short" in out
        assert "All checks passed! (1 file)" in "".join(read_until("All checks passed", write=STORY))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def _rename_over(path, text: str) -> None:
    """Save as many editors do: write a temporary file beside ``path``, then rename it over ``path``."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def test_watch_keeps_linting_after_saves_that_rename_over_the_file(make_corpus, tmp_path):
    # issue 23 (4): the first rename-over save re-linted, later ones never did (the manifest's watch
    # was on the replaced file).
    root = make_corpus({"stories/calm/01.txt": STORY})
    manifest = tmp_path / "manifest.json"  # outside the corpus, as in a writer's repository
    manifest.write_bytes((root / "manifest.json").read_bytes())
    (root / "manifest.json").unlink()
    story = root / "stories" / "calm" / "01.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    args = ["lint", "--watch", "--corpus", str(root), "--manifest", str(manifest), "--format", "concise", "--select", "LN001"]
    proc = subprocess.Popen([sys.executable, "-c", SERVER, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()  # type: ignore[union-attr]

    def save_until(marker: str, save, timeout: float = 60) -> str:
        """Save (again every few seconds: the watcher starts just after "watching" is printed) until ``marker``."""
        return "".join(_until(lines, marker, save, timeout))

    try:
        save_until("watching", None)
        for words in (3, 5, 7):
            body = " ".join(["word"] * words) + "\n"
            out = save_until(f"LN001 {words} words: too short", lambda: _rename_over(story, body))
            assert "changed: 01.txt; linting again" in out and ".01.txt.tmp" not in out
        for n in range(3):
            text = manifest.read_text(encoding="utf-8")
            out = save_until("changed: manifest.json", lambda: _rename_over(manifest, text + " " * (n + 1)))
            assert "linting again" in out
            assert "Found 1 error" in save_until("Found 1 error", None)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
