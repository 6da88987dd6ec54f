"""Reading and writing the tensor files of a run folder, and llama.cpp control vectors.

- ``readout.safetensors`` / ``readout.json``: ``layer_<idx>.vectors`` fp16 [n_concepts, hidden], the
  format the original trainer hands to its vLLM readout plugin.
- ``activations.safetensors``: ``layer_<idx>`` fp32 [n_texts, hidden], rows in texts.json order.
- ``gguf/<concept>.gguf``: one control vector per concept, F32 tensors ``direction.<idx>``.
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


def write_control_vectors(
    folder: Path, concepts: Sequence[str], layers: Sequence[int], vectors: np.ndarray, model_hint: str
) -> list[Path]:
    """One llama.cpp control vector per concept: ``direction.<idx>`` is added to the output of
    block idx (HF hidden_states[idx]); idx 0 (the embeddings) does not exist for llama.cpp."""
    import gguf

    if min(layers) < 1:
        raise AmygdalaError("control vectors need layers >= 1 (direction.0 is rejected by llama.cpp)")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for c, concept in enumerate(concepts):
        path = folder / f"{concept}.gguf"
        writer = gguf.GGUFWriter(str(path), arch=CONTROL_VECTOR_ARCH)
        writer.add_string(f"{CONTROL_VECTOR_ARCH}.model_hint", model_hint)
        writer.add_uint32(f"{CONTROL_VECTOR_ARCH}.layer_count", len(layers))
        for i, layer in enumerate(layers):
            writer.add_tensor(f"direction.{layer}", vectors[i, c].astype(np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        written.append(path)
    return written


def read_control_vector(path: Path) -> tuple[dict[str, object], dict[int, np.ndarray]]:
    """The metadata and ``{layer: direction}`` of a control vector, read with the gguf package."""
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
