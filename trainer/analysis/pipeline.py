"""The analysis of a run folder: quality, validation, triage, pictures and report.html.

``analyze_run`` is the single entry point (``amygdala train`` calls it after extraction;
``amygdala validate`` and ``amygdala triage`` call it alone). Everything numeric lives in
the sibling modules as pure functions of a ``RunData``; this module reads the run and writes its
reports through ``trainer.runfolder.folder``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from schemas.analyses import AnalysesReport
from schemas.analysis import NotSteering, QualityReport, TriageReport, ValidationReport
from schemas.evaluation import SteeringReport
from base.errors import AmygdalaError
from trainer.linalg import default_report_layer
from trainer.runfolder.data import RunData
from trainer.runfolder.folder import ANALYSES, QUALITY, REPORT_HTML, STEERING, TRIAGE, TRIAGE_MD, VALIDATION, Run, RunFolder

if TYPE_CHECKING:
    from trainer.background import Background
    from trainer.analysis.validation import ProbeReports

T = TypeVar("T")


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
    analyses: AnalysesReport | None = None
    written: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def analyze(
    run: RunData,
    *,
    layer: int | None = None,
    model_path: Path | None = None,
    probes: bool = True,
    triage: bool = True,
    analyses: bool = True,
    lens_layers: str = "report",
    steering: SteeringReport | None = None,
    while_probing: Callable[[AnalysisResult], None] | None = None,
) -> AnalysisResult:
    """Quality, validation, the researcher's analyses (analyses.json) and (optionally) triage of a loaded run, in memory;
    ``steering``: the run's steering check, whose non-steering concepts triage names. The probes, the slowest
    step and independent of the others, run beside them on the second core (``_start_probes``);
    ``while_probing`` is called with the result (all but the probes) before waiting for them."""
    report_layer = layer if layer is not None else default_report_layer(run.layers)
    if report_layer not in run.layers:
        raise AmygdalaError(f"layer {report_layer} is not in the run (layers {run.layers[0]}..{run.layers[-1]})", run.root)
    from trainer.analysis.research import lens_layer_list

    lens_at = lens_layer_list(lens_layers, run.layers, report_layer) if analyses else None  # a bad spec fails before any work
    with single_threaded_blas():
        probing = _start_probes(run, report_layer) if probes else None
        result = _analyze(run, report_layer, model_path, triage, lens_at, steering)
        if while_probing is not None:
            while_probing(result)
        if probing is not None:
            start = time.perf_counter()
            reports, result.timings["probes"] = probing.result()
            reports.attach(result.validation)
            result.timings["probes_wait"] = time.perf_counter() - start
    return result


# Below this many texts x layers the probes take less than a second interpreter's imports.
PROBES_IN_A_PROCESS_FROM = 10_000


def _start_probes(run: RunData, layer: int) -> "Background[tuple[ProbeReports, float]]":
    """The probes, on the second core: in a spawned process for a run folder on disk that is large
    enough, in a thread otherwise (numpy and scikit-learn release the GIL in their heavy loops, but
    the rest of the analysis holds it, so a process finishes sooner)."""
    from trainer.background import Background, imports_pending
    from trainer.analysis.validation import compute_probes

    if isinstance(run, Run) and imports_pending("sklearn") and len(run.texts) * len(run.layers) >= PROBES_IN_A_PROCESS_FROM:
        return Background(_timed, _folder_probes, run.root, [layer], process=True)
    return Background(_timed, compute_probes, run, [layer], process=False)


def _folder_probes(root: Path, layers: list[int]) -> "ProbeReports":
    from trainer.analysis.validation import compute_probes

    with single_threaded_blas():
        return compute_probes(RunFolder.read(root), layers)


def _analyze(
    run: RunData,
    report_layer: int,
    model_path: Path | None,
    triage: bool,
    lens_at: list[int] | None,
    steering: SteeringReport | None,
) -> AnalysisResult:
    from trainer.analysis.quality import compute_quality
    from trainer.analysis.triage import compute_triage
    from trainer.analysis.validation import compute_validation
    from trainer.extraction.weights import load_down_projections

    timings: dict[str, float] = {}
    start = time.perf_counter()
    down = load_down_projections(run.info.model, run.layers, run.vectors.shape[-1], model_path)
    timings["down_projection"] = time.perf_counter() - start

    start = time.perf_counter()
    quality = compute_quality(run, report_layer=report_layer, down=down)
    timings["quality"] = time.perf_counter() - start
    start = time.perf_counter()
    validation = compute_validation(run, probes=False)  # the probes are attached by analyze()
    timings["validation"] = time.perf_counter() - start
    result = AnalysisResult(quality=quality, validation=validation, triage=None, timings=timings)
    if lens_at is not None:
        from trainer.analysis.research import compute_analyses
        from trainer.extraction.weights import find_unembedding

        start = time.perf_counter()
        unembedding, lens_reason = find_unembedding(run.info.model, run.vectors.shape[-1], model_path)
        timings["unembedding"] = time.perf_counter() - start
        start = time.perf_counter()
        result.analyses = compute_analyses(run, report_layer, unembedding=unembedding, lens_reason=lens_reason, lens_layers=lens_at)
        timings["analyses"] = time.perf_counter() - start
    if triage:
        start = time.perf_counter()
        result.triage = compute_triage(run, quality, validation)
        if result.analyses is not None and result.analyses.lens is not None:
            result.triage.leaky_concepts = result.analyses.lens.flags
        if steering is not None:
            result.triage.not_steering = NotSteering(
                layer=steering.recommended.layer,
                strength=steering.recommended.strength,
                z_threshold=steering.z_threshold,
                n_testable=len(steering.concepts) - len(steering.untestable),
                concepts=steering.not_steering,
            )
        timings["triage"] = time.perf_counter() - start
    return result


def _timed(function: Callable[..., T], *args: object) -> tuple[T, float]:
    start = time.perf_counter()
    return function(*args), time.perf_counter() - start


def analyze_run(
    run_dir: Path,
    *,
    layer: int | None = None,
    model_path: Path | None = None,
    probes: bool = True,
    triage: bool = True,
    pictures: bool = True,
    write: bool = True,
    lens_layers: str = "report",
) -> AnalysisResult:
    """Analyse a run folder and write quality.json, validation.json and, with ``triage``,
    triage.json, triage.md, the PNGs and report.html next to the run's other files."""
    run = RunFolder.read(Path(run_dir))
    steering = run.read_report(STEERING, SteeringReport)
    images: dict[str, Path] = {}

    def draw(result: AnalysisResult) -> None:  # the pictures need no probe, so they are drawn while it runs
        from trainer.report.plots import write_pictures

        start = time.perf_counter()
        images.update(write_pictures(run, result.quality, result.validation, run.root, result.analyses))
        result.timings["pictures"] = time.perf_counter() - start
        result.written += list(images.values())

    result = analyze(run, layer=layer, model_path=model_path, probes=probes, triage=triage, lens_layers=lens_layers,
                     steering=steering, while_probing=draw if write and pictures else None)
    if not write:
        return result
    result.written += [run.write_report(QUALITY, result.quality), run.write_report(VALIDATION, result.validation)]
    if result.analyses is not None:
        result.written.append(run.write_report(ANALYSES, result.analyses))
    if result.triage is not None:
        from trainer.report.render import render_html, render_markdown

        result.written += [
            run.write_report(TRIAGE, result.triage),
            run.write_text(TRIAGE_MD, render_markdown(result.triage, result.validation)),
            run.write_text(REPORT_HTML, render_html(run, result.quality, result.validation, result.triage, images, result.analyses)),
        ]
    return result


def load_reports(run_dir: Path) -> tuple[Run, QualityReport, ValidationReport]:
    """A run with its quality and validation: read from the folder when present, computed in memory otherwise."""
    run = RunFolder.read(Path(run_dir))
    quality, validation = run.read_report(QUALITY, QualityReport), run.read_report(VALIDATION, ValidationReport)
    if quality is not None and validation is not None:
        return run, quality, validation
    result = analyze(run, probes=False, triage=False, analyses=False)
    return run, result.quality, result.validation
