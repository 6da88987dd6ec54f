"""readout, eval and steer end to end on tiny random-weight Llama and GPT-2 models, through the real CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from schemas.evaluation import EvalReport, ReadoutReport, SteeringReport
from toolkit.cli import app
from train_helpers import cache_dir, corpus_files, text, tiny_model  # noqa: F401  (fixtures)

runner = CliRunner(env={"COLUMNS": "1000"})

# Keyword forms the manifest gives the test corpus's concepts and their clusters' neighbours, so the
# word-level tokenizer has single-token families to score.
KEYWORDS = ("afraid", "scared", "fear", "calm", "serene", "furious", "rage", "grateful", "thankful", "happy", "sad")


@pytest.fixture(scope="module", params=["llama", "gpt2"])
def trained(request, tmp_path_factory):
    """A run folder trained on the test corpus with a tiny model whose vocabulary holds some keywords."""
    import os

    root = tmp_path_factory.mktemp(f"run-{request.param}")
    model = tiny_model(root / "model", request.param, layers=4, extra_words=KEYWORDS)
    corpus = root / "corpus"
    for rel, body in corpus_files().items():
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        (corpus / rel).write_text(body)
    (corpus / "manifest.json").write_text((__import__("pathlib").Path(__file__).parents[1] / "manifest.json").read_text())
    cache = root / "cache"
    old = os.environ.get("AMYGDALA_CACHE_DIR")
    os.environ["AMYGDALA_CACHE_DIR"] = str(cache)
    try:
        result = runner.invoke(
            app, ["train", "--corpus", str(corpus), "--model", str(model), "--no-analyze", "--dtype", "float32", "--out", str(root / "run"), "--steer-check"]
        )
    finally:
        if old is None:
            os.environ.pop("AMYGDALA_CACHE_DIR")
        else:
            os.environ["AMYGDALA_CACHE_DIR"] = old
    assert result.exit_code == 0, result.output
    return {"run": root / "run", "corpus": corpus, "cache": cache, "model": model, "arch": request.param, "output": result.output}


@pytest.fixture
def same_cache(trained, monkeypatch):
    monkeypatch.setenv("AMYGDALA_CACHE_DIR", str(trained["cache"]))


def _forbid_model(monkeypatch):
    import trainer.extraction.model

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded although every text is cached")

    monkeypatch.setattr(trainer.extraction.model, "load_model", refuse)


def test_readout_uses_the_runs_extraction_and_the_cache(trained, same_cache, monkeypatch, tmp_path):
    from trainer.use.readout import open_run, projections, reference_stats, zscores

    run = trained["run"]
    corpus_text = trained["corpus"] / "stories" / "calm.txt"
    new_text = text(999)
    out = tmp_path / "readout.json"
    first = runner.invoke(app, ["readout", str(run), str(corpus_text), new_text, "--out", str(out), "--top", "3"])
    assert first.exit_code == 0, first.output
    report = ReadoutReport.model_validate_json(out.read_text())
    assert report.cache.hits == 1 and report.cache.misses == 1  # the corpus text was cached by train
    assert [t.source for t in report.texts] == [str(corpus_text), "argument"] and len(report.texts[0].top) == 3
    # A corpus text reads out exactly as its stored activations do: same model, pooling and options.
    view = open_run(run)
    row = view.rels.index("stories/calm.txt")
    mean, sd = reference_stats(projections(view.activations, view.vectors))
    expected = zscores(projections(view.activations[:, [row]], view.vectors), mean, sd)[:, 0]
    np.testing.assert_allclose(report.texts[0].z, expected, atol=2e-3)
    assert report.texts[0].top[0].concept in view.concepts and "calm.txt:" in first.output

    # A second read-out of the same texts never runs the model.
    _forbid_model(monkeypatch)
    again = runner.invoke(app, ["readout", str(run), str(corpus_text), new_text, "--json", "--layers", "2-3"])
    assert again.exit_code == 0, again.output
    repeat = ReadoutReport.model_validate_json(again.stdout)
    assert repeat.cache.hits == 2 and repeat.cache.misses == 0 and repeat.layers == [2, 3]
    np.testing.assert_allclose(repeat.texts[1].z, np.array(report.texts[1].z)[1:3], atol=1e-4)


def test_eval_on_labelled_jsonl_counts_outside_labels_and_writes_eval_json(trained, same_cache, monkeypatch, tmp_path):
    corpus = trained["corpus"]
    lines = [{"story": text(600 + i), "label": concept} for i, concept in enumerate(("calm", "afraid", "furious"))]
    lines += [{"story": text(500), "label": "Calm"}, {"story": text(501), "label": "bewildered"}, {"story": text(502), "label": "nonsense"}]
    lines += [{"story": text(503), "label": None}]  # a baseline, as `amygdala export` writes it
    # A text the run trained on is not out of sample: skipped and counted, however it is labelled.
    lines += [{"story": (corpus / "stories/calm.txt").read_text(), "label": "calm"}]
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = runner.invoke(app, ["eval", str(trained["run"]), str(labelled), "--text-field", "story", "--concept-field", "label"])
    assert result.exit_code == 0, result.output
    report = EvalReport.model_validate_json((trained["run"] / "eval.json").read_text())
    assert report.n_labelled == 8 and report.n_evaluated == 4 and report.outside_labels == {"bewildered": 1, "nonsense": 1}
    assert report.skipped == {"label outside the run's concepts": 2, "no label (null)": 1, "a text the run trained on": 1}
    assert sorted(report.candidates) == ["afraid", "calm", "furious"] and report.chance_top1 == round(1 / 3, 4)
    assert report.headline.top5.value == 1.0  # three candidates: every text is in the top 5
    assert len(report.per_layer) == 4 and report.best_layer in report.layers and (trained["run"] / "eval_by_layer.png").is_file()
    assert "chance" in result.output and "exploratory" in result.output
    # The labelled texts are now cached: a second eval does not run the model.
    _forbid_model(monkeypatch)
    assert runner.invoke(app, ["eval", str(trained["run"]), str(labelled), "--text-field", "story", "--concept-field", "label"]).exit_code == 0


def test_eval_cv_holds_scenarios_out_whole(trained, same_cache):
    result = runner.invoke(app, ["eval", str(trained["run"]), "--cv"])
    assert result.exit_code == 0, result.output
    report = EvalReport.model_validate_json((trained["run"] / "eval.json").read_text())
    assert report.mode == "cv" and "scenario" in report.cv_scheme
    # 4 stories of 4 concepts + a second grateful story + 2 scenarios (2 baselines, 4 variants).
    assert report.skipped["baseline (no concept)"] == 2
    assert report.n_evaluated + report.skipped.get("its concept has no other text outside its group", 0) == report.n_labelled == 9


def test_eval_and_readout_errors_are_one_line(trained, same_cache, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a", "concept": "calm"}\nnot json\n')
    for args in (["eval", str(trained["run"]), str(bad)], ["eval", str(trained["run"])], ["readout", str(tmp_path)], ["readout", str(trained["run"])]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
    assert "bad.jsonl" in runner.invoke(app, ["eval", str(trained["run"]), str(bad)]).output


def test_steering_fast_path_equals_a_hook_on_the_full_model(trained, same_cache):
    import torch

    from trainer.use.readout import open_run
    from trainer.reporter import Reporter
    from trainer.use.steering import SteeringRunner, load_run_model, steering_hook

    view = open_run(trained["run"])
    lm = load_run_model(view, Reporter())
    prompts = ["the kettle and the window", "she walked to the door"]
    fast = SteeringRunner(lm, prompts, batch_size=2)
    vocab = torch.arange(len(lm.tokenizer))
    directions = torch.from_numpy(np.random.default_rng(0).standard_normal((3, view.vectors.shape[-1])).astype(np.float32))
    for layer in (1, 3, 4):
        got = fast.steered(layer, directions, vocab)
        for d in range(3):
            for p, prompt in enumerate(prompts):
                ids = lm.tokenizer(prompt, return_tensors="pt")["input_ids"]
                with steering_hook(lm, layer, directions[d]), torch.inference_mode():
                    want = torch.log_softmax(lm.model(input_ids=ids).logits[0, -1].float(), -1)
                torch.testing.assert_close(got[d, p], want, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(fast.base(vocab)[0].numpy(), torch.log_softmax(lm.model(input_ids=lm.tokenizer(prompts[0], return_tensors="pt")["input_ids"]).logits[0, -1].float(), -1).detach().numpy(), atol=1e-5)


def test_train_steer_check_writes_steering_json(trained):
    report = SteeringReport.model_validate_json((trained["run"] / "steering.json").read_text())
    assert report.n_random == 16 and report.layers == [1, 2, 3] and report.strengths == [0.25, 0.5, 1.0]
    assert len(report.cells) == 9 and (trained["run"] / "steering_heatmap.png").is_file()
    by_name = {c.concept: c for c in report.concepts}
    assert by_name["afraid"].tokens == ["afraid", "fear", "scared"] and len(by_name["afraid"].z) == 3
    assert report.recommended.layer in report.layers and "recommended: layers" in trained["output"]
    assert set(report.not_steering) <= set(by_name) and not report.untestable


def test_steer_prints_both_continuations(trained, same_cache):
    result = runner.invoke(app, ["steer", str(trained["run"]), "--concept", "calm", "--strength", "8", "--layer", "2", "--max-new-tokens", "6", "--prompt", "the door"])
    assert result.exit_code == 0, result.output
    assert "unsteered" in result.output and "+ calm" in result.output and "greedy" in result.output and "sampled (seed 0)" in result.output
    for args, needle in ((["--concept", "joyless"], "--concept"), (["--concept", "calm", "--layer", "9"], "--layer"), ([], "--concept")):
        bad = runner.invoke(app, ["steer", str(trained["run"]), *args])
        assert bad.exit_code == 2 and needle in bad.output, bad.output


def test_report_html_gains_the_eval_and_steering_sections(trained, same_cache):
    assert runner.invoke(app, ["eval", str(trained["run"]), "--cv"]).exit_code == 0
    result = runner.invoke(app, ["triage", str(trained["run"]), "--no-probes"])
    assert result.exit_code == 0, result.output
    html = (trained["run"] / "report.html").read_text()
    assert "Held-out readout accuracy (cross-validated on the corpus)" in html and "best layer (exploratory)" in html
    assert "Steering check" in html and "Recommended: layers" in html and html.count("data:image/png;base64") >= 2
    # Triage names the concepts whose vectors do not steer, as steering.json records them.
    steering = json.loads((trained["run"] / "steering.json").read_text())
    named = json.loads((trained["run"] / "triage.json").read_text())["not_steering"]
    assert named["concepts"] == steering["not_steering"] and named["layer"] == steering["recommended"]["layer"]
    assert "do not steer" in result.output and "Concepts whose vectors do not steer" in (trained["run"] / "triage.md").read_text()
