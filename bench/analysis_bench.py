"""Speed of the run analysis: quality, validation (999 permutations, grouped probes, confounds) and triage.

Targets (issue 11), on this 2-core machine with one BLAS thread:
- the bundled corpus's shape (179 concepts in 11 clusters, ~4 stories and ~1 paired variant per
  concept: ~950 texts; 30 layers, hidden 576): whole analysis <= 15 s;
- an outside corpus's shape (3,000 texts, 20 concepts in 5 clusters): <= 30 s;
- growth in texts no worse than linear (1,500 vs 3,000 texts, same concepts).
Synthetic run folders of exactly those shapes are built in a temporary folder, with a safetensors
"model" holding 30 down-projections [576, 1536] so the single-neuron step reads real weights.
Pass run folders as arguments to time them too (e.g. `python bench/analysis_bench.py /tmp/demo`).
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
SHAPES = {
    "bundled corpus shape": dict(n_concepts=179, n_clusters=11, stories=4, variants=1, target=15.0),
    "outside corpus shape (3,000 texts)": dict(n_concepts=20, n_clusters=5, stories=150, variants=0, target=30.0),
    "half of it (1,500 texts)": dict(n_concepts=20, n_clusters=5, stories=75, variants=0, target=None),
}


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


def synthetic_run(root: Path, *, n_concepts: int, n_clusters: int, stories: int, variants: int, seed: int = 0, **_: object) -> Path:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    concepts = [f"concept_{i:03d}" for i in range(n_concepts)]
    clusters = [f"cluster_{k:02d}" for k in range(n_clusters)]
    cluster_of = rng.integers(0, n_clusters, n_concepts)
    n_scenarios = max(1, n_concepts * variants // 4)
    rows: list[tuple[int, str, str | None]] = [(c, "story", None) for c in range(n_concepts) for _ in range(stories)]
    rows += [(c, "variant", f"scene_{rng.integers(n_scenarios)}") for c in range(n_concepts) for _ in range(variants)]
    rows += [(-1, "baseline", f"scene_{s}") for s in range(n_scenarios)] if variants else []
    concept_of_text = np.array([c for c, _, _ in rows])
    persons = rng.choice(["first", "second", "third"], size=len(rows))

    offset = rng.normal(size=HIDDEN) * 20
    cluster_axes = rng.normal(size=(len(LAYERS), n_clusters, HIDDEN))
    concept_axes = rng.normal(size=(len(LAYERS), n_concepts, HIDDEN))
    signal = 1.5 * cluster_axes[:, cluster_of] + concept_axes
    acts = offset + rng.normal(size=(len(LAYERS), len(rows), HIDDEN)).astype(np.float32) * 2.0
    has = concept_of_text >= 0
    acts[:, has] += signal[:, concept_of_text[has]]
    acts = acts.astype(np.float32)

    counts = np.bincount(concept_of_text[has], minlength=n_concepts)
    vectors = []
    for li in range(len(LAYERS)):
        sums = np.zeros((n_concepts, HIDDEN))
        np.add.at(sums, concept_of_text[has], acts[li, has])
        pos = sums / counts[:, None]
        neg = (acts[li].sum(axis=0) - sums) / (len(rows) - counts[:, None])
        diff = pos - neg
        vectors.append(diff / np.linalg.norm(diff, axis=1, keepdims=True))

    from schemas.finding import LintReport
    from schemas.manifest import Manifest
    from schemas.run import TextRecord
    from trainer.runfolder.folder import RunFolder

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
    for r, (c, kind, scenario) in enumerate(rows):
        rel = f"stories/{concepts[c]}/{r:04d}.txt" if kind == "story" else f"paired/{scenario}/{concepts[c] if c >= 0 else 'baseline'}_{r}.txt"
        texts.append(
            TextRecord(
                rel=rel,
                kind=kind,  # type: ignore[arg-type]
                concept=concepts[c] if c >= 0 else None,
                scenario=scenario,
                sha256=hashlib.sha256(rel.encode()).hexdigest(),
                words=200,
                narrator=str(persons[r]),  # type: ignore[arg-type]
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
        folder.commit(run_info(model, len(texts), n_concepts=n_concepts))
    return root


IN_TARGET = ("load run folder", "read down-projections", "quality", "validation with probes", "triage")


def time_steps(run_dir: Path) -> tuple[dict[str, float], str]:
    """Seconds per analysis step on a run folder, and a one-line description of the run."""
    from trainer.linalg import default_report_layer
    from trainer.report.plots import write_pictures
    from trainer.runfolder.folder import RunFolder
    from trainer.analysis.quality import compute_quality
    from trainer.extraction.weights import load_down_projections
    from trainer.report.render import render_html
    from trainer.analysis.triage import compute_triage
    from trainer.analysis.validation import compute_validation

    timings: dict[str, float] = {}

    def timed(name, fn):
        # CPU seconds of this process: with one BLAS thread that is the wall time on an idle machine,
        # and unlike wall time it does not grow when other jobs share the two cores
        start = time.process_time()
        out = fn()
        timings[name] = time.process_time() - start
        return out

    run = timed("load run folder", lambda: RunFolder.read(run_dir))
    down = timed("read down-projections", lambda: load_down_projections(run.info.model, run.layers, run.vectors.shape[-1]))
    quality = timed("quality", lambda: compute_quality(run, report_layer=default_report_layer(run.layers), down=down))
    layer = default_report_layer(run.layers)
    validation = timed("validation with probes", lambda: compute_validation(run, probes=True, headline_layers=[layer]))
    triage = timed("triage", lambda: compute_triage(run, quality, validation))
    with tempfile.TemporaryDirectory() as tmp:
        images = timed("pictures (not in target)", lambda: write_pictures(run, quality, validation, Path(tmp)))
        timed("report.html (not in target)", lambda: render_html(run, quality, validation, triage, images))
    timings["quality+validation+probes+triage"] = sum(timings[k] for k in IN_TARGET)

    probe = validation.cluster_probe
    about = f"{len(run.concepts)} concepts, {len(run.texts)} texts, {len(run.layers)} layers, hidden {run.vectors.shape[-1]}"
    if probe:
        s = probe.settings
        about += (
            f"; cluster probe {probe.n_classes} classes, {s.folds} folds, {s.permutations} permutations, "
            f"logistic headline {'run' if probe.headline else 'skipped'}"
        )
        if validation.concept_probe:
            about += f"; concept probe {validation.concept_probe.n_classes} classes ({'logistic' if validation.concept_probe.headline else 'ridge only'})"
    about += "; down-projection " + ("read" if down.source.available else f"unavailable ({down.source.reason})")
    return timings, about


def bench(run_dir: Path, label: str, target: float | None) -> float:
    from trainer.analysis.pipeline import single_threaded_blas

    with single_threaded_blas():  # as analyze() runs it
        ours, about = time_steps(run_dir)
    print(f"\n{label}: {about}")
    print(f"  {'step':<34} {'CPU seconds':>11}")
    for name, seconds in ours.items():
        print(f"  {name:<34} {seconds:9.2f} s")
    total = ours["quality+validation+probes+triage"]
    if target:
        print(f"  target: under {target:.0f} s -> {total:.2f} s, {total / target:.2f} of the budget")
    return total


def main() -> None:
    import os

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    totals = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, shape in SHAPES.items():
            start = time.perf_counter()
            run = synthetic_run(Path(tmp) / label.split()[0], **shape)
            print(f"\nbuilt the {label} run in {time.perf_counter() - start:.1f} s")
            totals[label] = bench(run, label, shape["target"])  # type: ignore[arg-type]
    full, half = totals["outside corpus shape (3,000 texts)"], totals["half of it (1,500 texts)"]
    print(f"\ngrowth: 3,000 texts take {full / half:.2f}x the time of 1,500 (linear: 2.00x)")
    for arg in sys.argv[1:]:
        bench(Path(arg), arg, None)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end (2 cores: above 2 the figures are inflated)")


if __name__ == "__main__":
    main()
