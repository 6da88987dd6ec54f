"""Triage on a run with planted weak clusters, an outlier, duplicates and a lint finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _synthetic_run import DUPLICATES, LINTED, OUTLIER, write_run
from toolkit.cli import app
from trainer.analysis import analyze
from trainer.report import render_markdown
from trainer.runfolder import RunFolder

runner = CliRunner(env={"COLUMNS": "1000"})


@pytest.fixture
def result(tmp_path: Path):
    return analyze(RunFolder.read(write_run(tmp_path / "run")), probes=False)


def test_weak_clusters_are_the_ones_not_cohesive_in_the_deep_third(result):
    triage = result.triage
    assert [w.cluster for w in triage.weak_clusters] == ["split", "loose", "lone", "mix"]
    assert [w.label for w in triage.weak_clusters] == ["anti-clustered", "scattered", "undetermined", "undetermined"]
    assert triage.cohesive_clusters == ["tight"]
    assert triage.settings.deep_layers == [5, 6]
    assert "closer to other clusters" in triage.weak_clusters[0].reason


def test_far_concepts_name_the_cluster_they_lean_to(result):
    far = {f.concept: f for f in result.triage.far_concepts}
    assert far["split_1"].cluster == "split" and far["split_1"].mate_cosine == pytest.approx(0.0, abs=1e-3)
    assert far["split_1"].closest_cluster == "tight" and far["split_1"].closest_cosine > 0.7
    assert far["split_2"].closest_cluster == "lone"
    assert {f.cluster for f in result.triage.far_concepts} == {"split", "loose"}  # undetermined clusters have no mates


def test_texts_of_far_concepts_are_named_with_the_cluster_they_lean_to(result):
    far_texts = [t for t in result.triage.texts if any(r.kind == "far-from-cluster" for r in t.reasons)]
    assert {t.concept for t in far_texts} >= {"split_1", "split_2"}
    assert all(t.in_weak_cluster for t in far_texts)
    split_1 = next(t for t in far_texts if t.concept == "split_1")
    (reason,) = [r for r in split_1.reasons if r.kind == "far-from-cluster"]
    assert "closer to tight" in reason.detail
    assert not any(t.in_weak_cluster for t in result.triage.texts if t.cluster == "tight")


def test_planted_outlier_ranks_first_among_texts_to_rewrite(result):
    texts = result.triage.texts
    assert texts[0].rel == OUTLIER
    assert texts[0].reasons[0].kind == "low-alignment" and "points away" in texts[0].reasons[0].detail
    alignments = [t.alignment for t in texts if t.alignment is not None]
    assert alignments == sorted(alignments)


def test_near_duplicates_and_lint_findings_are_named(result):
    by_rel = {t.rel: t for t in result.triage.texts}
    first, second = DUPLICATES
    dup = [r for r in by_rel[first].reasons if r.kind == "near-duplicate"]
    assert dup and second in dup[0].detail and dup[0].value == pytest.approx(1.0, abs=1e-4)
    assert any(r.kind == "near-duplicate" and first in r.detail for r in by_rel[second].reasons)
    lint = [r for r in by_rel[LINTED].reasons if r.kind == "lint"]
    assert lint and lint[0].detail.startswith("KW001 keyword-in-text (line 3)")


def test_markdown_lists_clusters_concepts_and_texts(result):
    text = render_markdown(result.triage, result.validation)
    assert "| split | 2 | anti-clustered |" in text
    assert "| split_1 | split |" in text
    assert f"1. `{OUTLIER}` (tight_1, alignment -" in text


def test_triage_command_writes_its_files_and_prints_the_report(tmp_path: Path):
    run_dir = write_run(tmp_path / "run")
    out = runner.invoke(app, ["triage", str(run_dir), "--no-probes", "--limit", "3"])
    assert out.exit_code == 0, out.output
    assert "weak cluster split anti-clustered" in out.output
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
    assert out.stderr.startswith(f"error: {run_dir / 'activations.safetensors'}: tensor layer_1 missing or not [34, 64]")
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
