"""Faults a real user meets, each reproduced the way they meet it: a folder of their own given as
--out, a run aimed into the corpus (docs/faults.md ties each promise to its test here)."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from toolkit.cli import app
from train_helpers import cache_dir, corpus_files, llama_dir  # noqa: F401  (fixtures)

runner = CliRunner(env={"COLUMNS": "1000"})


def train(corpus, model, out, *extra):
    args = ["train", "--corpus", str(corpus), "--model", str(model), "--dtype", "float32", "--out", str(out)]
    return runner.invoke(app, [*args, *extra])


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = (result.stderr or result.output).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- --out never deletes a user's files


def test_a_folder_with_a_run_json_amygdala_did_not_write_is_kept(make_corpus, llama_dir, cache_dir):
    # The case: `mkdir p; echo '{}' > p/run.json; echo notes > p/notes.txt; amygdala train --out p`.
    corpus = make_corpus(corpus_files())
    mine = corpus.parent / "p"
    mine.mkdir()
    (mine / "run.json").write_text("{}\n")
    (mine / "notes.txt").write_text("notes\n")
    before = snapshot(mine)
    message = one_line_error(train(corpus, llama_dir, mine, "--no-analyze"))
    assert str(mine) in message and "run.json amygdala did not write" in message and "kept" in message
    assert snapshot(mine) == before
    assert [p.name for p in corpus.parent.iterdir() if p.name.startswith(".p.")] == []


def test_a_run_folder_with_a_file_of_the_users_is_kept_and_named(make_corpus, llama_dir, cache_dir):
    corpus = make_corpus(corpus_files())
    run = corpus.parent / "run"
    assert train(corpus, llama_dir, run, "--no-analyze").exit_code == 0
    (run / "notes.txt").write_text("what I saw in this run\n")
    (run / "activations" / "mine.npy").write_bytes(b"\x93NUMPY")
    before = snapshot(run)
    message = one_line_error(train(corpus, llama_dir, run, "--no-analyze"))
    assert "files amygdala did not write (activations/mine.npy, notes.txt)" in message
    assert snapshot(run) == before


def test_a_run_folder_amygdala_wrote_and_analysed_is_replaced(make_corpus, llama_dir, cache_dir):
    # Every report the analysis adds is one amygdala knows, so a retrain into the same --out replaces the folder.
    corpus = make_corpus(corpus_files())
    run = corpus.parent / "run"
    first = train(corpus, llama_dir, run, "--no-probes")
    assert first.exit_code == 0, first.output
    assert (run / "report.html").is_file() and list(run.glob("*.png"))
    (run / ".quality.json.abcd_123.tmp").write_text("{")  # a report write killed before its rename
    second = train(corpus, llama_dir, run, "--no-analyze", "--method", "centered")
    assert second.exit_code == 0, second.output
    info = json.loads((run / "run.json").read_text())
    assert info["config"]["method"] == "centered"
    assert not (run / "report.html").exists() and not (run / ".quality.json.abcd_123.tmp").exists()
    assert [p.name for p in corpus.parent.iterdir() if p.name.startswith(".run.")] == []


def test_a_symlink_inside_a_run_folder_is_never_followed_or_removed(make_corpus, llama_dir, cache_dir, tmp_path):
    corpus = make_corpus(corpus_files())
    run = corpus.parent / "run"
    assert train(corpus, llama_dir, run, "--no-analyze").exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep\n")
    (run / "link").symlink_to(elsewhere)
    assert "(link)" in one_line_error(train(corpus, llama_dir, run, "--no-analyze"))
    assert (elsewhere / "precious.txt").read_text() == "keep\n" and (run / "link").is_symlink()


def test_an_out_inside_the_corpus_text_folders_is_refused(make_corpus, llama_dir, cache_dir):
    corpus = make_corpus(corpus_files())
    before = snapshot(corpus)
    for out in (corpus / "stories" / "grateful" / "run", corpus / "paired", corpus / "paired" / "kitchen" / "run"):
        message = one_line_error(train(corpus, llama_dir, out, "--no-analyze"))
        assert "inside the corpus's" in message and str(out) in message
    assert snapshot(corpus) == before
    assert not [p for p in corpus.rglob("*") if p.name.startswith(".run.") or p.name == "run"]
    # Beside the texts, in the corpus root, is fine: lint and training read only stories/ and paired/.
    assert train(corpus, llama_dir, corpus / "runs" / "one", "--no-analyze").exit_code == 0
    shutil.rmtree(corpus / "runs")
