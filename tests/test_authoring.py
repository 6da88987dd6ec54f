"""`amygdala new story|scenario`: files created (never overwritten), names checked, --edit with a real editor process."""

from __future__ import annotations

import json
import shlex
import sys
import textwrap

import jsonschema
import pytest
from typer.testing import CliRunner

from schemas.export import SCHEMA_DIR
from toolkit.authoring import editor_command, next_number, slugify
from toolkit.cli import app
from base.errors import AmygdalaError

# Wide enough that rich never wraps: an error must stay one line.
runner = CliRunner(env={"COLUMNS": "1000"})

CALM_STORY = (
    "At six the ferry pulled away from the pier and Ines stayed on the bench by the ticket hut. "
    "She unwrapped the bread she had bought, ate it in small bites, and watched a gull walk along the rail. "
    "The next boat was in an hour. She let her shoulders drop, stretched her legs out on the warm boards, "
    "and counted the masts in the harbour without hurrying."
)

EDITOR_SCRIPT = """
import sys
from pathlib import Path

# A stand-in editor: writes --text into every file it is given (or only into --only NAME), or fails.
args = sys.argv[1:]
text, only, status = None, None, 0
while args and args[0].startswith("--"):
    flag, value = args[0], args[1]
    args = args[2:]
    if flag == "--text":
        text = value
    elif flag == "--only":
        only = value
    elif flag == "--exit":
        status = int(value)
Path(args[0]).parent.joinpath(".editor-saw").write_text("\\n".join(args))
for name in args:
    if text is not None and (only is None or Path(name).name == only):
        Path(name).write_text(text + "\\n", encoding="utf-8")
sys.exit(status)
"""


@pytest.fixture
def editor(tmp_path):
    """EDITOR value that runs the stand-in editor with the given options (its path has a space in it)."""
    folder = tmp_path / "my editor"
    folder.mkdir()
    script = folder / "edit.py"
    script.write_text(textwrap.dedent(EDITOR_SCRIPT))

    def command(*options: str) -> dict[str, str]:
        words = [sys.executable, str(script), *options]
        return {"EDITOR": " ".join(shlex.quote(w) for w in words), "VISUAL": "", "COLUMNS": "1000"}

    return command


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != "manifest.json")


def new(root, *args, env=None):
    return runner.invoke(app, ["new", *args, "--corpus", str(root)], env=env)


def test_slugify_and_numbering(tmp_path):
    assert slugify("Grief-stricken") == "grief_stricken"
    assert slugify("  Self Conscious!! ") == "self_conscious"
    assert next_number(tmp_path / "absent") == 1
    for name in ("01.txt", "7.txt", "night_bus.txt", "09_pawn_ticket.txt"):
        (tmp_path / name).write_text("x")
    assert next_number(tmp_path) == 10
    assert next_number(tmp_path, {"8", "12"}) == 13


def test_new_story_creates_an_empty_file_and_prints_what_to_avoid(make_corpus):
    root = make_corpus({})
    result = new(root, "story", "furious")
    assert result.exit_code == 0, result.output
    assert files_under(root) == ["stories/furious/01.txt"]
    assert (root / "stories/furious/01.txt").read_bytes() == b""
    assert "created corpus/stories/furious/01.txt" in result.stdout
    assert "furious (Hostile Anger) avoid: furious, fury, furiously, rage" in result.stdout
    assert "length 40-120 words, one paragraph" in result.stdout


def test_new_stories_share_one_layout_and_one_numbering_with_init(tmp_path, monkeypatch):
    # issue 20: init wrote stories/patient/01.txt, then `new story patient` wrote patient/2.txt and a
    # concept's first story went to a flat stories/X.txt: two layouts in a four-file corpus.
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "."]).exit_code == 0
    root = tmp_path / "amygdala_stories"
    assert new(root, "story", "patient").exit_code == 0
    assert new(root, "story", "furious").exit_code == 0
    assert new(root, "story", "furious", "--name", "03_pawn_ticket").exit_code == 0
    assert new(root, "story", "furious").exit_code == 0
    assert files_under(root) == [
        "paired/.gitkeep",
        "stories/furious/01.txt",
        "stories/furious/03_pawn_ticket.txt",
        "stories/furious/04.txt",
        "stories/patient/01.txt",
        "stories/patient/02.txt",
    ]


