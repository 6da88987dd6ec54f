"""Speed of the run analysis: quality, validation, probes and triage over every layer.

Target (issue 7): about 200 concepts over every layer of the default model (30 layers, hidden 576,
~300 texts, 1-3 texts per concept) in under 10 s on this machine. A synthetic run of exactly that
shape is built in a temporary folder, with a safetensors "model" holding 30 down-projections
[576, 1536] (fp16) so the single-neuron step reads real weights. Pass run folders as arguments to
time them too (e.g. `python bench/analysis_bench.py runs/demo`).
"""

from __future__ import annotations

import hashlib
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


def run_info(model: Path, n_texts: int, n_concepts: int):
    """run.json of the synthetic run: what a training run of this shape would record."""
    from schemas.run import CacheStats, CorpusInfo, ExtractionInfo, LintSummary, ModelInfo, RunInfo, TrainConfig, VectorsInfo

    return RunInfo(
        created="2026-01-01T00:00:00+00:00",
        config=TrainConfig(model=str(model)),
        model=ModelInfo(
            name="synthetic", kind="local", path=str(model), identity=f"path:{model}", revision="0",
            architecture="llama", n_layers=len(LAYERS), hidden_size=HIDDEN, dtype="float32", device="cpu",
        ),
        corpus=CorpusInfo(
            root="synthetic", manifest="synthetic/manifest.json", content_hash="0" * 64,
            n_texts=n_texts, n_stories=n_texts, n_baselines=0, n_variants=0,
        ),
        lint=LintSummary(counts={}, allowed_errors=False),
        extraction=ExtractionInfo(
            layers=LAYERS, pool="mean", skip_tokens=50, chat_template=False, batch_size=16, tokens=0,
            cache=CacheStats(directory=None, hits=0, misses=n_texts, corrupt=0), mean_norm={str(x): 1.0 for x in LAYERS},
        ),
        vectors=VectorsInfo(method="diffmean", n_concepts=n_concepts),
        versions={},
        timings={},
        files=[],
    )


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

    vectors = []
    for li, layer in enumerate(LAYERS):
        sums = np.zeros((N_CONCEPTS, HIDDEN))
        np.add.at(sums, concept_of_text[has], acts[li, has])
        pos = sums / per_concept[:, None]
        neg = (acts[li].sum(axis=0) - sums) / (len(rows) - per_concept[:, None])
        diff = pos - neg
        vectors.append(diff / np.linalg.norm(diff, axis=1, keepdims=True))

    from schemas.finding import LintReport
    from schemas.manifest import Manifest
    from schemas.run import TextRecord
    from trainer.runfolder import RunFolder

    model = root.parent / f"{root.name}-model"
    model.mkdir(parents=True)
    save_file(
        {
            f"model.layers.{b}.mlp.down_proj.weight": rng.normal(size=(HIDDEN, INTERMEDIATE)).astype(np.float16)
            for b in range(len(LAYERS))
        },
        str(model / "model.safetensors"),
    )
    texts = []
    for c, j in rows:
        rel = f"stories/{concepts[c]}_{j}.txt" if c >= 0 else f"paired/scene_{j}/baseline.txt"
        texts.append(
            TextRecord(
                rel=rel,
                kind="story" if c >= 0 else "baseline",
                concept=concepts[c] if c >= 0 else None,
                scenario=None,
                sha256=hashlib.sha256(rel.encode()).hexdigest(),
                words=200,
            )
        )
    manifest = Manifest.model_validate(
        {
            "version": 1,
            "clusters": {k: {"title": k} for k in clusters},
            "concepts": {
                c: {"cluster": clusters[cluster_of[i]], "valence": ("positive", "negative", "neutral")[i % 3], "keywords": [f"word{i}"]}
                for i, c in enumerate(concepts)
            },
        }
    )
    with RunFolder.build(root) as folder:
        folder.write_readout(concepts, LAYERS, np.stack(vectors))
        writer = folder.activation_writer(LAYERS, len(rows), HIDDEN)
        writer.write_rows(np.arange(len(rows)), acts)
        folder.write_texts(texts)
        folder.write_manifest(manifest.model_dump_json(by_alias=True).encode())
        folder.write_lint(LintReport(findings=[], files_checked=len(texts), counts={}))
        folder.commit(run_info(model, len(texts), n_concepts=N_CONCEPTS))
    return root


IN_TARGET = ("load run folder", "read down-projections", "quality", "validation with probes", "triage")


def time_steps(run_dir: Path) -> tuple[dict[str, float], str]:
    """Seconds per analysis step on a run folder, and a one-line description of the run."""
    from trainer.linalg import default_report_layer
    from trainer.plots import write_pictures
    from trainer.runfolder import RunFolder
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

    run = timed("load run folder", lambda: RunFolder.read(run_dir))
    down = timed("read down-projections", lambda: load_down_projections(run.info.model, run.layers, run.vectors.shape[-1]))
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
