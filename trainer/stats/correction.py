"""Multiple-testing corrections of a family of p-values.

Benjamini-Hochberg is SciPy's ``false_discovery_control``. Holm's step-down is written here: SciPy
has none, and statsmodels' ``multipletests`` would bring statsmodels and pandas for five lines.
"""

from __future__ import annotations

import numpy as np


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment (family-wise error rate, valid under any dependence)."""
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values): rejecting q <= alpha controls the false
    discovery rate at alpha for independent or positively dependent tests."""
    from scipy.stats import false_discovery_control

    p = np.asarray(p, dtype=np.float64)
    if p.size == 0:
        return p
    return np.asarray(false_discovery_control(p, method="bh"), dtype=np.float64)
