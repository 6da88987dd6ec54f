"""Which rules run, at what severity, on which files: ruff's select/ignore semantics."""

from __future__ import annotations

import fnmatch
from typing import Iterable

from schemas.finding import Severity
from toolkit.config import LintSettings
from base.errors import AmygdalaError
from toolkit.lint.rules import BY_CODE, BY_NAME


def expand(selectors: Iterable[str], setting: str) -> set[str]:
    """Rule codes named by codes, prefixes ("KW", "ST00"), kebab-case names or ``ALL``."""
    codes: set[str] = set()
    for raw in selectors:
        selector = raw.strip()
        if not selector:
            continue
        if selector.upper() == "ALL":
            codes.update(BY_CODE)
        elif selector in BY_NAME:
            codes.add(BY_NAME[selector].code)
        else:
            matched = {code for code in BY_CODE if code.startswith(selector.upper())}
            if not matched:
                raise AmygdalaError(f"unknown rule code or prefix {selector!r} (see `amygdala rules`)", setting)
            codes |= matched
    return codes


def enabled_codes(settings: LintSettings) -> set[str]:
    selected = expand(settings.select, "select") if settings.select is not None else set(BY_CODE)
    return (selected | expand(settings.extend_select, "extend-select")) - expand(settings.ignore, "ignore")


def severities(settings: LintSettings) -> dict[str, Severity]:
    """Each rule's severity: its default, overridden by ``severity`` (broad prefixes first)."""
    out: dict[str, Severity] = {code: rule.severity for code, rule in BY_CODE.items()}
    for selector in sorted(settings.severity, key=len):
        for code in expand([selector], f"severity.{selector}"):
            out[code] = settings.severity[selector]
    return out


class FileIgnores:
    """``per-file-ignores``: glob (matched on the corpus-relative or the displayed path) -> codes."""

    def __init__(self, settings: LintSettings) -> None:
        self._rules = [
            (pattern, expand(codes, f"per-file-ignores.{pattern}"))
            for pattern, codes in settings.per_file_ignores.items()
        ]

    def ignored(self, rel: str, shown: str) -> set[str]:
        out: set[str] = set()
        for pattern, codes in self._rules:
            if fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(shown, pattern):
                out |= codes
        return out


def validate(settings: LintSettings) -> None:
    """Raise AmygdalaError (``where`` names the setting) for a selector that names no rule."""
    enabled_codes(settings)
    severities(settings)
    FileIgnores(settings)
