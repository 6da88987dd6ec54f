"""The full format stays readable when one rule reports many infos at one place."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from toolkit.cli import app

runner = CliRunner(env={"COLUMNS": "200"})
STORY = " ".join(["The ferry left at six and the gulls followed it past the breakwater."] * 4) + "\n"


def test_uncovered_concepts_are_one_what_to_write_next_summary(make_corpus, monkeypatch):
    # issue 20: one CV001 line per cluster (eleven on a young corpus), reprinted on every save.
    root = make_corpus({"stories/calm.txt": STORY, "stories/sad.txt": "Too short.\n"})
    monkeypatch.setenv("COLUMNS", "80")
    full = runner.invoke(app, ["lint", "--corpus", str(root), "--no-cache"], env={"COLUMNS": "80"})
    concise = runner.invoke(app, ["lint", "--corpus", str(root), "--no-cache", "--format", "concise"])
    assert full.exit_code == concise.exit_code == 1
    (line,) = [l for l in concise.output.splitlines() if " CV001 " in l]
    assert "what to write next: 177 of 179 concepts have no text yet; " in line
    assert "peaceful_contentment 1/9 (at_ease, content, patient +5)" in line
    assert " CV001 [info]" not in full.output  # the table replaces the line
    assert "What to write next (177 of 179 concepts have no text yet):" in full.output
    row = next(l for l in full.output.splitlines() if l.startswith("peaceful_contentment"))
    assert row.split()[:2] == ["peaceful_contentment", "1/9"] and "at_ease" in row
    table = full.output.split("What to write next")[1].splitlines()
    assert max(len(l) for l in table) <= 80  # finding lines are one line each (soft-wrapped), the table fits
    assert "LN001 [error] 2 words: too short" in full.output
    report = json.loads(runner.invoke(app, ["lint", "--corpus", str(root), "--format", "json"]).stdout)
    peaceful = next(c for c in report["write_next"]["clusters"] if c["cluster"] == "peaceful_contentment")
    assert (peaceful["with_text"], peaceful["concepts"], peaceful["missing"][0]) == (1, 9, "at_ease")


def test_a_complete_cluster_lists_its_thinnest_concepts():
    from schemas.manifest import Manifest
    from toolkit.coverage import write_next

    manifest = Manifest.model_validate(
        {
            "clusters": {"a": {"title": "A"}, "b": {"title": "B"}},
            "concepts": {
                "calm": {"cluster": "a", "valence": "positive", "keywords": ["x"]},
                "glad": {"cluster": "a", "valence": "positive", "keywords": ["x"]},
                "sad": {"cluster": "b", "valence": "negative", "keywords": ["x"]},
            },
        }
    )
    summary = write_next(manifest, {"calm": 3, "glad": 1})
    first, second = summary.clusters
    assert (first.cluster, first.missing) == ("b", ["sad"])  # missing concepts first
    assert (second.cluster, second.missing, second.thinnest, second.fewest) == ("a", [], ["glad"], 1)
    assert (summary.concepts, summary.with_text) == (3, 2)
