"""Near-duplicate texts: MinHash over word bigrams, banded for locality-sensitive hashing.

Each text gets 128 MinHash values (multiply-shift hashes of its word bigrams, built from
the tokenizer's stable 64-bit word hashes), grouped into bands; two texts that agree on a
whole band become a candidate pair, and candidates are confirmed with the exact Jaccard
similarity of their bigram sets. Bands are stored as hex in the lint cache, so a warm run
finds candidates without numpy or spaCy.
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

from toolkit.lint.textutil import words

if TYPE_CHECKING:
    import numpy

N_HASHES = 128
_RECALL = 0.995
_HEX_PER_BAND = 8


def rows_per_band(threshold: float) -> int:
    """The most rows per band that still make a pair at the threshold a candidate 99.5% of the
    time: more rows mean fewer candidates below it (6 rows, 21 bands at the default 0.8)."""
    rows = 1
    while rows < N_HASHES and 1 - (1 - threshold ** (rows + 1)) ** (N_HASHES // (rows + 1)) >= _RECALL:
        rows += 1
    return rows


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
        # The shift is monotonic, so it can follow the minimum (over 128 values, not 128 x n).
        signature = (grams[None, :] * multipliers[:, None] + offsets[:, None]).min(axis=1) >> np.uint64(32)
        n_bands = N_HASHES // rows
        keys = (signature[: n_bands * rows].reshape(n_bands, rows) * band_mix).sum(axis=1) >> np.uint64(32)
    return keys.astype(">u4").tobytes().hex()


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


def candidate_pairs(band_keys: dict[str, str]) -> list[tuple[str, str]]:
    """Pairs of texts (sorted names) that share at least one band key.

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
    pairs: set[tuple[str, str]] = set()
    for members in shared.values():
        pairs.update(combinations(sorted(set(members)), 2))
    return sorted(pairs)


def pairs_with(band_keys: dict[str, str], selected: set[str]) -> list[tuple[str, str]]:
    """The candidate pairs (sorted names) that involve a ``selected`` text: what a run on a few
    files (an editor's buffer, pre-commit's list) needs, without pairing the whole corpus."""
    owners: dict[str, list[str]] = {}
    for name in selected:
        hexes = band_keys.get(name, "")
        for i in range(0, len(hexes), _HEX_PER_BAND):
            owners.setdefault(hexes[i : i + _HEX_PER_BAND], []).append(name)
    pairs: set[tuple[str, str]] = set()
    if not owners:
        return []
    for name, hexes in band_keys.items():
        for i in range(0, len(hexes), _HEX_PER_BAND):
            for other in owners.get(hexes[i : i + _HEX_PER_BAND], ()):
                if other != name:
                    pairs.add((min(name, other), max(name, other)))
    return sorted(pairs)
