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
        seen, deadline, next_write = [], time.monotonic() + timeout, 0.0
        while time.monotonic() < deadline:
            if write is not None and time.monotonic() >= next_write and not any("changed:" in s for s in seen):
                (root / "stories" / "calm.txt").write_text(write)
                next_write = time.monotonic() + 3
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            seen.append(line)
            if marker in line:
                return seen
        raise AssertionError(f"{marker!r} not printed; got {seen}")

    try:
        assert "All checks passed! (1 file)" in "".join(read_until("watching"))
        out = "".join(read_until("Found 1 error", write="Too short.\n"))
        assert "changed: calm.txt; linting again" in out
        assert "corpus/stories/calm.txt:1:1: LN001 2 words: too short" in out
        assert "All checks passed! (1 file)" in "".join(read_until("All checks passed", write=STORY))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
