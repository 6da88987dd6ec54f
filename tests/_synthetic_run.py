"""Synthetic run folders with planted geometry for the analysis tests.

Directions are built from an orthonormal basis so every cosine is known exactly:

- ``tight`` (4 concepts, positive): e0 + 0.5·e_{10+i} -> pairwise cosine 0.8: cohesive everywhere.
- ``split`` (4 concepts, negative): in the early and middle thirds e40 + 0.5·e_{41+i} (cohesive);
  in the deep third each leans on another cluster's axis (``tight``'s e0, ``anchor``'s e50,
  ``loose_2``'s e32, ``pair``'s e60) and they are orthogonal to each other: anti-clustered there.
- ``loose`` (4 concepts, negative): e_{30+i} + 0.2·e5 -> pairwise cosine 0.038, orthogonal to the rest: scattered.
- ``pair`` (2 concepts): e60 + 0.3·e_{61+i}, nearly parallel, but too small to judge.
- ``lone`` ({anchor}) and ``mix`` ({blend}): single-concept clusters, undetermined.
- ``blend`` = normalise(tight_1 + anchor): a mix of two other concepts (redundant).

Texts: three stories per concept, pooled state = common offset + 4·direction + small noise; one
planted outlier (``stories/tight_1_c.txt``) points against its concept; two texts of ``loose_3`` are
identical (near-duplicates); one baseline per scenario.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from schemas.run import CacheStats, CorpusInfo, ExtractionInfo, LintSummary, ModelInfo, RunInfo, TrainConfig, VectorsInfo

HIDDEN = 64
LAYERS = [1, 2, 3, 4, 5, 6]
DEEP = {5, 6}
OUTLIER = "stories/tight_1_c.txt"
LINTED = "stories/loose_2_a.txt"
DUPLICATES = ("stories/loose_3_a.txt", "stories/loose_3_b.txt")

CLUSTERS = {"tight": "Tight", "split": "Split", "loose": "Loose", "pair": "Pair", "lone": "Lone", "mix": "Mix"}
CONCEPTS = {
    "tight_1": ("tight", "positive"),
    "tight_2": ("tight", "positive"),
    "tight_3": ("tight", "positive"),
    "tight_4": ("tight", "positive"),
    "split_1": ("split", "negative"),
    "split_2": ("split", "negative"),
    "split_3": ("split", "negative"),
    "split_4": ("split", "negative"),
    "loose_1": ("loose", "negative"),
    "loose_2": ("loose", "negative"),
    "loose_3": ("loose", "negative"),
    "loose_4": ("loose", "negative"),
    "pair_1": ("pair", "positive"),
    "pair_2": ("pair", "positive"),
    "anchor": ("lone", "positive"),
    "blend": ("mix", "neutral"),
}


def _e(i: int) -> np.ndarray:
    v = np.zeros(HIDDEN)
    v[i] = 1.0
    return v


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def directions(layer: int, fixed_split: bool = False) -> np.ndarray:
    """[n_concepts, HIDDEN] unit directions in CONCEPTS order at ``layer``."""
    tight_1 = _unit(_e(0) + 0.5 * _e(11))
    anchor = _unit(_e(50) + 0.3 * _e(51))
    out = []
    for name, (cluster, _) in CONCEPTS.items():
        i = int(name.rsplit("_", 1)[1]) if "_" in name else 0
        if cluster == "tight":
            v = _e(0) + 0.5 * _e(10 + i)
        elif cluster == "split":
            if layer in DEEP and not fixed_split:
                v = _e((0, 50, 32, 60)[i - 1]) * 0.9 + 0.5 * _e(20 + i)
            else:
                v = _e(40) + 0.5 * _e(41 + i)
        elif cluster == "loose":
            v = _e(30 + i) + 0.2 * _e(5)
        elif cluster == "pair":
            v = _e(60) + 0.3 * _e(60 + i)
        elif name == "anchor":
            v = anchor
        else:
            v = tight_1 + anchor
        out.append(_unit(v))
    return np.stack(out)


def manifest() -> dict:
    return {
        "version": 1,
        "clusters": {k: {"title": t, "description": ""} for k, t in CLUSTERS.items()},
        "concepts": {c: {"cluster": cl, "valence": val, "keywords": [c.replace("_", " ")]} for c, (cl, val) in CONCEPTS.items()},
    }


def texts_and_activations(vectors: dict[int, np.ndarray], seed: int = 0) -> tuple[list[dict], dict[int, np.ndarray]]:
    rng = np.random.default_rng(seed)
    names = list(CONCEPTS)
    rows: list[tuple[str, str | None, str]] = []
    for name in names:
        for suffix in "abc":
            rows.append((f"stories/{name}_{suffix}.txt", name, "story"))
    rows += [(f"paired/scene_{i}/baseline.txt", None, "baseline") for i in range(2)]
    offset = rng.normal(size=HIDDEN) * 5
    acts = {}
    noise = rng.normal(size=(len(LAYERS), len(rows), HIDDEN)) * 0.3
    for li, layer in enumerate(LAYERS):
        x = np.empty((len(rows), HIDDEN))
        for r, (rel, concept, _) in enumerate(rows):
            sign = -1.0 if rel == OUTLIER else 1.0
            direction = vectors[layer][names.index(concept)] if concept else np.zeros(HIDDEN)
            x[r] = offset + sign * 4.0 * direction + noise[li, r]
        x[rows.index((DUPLICATES[1], "loose_3", "story"))] = x[rows.index((DUPLICATES[0], "loose_3", "story"))]
        acts[layer] = x.astype(np.float32)
    texts = [
        {
            "rel": rel,
            "kind": kind,
            "concept": concept,
            "scenario": None,
            "sha256": hashlib.sha256(rel.encode()).hexdigest(),
            "words": 100,
        }
        for rel, concept, kind in rows
    ]
    return texts, acts


def write_model(folder: Path, vectors: dict[int, np.ndarray], *, concept: str, layer: int, gpt2: bool = False) -> Path:
    """A tiny safetensors 'model' whose down-projection of block layer-1 has the concept's direction as column 7."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(1)
    tensors = {}
    for block in range(len(LAYERS)):
        weight = rng.normal(size=(HIDDEN, 96)).astype(np.float32)
        if block == layer - 1:
            weight[:, 7] = 3.0 * vectors[layer][list(CONCEPTS).index(concept)]
        if gpt2:
            tensors[f"transformer.h.{block}.mlp.c_proj.weight"] = np.ascontiguousarray(weight.T)
            tensors[f"transformer.h.{block}.mlp.c_fc.weight"] = rng.normal(size=(HIDDEN, 96)).astype(np.float32)
        else:
            tensors[f"model.layers.{block}.mlp.down_proj.weight"] = weight
            tensors[f"model.layers.{block}.mlp.up_proj.weight"] = rng.normal(size=(96, HIDDEN)).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "model.safetensors"))
    return folder


