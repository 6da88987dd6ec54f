"""Long work prints progress: lines in a log that is no terminal, a bar on a terminal (issue 20)."""

from __future__ import annotations

import io

from rich.console import Console

from toolkit.cli.train_cmd import RichReporter
from trainer.reporter import LineProgress
from train_helpers import cache_dir, llama_dir  # noqa: F401  (fixtures)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lines_come_at_a_sensible_rate_with_count_rate_and_time_left():
    clock, lines = Clock(), []
    progress = LineProgress("extracting", 919, lines.append, clock=clock, every=10.0)
    for _ in range(919):  # 919 texts at 10 texts/s, one at a time
        clock.now += 0.1
        progress.advance(1)
    progress.close()
    assert lines[0] == "extracting: 0/919 texts"
    assert lines[-1] == "extracting: 919/919 done in 1 min 32 s, 10.0 texts/s"
    middle = lines[1:-1]
    assert 8 <= len(middle) <= 10  # every 10 s over 92 s: neither a flood nor silence
    assert middle[0] == "extracting: 91/919 (9%), 10.0 texts/s, about 1 min 23 s left"  # a tenth


def test_fast_work_writes_a_line_per_tenth_at_most_once_a_second():
    clock, lines = Clock(), []
    progress = LineProgress("extracting", 100, lines.append, clock=clock, every=10.0)
    for _ in range(100):
        clock.now += 0.02  # 2 s in all
        progress.advance(1)
    progress.close()
    assert len(lines) <= 2 + 2  # start, end, and at most one a second between


def test_the_reporter_writes_lines_to_a_pipe_and_a_bar_to_a_terminal():
    pipe = Console(file=io.StringIO(), force_terminal=False, width=80)
    with RichReporter(pipe).progress("extracting", 3) as advance:
        for _ in range(3):
            advance(1)
    out = pipe.file.getvalue()
    assert out.startswith("extracting: 0/3 texts\n") and "extracting: 3/3 done in" in out

    terminal = Console(file=io.StringIO(), force_terminal=True, width=80, record=True)
    with RichReporter(terminal).progress("extracting", 3) as advance:
        for _ in range(3):
            advance(1)
    shown = terminal.export_text()
    assert "3/3" in shown and "extracting: 0/3 texts" not in shown
    frames = shown.replace("\r", "\n").split("extracting ")
    assert all(len("extracting " + frame.rstrip()) <= 80 for frame in frames[1:])  # each redraw fits 80 columns


def test_train_in_a_log_prints_its_extraction_progress(make_corpus, llama_dir, cache_dir):  # noqa: F811
    # issue 20: extraction printed nothing to a non-interactive log until it ended.
    from typer.testing import CliRunner

    from toolkit.cli import app
    from train_helpers import corpus_files

    corpus = make_corpus(corpus_files())
    args = ["train", "--corpus", str(corpus), "--model", str(llama_dir), "--no-analyze", "--dtype", "float32", "--out", str(corpus.parent / "run")]
    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, args)
    assert result.exit_code == 0, result.output
    n = len(corpus_files())
    assert f"extracting: 0/{n} texts" in result.stderr
    assert f"extracting: {n}/{n} done in" in result.stderr
    assert all(len(line) <= 80 for line in result.stdout.splitlines())  # train's own lines wrap at 80
