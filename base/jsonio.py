"""Strict JSON reading and atomic writing, shared by every file the toolkit touches."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from base.errors import AmygdalaError

M = TypeVar("M", bound=BaseModel)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _line_of_second(text: str, key: str) -> int | None:
    hits = [m.start() for m in re.finditer(r'"%s"\s*:' % re.escape(key), text)]
    return text.count("\n", 0, hits[1]) + 1 if len(hits) > 1 else None


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """A text file's content; a missing, unreadable or non-UTF-8 file is a one-line error."""
    try:
        return path.read_text(encoding=encoding)
    except FileNotFoundError as exc:
        raise AmygdalaError("file not found", path) from exc
    except UnicodeDecodeError as exc:
        raise AmygdalaError("not valid UTF-8", path) from exc
    except OSError as exc:
        raise AmygdalaError(exc.strerror or str(exc), path) from exc


def read_json(path: Path) -> Any:
    """Parse a JSON file, refusing duplicate keys; errors name the file and line."""
    text = read_text(path)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as dup:
        line = _line_of_second(text, dup.key)
        where = f"{path}:{line}" if line else str(path)
        raise AmygdalaError(f"duplicate key {dup.key!r}", where) from dup
    except json.JSONDecodeError as exc:
        raise AmygdalaError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", path) from exc


def jsonl_object(raw: str, where: str) -> dict[str, Any] | None:
    """One JSONL line as a JSON object; None for a blank line; AmygdalaError naming ``where`` (file:line) otherwise."""
    if not raw.strip():
        return None
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise AmygdalaError(f"invalid JSON: {exc.msg} (column {exc.colno})", where) from exc
    if not isinstance(obj, dict):
        raise AmygdalaError(f"expected a JSON object, found {type(obj).__name__}", where)
    return obj


def json_path(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as a JSON path such as ``concepts.furious.cluster``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"


def validate_file(model: type[M], path: Path, data: Any | None = None) -> M:
    """Validate ``data`` (or the file's JSON) against ``model``; one-line error on failure."""
    if data is None:
        data = read_json(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        raise AmygdalaError(f"{json_path(err['loc'])}: {msg}", path) from exc


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; give the result the permissions an ordinary open() would.
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically; pydantic models are dumped by alias, without None-valued defaults kept."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json", by_alias=True)
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
