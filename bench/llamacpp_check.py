"""One-off check that a run's llama.cpp control vectors steer where amygdala's hook does.

amygdala writes the vector of its layer L as ``direction.(L-1)`` because llama.cpp adds a control
vector's row k to the output of block k (0-based), which is where amygdala's steering hook for
layer L = k+1 adds it. This script asks llama.cpp itself: it loads the bundled GGUF model in
llama.cpp (llama-cpp-python), steers it with ``direction.k`` read from the run's
``gguf/<concept>.gguf`` at ``--strength``, and compares the next-token distribution of a few prompts
with transformers (the same GGUF, converted) steered by a hook after block k, after block k-1 and
after block k+1. The right block gives a KL divergence near the unsteered runtime difference
between the two engines; a block off gives much more.

It needs llama-cpp-python, which compiles llama.cpp from source (about 25 minutes on 2 cores), so
it is not part of ``make test`` or ``make bench``:

    CMAKE_BUILD_PARALLEL_LEVEL=2 pip install --no-deps llama-cpp-python
    python bench/llamacpp_check.py runs/demo --concept joyful --block 19 --strength 80
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PROMPTS = [
    "Tell me about your morning.",
    "The letter on the table said",
    "When the door opened, she",
    "Write one sentence about the sea.",
]


def kl(p_log: np.ndarray, q_log: np.ndarray) -> float:
    """KL(p || q) in nats from two log-probability vectors."""
    p = np.exp(p_log)
    return float(np.sum(p * (p_log - q_log)))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())


def llama_logprobs(llm, prompt_ids: list[int], vector: np.ndarray | None, block: int) -> np.ndarray:
    """Next-token log-probabilities from llama.cpp with ``vector`` added after ``block`` (0-based)."""
    import llama_cpp

    n_embd, n_layer = llm._model.n_embd(), llama_cpp.llama_model_n_layer(llm._model.model)
    if vector is None:
        status = llama_cpp.llama_set_adapter_cvec(llm._ctx.ctx, None, 0, n_embd, -1, -1)
    else:
        # llama.cpp's buffer holds one row per block from block 1 on (row i-1 is block i), the layout
        # its own --control-vector loader fills from a file's direction.i.
        data = np.zeros((n_layer - 1) * n_embd, dtype=np.float32)
        data[(block - 1) * n_embd : block * n_embd] = vector
        pointer = data.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        status = llama_cpp.llama_set_adapter_cvec(llm._ctx.ctx, pointer, data.size, n_embd, block, block)
    if status != 0:
        raise SystemExit(f"llama.cpp refused the control vector (status {status})")
    llm.reset()
    llm.eval(prompt_ids)
    return log_softmax(np.asarray(llm.scores[len(prompt_ids) - 1], dtype=np.float64))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder trained with --export-gguf on the bundled model")
    parser.add_argument("--concept", default="joyful")
    parser.add_argument("--block", type=int, default=19, help="llama.cpp block k (0-based): direction.k = amygdala layer k+1")
    parser.add_argument("--strength", type=float, default=80.0)
    args = parser.parse_args()

    try:
        import llama_cpp
    except ImportError:
        raise SystemExit("llama-cpp-python is not installed (see this script's docstring)") from None
    import torch

    from trainer.extraction.model import bundled_gguf, load_model, resolve_model
    from trainer.runfolder.folder import read_control_vector
    from trainer.use.steering import steering_hook

    _, directions = read_control_vector(args.run / "gguf" / f"{args.concept}.gguf")
    if args.block not in directions:
        raise SystemExit(f"{args.concept}.gguf has no direction.{args.block} (has {sorted(directions)})")
    vector = args.strength * directions[args.block].astype(np.float32)

    llm = llama_cpp.Llama(model_path=str(bundled_gguf()), n_ctx=256, logits_all=True, verbose=False, seed=0, n_threads=2)
    if llm._model.n_embd() != vector.size:
        raise SystemExit(f"the run's vectors have {vector.size} dimensions, the bundled model {llm._model.n_embd()}")
    lm = load_model(resolve_model(None), "float32", "cpu")
    torch_vector = torch.from_numpy(vector)

    rows = {"unsteered": [], "hook after block k": [], "hook after block k-1": [], "hook after block k+1": [], "llama.cpp steered vs unsteered": []}
    for prompt in PROMPTS:
        ids = llm.tokenize(prompt.encode(), add_bos=False)
        plain = llama_logprobs(llm, ids, None, args.block)
        steered = llama_logprobs(llm, ids, vector, args.block)
        tokens = torch.tensor([ids])

        def hf(hook_block: int | None) -> np.ndarray:
            with torch.inference_mode():
                if hook_block is None:
                    logits = lm.model(input_ids=tokens).logits[0, -1]
                else:
                    with steering_hook(lm, hook_block + 1, torch_vector):  # amygdala layer = block + 1
                        logits = lm.model(input_ids=tokens).logits[0, -1]
            return torch.log_softmax(logits.double(), -1).numpy()

        rows["unsteered"].append(kl(plain, hf(None)))
        rows["hook after block k"].append(kl(steered, hf(args.block)))
        rows["hook after block k-1"].append(kl(steered, hf(args.block - 1)))
        rows["hook after block k+1"].append(kl(steered, hf(args.block + 1)))
        rows["llama.cpp steered vs unsteered"].append(kl(steered, plain))

    print(f"{args.concept}: direction.{args.block} (amygdala layer {args.block + 1}) at strength {args.strength}, "
          f"{len(PROMPTS)} prompts, next-token KL(llama.cpp || transformers) in nats, mean (max):")
    for name, values in rows.items():
        print(f"  {name:32s} {np.mean(values):8.4f} ({np.max(values):.4f})")


if __name__ == "__main__":
    main()
