"""The run folder: the one module that opens its files, for reading and for writing.

Files written by ``amygdala train`` (format 2; format 1 differs only in the activations):

- ``run.json`` (RunInfo): how the run was made.
- ``readout.safetensors`` / ``readout.json`` (ReadoutInfo): ``layer_<idx>.vectors`` fp16
  [n_concepts, hidden], the format the original trainer hands to its vLLM readout plugin.
- ``activations/layer_<idx>.npy``: pooled states [n_texts, hidden], rows in texts.json order,
  stored as ``run.json`` ``extraction.store_dtype`` says (bfloat16 as uint16 bit patterns);
  read memory-mapped. Format 1 (amygdala 0.1.0) kept one ``activations.safetensors`` with a
  ``layer_<idx>`` fp32 tensor per layer; it still reads.
- ``texts.json`` (TextsFile), ``manifest.json`` (Manifest), ``lint.json`` (LintReport).
- ``gguf/<concept>.gguf``: one llama.cpp control vector per concept (``--export-gguf``): amygdala
  layer L as ``direction.(L-1)``, since llama.cpp adds ``direction.k`` to the output of block k.

Reports the analysis adds (quality.json, validation.json, triage.json, triage.md, report.html, the
PNGs, and what later steps add) go through ``read_report`` / ``write_report`` / ``write_text`` /
``write_bytes``: typed, atomic, and never clobbering a training file.

A new folder is built in a hidden sibling (``RunFolder.build``) and renamed into place by
``commit``, so a failed or interrupted run never leaves a half-written one.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Sequence, TypeVar

import numpy as np
from pydantic import BaseModel

from schemas.finding import LintReport
from schemas.manifest import Manifest
from schemas.run import ReadoutInfo, RunInfo, StoreDType, TextRecord, TextsFile
from base.errors import AmygdalaError
from base.jsonio import atomic_write_bytes, atomic_write_text, validate_file, write_json
from trainer.runfolder.data import RunData

M = TypeVar("M", bound=BaseModel)

FORMAT_VERSION = 2
RUN = "run.json"
READOUT = "readout.safetensors"
READOUT_INFO = "readout.json"
TEXTS = "texts.json"
MANIFEST = "manifest.json"
LINT = "lint.json"
ACTIVATIONS_DIR = "activations"
LEGACY_ACTIVATIONS = "activations.safetensors"  # format 1
GGUF_DIR = "gguf"
CONTROL_VECTOR_ARCH = "controlvector"

# Reports added after training (each step names its own file here).
QUALITY = "quality.json"
VALIDATION = "validation.json"
TRIAGE = "triage.json"
TRIAGE_MD = "triage.md"
ANALYSES = "analyses.json"
REPORT_HTML = "report.html"
EVAL = "eval.json"  # amygdala eval
EVAL_PNG = "eval_by_layer.png"
STEERING = "steering.json"  # amygdala steer --check
STEERING_PNG = "steering_heatmap.png"

TRAINING_FILES = frozenset({RUN, READOUT, READOUT_INFO, TEXTS, MANIFEST, LINT, LEGACY_ACTIVATIONS})
# numpy has no bfloat16: its bit patterns are the upper half of a float32's.
STORAGE: dict[str, type[np.generic]] = {"float32": np.float32, "float16": np.float16, "bfloat16": np.uint16}
FIRST_RELEASE = "amygdala 0.1.0"


# Pictures the report steps add (trainer.report.plots, amygdala eval / steer --check).
REPORT_PICTURE = re.compile(
    r"(cohesion_by_layer|analyses_by_layer|eval_by_layer|steering_heatmap|(cosine_heatmap|concept_pca|circumplex)_layer\d+)\.png"
)
REPORT_FILES = frozenset({QUALITY, VALIDATION, TRIAGE, TRIAGE_MD, ANALYSES, REPORT_HTML, EVAL, EVAL_PNG, STEERING, STEERING_PNG})
# base.jsonio.atomic_write_bytes's temporary file, left behind only by a process killed mid-write.
ATOMIC_TEMPORARY = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp")


def activation_file(layer: int) -> str:
    return f"{ACTIVATIONS_DIR}/layer_{layer}.npy"


def to_stored(states: np.ndarray, dtype: StoreDType) -> np.ndarray:
    """float32 states in their storage dtype; bfloat16 rounds to nearest even and keeps the top 16 bits."""
    states = np.asarray(states, dtype=np.float32)
    if dtype != "bfloat16":
        with np.errstate(over="ignore"):  # out-of-range float16 values become inf; ActivationWriter refuses them
            return states.astype(STORAGE[dtype], copy=False)
    bits = states.view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def from_stored(stored: np.ndarray, dtype: StoreDType) -> np.ndarray:
    """Stored states as float32: the array itself (memory-mapped) for float32, a converted copy otherwise."""
    if dtype == "float32":
        return stored
    if dtype == "float16":
        return stored.astype(np.float32)
    return (stored.astype(np.uint32) << 16).view(np.float32)


# --------------------------------------------------------------------------- reading


@dataclass(eq=False)
class Run(RunData):
    """A run read from its folder, with typed access to the folder's report files."""

    def read_report(self, name: str, model: type[M]) -> M | None:
        return RunFolder.read_report(self.root, name, model)

    def write_report(self, name: str, report: BaseModel) -> Path:
        return RunFolder.write_report(self.root, name, report)

    def write_text(self, name: str, text: str) -> Path:
        return RunFolder.write_text(self.root, name, text)

    def write_bytes(self, name: str, data: bytes) -> Path:
        return RunFolder.write_bytes(self.root, name, data)


