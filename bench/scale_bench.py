"""Extraction at scale on the default model: memory against corpus size, and 1 against 2 processes.

Builds synthetic corpora (short word-salad stories over 20 concepts, lint-clean under a config that
admits their length) and runs `amygdala train --no-analyze` on each as a fresh process with an empty
activation cache, so every text goes through the model. Printed side by side:

1. peak resident memory (the process's own maximum RSS, from wait4) at 2,000 and 20,000 texts:
   memory is bounded by a batch, so the target is growth within 20%;
2. texts per second of the extraction phase (run.json timings, model loading excluded) for one
   process and for `torchrun --nproc-per-node 2` on the 2,000-text corpus;
3. the size of the run folder and of the activation cache (its pooled states; a fresh cache folder
   also holds the one-time safetensors copy of the model, which is left out).

    python bench/scale_bench.py [--small 2000] [--large 20000] [--store-dtype float16] [--skip-large]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AMYGDALA = str(Path(sys.executable).parent / "amygdala")
CONCEPTS = [
    "afraid", "calm", "furious", "grateful", "joyful", "lonely", "proud", "bored", "curious", "ashamed",
    "hopeful", "jealous", "nervous", "relieved", "sad", "amused", "disgusted", "loving", "suspicious", "tired",
]
WORDS = (
    "kettle window table chair door street morning evening train bus ticket letter phone screen garden river "
    "bridge market stall coat shoe bag book page pen cup plate spoon bread soup walked opened closed carried "
    "placed turned looked waited counted folded read wrote poured crossed stopped lifted moved passed handed "
    "checked found left kept red blue small long narrow wooden metal wet dry old new second third again once"
).split()


def build_corpus(root: Path, n: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    corpus = root / "corpus"
    for i in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(18, 26))]
        path = corpus / "stories" / CONCEPTS[i % len(CONCEPTS)] / f"s{i:06d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{i} " + " ".join(words).capitalize() + ".\n")
    shutil.copy(REPO / "manifest.json", corpus / "manifest.json")
    (root / "pyproject.toml").write_text(
        '[tool.amygdala]\ncorpus = "corpus"\nmanifest = "corpus/manifest.json"\n'
        "[tool.amygdala.lint]\nstory-words = [10, 120]\nignore = [\"CV001\", \"DU001\"]\n"
    )
    return root


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def train(root: Path, out: Path, cache: Path, store_dtype: str, processes: int) -> dict:
    args = ["train", "--out", str(out), "--no-analyze", "--store-dtype", store_dtype]
    if processes == 1:
        command = [AMYGDALA, *args]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes),
                   "--no-python", AMYGDALA, *args]
    env = {**os.environ, "AMYGDALA_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"train failed ({' '.join(command)}):\n{stderr[-2000:]}")
    info = json.loads((out / "run.json").read_text())
    timings = info["timings"]
    extract = timings["extract"] - timings.get("extract_model_load", 0.0)
    return {
        "texts": info["corpus"]["n_texts"],
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "texts_per_s": info["corpus"]["n_texts"] / extract,
        "wall_s": wall,
        "run_mb": folder_size(out) / 2**20,
        "cache_mb": folder_size(cache / "activations") / 2**20,  # not the model copy a fresh cache also holds
        "texts_per_rank": info["extraction"]["texts_per_rank"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=20000)
    parser.add_argument("--store-dtype", default="float16", choices=["float16", "bfloat16", "float32"])
    parser.add_argument("--skip-large", action="store_true", help="only the small corpus (texts/s, no memory growth)")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="amygdala-scale-") as tmp:
        work = Path(tmp)
        small = build_corpus(work / "small", args.small)
        results["small, 1 process"] = train(small, work / "runs/s1", work / "cache-s1", args.store_dtype, 1)
        results["small, 2 processes"] = train(small, work / "runs/s2", work / "cache-s2", args.store_dtype, 2)
        if not args.skip_large:
            large = build_corpus(work / "large", args.large)
            results["large, 1 process"] = train(large, work / "runs/l1", work / "cache-l1", args.store_dtype, 1)
    print(f"default model, store dtype {args.store_dtype}, every text extracted (empty cache)\n")
    print(f"{'corpus':<22}{'texts':>8}{'peak RSS MB':>13}{'texts/s':>9}{'wall s':>8}{'run MB':>9}{'cache MB':>10}  per rank")
    for name, r in results.items():
        print(f"{name:<22}{r['texts']:>8}{r['peak_rss_mb']:>13.0f}{r['texts_per_s']:>9.1f}{r['wall_s']:>8.1f}"
              f"{r['run_mb']:>9.1f}{r['cache_mb']:>10.1f}  {r['texts_per_rank']}")
    one, two = results["small, 1 process"], results["small, 2 processes"]
    print(f"\n2 processes vs 1: {two['texts_per_s'] / one['texts_per_s']:.2f}x texts/s "
          "(on this 2-core CPU one process already uses both cores for its matrix products)")
    if "large, 1 process" in results:
        growth = results["large, 1 process"]["peak_rss_mb"] / one["peak_rss_mb"] - 1
        verdict = "within" if growth <= 0.20 else "OVER"
        print(f"peak RSS growth {args.small} -> {args.large} texts: {growth:+.1%} ({verdict} the 20% target)")


if __name__ == "__main__":
    main()
