"""The JSON files of a training run folder: run.json, readout.json and texts.json."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

Method = Literal["diffmean", "paired", "centered"]
PoolMode = Literal["last", "mean"]
DType = Literal["bfloat16", "float16", "float32"]
StoreDType = Literal["float32", "float16", "bfloat16"]
TextKind = Literal["story", "baseline", "variant"]


class TrainConfig(BaseModel):
    """Every option of ``amygdala train`` that shapes the result, as given or defaulted.

    Declared once: the CLI options (name, type, choices, bounds, default, help) are built from these
    fields, and the options table of docs/training.md is checked against them by a test.
    """

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        None, description="Hugging Face id, local model folder or .gguf file (default: the bundled SmolLM2-135M-Instruct)."
    )
    revision: str | None = Field(None, description="Hub branch, tag or commit of a Hugging Face id.")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="auto: bf16 on a GPU or a CPU that supports it, fp16 on MPS, else fp32."
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field("auto", description="auto: cuda, then mps, then cpu.")
    device_map: str | None = Field(
        None, description="'auto' spreads a model too large for one GPU over the devices (accelerate's from_pretrained device_map)."
    )
    pool: PoolMode = Field("mean", description="mean over the text's tokens, or the last token's state.")
    skip_tokens: int = Field(50, ge=0, description="Mean pooling starts at this token, capped at half the text (the paper's recipe: 50).")
    chat_template: bool = Field(False, description="Wrap each text as a user turn of the model's chat template.")
    layers: str = Field("all", description="Layers to extract, 1..L (HF hidden_states index): all, or e.g. 8,12-20.")
    batch_size: int = Field(16, ge=1, description="Texts per forward pass; halved on out-of-memory.")
    method: Method = Field(
        "diffmean",
        description="diffmean: concept texts minus other concepts' stories and baselines; paired: variant minus its baseline (CAA); "
        "centered: concept mean minus the mean over concepts.",
    )
    denoise_neutral: str | None = Field(
        None, description="Folder of neutral .txt files: project their top principal components out of the vectors."
    )
    denoise_variance: float = Field(0.5, gt=0, le=1, description="Share of the neutral variance the removed components explain.")
    store_dtype: StoreDType = Field(
        "float32",
        description="How the run folder stores the pooled states (activations/layer_<idx>.npy): float32, or float16 / bfloat16 "
        "(kept as uint16 bit patterns) at half the size.",
    )
    export_gguf: bool = Field(False, description="Also write one llama.cpp control vector per concept to <out>/gguf/.")
    allow_lint_errors: bool = Field(False, description="Train even when the corpus has lint errors.")
    use_cache: bool = Field(True, description="False (--no-cache): neither read nor write the activation and lint caches.")


class ModelInfo(BaseModel):
    name: str = Field(description="What was asked for: 'default', a Hugging Face id, a folder or a .gguf file.")
    kind: Literal["bundled", "gguf", "local", "hub"]
    path: str = Field(description="The folder the weights were loaded from.")
    identity: str = Field(description="Stable identity used in the activation cache key.")
    revision: str = Field(description="Hub commit, GGUF file sha256, or a fingerprint of a local folder's files.")
    architecture: str = Field(description="config.model_type, e.g. 'llama'.")
    n_layers: int = Field(ge=1)
    hidden_size: int = Field(ge=1)
    dtype: DType
    device: str
    device_map: str | None = None


class SkippedText(BaseModel):
    rel: str
    reason: str


class CorpusInfo(BaseModel):
    root: str
    manifest: str
    content_hash: str = Field(description="toolkit.corpus.Corpus.content_hash(): manifest plus every text's path and content.")
    n_texts: int = Field(ge=0, description="Rows of the activations (texts.json order).")
    n_stories: int = Field(ge=0)
    n_baselines: int = Field(ge=0)
    n_variants: int = Field(ge=0)
    skipped: list[SkippedText] = Field(default_factory=list, description="Texts left out of training, with the reason.")


class LintSummary(BaseModel):
    counts: dict[Literal["error", "warning", "info"], int]
    allowed_errors: bool = Field(description="True when training went ahead despite error-level findings.")


class CacheStats(BaseModel):
    directory: str | None = Field(description="Activation cache folder; null with --no-cache.")
    hits: int = Field(ge=0)
    misses: int = Field(ge=0)
    corrupt: int = Field(ge=0, description="Entries that failed their checksum or could not be read, recomputed.")


class ExtractionInfo(BaseModel):
    layers: list[int]
    pool: PoolMode
    skip_tokens: int
    chat_template: bool
    batch_size: int = Field(description="Final batch size (halved on out-of-memory).")
    tokens: int = Field(ge=0, description="Tokens fed to the model in this run (cache misses only).")
    cache: CacheStats
    store_dtype: StoreDType = Field(
        "float32", description="Storage of the activations: float32, float16, or bfloat16 kept as uint16 bit patterns (read as float32)."
    )
    mean_norm: dict[str, float] = Field(
        description="Mean L2 norm of the pooled states per layer: the scale a unit vector is measured against."
    )
    world_size: int = Field(1, ge=1, description="Processes of the launch (torchrun's WORLD_SIZE); 1 for a plain run.")
    texts_per_rank: list[int] = Field(
        default_factory=list, description="Texts each rank ran through the model in this run (cache misses), in rank order."
    )


class DenoiseInfo(BaseModel):
    neutral_dir: str
    n_texts: int
    content_hash: str
    variance: float
    components: dict[str, int] = Field(description="Principal components projected out, per layer.")


class VectorsInfo(BaseModel):
    method: Method
    n_concepts: int
    denoise: DenoiseInfo | None = None


class RunInfo(BaseModel):
    """run.json: everything needed to know how a run folder was made."""

    format_version: Literal[1, 2] = Field(
        2, description="1: activations in one activations.safetensors; 2: one activations/layer_<idx>.npy per layer."
    )
    created: str = Field(description="ISO 8601 time the run finished.")
    config: TrainConfig
    model: ModelInfo
    corpus: CorpusInfo
    lint: LintSummary
    extraction: ExtractionInfo
    vectors: VectorsInfo
    versions: dict[str, str] = Field(description="Python and package versions.")
    timings: dict[str, float] = Field(
        description="Seconds per phase: lint (starting it, or all of it when it runs in this process), model_setup, extract (of which extract_model_load), lint_wait (waiting for a lint that ran beside the extraction), vectors, write, total."
    )
    files: list[str] = Field(description="Files of the run folder written by training.")


class ReadoutInfo(BaseModel):
    """readout.json, beside readout.safetensors (tensors ``layer_<idx>.vectors``, [n_concepts, hidden])."""

    concepts: list[str]
    layers: list[int]
    hidden_size: int = Field(ge=1)
    dtype: Literal["float16"] = "float16"


class TextRecord(BaseModel):
    """One row of the activations."""

    rel: str = Field(description="Path relative to the corpus root.")
    kind: TextKind
    concept: str | None = Field(description="null for baselines.")
    scenario: str | None
    sha256: str = Field(description="sha256 of the file's bytes.")
    words: int = Field(ge=0)
    narrator: Literal["first", "second", "third"] | None = Field(
        None, description="Narrator's grammatical person from the text's pronouns outside dialogue (null in runs that predate it)."
    )


class TextsFile(RootModel[list[TextRecord]]):
    """texts.json: the texts in the row order of the activations."""
