"""Positions and counts in a text, without NLP."""

from __future__ import annotations

import bisect
import re

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*(?=\S)")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def count_words(body: str) -> int:
    """Whitespace-separated words, the count `amygdala stats` and the trainer report."""
    return len(body.split())


def words(body: str) -> list[str]:
    """Lowercase words (letters and digits, inner apostrophes kept) for similarity measures."""
    return _WORD.findall(body.lower())


def paragraph_starts(body: str) -> list[int]:
    """Character offsets where a second, third ... paragraph begins (after a blank line)."""
    stripped = body.lstrip()
    offset = len(body) - len(stripped)
    return [offset + m.end() for m in _PARAGRAPH_BREAK.finditer(stripped)]


class Locator:
    """Character offset to 1-based (line, column); lines end at ``\\n``."""

    def __init__(self, body: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", body)]

    def at(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset) - 1
        return line + 1, offset - self._starts[line] + 1


def invalid_utf8_position(raw: bytes) -> tuple[int, int]:
    """(line, column) of the first byte that is not valid UTF-8, counting the valid text before it."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        prefix = raw[: err.start].decode("utf-8").removeprefix("\ufeff")
        return Locator(prefix).at(len(prefix))
    return 1, 1
