"""`amygdala lsp` end to end: the real server over stdio, driven by pytest-lsp's client."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.uris import from_fs_path
from pytest_lsp import make_test_lsp_client

from conftest import MANIFEST, REPO

SERVER = "from toolkit.cli import main; main()"
CLEAN = (
    "For the ninth time, Noor knelt on the hallway tiles beside her grandson's trainers. Idris, six, made "
    "the loops, crossed them, and the whole thing fell apart again. He threw the lace down. Noor picked it "
    "up and put it back in his fingers. The school bus would come at quarter past eight; it was twenty to."
)
LEAKY = (
    "He found the pawn ticket 🎟 in the kitchen drawer under the takeaway menus, and the fury came up "
    "through his chest. His brother was in the living room with the football on. He walked in and stood "
    "between him and the screen with the ticket held up, and his voice came out very low and very even."
)
ODD = (
    "The lift stopped between the fourth and fifth floors and the lights went down to the orange ones. Mira "
    "pressed the alarm, counted to twenty, pressed it again. Somewhere above, a door banged. She put her bag "
    "on the floor, took it up again, and read the inspection certificate twice, the date, the engineer's name."
)
BASELINE = (
    "Kwabena unwrapped the sandwich on the harbour wall and set it on the paper bag beside him. The terrier "
    "came along the wall at a trot, took the sandwich in one bite and ran off down the slipway. Kwabena "
    "watched the terrier go, folded the paper bag, and looked at the gulls on the water for a while before "
    "walking back along the harbour to the bus stop."
)
VARIANT = (
    "He unwrapped his lunch on the harbour wall and set it on the paper bag beside him. A dog came along the "
    "wall at a trot, took the lunch in one bite and ran off down the slipway. He laughed out loud, slapped "
    "his knee, folded the paper bag, and waved at the gulls on the water for a while before walking back "
    "along the harbour to the bus stop, still grinning."
)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A writer's project: the corpus on disk holds clean texts; the editor's buffers differ."""
    tmp_path = tmp_path_factory.mktemp("lsp")
    corpus = tmp_path / "amygdala_stories"
    for rel, body in {
        "stories/furious.txt": CLEAN.replace("ninth", "tenth"),
        "stories/patient.txt": CLEAN,
        "stories/On Edge.txt": ODD,
        "paired/the_sandwich/baseline.txt": BASELINE,
        "paired/the_sandwich/amused.txt": VARIANT,
    }.items():
        path = corpus / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    (tmp_path / "manifest.json").write_bytes(MANIFEST.read_bytes())
    return tmp_path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(project: Path):
    """One server for the module: start-up (spaCy) is the slow part."""
    client = make_test_lsp_client()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    await client.start_io(sys.executable, "-c", SERVER, "lsp", cwd=str(project), env=env)
    await client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=from_fs_path(str(project)))
    )
    yield client
    await client.shutdown_session()


async def open_doc(client, path: Path, text: str) -> list[types.Diagnostic]:
    uri = from_fs_path(str(path))
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "plaintext", 1, text)))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics[uri])


async def change_doc(client, path: Path, version: int, text: str) -> list[types.Diagnostic]:
    uri = from_fs_path(str(path))
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri), [types.TextDocumentContentChangeWholeDocument(text)]
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics[uri])


@pytest.mark.asyncio(loop_scope="module")
async def test_diagnostics_follow_the_buffer_with_rule_text_on_hover(client, project):
    story = project / "amygdala_stories" / "stories" / "furious.txt"
    found = await open_doc(client, story, LEAKY)  # the file on disk is clean: the buffer is linted
    (leak,) = [d for d in found if d.code == "KW001"]
    assert leak.severity == types.DiagnosticSeverity.Error and leak.source == "amygdala"
    assert "'fury' leaks the text's own emotion" in leak.message
    # UTF-16 columns: the ticket emoji before it is two code units
    column = LEAKY.index("fury") + 1
    assert (leak.range.start.line, leak.range.start.character, leak.range.end.character) == (0, column, column + 4)

    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(from_fs_path(str(story))), types.Position(0, column + 1))
    )
    assert hover is not None and hover.contents.value.startswith("**KW001 own-emotion-leak** (error)")
    assert "Bad" in hover.contents.value and "Good" in hover.contents.value
    # issue 20: the explanation was wrapped in a code fence, so its `backticks` showed as such
    assert "```" not in hover.contents.value and "`stories/furious.txt`" in hover.contents.value
    nothing = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(from_fs_path(str(story))), types.Position(0, 2))
    )
    assert nothing is None

    found = await change_doc(client, story, 2, LEAKY.replace("fury", "heat"))
    assert "KW001" not in {d.code for d in found}
    found = await change_doc(client, story, 3, "Too short now.")
    assert [d.code for d in found] == ["LN001"]
    assert story.read_text(encoding="utf-8") == CLEAN.replace("ninth", "tenth")  # never written


