"""SP001: misspellings with suggestions; names, loanwords, British spellings and the project's words pass."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from toolkit.cli import app

runner = CliRunner(env={"COLUMNS": "200"})
TYPO = (
    "Noor set the kettle on the hob and recieved the parcel at the door. The colour of the tape was "
    "wrong, and Kwabena had written the address in biro on the side. She realised it was for number six."
)


def lint(root, *args):
    result = runner.invoke(app, ["lint", "--corpus", str(root), "--select", "SP001", "--format", "json", *args])
    return result, json.loads(result.stdout) if result.stdout.startswith("{") else None


def test_a_typo_is_found_with_suggestions_and_names_and_british_spellings_pass(make_corpus):
    root = make_corpus({"stories/calm/01.txt": TYPO})
    result, report = lint(root)
    assert result.exit_code == 0  # an info never fails
    (finding,) = report["findings"]
    assert finding["severity"] == "info" and finding["code"] == "SP001"
    assert finding["message"].startswith("'recieved' is not in the dictionary; did you mean 'received'")
    assert TYPO[finding["column"] - 1 : finding["end_column"] - 1] == "recieved"


def test_the_project_word_list_inline_and_in_a_file(make_corpus, tmp_path):
    root = make_corpus({"stories/calm/01.txt": TYPO.replace("biro", "satnav") + " A hoodie hung on the door.\n"})
    _, report = lint(root)
    assert {f["message"].split("'")[1] for f in report["findings"]} == {"recieved", "satnav", "hoodie"}
    (tmp_path / "words.txt").write_text("# the stories' own words\nsatnav\nHoodie  # a jumper\n")
    (tmp_path / "amygdala.toml").write_text('corpus = "corpus"\n[lint]\nwords = ["recieved"]\nword-list = "words.txt"\n')
    _, report = lint(root)
    assert report["findings"] == []


def test_a_missing_word_list_is_a_one_line_error(make_corpus, tmp_path):
    root = make_corpus({"stories/calm/01.txt": TYPO})
    (tmp_path / "amygdala.toml").write_text('corpus = "corpus"\n[lint]\nword-list = "nowhere.txt"\n')
    result, _ = lint(root)
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'nowhere.txt'}: word-list: file not found\n"


def test_spelling_travels_in_sarif(make_corpus):
    root = make_corpus({"stories/calm/01.txt": TYPO})
    result = runner.invoke(app, ["lint", "--corpus", str(root), "--select", "SP001", "--format", "sarif"])
    log = json.loads(result.stdout)
    (entry,) = log["runs"][0]["results"]
    assert (entry["ruleId"], entry["level"]) == ("SP001", "note")
    assert "SP001" in {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]}


def test_a_hard_line_wrap_keeps_the_finding_on_the_word(make_corpus):
    body = TYPO.replace(" the parcel", "\nthe parcel").replace("and recieved", "and\n   recieved")
    root = make_corpus({"stories/calm/01.txt": body})
    _, report = lint(root)
    (finding,) = report["findings"]
    line = body.split("\n")[finding["line"] - 1]
    assert line[finding["column"] - 1 : finding["end_column"] - 1] == "recieved"


def test_the_bundled_corpus_has_no_spelling_finding():
    from conftest import REPO

    result = runner.invoke(app, ["lint", "--corpus", str(REPO / "amygdala_stories"), "--config", str(REPO / "pyproject.toml"), "--select", "SP001", "--format", "concise"])
    assert result.stdout.splitlines()[-1].startswith("All checks passed!")
