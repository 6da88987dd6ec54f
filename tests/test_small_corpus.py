"""A writer's first corpus is small: every shape that passes lint trains and gets its whole analysis
(quality, validation, analyses, triage, report), each step saying what it had too little of to judge.

Real corpora through the real CLI on the tiny random model; the shapes exercise every step's guard:
one concept, clusters of one or two concepts, a paired scenario that the probe's purge empties a
fold with, no paired scenario at all, one text per concept, one and two layers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from toolkit.cli import app
from train_helpers import cache_dir, llama_dir, text  # noqa: F401  (fixtures)

runner = CliRunner(env={"COLUMNS": "1000"})
REPO = Path(__file__).resolve().parents[1]
REPORTS = ["quality.json", "validation.json", "analyses.json", "triage.json", "triage.md", "report.html"]

SHAPES = {
    # The corpus: four stories of four clusters and one paired scenario.
    "four_clusters_one_scenario": ({"stories/afraid.txt": 1, "stories/calm.txt": 2, "stories/angry.txt": 3, "stories/cheerful.txt": 4,
                                    "paired/kitchen/baseline.txt": 5, "paired/kitchen/afraid.txt": 6}, ["--layers", "2"]),
    # Both fear concepts only in one scenario: the probe's purge leaves folds that train on one cluster.
    "purged_fold": ({"stories/calm.txt": 2, "stories/content.txt": 3,
                     "paired/kitchen/baseline.txt": 5, "paired/kitchen/anxious.txt": 6, "paired/kitchen/afraid.txt": 7}, ["--layers", "2"]),
    "two_concepts_two_layers": ({"stories/afraid.txt": 1, "stories/calm.txt": 2}, ["--layers", "2,3"]),
    "one_paired_concept": ({"paired/kitchen/baseline.txt": 5, "paired/kitchen/afraid.txt": 6}, ["--layers", "2", "--method", "paired"]),
}


def strict_json(path: Path):
    def refuse(constant: str):
        raise AssertionError(f"{path.name} holds {constant}, which is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_small_corpus_that_passes_lint_gets_its_whole_analysis(make_corpus, llama_dir, cache_dir, recwarn, shape):
    files, options = SHAPES[shape]
    corpus = make_corpus({rel: text(seed) for rel, seed in files.items()})
    lint = runner.invoke(app, ["lint", "--corpus", str(corpus)])
    assert lint.exit_code == 0, lint.output
    out = corpus.parent / "run"
    result = runner.invoke(app, ["train", "--corpus", str(corpus), "--model", str(llama_dir), "--dtype", "float32", "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    for name in REPORTS:
        assert (out / name).is_file(), name
    reports = {name: strict_json(out / name) for name in REPORTS if name.endswith(".json")}
    # numpy and matplotlib say nothing about empty slices or empty legends: each step guards its own input.
    ours = [w for w in recwarn if str(REPO) in w.filename and issubclass(w.category, (RuntimeWarning, UserWarning))]
    assert not ours, [f"{w.filename}:{w.lineno}: {w.message}" for w in ours]

    validation, analyses = reports["validation.json"], reports["analyses.json"]
    if shape == "purged_fold":
        probe = validation["cluster_probe"]
        assert probe["headline"] is None and probe["headline_reason"].startswith("not enough concepts outside the test fold's paired scenarios")
        assert "2 of 5 folds train on one class only" in probe["headline_reason"]
        assert "Cluster probe headline: not enough concepts" in result.output
    if shape in ("two_concepts_two_layers", "one_paired_concept"):
        assert analyses["stability"]["settled_from"] is None and analyses["stability"]["geometry_reason"].startswith("not enough concepts")
        assert "stability: not enough concepts to judge how the geometry settles" in result.output
        assert validation["cluster_probe"] is None and validation["cluster_probe_reason"]
        assert analyses["affect"] is None and analyses["affect_reason"]
    # No cluster of these shapes has the concepts its null needs: said so, not "every judged cluster is cohesive".
    assert reports["triage.json"]["cohesive_clusters"] == [] and not reports["triage.json"]["weak_clusters"]
    assert "No cluster judged: not enough concepts" in result.output
    assert "None judged: no cluster has enough concepts" in (out / "triage.md").read_text()
    assert "None judged: no cluster has enough concepts" in (out / "report.html").read_text()
