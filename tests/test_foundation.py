"""The manifest, the schemas, configuration discovery and the corpus model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schemas.export import stale
from toolkit.cli import app
from toolkit.config import load_config
from toolkit.corpus import load_corpus, load_manifest, resolve_locations
from base.errors import AmygdalaError

from conftest import MANIFEST, REPO

runner = CliRunner()
DATA = REPO / "toolkit" / "data"
SEED_EXTRAS = ["defeated", "admiring", "connected", "onto_something", "in_flow", "determined", "curious", "focused"]


def test_manifest_holds_the_171_canonical_concepts_plus_marked_extras():
    manifest = load_manifest(MANIFEST)
    canonical = (DATA / "emotions_171.txt").read_text().split()
    assert len(canonical) == 171
    assert sorted(manifest.canonical) == sorted(canonical)
    extras = [name for name, c in manifest.concepts.items() if c.extra]
    assert sorted(extras) == sorted(SEED_EXTRAS)
    for name, concept in manifest.concepts.items():
        assert concept.cluster in manifest.clusters
        assert concept.valence in {"positive", "negative", "neutral"}
        assert concept.keywords, name
        assert name.replace("_", " ") in concept.keywords or name in concept.keywords, name


def test_default_clusters_are_the_papers_ten_plus_cognitive():
    paper = json.loads((DATA / "anthropic_clusters_k10.json").read_text())["clusters"]
    manifest = load_manifest(MANIFEST)
    for slug, cluster in paper.items():
        assert manifest.clusters[slug].title == cluster["title"]
        assert manifest.clusters[slug].description
        canonical_members = [n for n in manifest.members(slug) if not manifest.concepts[n].extra]
        assert sorted(canonical_members) == sorted(cluster["emotions"])
    assert set(manifest.members("cognitive")) == {"onto_something", "in_flow", "determined", "curious", "focused"}


def test_manifest_names_its_schema_and_validates_against_it():
    jsonschema = pytest.importorskip("jsonschema")
    data = json.loads(MANIFEST.read_text())
    schema_path = (MANIFEST.parent / data["$schema"]).resolve()
    assert schema_path.is_file()
    jsonschema.validate(data, json.loads(schema_path.read_text()))


def test_committed_schema_files_are_current():
    assert stale() == [], "run `amygdala schemas` and commit the result"
    result = runner.invoke(app, ["schemas", "--check"])
    assert result.exit_code == 0, result.output


def _write_manifest(root: Path, mutate) -> Path:
    data = json.loads(MANIFEST.read_text())
    mutate(data)
    path = root / "manifest.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def _concepts_error(tmp_path: Path, manifest: Path) -> str:
    result = runner.invoke(app, ["concepts", "--corpus", str(tmp_path), "--manifest", str(manifest)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines() if result.stderr else result.output.strip().splitlines()
    assert len(lines) == 1 or " ".join(lines).startswith("error:"), result.output
    assert "Traceback" not in result.output
    return " ".join(line.strip() for line in lines)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["concepts"]["furious"].update(cluster="angr"), "concepts.furious.cluster: unknown cluster 'angr'"),
        (lambda d: d["concepts"]["calm"].update(valence="sunny"), "concepts.calm.valence"),
        (lambda d: d["concepts"]["calm"].update(keywords=[]), "concepts.calm.keywords"),
        (lambda d: d["concepts"]["calm"].update(colour="blue"), "concepts.calm.colour"),
        (lambda d: d["concepts"].update({"Not A Slug": d["concepts"]["calm"]}), "concepts.Not A Slug"),
    ],
)
def test_manifest_schema_violations_name_the_file_and_json_path(tmp_path, mutate, expected):
    manifest = _write_manifest(tmp_path, mutate)
    message = _concepts_error(tmp_path, manifest)
    assert message.startswith(f"error: {manifest}")
    assert expected in message


def test_malformed_manifest_json_is_one_line_with_position(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"clusters": {,}}')
    message = _concepts_error(tmp_path, manifest)
    assert "invalid JSON" in message and "line 1" in message


def test_duplicate_concept_is_reported_with_its_line(tmp_path):
    text = MANIFEST.read_text()
    calm = text.index('    "calm": {')
    duplicated = text[:calm] + text[calm:].replace('    "calm": {', '    "calm": {"cluster": "x"},\n    "calm": {', 1)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(duplicated)
    message = _concepts_error(tmp_path, manifest)
    assert "duplicate key 'calm'" in message
    line = duplicated[: duplicated.index('"calm": {', calm + 20)].count("\n") + 1
    assert f"manifest.json:{line}:" in message


def test_unknown_concept_gets_a_close_match(tmp_path):
    result = runner.invoke(app, ["concepts", "grateflu", "--manifest", str(MANIFEST), "--corpus", str(tmp_path)])
    assert result.exit_code == 2
    assert "did you mean 'grateful'" in result.output


def test_config_is_found_walking_up_and_paths_are_relative_to_it(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.amygdala]\ncorpus = "texts"\nmanifest = "meta/m.json"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    config = load_config()
    assert config.source == tmp_path / "pyproject.toml"
    assert config.settings.corpus == tmp_path / "texts"
    assert config.settings.manifest == tmp_path / "meta" / "m.json"


def test_pyproject_without_the_table_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.amygdala]\ncorpus = "outer"\n')
    inner = tmp_path / "pkg"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "x"\n')
    monkeypatch.chdir(inner)
    assert load_config().settings.corpus == tmp_path / "outer"


def test_bad_config_value_is_a_one_line_error(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.amygdala]\ncorpse = "x"\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AmygdalaError) as err:
        load_config()
    assert "tool.amygdala.corpse" in str(err.value) and "pyproject.toml" in str(err.value)


def test_manifest_lookup_order(tmp_path, monkeypatch):
    corpus = tmp_path / "c"
    corpus.mkdir()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "manifest.json").write_text("{}")
    config = load_config()
    assert resolve_locations(config, corpus)[1] == tmp_path / "manifest.json"
    (corpus / "manifest.json").write_text("{}")
    assert resolve_locations(config, corpus)[1] == corpus / "manifest.json"
    (tmp_path / "pyproject.toml").write_text('[tool.amygdala]\nmanifest = "cfg.json"\n')
    assert resolve_locations(load_config(), corpus)[1] == tmp_path / "cfg.json"
    assert resolve_locations(load_config(), corpus, tmp_path / "flag.json")[1] == tmp_path / "flag.json"


def test_corpus_model_reads_both_story_layouts_and_scenarios(make_corpus):
    root = make_corpus(
        {
            "stories/calm.txt": "The lake was flat at dawn.\n",
            "stories/furious/one.txt": "He put the ticket down.\n",
            "stories/furious/two.txt": "The kettle screamed.\n",
            "paired/the_letter/baseline.txt": "Ana opens the letter.\n",
            "paired/the_letter/sad.txt": "Ana opens the letter slowly.\n",
            "paired/the_letter/scenario.json": '{"anchors": ["Ana", "the letter"], "notes": "n"}',
            "paired/the_letter/draft.md": "stray\n",
        }
    )
    corpus = load_corpus(root, root / "manifest.json")
    assert [(t.rel, t.concept) for t in corpus.stories] == [
        ("stories/calm.txt", "calm"),
        ("stories/furious/one.txt", "furious"),
        ("stories/furious/two.txt", "furious"),
    ]
    (scenario,) = corpus.scenarios
    assert scenario.baseline is not None and scenario.baseline.label == "baseline"
    assert [v.concept for v in scenario.variants] == ["sad"]
    assert scenario.spec is not None and scenario.spec.anchors == ["Ana", "the letter"]
    assert corpus.stray == ["paired/the_letter/draft.md"]
    assert len(list(corpus.texts())) == 5
    assert [t.rel for t in corpus.texts_of("furious")] == ["stories/furious/one.txt", "stories/furious/two.txt"]


def test_content_hash_changes_with_any_text(make_corpus):
    root = make_corpus({"stories/calm.txt": "The lake was flat.\n"})
    before = load_corpus(root, root / "manifest.json").content_hash()
    assert load_corpus(root, root / "manifest.json").content_hash() == before
    (root / "stories" / "calm.txt").write_text("The lake was flatter.\n")
    assert load_corpus(root, root / "manifest.json").content_hash() != before


def test_invalid_utf8_is_loaded_as_undecodable(make_corpus):
    root = make_corpus({"stories/calm.txt": b"\xff\xfe bad"})
    (story,) = load_corpus(root, root / "manifest.json").stories
    assert story.text is None and story.raw == b"\xff\xfe bad"


def test_bad_scenario_json_names_file_and_path(make_corpus):
    root = make_corpus(
        {
            "paired/the_letter/baseline.txt": "Ana opens the letter.\n",
            "paired/the_letter/scenario.json": '{"anchors": "the letter"}',
        }
    )
    with pytest.raises(AmygdalaError) as err:
        load_corpus(root, root / "manifest.json")
    assert err.value.where.endswith("paired/the_letter/scenario.json")
    assert err.value.message.startswith("anchors:")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_escaping_the_corpus_is_refused(make_corpus, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("outside the corpus\n")
    root = make_corpus({"stories/calm.txt": "The lake.\n"})
    (root / "stories" / "sad.txt").symlink_to(outside)
    with pytest.raises(AmygdalaError) as err:
        load_corpus(root, root / "manifest.json")
    assert "outside the corpus" in err.value.message and err.value.where.endswith("sad.txt")


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "concepts" in result.output and "schemas" in result.output


def test_invalid_toml_is_a_one_line_cli_error(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[tool.amygdala\ncorpus = 1\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["concepts", "calm", "--manifest", str(MANIFEST)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {tmp_path / 'pyproject.toml'}: invalid TOML")
    assert len(result.output.strip().splitlines()) == 1


def test_missing_config_file_given_explicitly(tmp_path):
    result = runner.invoke(app, ["concepts", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "nope.toml: file not found" in result.output
