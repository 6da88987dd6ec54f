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


# spaCy refuses longer texts (its nlp.max_length); LN001 reports them without parsing.
MAX_PARSED_CHARS = 1_000_000


def is_binary(body: str) -> bool:
    """NUL never occurs in text; a file holding it is binary even when it decodes as UTF-8."""
    return "\0" in body


def parseable(body: str | None) -> bool:
    """Whether the NLP should look at ``body``: decoded, not blank, not binary, not too long."""
    return bool(body and body.strip()) and len(body) <= MAX_PARSED_CHARS and not is_binary(body)


def counted(n: int, noun: str) -> str:
    """``1 concept``, ``2 concepts``: a count with its noun in the right number."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def printable_name(name: str) -> str:
    """A file name as it can be printed: the lone surrogates of bytes that are not UTF-8 become U+FFFD."""
    if name.isascii():
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
