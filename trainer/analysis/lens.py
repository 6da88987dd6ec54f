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

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from schemas.analyses import LensConcept, LensFlag, LensLayer, LensReport, LensToken, TokenKind
from base.errors import AmygdalaError

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

UNEMBEDDING_NAMES = ("lm_head.weight", "embed_out.weight", "model.embed_tokens.weight", "transformer.wte.weight", "gpt_neox.embed_in.weight")
FINAL_NORM_NAMES = (
    "model.norm",  # Llama, Mistral, Qwen, Gemma
    "model.language_model.norm",  # multimodal wrappers
    "transformer.ln_f",  # GPT-2, Falcon
    "gpt_neox.final_layer_norm",  # Pythia
    "model.final_layernorm",  # Phi
    "model.decoder.final_layer_norm",  # OPT
)


@dataclass(frozen=True)
class Unembedding:
    """The unembedding, the final norm's gain and centring, and a token classifier."""

    weight: np.ndarray  # [vocab, hidden] float32 W_U, as read
    gain: np.ndarray  # [hidden] the final norm's gain, applied to the direction (cheaper than scaling W_U)
    centre: bool  # LayerNorm: centre the direction first
    source: str
    tensor: str
    norm: str
    tokens: "TokenTable"

    def logits(self, directions: np.ndarray) -> np.ndarray:
        """[n, hidden] unit directions -> [n, vocab] logits."""
        x = directions.astype(np.float32)
        if self.centre:
            x = x - x.mean(axis=-1, keepdims=True)
        return (x * self.gain) @ self.weight.T


class TokenTable:
    """Decodes token ids lazily and says which are pronouns, punctuation or template tokens."""

    def __init__(self, decode, special_ids: set[int]) -> None:
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


def _tokenizer(folder: Path) -> TokenTable:
    from tokenizers import Tokenizer

    path = folder / "tokenizer.json"
    if not path.is_file():
        raise AmygdalaError("no tokenizer.json next to the weights: the lens cannot name tokens", folder)
    try:
        tokenizer = Tokenizer.from_file(str(path))
        added = json.loads(path.read_text(encoding="utf-8")).get("added_tokens") or []
    except Exception as exc:  # noqa: BLE001 - any tokenizer failure means the lens cannot name tokens
        raise AmygdalaError(f"unreadable tokenizer.json: {exc}", path) from exc
    special = {int(t["id"]) for t in added if isinstance(t, dict) and t.get("special") and "id" in t}
    return TokenTable(lambda i: tokenizer.decode([i], skip_special_tokens=False), special)


def load_unembedding(folder: Path, hidden: int) -> Unembedding:
    """Read the unembedding and final norm from a model folder's safetensors, one tensor at a time."""
    from safetensors import safe_open

    from trainer.analysis.quality import _read_tensor, _weight_files

    where: dict[str, Path] = {}
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    for path in _weight_files(folder):
        with safe_open(str(path), framework="numpy") as fh:
            for name in fh.keys():
                where.setdefault(name, path)
    tensor = next((n for n in UNEMBEDDING_NAMES if n in where), None)
    if tensor is None:
        raise AmygdalaError(f"no unembedding among {', '.join(UNEMBEDDING_NAMES)}", folder)
    weight = _read_tensor(where[tensor], tensor)
    if weight.ndim != 2 or weight.shape[1] != hidden:
        raise AmygdalaError(f"{tensor} has shape {list(weight.shape)}, expected [vocab, {hidden}]", folder)
    prefix = next((p for p in FINAL_NORM_NAMES if f"{p}.weight" in where), None)
    if prefix is None:
        gain, centre, norm = np.ones(hidden, np.float32), False, "none"
    else:
        gain = _read_tensor(where[f"{prefix}.weight"], f"{prefix}.weight").reshape(-1)
        if str(config.get("model_type", "")).startswith("gemma"):
            gain = 1.0 + gain  # Gemma's RMSNorm scales by (1 + weight)
        centre = f"{prefix}.bias" in where
        norm = "layernorm (centred, gain)" if centre else "rms gain"
    return Unembedding(
        weight=weight.astype(np.float32, copy=False),
        gain=gain.astype(np.float32),
        centre=centre,
        source=str(folder),
        tensor=tensor,
        norm=norm,
        tokens=_tokenizer(folder),
    )


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
    tokens = unembedding.tokens

    def listed(ids: np.ndarray, logits: np.ndarray) -> list[LensToken]:
        return [LensToken(token=tokens.text(int(i)), logit=round(float(logits[i]), 4), kind=tokens.kind(int(i))) for i in ids]

    out_layers, flags = [], []
    for layer in lens_layers:
        logits = unembedding.logits(vectors[layers.index(layer)])
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
    random_top, _ = _ranked(unembedding.logits(random), top_k)
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
