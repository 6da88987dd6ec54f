"""Regression tests for the papercuts a writer met in issue 20, each the way the writer met it."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from toolkit.cli import app

runner = CliRunner(env={"COLUMNS": "80"})
STORY = (
    "The ferry horn sounded twice across the grey water while Tomas counted the gulls on the rail. "
    "He folded his ticket into a small square, unfolded it, and read the departure time again. "
    "The deck hands coiled rope without looking up. Somewhere below, a car alarm began and stopped."
)


def test_an_empty_story_is_no_coverage(tmp_path, monkeypatch):
    # `amygdala new story bored; amygdala coverage` said bored "has a story".
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "."]).exit_code == 0
    assert runner.invoke(app, ["new", "story", "bored"]).exit_code == 0
    report = json.loads(runner.invoke(app, ["coverage", "--format", "json"]).stdout)
    bored = next(c for c in report["concepts"] if c["concept"] == "bored")
    assert (bored["stories"], bored["covered"]) == (0, False)
    assert report["canonical_with_story"] == 1  # the example story of `init` only
    (tmp_path / "amygdala_stories/stories/bored/01.txt").write_text(STORY + "\n", encoding="utf-8")
    report = json.loads(runner.invoke(app, ["coverage", "--format", "json"]).stdout)
    assert report["canonical_with_story"] == 2


def test_an002_keeps_a_multi_word_name_whole(make_corpus):
    baseline = (
        "Mrs Okafor came to the door at nine with a tin of biscuits and a list. She said the bins had "
        "gone out wrong again, and that Mrs Okafor from number six had seen the fox by the wall. Then "
        "she went back down the path, and the street was quiet until the post came at ten."
    )
    variant = baseline.replace("Mrs Okafor", "The woman", 1).replace("Mrs Okafor", "somebody")
    root = make_corpus({"paired/the_visit/baseline.txt": baseline, "paired/the_visit/nervous.txt": variant})
    result = runner.invoke(app, ["lint", "--corpus", str(root), "--select", "AN002", "--format", "json"])
    [finding] = json.loads(result.stdout)["findings"]
    assert "never mentions 'Mrs Okafor'" in finding["message"] and "'Mrs'" not in finding["message"]


def test_every_help_keeps_its_brackets_and_shows_no_type_on_flags():
    # `init --help` printed "configuration ( in an existing pyproject.toml" and "--watch -w <bool>".
    init = runner.invoke(app, ["init", "--help"]).stdout
    assert "[tool.amygdala] in an existing" in " ".join(init.split())
    for command in (["lint"], ["init"], ["coverage"], ["new", "story"], ["train"], ["lsp"], ["stats"]):
        out = runner.invoke(app, [*command, "--help"]).stdout
        assert "<bool>" not in out, command
        assert max(len(line) for line in out.splitlines()) <= 80


def test_the_coverage_hint_names_the_table_of_the_configuration_in_use(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "."]).exit_code == 0  # writes amygdala.toml
    out = " ".join(runner.invoke(app, ["coverage"]).stdout.split())
    assert "set require in [coverage] of amygdala.toml" in out and "tool.amygdala" not in out
    markdown = runner.invoke(app, ["coverage", "--format", "markdown"]).stdout
    assert "set require in [coverage] of amygdala.toml" in markdown


def test_a_story_words_setting_of_one_number_says_what_it_expects(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "."]).exit_code == 0
    config = tmp_path / "amygdala.toml"
    config.write_text(config.read_text().replace("# story-words = [40, 120]", "story-words = [40]"))
    result = runner.invoke(app, ["lint"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Field required" not in result.stderr
    assert re.search(r"amygdala\.toml: lint\.story-words: expected \[min, max\], two whole numbers", result.stderr)


def test_pairing_only_the_selected_texts_finds_the_pairs_pairing_everything_finds_for_them():
    # The editor's DU001 on each keystroke pairs the buffer with the corpus, not the corpus with itself.
    import random

    from toolkit.lint.dedup import candidate_pairs, pairs_with

    rng = random.Random(7)
    keys = [f"{rng.getrandbits(32):08x}" for _ in range(30)]
    bands = {f"t{i}": "".join(rng.choice(keys) for _ in range(6)) for i in range(60)}
    for selected in ({"t1"}, {"t2", "t40"}, set(bands)):
        expected = [p for p in candidate_pairs(bands) if p[0] in selected or p[1] in selected]
        assert pairs_with(bands, selected) == expected


def test_the_writer_views_fit_80_columns_on_the_bundled_corpus(monkeypatch):
    # issue 20: in an 80-column terminal tables shrank to "exub… cohe… +0.1…".
    from conftest import REPO

    monkeypatch.chdir(REPO)
    for command in (["rules"], ["stats"], ["concepts", "furious", "calm"], ["coverage"], ["coverage", "--concepts", "--scenarios"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)
        lines = result.stdout.splitlines()
        assert lines and max(len(line) for line in lines) <= 80, command
        assert "…" not in result.stdout, command  # no cell cut short
