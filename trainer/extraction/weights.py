"""A model's weight files, read one tensor at a time: where they are, and the few tensors the
analysis reads directly (the MLP down-projections for quality's single-neuron alignment, the
unembedding, final norm and tokenizer for the logit lens).

Everything here is I/O; the analysis steps receive the arrays it returns. safetensors only (no
pickle), and nothing is downloaded: a hub model is looked up in the local Hugging Face cache.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from base.errors import AmygdalaError
from schemas.analysis import DownProjectionSource
from schemas.run import ModelInfo
from trainer.linalg import unit


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
        cached = _hub_cache_folder(model)
        if cached is not None:
            return cached, None
    return None, f"no safetensors weights found in {folder} (a GGUF file, or a model no longer on this machine)"


def _hub_cache_folder(model: ModelInfo) -> Path | None:
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
        return None
    return folder if any(folder.glob("*.safetensors")) else None


def weight_files(folder: Path) -> list[Path]:
    """The safetensors files of a model folder: those its index names, else every one in it."""
    index = folder / "model.safetensors.index.json"
    if index.exists():
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
        return sorted({folder / f for f in weight_map.values()})
    return sorted(folder.glob("*.safetensors"))


def tensor_files(folder: Path) -> dict[str, Path]:
    """Every tensor name of the folder's weights -> the file that holds it (the first, if two do)."""
    from safetensors import safe_open

    where: dict[str, Path] = {}
    for path in weight_files(folder):
        with safe_open(str(path), framework="numpy") as fh:
            for name in fh.keys():
                where.setdefault(name, path)
    return where


