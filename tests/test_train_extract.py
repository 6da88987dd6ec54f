"""Hidden-state extraction on tiny random-weight models: pooling, padding, layer convention, OOM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from base.errors import AmygdalaError
from trainer.extraction.extract import Pooling, iter_pooled, model_inputs, tokenize
from trainer.extraction.model import decoder_blocks, load_model, resolve_model
from train_helpers import cache_dir, gpt2_dir, llama_dir, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("cache_dir")

# Lengths differ a lot so that every batch holds padding.
TEXTS = [text(seed, words) for seed, words in enumerate([8, 60, 25, 90, 12, 40, 70, 5])]


def _load(folder, padding_side="right"):
    lm = load_model(resolve_model(str(folder)), "float32", "cpu")
    lm.tokenizer.padding_side = padding_side
    return lm


def _pooled(lm, texts, layers, pooling, batch_size):
    ids = tokenize(model_inputs([t.strip() for t in texts], lm.tokenizer, False), lm.tokenizer, False)
    out = np.zeros((len(layers), len(texts), lm.source.hidden_size), dtype=np.float32)
    for batch in iter_pooled(lm, ids, layers, pooling, batch_size):
        out[:, batch.indices] = batch.states
    return out


def _reference(lm, body, layer, pooling):
    """Pool one unpadded text from Hugging Face's own hidden_states."""
    ids = lm.tokenizer(body, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        states = lm.model(ids, output_hidden_states=True).hidden_states[layer][0].float().numpy()
    if pooling.mode == "last":
        return states[-1]
    return states[min(pooling.skip_tokens, len(states) // 2) :].mean(0)


@pytest.mark.parametrize("architecture", ["llama", "gpt2"])
@pytest.mark.parametrize("pooling", [Pooling("last"), Pooling("mean", 0), Pooling("mean", 10)])
def test_pooled_states_are_the_same_alone_and_in_padded_batches(request, architecture, pooling):
    folder = request.getfixturevalue(f"{architecture}_dir")
    right, left = _load(folder, "right"), _load(folder, "left")
    layers = list(range(1, right.source.n_layers + 1))
    alone = _pooled(right, TEXTS, layers, pooling, batch_size=1)
    for lm in (right, left):
        batched = _pooled(lm, TEXTS, layers, pooling, batch_size=4)
        np.testing.assert_allclose(batched, alone, atol=1e-4, rtol=0)
    # Not vacuous: texts differ from one another.
    assert np.abs(alone[:, 0] - alone[:, 1]).max() > 1e-2


@pytest.mark.parametrize("pooling", [Pooling("last"), Pooling("mean", 0), Pooling("mean", 10), Pooling("mean", 500)])
def test_layer_idx_is_hugging_face_hidden_states_idx_before_the_final_norm(llama_dir, pooling):
    lm = _load(llama_dir)
    n = lm.source.n_layers
    body = TEXTS[3].strip()
    ours = _pooled(lm, [body], list(range(1, n + 1)), pooling, batch_size=1)[:, 0]
    for layer in range(1, n):
        np.testing.assert_allclose(ours[layer - 1], _reference(lm, body, layer, pooling), atol=1e-5)
    # HF's last hidden state has the final norm applied; the block's own output does not.
    assert np.abs(ours[n - 1] - _reference(lm, body, n, pooling)).max() > 1e-3


def test_mean_pooling_skip_is_capped_at_half_the_text(llama_dir):
    lm = _load(llama_dir)
    short = TEXTS[7].strip()  # a handful of tokens
    capped = _pooled(lm, [short], [1], Pooling("mean", 500), 1)
    half = len(lm.tokenizer(short)["input_ids"]) // 2
    np.testing.assert_allclose(capped, _pooled(lm, [short], [1], Pooling("mean", half), 1), atol=1e-6)
    assert np.abs(capped - _pooled(lm, [short], [1], Pooling("mean", 0), 1)).max() > 1e-3


def test_forward_pass_stops_after_the_deepest_requested_block(llama_dir):
    lm = _load(llama_dir)
    calls = []
    handle = lm.blocks[-1].register_forward_hook(lambda *args: calls.append(1))
    try:
        _pooled(lm, TEXTS[:2], [1], Pooling(), 2)
        assert calls == []
        _pooled(lm, TEXTS[:2], [lm.source.n_layers], Pooling(), 2)
        assert calls == [1]
    finally:
        handle.remove()


def test_out_of_memory_halves_the_batch_and_keeps_every_text(llama_dir):
    lm = _load(llama_dir)
    expected = _pooled(lm, TEXTS, [1, 2], Pooling(), 1)

    def refuse_big_batches(module, args, kwargs):
        hidden = args[0] if args else kwargs["hidden_states"]
        if hidden.shape[0] > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    handle = lm.blocks[0].register_forward_pre_hook(refuse_big_batches, with_kwargs=True)
    try:
        ids = tokenize([t.strip() for t in TEXTS], lm.tokenizer, False)
        batches = list(iter_pooled(lm, ids, [1, 2], Pooling(), batch_size=8))
    finally:
        handle.remove()
    assert [b.batch_size for b in batches] == [2] * 4
    got = np.zeros_like(expected)
    for b in batches:
        got[:, b.indices] = b.states
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_out_of_memory_with_one_text_is_a_clear_error(llama_dir):
    lm = _load(llama_dir)

    def refuse(module, args):
        raise RuntimeError("MPS backend out of memory")

    handle = lm.blocks[0].register_forward_pre_hook(refuse)
    try:
        with pytest.raises(AmygdalaError, match="out of memory with a batch of one text"):
            list(iter_pooled(lm, tokenize(["the cup"], lm.tokenizer, False), [1], Pooling(), 4))
    finally:
        handle.remove()


def test_batches_run_longest_first(llama_dir):
    lm = _load(llama_dir)
    ids = tokenize([t.strip() for t in TEXTS], lm.tokenizer, False)
    order = [i for b in iter_pooled(lm, ids, [1], Pooling(), 3) for i in b.indices]
    assert [len(ids[i]) for i in order] == sorted(map(len, ids), reverse=True)


def test_chat_template_wraps_the_text_as_a_user_turn(llama_dir):
    lm = _load(llama_dir)
    wrapped = model_inputs(["the cup"], lm.tokenizer, True)
    assert wrapped == ["<s> user the cup </s>"]
    # The template spells out its special tokens: no second BOS.
    assert tokenize(wrapped, lm.tokenizer, True)[0].count(lm.tokenizer.bos_token_id) == 1


def test_decoder_blocks_are_found_per_architecture_and_refused_otherwise(llama_dir, gpt2_dir):
    assert len(_load(llama_dir).blocks) == 3
    gpt2 = _load(gpt2_dir)
    assert gpt2.blocks[0] is gpt2.model.transformer.h[0]
    with pytest.raises(AmygdalaError, match="cannot find the 3 decoder blocks"):
        decoder_blocks(torch.nn.Linear(2, 2), 3)
