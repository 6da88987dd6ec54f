"""Small linear-algebra and layer helpers shared by the analysis steps (a leaf: numpy only).

quality, validation, triage, plots and report import these from here, never from each other or
from ``trainer.analysis.pipeline``, so the analysis modules form no import circle.
"""

from __future__ import annotations

import numpy as np


def unit(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``x`` scaled to unit L2 norm along ``axis``; zero vectors stay zero."""
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1.0, norm)


def gram_matrices(x: np.ndarray) -> np.ndarray:
    """[..., n, hidden] -> [..., n, n] inner products in float64 (one batched matrix product)."""
    x64 = x.astype(np.float64)
    return x64 @ np.swapaxes(x64, -1, -2)


def thirds(layers: list[int]) -> dict[str, list[int]]:
    """Split the run's layers into early, middle and deep thirds; the deep third is never empty."""
    parts = np.array_split(np.array(sorted(layers))[::-1], 3)
    deep, middle, early = (sorted(int(x) for x in part) for part in parts)
    return {"early": early, "middle": middle, "deep": deep}


def default_report_layer(layers: list[int]) -> int:
    """The middle layer of the deep third: deep enough for abstract features, clear of the last block's peculiarities."""
    deep = thirds(layers)["deep"]
    return deep[len(deep) // 2]
