"""How a p-value reads in every report (terminal, triage.md, report.html, triage.json's reasons).

- ``p = 0.012`` (three significant digits);
- ``p ≤ 0.001`` at the floor ``sides / (P + 1)`` of a permutation test with P draws: there the
  test cannot say how much smaller the true p is (the floor rounded up, so it stays a bound);
- ``p < 0.001`` below that without a floor (an exact test, or a permutation p above its floor
  with more than a thousand draws);
- an adjusted p (Holm) whose raw p sits at its floor is itself a bound: ``p ≤ 0.014``;
- a dash for a missing p.
"""

from __future__ import annotations

import math

SMALLEST = 0.001
# p-values are stored rounded to five decimals, so a p at the floor may read up to half a unit of
# the fifth decimal above it; every other attainable p is a whole 1 / (P + 1) further (P < 10^5).
FLOOR_TOLERANCE = 5e-6
MISSING = "–"


def at_floor(p: float, permutations: int, sides: int = 1) -> bool:
    """Whether ``p`` is the smallest value a permutation test with ``permutations`` draws can give:
    1 / (P + 1) one-sided, 2 / (P + 1) for twice the smaller tail."""
    return p <= sides / (permutations + 1) + FLOOR_TOLERANCE


def bound(x: float) -> str:
    """``x`` rounded *up* to two significant digits, so a bound stays a bound (1/1001 reads 0.001, 1/8772 0.00012)."""
    if x <= 0:
        return "0"
    scale = 10.0 ** (math.floor(math.log10(x)) - 1)
    return f"{math.ceil(x / scale - 1e-9) * scale:.2g}"


def format_p(p: float | None, permutations: int | None = None, *, label: bool = True, sides: int = 1) -> str:
    """``p = 0.012``; ``p ≤ 0.001`` at the floor of a permutation test with ``permutations`` draws
    (``sides``: 2 for a two-sided p, whose floor is twice as high); ``p < 0.001`` below that
    without a floor; a dash for a missing p. ``label=False`` drops the ``p`` for a table column
    headed p (``0.012``, ``≤ 0.001``)."""
    if p is None:
        return MISSING
    prefix = "p " if label else ""
    if permutations is not None and at_floor(p, permutations, sides):
        return f"{prefix}≤ {bound(sides / (permutations + 1))}"
    if p < SMALLEST:
        return f"{prefix}< {SMALLEST:g}"
    return f"{prefix}= {p:.3g}" if label else f"{p:.3g}"


def format_adjusted_p(
    adjusted: float | None, raw: float, permutations: int, *, label: bool = True, sides: int = 1
) -> str:
    """An adjusted p (Holm, Benjamini-Hochberg) of a permutation p ``raw``: ``p ≤ 0.014`` when the
    raw p sits at its floor (the adjusted value is then a bound), ``p = 0.014`` otherwise."""
    if adjusted is None:
        return MISSING
    prefix = "p " if label else ""
    if at_floor(raw, permutations, sides):
        return f"{prefix}≤ {adjusted:.3g}"
    if adjusted < SMALLEST:
        return f"{prefix}< {SMALLEST:g}"
    return f"{prefix}= {adjusted:.3g}" if label else f"{adjusted:.3g}"
