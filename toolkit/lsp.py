"""``amygdala lsp``: a Language Server (pygls, stdio) that lints a corpus text as it is typed.

Every open and every change lints the editor's buffer, not the file on disk, through the
same engine and rules as ``amygdala lint``: the buffer stands in for its file in a fresh
scan of the corpus, so the cross-file rules (pairs, duplicates, anchors) see the other
texts as they are on disk. The cache is loaded once from ``.amygdala_cache/lint`` and then
kept in memory only (unsaved text never reaches the disk store), so after start-up a change
costs the NLP of that one text and the cross-file rules.

Diagnostics carry the rule code and severity; hovering one shows ``amygdala rule CODE``.
Code actions where the fix is mechanical: rename a file or folder to the slug ST006
suggests, and declare the terms the baseline leans on as the scenario's anchors (AN002).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from schemas.finding import Finding
from toolkit import __version__
from toolkit.config import Config, LintSettings, load_config
from toolkit.corpus import SCENARIO_SPEC, Corpus, Text, load_corpus, resolve_locations
from base.errors import AmygdalaError
from toolkit.lint.cache import LintCache, key_of
from toolkit.lint.engine import display_path, lint_cache_dir, lint_corpus, open_cache
from toolkit.lint.rules import BY_CODE
from toolkit.lint.selection import validate

SOURCE = "amygdala"
_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}
# Files other than the buffer are rescanned at most this often while typing (and on open and save).
RESCAN_SECONDS = 5.0
# ST006's message names the slug to rename to; the code action applies it.
_RENAME = re.compile(r"; rename to '([^']+)'$")


@dataclasses.dataclass
class Linted:
    """One buffer's lint: where its text sits in the corpus, and the findings shown on it."""

    corpus: Corpus
    text: Text
    findings: list[Finding]


def _buffer(text: Text, body: str) -> Text:
    """``text`` with the editor's content in place of the file's."""
    raw = body.encode("utf-8")
    # mtime -1 never equals a recorded stat, so the cache hashes the buffer's bytes.
    buffered = dataclasses.replace(text, size=len(raw), mtime_ns=-1)
    buffered.__dict__["raw"] = raw  # the cached_property's slot: the file is never read
    return buffered


def _with_buffer(scanned: Corpus, rel: str, body: str) -> tuple[Corpus, Text | None]:
    """A copy of the scanned corpus with the buffer in place of the text at ``rel`` (None when
    ``rel`` is not a text); the scan itself is left as it was."""
    corpus = dataclasses.replace(
        scanned,
        stories=list(scanned.stories),
        scenarios=[dataclasses.replace(s, variants=list(s.variants)) for s in scanned.scenarios],
    )
    return corpus, _swap(corpus, rel, body)


def _swap(corpus: Corpus, rel: str, body: str) -> Text | None:
    """Put the buffer in place of the corpus text at ``rel``; None when ``rel`` is not a text."""
    for i, text in enumerate(corpus.stories):
        if text.rel == rel:
            corpus.stories[i] = _buffer(text, body)
            return corpus.stories[i]
    for scenario in corpus.scenarios:
        if scenario.baseline is not None and scenario.baseline.rel == rel:
            scenario.baseline = _buffer(scenario.baseline, body)
            return scenario.baseline
        for i, text in enumerate(scenario.variants):
            if text.rel == rel:
                scenario.variants[i] = _buffer(text, body)
                return scenario.variants[i]
    return None


