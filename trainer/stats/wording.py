"""How a p-value reads in every report (terminal, triage.md, report.html)."""

from __future__ import annotations

FLOOR_TOLERANCE = 1e-12


def format_p(p: float | None, permutations: int | None = None, *, label: bool = True) -> str:
    """``p = 0.012``; ``p ≤ 0.001`` at the floor 1 / (P + 1) of a permutation test with P draws
    (there the true p may be smaller); a dash for a missing p. ``label=False`` drops the ``p``
    for a table column headed p (``0.012``, ``≤ 0.001``)."""
    if p is None:
        return "–"
    prefix = "p " if label else ""
    if permutations is not None:
        floor = 1.0 / (permutations + 1)
        if p <= floor + FLOOR_TOLERANCE:
            return f"{prefix}≤ {floor:.3g}"
    return f"{prefix}= {p:.3g}" if label else f"{p:.3g}"
