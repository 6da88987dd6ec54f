"""The pooled states of a list of texts: from the activation cache where present, from the model otherwise.

States are handed to *sinks* a batch at a time (the vector sums, the run folder's per-layer arrays),
so nothing the size of the corpus times the hidden size is ever held in memory. Under a ``torchrun``
launch every rank first extracts its own share of the texts the cache lacks into the cache; then
rank 0 alone streams every text from the cache into the sinks, and the other ranks return ``None``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from schemas.run import CacheStats, TrainConfig
from base.errors import AmygdalaError
from trainer.extraction.cache import ActivationCache, text_key
from trainer.extraction.distributed import Ranks, barrier, gather_counts, rank_device, shard
from trainer.extraction.extract import Pooling
from trainer.extraction.model import ModelSource, placement
from trainer.reporter import Reporter

if TYPE_CHECKING:
    from trainer.extraction.model import LoadedModel

# Texts tokenized and extracted together: bounds the token lists held at once, whatever the corpus.
EXTRACT_CHUNK = 1024
# Cached texts read before they are handed on as one batch.
READ_BATCH = 64


# Takes the texts at ``indices`` and their states [n_layers, len(indices), hidden] float32.
StateSink = Callable[[Sequence[int], np.ndarray], None]


@dataclass
class ArraySink:
    """Collects every state in memory: for small sets (neutral texts, a readout of a few texts)."""

    states: np.ndarray  # [n_layers, n_texts, hidden]

    @classmethod
    def empty(cls, n_layers: int, n_texts: int, hidden: int) -> "ArraySink":
        return cls(np.zeros((n_layers, n_texts, hidden), dtype=np.float32))

    def add(self, indices: Sequence[int], states: np.ndarray) -> None:
        self.states[:, list(indices)] = states


@dataclass
class ExtractionStats:
    cache: CacheStats
    tokens: int
    batch_size: int
    load_seconds: float = 0.0
    texts_per_rank: list[int] = field(default_factory=lambda: [0])
    model: "LoadedModel | None" = None


@dataclass
class _Extractor:
    """Loads the model on first need and runs texts through it into the cache and the sinks."""

    source: ModelSource
    config: TrainConfig
    layers: list[int]
    reporter: Reporter
    device: str
    dtype: str
    lm: "LoadedModel | None" = None
    tokenizer: object | None = None
    tokens: int = 0
    batch_size: int = 0
    load_seconds: float = 0.0

    def run(self, inputs: Sequence[str], indices: list[int], keys: Sequence[str], cache: ActivationCache | None,
            sinks: Sequence[StateSink]) -> None:
        from trainer.extraction.extract import iter_pooled, model_inputs, tokenize
        from trainer.extraction.model import load_model

        if not indices:
            return
        if self.lm is None:
            self.reporter.step(f"loading {self.source.name} ({self.dtype} on {self.device})")
            started = time.perf_counter()
            self.lm = load_model(self.source, self.dtype, self.device, self.config.device_map, self.tokenizer)
            self.load_seconds += time.perf_counter() - started
        pooling = Pooling(self.config.pool, self.config.skip_tokens)
        self.batch_size = self.batch_size or self.config.batch_size
        with self.reporter.progress("extracting", len(indices)) as advance:
            for start in range(0, len(indices), EXTRACT_CHUNK):
                chunk = indices[start : start + EXTRACT_CHUNK]
                texts = model_inputs([inputs[i] for i in chunk], self.lm.tokenizer, self.config.chat_template)
                token_ids = tokenize(texts, self.lm.tokenizer, self.config.chat_template)
                self.tokens += sum(map(len, token_ids))
                for batch in iter_pooled(self.lm, token_ids, self.layers, pooling, self.batch_size):
                    rows = [chunk[position] for position in batch.indices]
                    if cache is not None:
                        for j, row in enumerate(rows):
                            cache.put(keys[row], self.layers, batch.states[:, j])
                    for sink in sinks:
                        sink(rows, batch.states)
                    self.batch_size = batch.batch_size
                    advance(len(rows))


def _open_cache(source: ModelSource, config: TrainConfig, dtype: str, tokenizer, cache_dir: Path) -> ActivationCache:
    from trainer.extraction.extract import chat_template_of

    pooling = Pooling(config.pool, config.skip_tokens)
    template = chat_template_of(tokenizer) if config.chat_template else None
    return ActivationCache.open(
        cache_dir,
        {
            "model": source.identity,
            "revision": source.revision,
            "dtype": dtype,
            "pool": pooling.mode,
            # skip_tokens means nothing to last-token pooling: such runs share entries.
            "skip_tokens": pooling.skip_tokens if pooling.mode == "mean" else None,
            "chat_template": hashlib.sha256(template.encode()).hexdigest() if template else None,
        },
    )


def _chunks(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(start + size, n))


def _serve_cached(keys: list[str], layers: list[int], cache: ActivationCache | None, sinks: Sequence[StateSink]) -> list[int]:
    """Hand every cached text's states to the sinks, in batches; the indices of the texts still to extract."""
    pending: list[int] = []
    for rows in _chunks(len(keys), READ_BATCH):
        found, states = [], []
        for i in rows:
            cached = cache.get(keys[i], layers) if cache is not None else None
            if cached is None:
                pending.append(i)
            else:
                found.append(i)
                states.append(cached)
        if found:
            stacked = np.stack(states, axis=1)
            for sink in sinks:
                sink(found, stacked)
    return pending


