"""What the researcher's analyses (issue 14) add to the analysis of a run: logit lens, valence and
arousal, clustering with permutation nulls, pairs, stability, their pictures and report sections.

Target: at most 5 s added on the bundled corpus with the default model. Give a run folder written
by `amygdala train` (e.g. `amygdala train --out runs/demo`, then
`python bench/analyses_bench.py runs/demo`). Each step runs REPEATS times; the median CPU time is printed.
The whole heat-map time counts as added (it was drawn before too, smaller), so the total is an
upper bound.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 3
TARGET_SECONDS = 5.0


def median_seconds(step, repeats: int = REPEATS) -> float:
    """Median CPU seconds of this process (BLAS runs single-threaded, as in the analysis): on a machine
    shared with other work, wall time measures the neighbours; on an idle one the two agree."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        step()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main(run_dir: Path) -> None:
    from base.jsonio import write_json
    from trainer.report import plots
    from trainer.analysis.pipeline import analyze, single_threaded_blas
    from trainer.linalg import default_report_layer
    from trainer.report.render import ReportInputs, affect, environment, lens, pairs, stability, structure
    from trainer.analysis.research import compute_analyses
    from trainer.extraction.weights import find_unembedding
    from trainer.runfolder.folder import RunFolder

    run = RunFolder.read(run_dir)
    layer = default_report_layer(run.layers)
    print(f"run {run_dir}: {len(run.concepts)} concepts, {len(run.layers)} layers, hidden {run.vectors.shape[-1]}, report layer {layer}")
    with single_threaded_blas():
        first, first_cpu = time.perf_counter(), time.process_time()
        unembedding, lens_reason = find_unembedding(run.info.model, run.vectors.shape[-1])
        report = compute_analyses(run, layer, unembedding=unembedding, lens_reason=lens_reason)
        print(
            f"first call (cold imports and weight read): {time.process_time() - first_cpu:.2f} s CPU, "
            f"{time.perf_counter() - first:.2f} s wall; wall per step {report.timings}"
        )
        steps = {
            "read the unembedding": lambda: find_unembedding(run.info.model, run.vectors.shape[-1]),
            "analyses (lens, affect, structure, pairs, stability)": lambda: compute_analyses(
                run, layer, unembedding=unembedding, lens_reason=lens_reason
            ),
        }
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            base_result = analyze(run, layer=layer, analyses=False)

            def sections() -> None:
                inputs = ReportInputs(run, base_result.quality, base_result.validation, base_result.triage, {}, report)
                for build in (lens, affect, structure, pairs, stability):
                    section = build(inputs)
                    if section is not None:
                        environment().get_template(f"sections/{section.template}").render(s=section.context)
            steps.update(
                {
                    "heat map with every name (whole time)": lambda: plots.cosine_heatmap(run, layer, folder / "h.png"),
                    "circumplex": lambda: plots.circumplex(run, report, folder / "c.png"),
                    "analyses by layer": lambda: plots.layer_profile(report, folder / "p.png"),
                    "analyses.json + report sections": lambda: (write_json(folder / "a.json", report), sections()),
                }
            )
            figures = {name: median_seconds(step) for name, step in steps.items()}
            base = median_seconds(lambda: analyze(run, layer=layer, analyses=False), repeats=1)
    width = max(map(len, figures))
    for name, seconds in figures.items():
        print(f"  {name:<{width}}  {seconds:6.2f} s")
    added = sum(figures.values())
    print(f"  {'added in total (upper bound)':<{width}}  {added:6.2f} s   target <= {TARGET_SECONDS:.1f} s   {'OK' if added <= TARGET_SECONDS else 'OVER'}")
    print(f"  {'for scale: quality + validation + probes + triage':<{width}}  {base:6.2f} s   (ratio added/base {added / base:.2f})")
    if report.lens is not None:
        print(f"lens: {len(report.lens.flags)} flagged of {len(run.concepts)} at layer {layer}; random directions flagged {report.lens.random_flag_rate:.1%}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/analyses_bench.py RUN_FOLDER (written by `amygdala train`)")
    main(Path(sys.argv[1]))
