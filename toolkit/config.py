"""Project configuration: ``amygdala.toml``, or ``[tool.amygdala]`` in ``pyproject.toml``.

Found by walking up from the working directory, as ruff finds ``ruff.toml`` or
``pyproject.toml``: the nearest folder with either wins, and in one folder ``amygdala.toml``
comes first. Paths in the file are relative to the folder that holds it; command-line flags
override it.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from base.errors import AmygdalaError
from base.jsonio import json_path, read_text


class LintSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    select: list[str] | None = None
    ignore: list[str] = Field(default_factory=list)
    extend_select: list[str] = Field(default_factory=list, alias="extend-select")
    per_file_ignores: dict[str, list[str]] = Field(default_factory=dict, alias="per-file-ignores")
    severity: dict[str, Literal["error", "warning", "info"]] = Field(default_factory=dict)
    story_words: tuple[int, int] = Field((40, 120), alias="story-words")
    paired_tolerance: float = Field(0.2, alias="paired-tolerance", gt=0, lt=1)
    duplicate_threshold: float = Field(0.8, alias="duplicate-threshold", gt=0, le=1)
    # SP001: the project's own words, inline and in a file (one word a line, # comments).
    words: list[str] = Field(default_factory=list)
    word_list: Path | None = Field(None, alias="word-list")

    def accepted_words(self) -> frozenset[str]:
        """The project's words for SP001, lowercased; raises AmygdalaError when the word list cannot be read."""
        return _accepted(tuple(self.words), self.word_list, _stat(self.word_list))

    @field_validator("story_words", mode="before")
    @classmethod
    def _two_numbers(cls, value: Any) -> Any:
        # pydantic's own message for [40] is "story-words[1]: Field required"; say what is expected.
        if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ValueError(f"expected [min, max], two whole numbers of words such as [40, 120]; got {value!r}")
        return value

    @field_validator("story_words")
    @classmethod
    def _ordered_range(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 0 <= value[0] <= value[1]:
            raise ValueError("expected [min, max] with 0 <= min <= max")
        return value


def _stat(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


@functools.lru_cache(maxsize=8)
def _accepted(inline: tuple[str, ...], path: Path | None, stat: tuple[int, int] | None) -> frozenset[str]:
    words = {w.strip().lower() for w in inline if w.strip()}
    if path is not None:
        try:
            lines = read_text(path).splitlines()
        except AmygdalaError as err:
            raise AmygdalaError(f"word-list: {err.message}", path) from err
        words |= {line.split("#", 1)[0].strip().lower() for line in lines}
        words.discard("")
    return frozenset(words)


class CoverageSettings(BaseModel):
    """``require``: the bars `amygdala coverage` fails below (all, clusters, N%); none by default,
    so a writer's young corpus passes the pre-commit hook until the project asks for a bar."""

    model_config = ConfigDict(extra="forbid")

    require: list[str] = Field(default_factory=list)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    corpus: Path | None = None
    manifest: Path | None = None
    lint: LintSettings = Field(default_factory=LintSettings)
    coverage: CoverageSettings = Field(default_factory=CoverageSettings)


class Config(BaseModel):
    """Settings plus where they came from (``source`` is None when no file was found)."""

    source: Path | None = None
    root: Path
    settings: Settings

    def where(self, key: str) -> str:
        """Where a setting lives, for error messages: ``pyproject.toml: tool.amygdala.lint.select``."""
        prefix = "" if self.source is None or self.source.name == AMYGDALA_TOML else "tool.amygdala."
        return f"{self.source}: {prefix}{key}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise AmygdalaError(f"invalid TOML: {exc}", path) from exc


AMYGDALA_TOML = "amygdala.toml"
PYPROJECT = "pyproject.toml"


def _table(path: Path) -> dict[str, Any] | None:
    """The amygdala settings in ``path``: all of an amygdala.toml, ``[tool.amygdala]`` of any other file."""
    data = _read_toml(path)
    if path.name == AMYGDALA_TOML:
        return data
    return data.get("tool", {}).get("amygdala")


def find_config(start: Path) -> Path | None:
    """The nearest amygdala.toml, or pyproject.toml with ``[tool.amygdala]``, at or above ``start``."""
    for folder in [start, *start.parents]:
        standalone = folder / AMYGDALA_TOML
        if standalone.is_file():
            return standalone
        candidate = folder / PYPROJECT
        if candidate.is_file() and _table(candidate) is not None:
            return candidate
    return None


def load_config(start: Path | None = None, explicit: Path | None = None) -> Config:
    """Read the configuration from ``explicit`` or the nearest configuration file (see the module)."""
    start = (start or Path.cwd()).resolve()
    path = explicit or find_config(start)
    if path is None:
        return Config(root=start, settings=Settings())
    table = _table(path) or {}
    prefix = () if path.name == AMYGDALA_TOML else ("tool", "amygdala")
    try:
        settings = Settings.model_validate(table)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = json_path((*prefix, *err["loc"]))
        message = err["msg"].removeprefix("Value error, ")
        raise AmygdalaError(f"{loc}: {message}", path) from exc
    root = path.resolve().parent
    if settings.corpus is not None:
        settings.corpus = root / settings.corpus
    if settings.manifest is not None:
        settings.manifest = root / settings.manifest
    if settings.lint.word_list is not None:
        settings.lint.word_list = root / settings.lint.word_list
    return Config(source=path, root=root, settings=settings)
