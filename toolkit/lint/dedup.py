"""Near-duplicate texts: MinHash over word bigrams, banded for locality-sensitive hashing.

Each text gets 128 MinHash values (multiply-shift hashes of its word bigrams, built from
the tokenizer's stable 64-bit word hashes), grouped into bands; two texts that agree on a
whole band become a candidate pair, and candidates are confirmed with the exact Jaccard
similarity of their bigram sets. Bands are stored as hex in the lint cache, so a warm run
finds candidates without numpy or spaCy.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import TYPE_CHECKING

from toolkit.lint.textutil import words

if TYPE_CHECKING:
    import numpy

N_HASHES = 128
_HEX_PER_BAND = 8


def rows_per_band(threshold: float) -> int:
    """Fewer rows per band catch lower similarities: at 0.5 and 4 rows, 87% of pairs; at 0.6, 99%."""
    return 4 if threshold >= 0.5 else 2 if threshold >= 0.3 else 1


def shingles(body: str) -> set[str]:
    tokens = words(body)
    if len(tokens) < 2:
        return set(tokens)
    return {f"{a} {b}" for a, b in zip(tokens, tokens[1:])}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def bands(word_hashes: "numpy.ndarray", rows: int) -> str:
    """The LSH band keys of a text, given its words' 64-bit hashes in order ("" without words)."""
    import numpy as np

    if not len(word_hashes):
        return ""
    multipliers, offsets, band_mix, pair_mix = _hash_parameters(rows)
    with np.errstate(over="ignore"):
        grams = word_hashes[:-1] * pair_mix + word_hashes[1:] if len(word_hashes) > 1 else word_hashes
        grams = np.unique(grams)
        mixed = grams[None, :] * multipliers[:, None] + offsets[:, None]
        signature = (mixed >> np.uint64(32)).min(axis=1).reshape(-1, rows)
        keys = ((signature * band_mix[None, :]).sum(axis=1) >> np.uint64(32)).astype(">u4")
    return keys.tobytes().hex()


_PARAMETERS: dict[int, tuple] = {}


def _hash_parameters(rows: int) -> tuple:
    import numpy as np

    if rows not in _PARAMETERS:
        rng = np.random.default_rng(20260417)
        multipliers = rng.integers(1, 2**63, size=N_HASHES, dtype=np.uint64) | np.uint64(1)
        offsets = rng.integers(0, 2**63, size=N_HASHES, dtype=np.uint64)
        band_mix = rng.integers(1, 2**63, size=rows, dtype=np.uint64) | np.uint64(1)
        pair_mix = rng.integers(1, 2**63, dtype=np.uint64) | np.uint64(1)
        _PARAMETERS[rows] = (multipliers, offsets, band_mix, pair_mix)
    return _PARAMETERS[rows]


def min_shared_bands(threshold: float, rows: int) -> int:
    """How many bands a pair must share to be checked: a quarter of what a pair at the
    threshold shares on average (at 0.8 and 4 rows, 3 of 32; such a pair falls below
    that about once in 100,000), and at least one."""
    return max(1, int(N_HASHES // rows * threshold**rows / 4))


def candidate_pairs(band_keys: dict[str, str], min_shared: int = 1) -> list[tuple[str, str]]:
    """Pairs of texts (sorted names) that share at least ``min_shared`` band keys.

    Keys are plain strings (a key equal across two different bands only adds a candidate,
    which the exact check then drops); strings are not tracked by the garbage collector,
    which keeps this loop cheap on large corpora.
    """
    first: dict[str, str] = {}
    shared: dict[str, list[str]] = {}
    for name, hexes in band_keys.items():
        for i in range(0, len(hexes), _HEX_PER_BAND):
            key = hexes[i : i + _HEX_PER_BAND]
            other = first.setdefault(key, name)
            if other != name:
                shared.setdefault(key, [other]).append(name)
    counts: Counter[tuple[str, str]] = Counter()
    for members in shared.values():
        counts.update(combinations(sorted(set(members)), 2))
    return sorted(pair for pair, n in counts.items() if n >= min_shared)
