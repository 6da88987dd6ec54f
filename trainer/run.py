"""One training run: lint, extract (through the cache), vectors, and the run folder.

The run folder is built in a hidden sibling folder and renamed into place at the end, so a failed
or interrupted run never leaves a half-written one; the activation cache keeps whatever was
extracted before the interruption.
"""

from __future__ import annotations

import hashlib
import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from schemas.finding import LintReport
from schemas.run import (
    CacheStats,
    CorpusInfo,
    DenoiseInfo,
    ExtractionInfo,
    LintSummary,
    ModelInfo,
    RunInfo,
    SkippedText,
    TextRecord,
    TextsFile,
    TrainConfig,
    VectorsInfo,
)
from toolkit.config import Config
from toolkit.corpus import Corpus
from toolkit.errors import AmygdalaError
from toolkit.stats import narrator_person, pronoun_counts
from trainer.cache import ActivationCache, cache_root, text_key
from trainer.extract import Pooling
from trainer.model import LoadedModel, ModelSource, placement, resolve_model
from trainer.runfolder import RunFolder

VERSIONED = ("amygdala", "numpy", "torch", "transformers", "tokenizers", "safetensors", "accelerate", "gguf")


class Reporter:
    """Where a run tells the user what it does; silent here, the CLI renders it with rich."""

    def step(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        yield lambda n: None


@dataclass
class RunResult:
    folder: Path
    info: RunInfo
    concepts: list[str]
    lint: LintReport


@dataclass
class Extraction:
    """Pooled activations [n_layers, n_texts, hidden] and how they were obtained."""

    activations: np.ndarray
    cache: CacheStats
    tokens: int
    batch_size: int
    model: LoadedModel | None
    load_seconds: float = 0.0


def lint_report(corpus: Corpus, project: Config, use_cache: bool = True) -> LintReport:
    from toolkit.lint import lint_cache_dir, lint_corpus

    result = lint_corpus(corpus, project.settings.lint, cache_dir=lint_cache_dir(project, corpus), use_cache=use_cache)
    return result.report()


def training_rows(corpus: Corpus) -> tuple[list[TextRecord], list[str], list[SkippedText]]:
    """The texts a run trains on, the strings fed to the model, and the texts left out with why."""
    rows, inputs, skipped = [], [], []
    for text in corpus.texts():
        body = text.text.strip() if text.text is not None else None
        if body is None:
            skipped.append(SkippedText(rel=text.rel, reason="not valid UTF-8"))
        elif not body:
            skipped.append(SkippedText(rel=text.rel, reason="empty"))
        elif text.concept is not None and text.concept not in corpus.manifest.concepts:
            skipped.append(SkippedText(rel=text.rel, reason=f"{text.concept!r} is not a concept in the manifest"))
        else:
            rows.append(
                TextRecord(
                    rel=text.rel,
                    kind=text.kind,
                    concept=text.concept,
                    scenario=text.scenario,
                    sha256=text.sha256,
                    words=len(body.split()),
                    narrator=narrator_person(pronoun_counts(body)),
                )
            )
            inputs.append(body)
    return rows, inputs, skipped


def neutral_texts(folder: Path) -> list[str]:
    if not folder.is_dir():
        raise AmygdalaError("--denoise-neutral: folder not found", folder)
    texts = []
    for path in sorted(folder.rglob("*.txt")):
        try:
            body = path.read_text(encoding="utf-8-sig").strip()
        except UnicodeDecodeError:
            raise AmygdalaError("not valid UTF-8", path) from None
        if body:
            texts.append(body)
    if len(texts) < 2:
        raise AmygdalaError("--denoise-neutral needs at least two non-empty .txt files", folder)
    return texts


def parse_layers(spec: str, n_layers: int) -> list[int]:
    """``all`` or a comma list of layers and ranges (``4,8,12-16``), 1..n_layers, ascending."""
    if spec.strip().lower() == "all":
        return list(range(1, n_layers + 1))
    chosen: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise AmygdalaError(f"--layers: {part.strip()!r} is not a layer or a range like 4-8") from None
        if not 1 <= first <= last <= n_layers:
            raise AmygdalaError(f"--layers: {part.strip()!r} is outside 1..{n_layers} (this model has {n_layers} layers)")
        chosen.update(range(first, last + 1))
    return sorted(chosen)


def extract_activations(
    source: ModelSource,
    inputs: list[str],
    layers: list[int],
    config: TrainConfig,
    cache_dir: Path | None,
    reporter: Reporter,
    loaded: LoadedModel | None = None,
) -> Extraction:
    """Pooled states of ``inputs``: from the cache where present, from the model (loaded only if needed) otherwise."""
    from trainer.extract import chat_template_of, iter_pooled, model_inputs, tokenize
    from trainer.model import load_model, load_tokenizer

    dtype, device = placement(config.dtype, config.device, config.device_map)
    pooling = Pooling(config.pool, config.skip_tokens)
    tokenizer = loaded.tokenizer if loaded else (load_tokenizer(source) if config.chat_template else None)
    cache = None
    if cache_dir is not None:
        template = chat_template_of(tokenizer) if config.chat_template else None
        cache = ActivationCache.open(
            cache_dir,
            {
                "model": source.identity,
                "revision": source.revision,
                "dtype": dtype,
                "pool": pooling.mode,
                # skip_tokens means nothing to last-token pooling: such runs share entries.
                "skip_tokens": pooling.skip_tokens if pooling.mode == "mean" else None,
                "chat_template": hashlib.sha256(template.encode()).hexdigest() if template else None,
            },
        )
    out = np.zeros((len(layers), len(inputs), source.hidden_size), dtype=np.float32)
    keys = [text_key(text) for text in inputs]
    missing = []
    for i, key in enumerate(keys):
        states = cache.get(key, layers) if cache else None
        if states is None:
            missing.append(i)
        else:
            out[:, i] = states
    lm, tokens, batch_size, load_seconds = loaded, 0, config.batch_size, 0.0
    if missing:
        if lm is None:
            reporter.step(f"loading {source.name} ({dtype} on {device})")
            started = time.perf_counter()
            lm = load_model(source, dtype, device, config.device_map, tokenizer)
            load_seconds = time.perf_counter() - started
        model_texts = model_inputs([inputs[i] for i in missing], lm.tokenizer, config.chat_template)
        token_ids = tokenize(model_texts, lm.tokenizer, config.chat_template)
        tokens = sum(map(len, token_ids))
        with reporter.progress("extracting", len(missing)) as advance:
            for batch in iter_pooled(lm, token_ids, layers, pooling, config.batch_size):
                for j, position in enumerate(batch.indices):
                    row = missing[position]
                    out[:, row] = batch.states[:, j]
                    if cache:
                        cache.put(keys[row], layers, batch.states[:, j])
                batch_size = batch.batch_size
                advance(len(batch.indices))
    stats = CacheStats(
        directory=str(cache.directory) if cache else None,
        hits=cache.hits if cache else 0,
        misses=cache.misses if cache else len(inputs),
        corrupt=cache.corrupt if cache else 0,
    )
    return Extraction(activations=out, cache=stats, tokens=tokens, batch_size=batch_size, model=lm, load_seconds=load_seconds)


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _corpus_info(corpus: Corpus, rows: list[TextRecord], skipped: list[SkippedText]) -> CorpusInfo:
    return CorpusInfo(
        root=str(corpus.root),
        manifest=str(corpus.manifest_path.resolve()),
        content_hash=corpus.content_hash(),
        n_texts=len(rows),
        n_stories=sum(r.kind == "story" for r in rows),
        n_baselines=sum(r.kind == "baseline" for r in rows),
        n_variants=sum(r.kind == "variant" for r in rows),
        skipped=skipped,
    )


def _denoise_info(
    folder: Path, variance: float, texts: list[str], layers: list[int], components: list[np.ndarray]
) -> DenoiseInfo:
    return DenoiseInfo(
        neutral_dir=str(folder.resolve()),
        n_texts=len(texts),
        content_hash=hashlib.sha256("".join(text_key(t) for t in texts).encode()).hexdigest(),
        variance=variance,
        components={str(layer): int(c.shape[0]) for layer, c in zip(layers, components)},
    )


def default_out(root: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out, n = root / "runs" / stamp, 1
    while out.exists():
        n += 1
        out = root / "runs" / f"{stamp}-{n}"
    return out


def train(
    corpus: Corpus,
    config: TrainConfig,
    project: Config,
    out: Path,
    reporter: Reporter | None = None,
    cache_dir: Path | None = None,
) -> RunResult:
    """Lint, extract, make vectors and write the run folder ``out``; see the module docstring."""
    from trainer.vectors import concept_vectors, neutral_components, trainable_concepts

    reporter = reporter or Reporter()
    cache_dir = (cache_dir or cache_root()) if config.use_cache else None
    timings: dict[str, float] = {}
    started = clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now

    RunFolder.check_out(out)
    report = lint_report(corpus, project, config.use_cache)
    errors = report.counts.get("error", 0)
    if errors and not config.allow_lint_errors:
        raise AmygdalaError(
            f"the corpus has {errors} lint error(s); fix them (see `amygdala lint`) or pass --allow-lint-errors",
            corpus.root,
        )
    if errors:
        reporter.warn(f"training despite {errors} lint error(s) (--allow-lint-errors)")
    lap("lint")

    rows, inputs, skipped = training_rows(corpus)
    for skip in skipped:
        reporter.warn(f"{skip.rel}: left out ({skip.reason})")
    concepts = trainable_concepts(config.method, rows, list(corpus.manifest.concepts))
    if not concepts:
        what = "a paired variant with a baseline" if config.method == "paired" else "a story or a paired variant"
        raise AmygdalaError(f"no concept has {what} to train on", corpus.root)
    neutral_dir = Path(config.denoise_neutral) if config.denoise_neutral else None
    neutral_inputs = neutral_texts(neutral_dir) if neutral_dir else None
    if config.pool == "last" and config.chat_template:
        reporter.warn("--chat-template with --pool last reads the template's closing tokens, not the text's last word")

    source = resolve_model(config.model, config.revision, reporter.step)
    layers = parse_layers(config.layers, source.n_layers)
    dtype, device = placement(config.dtype, config.device, config.device_map)
    lap("model_setup")

    reporter.step(f"{len(inputs)} texts, {len(concepts)} concepts, {len(layers)} layers of {source.name}")
    extraction = extract_activations(source, inputs, layers, config, cache_dir, reporter)
    lap("extract")
    timings["extract_model_load"] = round(extraction.load_seconds, 4)  # part of extract

    neutral, denoise = None, None
    if neutral_dir and neutral_inputs:
        neutral_run = extract_activations(source, neutral_inputs, layers, config, cache_dir, reporter, extraction.model)
        neutral = neutral_components(neutral_run.activations, config.denoise_variance)
        denoise = _denoise_info(neutral_dir, config.denoise_variance, neutral_inputs, layers, neutral)
        lap("denoise_extract")

    vectors = concept_vectors(extraction.activations, rows, concepts, config.method, layers, neutral)
    lap("vectors")

    with RunFolder.build(out) as folder:
        writer = folder.activation_writer(layers, len(rows), source.hidden_size, config.activations_dtype)
        writer.write_rows(np.arange(len(rows)), extraction.activations)
        folder.write_readout(concepts, layers, vectors)
        folder.write_texts(rows)
        folder.write_manifest(corpus.manifest_path.read_bytes())
        folder.write_lint(report)
        if config.export_gguf:
            folder.write_control_vectors(concepts, layers, vectors, source.architecture)
        lap("write")
        info = RunInfo(
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            config=config,
            model=ModelInfo(
                **{k: getattr(source, k) for k in ("name", "kind", "identity", "revision", "architecture", "n_layers", "hidden_size")},
                path=str(source.path),
                dtype=dtype,
                device=extraction.model.device if extraction.model else device,
                device_map=config.device_map,
            ),
            corpus=_corpus_info(corpus, rows, skipped),
            lint=LintSummary(counts=report.counts, allowed_errors=bool(errors)),
            extraction=ExtractionInfo(
                layers=layers,
                pool=config.pool,
                skip_tokens=config.skip_tokens,
                chat_template=config.chat_template,
                batch_size=extraction.batch_size,
                tokens=extraction.tokens,
                cache=extraction.cache,
                activations_dtype=config.activations_dtype,
                mean_norm={
                    str(layer): round(float(norm), 4)
                    for layer, norm in zip(layers, np.linalg.norm(extraction.activations, axis=-1).mean(-1))
                },
            ),
            vectors=VectorsInfo(method=config.method, n_concepts=len(concepts), denoise=denoise),
            versions=_versions(),
            timings={**timings, "total": round(time.perf_counter() - started, 4)},
            files=folder.files(),
        )
        folder.commit(info)
    return RunResult(folder=out, info=info, concepts=concepts, lint=report)
