"""amygdala compare: the rewrite -> retrain -> check-the-flip loop."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from _synthetic_run import write_run
from schemas.export import SCHEMA_DIR
from toolkit.cli import app
from trainer.analysis.compare import compare_runs

runner = CliRunner(env={"COLUMNS": "1000"})
REWRITTEN = "stories/split_2_a.txt"


def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    before = write_run(tmp_path / "before")
    after = write_run(tmp_path / "after", fixed_split=True, changed_text=REWRITTEN)
    return before, after


def test_compare_calls_out_the_flip_and_the_changed_text(tmp_path: Path):
    before, after = two_runs(tmp_path)
    report = compare_runs(before, after)
    first = report.clusters[0]
    assert first.cluster == "split" and first.flip == "scattered -> cohesive"
    assert first.before < 0 < first.after and first.delta == round(first.after - first.before, 5)
    unchanged = {c.cluster: c for c in report.clusters}["tight"]
    assert unchanged.flip is None and unchanged.label_before == unchanged.label_after == "cohesive"
    assert report.texts.changed == [REWRITTEN] and not report.texts.added and not report.texts.removed
    assert report.texts.unchanged == 49
    split = {c.concept: c for c in report.concepts}["split_2"]
    assert split.alignment_before is not None and split.alignment_after is not None
    assert report.notes == []


def test_compare_reads_saved_reports_when_present(tmp_path: Path):
    before, after = two_runs(tmp_path)
    assert runner.invoke(app, ["validate", str(before), "--no-probes"]).exit_code == 0
    # the saved validation is what compare reads: tamper with it and the change shows
    saved = json.loads((before / "validation.json").read_text())
    saved["clusters"]["tight"]["thirds"]["deep"]["label"] = "scattered"
    (before / "validation.json").write_text(json.dumps(saved))
    report = compare_runs(before, after)
    assert {c.cluster: c for c in report.clusters}["tight"].flip == "scattered -> cohesive"


def test_compare_notes_a_different_model(tmp_path: Path):
    before, after = two_runs(tmp_path)
    info = json.loads((after / "run.json").read_text())
    info["model"]["identity"] = "someone/else"
    info["config"]["pool"] = "last"
    (after / "run.json").write_text(json.dumps(info))
    notes = compare_runs(before, after).notes
    assert any("different models" in n for n in notes) and "pool differs: 'mean' -> 'last'" in notes


def test_compare_command_prints_and_writes_json(tmp_path: Path):
    before, after = two_runs(tmp_path)
    out_file = tmp_path / "comparison.json"
    result = runner.invoke(app, ["compare", str(before), str(after), "--out", str(out_file)])
    assert result.exit_code == 0, result.output
    assert "scattered -> cohesive" in result.output
    assert f"changed: {REWRITTEN}" in result.output
    assert "texts: 1 changed, 0 added, 0 removed, 49 unchanged" in result.output
    schema = json.loads((SCHEMA_DIR / "comparison.schema.json").read_text())
    jsonschema.validate(json.loads(out_file.read_text()), schema)


def test_compare_with_a_missing_run_fails_in_one_line(tmp_path: Path):
    before, _ = two_runs(tmp_path)
    result = runner.invoke(app, ["compare", str(before), str(tmp_path / "nope")])
    assert result.exit_code == 2 and result.stderr == f"error: {tmp_path / 'nope'}: run folder not found\n"
