"""Data-parallel extraction under torchrun (gloo on CPU): same vectors as one process, shared-out work,
and a rank that dies mid-run loses only its unfinished batch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from train_helpers import CONCEPTS, llama_dir, read_run, text  # noqa: F401  (fixture)
from toolkit.corpus import load_corpus
from trainer.extraction.cache import text_key
from trainer.extraction.distributed import Ranks, shard
from trainer.run import training_rows

AMYGDALA = str(Path(sys.executable).parent / "amygdala")
REPO = Path(__file__).resolve().parents[1]
BATCH = 2


def corpus(root: Path) -> Path:
    files = {f"stories/{c}/s{k}.txt": text(100 + 10 * i + k) for i, c in enumerate(CONCEPTS) for k in range(6)}
    for s, concepts in enumerate((["afraid", "calm"], ["furious", "grateful", "calm"])):
        files[f"paired/scene{s}/baseline.txt"] = text(500 + 10 * s)
        for j, c in enumerate(concepts):
            files[f"paired/scene{s}/{c}.txt"] = text(501 + 10 * s + j)
    for rel, body in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(body)
    (root / "manifest.json").write_bytes((REPO / "manifest.json").read_bytes())
    return root


@pytest.fixture(scope="module")
def setup(tmp_path_factory, llama_dir):  # noqa: F811
    root = tmp_path_factory.mktemp("dist")
    return root, corpus(root / "corpus"), llama_dir


def env(cache: Path, **extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    out.update(AMYGDALA_CACHE_DIR=str(cache), PYTHONPATH=str(REPO), COLUMNS="200", **extra)
    return out


def train_args(corpus_dir: Path, model: Path, out: Path) -> list[str]:
    return ["train", "--corpus", str(corpus_dir), "--model", str(model), "--dtype", "float32",
            "--batch-size", str(BATCH), "--no-analyze", "--out", str(out)]


def torchrun(args: list[str], cache: Path, cwd: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "--no-python", AMYGDALA, *args]
    return subprocess.run(command, env=env(cache), cwd=cwd, capture_output=True, text=True, timeout=300)


def run_info(folder: Path) -> dict:
    return json.loads((folder / "run.json").read_text())


def assert_same_run(a: Path, b: Path) -> None:
    rows_a, layers_a, acts_a, info_a, vec_a = read_run(a)
    rows_b, layers_b, acts_b, info_b, vec_b = read_run(b)
    assert [r.rel for r in rows_a] == [r.rel for r in rows_b] and info_a.concepts == info_b.concepts
    assert np.max(np.abs(acts_a - acts_b)) <= 1e-5
    assert np.max(np.abs(vec_a.astype(np.float32) - vec_b.astype(np.float32))) <= 1e-5


@pytest.fixture(scope="module")
def single(setup):
    root, corpus_dir, model = setup
    out = root / "single"
    done = subprocess.run([AMYGDALA, *train_args(corpus_dir, model, out)], env=env(root / "cache-single"), cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


def test_two_gloo_ranks_share_the_texts_and_match_one_process(setup, single):
    root, corpus_dir, model = setup
    out = root / "two"
    done = torchrun(train_args(corpus_dir, model, out), root / "cache-two", root)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_same_run(single, out)
    extraction = run_info(out)["extraction"]
    n = run_info(single)["corpus"]["n_texts"]
    assert extraction["world_size"] == 2
    first, second = extraction["texts_per_rank"]
    assert first + second == n and abs(first - second) <= 1
    assert extraction["tokens"] == run_info(single)["extraction"]["tokens"]  # every rank's tokens counted once
    assert done.stdout.count("wrote ") == 1  # rank 0 alone writes and reports
    # readout runs unchanged under torchrun too: the ranks share the new texts, rank 0 alone reports
    fresh = [text(900 + i) for i in range(4)]
    read = torchrun(["readout", str(out), *fresh, "--json"], root / "cache-two", root)
    assert read.returncode == 0, read.stderr[-3000:]
    report = json.loads(read.stdout)
    assert len(report["texts"]) == 4 and report["cache"]["misses"] == 4


def _ranks(args: list[str], cache: Path, cwd: Path, die_after: int) -> tuple[subprocess.Popen, subprocess.Popen]:
    """Rank 0 as the CLI; rank 1 the same CLI, but it dies (no clean-up, like SIGKILL) after ``die_after`` batches."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    common = dict(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, WORLD_SIZE="2", OMP_NUM_THREADS="1")
    dying = (
        "import os, sys, trainer.extraction.extract as x\n"
        "real = x.iter_pooled\n"
        "def counted(*a, **k):\n"
        "    for n, batch in enumerate(real(*a, **k)):\n"
        f"        if n == {die_after}: os._exit(9)\n"
        "        yield batch\n"
        "x.iter_pooled = counted\n"
        "from toolkit.cli import main\n"
        "sys.argv = ['amygdala'] + sys.argv[1:]\n"
        "main()\n"
    )
    rank0 = subprocess.Popen([AMYGDALA, *args], env=env(cache, RANK="0", LOCAL_RANK="0", **common), cwd=cwd,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rank1 = subprocess.Popen([sys.executable, "-c", dying, *args], env=env(cache, RANK="1", LOCAL_RANK="1", **common),
                             cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return rank0, rank1


def test_a_rank_that_dies_loses_only_its_unfinished_batch(setup, single):
    root, corpus_dir, model = setup
    cache, out = root / "cache-killed", root / "resumed"
    rank0, rank1 = _ranks(train_args(corpus_dir, model, out), cache, root, die_after=2)
    assert rank1.wait(timeout=300) == 9
    # torchrun ends the other ranks when one dies; here the test does it for rank 0.
    deadline = time.monotonic() + 5
    while rank0.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if rank0.poll() is None:
        rank0.kill()
    rank0.wait(timeout=30)
    assert not out.exists()
    entries = {p.stem for p in cache.glob("activations/*/*/*.safetensors")}
    _, inputs, _ = training_rows(load_corpus(corpus_dir, corpus_dir / "manifest.json"))
    n = len(inputs)
    share = shard(range(n), [len(t) for t in inputs], Ranks(rank=1, world=2))
    # Rank 1's two finished batches are in the cache, and nothing of the batch it died in.
    assert sum(text_key(inputs[i]) in entries for i in share) == 2 * BATCH
    assert len(entries) < n

    done = torchrun(train_args(corpus_dir, model, out), cache, root)
    assert done.returncode == 0, done.stderr[-3000:]
    info = run_info(out)
    assert sum(info["extraction"]["texts_per_rank"]) == n - len(entries)
    assert info["extraction"]["cache"]["hits"] == len(entries)
    assert_same_run(single, out)