def _require(folder: Path, name: str, info: RunInfo | None) -> Path:
    """``folder / name``, or a one-line error naming the missing file and the release that wrote the folder."""
    path = folder / name
    if path.exists():
        return path
    if info is None:
        raise AmygdalaError(f"missing {name}: every run folder `amygdala train` writes has one (since {FIRST_RELEASE})", folder)
    release = info.versions.get("amygdala", "unknown")
    raise AmygdalaError(f"missing {name}, which amygdala {release} (run format {info.format_version}) writes", folder)


def _safetensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise AmygdalaError(f"not a readable safetensors file ({exc})", path) from exc


def _finite(array: np.ndarray, rows: int = 4096) -> bool:
    """All values finite, checked a block of rows at a time (a memory-mapped array is never read whole)."""
    return all(np.isfinite(array[i : i + rows]).all() for i in range(0, len(array), rows))


def _read_vectors(folder: Path, readout: ReadoutInfo, info: RunInfo) -> np.ndarray:
    path = _require(folder, READOUT, info)
    tensors = _safetensors(path)
    vectors = []
    for layer in readout.layers:
        vec = tensors.get(f"layer_{layer}.vectors")
        if vec is None or vec.shape != (len(readout.concepts), readout.hidden_size):
            raise AmygdalaError(
                f"tensor layer_{layer}.vectors missing or not [{len(readout.concepts)}, {readout.hidden_size}] as {READOUT_INFO} says", path
            )
        vectors.append(vec.astype(np.float32))
    stacked = np.stack(vectors)
    norms = np.linalg.norm(stacked, axis=-1, keepdims=True)
    if np.any(norms == 0) or not np.all(np.isfinite(stacked)):
        raise AmygdalaError("a concept vector is zero or not finite", path)
    return stacked / norms


def _read_activations(folder: Path, readout: ReadoutInfo, info: RunInfo, n_texts: int) -> list[np.ndarray]:
    shape = (n_texts, readout.hidden_size)
    out = []
    if info.format_version == 1:
        path = _require(folder, LEGACY_ACTIVATIONS, info)
        tensors = _safetensors(path)
        for layer in readout.layers:
            array = tensors.get(f"layer_{layer}")
            if array is None or array.shape != shape:
                raise AmygdalaError(f"tensor layer_{layer} missing or not {list(shape)} (texts.json rows x hidden)", path)
            if not np.all(np.isfinite(array)):
                raise AmygdalaError(f"layer_{layer} contains NaN or infinity", path)
            out.append(array.astype(np.float32, copy=False))
        return out
    dtype = info.extraction.store_dtype
    for layer in readout.layers:
        path = _require(folder, activation_file(layer), info)
        try:
            stored = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise AmygdalaError(f"not a readable .npy file ({exc})", path) from exc
        if stored.shape != shape or stored.dtype != STORAGE[dtype]:
            raise AmygdalaError(
                f"holds {stored.dtype} {list(stored.shape)}; run.json and texts.json say {dtype} {list(shape)}", path
            )
        array = from_stored(stored, dtype)
        if not _finite(array):
            raise AmygdalaError("contains NaN or infinity", path)
        out.append(array)
    return out


