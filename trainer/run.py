"""One training run: lint, extract (through the cache), vectors, and the run folder.

The run folder is built in a hidden sibling folder and renamed into place at the end, so a failed
or interrupted run never leaves a half-written one; the activation cache keeps whatever was
extracted before the interruption.
"""

from __future__ import annotations

import hashlib
import platform
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

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
from base.errors import AmygdalaError
from toolkit.lint.textutil import count_words
from toolkit.stats import narrator_person, pronoun_counts
from trainer.extraction.activations import ArraySink, extract
from trainer.extraction.cache import cache_root, text_key
from trainer.extraction.distributed import Ranks, from_environment, process_group, rank_device
from trainer.extraction.model import placement, resolve_model
from trainer.reporter import Reporter
from trainer.runfolder.folder import RunFolder, control_vector_layers

VERSIONED = ("amygdala", "numpy", "torch", "transformers", "tokenizers", "safetensors", "accelerate", "gguf")


@dataclass
class RunResult:
    folder: Path
    info: RunInfo
    concepts: list[str]
    lint: LintReport


def lint_report(corpus: Corpus, project: Config, use_cache: bool = True) -> LintReport:
    from toolkit.lint import lint_cache_dir, lint_corpus

    result = lint_corpus(corpus, project.settings.lint, cache_dir=lint_cache_dir(project, corpus), use_cache=use_cache)
    return result.report()


class LintGate:
    """The corpus's lint, and the decision whether its errors stop the run.

    In a fresh process the lint runs in a second interpreter while this one imports torch and loads
    the model (spaCy's import alone is 2-3 s); as an extraction sink, the gate stops the run at the
    first batch after the verdict is in. Where torch or spaCy is already imported, the lint runs here
    first, as before any model work.
    """

    def __init__(self, corpus: Corpus, project: Config, config: TrainConfig, reporter: Reporter) -> None:
        from trainer.background import Background, imports_pending

        self.root, self.allow_errors, self.reporter = corpus.root, config.allow_lint_errors, reporter
        self._report: LintReport | None = None
        fresh = imports_pending("spacy", "torch")
        self._job = Background(lint_report, corpus, project, config.use_cache, process=fresh)
        if not fresh:
            self.verdict()

    def __call__(self, rows: list[int], states: np.ndarray) -> None:
        if self._report is None and self._job.done():
            self.verdict()

    def verdict(self) -> LintReport:
        """The lint report (waiting for it); raises when its errors stop the run."""
        if self._report is None:
            report = self._job.result()
            errors = report.counts.get("error", 0)
            if errors and not self.allow_errors:
                raise AmygdalaError(
                    f"the corpus has {errors} lint error(s); fix them (see `amygdala lint`) or pass --allow-lint-errors",
                    self.root,
                )
            if errors:
                self.reporter.warn(f"training despite {errors} lint error(s) (--allow-lint-errors)")
            self._report = report
        return self._report


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
                    words=count_words(body),
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
        except UnicodeDecodeError as exc:
            raise AmygdalaError("not valid UTF-8", path) from exc
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
        except ValueError as exc:
            raise AmygdalaError(f"--layers: {part.strip()!r} is not a layer or a range like 4-8") from exc
        if not 1 <= first <= last <= n_layers:
            raise AmygdalaError(f"--layers: {part.strip()!r} is outside 1..{n_layers} (this model has {n_layers} layers)")
        chosen.update(range(first, last + 1))
    return sorted(chosen)


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
) -> RunResult | None:
    """Lint, extract, make vectors and write the run folder ``out``; see the module docstring.

    Under ``torchrun`` every rank extracts its share of the uncached texts; rank 0 alone then builds
    the vectors and the run folder, and the other ranks return None.
    """
    ranks = from_environment()
    # Only rank 0 talks: the other ranks' steps would repeat its own.
    reporter = (reporter or Reporter()) if ranks.is_main else Reporter()
    return _train(corpus, config, project, out, reporter, cache_dir, ranks)


