"""Errors: one line by default, the full traceback with its causes under --debug or AMYGDALA_DEBUG=1,
and no AmygdalaError raised with its cause thrown away."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _synthetic_run import write_run
from toolkit.cli import app

ROOT = Path(__file__).resolve().parent.parent


def broken_run(tmp_path: Path) -> Path:
    run_dir = write_run(tmp_path / "run")
    (run_dir / "texts.json").write_text('[{"rel": "a.txt",]')
    return run_dir


def test_the_default_is_one_line_naming_the_file(tmp_path: Path):
    run_dir = broken_run(tmp_path)
    out = CliRunner().invoke(app, ["validate", str(run_dir)])
    assert out.exit_code == 2
    assert out.stderr == f"error: {run_dir / 'texts.json'}: invalid JSON: Expecting property name enclosed in double quotes (line 1, column 18)\n"


@pytest.mark.parametrize("how", ["option", "environment"])
def test_debug_prints_the_traceback_with_its_cause_then_the_line(tmp_path: Path, how: str):
    run_dir = broken_run(tmp_path)
    args = ["--debug", "validate", str(run_dir)] if how == "option" else ["validate", str(run_dir)]
    out = CliRunner(env={"AMYGDALA_DEBUG": "1" if how == "environment" else "0"}).invoke(app, args)
    assert out.exit_code == 2
    assert out.stderr.startswith("Traceback (most recent call last):")
    assert "json.decoder.JSONDecodeError" in out.stderr
    assert "The above exception was the direct cause of the following exception" in out.stderr
    assert out.stderr.strip().splitlines()[-1] == f"error: {run_dir / 'texts.json'}: invalid JSON: Expecting property name enclosed in double quotes (line 1, column 18)"


def test_no_error_drops_its_cause():
    dropped = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in ("toolkit", "trainer", "schemas")
        for path in (ROOT / package).rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"raise AmygdalaError\(.*\bfrom None\b", line)
    ]
    assert dropped == []
