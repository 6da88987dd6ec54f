"""Logit lens of concept directions: which tokens a direction promotes through the model's final norm
and unembedding, and a flag for directions that mostly promote narrator or format tokens.

A unit direction v goes through the final norm as a direction: RMSNorm multiplies by its gain g
(the 1/rms scale does not change which tokens rank first), LayerNorm centres v and multiplies by g
(its bias adds the same logits to every concept, so it is left out). logits = W_U (g * v), W_U the
unembedding (``lm_head.weight``, or the input embedding when the two are tied). The flag: at least
``FLAG_SHARE`` of the top ``TOP_K`` tokens are pronouns, punctuation or template tokens, a sign the
direction carries who narrates or how the text is laid out rather than the emotion. Random unit
directions through the same lens give the chance rate of that flag.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import numpy as np

from schemas.analyses import LensConcept, LensFlag, LensLayer, LensReport, LensToken, TokenKind
from trainer.extraction.weights import Unembedding

TOP_K = 10
FLAG_SHARE = 0.5
RANDOM_DIRECTIONS = 100
SEED = 0

PRONOUNS = frozenset(
    "i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his himself "
    "she her hers herself it its itself they them their theirs themselves one someone somebody everyone "
    "nobody anyone who whom whose this that these those".split()
)
# Words a chat template wraps every turn in (the role names); special tokens are read from the tokenizer.
TEMPLATE_WORDS = frozenset({"system", "user", "assistant"})


class TokenTable:
    """Decodes token ids lazily and says which are pronouns, punctuation or template tokens."""

    def __init__(self, decode: Callable[[int], str], special_ids: frozenset[int]) -> None:
        self._decode = decode
        self._special = special_ids
        self._cache: dict[int, str] = {}

    def text(self, token_id: int) -> str:
        if token_id not in self._cache:
            self._cache[token_id] = self._decode(token_id)
        return self._cache[token_id]

    def kind(self, token_id: int) -> TokenKind | None:
        return token_kind(self.text(token_id), token_id in self._special)


def token_kind(text: str, special: bool = False) -> TokenKind | None:
    """pronoun, punctuation (nothing but punctuation, symbols or white space) or template, else None."""
    word = text.strip().lower()
    if special or word in TEMPLATE_WORDS or re.fullmatch(r"<\|?[\w.-]+\|?>", word):
        return "template"
    if not word or all(unicodedata.category(ch)[0] in "PSZC" for ch in word):
        return "punctuation"
    if word.strip("'’") in PRONOUNS:
        return "pronoun"
    return None


def lens_logits(unembedding: Unembedding, directions: np.ndarray) -> np.ndarray:
    """[n, hidden] unit directions -> [n, vocab] logits through the final norm's gain (and centring) and W_U.
    The gain multiplies the direction rather than W_U: the same logits, a vector instead of a matrix scaled."""
    x = directions.astype(np.float32)
    if unembedding.centre:
        x = x - x.mean(axis=-1, keepdims=True)
    return (x * unembedding.gain) @ unembedding.weight.T


def _ranked(logits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the k highest and k lowest logits per row, in rank order."""
    k = min(k, logits.shape[1])
    top = np.argpartition(-logits, k - 1, axis=1)[:, :k]
    bottom = np.argpartition(logits, k - 1, axis=1)[:, :k]
    rows = np.arange(logits.shape[0])[:, None]
    top = np.take_along_axis(top, np.argsort(-logits[rows, top], axis=1), axis=1)
    bottom = np.take_along_axis(bottom, np.argsort(logits[rows, bottom], axis=1), axis=1)
    return top, bottom


def _leak_shares(top: np.ndarray, tokens: TokenTable) -> np.ndarray:
    return np.array([np.mean([tokens.kind(int(t)) is not None for t in row]) for row in top])


def logit_lens(
    vectors: np.ndarray,
    layers: list[int],
    concepts: list[str],
    unembedding: Unembedding,
    lens_layers: list[int],
    *,
    top_k: int = TOP_K,
    flag_share: float = FLAG_SHARE,
    random_directions: int = RANDOM_DIRECTIONS,
    seed: int = SEED,
) -> LensReport:
    """vectors [n_layers, n_concepts, hidden] unit rows; the lens at each of ``lens_layers``."""
    tokens = TokenTable(unembedding.decode, unembedding.special_ids)

    def listed(ids: np.ndarray, logits: np.ndarray) -> list[LensToken]:
        return [LensToken(token=tokens.text(int(i)), logit=round(float(logits[i]), 4), kind=tokens.kind(int(i))) for i in ids]

    out_layers, flags = [], []
    for layer in lens_layers:
        logits = lens_logits(unembedding, vectors[layers.index(layer)])
        top, bottom = _ranked(logits, top_k)
        shares = _leak_shares(top, tokens)
        per_concept = {}
        for ci, concept in enumerate(concepts):
            flagged = bool(shares[ci] >= flag_share)
            per_concept[concept] = LensConcept(
                top=listed(top[ci], logits[ci]), bottom=listed(bottom[ci], logits[ci]), leak_share=round(float(shares[ci]), 4), flagged=flagged
            )
            if flagged:
                leaked = [tokens.text(int(t)) for t in top[ci] if tokens.kind(int(t)) is not None]
                flags.append(LensFlag(concept=concept, layer=layer, leak_share=round(float(shares[ci]), 4), tokens=leaked))
        out_layers.append(LensLayer(layer=layer, concepts=per_concept))
    flags.sort(key=lambda f: (-f.leak_share, f.layer, f.concept))

    rng = np.random.default_rng(seed)
    random = rng.normal(size=(random_directions, unembedding.weight.shape[1]))
    random /= np.linalg.norm(random, axis=1, keepdims=True)
    random_top, _ = _ranked(lens_logits(unembedding, random), top_k)
    random_shares = _leak_shares(random_top, tokens)
    return LensReport(
        model=unembedding.source,
        unembedding=unembedding.tensor,
        norm=unembedding.norm,
        vocab_size=int(unembedding.weight.shape[0]),
        top_k=top_k,
        flag_share=flag_share,
        random_flag_rate=round(float((random_shares >= flag_share).mean()), 4),
        random_leak_share=round(float(random_shares.mean()), 4),
        random_directions=random_directions,
        layers=out_layers,
        flags=flags,
    )