# --------------------------------------------------------------------------- writing


class ActivationWriter:
    """Fills ``activations/layer_<idx>.npy`` [n_texts, hidden] a batch of rows at a time.

    Rows go to the files with positioned writes rather than through a memory map: dirty pages of
    a map count as the process's resident memory until the kernel writes them back, which would
    make the memory of a run grow with the corpus after all.
    """

    def __init__(self, folder: Path, layers: Sequence[int], n_texts: int, hidden: int, dtype: StoreDType = "float32") -> None:
        (folder / ACTIVATIONS_DIR).mkdir(parents=True, exist_ok=True)
        self.dtype = dtype
        self.layers = list(layers)
        self.row_bytes = hidden * np.dtype(STORAGE[dtype]).itemsize
        self._files: list[tuple[int, int]] = []  # (file descriptor, offset of row 0)
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(STORAGE[dtype])), "fortran_order": False, "shape": (n_texts, hidden)}
        for layer in self.layers:
            with open(folder / activation_file(layer), "wb") as fh:
                np.lib.format.write_array_header_1_0(fh, header)
                offset = fh.tell()
                fh.truncate(offset + n_texts * self.row_bytes)
            self._files.append((os.open(folder / activation_file(layer), os.O_WRONLY), offset))

    def write_rows(self, indices: Sequence[int] | np.ndarray, states: np.ndarray) -> None:
        """Store ``states`` [n_layers, len(indices), hidden] (float32) as rows ``indices`` of every layer."""
        rows = np.asarray(indices, dtype=np.int64)
        if states.shape[:2] != (len(self._files), len(rows)):
            raise ValueError(f"states of shape {states.shape} for {len(self._files)} layers and {len(rows)} rows")
        for (fd, offset), layer_states in zip(self._files, states):
            stored = np.ascontiguousarray(to_stored(layer_states, self.dtype))
            if self.dtype == "float16" and not np.isfinite(stored).all():
                raise AmygdalaError("--store-dtype float16: a pooled state exceeds float16's range; use bfloat16 or float32")
            for row, values in zip(rows, stored):
                os.pwrite(fd, values.tobytes(), offset + int(row) * self.row_bytes)

    def close(self) -> None:
        for fd, _ in self._files:
            os.fsync(fd)
            os.close(fd)
        self._files = []


