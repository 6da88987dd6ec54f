"""The activation cache: hits and misses, corruption recovery, and what an interrupted run keeps."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from schemas.run import TrainConfig
from toolkit.cli import app
from trainer.extraction.cache import ActivationCache
from trainer.extraction.model import resolve_model
from trainer.extraction.activations import ArraySink, extract
from trainer.reporter import Reporter
from train_helpers import cache_dir, corpus_files, llama_dir, read_run, text  # noqa: F401  (fixtures)

runner = CliRunner(env={"COLUMNS": "1000"})


def _train(corpus, model, out, *extra):
    result = runner.invoke(
        app, ["train", "--corpus", str(corpus), "--model", str(model), "--out", str(out), "--no-analyze", "--dtype", "float32", *extra]
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "run.json").read_text())


def test_entries_round_trip_and_serve_any_subset_of_their_layers(tmp_path):
    cache = ActivationCache.open(tmp_path, {"model": "m"})
    states = np.arange(3 * 4, dtype=np.float32).reshape(3, 4)
    assert cache.get("ab" * 32, [1, 2, 3]) is None
    cache.put("ab" * 32, [1, 2, 3], states)
    np.testing.assert_array_equal(cache.get("ab" * 32, [1, 2, 3]), states)
    np.testing.assert_array_equal(cache.get("ab" * 32, [3, 1]), states[[2, 0]])
    assert cache.get("ab" * 32, [1, 4]) is None  # a layer it never stored
    assert (cache.hits, cache.misses, cache.corrupt) == (2, 2, 0)


def test_settings_address_separate_folders(tmp_path):
    a = ActivationCache.open(tmp_path, {"model": "m", "dtype": "float32"})
    b = ActivationCache.open(tmp_path, {"model": "m", "dtype": "bfloat16"})
    assert a.directory != b.directory
    assert json.loads((a.directory / "key.json").read_text())["dtype"] == "float32"


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated
        lambda raw: raw[:-4] + bytes(4),  # values changed, header intact
        lambda raw: b"not a safetensors file",
        lambda raw: b"",
    ],
)
def test_damaged_entries_are_misses_and_counted_corrupt(tmp_path, damage):
    cache = ActivationCache.open(tmp_path, {"model": "m"})
    cache.put("cd" * 32, [1], np.ones((1, 8), dtype=np.float32))
    path = next(cache.directory.rglob("*.safetensors"))
    path.write_bytes(damage(path.read_bytes()))
    assert cache.get("cd" * 32, [1]) is None
    assert (cache.corrupt, cache.misses) == (1, 1)


def test_a_second_run_extracts_only_the_changed_text(make_corpus, llama_dir, cache_dir):
    corpus = make_corpus(corpus_files())
    first = _train(corpus, llama_dir, corpus.parent / "one")
    assert first["extraction"]["cache"] == {"directory": first["extraction"]["cache"]["directory"], "hits": 0, "misses": 11, "corrupt": 0}
    (corpus / "stories" / "calm.txt").write_text(text(99))
    second = _train(corpus, llama_dir, corpus.parent / "two")
    assert (second["extraction"]["cache"]["hits"], second["extraction"]["cache"]["misses"]) == (10, 1)
    assert second["corpus"]["content_hash"] != first["corpus"]["content_hash"]
    rows, _, acts_one, _, _ = read_run(corpus.parent / "one")
    _, _, acts_two, _, _ = read_run(corpus.parent / "two")
    changed = [i for i, r in enumerate(rows) if r.rel == "stories/calm.txt"]
    kept = [i for i, r in enumerate(rows) if r.rel != "stories/calm.txt"]
    np.testing.assert_array_equal(acts_two[:, kept], acts_one[:, kept])
    assert np.abs(acts_two[:, changed] - acts_one[:, changed]).max() > 1e-3
    # What the cache served is what the model computes.
    _train(corpus, llama_dir, corpus.parent / "fresh", "--no-cache")
    np.testing.assert_allclose(read_run(corpus.parent / "fresh")[2], acts_two, atol=1e-6)


def test_corrupt_entries_are_recomputed_to_the_same_values(make_corpus, llama_dir, cache_dir):
    corpus = make_corpus(corpus_files())
    first = _train(corpus, llama_dir, corpus.parent / "one")
    entries = sorted((cache_dir / "activations").rglob("*.safetensors"))
    assert len(entries) == 11
    entries[0].write_bytes(entries[0].read_bytes()[:100])
    entries[1].write_bytes(b"\0" * 64)
    second = _train(corpus, llama_dir, corpus.parent / "two")
    assert second["extraction"]["cache"]["corrupt"] == 2
    assert second["extraction"]["cache"]["misses"] == 2
    before, after = read_run(corpus.parent / "one")[2], read_run(corpus.parent / "two")[2]
    # The two recomputed texts run in a batch of another shape than the first time, so BLAS may
    # change their last bits (seen: 2.4e-7); every text the cache served is bit-identical.
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)
    recomputed = np.flatnonzero((after != before).any(axis=(0, 2)))
    assert len(recomputed) <= 2
    assert first["extraction"]["cache"]["directory"] == second["extraction"]["cache"]["directory"]


class _Interrupting(Reporter):
    """Stops the run (as Ctrl-C would) once the first batch is done."""

    def progress(self, description, total):
        from contextlib import contextmanager

        @contextmanager
        def bar():
            def advance(n):
                raise KeyboardInterrupt

            yield advance

        return bar()


def test_an_interrupted_run_keeps_every_finished_batch(llama_dir, cache_dir):
    source = resolve_model(str(llama_dir))
    config = TrainConfig(model=str(llama_dir), dtype="float32", batch_size=3)
    inputs = [text(seed).strip() for seed in range(8)]
    with pytest.raises(KeyboardInterrupt):
        extract(source, inputs, [1, 2, 3], config, cache_dir, _Interrupting(), [ArraySink.empty(3, 8, source.hidden_size).add])
    resumed = extract(source, inputs, [1, 2, 3], config, cache_dir, Reporter(), [ArraySink.empty(3, 8, source.hidden_size).add])
    assert (resumed.cache.hits, resumed.cache.misses) == (3, 5)
