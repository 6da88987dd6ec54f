"""How numbers and labels read, the same in the terminal (rich), triage.md and report.html.

The Jinja2 environment of ``trainer.report.render`` registers these as filters; the rich views of the CLI
call them directly. A leaf: the statistics kernel's ``format_p``, which words every p, is imported
when a p is formatted, so the CLI's import of this module (``amygdala lint`` loads every command)
does not bring in numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.analysis import NullTest

MISSING = "–"
# cluster labels -> rich style
LABEL_STYLE = {"cohesive": "green", "scattered": "yellow", "anti-clustered": "red", "too small to judge": "dim", "undetermined": "dim"}


def signed(value: float | None, digits: int = 3) -> str:
    """``+0.123``; a dash for a missing value."""
    return MISSING if value is None else f"{value:+.{digits}f}"


def unsigned(value: float | None, digits: int = 3) -> str:
    """``0.123``; a dash for a missing value."""
    return MISSING if value is None else f"{value:.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    """``12.3%``; a dash for a missing value."""
    return MISSING if value is None else f"{value:.{digits}%}"


def p_value(value: float | None, permutations: int | None = None, *, label: bool = False) -> str:
    """A p for a table cell (``0.012``, ``≤ 0.001`` at the floor of a test with ``permutations``
    draws, ``< 0.001``; a dash when missing), or with ``label`` for a sentence (``p = 0.012``):
    ``trainer.stats.format_p``, the one p formatter."""
    from trainer.stats import format_p

    return format_p(value, permutations, label=label)


def p_against_null(test: "NullTest | None", *, label: bool = False) -> str:
    """The p of a statistic against its null, with that null's floor."""
    return MISSING if test is None else p_value(test.p, test.permutations, label=label)


def text_or_dash(value: str | None) -> str:
    return MISSING if value is None else value


def layer_span(layers: list[int]) -> str:
    """``4–6`` for the first and last of a list of layers."""
    return f"{layers[0]}–{layers[-1]}" if layers else MISSING


def rich_label(label: str | None) -> str:
    """A cluster label in its colour, as rich markup."""
    return MISSING if label is None else f"[{LABEL_STYLE.get(label, '')}]{label}[/]"