@pytest.mark.asyncio(loop_scope="module")
async def test_quick_fixes_rename_to_the_slug_and_declare_anchors(client, project):
    odd = project / "amygdala_stories" / "stories" / "On Edge.txt"
    found = await open_doc(client, odd, ODD)
    (slug,) = [d for d in found if d.code == "ST006"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(from_fs_path(str(odd))), slug.range, types.CodeActionContext(diagnostics=[slug])
        )
    )
    (rename,) = actions
    assert rename.title == "Rename On Edge.txt to on_edge.txt"
    (change,) = rename.edit.document_changes
    assert isinstance(change, types.RenameFile)
    assert (change.old_uri, change.new_uri) == (from_fs_path(str(odd)), from_fs_path(str(odd.with_name("on_edge.txt"))))

    variant = project / "amygdala_stories" / "paired" / "the_sandwich" / "amused.txt"
    found = await open_doc(client, variant, VARIANT)
    (missing,) = [d for d in found if d.code == "AN002"]
    named = re.findall(r"'([^']+)'", missing.message.split(", which")[0])
    assert named  # the terms the variant lacks
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(from_fs_path(str(variant))), missing.range, types.CodeActionContext(diagnostics=[missing])
        )
    )
    (declare,) = actions
    create, edit = declare.edit.document_changes
    spec = variant.with_name("scenario.json")
    assert isinstance(create, types.CreateFile) and create.uri == from_fs_path(str(spec))
    anchors = json.loads(edit.edits[0].new_text)["anchors"]
    assert set(named) <= set(anchors)  # every term the baseline leans on is declared


def test_buffers_of_equal_size_are_told_apart_and_never_reach_the_disk_cache(make_corpus):
    from toolkit.lsp import BufferLinter

    root = make_corpus({"stories/furious.txt": CLEAN, "stories/patient.txt": CLEAN.replace("ninth", "tenth")})
    linter = BufferLinter()
    story = root / "stories" / "furious.txt"
    leaky = linter.lint(story, LEAKY)
    assert leaky is not None and "KW001" in {f.code for f in leaky.findings}
    clean = linter.lint(story, LEAKY.replace("fury", "heat"))  # same size, same (absent) mtime
    assert clean is not None and "KW001" not in {f.code for f in clean.findings}
    assert not (root.parent / ".amygdala_cache").exists()
    assert story.read_text(encoding="utf-8") == CLEAN


@pytest.mark.asyncio(loop_scope="module")
async def test_a_live_word_count_and_a_hint_for_the_leak(client, project):
    story = project / "amygdala_stories" / "stories" / "furious.txt"
    uri = from_fs_path(str(story))
    found = await change_doc(client, story, 10, LEAKY)
    (leak,) = [d for d in found if d.code == "KW001"]
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(types.TextDocumentIdentifier(uri), types.Range(types.Position(0, 0), types.Position(1, 0)))
    )
    (hint,) = hints
    assert hint.label.strip() == f"{len(LEAKY.split())} words (stories 40–120)"
    assert hint.position.line == 0 and hint.position.character == len(LEAKY.encode("utf-16-le")) // 2
    await change_doc(client, story, 11, "Too short now.")
    (hint,) = await client.text_document_inlay_hint_async(
        types.InlayHintParams(types.TextDocumentIdentifier(uri), types.Range(types.Position(0, 0), types.Position(1, 0)))
    )
    assert hint.label.strip() == "3 words (stories 40–120)"

    await change_doc(client, story, 12, LEAKY)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(types.TextDocumentIdentifier(uri), leak.range, types.CodeActionContext(diagnostics=[leak]))
    )
    (command,) = actions
    assert isinstance(command, types.Command) and command.title and list(command.arguments or ()) == ["furious", "KW001"]
    await client.workspace_execute_command_async(types.ExecuteCommandParams(command=command.command, arguments=command.arguments))
    # The server shows the message before it answers the command, so it has arrived by now.
    message = client.messages[-1].message
    assert message.startswith("furious: avoid furious, fury") and "Show it, e.g.: He held the pawn ticket" in message


def test_a_variant_is_counted_against_its_baseline(make_corpus):
    from toolkit.lsp import BufferLinter, length_hint

    root = make_corpus({"paired/the_sandwich/baseline.txt": BASELINE, "paired/the_sandwich/amused.txt": VARIANT})
    linted = BufferLinter().lint(root / "paired/the_sandwich/amused.txt", VARIANT)
    n, target = len(VARIANT.split()), len(BASELINE.split())
    low, high = -(-target * 8 // 10), target * 12 // 10
    assert length_hint(linted, VARIANT) == f"{n} words (baseline {target}: {low}–{high})"


@pytest.mark.asyncio(loop_scope="module")
async def test_a_misspelling_is_fixed_by_its_suggestion(client, project):
    story = project / "amygdala_stories" / "stories" / "patient.txt"
    typo = CLEAN.replace("picked it", "pickt it")
    found = await open_doc(client, story, typo)
    (spelling,) = [d for d in found if d.code == "SP001"]
    assert spelling.severity == types.DiagnosticSeverity.Information
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(from_fs_path(str(story))), spelling.range, types.CodeActionContext(diagnostics=[spelling])
        )
    )
    assert actions and actions[0].title.startswith("Change to '") and actions[0].is_preferred
    (edit,) = actions[0].edit.changes[from_fs_path(str(story))]
    assert edit.range == spelling.range and " " not in edit.new_text


@pytest.mark.asyncio(loop_scope="module")
async def test_workspace_diagnostics_say_what_to_write_next(client, project):
    report = await client.workspace_diagnostic_async(types.WorkspaceDiagnosticParams(previous_result_ids=[]))
    (manifest,) = report.items
    assert manifest.uri == from_fs_path(str(project / "manifest.json"))
    assert manifest.items and all(d.code == "CV001" and d.severity == types.DiagnosticSeverity.Information for d in manifest.items)
    joy = next(d for d in manifest.items if "exuberant_joy" in d.message)
    assert joy.message.startswith("write next in exuberant_joy (0/") and "blissful" in joy.message
    text = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(types.TextDocumentIdentifier(from_fs_path(str(project / "amygdala_stories/stories/patient.txt"))))
    )
    assert list(text.items) == []  # a text's findings are pushed, never pulled twice
