"""`amygdala train` end to end on a tiny model: the run folder contract, read-back, GGUF, options, errors."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from schemas.finding import LintReport
from schemas.run import ReadoutInfo, RunInfo, TextsFile
from toolkit.cli import app
from toolkit.corpus import load_corpus
from trainer.runfolder.folder import read_control_vector
from trainer.extraction.model import resolve_model
from trainer.vectors import concept_vectors
from train_helpers import CONCEPTS, cache_dir, corpus_files, llama_dir, read_run, text  # noqa: F401  (fixtures)

runner = CliRunner(env={"COLUMNS": "1000"})
CONTRACT = ["lint.json", "manifest.json", "readout.json", "readout.safetensors", "run.json", "texts.json"]


def train(corpus, model, *extra, out="run"):
    args = ["train", "--corpus", str(corpus), "--model", str(model), "--no-analyze", "--dtype", "float32"]
    if out is not None:
        args += ["--out", str(corpus.parent / out)]
    return runner.invoke(app, [*args, *extra])


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = (result.stderr or result.output).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize("method", ["diffmean", "paired", "centered"])
def test_the_run_folder_holds_the_contract_and_reads_back_to_identical_vectors(make_corpus, llama_dir, cache_dir, method):
    corpus = make_corpus(corpus_files())
    result = train(corpus, llama_dir, "--method", method, "--export-gguf")
    assert result.exit_code == 0, result.output
    run = corpus.parent / "run"
    assert sorted(p.name for p in run.iterdir() if p.is_file()) == CONTRACT
    assert sorted(p.name for p in (run / "activations").iterdir()) == ["layer_1.npy", "layer_2.npy", "layer_3.npy"]

    rows, layers, activations, readout, vectors = read_run(run)
    loaded = load_corpus(corpus, corpus / "manifest.json")
    assert [(r.rel, r.kind, r.concept, r.scenario, r.sha256) for r in rows] == [
        (t.rel, t.kind, t.concept, t.scenario, t.sha256) for t in loaded.texts()
    ]
    assert layers == readout.layers == [1, 2, 3]
    assert activations.dtype == np.float32 and activations.shape == (3, len(rows), 32)
    expected = {"diffmean": CONCEPTS, "centered": CONCEPTS, "paired": ["afraid", "calm", "furious"]}[method]
    assert readout.concepts == [c for c in loaded.manifest.concepts if c in expected]
    assert readout.hidden_size == 32 and readout.dtype == "float16"

    # The vectors are exactly what the method makes of the stored activations.
    remade = concept_vectors(activations, rows, readout.concepts, method, layers)
    np.testing.assert_array_equal(vectors, remade.astype(np.float16).astype(np.float32))
    np.testing.assert_allclose(np.linalg.norm(remade, axis=-1), 1.0, atol=1e-6)

    assert (run / "manifest.json").read_bytes() == (corpus / "manifest.json").read_bytes()
    LintReport.model_validate_json((run / "lint.json").read_text())
    ReadoutInfo.model_validate_json((run / "readout.json").read_text())
    TextsFile.model_validate_json((run / "texts.json").read_text())
    info = RunInfo.model_validate_json((run / "run.json").read_text())
    assert info.corpus.content_hash == loaded.content_hash()
    assert info.config.method == method and info.vectors.n_concepts == len(readout.concepts)
    assert info.model.kind == "local" and info.model.architecture == "llama" and info.model.dtype == "float32"
    assert {"lint", "model_setup", "extract", "vectors", "write", "total"} <= set(info.timings)
    assert {"python", "torch", "transformers", "numpy"} <= set(info.versions)
    layer_files = [f"activations/layer_{layer}.npy" for layer in layers]
    assert sorted(info.files) == sorted(CONTRACT + layer_files + [f"gguf/{c}.gguf" for c in readout.concepts])

    for c, concept in enumerate(readout.concepts):
        meta, directions = read_control_vector(run / "gguf" / f"{concept}.gguf")
        # llama.cpp's direction.k steers the output of block k (0-based) = amygdala layer k+1;
        # layer 1 would be direction.0, which llama.cpp rejects.
        assert meta == {"general.architecture": "controlvector", "controlvector.model_hint": "llama", "controlvector.layer_count": 2}
        assert sorted(directions) == [1, 2]
        for i, layer in enumerate(layers[1:], start=1):
            np.testing.assert_allclose(directions[layer - 1], remade[i, c], atol=1e-6)


def test_lint_errors_refuse_training_unless_allowed(make_corpus, llama_dir, cache_dir):
    corpus = make_corpus({**corpus_files(), "stories/calm/broken.txt": b"\xff\xfe not text"})
    message = one_line_error(train(corpus, llama_dir))
    assert "lint error" in message and "--allow-lint-errors" in message
    assert not (corpus.parent / "run").exists()

    result = train(corpus, llama_dir, "--allow-lint-errors")
    assert result.exit_code == 0, result.output
    assert "training despite 1 lint error" in result.output
    info = RunInfo.model_validate_json((corpus.parent / "run" / "run.json").read_text())
    assert info.lint.allowed_errors and info.lint.counts["error"] == 1
    assert [(s.rel, s.reason) for s in info.corpus.skipped] == [("stories/calm/broken.txt", "not valid UTF-8")]
    lint = LintReport.model_validate_json((corpus.parent / "run" / "lint.json").read_text())
    assert [f.code for f in lint.findings if f.severity == "error"] == ["ST001"]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("./no/such/model", "model not found"),
        ("someone/not-downloaded", "neither a local path nor in the Hugging Face cache, and HF_HUB_OFFLINE is set"),
    ],
)
def test_a_model_that_is_not_there_fails_at_once_with_one_line(make_corpus, cache_dir, model, expected):
    corpus = make_corpus(corpus_files())
    assert expected in one_line_error(train(corpus, model))


def test_revision_is_refused_for_a_local_model(make_corpus, llama_dir, cache_dir):
    corpus = make_corpus(corpus_files())
    assert "--revision applies to a Hugging Face id" in one_line_error(train(corpus, llama_dir, "--revision", "v1"))


def test_a_folder_that_is_not_a_model_is_named(make_corpus, cache_dir, tmp_path):
    corpus = make_corpus(corpus_files())
    (tmp_path / "empty-model").mkdir()
    message = one_line_error(train(corpus, tmp_path / "empty-model"))
    assert "empty-model" in message and "no config.json" in message


def test_a_hub_id_loads_from_the_local_hugging_face_cache_without_network(make_corpus, llama_dir, cache_dir, tmp_path, monkeypatch):
    import huggingface_hub.constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--tiny--llama"
    shutil.copytree(llama_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))

    source = resolve_model("tiny/llama")
    assert (source.kind, source.identity, source.revision) == ("hub", "hub:tiny/llama", commit)
    corpus = make_corpus(corpus_files())
    result = train(corpus, "tiny/llama")
    assert result.exit_code == 0, result.output
    info = RunInfo.model_validate_json((corpus.parent / "run" / "run.json").read_text())
    assert info.model.revision == commit and info.model.path == str(repo / "snapshots" / commit)


def test_layers_option_chooses_the_layers_everywhere(make_corpus, llama_dir, cache_dir):
    corpus = make_corpus(corpus_files())
    result = train(corpus, llama_dir, "--layers", "1,3", "--export-gguf")
    assert result.exit_code == 0, result.output
    _, layers, activations, readout, _ = read_run(corpus.parent / "run")
    assert layers == readout.layers == [1, 3] and activations.shape[0] == 2
    _, directions = read_control_vector(corpus.parent / "run" / "gguf" / "calm.gguf")
    assert sorted(directions) == [2]  # layer 3 -> direction.2; layer 1 (direction.0) is left out with a warning
    assert "layer 1" in result.output and "direction.0" in result.output
    only_first = train(corpus, llama_dir, "--layers", "1", "--export-gguf", out="first")
    assert "layer 1" in one_line_error(only_first) and not (corpus.parent / "first").exists()
    for spec in ("0", "2-4", "two"):
        assert "--layers" in one_line_error(train(corpus, llama_dir, "--layers", spec))


def test_chat_template_changes_the_input_and_warns_with_last_token_pooling(make_corpus, llama_dir, cache_dir):
    corpus = make_corpus(corpus_files())
    plain = train(corpus, llama_dir, "--pool", "last", out="plain")
    assert plain.exit_code == 0 and "warning" not in plain.output
    wrapped = train(corpus, llama_dir, "--pool", "last", "--chat-template", out="wrapped")
    assert wrapped.exit_code == 0, wrapped.output
    assert "--chat-template with --pool last reads the template's closing tokens" in wrapped.output
    info = RunInfo.model_validate_json((corpus.parent / "wrapped" / "run.json").read_text())
    assert info.extraction.chat_template and info.extraction.cache.misses == 11  # not the plain run's entries
    assert np.abs(read_run(corpus.parent / "wrapped")[2] - read_run(corpus.parent / "plain")[2]).max() > 1e-3


def test_paired_method_needs_a_variant_beside_a_baseline(make_corpus, llama_dir, cache_dir):
    corpus = make_corpus({f"stories/{c}.txt": text(i) for i, c in enumerate(CONCEPTS)})
    assert "no concept has a paired variant with a baseline" in one_line_error(train(corpus, llama_dir, "--method", "paired"))


def test_denoising_projects_out_the_neutral_components(make_corpus, llama_dir, cache_dir, tmp_path):
    corpus = make_corpus(corpus_files())
    neutral = tmp_path / "neutral"
    neutral.mkdir()
    for i in range(6):
        (neutral / f"dialogue_{i}.txt").write_text(text(200 + i))
    result = train(corpus, llama_dir, "--method", "centered", "--denoise-neutral", str(neutral), "--denoise-variance", "0.6")
    assert result.exit_code == 0, result.output
    info = RunInfo.model_validate_json((corpus.parent / "run" / "run.json").read_text())
    denoise = info.vectors.denoise
    assert denoise is not None and denoise.n_texts == 6 and denoise.variance == 0.6
    assert set(denoise.components) == {"1", "2", "3"} and all(k >= 1 for k in denoise.components.values())
    assert "denoise_extract" in info.timings
    plain = train(corpus, llama_dir, "--method", "centered", out="plain")
    assert plain.exit_code == 0
    assert np.abs(read_run(corpus.parent / "run")[4] - read_run(corpus.parent / "plain")[4]).max() > 1e-2
    assert "folder not found" in one_line_error(train(corpus, llama_dir, "--denoise-neutral", str(tmp_path / "none")))


def test_a_rerun_replaces_its_run_folder_but_never_a_foreign_one(make_corpus, llama_dir, cache_dir):
    corpus = make_corpus(corpus_files())
    assert train(corpus, llama_dir).exit_code == 0
    (corpus.parent / "run" / "quality.json").write_text("{}")  # a stale analysis file
    assert train(corpus, llama_dir).exit_code == 0
    assert not (corpus.parent / "run" / "quality.json").exists()
    foreign = corpus.parent / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("keep me")
    assert "is not a run folder" in one_line_error(train(corpus, llama_dir, out="notes"))
    assert (foreign / "todo.txt").read_text() == "keep me"
    assert not [p for p in corpus.parent.iterdir() if ".partial." in p.name]


def test_without_out_the_run_goes_to_a_timestamped_folder_under_runs(make_corpus, llama_dir, cache_dir):
    corpus = make_corpus(corpus_files())
    result = train(corpus, llama_dir, out=None)
    assert result.exit_code == 0, result.output
    (run,) = (corpus.parent / "runs").iterdir()
    assert (run / "run.json").is_file() and run.name[:8].isdigit()


def test_texts_json_records_hash_and_words_of_each_row(make_corpus, llama_dir, cache_dir):
    corpus = make_corpus(corpus_files())
    assert train(corpus, llama_dir).exit_code == 0
    rows = json.loads((corpus.parent / "run" / "texts.json").read_text())
    for row in rows:
        raw = (corpus / row["rel"]).read_bytes()
        assert row["sha256"] == hashlib.sha256(raw).hexdigest()
        assert row["words"] == len(raw.decode().split())
        assert (row["concept"] is None) == (row["kind"] == "baseline")


def test_device_map_lets_accelerate_place_the_weights(make_corpus, llama_dir, cache_dir):
    corpus = make_corpus(corpus_files())
    result = train(corpus, llama_dir, "--device-map", "auto")
    assert result.exit_code == 0, result.output
    info = RunInfo.model_validate_json((corpus.parent / "run" / "run.json").read_text())
    assert (info.model.device_map, info.model.device) == ("auto", "cpu")
