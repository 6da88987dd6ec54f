"""The report side: sentences built from the typed results alone, p-values worded by the kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

from _synthetic_run import write_run
from trainer.analysis.pipeline import analyze
from trainer.analysis.probes import ProbeConfig
from trainer.analysis.validation import compute_validation
from trainer.report import wording
from trainer.runfolder.folder import RunFolder


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return RunFolder.read(write_run(tmp_path_factory.mktemp("wording") / "run"))


def test_the_validation_reads_from_its_report(run):
    validation = compute_validation(run, probe_config=ProbeConfig(permutations=19, bootstrap=100, cv_seeds=1))
    probe, best, concept = wording.probe_lines(validation)
    assert probe.startswith("Cluster probe (pre-declared layer") and "p ≤ 0.05" in probe  # 19 permutations: floor 1/20
    assert best.startswith("Best layer (exploratory") and f"among {len(run.layers)} layers" in best
    assert concept.startswith("Concept probe")
    valence = wording.valence_line(validation)
    assert valence.startswith("PC1 valence: separates") and "/2 deep layers" in valence
    lines = wording.confound_lines(validation)
    assert [line.split(" vectors")[0] for line in lines[:3]] == ["- story", "- paired", "- combined"]


def test_a_cluster_test_reads_with_its_evidence(run):
    deep = compute_validation(run, probes=False).clusters["split"].thirds["deep"]
    text = wording.describe_cluster_test(deep.label, deep.cohesion_test, 4)
    assert text.startswith(f"deep-third cohesion {deep.cohesion_test.value:+.3f}") and "Holm-adjusted, 999 permutations" in text
    assert wording.adjusted_p(deep.cohesion_test) in text


def test_reasons_and_missing_reports_read_as_such(run):
    validation = compute_validation(run, probes=False)
    assert wording.probe_lines(validation) == ["Cluster probe: probes not run (--no-probes)."]
    validation.valence, validation.valence_reason = None, "needs at least two positive and two negative concepts (has 1 and 0)"
    assert wording.valence_line(validation) == "PC1 valence: needs at least two positive and two negative concepts (has 1 and 0)"


def test_the_analyses_read_one_line_each(run):
    analyses = analyze(run, probes=False, triage=False).analyses
    lines = wording.analyses_lines(analyses)
    assert lines[0] == (f"logit lens: {analyses.lens_reason}", True)  # the synthetic run has no weights
    assert lines[-1][0].startswith("stability: the concept geometry has settled from layer")
    assert any(text.startswith("valence/arousal") for text, _ in lines)
