"""Per-concept quality (the original trainer's quality report), vectorised over every layer at once.

- ``first_pc_variance_ratio``: share of the centered positives' variance on their first principal component.
- alignment: cosine of each positive's centered pooled state (minus the mean over all texts of the run)
  with the concept direction.
- nearest concepts and redundancy: the directions' Gram matrix; redundancy is the R² of a ridge
  regression of a direction on every other concept's direction (samples = hidden dimensions, no intercept).
- single-neuron alignment: best |cosine| with a column of the MLP down-projection of the block that
  writes the layer (layer idx is the output of block idx-1), per layer; the verdict uses the deep third.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from schemas.analysis import (
    ConceptQuality,
    Contributor,
    DownProjectionSource,
    LowAlignment,
    Neighbour,
    QualityReport,
    QualityThresholds,
    Redundancy,
    SingleNeuron,
    TextAlignment,
)
from schemas.run import ModelInfo
from trainer.linalg import gram_matrices, thirds, unit
from trainer.rundata import RunData

THRESHOLDS = QualityThresholds(
    clean_first_pc=0.7, fragmented_first_pc=0.4, redundant_r2=0.9, single_neuron_cosine=0.6, ridge_alpha=0.01
)
NEAREST = 5
LOWEST = 2
CONTRIBUTORS = 3


@dataclass(frozen=True)
class DownProjectionLayout:
    """Where a model family keeps the MLP output projection, and which weight axis has the hidden size."""

    families: str
    pattern: str  # regular expression with one group, the block index
    hidden_axis: int  # 0: nn.Linear weight [hidden, intermediate]; 1: GPT-2 Conv1D weight [intermediate, hidden]


DOWN_PROJECTIONS: tuple[DownProjectionLayout, ...] = (
    DownProjectionLayout("Llama, Qwen, Mistral, Gemma, Phi-3, SmolLM", r"layers\.(\d+)\.mlp\.down_proj\.weight", 0),
    DownProjectionLayout("GPT-2", r"h\.(\d+)\.mlp\.c_proj\.weight", 1),
    DownProjectionLayout("GPT-NeoX, Pythia", r"layers\.(\d+)\.mlp\.dense_4h_to_h\.weight", 0),
    DownProjectionLayout("Falcon, BLOOM", r"h\.(\d+)\.mlp\.dense_4h_to_h\.weight", 0),
    DownProjectionLayout("Phi-1/2", r"layers\.(\d+)\.mlp\.fc2\.weight", 0),
    DownProjectionLayout("OPT", r"layers\.(\d+)\.fc2\.weight", 0),
)


@dataclass
class DownProjections:
    """Unit-normalised down-projection columns per block, [hidden, intermediate] each, or why there are none."""

    columns: dict[int, np.ndarray]
    source: DownProjectionSource


# --------------------------------------------------------------------------- pure numerics


def first_pc_variance_ratio(positives: np.ndarray) -> np.ndarray | None:
    """[layers, n, hidden] -> [layers] share of variance on the first PC of the centered rows; None if no variance."""
    centered = positives - positives.mean(axis=1, keepdims=True)
    gram = gram_matrices(centered)
    eig = np.clip(np.linalg.eigvalsh(gram), 0.0, None)
    total = eig.sum(axis=-1)
    if np.any(total <= 0):
        return None
    return eig[:, -1] / total


def alignments(activations: np.ndarray, vectors: np.ndarray, concept_of_text: np.ndarray) -> np.ndarray:
    """Cosine of each text's centered state with its concept's direction: [layers, n_texts] (NaN for baselines)."""
    centered = unit(activations - activations.mean(axis=1, keepdims=True))
    out = np.full(activations.shape[:2], np.nan)
    rows = np.flatnonzero(concept_of_text >= 0)
    out[:, rows] = np.einsum("lnh,lnh->ln", centered[:, rows], vectors[:, concept_of_text[rows]])
    return out


def ridge_redundancy(gram: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """R² of each unit direction regressed on all the others, from the Gram matrix alone.

    gram: [layers, C, C] of unit directions. Returns (r2 [layers, C], coef [layers, C, C]) where
    coef[l, :, c] are the weights of the other directions for concept c. One inverse per layer: for
    B = (G + αI)⁻¹, the ridge solution without concept c is -B[:, c] / B[c, c] (block-inverse identity).
    """
    n = gram.shape[-1]
    inv = np.linalg.inv(gram + alpha * np.eye(n))
    diag = np.diagonal(inv, axis1=-2, axis2=-1)
    coef = -inv / diag[:, None, :]
    idx = np.arange(n)
    coef[:, idx, idx] = 0.0
    explained = np.einsum("ljc,ljc->lc", coef, gram)
    spread = np.einsum("ljc,ljc->lc", coef, gram @ coef)
    # 1 - ||d - Dᵀw||² with ||d|| = 1
    return 2 * explained - spread, coef


def best_column_cosine(directions: np.ndarray, unit_columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """directions [C, hidden] (unit), unit_columns [hidden, I] -> (best |cosine| [C], column index [C])."""
    cos = np.abs(directions @ unit_columns)
    best = cos.argmax(axis=1)
    return cos[np.arange(len(best)), best], best


def shape_of(ratio: float, thresholds: QualityThresholds = THRESHOLDS) -> str:
    if ratio > thresholds.clean_first_pc:
        return "clean"
    if ratio < thresholds.fragmented_first_pc:
        return "fragmented"
    return "mixed"


# --------------------------------------------------------------------------- model weights (I/O)


def resolve_model_folder(model: ModelInfo | None, override: Path | None = None) -> tuple[Path | None, str | None]:
    """The local folder holding the model's safetensors (``override``, else the folder run.json names,
    else the Hugging Face cache for a hub model), or None with the reason."""
    if override is not None:
        folder = Path(override).expanduser()
    elif model is not None:
        folder = Path(model.path).expanduser()
    else:
        return None, "run.json names no model"
    if folder.is_file() and folder.suffix == ".safetensors":
        return folder.parent, None
    if folder.is_dir() and any(folder.glob("*.safetensors")):
        return folder, None
    if override is None and model is not None and model.kind == "hub":
        from huggingface_hub import snapshot_download

        try:
            folder = Path(
                snapshot_download(
                    model.identity.removeprefix("hub:"),
                    revision=model.revision,
                    local_files_only=True,
                    allow_patterns=["*.safetensors", "*.json"],
                )
            )
        except (OSError, ValueError):  # not in the local cache (LocalEntryNotFoundError is an OSError)
            pass
        else:
            if any(folder.glob("*.safetensors")):
                return folder, None
    return None, f"no safetensors weights found in {folder} (a GGUF file, or a model no longer on this machine)"


def _weight_files(folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.exists():
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
        return sorted({folder / f for f in weight_map.values()})
    return sorted(folder.glob("*.safetensors"))


def _read_tensor(path: Path, name: str) -> np.ndarray:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as fh:
        dtype = fh.get_slice(name).get_dtype()
        if dtype not in ("BF16", "F8_E4M3", "F8_E5M2"):
            return fh.get_tensor(name).astype(np.float32)
    import torch  # numpy has no bfloat16; torch reads it, still one tensor at a time

    with safe_open(str(path), framework="pt") as fh:
        return fh.get_tensor(name).to(torch.float32).numpy()


def load_down_projections(
    model: ModelInfo | None, layers: list[int], hidden: int, override: Path | None = None
) -> DownProjections:
    """Read the down-projection of every block writing one of ``layers``, lazily, one tensor at a time."""
    folder, reason = resolve_model_folder(model, override)
    if folder is None:
        return DownProjections({}, DownProjectionSource(available=False, model=None, reason=reason))
    from safetensors import safe_open

    wanted = {layer - 1 for layer in layers if layer >= 1}
    found: dict[int, tuple[Path, str, int]] = {}
    pattern_used = None
    try:
        for path in _weight_files(folder):
            with safe_open(str(path), framework="numpy") as fh:
                for name in fh.keys():
                    for layout in DOWN_PROJECTIONS:
                        match = re.search(r"(?:^|\.)" + layout.pattern + "$", name)
                        if not match or int(match.group(1)) not in wanted:
                            continue
                        shape = fh.get_slice(name).get_shape()
                        if len(shape) == 2 and shape[layout.hidden_axis] == hidden:
                            found.setdefault(int(match.group(1)), (path, name, layout.hidden_axis))
                            pattern_used = pattern_used or re.sub(r"\.(\d+)\.", ".{block}.", name, count=1)
                        break
        if not found:
            return DownProjections(
                {},
                DownProjectionSource(
                    available=False, model=str(folder), reason=f"no MLP down-projection with hidden size {hidden} in the weights"
                ),
            )
        columns = {}
        for block, (path, name, axis) in found.items():
            weight = _read_tensor(path, name)
            columns[block] = unit(weight if axis == 0 else weight.T, axis=0)
    except (OSError, ValueError, RuntimeError) as exc:
        return DownProjections({}, DownProjectionSource(available=False, model=str(folder), reason=f"unreadable weights: {exc}"))
    missing = sorted(wanted - set(columns))
    source = DownProjectionSource(
        available=True,
        model=str(folder),
        pattern=pattern_used,
        reason=f"no down-projection for blocks {missing}" if missing else None,
    )
    return DownProjections(columns, source)


# --------------------------------------------------------------------------- report


def _r(x: float) -> float:
    return round(float(x), 5)


def compute_quality(run: RunData, *, report_layer: int, down: DownProjections) -> QualityReport:
    layers = run.layers
    deep_layers = thirds(layers)["deep"]
    deep_idx = [layers.index(d) for d in deep_layers]
    report_idx = layers.index(report_layer)
    vectors = run.vectors
    n_concepts, hidden = vectors.shape[1], vectors.shape[2]
    concept_of_text = run.text_concept_index
    align = alignments(run.activations, vectors, concept_of_text)
    gram = gram_matrices(vectors)

    r2 = coef = None
    if n_concepts >= 2:
        r2, coef = ridge_redundancy(gram, THRESHOLDS.ridge_alpha)

    neuron_best = neuron_idx = None
    if down.columns:
        neuron_best = np.full((len(layers), n_concepts), np.nan)
        neuron_idx = np.zeros((len(layers), n_concepts), dtype=np.int64)
        for li, layer in enumerate(layers):
            cols = down.columns.get(layer - 1)
            if cols is not None:
                neuron_best[li], neuron_idx[li] = best_column_cosine(vectors[li], cols)

    report_gram = gram[report_idx].copy()
    np.fill_diagonal(report_gram, -np.inf)
    concepts: dict[str, ConceptQuality] = {}
    for ci, name in enumerate(run.concepts):
        spec = run.manifest.concepts[name]
        rows = np.flatnonzero(concept_of_text == ci)
        ratio = ratio_reason = shape = None
        if len(rows) < 2:
            ratio_reason = f"{len(rows)} positive text(s): needs at least two"
        else:
            ratio = first_pc_variance_ratio(run.activations[:, rows])
            if ratio is None:
                ratio_reason = "the positives have identical pooled states"
            elif len(rows) == 2:
                ratio_reason = "two positives: centered, they span one direction, so the ratio is 1 by construction"
            else:
                shape = shape_of(float(ratio[deep_idx].mean()))
        text_align = [
            TextAlignment(
                rel=run.texts[row].rel,
                by_layer=[_r(v) for v in align[:, row]],
                deep=_r(align[deep_idx, row].mean()),
            )
            for row in rows
        ]
        lowest = sorted(text_align, key=lambda t: t.deep)[:LOWEST]
        order = np.argsort(-report_gram[ci])[: min(NEAREST, n_concepts - 1)]
        nearest = [Neighbour(concept=run.concepts[j], cosine=_r(report_gram[ci, j])) for j in order]

        redundancy = None
        if r2 is not None and coef is not None:
            weights = coef[report_idx, :, ci]
            top = np.argsort(-np.abs(weights))[:CONTRIBUTORS]
            redundancy = Redundancy(
                r2_by_layer=[_r(v) for v in r2[:, ci]],
                r2=_r(r2[report_idx, ci]),
                redundant=bool(r2[report_idx, ci] > THRESHOLDS.redundant_r2),
                contributors=[
                    Contributor(concept=run.concepts[j], coefficient=_r(weights[j]), cosine=_r(gram[report_idx, ci, j]))
                    for j in top
                ],
            )

        single = None
        if neuron_best is not None and neuron_idx is not None and not np.all(np.isnan(neuron_best[deep_idx, ci])):
            column = neuron_best[:, ci]
            # judged on the deep third like every verdict: early layers can be dominated by one
            # massive-activation channel that every concept's direction shares
            best_li = deep_idx[int(np.nanargmax(column[deep_idx]))]
            single = SingleNeuron(
                by_layer=[None if np.isnan(v) else _r(v) for v in column],
                best=_r(column[best_li]),
                best_layer=layers[best_li],
                neuron=int(neuron_idx[best_li, ci]),
                one_neuron=bool(column[best_li] > THRESHOLDS.single_neuron_cosine),
            )
        concepts[name] = ConceptQuality(
            cluster=spec.cluster,
            valence=spec.valence,
            n_positives=len(rows),
            first_pc_variance_ratio=None if ratio is None else [_r(v) for v in ratio],
            first_pc_deep=None if ratio is None else _r(ratio[deep_idx].mean()),
            first_pc_reason=ratio_reason,
            shape=shape,
            alignment=text_align,
            lowest_aligned=[LowAlignment(rel=t.rel, deep=t.deep) for t in lowest],
            nearest=nearest,
            redundancy=redundancy,
            redundancy_reason=None if redundancy else "only one concept in the run",
            single_neuron=single,
            single_neuron_reason=None if single else (down.source.reason or "no down-projection for the deep third's blocks"),
        )
    return QualityReport(
        layers=layers,
        report_layer=report_layer,
        deep_layers=deep_layers,
        thresholds=THRESHOLDS,
        redundancy_chance_r2=_r(min(1.0, (n_concepts - 1) / hidden)),
        down_projection=down.source,
        concepts=concepts,
    )