def run_info(model: Path | None, n_texts: int, format_version: int = 1) -> RunInfo:
    """run.json as the release of that format writes it (format 1: amygdala 0.1.0)."""
    model_path = str(model) if model else "synthetic/not-downloaded"
    cache = CacheStats(directory=None, hits=0, misses=n_texts, corrupt=0)
    return RunInfo(
        format_version=format_version,
        created="2026-01-01T00:00:00+00:00",
        config=TrainConfig(model=model_path, dtype="float32", device="cpu"),
        model=ModelInfo(
            name="synthetic/tiny", kind="hub", path=model_path, identity="hub:synthetic/tiny", revision="0",
            architecture="llama", n_layers=len(LAYERS), hidden_size=HIDDEN, dtype="float32", device="cpu",
        ),
        corpus=CorpusInfo(root="corpus", manifest="corpus/manifest.json", content_hash="0" * 64, n_texts=n_texts, n_stories=n_texts - 2, n_baselines=2, n_variants=0),
        lint=LintSummary(counts={}, allowed_errors=False),
        extraction=ExtractionInfo(
            layers=LAYERS, pool="mean", skip_tokens=50, chat_template=False, batch_size=16, tokens=0, cache=cache,
            mean_norm={str(layer): 1.0 for layer in LAYERS},
        ),
        vectors=VectorsInfo(method="diffmean", n_concepts=len(CONCEPTS)),
        versions={"amygdala": "0.1.0" if format_version == 1 else "0.2.0"},
        timings={"total": 0.0},
        files=[],
    )


