"""`amygdala import` and `amygdala export`: JSONL in the peers' shape and ours, round trips, bad input."""

from __future__ import annotations

import json
import shutil

import jsonschema
import pytest
from typer.testing import CliRunner

from schemas.export import SCHEMA_DIR
from toolkit.cli import app

from conftest import BUNDLED_CORPUS, MANIFEST

# Wide enough that rich never wraps: an error must stay one line.
runner = CliRunner(env={"COLUMNS": "1000"})
RECORD_SCHEMA = json.loads((SCHEMA_DIR / "interchange-record.schema.json").read_text())

STORY = "The kettle clicked off and she stood at the window a while longer, watching the gulls argue over the bins."
OTHER = "He found the parking ticket folded under the wiper and read it twice in the rain."


def jsonl(tmp_path, rows, name="in.jsonl"):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def run_import(root, path, *args):
    return runner.invoke(app, ["import", str(path), "--corpus", str(root), *args])


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != "manifest.json")


def test_peer_shaped_jsonl_becomes_numbered_stories(make_corpus, tmp_path):
    root = make_corpus({"stories/grief_stricken/1.txt": OTHER, "stories/grief_stricken/7.txt": OTHER + " Again."})
    source = jsonl(
        tmp_path,
        [
            {"story": STORY, "emotion": "Grief-stricken", "topic": "kitchens"},
            {"story": STORY + " Twice.", "emotion": "grief stricken"},
            {"story": OTHER, "emotion": "AFRAID"},
            {"story": STORY, "emotion": "Furios"},
            {"story": OTHER, "emotion": "furios"},
            {"story": STORY, "emotion": "Cheery-ish"},
        ],
    )
    result = run_import(root, source, "--text-field", "story", "--concept-field", "emotion")
    assert result.exit_code == 0, result.output
    assert files_under(root) == [
        "stories/afraid/01.txt",
        "stories/grief_stricken/08.txt",
        "stories/grief_stricken/09.txt",
        "stories/grief_stricken/1.txt",
        "stories/grief_stricken/7.txt",
    ]
    assert (root / "stories/grief_stricken/08.txt").read_text() == STORY + "\n"
    out = result.stdout
    assert "imported 3 of 6 texts" in out
    assert "skipped 3 texts of concepts not in the manifest" in out
    assert "cheery_ish (1)" in out
    assert "furios (2; did you mean 'furious'?)" in out


def test_unknown_concepts_are_imported_on_request(make_corpus, tmp_path):
    root = make_corpus({})
    source = jsonl(tmp_path, [{"text": STORY, "concept": "Cheery-ish"}])
    result = run_import(root, source, "--include-unknown")
    assert result.exit_code == 0, result.output
    assert files_under(root) == ["stories/cheery_ish/01.txt"]


def test_dotted_field_names_reach_into_objects(make_corpus, tmp_path):
    root = make_corpus({})
    source = jsonl(tmp_path, [{"body": {"text": STORY}, "meta": {"emotion": "calm"}}])
    assert run_import(root, source, "--text-field", "body.text", "--concept-field", "meta.emotion").exit_code == 0
    assert files_under(root) == ["stories/calm/01.txt"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "unterminated', "in.jsonl:3: invalid JSON"),
        ('["a", "list"]', "in.jsonl:3: expected a JSON object, found list"),
        ('{"story": "no text field", "concept": "calm"}', "in.jsonl:3: missing field 'text'"),
        ('{"text": "no concept"}', "in.jsonl:3: missing field 'concept'"),
        ('{"text": 12, "concept": "calm"}', "in.jsonl:3: field 'text' is int, not a string"),
        ('{"text": "   ", "concept": "calm"}', "in.jsonl:3: field 'text' is blank"),
        ('{"text": "x", "concept": "calm", "kind": "essay"}', "in.jsonl:3: field 'kind' is 'essay'"),
        ('{"text": "x", "concept": "calm", "kind": "variant"}', "in.jsonl:3: missing field 'scenario'"),
        ('{"text": "x", "concept": "calm", "kind": "baseline", "scenario": "s"}', "in.jsonl:3: a baseline has no concept"),
        ('{"text": "x", "concept": "--", "kind": "story"}', "in.jsonl:3: field 'concept' has no letters or digits"),
        ('{"text": "x", "concept": "Baseline", "kind": "variant", "scenario": "s"}', "in.jsonl:3: 'concept' is 'baseline'"),
    ],
)
def test_a_malformed_line_is_one_line_with_file_and_line_and_writes_nothing(make_corpus, tmp_path, line, message):
    root = make_corpus({"stories/calm.txt": STORY})
    source = jsonl(tmp_path, [{"text": OTHER, "concept": "calm"}, "", line])
    result = run_import(root, source)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert files_under(root) == ["stories/calm.txt"]


def test_missing_or_empty_files_are_usage_errors(make_corpus, tmp_path):
    root = make_corpus({})
    assert "absent.jsonl: file not found" in run_import(root, tmp_path / "absent.jsonl").stderr
    empty = jsonl(tmp_path, ["", "  "])
    result = run_import(root, empty)
    assert result.exit_code == 2 and "no records" in result.stderr


