"""The full format stays readable when one rule reports many infos at one place."""

from __future__ import annotations

from typer.testing import CliRunner

from toolkit.cli import app

runner = CliRunner(env={"COLUMNS": "200"})
STORY = " ".join(["The ferry left at six and the gulls followed it past the breakwater."] * 4) + "\n"


def test_many_infos_of_one_rule_are_counted_not_listed(make_corpus):
    root = make_corpus({"stories/calm.txt": STORY, "stories/sad.txt": "Too short.\n"})
    full = runner.invoke(app, ["lint", "--corpus", str(root), "--no-cache"])
    concise = runner.invoke(app, ["lint", "--corpus", str(root), "--no-cache", "--format", "concise"])
    assert full.exit_code == concise.exit_code == 1
    total = concise.output.count(" CV001 ")
    assert total == 11  # one per cluster: each of the 11 has concepts without a text
    assert "CV001 cluster 'peaceful_contentment' (Peaceful Contentment): 8 of 9 concepts have no text" in concise.output
    assert full.output.count(" CV001 [info]") == 5
    assert f"… and {total - 5} more CV001 infos" in full.output
    assert "LN001 [error] 2 words: too short" in full.output
