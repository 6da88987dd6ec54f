"""From texts to pooled hidden states: forward hooks on the decoder blocks, pooling inside the hook.

Layer ``idx`` is the output of decoder block ``idx - 1``, i.e. Hugging Face ``hidden_states[idx]``
(hooks on the blocks, because HF applies the final norm to its last hidden state only). The hook
pools at once, so no layer's full states outlive their block, and the forward pass stops
after the deepest requested block: the remaining blocks and the LM head are never run.
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import numpy as np

from schemas.run import PoolMode, TrainConfig
from base.errors import AmygdalaError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

    from trainer.extraction.model import LoadedModel


@dataclass(frozen=True)
class Pooling:
    """``last``: the last real token. ``mean``: real tokens from ``skip_tokens`` on, the skip capped at half the text."""

    mode: PoolMode = TrainConfig.model_fields["pool"].default
    skip_tokens: int = TrainConfig.model_fields["skip_tokens"].default


@dataclass
class PooledBatch:
    indices: list[int]
    states: np.ndarray  # float32 [n_layers, len(indices), hidden]
    batch_size: int  # the batch size in force, after any out-of-memory halving


class _StopForward(Exception):
    """Raised by the deepest hook: nothing after it is needed."""


def chat_template_of(tokenizer: "PreTrainedTokenizerBase") -> str:
    template = tokenizer.chat_template
    if not isinstance(template, str) or not template:
        raise AmygdalaError("--chat-template: this model's tokenizer has no chat template")
    return template


def model_inputs(texts: list[str], tokenizer: "PreTrainedTokenizerBase", chat_template: bool) -> list[str]:
    """The exact strings fed to the model: the text, or the text as a user turn of the chat template."""
    if not chat_template:
        return texts
    chat_template_of(tokenizer)
    return [
        tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False) for text in texts
    ]


def tokenize(inputs: list[str], tokenizer: "PreTrainedTokenizerBase", chat_template: bool) -> list[list[int]]:
    # A chat template already spells out its special tokens.
    encoded = tokenizer(inputs, add_special_tokens=not chat_template)["input_ids"]
    for ids in encoded:
        if not ids:
            raise AmygdalaError("a text tokenizes to nothing")
    return encoded


def pooling_weights(
    attention_mask: "torch.Tensor", pooling: Pooling, dtype: "torch.dtype"
) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Per row, the weights [batch, 1, tokens] (in the model's dtype) that average the pooled positions,
    and a float32 factor [batch, 1] that undoes the rounding of 1/count to that dtype.

    Positions are counted among real tokens, so left and right padding give the same selection.
    Pooling is then one batched matmul per layer, with no float32 copy of the layer's states.
    """
    real = attention_mask.bool()
    rank = attention_mask.long().cumsum(1) - 1
    length = real.sum(1, keepdim=True)
    if pooling.mode == "last":
        start = length - 1
    else:
        start = (length // 2).clamp(max=pooling.skip_tokens)
    select = real & (rank >= start)
    count = select.sum(1, keepdim=True).float()
    share = (1.0 / count).to(dtype)
    return (select.to(dtype) * share).unsqueeze(1), 1.0 / (share.float() * count)


def _pad(batch: list[list[int]], pad_id: int, side: str) -> tuple["torch.Tensor", "torch.Tensor"]:
    import torch

    width = max(map(len, batch))
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, tokens in enumerate(batch):
        cols = slice(width - len(tokens), width) if side == "left" else slice(0, len(tokens))
        ids[row, cols] = torch.tensor(tokens)
        mask[row, cols] = 1
    return ids, mask


@contextmanager
def _pooling_hooks(blocks: list["torch.nn.Module"], layers: list[int], pooled: dict[int, "torch.Tensor"], where: dict):
    import torch

    deepest = max(layers)

    def hook_for(layer: int):
        def hook(module, args, output):
            hidden = output[0] if isinstance(output, tuple) else output
            mean = torch.bmm(where["weights"].to(hidden.device), hidden)[:, 0]
            pooled[layer] = mean.float() * where["exact"].to(hidden.device)
            if layer == deepest:
                raise _StopForward

        return hook

    handles = [blocks[layer - 1].register_forward_hook(hook_for(layer)) for layer in layers]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _is_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def iter_pooled(
    lm: "LoadedModel",
    token_ids: list[list[int]],
    layers: list[int],
    pooling: Pooling,
    batch_size: int = 16,
) -> Iterator[PooledBatch]:
    """Pooled states of every sequence, a batch at a time, longest first (least padding, early OOM).

    An out-of-memory error halves the batch size and retries the same texts.
    """
    import torch

    model, tokenizer = lm.model, lm.tokenizer
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    takes_positions = "position_ids" in inspect.signature(model.forward).parameters
    order = sorted(range(len(token_ids)), key=lambda i: -len(token_ids[i]))
    pooled: dict[int, torch.Tensor] = {}
    where: dict[str, torch.Tensor] = {}
    start = 0
    with _pooling_hooks(lm.blocks, layers, pooled, where), torch.inference_mode():
        while start < len(order):
            chunk = order[start : start + batch_size]
            ids, mask = _pad([token_ids[i] for i in chunk], pad_id, tokenizer.padding_side)
            where["weights"], where["exact"] = pooling_weights(mask, pooling, model.dtype)
            kwargs = {"input_ids": ids.to(lm.input_device), "attention_mask": mask.to(lm.input_device)}
            if takes_positions:
                # Real tokens keep positions 0..n-1 whatever the padding side.
                kwargs["position_ids"] = (mask.cumsum(1) - 1).clamp(min=0).to(lm.input_device)
            pooled.clear()
            try:
                model(**kwargs, use_cache=False)
            except _StopForward:
                pass
            except Exception as exc:
                if not _is_out_of_memory(exc):
                    raise
                if batch_size == 1:
                    raise AmygdalaError("out of memory with a batch of one text; try a smaller --dtype or --device-map auto") from exc
                batch_size //= 2
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            states = torch.stack([pooled[layer] for layer in layers])
            if not torch.isfinite(states).all():
                raise AmygdalaError(f"the model produced NaN or infinite hidden states in {lm.dtype}; try --dtype float32")
            yield PooledBatch(indices=chunk, states=states.cpu().numpy(), batch_size=batch_size)
            start += len(chunk)
