"""Reading and writing the tensor files of a run folder, and llama.cpp control vectors.

- ``readout.safetensors`` / ``readout.json``: ``layer_<idx>.vectors`` fp16 [n_concepts, hidden], the
  format the original trainer hands to its vLLM readout plugin.
- ``activations.safetensors``: ``layer_<idx>`` fp32 [n_texts, hidden], rows in texts.json order.
- ``gguf/<concept>.gguf``: one control vector per concept, F32 tensors ``direction.<k>`` holding amygdala
  layer k+1 (llama.cpp adds ``direction.k`` to the output of block k, counted from 0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from schemas.run import ReadoutInfo, TextRecord, TextsFile
from toolkit.errors import AmygdalaError
from toolkit.jsonio import atomic_write_bytes, validate_file, write_json

READOUT = "readout.safetensors"
READOUT_INFO = "readout.json"
ACTIVATIONS = "activations.safetensors"
TEXTS = "texts.json"
GGUF_DIR = "gguf"
CONTROL_VECTOR_ARCH = "controlvector"


def _save(path: Path, tensors: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save

    atomic_write_bytes(path, save({k: np.ascontiguousarray(v) for k, v in tensors.items()}))


def _load(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    if not path.is_file():
        raise AmygdalaError("file not found", path)
    try:
        return load_file(str(path))
    except Exception as exc:
        raise AmygdalaError(f"not a readable safetensors file ({exc})", path) from None


def write_readout(folder: Path, concepts: Sequence[str], layers: Sequence[int], vectors: np.ndarray) -> None:
    """``vectors`` [n_layers, n_concepts, hidden], stored fp16 per layer."""
    _save(folder / READOUT, {f"layer_{layer}.vectors": vectors[i].astype(np.float16) for i, layer in enumerate(layers)})
    info = ReadoutInfo(concepts=list(concepts), layers=list(layers), hidden_size=int(vectors.shape[-1]))
    write_json(folder / READOUT_INFO, info)


def read_readout(folder: Path) -> tuple[ReadoutInfo, np.ndarray]:
    """readout.json and the vectors as float32 [n_layers, n_concepts, hidden]."""
    info = validate_file(ReadoutInfo, folder / READOUT_INFO)
    tensors = _load(folder / READOUT)
    try:
        vectors = np.stack([tensors[f"layer_{layer}.vectors"] for layer in info.layers]).astype(np.float32)
    except KeyError as missing:
        raise AmygdalaError(f"tensor {missing.args[0]} listed in {READOUT_INFO} is missing", folder / READOUT) from None
    if vectors.shape[1:] != (len(info.concepts), info.hidden_size):
        raise AmygdalaError(f"tensors of shape {list(vectors.shape[1:])} disagree with {READOUT_INFO}", folder / READOUT)
    return info, vectors


def write_activations(folder: Path, layers: Sequence[int], activations: np.ndarray) -> None:
    """``activations`` [n_layers, n_texts, hidden] as one fp32 tensor per layer."""
    _save(folder / ACTIVATIONS, {f"layer_{layer}": activations[i].astype(np.float32) for i, layer in enumerate(layers)})


def read_activations(folder: Path) -> tuple[list[int], np.ndarray]:
    """The layers (ascending) and the activations [n_layers, n_texts, hidden]."""
    tensors = _load(folder / ACTIVATIONS)
    layers = sorted(int(name.removeprefix("layer_")) for name in tensors)
    return layers, np.stack([tensors[f"layer_{layer}"] for layer in layers])


def gguf_direction_index(layer: int) -> int:
    """llama.cpp adds ``direction.k`` to the output of block k (0-based) = HF hidden_states[k+1] = amygdala layer k+1."""
    return layer - 1


def control_vector_layers(layers: Sequence[int], n_layers: int) -> tuple[list[int], list[str]]:
    """The layers llama.cpp can steer with, and one warning per layer it cannot.

    Layer 1 would be ``direction.0``, which llama.cpp rejects; a layer past the last block would be
    a direction llama.cpp silently ignores.
    """
    usable, warnings = [], []
    for layer in layers:
        index = gguf_direction_index(layer)
        if index < 1:
            warnings.append(f"GGUF: layer {layer} (output of block {index}) cannot be steered by llama.cpp (direction.0 is rejected); left out")
        elif index >= n_layers:
            warnings.append(f"GGUF: layer {layer} is past the model's last block ({n_layers} blocks); left out")
        else:
            usable.append(layer)
    return usable, warnings


def write_control_vectors(
    folder: Path, concepts: Sequence[str], layers: Sequence[int], vectors: np.ndarray, model_hint: str, n_layers: int
) -> tuple[list[Path], list[str]]:
    """One llama.cpp control vector per concept, the unit vector of amygdala layer L written as
    ``direction.(L-1)`` (see ``gguf_direction_index``); returns the files and the warnings for the
    layers left out (``control_vector_layers``). No usable layer is an error, not an empty file."""
    import gguf

    usable, warnings = control_vector_layers(layers, n_layers)
    if not usable:
        raise AmygdalaError("--export-gguf: none of the layers can be steered by llama.cpp (" + "; ".join(warnings) + ")")
    rows = [list(layers).index(layer) for layer in usable]
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for c, concept in enumerate(concepts):
        path = folder / f"{concept}.gguf"
        writer = gguf.GGUFWriter(str(path), arch=CONTROL_VECTOR_ARCH)
        writer.add_string(f"{CONTROL_VECTOR_ARCH}.model_hint", model_hint)
        writer.add_uint32(f"{CONTROL_VECTOR_ARCH}.layer_count", len(usable))
        for layer, i in zip(usable, rows):
            writer.add_tensor(f"direction.{gguf_direction_index(layer)}", vectors[i, c].astype(np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        written.append(path)
    return written, warnings


def read_control_vector(path: Path) -> tuple[dict[str, object], dict[int, np.ndarray]]:
    """The metadata and ``{k: direction.k}`` of a control vector (k is llama.cpp's 0-based block), read with the gguf package."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    meta = {}
    for key in ("general.architecture", f"{CONTROL_VECTOR_ARCH}.model_hint", f"{CONTROL_VECTOR_ARCH}.layer_count"):
        field = reader.get_field(key)
        meta[key] = None if field is None else field.contents()
    directions = {int(t.name.split(".")[1]): np.array(t.data, dtype=np.float32) for t in reader.tensors}
    return meta, directions


def read_texts(folder: Path) -> list[TextRecord]:
    return validate_file(TextsFile, folder / TEXTS).root
