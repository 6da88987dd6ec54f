"""`amygdala coverage`: counts, requirements, formats, on temporary corpora and the bundled one."""

from __future__ import annotations

import json

import jsonschema
import pytest
from typer.testing import CliRunner

from schemas.export import SCHEMA_DIR
from toolkit.cli import app

from conftest import BUNDLED_CORPUS, MANIFEST

# Wide enough that rich never wraps: an error must stay one line.
runner = CliRunner(env={"COLUMNS": "1000"})
SCHEMA = json.loads((SCHEMA_DIR / "coverage-report.schema.json").read_text())

STORY = "The kettle clicked off and she stood at the window a while longer, watching the gulls argue over the bins."

# Two clusters; calm and glad are canonical in "warm", sore is canonical in "cold", probe is an extra there.
SMALL_MANIFEST = {
    "version": 1,
    "clusters": {"warm": {"title": "Warm"}, "cold": {"title": "Cold"}},
    "concepts": {
        "calm": {"cluster": "warm", "valence": "positive", "keywords": ["calm"]},
        "glad": {"cluster": "warm", "valence": "positive", "keywords": ["glad"]},
        "sore": {"cluster": "cold", "valence": "negative", "keywords": ["sore"]},
        "probe": {"cluster": "cold", "valence": "neutral", "keywords": ["probe"], "extra": True},
    },
}


def small(make_corpus, files):
    return make_corpus({"manifest.json": json.dumps(SMALL_MANIFEST), **files})


def coverage_json(root, *args):
    result = runner.invoke(app, ["coverage", "--corpus", str(root), "--format", "json", *args])
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    return result.exit_code, data


def test_counts_stories_variants_and_scenarios_per_cluster(make_corpus):
    root = small(
        make_corpus,
        {
            "stories/calm.txt": STORY,
            "stories/glad/1.txt": STORY,
            "stories/glad/2.txt": STORY,
            "paired/gulls/baseline.txt": STORY,
            "paired/gulls/calm.txt": STORY,
            "paired/gulls/sore.txt": STORY,
            "paired/no_base/probe.txt": STORY,
        },
    )
    code, data = coverage_json(root, "--require", "all")
    assert code == 1  # sore has no story
    assert (data["canonical"], data["canonical_with_story"], data["canonical_with_text"]) == (3, 2, 3)
    assert (data["extras"], data["extras_with_text"]) == (1, 1)
    assert data["percent_with_story"] == pytest.approx(66.67)
    warm, cold = data["clusters"]
    assert (warm["stories"], warm["variants"], warm["paired_scenarios"], warm["missing"]) == (3, 1, ["gulls"], [])
    # a scenario without baseline.txt does not pair its cluster
    assert (cold["stories"], cold["variants"], cold["paired_scenarios"], cold["missing"]) == (0, 2, ["gulls"], ["sore"])
    concepts = {c["concept"]: c for c in data["concepts"]}
    assert concepts["glad"]["stories"] == 2 and concepts["glad"]["scenarios"] == []
    assert concepts["calm"]["single_scenario"] and not concepts["calm"]["scene_bound"]
    assert concepts["sore"]["scene_bound"] and concepts["probe"]["scene_bound"]
    assert data["scene_bound"] == ["sore", "probe"]
    scenarios = {s["scenario"]: s for s in data["scenarios"]}
    assert scenarios["no_base"] == {
        "scenario": "no_base", "has_baseline": False, "variants": 1, "concepts": ["probe"], "clusters": ["cold"]
    }
    (requirement,) = data["requirements"]
    assert requirement["requirement"] == "all" and not requirement["met"] and "sore" in requirement["detail"]


def test_require_levels_and_percentages(make_corpus):
    root = small(
        make_corpus,
        {"stories/calm.txt": STORY, "stories/glad.txt": STORY, "paired/gulls/baseline.txt": STORY, "paired/gulls/glad.txt": STORY},
    )
    assert coverage_json(root, "--require", "60")[0] == 0
    assert coverage_json(root, "--require", "66.6%")[0] == 0
    assert coverage_json(root, "--require", "70%")[0] == 1
    code, data = coverage_json(root, "--require", "clusters")
    assert code == 1
    assert "no story: cold" in data["requirements"][0]["detail"]
    assert "not paired: cold" in data["requirements"][0]["detail"]
    # an extra's story and a paired variant are enough for a cluster, not for `all`
    (root / "stories" / "probe.txt").write_text(STORY)
    (root / "paired" / "gulls" / "probe.txt").write_text(STORY)
    assert coverage_json(root, "--require", "clusters")[0] == 0
    code, data = coverage_json(root, "--require", "clusters", "--require", "all")
    assert code == 1
    assert [r["met"] for r in data["requirements"]] == [True, False]
    (root / "stories" / "sore.txt").write_text(STORY)
    assert coverage_json(root, "--require", "clusters", "--require", "all")[0] == 0