class BufferLinter:
    """Lints buffers against the corpus on disk, with one warm in-memory cache per corpus."""

    def __init__(self) -> None:
        self._caches: dict[tuple[Any, ...], LintCache] = {}
        self._buffer_keys: dict[str, str] = {}
        self._scans: dict[tuple[Path, Path], tuple[float, Corpus]] = {}

    def forget_scans(self) -> None:
        """Scan the corpus again on the next lint (a file was opened, saved or changed on disk)."""
        self._scans.clear()

    def _scan(self, root: Path, manifest: Path) -> Corpus:
        """The corpus on disk, scanned again when the last scan is older than ``RESCAN_SECONDS``:
        while a writer types, the other files are read once, not on every keystroke."""
        now = time.monotonic()
        scanned = self._scans.get((root, manifest))
        if scanned is None or now - scanned[0] > RESCAN_SECONDS:
            scanned = self._scans[root, manifest] = (now, load_corpus(root, manifest))
        return scanned[1]

    def lint(self, path: Path, body: str) -> Linted | None:
        """The findings on ``path`` with ``body`` as its content; None when it is no corpus text.

        Raises AmygdalaError for an unusable configuration, manifest or scenario.json.
        """
        folder = path.parent
        config = load_config(start=folder)
        root, manifest = resolve_locations(config, start=folder)
        scanned = self._scan(root.resolve(), manifest.resolve())
        try:
            rel = path.resolve().relative_to(scanned.root).as_posix()
        except ValueError:
            return None
        corpus, text = _with_buffer(scanned, rel, body)
        if text is None:
            return None
        settings = config.settings.lint
        validate(settings)
        cache = self._cache(corpus, config, settings)
        result = lint_corpus(corpus, settings, paths=[path], cache=cache)
        self._forget_previous(cache, text)
        shown = display_path(corpus.root, rel)
        mine = [f for f in result.findings if f.path == shown or shown.startswith(f.path + "/")]
        return Linted(corpus=corpus, text=text, findings=mine)

    def leaned_terms(self, corpus: Corpus, baseline: Text) -> list[str]:
        """The terms the baseline leans on, from the facts the last lint cached (AN002's input)."""
        for cache in self._caches.values():
            entry = cache.files.get(key_of(baseline.rel, cache.digest(baseline)))
            if entry is not None and entry.leaned is not None:
                return [shown for shown, _ in entry.leaned]
        return []

    def _cache(self, corpus: Corpus, config: Config, settings: LintSettings) -> LintCache:
        # A changed manifest changes the cache's fingerprint: its stat is part of the key.
        manifest = corpus.manifest_path.stat()
        key = (corpus.root, corpus.manifest_path, manifest.st_size, manifest.st_mtime_ns, settings.model_dump_json())
        cache = self._caches.get(key)
        if cache is None:
            cache = self._caches[key] = open_cache(corpus, settings, lint_cache_dir(config, corpus))
            cache.detach()
        return cache

    def _forget_previous(self, cache: LintCache, text: Text) -> None:
        """Drop the entry of this buffer's previous content, so typing does not grow the cache."""
        key = key_of(text.rel, cache.digest(text))
        previous = self._buffer_keys.get(text.filename)
        if previous is not None and previous != key:
            cache.files.pop(previous, None)
        self._buffer_keys[text.filename] = key


def _utf16(line: str, column: int) -> int:
    """A 1-based code-point column as LSP's 0-based UTF-16 offset."""
    return len(line[: column - 1].encode("utf-16-le")) // 2


def _range(body: str, finding: Finding, own: bool) -> types.Range:
    lines = body.split("\n")
    if not own or finding.line > len(lines):
        # A finding on a folder (or past the end): the first line stands for the file.
        return types.Range(types.Position(0, 0), types.Position(0, _utf16(lines[0], len(lines[0]) + 1)))
    line = lines[finding.line - 1]
    start = types.Position(finding.line - 1, _utf16(line, finding.column))
    if finding.end_line is None or finding.end_column is None or finding.end_line > len(lines):
        return types.Range(start, types.Position(finding.line - 1, _utf16(line, len(line) + 1)))
    end_line = lines[finding.end_line - 1]
    return types.Range(start, types.Position(finding.end_line - 1, _utf16(end_line, finding.end_column)))


def diagnostics(linted: Linted, body: str) -> list[types.Diagnostic]:
    shown = display_path(linted.corpus.root, linted.text.rel)
    return [
        types.Diagnostic(
            range=_range(body, f, own=f.path == shown),
            message=f.message,
            severity=_SEVERITY[f.severity],
            code=f.code,
            source=SOURCE,
            data={"path": f.path, "name": f.name},
        )
        for f in linted.findings
    ]


def rule_markdown(code: str) -> str | None:
    """``amygdala rule CODE`` as Markdown, for hovers."""
    rule = BY_CODE.get(code)
    if rule is None:
        return None
    return f"**{rule.code} {rule.name}** ({rule.severity})\n\n{rule.summary}\n\n```text\n{rule.explanation.rstrip()}\n```"


def _contains(rng: types.Range, pos: types.Position) -> bool:
    after_start = (pos.line, pos.character) >= (rng.start.line, rng.start.character)
    before_end = (pos.line, pos.character) <= (rng.end.line, rng.end.character)
    return after_start and before_end


class AmygdalaServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("amygdala", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.linter = BufferLinter()
        self.published: dict[str, list[types.Diagnostic]] = {}
        self.last: dict[str, Linted] = {}

    def lint_document(self, uri: str) -> None:
        document = self.workspace.get_text_document(uri)
        path = to_fs_path(uri)
        found: list[types.Diagnostic] = []
        if path is not None and path.endswith(".txt"):
            try:
                linted = self.linter.lint(Path(path), document.source)
            except AmygdalaError as err:
                # The corpus cannot be read (a broken scenario.json, no manifest): say so on the text.
                found = [
                    types.Diagnostic(
                        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                        message=f"amygdala cannot lint this file: {err}",
                        severity=types.DiagnosticSeverity.Error,
                        source=SOURCE,
                    )
                ]
            else:
                if linted is not None:
                    self.last[uri] = linted
                    found = diagnostics(linted, document.source)
        self.published[uri] = found
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=document.version)
        )


server = AmygdalaServer()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def _did_open(ls: AmygdalaServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.linter.forget_scans()
    ls.lint_document(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def _did_change(ls: AmygdalaServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.lint_document(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def _did_save(ls: AmygdalaServer, params: types.DidSaveTextDocumentParams) -> None:
    # Other open texts may pair with or duplicate the saved one: lint them again too.
    ls.linter.forget_scans()
    for uri in list(ls.published):
        if uri in ls.workspace.text_documents:
            ls.lint_document(uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def _did_close(ls: AmygdalaServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.published.pop(uri, None)
    ls.last.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(types.TEXT_DOCUMENT_HOVER)
def _hover(ls: AmygdalaServer, params: types.HoverParams) -> types.Hover | None:
    here = [d for d in ls.published.get(params.text_document.uri, []) if _contains(d.range, params.position)]
    texts = [text for d in here if isinstance(d.code, str) and (text := rule_markdown(d.code))]
    if not texts:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(dict.fromkeys(texts))))


def _rename_action(linted: Linted, diagnostic: types.Diagnostic) -> types.CodeAction | None:
    match = _RENAME.search(diagnostic.message)
    if match is None or not isinstance(diagnostic.data, dict):
        return None
    root = linted.corpus.root
    shown = display_path(root, linted.text.rel)
    own = diagnostic.data.get("path") == shown
    # The finding is on the file itself, or on a folder above it (display paths share the prefix).
    depth = 0 if own else shown[len(diagnostic.data["path"]) :].count("/")
    old = linted.text.path
    for _ in range(depth):
        old = old.parent
    new = old.with_name(match.group(1) + old.suffix)
    if new.exists():
        return None
    return types.CodeAction(
        title=f"Rename {old.name} to {new.name}",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        edit=types.WorkspaceEdit(
            document_changes=[types.RenameFile(kind="rename", old_uri=from_fs_path(str(old)), new_uri=from_fs_path(str(new)))]
        ),
    )


def _anchor_action(ls: AmygdalaServer, linted: Linted, diagnostic: types.Diagnostic) -> types.CodeAction | None:
    scenario = linted.corpus.scenario(linted.text.scenario) if linted.text.scenario else None
    if scenario is None or scenario.baseline is None:
        return None
    terms = ls.linter.leaned_terms(linted.corpus, scenario.baseline)
    if not terms:
        return None
    spec_path = scenario.path / SCENARIO_SPEC
    spec: dict[str, Any] = {"anchors": terms}
    if scenario.spec is not None:
        spec = {**scenario.spec.model_dump(), "anchors": terms}
    content = json.dumps(spec, indent=2, ensure_ascii=False) + "\n"
    uri = from_fs_path(str(spec_path))
    changes: list[Any] = []
    if not spec_path.exists():
        changes.append(types.CreateFile(kind="create", uri=uri))
        whole = types.Range(types.Position(0, 0), types.Position(0, 0))
    else:
        lines = spec_path.read_text(encoding="utf-8").split("\n")
        whole = types.Range(types.Position(0, 0), types.Position(len(lines), 0))
    changes.append(
        types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
            edits=[types.TextEdit(range=whole, new_text=content)],
        )
    )
    return types.CodeAction(
        title=f"Declare the anchors in {scenario.slug}/{SCENARIO_SPEC}: {', '.join(terms)}",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        edit=types.WorkspaceEdit(document_changes=changes),
    )


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
def _code_actions(ls: AmygdalaServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    linted = ls.last.get(params.text_document.uri)
    if linted is None:
        return []
    actions = []
    for diagnostic in params.context.diagnostics:
        if diagnostic.source != SOURCE:
            continue
        action = None
        if diagnostic.code == "ST006":
            action = _rename_action(linted, diagnostic)
        elif diagnostic.code == "AN002":
            action = _anchor_action(ls, linted, diagnostic)
        if action is not None:
            actions.append(action)
    return actions


def serve() -> None:
    """Serve over stdin/stdout until the client exits."""
    server.start_io()
