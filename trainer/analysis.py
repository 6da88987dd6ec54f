"""The analysis of a run folder: quality, validation, triage, pictures and report.html.

``analyze_run`` is the single entry point (``amygdala train`` calls it after extraction;
``amygdala validate`` and ``amygdala triage`` call it alone). Everything numeric lives in
the sibling modules as pure functions over arrays; this module does the run folder's I/O.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from schemas.analysis import QualityReport, TriageReport, ValidationReport
from schemas.finding import LintReport
from schemas.manifest import Manifest
from toolkit.errors import AmygdalaError
from toolkit.jsonio import read_json, validate_file, write_json

QUALITY_FILE = "quality.json"
VALIDATION_FILE = "validation.json"
TRIAGE_JSON = "triage.json"
TRIAGE_MD = "triage.md"
REPORT_HTML = "report.html"


@dataclass
class RunData:
    """A run folder read into arrays; rows of ``vectors`` follow ``concepts``, rows of ``activations`` follow ``texts``."""

    root: Path
    concepts: list[str]
    layers: list[int]
    vectors: np.ndarray  # [n_layers, n_concepts, hidden] float32, unit rows
    activations: np.ndarray  # [n_layers, n_texts, hidden] float32
    texts: list[dict[str, Any]]
    manifest: Manifest
    lint: LintReport | None
    run_info: dict[str, Any]

    @property
    def clusters(self) -> list[str]:
        """Cluster of each concept, in ``concepts`` order."""
        return [self.manifest.concepts[c].cluster for c in self.concepts]

    @property
    def text_concept_index(self) -> np.ndarray:
        """Index into ``concepts`` of each text's concept; -1 for baselines and concepts without a vector."""
        where = {c: i for i, c in enumerate(self.concepts)}
        return np.array([where.get(t.get("concept") or "", -1) for t in self.texts], dtype=np.int64)


def thirds(layers: list[int]) -> dict[str, list[int]]:
    """Split the run's layers into early, middle and deep thirds; the deep third is never empty."""
    parts = np.array_split(np.array(sorted(layers))[::-1], 3)
    deep, middle, early = (sorted(int(x) for x in part) for part in parts)
    return {"early": early, "middle": middle, "deep": deep}


