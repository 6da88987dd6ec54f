"""Permutation p-values, z-scores and bands against a drawn null.

Conventions, everywhere in amygdala:
- the null's draws are the last axis of ``null`` ([..., P]); ``observed`` has the leading shape;
- p = (1 + #draws at least as extreme) / (1 + P), so p is never below its floor 1 / (P + 1) and
  is a valid p-value for any P (the observed labelling counts as one of the draws);
- a draw within ``TIE_TOLERANCE`` of the observed value counts as at least as extreme: a tie
  never makes a result look stronger than it is;
- z = (observed - null mean) / null standard deviation, 0 when the null does not vary;
- the band is the central 95% of the draws (2.5th to 97.5th percentile); a one-sided bar is the
  95th percentile (``null_quantile``), the value a statistic must pass to be significant at 0.05.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from schemas.analysis import NullTest

Side = Literal["above", "below"]
TIE_TOLERANCE = 1e-12
BAND = (2.5, 97.5)


def permutation_p(observed: np.ndarray | float, null: np.ndarray, side: Side = "above") -> np.ndarray:
    """One-sided permutation p of ``observed`` against ``null`` [..., P] on ``side``."""
    observed = np.asarray(observed, dtype=np.float64)
    null = np.asarray(null, dtype=np.float64)
    draws = null.shape[-1]
    if side == "above":
        extreme = null >= observed[..., None] - TIE_TOLERANCE
    else:
        extreme = null <= observed[..., None] + TIE_TOLERANCE
    return (1 + extreme.sum(axis=-1)) / (1 + draws)


def two_sided_p(observed: np.ndarray | float, null: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(two-sided p, above): twice the smaller tail, capped at 1, and whether observed sits at or above the null mean."""
    above = permutation_p(observed, null, "above")
    below = permutation_p(observed, null, "below")
    return np.minimum(1.0, 2 * np.minimum(above, below)), np.asarray(observed) >= np.asarray(null).mean(axis=-1)


def max_statistic_p(observed: np.ndarray, null: np.ndarray) -> np.ndarray:
    """Family-wise p of each of ``observed`` [F] against the family maximum of ``null`` [F, P] in each draw:
    choosing the best member of the family (a layer, a component) is paid for."""
    return permutation_p(observed, np.asarray(null).max(axis=0)[None, :])


def z_score(observed: np.ndarray | float, null: np.ndarray) -> np.ndarray:
    """(observed - null mean) / null sd over the last axis; 0 where the null has no spread."""
    null = np.asarray(null, dtype=np.float64)
    mean, sd = null.mean(axis=-1), null.std(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, (np.asarray(observed, dtype=np.float64) - mean) / np.where(sd > 0, sd, 1.0), 0.0)


def null_band(null: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The central 95% of the null's draws (last axis): (2.5th, 97.5th percentile)."""
    low, high = np.percentile(np.asarray(null, dtype=np.float64), BAND, axis=-1)
    return low, high


def null_quantile(null: np.ndarray, level: float = 0.95) -> np.ndarray:
    """The ``level`` quantile of the null's draws (last axis, linear interpolation): the one-sided
    bar at 1 - ``level``, e.g. "the null's 95th percentile"."""
    return np.quantile(np.asarray(null, dtype=np.float64), level, axis=-1)


def label_permutations(codes: np.ndarray, permutations: int, rng: np.random.Generator) -> np.ndarray:
    """[1 + P, n] labels (codes, booleans or ratings, their dtype kept): the observed labelling first,
    then P shuffles across the units (so every group keeps its size)."""
    codes = np.asarray(codes)
    out = np.empty((1 + permutations, len(codes)), dtype=codes.dtype)
    out[0] = codes
    for p in range(1, permutations + 1):
        out[p] = rng.permutation(codes)
    return out


def null_test(
    observed: float,
    null: np.ndarray,
    *,
    side: Side = "above",
    p: float | None = None,
    p_adjusted: float | None = None,
) -> NullTest:
    """A statistic beside its null (mean, 95% band), z and p, rounded for JSON.

    ``p`` defaults to the one-sided permutation p on ``side``; pass it when the test's p comes from
    elsewhere (two-sided, or a family maximum)."""
    null = np.asarray(null, dtype=np.float64)
    if len(null):
        low, high = null_band(null)
        mean, z = float(null.mean()), float(z_score(observed, null))
    else:
        low = high = mean = np.nan
        z = 0.0
    if p is None:
        p = float(permutation_p(observed, null, side))
    return NullTest(
        value=round(float(observed), 5),
        null_mean=round(mean, 5),
        null_low=round(float(low), 5),
        null_high=round(float(high), 5),
        z=round(z, 3),
        p=round(float(p), 5),
        p_adjusted=None if p_adjusted is None else round(float(p_adjusted), 5),
        permutations=int(len(null)),
        side=side,
    )
