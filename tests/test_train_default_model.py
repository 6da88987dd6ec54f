"""`amygdala train` on the real bundled model (SmolLM2-135M-Instruct GGUF), over a handful of texts."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from schemas.run import RunInfo
from toolkit.cli import app
from trainer.runfolder.folder import read_control_vector
from trainer.extraction.model import bundled_gguf, file_sha256, models_dir
from train_helpers import corpus_files, read_run

pytestmark = pytest.mark.model
runner = CliRunner(env={"COLUMNS": "1000"})


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory):
    """One cache for the session: the GGUF is converted once (~20 s)."""
    return tmp_path_factory.mktemp("amygdala-cache")


@pytest.fixture
def default_cache(shared_cache, monkeypatch):
    monkeypatch.setenv("AMYGDALA_CACHE_DIR", str(shared_cache))
    return shared_cache


def test_train_on_the_bundled_model_matches_a_plain_hugging_face_forward_pass(make_corpus, default_cache):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    corpus = make_corpus(corpus_files())
    result = runner.invoke(app, ["train", "--corpus", str(corpus), "--out", str(corpus.parent / "run"), "--export-gguf", "--no-analyze"])
    assert result.exit_code == 0, result.output
    run = corpus.parent / "run"
    info = RunInfo.model_validate_json((run / "run.json").read_text())
    assert (info.model.kind, info.model.architecture, info.model.n_layers, info.model.hidden_size) == ("bundled", "llama", 30, 576)
    assert info.model.revision == file_sha256(bundled_gguf())
    converted = models_dir() / f"SmolLM2-135M-Instruct.Q4_1-{info.model.revision[:16]}"
    assert info.model.path == str(converted) and (converted / "model.safetensors").is_file()

    rows, layers, activations, readout, vectors = read_run(run)
    assert layers == list(range(1, 31)) and vectors.shape == (30, 4, 576)
    meta, directions = read_control_vector(run / "gguf" / "calm.gguf")
    assert meta["controlvector.model_hint"] == "llama" and sorted(directions) == [layer - 1 for layer in layers[1:]]

    # Our pooled state of one text against Hugging Face's hidden_states of the same converted weights.
    tokenizer = AutoTokenizer.from_pretrained(converted)
    model = AutoModelForCausalLM.from_pretrained(converted, dtype=torch.float32)
    body = (corpus / rows[0].rel).read_text().strip()
    ids = tokenizer(body, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        hidden = model(ids, output_hidden_states=True).hidden_states
    for layer in (1, 15, 29):
        states = hidden[layer][0].numpy()
        reference = states[min(50, len(states) // 2) :].mean(0)
        ours = activations[layer - 1, 0]
        cosine = ours @ reference / np.linalg.norm(ours) / np.linalg.norm(reference)
        assert cosine > 0.999, (layer, cosine)

    # A retrain of the unchanged corpus reads every text from the cache and reuses the conversion.
    stamp = (converted / "model.safetensors").stat().st_mtime_ns
    again = runner.invoke(app, ["train", "--corpus", str(corpus), "--out", str(corpus.parent / "again"), "--no-analyze"])
    assert again.exit_code == 0, again.output
    cache = RunInfo.model_validate_json((corpus.parent / "again" / "run.json").read_text()).extraction.cache
    assert (cache.hits, cache.misses) == (len(rows), 0)
    assert (converted / "model.safetensors").stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(read_run(corpus.parent / "again")[4], vectors)