def default_report_layer(layers: list[int]) -> int:
    """The middle layer of the deep third: deep enough for abstract features, clear of the last block's peculiarities."""
    deep = thirds(layers)["deep"]
    return deep[len(deep) // 2]


def _require(path: Path) -> Path:
    if not path.exists():
        raise AmygdalaError(f"missing {path.name} (is this a run folder written by `amygdala train`?)", path.parent)
    return path


def load_run(run_dir: Path) -> RunData:
    """Read a run folder (contract: readout.*, activations.safetensors, texts.json, manifest.json, lint.json, run.json)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise AmygdalaError("run folder not found", run_dir)
    readout_json = read_json(_require(run_dir / "readout.json"))
    try:
        concepts = [str(c) for c in readout_json["concepts"]]
        layers = [int(i) for i in readout_json["layers"]]
    except (KeyError, TypeError, ValueError):
        raise AmygdalaError("expected {concepts: [...], layers: [...]}", run_dir / "readout.json") from None
    if not concepts or not layers:
        raise AmygdalaError("no concepts or no layers", run_dir / "readout.json")

    def tensors(name: str) -> dict[str, np.ndarray]:
        path = _require(run_dir / name)
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise AmygdalaError(f"unreadable safetensors file: {exc}", path) from None

    readout = tensors("readout.safetensors")
    acts = tensors("activations.safetensors")
    texts = read_json(_require(run_dir / "texts.json"))
    if not isinstance(texts, list) or not all(isinstance(t, dict) and "rel" in t for t in texts):
        raise AmygdalaError("expected a list of {rel, kind, concept, scenario, sha256, words}", run_dir / "texts.json")

    vectors, activations = [], []
    for layer in layers:
        vec = readout.get(f"layer_{layer}.vectors")
        act = acts.get(f"layer_{layer}")
        if vec is None or vec.shape[0] != len(concepts):
            raise AmygdalaError(f"tensor layer_{layer}.vectors missing or not [{len(concepts)}, hidden]", run_dir / "readout.safetensors")
        if act is None or act.shape != (len(texts), vec.shape[1]):
            raise AmygdalaError(
                f"tensor layer_{layer} missing or not [{len(texts)}, {vec.shape[1]}] (texts.json rows x hidden)",
                run_dir / "activations.safetensors",
            )
        vectors.append(vec.astype(np.float32))
        activations.append(act.astype(np.float32, copy=False))
    vec_arr = np.stack(vectors)
    norms = np.linalg.norm(vec_arr, axis=-1, keepdims=True)
    if np.any(norms == 0) or not np.all(np.isfinite(vec_arr)):
        raise AmygdalaError("a concept vector is zero or not finite", run_dir / "readout.safetensors")
    act_arr = np.stack(activations)
    if not np.all(np.isfinite(act_arr)):
        raise AmygdalaError("activations contain NaN or infinity", run_dir / "activations.safetensors")

    manifest = validate_file(Manifest, _require(run_dir / "manifest.json"))
    unknown = [c for c in concepts if c not in manifest.concepts]
    if unknown:
        raise AmygdalaError(f"concepts not in the run's manifest.json: {', '.join(unknown[:5])}", run_dir / "readout.json")
    lint_path = run_dir / "lint.json"
    lint = validate_file(LintReport, lint_path) if lint_path.exists() else None
    run_path = run_dir / "run.json"
    run_info = read_json(run_path) if run_path.exists() else {}
    return RunData(
        root=run_dir,
        concepts=concepts,
        layers=layers,
        vectors=vec_arr / norms,
        activations=act_arr,
        texts=texts,
        manifest=manifest,
        lint=lint,
        run_info=run_info if isinstance(run_info, dict) else {},
    )


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS on one thread: the analysis multiplies many small matrices, and a multi-threaded BLAS
    sharing its cores with anything else (an extraction, a test run) slowed it down 6-14x here, while
    one thread costs nothing measurable when the machine is idle."""
    import scipy.linalg  # noqa: F401 - loads scipy's own OpenBLAS now, so the limit below reaches it too
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@dataclass
class AnalysisResult:
    quality: QualityReport
    validation: ValidationReport
    triage: TriageReport | None
    written: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def analyze(
    run: RunData,
    *,
    layer: int | None = None,
    model_path: Path | None = None,
    probes: bool = True,
    triage: bool = True,
) -> AnalysisResult:
    """Quality, validation and (optionally) triage of a loaded run, in memory."""
    report_layer = layer if layer is not None else default_report_layer(run.layers)
    if report_layer not in run.layers:
        raise AmygdalaError(f"layer {report_layer} is not in the run (layers {run.layers[0]}..{run.layers[-1]})", run.root)
    with single_threaded_blas():
        return _analyze(run, report_layer, model_path, probes, triage)


def _analyze(run: RunData, report_layer: int, model_path: Path | None, probes: bool, triage: bool) -> AnalysisResult:
    from trainer.quality import compute_quality, load_down_projections
    from trainer.triage import compute_triage
    from trainer.validation import compute_validation

    timings: dict[str, float] = {}
    start = time.perf_counter()
    down = load_down_projections(run.run_info, run.layers, run.vectors.shape[-1], model_path)
    timings["down_projection"] = time.perf_counter() - start

    start = time.perf_counter()
    quality = compute_quality(run, report_layer=report_layer, down=down)
    timings["quality"] = time.perf_counter() - start
    start = time.perf_counter()
    validation = compute_validation(run, probes=probes, headline_layers=[report_layer])
    timings["validation"] = time.perf_counter() - start
    result = AnalysisResult(quality=quality, validation=validation, triage=None, timings=timings)
    if triage:
        start = time.perf_counter()
        result.triage = compute_triage(run, quality, validation)
        timings["triage"] = time.perf_counter() - start
    return result


def analyze_run(
    run_dir: Path,
    *,
    layer: int | None = None,
    model_path: Path | None = None,
    probes: bool = True,
    triage: bool = True,
    pictures: bool = True,
    write: bool = True,
) -> AnalysisResult:
    """Analyse a run folder and write quality.json, validation.json and, with ``triage``,
    triage.json, triage.md, the PNGs and report.html next to the run's other files."""
    run = load_run(Path(run_dir))
    result = analyze(run, layer=layer, model_path=model_path, probes=probes, triage=triage)
    if not write:
        return result
    root = run.root
    write_json(root / QUALITY_FILE, result.quality)
    write_json(root / VALIDATION_FILE, result.validation)
    result.written += [root / QUALITY_FILE, root / VALIDATION_FILE]
    images: dict[str, Path] = {}
    if pictures:
        from trainer.plots import write_pictures

        start = time.perf_counter()
        images = write_pictures(run, result.quality, result.validation, root)
        result.timings["pictures"] = time.perf_counter() - start
        result.written += list(images.values())
    if result.triage is not None:
        from toolkit.jsonio import atomic_write_text
        from trainer.report import render_html
        from trainer.triage import render_markdown

        write_json(root / TRIAGE_JSON, result.triage)
        atomic_write_text(root / TRIAGE_MD, render_markdown(result.triage, result.validation))
        atomic_write_text(root / REPORT_HTML, render_html(run, result.quality, result.validation, result.triage, images))
        result.written += [root / TRIAGE_JSON, root / TRIAGE_MD, root / REPORT_HTML]
    return result


def load_reports(run_dir: Path) -> tuple[RunData, QualityReport, ValidationReport]:
    """A run with its quality and validation: read from the folder when present, computed in memory otherwise."""
    run = load_run(Path(run_dir))
    qpath, vpath = run.root / QUALITY_FILE, run.root / VALIDATION_FILE
    if qpath.exists() and vpath.exists():
        return run, validate_file(QualityReport, qpath), validate_file(ValidationReport, vpath)
    result = analyze(run, probes=False, triage=False)
    return run, result.quality, result.validation