def read_tensor(path: Path, name: str) -> np.ndarray:
    """One tensor as float32 (bfloat16 and float8 through torch: numpy has no such dtype)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as fh:
        dtype = fh.get_slice(name).get_dtype()
        if dtype not in ("BF16", "F8_E4M3", "F8_E5M2"):
            return fh.get_tensor(name).astype(np.float32)
    import torch  # still one tensor at a time

    with safe_open(str(path), framework="pt") as fh:
        return fh.get_tensor(name).to(torch.float32).numpy()


# --------------------------------------------------------------------------- down-projections


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


def _down_projection_tensors(folder: Path, blocks: set[int], hidden: int) -> tuple[dict[int, tuple[Path, str, int]], str | None]:
    """{block: (file, tensor name, hidden axis)} for the wanted blocks, and the name pattern that matched."""
    from safetensors import safe_open

    found: dict[int, tuple[Path, str, int]] = {}
    pattern_used = None
    for path in weight_files(folder):
        with safe_open(str(path), framework="numpy") as fh:
            for name in fh.keys():
                for layout in DOWN_PROJECTIONS:
                    match = re.search(r"(?:^|\.)" + layout.pattern + "$", name)
                    if not match or int(match.group(1)) not in blocks:
                        continue
                    shape = fh.get_slice(name).get_shape()
                    if len(shape) == 2 and shape[layout.hidden_axis] == hidden:
                        found.setdefault(int(match.group(1)), (path, name, layout.hidden_axis))
                        pattern_used = pattern_used or re.sub(r"\.(\d+)\.", ".{block}.", name, count=1)
                    break
    return found, pattern_used


def load_down_projections(
    model: ModelInfo | None, layers: list[int], hidden: int, override: Path | None = None
) -> DownProjections:
    """Read the down-projection of every block writing one of ``layers`` (layer idx is the output of
    block idx-1), lazily, one tensor at a time; never raises on missing or unreadable weights."""
    folder, reason = resolve_model_folder(model, override)
    if folder is None:
        return DownProjections({}, DownProjectionSource(available=False, model=None, reason=reason))
    wanted = {layer - 1 for layer in layers if layer >= 1}
    try:
        found, pattern_used = _down_projection_tensors(folder, wanted, hidden)
        if not found:
            reason = f"no MLP down-projection with hidden size {hidden} in the weights"
            return DownProjections({}, DownProjectionSource(available=False, model=str(folder), reason=reason))
        columns = {}
        for block, (path, name, axis) in found.items():
            weight = read_tensor(path, name)
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


# --------------------------------------------------------------------------- unembedding


UNEMBEDDING_NAMES = ("lm_head.weight", "embed_out.weight", "model.embed_tokens.weight", "transformer.wte.weight", "gpt_neox.embed_in.weight")
FINAL_NORM_NAMES = (
    "model.norm",  # Llama, Mistral, Qwen, Gemma
    "model.language_model.norm",  # multimodal wrappers
    "transformer.ln_f",  # GPT-2, Falcon
    "gpt_neox.final_layer_norm",  # Pythia
    "model.final_layernorm",  # Phi
    "model.decoder.final_layer_norm",  # OPT
)


@dataclass(frozen=True)
class Unembedding:
    """The unembedding, the final norm's gain and centring, and the tokenizer's decoder, as read."""

    weight: np.ndarray  # [vocab, hidden] float32 W_U
    gain: np.ndarray  # [hidden] the final norm's gain
    centre: bool  # LayerNorm: the norm centres its input
    source: str
    tensor: str
    norm: str
    decode: Callable[[int], str]  # one token id -> its text
    special_ids: frozenset[int]  # the tokenizer's special tokens (template tokens)


def find_unembedding(model: ModelInfo | None, hidden: int, override: Path | None = None) -> tuple[Unembedding | None, str | None]:
    """The model's unembedding for the logit lens, or None with the reason (no local safetensors, no
    unembedding, no tokenizer, unreadable weights)."""
    folder, reason = resolve_model_folder(model, override)
    if folder is None:
        return None, reason
    try:
        return load_unembedding(folder, hidden), None
    except AmygdalaError as exc:
        return None, str(exc)
    except (OSError, ValueError, RuntimeError) as exc:
        return None, f"unreadable weights in {folder}: {exc}"


def load_unembedding(folder: Path, hidden: int) -> Unembedding:
    """Read the unembedding, final norm and tokenizer from a model folder, one tensor at a time;
    AmygdalaError when one of them is missing or has the wrong shape."""
    where = tensor_files(folder)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    tensor = next((n for n in UNEMBEDDING_NAMES if n in where), None)
    if tensor is None:
        raise AmygdalaError(f"no unembedding among {', '.join(UNEMBEDDING_NAMES)}", folder)
    weight = read_tensor(where[tensor], tensor)
    if weight.ndim != 2 or weight.shape[1] != hidden:
        raise AmygdalaError(f"{tensor} has shape {list(weight.shape)}, expected [vocab, {hidden}]", folder)
    prefix = next((p for p in FINAL_NORM_NAMES if f"{p}.weight" in where), None)
    if prefix is None:
        gain, centre, norm = np.ones(hidden, np.float32), False, "none"
    else:
        gain = read_tensor(where[f"{prefix}.weight"], f"{prefix}.weight").reshape(-1)
        if str(config.get("model_type", "")).startswith("gemma"):
            gain = 1.0 + gain  # Gemma's RMSNorm scales by (1 + weight)
        centre = f"{prefix}.bias" in where
        norm = "layernorm (centred, gain)" if centre else "rms gain"
    decode, special = _tokenizer(folder)
    return Unembedding(
        weight=weight.astype(np.float32, copy=False),
        gain=gain.astype(np.float32),
        centre=centre,
        source=str(folder),
        tensor=tensor,
        norm=norm,
        decode=decode,
        special_ids=special,
    )


def _tokenizer(folder: Path) -> tuple[Callable[[int], str], frozenset[int]]:
    from tokenizers import Tokenizer

    path = folder / "tokenizer.json"
    if not path.is_file():
        raise AmygdalaError("no tokenizer.json next to the weights: the lens cannot name tokens", folder)
    try:
        tokenizer = Tokenizer.from_file(str(path))
        added = json.loads(path.read_text(encoding="utf-8")).get("added_tokens") or []
    except Exception as exc:  # noqa: BLE001 - any tokenizer failure means the lens cannot name tokens
        raise AmygdalaError(f"unreadable tokenizer.json: {exc}", path) from exc
    special = frozenset(int(t["id"]) for t in added if isinstance(t, dict) and t.get("special") and "id" in t)
    return (lambda i: tokenizer.decode([i], skip_special_tokens=False)), special