def test_new_story_never_overwrites_and_notes_an_older_flat_story(make_corpus):
    root = make_corpus({"stories/calm.txt": CALM_STORY})
    result = new(root, "story", "calm")
    assert result.exit_code == 0, result.output
    assert "note: corpus/stories/calm.txt uses the older flat layout; move it into corpus/stories/calm/" in result.stdout
    assert (root / "stories/calm.txt").read_text() == CALM_STORY

    assert new(root, "story", "calm", "--name", "ferry_pier").exit_code == 0
    result = new(root, "story", "calm", "--name", "ferry_pier")
    assert result.exit_code == 2 and "refusing to overwrite" in result.stderr
    assert result.stderr.count("\n") == 1
    assert new(root, "story", "calm").exit_code == 0
    assert files_under(root) == ["stories/calm.txt", "stories/calm/01.txt", "stories/calm/02.txt", "stories/calm/ferry_pier.txt"]
    out = new(root, "story", "calm", "--name", "third").stdout
    assert "its other texts: stories/calm/01.txt, stories/calm/02.txt, stories/calm/ferry_pier.txt, stories/calm.txt" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["story", "furios"], "'furios' is not a concept in the manifest (did you mean 'furious'?)"),
        (["story", "calm", "--name", "Night Bus"], "--name 'Night Bus' is not a lowercase_underscore slug (try 'night_bus')"),
        (["scenario", "The Letter", "--concepts", "calm"], "scenario name 'The Letter' is not a lowercase_underscore slug (try 'the_letter')"),
        (["scenario", "the_letter", "--concepts", "calm,griefstricken"], "(did you mean 'grief_stricken'?)"),
        (["scenario", "the_letter", "--concepts", "baseline,calm"], "baseline.txt is created anyway"),
        (["scenario", "the_letter", "--concepts", " , "], "--concepts needs at least one concept"),
        (["scenario", "the_letter", "--concepts", "calm", "--anchor", "  "], "--anchor: anchors[0]: String should have at least 1 character"),
    ],
)
def test_bad_names_are_one_line_errors_and_create_nothing(make_corpus, args, message):
    root = make_corpus({})
    result = new(root, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert files_under(root) == []
    assert not (root / "paired").exists()


def test_new_scenario_creates_spec_baseline_and_variants(make_corpus):
    root = make_corpus({"paired/the_letters/baseline.txt": CALM_STORY})
    result = new(
        root, "scenario", "the_letter", "--concepts", "furious,grief_stricken", "--concepts", "calm,furious",
        "--anchor", "the letter", "--anchor", "Maria", "--notes", "Maria finds the letter in the drawer.",
    )
    assert result.exit_code == 0, result.output
    assert files_under(root) == [
        "paired/the_letter/baseline.txt",
        "paired/the_letter/calm.txt",
        "paired/the_letter/furious.txt",
        "paired/the_letter/grief_stricken.txt",
        "paired/the_letter/scenario.json",
        "paired/the_letters/baseline.txt",
    ]
    spec = json.loads((root / "paired/the_letter/scenario.json").read_text())
    jsonschema.validate(spec, json.loads((SCHEMA_DIR / "scenario.schema.json").read_text()))
    assert spec == {"anchors": ["the letter", "Maria"], "notes": "Maria finds the letter in the drawer."}
    assert all((root / "paired/the_letter" / n).read_bytes() == b"" for n in ("baseline.txt", "calm.txt"))
    out = result.stdout
    assert "3 variant(s)" in out
    assert "note: an existing scenario has a similar name: the_letters" in out
    assert "each variant within ±20% of the baseline's word count" in out
    assert "grief_stricken.txt (Despair and Shame) avoid: grief-stricken" in out

    again = new(root, "scenario", "the_letter", "--concepts", "calm")
    assert again.exit_code == 2 and "already exists; refusing to overwrite" in again.stderr


def test_new_scenario_without_anchors_points_at_the_linter(make_corpus):
    root = make_corpus({})
    result = new(root, "scenario", "night_bus", "--concepts", "afraid")
    assert result.exit_code == 0
    assert json.loads((root / "paired/night_bus/scenario.json").read_text()) == {"anchors": [], "notes": ""}
    assert "none declared; lint (AN002) will suggest" in result.stdout


def test_editor_command_prefers_visual_and_splits_like_a_shell():
    assert editor_command({"VISUAL": "code --wait", "EDITOR": "vi"}) == ["code", "--wait"]
    assert editor_command({"VISUAL": " ", "EDITOR": "'/opt/my editor/bin/ed' -n"}) == ["/opt/my editor/bin/ed", "-n"]
    with pytest.raises(AmygdalaError, match="set \\$EDITOR"):
        editor_command({})
    with pytest.raises(AmygdalaError, match="cannot be parsed"):
        editor_command({"EDITOR": "vi 'unclosed"})


def test_edit_without_an_editor_is_a_usage_error_and_writes_nothing(make_corpus):
    root = make_corpus({})
    result = new(root, "story", "calm", "--edit", env={"EDITOR": "", "VISUAL": ""})
    assert result.exit_code == 2 and "--edit needs an editor" in result.stderr
    result = new(root, "scenario", "ferry", "--concepts", "calm", "--edit", env={"EDITOR": "", "VISUAL": ""})
    assert result.exit_code == 2 and "--edit needs an editor" in result.stderr
    result = new(root, "story", "calm", "--edit", env={"EDITOR": "no-such-editor-here --wait", "VISUAL": ""})
    assert result.exit_code == 2
    assert result.stderr == "error: --edit: the editor 'no-such-editor-here' is not on PATH; set $EDITOR (or $VISUAL) to one that is\n"
    assert files_under(root) == []


def test_edit_left_blank_removes_the_file(make_corpus, editor):
    root = make_corpus({})
    result = new(root, "story", "calm", "--edit", env=editor())
    assert result.exit_code == 1
    assert "left blank, removed: corpus/stories/calm/01.txt" in result.stdout and "nothing written" in result.stdout
    assert not (root / "stories/calm/01.txt").exists()
    assert (root / "stories/calm/.editor-saw").read_text() == str(root / "stories/calm/01.txt")


def test_editor_failure_keeps_what_was_written_and_removes_the_rest(make_corpus, editor):
    root = make_corpus({})
    result = new(root, "story", "calm", "--edit", env=editor("--exit", "3"))
    assert result.exit_code == 2
    assert "exited with status 3; nothing written" in result.stderr
    assert not (root / "stories/calm/01.txt").exists()
    result = new(root, "scenario", "ferry", "--concepts", "calm,afraid", "--edit", env=editor("--text", CALM_STORY, "--only", "baseline.txt", "--exit", "3"))
    assert result.exit_code == 2 and "kept 1 written file(s)" in result.stderr
    assert files_under(root) == [
        "paired/ferry/.editor-saw", "paired/ferry/baseline.txt", "paired/ferry/scenario.json", "stories/calm/.editor-saw"
    ]


def test_an_abandoned_scenario_leaves_nothing(make_corpus, editor):
    root = make_corpus({})
    result = new(root, "scenario", "ferry", "--concepts", "calm,afraid", "--edit", env=editor())
    assert result.exit_code == 1
    assert not (root / "paired/ferry").exists()


def test_edit_lints_what_was_written(make_corpus, editor):
    root = make_corpus({})
    result = new(root, "story", "calm", "--edit", env=editor("--text", CALM_STORY))
    assert result.exit_code == 0, result.output
    assert (root / "stories/calm/01.txt").read_text() == CALM_STORY + "\n"
    assert result.stdout.rstrip().endswith("All checks passed! (1 file)")

    result = new(root, "story", "calm", "--name", "labelled", "--edit", env=editor("--text", "She felt calm and happy."))
    assert result.exit_code == 1
    assert "corpus/stories/calm/labelled.txt:1:1: LN001 [error]" in result.stdout
    assert "KW001 [error] 'calm' leaks the text's own emotion" in result.stdout
    # the writer's text is kept for them to fix
    assert (root / "stories/calm/labelled.txt").read_text() == "She felt calm and happy.\n"


def test_edit_of_a_scenario_keeps_the_written_files_and_lints_them(make_corpus, editor):
    root = make_corpus({})
    result = new(
        root, "scenario", "ferry", "--concepts", "calm,afraid", "--edit",
        env=editor("--text", CALM_STORY, "--only", "baseline.txt"),
    )
    assert "left blank, removed: corpus/paired/ferry/afraid.txt" in result.stdout
    assert "left blank, removed: corpus/paired/ferry/calm.txt" in result.stdout
    assert "All checks passed!" in result.stdout or "Found " in result.stdout
    assert files_under(root) == ["paired/ferry/.editor-saw", "paired/ferry/baseline.txt", "paired/ferry/scenario.json"]
    saw = (root / "paired/ferry/.editor-saw").read_text().splitlines()
    assert [p.rsplit("/", 1)[-1] for p in saw] == ["baseline.txt", "calm.txt", "afraid.txt"]
