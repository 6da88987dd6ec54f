"""One formatting helper: the terminal, triage.md and report.html show the same strings."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from _synthetic_run import write_run
from toolkit.cli import app
from trainer.report.formatting import layer_span, p_against_null, p_value, percent, signed, unsigned

runner = CliRunner(env={"COLUMNS": "1000"})


def test_numbers_and_missing_values():
    assert (signed(0.12345), signed(-0.5), signed(None)) == ("+0.123", "-0.500", "–")
    assert (unsigned(0.98765, 2), percent(0.1234), percent(None)) == ("0.99", "12.3%", "–")
    assert layer_span([4, 5, 6]) == "4–6"


def test_every_p_reads_through_the_kernels_formatter():
    """Table cells and sentences: the permutation floor as a bound, small exact p as "< 0.001"."""
    from schemas.analysis import NullTest

    assert (p_value(0.0123), p_value(0.5), p_value(None)) == ("0.0123", "0.5", "–")
    assert (p_value(0.001, 999), p_value(0.0004), p_value(0.02, label=True)) == ("≤ 0.001", "< 0.001", "p = 0.02")
    test = NullTest(value=0.9, null_mean=0.1, null_low=0.0, null_high=0.2, z=5.0, p=0.005, p_adjusted=None, permutations=199, side="above")
    assert (p_against_null(test), p_against_null(test, label=True), p_against_null(None)) == ("≤ 0.005", "p ≤ 0.005", "–")


def test_terminal_markdown_and_html_agree(tmp_path: Path):
    run_dir = write_run(tmp_path / "run")
    out = runner.invoke(app, ["triage", str(run_dir), "--no-probes"])
    assert out.exit_code == 0, out.output
    triage = json.loads((run_dir / "triage.json").read_text())
    validation = json.loads((run_dir / "validation.json").read_text())
    markdown, html = (run_dir / "triage.md").read_text(), (run_dir / "report.html").read_text()
    far = triage["far_concepts"][0]
    deep = validation["clusters"]["split"]["thirds"]["deep"]
    for text in (signed(far["mate_cosine"]), signed(deep["cohesion"]), signed(deep["silhouette"])):
        assert text in out.stdout and text in markdown and text in html, text
