"""Speed of the steering check (`amygdala steer RUN --check`) on the default model.

Target (issue 12): every concept of the run at 4 layers x 3 strengths, against 16 random
directions, in at most 3 minutes on this CPU. Printed side by side:

1. the whole check, timed as the library runs it (model already loaded; the load is printed apart);
2. one cell (one layer, one strength) by the check's fast path, which runs the blocks before the
   hook once per prompt and only the blocks after it per batch of directions, against the same cell
   by the plain way (a forward hook on the full model, every block, the LM head over every position),
   measured on a subset of the directions and scaled to all of them.

The machine is shared: each timing is the best of ``--repeats`` runs.

    python bench/steer_bench.py RUN [--repeats 1] [--subset 24]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from trainer.use.readout import open_run  # noqa: E402
from trainer.reporter import Reporter  # noqa: E402
from trainer.use.steering import (  # noqa: E402
    CHECK_STRENGTHS,
    N_RANDOM,
    SLOT_PROMPTS,
    SteeringRunner,
    check_layers,
    load_run_model,
    steering_check,
    steering_hook,
)

BUDGET_SECONDS = 180.0


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a run folder of the default model (`amygdala train --out /tmp/demo`)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--subset", type=int, default=24, help="directions timed the plain way (scaled to all)")
    args = parser.parse_args()

    run = open_run(args.run)
    started = time.perf_counter()
    lm = load_run_model(run, Reporter())
    load = time.perf_counter() - started
    layers = check_layers(run.info.model.n_layers, run.layers)
    n_directions = len(run.concepts) + N_RANDOM
    print(f"{len(run.concepts)} concepts + {N_RANDOM} random directions, layers {layers}, strengths {list(CHECK_STRENGTHS)}, {len(SLOT_PROMPTS)} prompts")
    print(f"model load: {load:.1f} s (not counted below); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    holder = {}
    cpu = time.process_time()
    whole = best(lambda: holder.update(report=steering_check(run, lm, layers, CHECK_STRENGTHS)), args.repeats)
    cpu = (time.process_time() - cpu) / args.repeats
    print(
        f"1. whole check: {whole:.1f} s wall ({cpu:.1f} s CPU over {torch.get_num_threads()} threads) against a budget of "
        f"{BUDGET_SECONDS:.0f} s -> {'within' if whole <= BUDGET_SECONDS else 'OVER'} ({whole / BUDGET_SECONDS:.2f} of it)"
    )
    rec = holder["report"].recommended
    print(f"   recommended layers {rec.layers}, strength {rec.strength:g}, median z {rec.median_z:+.2f}")

    layer = layers[len(layers) // 2]
    norm = run.info.extraction.mean_norm[str(layer)]
    subset = min(args.subset, n_directions)
    directions = torch.from_numpy((run.vectors[run.layers.index(layer)][:subset] * 0.5 * norm).astype(np.float32))
    vocab = torch.arange(len(lm.tokenizer))
    fast_runner = SteeringRunner(lm, SLOT_PROMPTS)
    fast = best(lambda: fast_runner.steered(layer, directions, vocab), args.repeats)

    def plain() -> None:
        with torch.inference_mode():
            for d in directions:
                with steering_hook(lm, layer, d):
                    for prompt in SLOT_PROMPTS:
                        ids = lm.tokenizer(prompt, return_tensors="pt")["input_ids"]
                        torch.log_softmax(lm.model(input_ids=ids).logits[0, -1].float(), -1)

    slow = best(plain, args.repeats)
    scale = n_directions / subset
    print(
        f"2. one cell (layer {layer}), {subset} directions timed, scaled to {n_directions}: "
        f"fast path {fast * scale:.1f} s, plain hook {slow * scale:.1f} s -> {slow / fast:.1f}x"
    )


if __name__ == "__main__":
    main()
