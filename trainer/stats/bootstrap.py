"""A percentile bootstrap that resamples whole groups.

Texts of one concept (or of one paired scenario) are not independent of each other, so the unit
drawn with replacement is the group, and every text of a drawn group comes along.
"""

from __future__ import annotations

import numpy as np

LEVEL = 0.95


def grouped_bootstrap(values: np.ndarray, groups: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """values [n] or [n, k], groups [n] -> [draws] or [draws, k]: the mean of ``values`` in each resample.

    A resample draws as many groups as there are, with replacement (multinomial counts), and the
    mean is over the texts of the drawn groups, each counted as often as its group was drawn."""
    values = np.asarray(values, dtype=np.float64)
    flat = values.ndim == 1
    matrix = values[:, None] if flat else values
    codes = np.unique(groups, return_inverse=True)[1]
    n_groups = int(codes.max()) + 1
    sums = np.zeros((n_groups, matrix.shape[1]))
    np.add.at(sums, codes, matrix)
    sizes = np.bincount(codes, minlength=n_groups).astype(np.float64)
    counts = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=draws).astype(np.float64)
    means = (counts @ sums) / (counts @ sizes)[:, None]
    return means[:, 0] if flat else means


def bootstrap_interval(resampled: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """The percentile interval of bootstrap resamples (first axis): (low, high) at ``level``."""
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(np.asarray(resampled, dtype=np.float64), [tail, 100 - tail], axis=0)
    return low, high