def test_export_validates_and_round_trips_through_import(make_corpus, tmp_path):
    source = make_corpus(
        {
            "stories/calm.txt": STORY + "\n",
            "stories/afraid/1.txt": OTHER,
            "stories/afraid/night_bus.txt": "The night bus stalled on the bridge. Nobody spoke.",
            "paired/gulls/baseline.txt": STORY,
            "paired/gulls/scenario.json": json.dumps({"anchors": ["the gulls"], "notes": "gulls at the bins"}),
            "paired/gulls/furious.txt": STORY.replace("argue", "scream"),
            "paired/ticket/baseline.txt": OTHER,
            "paired/ticket/sad.txt": OTHER.replace("twice", "slowly"),
        }
    )
    result = runner.invoke(app, ["export", "--corpus", str(source)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    records = [json.loads(line) for line in lines]
    for record in records:
        jsonschema.validate(record, RECORD_SCHEMA)
    by_path = {r["path"]: r for r in records}
    assert by_path["stories/calm.txt"] == {
        "text": STORY, "concept": "calm", "cluster": "peaceful_contentment", "kind": "story", "scenario": None,
        "path": "stories/calm.txt",
    }
    assert by_path["paired/gulls/baseline.txt"]["scenario_spec"] == {"anchors": ["the gulls"], "notes": "gulls at the bins"}
    assert by_path["paired/gulls/furious.txt"]["kind"] == "variant"
    assert "scenario_spec" not in by_path["paired/ticket/baseline.txt"]

    exported = tmp_path / "corpus.jsonl"
    assert runner.invoke(app, ["export", "--corpus", str(source), "--out", str(exported)]).exit_code == 0
    assert exported.read_text() == result.stdout

    copy = tmp_path / "copy"
    result = runner.invoke(app, ["import", str(exported), "--corpus", str(copy), "--manifest", str(MANIFEST)])
    assert result.exit_code == 0, result.output
    assert files_under(copy) == files_under(source)
    assert json.loads((copy / "paired/gulls/scenario.json").read_text()) == {"anchors": ["the gulls"], "notes": "gulls at the bins"}
    again = runner.invoke(app, ["export", "--corpus", str(copy), "--manifest", str(MANIFEST)])
    assert again.stdout == exported.read_text()

    # importing the export into the corpus it came from finds everything already there
    result = run_import(source, exported)
    assert result.exit_code == 0
    assert "imported 0 of 7 texts" in result.stdout and "already present: 7" in result.stdout
    assert files_under(source) == files_under(copy)


def test_stories_whose_path_is_taken_are_numbered_and_paired_conflicts_refused(make_corpus, tmp_path):
    root = make_corpus({"stories/calm.txt": STORY, "paired/gulls/baseline.txt": STORY, "paired/gulls/furious.txt": OTHER})
    source = jsonl(tmp_path, [{"text": OTHER, "concept": "calm", "kind": "story", "scenario": None, "path": "stories/calm.txt"}])
    assert run_import(root, source).exit_code == 0
    assert files_under(root)[-2:] == ["stories/calm.txt", "stories/calm/01.txt"]
    assert (root / "stories/calm/01.txt").read_text() == OTHER + "\n"

    clash = jsonl(
        tmp_path,
        [
            {"text": "A new calm story.", "concept": "calm"},
            {"text": "A different furious telling.", "concept": "furious", "kind": "variant", "scenario": "gulls"},
        ],
        name="clash.jsonl",
    )
    result = run_import(root, clash)
    assert result.exit_code == 2
    assert "clash.jsonl:2" in result.stderr and "paired/gulls/furious.txt already holds a different text" in result.stderr
    assert not (root / "stories/calm/02.txt").exists()
    assert (root / "paired/gulls/furious.txt").read_text() == OTHER


def test_dry_run_writes_nothing(make_corpus, tmp_path):
    root = make_corpus({})
    result = run_import(root, jsonl(tmp_path, [{"text": STORY, "concept": "calm"}]), "--dry-run")
    assert result.exit_code == 0 and "would import 1 of 1 texts" in result.stdout
    assert files_under(root) == []


def test_export_refuses_text_that_is_not_utf8(make_corpus, tmp_path):
    root = make_corpus({"stories/calm.txt": b"\xff\xfe broken"})
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["export", "--corpus", str(root), "--out", str(out)])
    assert result.exit_code == 2
    assert "stories/calm.txt: not valid UTF-8; cannot export" in result.stderr
    assert not out.exists()


def test_bundled_corpus_round_trips(tmp_path):
    exported = tmp_path / "bundled.jsonl"
    args = ["--corpus", str(BUNDLED_CORPUS), "--manifest", str(MANIFEST)]
    assert runner.invoke(app, ["export", *args, "--out", str(exported)]).exit_code == 0
    for line in exported.read_text().splitlines():
        jsonschema.validate(json.loads(line), RECORD_SCHEMA)
    copy = tmp_path / "copy"
    shutil.copy(MANIFEST, tmp_path / "manifest.json")
    result = runner.invoke(app, ["import", str(exported), "--corpus", str(copy), "--manifest", str(MANIFEST)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(app, ["export", "--corpus", str(copy), "--manifest", str(MANIFEST)])
    assert again.stdout == exported.read_text()