def _train(
    corpus: Corpus,
    config: TrainConfig,
    project: Config,
    out: Path,
    reporter: Reporter,
    cache_dir: Path | None,
    ranks: Ranks,
) -> RunResult | None:
    from trainer.vectors import GroupSums, neutral_components, trainable_concepts

    cache_dir = (cache_dir or cache_root()) if config.use_cache else None
    timings: dict[str, float] = {}
    started = clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now

    RunFolder.check_out(out, corpus.root)
    # Rank 0 alone lints and reports: a lint failure there ends the launch, as torchrun stops every rank.
    gate = LintGate(corpus, project, config, reporter) if ranks.is_main else None
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
    if config.export_gguf and not control_vector_layers(layers, source.n_layers)[0]:
        raise AmygdalaError("--export-gguf: llama.cpp cannot steer at layer 1 (direction.0); choose --layers beyond 1")
    lap("model_setup")

    where = f" on {ranks.world} ranks" if ranks.distributed else ""
    reporter.step(f"{len(inputs)} texts, {len(concepts)} concepts, {len(layers)} layers of {source.name}{where}")
    # The process group lives only for the extraction: model conversion and the run folder are
    # single-process work (transformers skips parts of saving on ranks other than 0 once a group exists).
    if not ranks.is_main:
        with process_group(ranks, rank_device(ranks, device)):
            extract(source, inputs, layers, config, cache_dir, reporter, [], ranks=ranks)
        return None
    with RunFolder.build(out) as folder:
        sums = GroupSums(rows, len(layers), source.hidden_size)
        writer = folder.activation_writer(layers, len(rows), source.hidden_size, config.store_dtype)
        with process_group(ranks, rank_device(ranks, device)):
            extraction = extract(source, inputs, layers, config, cache_dir, reporter, [gate, sums.add, writer.write_rows], ranks=ranks)
        assert extraction is not None and gate is not None  # rank 0
        lap("extract")
        report = gate.verdict()
        lap("lint_wait")
        timings["extract_model_load"] = round(extraction.load_seconds, 4)  # part of extract

        neutral, denoise = None, None
        if neutral_dir and neutral_inputs:
            neutral_states = ArraySink.empty(len(layers), len(neutral_inputs), source.hidden_size)
            extract(source, neutral_inputs, layers, config, cache_dir, reporter, [neutral_states.add], loaded=extraction.model)
            neutral = neutral_components(neutral_states.states, config.denoise_variance)
            denoise = _denoise_info(neutral_dir, config.denoise_variance, neutral_inputs, layers, neutral)
            lap("denoise_extract")

        vectors = sums.vectors(concepts, config.method, layers, neutral)
        lap("vectors")

        folder.write_readout(concepts, layers, vectors)
        folder.write_texts(rows)
        folder.write_manifest(corpus.manifest_path.read_bytes())
        folder.write_lint(report)
        if config.export_gguf:
            for warning in folder.write_control_vectors(concepts, layers, vectors, source.architecture, source.n_layers)[1]:
                reporter.warn(warning)
        lap("write")
        info = RunInfo(
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            config=config,
            model=ModelInfo(
                **{k: getattr(source, k) for k in ("name", "kind", "identity", "revision", "architecture", "n_layers", "hidden_size")},
                path=str(source.path),
                dtype=dtype,
                device=extraction.model.device if extraction.model else rank_device(ranks, device),
                device_map=config.device_map,
            ),
            corpus=_corpus_info(corpus, rows, skipped),
            lint=LintSummary(counts=report.counts, allowed_errors=bool(report.counts.get("error", 0))),
            extraction=ExtractionInfo(
                layers=layers,
                pool=config.pool,
                skip_tokens=config.skip_tokens,
                chat_template=config.chat_template,
                batch_size=extraction.batch_size,
                tokens=extraction.tokens,
                cache=extraction.cache,
                store_dtype=config.store_dtype,
                mean_norm={str(layer): round(float(norm), 4) for layer, norm in zip(layers, sums.mean_norm())},
                world_size=ranks.world,
                texts_per_rank=extraction.texts_per_rank,
            ),
            vectors=VectorsInfo(method=config.method, n_concepts=len(concepts), denoise=denoise),
            versions=_versions(),
            timings={**timings, "total": round(time.perf_counter() - started, 4)},
            files=folder.files(),
        )
        folder.commit(info)
    return RunResult(folder=out, info=info, concepts=concepts, lint=report)
