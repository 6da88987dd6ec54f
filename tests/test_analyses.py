"""The researcher's analyses on planted data: logit lens, valence/arousal, clustering, pairs, stability,
and their place in analyses.json, triage and report.html."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from _synthetic_run import CONCEPTS, HIDDEN, write_run
from conftest import MANIFEST
from schemas.export import SCHEMA_DIR
from schemas.manifest import Manifest
from toolkit.cli import app
from trainer.analysis.affect import compute_affect
from trainer.analysis.lens import logit_lens, token_kind
from trainer.extraction.weights import load_unembedding
from trainer.analysis.structure import adjusted_rand_many, cluster_fates, compute_pairs, compute_stability, compute_structure

runner = CliRunner(env={"COLUMNS": "1000"})
PRONOUNS = ["he", "she", "they", "him", "her", "his", "we", "i"]
PUNCTUATION = [".", ",", "!", "?"]
LEAKY = "loose_1"  # its synthetic direction is unit(e31 + 0.2 e5): the planted pronoun rows point along e31


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# --------------------------------------------------------------------------- logit lens


def write_lens_model(folder: Path, *, gain31: float = 1.0, words: int = 40) -> Path:
    """A tiny model folder: tied embeddings whose pronoun rows point along e31, random word rows,
    an RMSNorm gain, and a word-level tokenizer with one special template token."""
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    rng = np.random.default_rng(3)
    vocab = ["[UNK]", *PRONOUNS, *PUNCTUATION, *[f"word{i}" for i in range(words)]]
    tokenizer = Tokenizer(WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.add_special_tokens(["<|im_start|>"])
    rows = rng.normal(size=(len(vocab) + 1, HIDDEN))
    rows[0] = 0.0
    for i in range(1, 1 + len(PRONOUNS)):
        rows[i] = 3.0 * np.eye(HIDDEN)[31] + 0.01 * rng.normal(size=HIDDEN)
    rows[1 + len(PRONOUNS) : 1 + len(PRONOUNS) + len(PUNCTUATION)] *= 0.1
    rows[-1] *= 0.1  # the template token
    gain = np.ones(HIDDEN)
    gain[31] = gain31
    folder.mkdir(parents=True, exist_ok=True)
    save_file(
        {"model.embed_tokens.weight": rows.astype(np.float32), "model.norm.weight": gain.astype(np.float32)},
        str(folder / "model.safetensors"),
    )
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": HIDDEN, "num_hidden_layers": 6}))
    return folder


def test_token_kinds():
    assert token_kind(" She") == "pronoun" and token_kind("themselves") == "pronoun"
    assert token_kind('"]),') == "punctuation" and token_kind(" \n") == "punctuation"
    assert token_kind("<|im_start|>") == "template" and token_kind("assistant") == "template"
    assert token_kind("word", special=True) == "template"
    assert token_kind(" joy") is None and token_kind("hero") is None


def test_lens_flags_a_planted_pronoun_direction_and_not_the_others(tmp_path: Path):
    unembedding = load_unembedding(write_lens_model(tmp_path / "m"), HIDDEN)
    assert unembedding.norm == "rms gain" and unembedding.tensor == "model.embed_tokens.weight"
    concepts = list(CONCEPTS)
    vectors = np.stack([_unit(np.stack([np.eye(HIDDEN)[31] + 0.2 * np.eye(HIDDEN)[5] if c == LEAKY else np.eye(HIDDEN)[i] for i, c in enumerate(concepts)]))])
    report = logit_lens(vectors, [4], concepts, unembedding, [4])
    assert [(f.concept, f.layer) for f in report.flags] == [(LEAKY, 4)]
    leaky = report.layers[0].concepts[LEAKY]
    assert leaky.flagged and leaky.leak_share >= 0.8
    assert {t.token for t in leaky.top[:8]} == set(PRONOUNS) and all(t.kind == "pronoun" for t in leaky.top[:8])
    assert leaky.top[0].logit > leaky.top[-1].logit and leaky.bottom[0].logit < leaky.bottom[-1].logit
    assert not any(c.flagged for name, c in report.layers[0].concepts.items() if name != LEAKY)
    assert report.random_flag_rate < 0.1  # the chance level of the flag on this vocabulary


def test_lens_applies_the_final_norm_gain(tmp_path: Path):
    """With the gain on the planted axis at zero, the pronouns no longer rank first: the norm is applied."""
    unembedding = load_unembedding(write_lens_model(tmp_path / "m", gain31=0.0), HIDDEN)
    vectors = _unit(np.eye(HIDDEN)[31] + 0.2 * np.eye(HIDDEN)[5])[None, None, :]
    assert not logit_lens(vectors, [1], [LEAKY], unembedding, [1]).flags


# --------------------------------------------------------------------------- valence and arousal


def planted_circumplex(n: int = 48, seed: int = 0):
    """Concepts on a circle: valence along e0 (the larger spread, PC1), arousal along e1 (PC2)."""
    rng = np.random.default_rng(seed)
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False) + 0.05
    base = np.zeros((n, HIDDEN))
    base[:, 0] = 3.0 * np.cos(angles)
    base[:, 1] = 2.0 * np.sin(angles)
    vectors = _unit(base + 0.3 * rng.normal(size=(2, n, HIDDEN)))  # two layers
    valence = ["positive" if c > 0.2 else "negative" if c < -0.2 else "neutral" for c in np.cos(angles)]
    arousal = ["high" if s > 0.4 else "low" if s < -0.4 else "medium" for s in np.sin(angles)]
    clusters = [f"q{int(a // (np.pi / 2))}" for a in angles % (2 * np.pi)]
    return vectors, valence, arousal, clusters


def test_a_planted_circumplex_is_recovered():
    vectors, valence, arousal, clusters = planted_circumplex()
    concepts = [f"c{i}" for i in range(len(valence))]
    report = compute_affect(vectors, [1, 2], concepts, clusters, valence, arousal, 2, permutations=500)
    for layer in report.layers:
        assert abs(layer.pc1_valence.r) > 0.8 and layer.pc1_valence.p_value < 0.01
        assert abs(layer.pc2_arousal.r) > 0.8 and layer.pc2_arousal.p_value < 0.01
        assert abs(layer.pc2_valence.r) < 0.3 and abs(layer.pc1_arousal.r) < 0.3
        assert layer.best_valence.component == 1 and layer.best_arousal.component == 2
        assert layer.best_arousal.p_value < 0.01
        assert layer.variance_explained[0] > layer.variance_explained[1] > layer.variance_explained[2]
    assert report.circumplex_axes == (1, 2)
    x = np.array([p.x for p in report.circumplex])
    y = np.array([p.y for p in report.circumplex])
    v = np.array([{"negative": -1, "neutral": 0, "positive": 1}[a] for a in valence])
    a = np.array([{"low": -1, "medium": 0, "high": 1}[a] for a in arousal])
    assert np.corrcoef(x, v)[0, 1] > 0.8 and np.corrcoef(y, a)[0, 1] > 0.8  # positive right, high arousal up


def test_shuffled_ratings_give_a_null_circumplex():
    vectors, valence, arousal, clusters = planted_circumplex()
    rng = np.random.default_rng(7)
    order = rng.permutation(len(valence))
    report = compute_affect(
        vectors, [1, 2], [f"c{i}" for i in range(len(valence))], clusters, [valence[i] for i in order], [arousal[i] for i in order], 2, permutations=500
    )
    for layer in report.layers:
        assert layer.best_valence.p_value > 0.05 and layer.best_arousal.p_value > 0.05


def test_unrated_arousal_is_left_out_not_guessed():
    vectors, valence, arousal, clusters = planted_circumplex()
    arousal = [None if i % 2 else a for i, a in enumerate(arousal)]
    report = compute_affect(vectors, [1, 2], [f"c{i}" for i in range(len(valence))], clusters, valence, arousal, 1, permutations=200)
    assert report.n_arousal == len(valence) // 2 and report.layers[0].pc2_arousal.n == len(valence) // 2


# --------------------------------------------------------------------------- structure, pairs, stability


def planted_clusters(k: int = 4, size: int = 6, layers: int = 2, spread: float = 0.05, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = np.eye(HIDDEN)[:k]
    base = np.repeat(centres, size, axis=0)
    vectors = _unit(base + spread * rng.normal(size=(layers, k * size, HIDDEN)))
    clusters = [f"k{i // size}" for i in range(k * size)]
    return vectors, clusters


def test_adjusted_rand_matches_scikit_learn():
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 60)
    b = rng.integers(0, 7, (25, 60))
    b[4] = a
    assert np.allclose(adjusted_rand_many(a, b), [adjusted_rand_score(a, row) for row in b])


def test_planted_clusters_are_recovered_and_shuffled_labels_are_null():
    vectors, clusters = planted_clusters()
    concepts = [f"c{i}" for i in range(len(clusters))]
    report = compute_structure(vectors, [1, 2], concepts, clusters, 2, permutations=300)
    for row in report.hierarchical + report.kmeans:
        assert row.ari == pytest.approx(1.0) and row.p_value < 0.01 and row.null_high < 0.3
    assert sorted(g.purity for g in report.groups) == [1.0] * 4
    assert {f.verdict for f in report.fates} == {"kept"}

    shuffled = list(np.random.default_rng(5).permutation(clusters))
    null = compute_structure(vectors, [1, 2], concepts, shuffled, 2, permutations=300)
    for row in null.hierarchical + null.kmeans:
        assert row.ari < 0.2 and row.p_value > 0.05


def test_cluster_fates_name_splits_and_merges():
    groups = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2])
    clusters = ["a"] * 6 + ["b"] * 3 + ["c"] * 3
    fates = {f.cluster: f.verdict for f in cluster_fates(groups, clusters)}
    assert fates == {"a": "split", "b": "merged", "c": "merged"}


def test_pairs_count_same_cluster_share_against_chance():
    vectors, clusters = planted_clusters(k=3, size=4, layers=1)
    v = vectors[0].copy()
    v[-1] = -v[0]  # one planted opposite
    concepts = [f"c{i}" for i in range(len(clusters))]
    report = compute_pairs(v, concepts, clusters, 1, n=5)
    assert report.similar_same_share == 1.0 and report.similar_p_value < 0.01
    assert report.chance_same_share == pytest.approx(3 * 6 / 66, abs=1e-4)
    assert {report.opposed[0].a, report.opposed[0].b} == {"c0", "c11"} and report.opposed[0].cosine == pytest.approx(-1.0)
    assert report.similar[0].cosine >= report.similar[-1].cosine


def test_stability_finds_where_the_geometry_settles():
    rng = np.random.default_rng(0)
    settled = _unit(rng.normal(size=(12, HIDDEN)))
    vectors = np.stack([_unit(rng.normal(size=(12, HIDDEN))) for _ in range(3)] + [settled] * 4)
    layers = list(range(1, 8))
    report = compute_stability(vectors, layers, report_layer=6)
    assert report.settled_from == 4
    assert report.to_report_mean[3:] == pytest.approx([1.0] * 4)
    assert report.adjacent_mean[0] is None and report.adjacent_mean[4] == pytest.approx(1.0)
    assert abs(report.to_report_mean[0]) < 0.3 and report.geometry_to_report[0] < 0.5


# --------------------------------------------------------------------------- the manifest's arousal


def test_every_bundled_concept_has_an_arousal_and_bad_values_fail():
    manifest = Manifest.model_validate_json(MANIFEST.read_text())
    assert all(c.arousal in {"low", "medium", "high"} for c in manifest.concepts.values())
    raw = json.loads(MANIFEST.read_text())
    name = next(iter(raw["concepts"]))
    raw["concepts"][name]["arousal"] = "extreme"
    with pytest.raises(ValidationError, match="arousal"):
        Manifest.model_validate(raw)


# --------------------------------------------------------------------------- run folder, triage and report


def test_triage_writes_analyses_and_flags_the_leaky_concept(tmp_path: Path):
    run_dir = write_run(tmp_path / "run", model=write_lens_model(tmp_path / "model"))
    result = runner.invoke(app, ["triage", str(run_dir), "--no-probes"])
    assert result.exit_code == 0, result.output
    assert "logit lens (layer 6): 1 of 16 concepts flagged" in result.output
    assert "unsupervised groups vs manifest clusters (layer 6)" in result.output
    analyses = json.loads((run_dir / "analyses.json").read_text())
    jsonschema.validate(analyses, json.loads((SCHEMA_DIR / "analyses.schema.json").read_text()))
    assert [f["concept"] for f in analyses["lens"]["flags"]] == [LEAKY]
    triage = json.loads((run_dir / "triage.json").read_text())
    assert [f["concept"] for f in triage["leaky_concepts"]] == [LEAKY]
    assert "logit lens leaks" in (run_dir / "triage.md").read_text()
    html = (run_dir / "report.html").read_text()
    for section in ("Logit lens", "Valence and arousal", "Unsupervised structure", "Most similar and most opposed pairs", "Stability across layers"):
        assert f"<h2>{section}" in html, section
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 5 and all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert not re.search(r'(src|href)="(?!data:)', html) and "<script" not in html


def test_lens_at_chosen_layers_and_a_bad_choice_fails_cleanly(tmp_path: Path):
    run_dir = write_run(tmp_path / "run", model=write_lens_model(tmp_path / "model"))
    result = runner.invoke(app, ["validate", str(run_dir), "--no-probes", "--lens-layers", "all"])
    assert result.exit_code == 0, result.output
    lens = json.loads((run_dir / "analyses.json").read_text())["lens"]
    assert [x["layer"] for x in lens["layers"]] == [1, 2, 3, 4, 5, 6]
    assert {(f["concept"], f["layer"]) for f in lens["flags"]} == {(LEAKY, layer) for layer in range(1, 7)}
    bad = runner.invoke(app, ["validate", str(run_dir), "--no-probes", "--lens-layers", "9"])
    assert bad.exit_code == 2 and "--lens-layers" in bad.output and "Traceback" not in bad.output


def test_lens_without_local_weights_says_why(tmp_path: Path):
    run_dir = write_run(tmp_path / "run")
    assert runner.invoke(app, ["validate", str(run_dir), "--no-probes"]).exit_code == 0
    analyses = json.loads((run_dir / "analyses.json").read_text())
    assert analyses["lens"] is None and "no safetensors weights" in analyses["lens_reason"]
    assert analyses["structure"]["n_groups"] == 6  # the synthetic run's six clusters


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium is not installed at /usr/bin/chromium")
def test_report_renders_in_headless_chromium(tmp_path: Path):
    from PIL import Image

    run_dir = write_run(tmp_path / "run", model=write_lens_model(tmp_path / "model"))
    assert runner.invoke(app, ["triage", str(run_dir), "--no-probes"]).exit_code == 0
    shot = tmp_path / "shot.png"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}", "--window-size=1280,4000", (run_dir / "report.html").as_uri()],
        check=True,
        timeout=120,
        capture_output=True,
    )
    image = np.asarray(Image.open(shot).convert("L"))
    assert image.shape[0] >= 4000 - 1 and (image < 200).mean() > 0.02  # text and pictures drew something
    shutil.rmtree(run_dir)


def test_cohesion_picture_draws_a_given_null_band(tmp_path: Path):
    """The band issue 11's null supplies is drawn: grey pixels where the plain picture has none."""
    from PIL import Image

    from trainer.report.plots import cohesion_by_layer
    from trainer.runfolder.folder import RunFolder
    from trainer.analysis.validation import compute_validation

    run = RunFolder.read(write_run(tmp_path / "run"))
    validation = compute_validation(run, probes=False)
    plain, banded = tmp_path / "plain.png", tmp_path / "band.png"
    cohesion_by_layer(validation, plain)
    cohesion_by_layer(validation, banded, ([-0.4] * len(run.layers), [-0.2] * len(run.layers)))

    def grey(path: Path) -> int:
        pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
        neutral = (pixels.max(axis=-1) - pixels.min(axis=-1)) <= 2
        # the band: 0.8 grey at alpha 0.7 over white (219) or over the deep-third shade (213)
        return int((neutral & (pixels[..., 0] >= 208) & (pixels[..., 0] <= 224)).sum())

    assert grey(banded) > grey(plain) + 1000