def _cache_stats(cache: ActivationCache | None, n_texts: int, hits_before: int | None) -> CacheStats:
    """The cache figures of run.json; ``hits_before``: the texts found before the ranks extracted theirs (distributed)."""
    if cache is None:
        return CacheStats(directory=None, hits=0, misses=n_texts, corrupt=0)
    if hits_before is not None:
        return CacheStats(directory=str(cache.directory), hits=hits_before, misses=n_texts - hits_before, corrupt=cache.corrupt)
    return CacheStats(directory=str(cache.directory), hits=cache.hits, misses=cache.misses, corrupt=cache.corrupt)


def extract(
    source: ModelSource,
    inputs: Sequence[str],
    layers: list[int],
    config: TrainConfig,
    cache_dir: Path | None,
    reporter: Reporter,
    sinks: Sequence[StateSink],
    *,
    ranks: Ranks = Ranks(),
    loaded: "LoadedModel | None" = None,
) -> ExtractionStats | None:
    """Hand the pooled states of every text in ``inputs`` to ``sinks``; None on ranks other than 0."""
    from trainer.extraction.model import load_tokenizer

    dtype, device = placement(config.dtype, config.device, config.device_map)
    device = rank_device(ranks, device)
    tokenizer = loaded.tokenizer if loaded else (load_tokenizer(source) if config.chat_template else None)
    cache = _open_cache(source, config, dtype, tokenizer, cache_dir) if cache_dir is not None else None
    extractor = _Extractor(source, config, layers, reporter, device, dtype, lm=loaded, tokenizer=tokenizer)
    keys = [text_key(text) for text in inputs]

    other_ranks_tokens = 0
    if ranks.distributed:
        if cache is None:
            raise AmygdalaError("a distributed run needs the activation cache, where the ranks' texts meet: drop --no-cache")
        barrier(ranks)  # every rank looks at the same cache, before any rank writes to it
        missing = [i for i, key in enumerate(keys) if not cache.has(key, layers)]
        barrier(ranks)
        mine = shard(missing, [len(text) for text in inputs], ranks)
        extractor.run(inputs, mine, keys, cache, sinks=())
        per_rank = gather_counts(ranks, len(mine), extractor.tokens)
        texts_per_rank = [texts for texts, _ in per_rank]
        other_ranks_tokens = sum(tokens for _, tokens in per_rank) - extractor.tokens
        if not ranks.is_main:
            return None
        hits_before = len(inputs) - len(missing)

    pending = _serve_cached(keys, layers, cache, sinks)
    extractor.run(inputs, pending, keys, cache, sinks)

    if ranks.distributed:
        # Rank 0 re-extracts only entries that went missing or corrupt after the ranks wrote them.
        texts_per_rank[0] += len(pending)
    else:
        texts_per_rank, hits_before = [len(pending)], None
    return ExtractionStats(
        cache=_cache_stats(cache, len(inputs), hits_before),
        tokens=other_ranks_tokens + extractor.tokens,
        batch_size=extractor.batch_size or config.batch_size,
        load_seconds=extractor.load_seconds,
        texts_per_rank=texts_per_rank,
        model=extractor.lm,
    )
