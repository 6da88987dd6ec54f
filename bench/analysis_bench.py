"""Speed of the run analysis: quality, validation, probes and triage over every layer.

Target (issue 7): about 200 concepts over every layer of the default model (30 layers, hidden 576,
~300 texts, 1-3 texts per concept) in under 10 s on this machine. A synthetic run of exactly that
shape is built in a temporary folder, with a safetensors "model" holding 30 down-projections
[576, 1536] (fp16) so the single-neuron step reads real weights. Pass run folders as arguments to
time them too (e.g. `python bench/analysis_bench.py runs/demo`).
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LAYERS = list(range(1, 31))
HIDDEN = 576
INTERMEDIATE = 1536
N_CONCEPTS = 200
N_CLUSTERS = 11
TARGET_SECONDS = 10.0


def synthetic_run(root: Path, seed: int = 0) -> Path:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    concepts = [f"concept_{i:03d}" for i in range(N_CONCEPTS)]
    clusters = [f"cluster_{k:02d}" for k in range(N_CLUSTERS)]
    cluster_of = rng.integers(0, N_CLUSTERS, N_CONCEPTS)
    per_concept = rng.choice([1, 2, 3], size=N_CONCEPTS, p=[0.6, 0.3, 0.1])  # mean 1.5: ~300 texts
    rows = [(c, j) for c, n in zip(range(N_CONCEPTS), per_concept) for j in range(n)]
    rows += [(-1, j) for j in range(max(0, 300 - len(rows)))]  # baselines up to ~300 texts
    concept_of_text = np.array([c for c, _ in rows])

    offset = rng.normal(size=HIDDEN) * 20
    cluster_axes = rng.normal(size=(len(LAYERS), N_CLUSTERS, HIDDEN))
    concept_axes = rng.normal(size=(len(LAYERS), N_CONCEPTS, HIDDEN))
    signal = 1.5 * cluster_axes[:, cluster_of] + concept_axes
    acts = offset + rng.normal(size=(len(LAYERS), len(rows), HIDDEN)) * 2.0
    has = concept_of_text >= 0
    acts[:, has] += signal[:, concept_of_text[has]]
    acts = acts.astype(np.float32)

    vectors = {}
    for li, layer in enumerate(LAYERS):
        sums = np.zeros((N_CONCEPTS, HIDDEN))
        np.add.at(sums, concept_of_text[has], acts[li, has])
        pos = sums / per_concept[:, None]
        neg = (acts[li].sum(axis=0) - sums) / (len(rows) - per_concept[:, None])
        diff = pos - neg
        vectors[f"layer_{layer}.vectors"] = (diff / np.linalg.norm(diff, axis=1, keepdims=True)).astype(np.float16)

    root.mkdir(parents=True, exist_ok=True)
    save_file(vectors, str(root / "readout.safetensors"))
    save_file({f"layer_{layer}": acts[li] for li, layer in enumerate(LAYERS)}, str(root / "activations.safetensors"))
    (root / "readout.json").write_text(json.dumps({"concepts": concepts, "layers": LAYERS, "hidden_size": HIDDEN, "dtype": "float16"}))
    texts = []
    for r, (c, j) in enumerate(rows):
        rel = f"stories/{concepts[c]}_{j}.txt" if c >= 0 else f"paired/scene_{j}/baseline.txt"
        texts.append(
            {
                "rel": rel,
                "kind": "story" if c >= 0 else "baseline",
                "concept": concepts[c] if c >= 0 else None,
                "scenario": None,
                "sha256": hashlib.sha256(rel.encode()).hexdigest(),
                "words": 200,
            }
        )
    (root / "texts.json").write_text(json.dumps(texts))
    manifest = {
        "version": 1,
        "clusters": {k: {"title": k} for k in clusters},
        "concepts": {
            c: {"cluster": clusters[cluster_of[i]], "valence": ("positive", "negative", "neutral")[i % 3], "keywords": [f"word{i}"]}
            for i, c in enumerate(concepts)
        },
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    (root / "lint.json").write_text(json.dumps({"findings": [], "files_checked": len(texts), "counts": {}}))

    model = root / "model"
    model.mkdir()
    save_file(
        {
            f"model.layers.{b}.mlp.down_proj.weight": rng.normal(size=(HIDDEN, INTERMEDIATE)).astype(np.float16)
            for b in range(len(LAYERS))
        },
        str(model / "model.safetensors"),
    )
    (root / "run.json").write_text(json.dumps({"model": {"id": "synthetic", "path": str(model)}, "method": "diffmean"}))
    return root


IN_TARGET = ("load run folder", "read down-projections", "quality", "validation with probes", "triage")


def time_steps(run_dir: Path) -> tuple[dict[str, float], str]:
    """Seconds per analysis step on a run folder, and a one-line description of the run."""
    from trainer.analysis import default_report_layer, load_run
    from trainer.plots import write_pictures
    from trainer.quality import compute_quality, load_down_projections
    from trainer.report import render_html
    from trainer.triage import compute_triage
    from trainer.validation import compute_validation

    timings: dict[str, float] = {}

    def timed(name, fn):
        start = time.perf_counter()
        out = fn()
        timings[name] = time.perf_counter() - start
        return out

    run = timed("load run folder", lambda: load_run(run_dir))
    down = timed("read down-projections", lambda: load_down_projections(run.run_info, run.layers, run.vectors.shape[-1]))
    quality = timed("quality", lambda: compute_quality(run, report_layer=default_report_layer(run.layers), down=down))
    timed("validation without probes", lambda: compute_validation(run, probes=False))
    validation = timed("validation with probes", lambda: compute_validation(run, probes=True))
    triage = timed("triage", lambda: compute_triage(run, quality, validation))
    with tempfile.TemporaryDirectory() as tmp:
        images = timed("pictures (not in target)", lambda: write_pictures(run, quality, validation, Path(tmp)))
        timed("report.html (not in target)", lambda: render_html(run, quality, validation, triage, images))
    timings["quality+validation+probes+triage"] = sum(timings[k] for k in IN_TARGET)

    probe = validation.cluster_probe
    about = f"{len(run.concepts)} concepts, {len(run.texts)} texts, {len(run.layers)} layers, hidden {run.vectors.shape[-1]}"
    if probe:
        s = probe.settings
        about += f"; probe {probe.n_classes} classes, {s.folds} folds, {s.dims} PCA dims, {s.iterations} iterations, {s.permutations} permutations"
    about += "; down-projection " + ("read" if down.source.available else f"unavailable ({down.source.reason})")
    return timings, about


def bench(run_dir: Path, label: str, compare_threads: bool) -> None:
    from trainer.analysis import single_threaded_blas

    time_steps(run_dir)  # warm up: imports and first-touch of the files
    with single_threaded_blas():  # as analyze() runs it
        ours, about = time_steps(run_dir)
    other = time_steps(run_dir)[0] if compare_threads else None
    print(f"\n{label}: {about}")
    header = f"  {'step':<34} {'1 BLAS thread':>14}" + (f" {'default BLAS':>14} {'ratio':>7}" if other else "")
    print(header)
    for name, seconds in ours.items():
        line = f"  {name:<34} {seconds:12.2f} s"
        if other:
            line += f" {other[name]:12.2f} s {other[name] / max(seconds, 1e-9):6.2f}x"
        print(line)
    total = ours["quality+validation+probes+triage"]
    print(f"  target: under {TARGET_SECONDS:.0f} s -> {total:.2f} s, {total / TARGET_SECONDS:.2f} of the budget")


def main() -> None:
    import os

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run = synthetic_run(Path(tmp) / "run")
        print(f"built the synthetic run in {time.perf_counter() - start:.1f} s")
        bench(run, "synthetic run", compare_threads=True)
    for arg in sys.argv[1:]:
        bench(Path(arg), arg, compare_threads=False)


if __name__ == "__main__":
    main()
