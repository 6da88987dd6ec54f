"""Triage on a run with planted weak clusters, an outlier, duplicates and a lint finding."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from _synthetic_run import DUPLICATES, LINTED, OUTLIER, write_run
from toolkit.cli import app
from trainer.analysis.pipeline import analyze
from trainer.report.render import render_markdown
from trainer.runfolder.folder import RunFolder
from trainer.analysis.triage import far_detail

runner = CliRunner(env={"COLUMNS": "1000"})


@pytest.fixture
def result(tmp_path: Path):
    return analyze(RunFolder.read(write_run(tmp_path / "run")), probes=False)


def test_weak_clusters_are_judged_ones_not_above_their_null_in_the_deep_third(result):
    triage = result.triage
    assert [w.cluster for w in triage.weak_clusters] == ["split", "loose"]
    assert {w.label for w in triage.weak_clusters} <= {"scattered", "anti-clustered"}
    assert triage.cohesive_clusters == ["tight"]
    assert [(w.cluster, w.label) for w in triage.unjudged_clusters] == [
        ("pair", "too small to judge"),
        ("lone", "undetermined"),
        ("mix", "undetermined"),
    ]
    assert triage.settings.deep_layers == [5, 6]
    split = triage.weak_clusters[0]
    assert split.test is not None and split.n_concepts == 4
    assert "random sets of 4 concepts" in split.reason and "z " in split.reason and "999 permutations" in split.reason


def test_far_concepts_name_the_cluster_they_lean_to_with_evidence(result):
    far = {f.concept: f for f in result.triage.far_concepts}
    assert far["split_1"].cluster == "split" and far["split_1"].mate_cosine == pytest.approx(0.0, abs=1e-3)
    assert far["split_1"].closest_cluster == "tight" and far["split_1"].closest_cosine > 0.7
    assert far["split_1"].closest_z > 2 and far["split_1"].closest_p < 0.05
    assert far["split_2"].closest_cluster == "lone"
    assert {f.cluster for f in result.triage.far_concepts} == {"split", "loose"}  # unjudged clusters have no far concepts


def test_texts_of_far_concepts_are_named_with_the_cluster_they_lean_to(result):
    far_texts = [t for t in result.triage.texts if any(r.kind == "far-from-cluster" for r in t.reasons)]
    assert {t.concept for t in far_texts} >= {"split_1", "split_2"}
    assert all(t.in_weak_cluster for t in far_texts)
    split_1 = next(t for t in far_texts if t.concept == "split_1")
    (reason,) = [r for r in split_1.reasons if r.kind == "far-from-cluster"]
    assert "closest to tight" in reason.detail and "z +" in reason.detail
    assert not any(t.in_weak_cluster for t in result.triage.texts if t.cluster == "tight")


def test_planted_outlier_ranks_first_among_texts_to_rewrite_out_of_sample(result):
    texts = result.triage.texts
    assert texts[0].rel == OUTLIER
    assert texts[0].reasons[0].kind == "low-alignment" and "points away" in texts[0].reasons[0].detail
    assert texts[0].alignment < 0 and texts[0].alignment_p > 0.5
    alignments = [t.alignment for t in texts if t.alignment is not None]
    assert alignments == sorted(alignments)
    # a well-aligned text of a coherent concept is not a rewrite candidate
    assert not any(t.concept == "tight_2" for t in texts)


def test_a_shared_scenario_is_named_as_the_reason_two_concepts_look_alike(tmp_path: Path):

    run = RunFolder.read(write_run(tmp_path / "run"))
    # split_1's texts become variants of a scenario that tight_2 also has a variant in
    run.texts = [
        t.model_copy(update={"kind": "variant", "scenario": "beach_day"}) if t.concept in ("split_1", "tight_2") and t.rel.endswith("_a.txt") else t
        for t in run.texts
    ]
    result = analyze(run, probes=False)
    far = {f.concept: f for f in result.triage.far_concepts}
    assert far["split_1"].shared_scenarios == ["beach_day"]
    assert "share scenario beach_day" in far_detail(far["split_1"])
    nearest = {n.concept: n for n in result.quality.concepts["split_1"].nearest}
    assert nearest["tight_2"].shared_scenarios == ["beach_day"]


def test_near_duplicates_and_lint_findings_are_named(result):
    by_rel = {t.rel: t for t in result.triage.texts}
    first, second = DUPLICATES
    dup = [r for r in by_rel[first].reasons if r.kind == "near-duplicate"]
    assert dup and second in dup[0].detail and dup[0].value == pytest.approx(1.0, abs=1e-4)
    assert any(r.kind == "near-duplicate" and first in r.detail for r in by_rel[second].reasons)
    lint = [r for r in by_rel[LINTED].reasons if r.kind == "lint"]
    assert lint and lint[0].detail.startswith("KW001 keyword-in-text (line 3)")


def test_markdown_lists_clusters_concepts_and_texts_with_their_evidence(result):
    text = render_markdown(result.triage, result.validation)
    assert re.search(r"\| tight \| 4 \| cohesive \| \+0\.\d+ \| [+-]0\.\d+ \[[+-]0\.\d+, [+-]0\.\d+\] \| \+\d\.\d \| p [=≤] ", text)
    assert "| pair | 2 | too small to judge |" in text
    assert "- split_1 sits far from split" in text
    assert f"1. `{OUTLIER}` (tight_1, leave-one-out alignment -" in text
    assert "## Confounds" in text and "scenario confound" in text


def test_triage_command_writes_its_files_and_prints_the_report(tmp_path: Path):
    run_dir = write_run(tmp_path / "run")
    out = runner.invoke(app, ["triage", str(run_dir), "--no-probes", "--limit", "3"])
    assert out.exit_code == 0, out.output
    assert "weak cluster split" in out.output and "random sets of 4 concepts" in out.output
    assert OUTLIER in out.output and "more in triage.md" in out.output
    for name in ("quality.json", "validation.json", "triage.json", "triage.md", "report.html", "cohesion_by_layer.png"):
        assert (run_dir / name).exists(), name
    saved = json.loads((run_dir / "triage.json").read_text())
    assert saved["texts"][0]["rel"] == OUTLIER


def test_a_folder_that_is_not_a_run_fails_in_one_line(tmp_path: Path):
    out = runner.invoke(app, ["triage", str(tmp_path)])
    assert out.exit_code == 2
    assert out.stderr == f"error: {tmp_path}: missing run.json: every run folder `amygdala train` writes has one (since amygdala 0.1.0)\n"


def test_mismatched_activations_fail_with_the_file_named(tmp_path: Path):
    run_dir = write_run(tmp_path / "run")
    texts = json.loads((run_dir / "texts.json").read_text())
    (run_dir / "texts.json").write_text(json.dumps(texts[:-1]))
    out = runner.invoke(app, ["validate", str(run_dir)])
    assert out.exit_code == 2
    assert out.stderr.startswith(f"error: {run_dir / 'activations.safetensors'}: tensor layer_1 missing or not [49, 64]")
    assert out.stderr.count("\n") == 1
    assert not (run_dir / "quality.json").exists()


def test_lint_findings_join_on_the_corpus_relative_path(tmp_path: Path):
    run_dir = write_run(tmp_path / "run", format_version=2)
    lint = json.loads((run_dir / "lint.json").read_text())
    # shown relative to some other working directory: the display path no longer ends with the text's path
    lint["findings"][0]["path"] = "../elsewhere/loose_2_a.txt"
    (run_dir / "lint.json").write_text(json.dumps(lint))
    triage = analyze(RunFolder.read(run_dir), probes=False).triage
    reasons = {t.rel: [r.kind for r in t.reasons] for t in triage.texts}
    assert "lint" in reasons[LINTED]


def test_near_duplicate_filter_finds_exactly_the_brute_force_pairs():
    from trainer.analysis.triage import near_duplicates

    rng = np.random.default_rng(0)
    states = rng.normal(size=(4, 60, 16))
    states[:, 7] = states[:, 3] + rng.normal(size=(4, 16)) * 0.05  # near copies
    states[:, 20] = states[:, 11] + rng.normal(size=(4, 16)) * 0.2  # close, not close enough on every layer
    centered = states - states.mean(axis=1, keepdims=True)
    unit = centered / np.linalg.norm(centered, axis=-1, keepdims=True)
    mean_cos = np.einsum("lih,ljh->ij", unit, unit) / 4
    for threshold in (0.97, 0.9):
        expected = {(i, j) for i in range(60) for j in range(i + 1, 60) if mean_cos[i, j] >= threshold}
        assert {(a, b) for a, b, _ in near_duplicates(states, threshold)} == expected
    assert (3, 7) in {(a, b) for a, b, _ in near_duplicates(states, 0.97)}
