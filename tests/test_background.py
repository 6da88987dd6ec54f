"""Work on the second core: a spawned process or a thread, the same answer either way, and the
fresh-process paths of `amygdala train` (lint beside the model load) and of the analysis (probes)."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from base.errors import AmygdalaError
from trainer.background import Background
from train_helpers import CONCEPTS, corpus_files, llama_dir, text  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parents[1]
AMYGDALA = str(Path(sys.executable).parent / "amygdala")


def square_sum(values: list[int]) -> int:
    return sum(v * v for v in values)


def dies_in_a_child(value: int) -> int:
    if multiprocessing.parent_process() is not None:
        os._exit(3)
    return value + 1


def refuses(path: str) -> None:
    raise AmygdalaError("no such thing", path)


@pytest.mark.parametrize("process", [True, False])
def test_background_returns_the_value_in_a_process_or_a_thread(process):
    job = Background(square_sum, [1, 2, 3], process=process)
    assert job.result() == 14 and job.done()


def test_background_work_whose_process_dies_is_done_here():
    assert Background(dies_in_a_child, 41, process=True).result() == 42


def test_an_error_crosses_the_process_with_its_file():
    with pytest.raises(AmygdalaError) as err:
        Background(refuses, "corpus/x.txt", process=True).result()
    assert str(err.value) == "corpus/x.txt: no such thing" and err.value.where == "corpus/x.txt"
    again = pickle.loads(pickle.dumps(AmygdalaError("m", "w")))
    assert (again.message, again.where) == ("m", "w")


def test_the_linter_imports_spacy_without_torch_and_torch_still_imports_after():
    code = (
        "import sys, toolkit.lint.nlp\n"
        "assert 'torch' not in sys.modules, 'spaCy pulled torch in'\n"
        "import torch\n"
        "print(torch.ones(2).sum().item())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2.0"


def _train(corpus: Path, model: Path, *extra: str) -> subprocess.CompletedProcess:
    """A fresh `amygdala train` process (nothing imported yet: the background paths), run folder ``<corpus>/../run``."""
    root = corpus.parent
    env = {**os.environ, "AMYGDALA_CACHE_DIR": str(root / "cache"), "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    command = [AMYGDALA, "train", "--corpus", str(corpus), "--model", str(model), "--dtype", "float32", "--out", str(root / "run"), *extra]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_a_fresh_train_process_lints_beside_the_model_and_still_refuses_lint_errors(make_corpus, tmp_path, llama_dir):  # noqa: F811
    corpus = make_corpus({**corpus_files(), "stories/calm/broken.txt": b"\xff\xfe not text"})
    refused = _train(corpus, llama_dir, "--no-analyze")
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "1 lint error" in lines[-1] and "Traceback" not in refused.stderr
    assert not (tmp_path / "run").exists()

    allowed = _train(corpus, llama_dir, "--allow-lint-errors")
    assert allowed.returncode == 0, allowed.stderr
    assert "training despite 1 lint error" in allowed.stdout + allowed.stderr
    lint = (tmp_path / "run" / "lint.json").read_text()
    assert "stories/calm/broken.txt" in lint
    assert (tmp_path / "run" / "validation.json").exists() and (tmp_path / "run" / "report.html").exists()


def test_the_probes_give_the_same_report_from_a_spawned_process(make_corpus, tmp_path, llama_dir):  # noqa: F811
    from trainer.analysis.pipeline import _folder_probes, _timed, single_threaded_blas
    from trainer.runfolder.folder import RunFolder
    from trainer.analysis.validation import compute_probes

    extra = {f"stories/{c}/more{k}.txt": text(300 + 7 * i + k) for i, c in enumerate(CONCEPTS) for k in range(5)}
    corpus = make_corpus({**corpus_files(), **extra})
    done = _train(corpus, llama_dir, "--no-analyze")
    assert done.returncode == 0, done.stderr
    run = RunFolder.read(tmp_path / "run")
    layer = run.layers[-1]
    with single_threaded_blas():  # as in the child: the same summation order
        here = compute_probes(run, [layer])
    there, seconds = Background(_timed, _folder_probes, run.root, [layer], process=True).result()
    assert seconds > 0
    assert there == here
    assert here.concept is not None  # five texts per concept: the concept probe ran too