def test_table_and_markdown_formats(make_corpus):
    root = small(make_corpus, {"stories/calm.txt": STORY, "paired/gulls/baseline.txt": STORY, "paired/gulls/sore.txt": STORY})
    table = runner.invoke(app, ["coverage", "--corpus", str(root), "--scenarios", "--concepts", "--require", "all"])
    assert table.exit_code == 1
    rows = [" ".join(line.split()) for line in table.stdout.splitlines()]
    assert rows.index("Cold") < rows.index("sore 0 1 gulls") and "probe (extra) 0 0" in rows
    assert "gulls 1 sore cold" in rows
    assert "missing a story in warm: glad" in table.stdout
    assert "known from one scenario only" in table.stdout and "sore" in table.stdout
    assert "--require all: not met: 1/3 canonical concepts have a story" in table.stdout
    markdown = runner.invoke(app, ["coverage", "--corpus", str(root), "--format", "markdown", "--require", "0"])
    assert markdown.exit_code == 0
    assert "| Warm | 1/2 | 1/2 | 0/0 | 1 | 0 | — | glad |" in markdown.stdout
    assert "| Cold | 0/1 | 1/1 | 0/1 | 0 | 1 | gulls | sore |" in markdown.stdout
    assert "`--require 0%` passed" in markdown.stdout


def test_texts_outside_the_manifest_are_listed_not_counted(make_corpus):
    root = small(make_corpus, {"stories/calm.txt": STORY, "stories/cheery.txt": STORY})
    _, data = coverage_json(root)
    assert data["unknown_texts"] == ["stories/cheery.txt"]
    assert data["canonical_with_story"] == 1


@pytest.mark.parametrize("bad", ["most", "150", "-5", "12.5.1"])
def test_a_bad_requirement_is_a_one_line_usage_error(make_corpus, bad):
    root = small(make_corpus, {"stories/calm.txt": STORY})
    result = runner.invoke(app, ["coverage", "--corpus", str(root), "--require", bad])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --require") and result.stderr.count("\n") == 1


def test_missing_corpus_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["coverage", "--corpus", str(tmp_path / "nowhere"), "--manifest", str(MANIFEST)])
    assert result.exit_code == 2
    assert "corpus folder not found" in result.stderr


def test_bundled_corpus_covers_every_concept_and_pairs_every_cluster():
    code, data = coverage_json(BUNDLED_CORPUS, "--manifest", str(MANIFEST), "--require", "all", "--require", "clusters")
    assert data["canonical"] == 171
    assert code == 0, data["requirements"]


def test_without_a_bar_coverage_reports_and_passes(make_corpus):
    """The pre-commit hook runs `amygdala coverage` bare: a writer's young corpus must pass it."""
    root = small(make_corpus, {"stories/calm.txt": STORY})
    code, data = coverage_json(root)
    assert code == 0 and data["requirements"] == [] and data["passed"]
    table = runner.invoke(app, ["coverage", "--corpus", str(root)])
    assert table.exit_code == 0 and "no bar set" in table.stdout
    # one paired scenario, one concept: singular nouns
    root = small(make_corpus, {"stories/calm.txt": STORY, "paired/gulls/baseline.txt": STORY, "paired/gulls/glad.txt": STORY})
    table = runner.invoke(app, ["coverage", "--corpus", str(root)], env={"COLUMNS": "300"})
    assert "1 paired scenario, 1 variant; 1 concept paired in a single scenario." in table.stdout
    assert "1/3 canonical concepts have a story" in table.stdout


def test_the_bar_comes_from_the_configuration(make_corpus, tmp_path):
    root = small(make_corpus, {"stories/calm.txt": STORY})
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.amygdala]\ncorpus = "corpus"\n[tool.amygdala.coverage]\nrequire = ["50%"]\n')
    result = runner.invoke(app, ["coverage", "--format", "json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and [r["requirement"] for r in data["requirements"]] == ["50%"]
    assert runner.invoke(app, ["coverage", "--require", "30"]).exit_code == 0  # a flag replaces the configured bar
    config.write_text('[tool.amygdala]\ncorpus = "corpus"\n[tool.amygdala.coverage]\nrequire = ["most"]\n')
    result = runner.invoke(app, ["coverage"])
    assert result.exit_code == 2
    assert result.stderr == f"error: {config}: tool.amygdala.coverage.require: 'most': expected all, clusters or a percentage from 0 to 100\n"
