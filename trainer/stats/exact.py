"""Exact tests, where the null distribution is known in closed form and nothing is drawn."""

from __future__ import annotations


def hypergeometric_p(hits: int, population: int, successes: int, draws: int) -> float:
    """P(at least ``hits`` successes among ``draws`` taken without replacement from a ``population``
    holding ``successes``): the enrichment p of, say, same-cluster pairs among the most similar ones."""
    from scipy.stats import hypergeom

    return float(hypergeom.sf(hits - 1, population, successes, draws))