class RunBuilder:
    """A run folder under construction in a hidden sibling of ``out``; ``commit`` renames it into place."""

    def __init__(self, out: Path) -> None:
        RunFolder.check_out(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.folder = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial."))
        self._writers: list[ActivationWriter] = []

    def __enter__(self) -> "RunBuilder":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for writer in self._writers:
            writer.close()
        shutil.rmtree(self.folder, ignore_errors=True)  # gone already when committed

    def activation_writer(self, layers: Sequence[int], n_texts: int, hidden: int, dtype: StoreDType = "float32") -> ActivationWriter:
        writer = ActivationWriter(self.folder, layers, n_texts, hidden, dtype)
        self._writers.append(writer)
        return writer

    def write_readout(self, concepts: Sequence[str], layers: Sequence[int], vectors: np.ndarray) -> None:
        """``vectors`` [n_layers, n_concepts, hidden], stored fp16 per layer."""
        from safetensors.numpy import save

        tensors = {f"layer_{layer}.vectors": np.ascontiguousarray(vectors[i].astype(np.float16)) for i, layer in enumerate(layers)}
        atomic_write_bytes(self.folder / READOUT, save(tensors))
        write_json(self.folder / READOUT_INFO, ReadoutInfo(concepts=list(concepts), layers=list(layers), hidden_size=int(vectors.shape[-1])))

    def write_texts(self, rows: list[TextRecord]) -> None:
        write_json(self.folder / TEXTS, TextsFile(rows))

    def write_manifest(self, data: bytes) -> None:
        """The corpus manifest, byte for byte."""
        atomic_write_bytes(self.folder / MANIFEST, data)

    def write_lint(self, report: LintReport) -> None:
        write_json(self.folder / LINT, report)

    def write_control_vectors(
        self, concepts: Sequence[str], layers: Sequence[int], vectors: np.ndarray, model_hint: str, n_layers: int
    ) -> tuple[list[Path], list[str]]:
        return write_control_vectors(self.folder / GGUF_DIR, concepts, layers, vectors, model_hint, n_layers)

    def files(self) -> list[str]:
        """The folder's files so far, plus run.json: what RunInfo.files lists."""
        return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*") if p.is_file()) + [RUN]

    def commit(self, info: RunInfo) -> Path:
        """Write run.json and move the finished folder to ``out``, replacing an earlier run folder there."""
        from trainer.extraction.cache import publish_modes

        for writer in self._writers:
            writer.close()
        write_json(self.folder / RUN, info)
        publish_modes(self.folder)
        RunFolder.check_out(self.out)
        if self.out.exists():
            trash = Path(tempfile.mkdtemp(dir=self.out.parent, prefix=f".{self.out.name}.old."))
            self.out.rename(trash / self.out.name)
            self.folder.rename(self.out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            self.folder.rename(self.out)
        return self.out


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
    ``direction.(L-1)`` (``gguf_direction_index``); returns the files and the warnings for the layers
    left out (``control_vector_layers``). No usable layer is an error, not an empty file."""
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


def read_control_vector(path: Path) -> tuple[dict[str, Any], dict[int, np.ndarray]]:
    """The metadata and ``{k: direction.k}`` of a control vector (k: llama.cpp's 0-based block, = amygdala layer k+1), read with the gguf package."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    meta = {}
    for key in ("general.architecture", f"{CONTROL_VECTOR_ARCH}.model_hint", f"{CONTROL_VECTOR_ARCH}.layer_count"):
        field = reader.get_field(key)
        meta[key] = None if field is None else field.contents()
    directions = {int(t.name.split(".")[1]): np.array(t.data, dtype=np.float32) for t in reader.tensors}
    return meta, directions


# --------------------------------------------------------------------------- replacing a folder


def _is_known(rel: str, training: set[str]) -> bool:
    parent, _, name = rel.rpartition("/")
    temporary = ATOMIC_TEMPORARY.fullmatch(name)
    if temporary:  # a write of a known file that was killed before its rename
        name = temporary.group(1)
        rel = f"{parent}/{name}" if parent else name
    return rel in training or (not parent and (name in REPORT_FILES or REPORT_PICTURE.fullmatch(name) is not None))


def unknown_files(folder: Path, info: RunInfo) -> list[str]:
    """Entries of a run folder that neither training (run.json's ``files``) nor a report step wrote, sorted.

    A symbolic link or a folder holding nothing amygdala wrote counts as unknown too."""
    training = set(info.files) | {RUN}
    unknown: list[str] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink() or (path.is_file() and not _is_known(rel, training)):
            unknown.append(rel)
        elif path.is_dir() and not any(f.startswith(rel + "/") for f in training):
            unknown.append(rel + "/")
        elif not path.is_dir() and not path.is_file():
            unknown.append(rel)
    return unknown


def _check_outside_corpus(out: Path, corpus_root: Path) -> None:
    """A run folder under stories/ or paired/ would land among the texts lint and training read."""
    from toolkit.corpus import PAIRED, STORIES

    target = out.resolve()
    for part in (STORIES, PAIRED):
        texts = (corpus_root / part).resolve()
        if target == texts or texts in target.parents:
            raise AmygdalaError(f"is inside the corpus's {part}/ folder, where lint and training read texts; choose an --out outside it", out)


# --------------------------------------------------------------------------- the folder


class RunFolder:
    """Entry points: ``read`` a folder, ``build`` a new one, and typed report files of an existing one."""

    @staticmethod
    def read(path: Path) -> Run:
        """Every training file of the folder, validated; activations memory-mapped where stored as float32."""
        folder = Path(path)
        if not folder.is_dir():
            raise AmygdalaError("run folder not found", folder)
        info = validate_file(RunInfo, _require(folder, RUN, None))
        readout = validate_file(ReadoutInfo, _require(folder, READOUT_INFO, info))
        if not readout.concepts or not readout.layers:
            raise AmygdalaError("no concepts or no layers", folder / READOUT_INFO)
        texts = validate_file(TextsFile, _require(folder, TEXTS, info)).root
        manifest = validate_file(Manifest, _require(folder, MANIFEST, info))
        unknown = [c for c in readout.concepts if c not in manifest.concepts]
        if unknown:
            raise AmygdalaError(f"concepts not in the run's {MANIFEST}: {', '.join(unknown[:5])}", folder / READOUT_INFO)
        lint = validate_file(LintReport, _require(folder, LINT, info))
        return Run(
            root=folder,
            info=info,
            readout=readout,
            texts=texts,
            manifest=manifest,
            lint=lint,
            vectors=_read_vectors(folder, readout, info),
            activation_layers=_read_activations(folder, readout, info, len(texts)),
        )

    @staticmethod
    def read_readout(path: Path) -> tuple[ReadoutInfo, np.ndarray]:
        """readout.json and the vectors exactly as stored (fp16 values as float32, not renormalised)."""
        folder = Path(path)
        info = validate_file(ReadoutInfo, folder / READOUT_INFO)
        file = folder / READOUT
        if not file.is_file():
            raise AmygdalaError("file not found", file)
        tensors = _safetensors(file)
        try:
            vectors = np.stack([tensors[f"layer_{layer}.vectors"] for layer in info.layers]).astype(np.float32)
        except KeyError as missing:
            raise AmygdalaError(f"tensor {missing.args[0]} listed in {READOUT_INFO} is missing", file) from missing
        if vectors.shape[1:] != (len(info.concepts), info.hidden_size):
            raise AmygdalaError(f"tensors of shape {list(vectors.shape[1:])} disagree with {READOUT_INFO}", file)
        return info, vectors

    @staticmethod
    def build(out: Path) -> RunBuilder:
        """A new run folder for ``out``, built aside: ``with RunFolder.build(out) as b: ...; b.commit(info)``."""
        return RunBuilder(out)

    @staticmethod
    def check_out(out: Path, corpus_root: Path | None = None) -> None:
        """``out`` may be new, empty, or a run folder amygdala wrote (replaced); anything else is the user's and kept.

        A folder is replaced only when its run.json is amygdala's (it validates as RunInfo) and every
        file in it is one amygdala writes (``unknown_files``): a note a user put there is never deleted.
        ``corpus_root``: a run inside the corpus's text folders would be read back as corpus entries.
        """
        if corpus_root is not None:
            _check_outside_corpus(out, corpus_root)
        if not out.exists() and not out.is_symlink():
            return
        if out.is_symlink() or not out.is_dir():
            raise AmygdalaError("exists and is not a run folder; choose another --out", out)
        if not any(out.iterdir()):
            return
        if not (out / RUN).is_file():
            raise AmygdalaError("exists and is not a run folder (no run.json); choose another --out", out)
        try:
            info = validate_file(RunInfo, out / RUN)
        except AmygdalaError as exc:
            raise AmygdalaError(
                f"holds a run.json amygdala did not write ({exc.message}); the folder is kept, choose another --out", out
            ) from exc
        unknown = unknown_files(out, info)
        if unknown:
            shown = ", ".join(unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
            raise AmygdalaError(f"is a run folder but holds files amygdala did not write ({shown}); the folder is kept, choose another --out", out)

    @staticmethod
    def report_path(path: Path, name: str) -> Path:
        """Where report ``name`` (a plain file name, not a training file) lives in the folder."""
        if Path(name).name != name or name in ("", ".", "..") or name in TRAINING_FILES:
            raise ValueError(f"{name!r} is not a report file name")
        return Path(path) / name

    @staticmethod
    def read_report(path: Path, name: str, model: type[M]) -> M | None:
        """The report validated against ``model``, or None when the folder has none."""
        file = RunFolder.report_path(path, name)
        return validate_file(model, file) if file.exists() else None

    @staticmethod
    def read_bytes(path: Path, name: str) -> bytes:
        """A report file's bytes (a picture); a missing one is a one-line error."""
        file = RunFolder.report_path(path, name)
        if not file.is_file():
            raise AmygdalaError(f"missing {name}", path)
        return file.read_bytes()

    @staticmethod
    def write_report(path: Path, name: str, report: BaseModel) -> Path:
        file = RunFolder.report_path(path, name)
        write_json(file, report)
        return file

    @staticmethod
    def write_text(path: Path, name: str, text: str) -> Path:
        file = RunFolder.report_path(path, name)
        atomic_write_text(file, text)
        return file

    @staticmethod
    def write_bytes(path: Path, name: str, data: bytes) -> Path:
        file = RunFolder.report_path(path, name)
        atomic_write_bytes(file, data)
        return file