def write_run(
    root: Path,
    *,
    fixed_split: bool = False,
    model: Path | None = None,
    lint: bool = True,
    changed_text: str | None = None,
    format_version: int = 1,
    store_dtype: str = "float32",
) -> Path:
    """A run folder as amygdala 0.1.0 wrote it by hand (format 1, activations.safetensors), or, with
    ``format_version=2``, through ``RunFolder.build`` (activations/layer_<idx>.npy)."""
    from safetensors.numpy import save_file

    vectors = {layer: directions(layer, fixed_split) for layer in LAYERS}
    texts, acts = texts_and_activations(vectors)
    if changed_text:
        for t in texts:
            if t["rel"] == changed_text:
                t["sha256"] = hashlib.sha256(b"rewritten").hexdigest()
    findings = []
    if lint:
        findings.append(
            {
                "code": "KW001",
                "name": "keyword-in-text",
                "severity": "error",
                "path": f"corpus/{LINTED}",
                "line": 3,
                "column": 5,
                "message": "uses the concept's own keyword",
            }
        )
    lint_report = {"findings": findings, "files_checked": len(texts), "counts": {"error": len(findings)}}
    if format_version == 2:
        for finding in findings:  # since format 2 a finding names its corpus-relative path too
            finding["rel"] = finding["path"].removeprefix("corpus/")
        return _write_with_runfolder(root, model, vectors, texts, acts, lint_report, store_dtype)
    root.mkdir(parents=True, exist_ok=True)
    save_file({f"layer_{i}.vectors": v.astype(np.float16) for i, v in vectors.items()}, str(root / "readout.safetensors"))
    (root / "readout.json").write_text(
        json.dumps({"concepts": list(CONCEPTS), "layers": LAYERS, "hidden_size": HIDDEN, "dtype": "float16"})
    )
    save_file({f"layer_{i}": a for i, a in acts.items()}, str(root / "activations.safetensors"))
    (root / "texts.json").write_text(json.dumps(texts))
    (root / "manifest.json").write_text(json.dumps(manifest()))
    (root / "lint.json").write_text(json.dumps(lint_report))
    (root / "run.json").write_text(run_info(model, len(texts)).model_dump_json(indent=2))
    return root


def _write_with_runfolder(root, model, vectors, texts, acts, lint_report, store_dtype) -> Path:
    from schemas.finding import LintReport
    from schemas.run import TextRecord
    from trainer.runfolder.folder import RunFolder

    info = run_info(model, len(texts), format_version=2)
    info.extraction.store_dtype = store_dtype
    info.config.store_dtype = store_dtype
    with RunFolder.build(root) as folder:
        folder.write_readout(list(CONCEPTS), LAYERS, np.stack([vectors[layer] for layer in LAYERS]))
        writer = folder.activation_writer(LAYERS, len(texts), HIDDEN, store_dtype)
        states = np.stack([acts[layer] for layer in LAYERS])
        for start in range(0, len(texts), 8):  # streamed, a batch of rows at a time
            writer.write_rows(np.arange(start, min(start + 8, len(texts))), states[:, start : start + 8])
        folder.write_texts([TextRecord.model_validate(t) for t in texts])
        folder.write_manifest(json.dumps(manifest()).encode())
        folder.write_lint(LintReport.model_validate(lint_report))
        folder.commit(info)
    return root
