"""``amygdala lsp``: a Language Server (pygls, stdio) that lints a corpus text as it is typed.

Every open and every change lints the editor's buffer, not the file on disk, through the
same engine and rules as ``amygdala lint``: the buffer stands in for its file in a fresh
scan of the corpus, so the cross-file rules (pairs, duplicates, anchors) see the other
texts as they are on disk. The cache is loaded once from ``.amygdala_cache/lint`` and then
kept in memory only (unsaved text never reaches the disk store), so after start-up a change
costs the NLP of that one text and the cross-file rules.

Diagnostics carry the rule code and severity; hovering one shows ``amygdala rule CODE``.
Code actions where the fix is mechanical: rename a file or folder to the slug ST006
suggests, and declare the terms the baseline leans on as the scenario's anchors (AN002);
for a leak or a label (KW001, KW002), which only the writer can fix, a command that shows
the words to avoid and the rule's good example; a misspelling (SP001) is replaced by a
suggestion. Workspace diagnostics (``workspace/diagnostic``) say what to write next: one per
cluster still missing concepts, on the manifest. An inlay hint at the end of the text counts
its words against the range it is held to ("87 words (stories 40–120)").

The server answers ``initialize`` once spaCy, the manifest's matchers, the corpus scan and
the lint cache are loaded: a story opened from a warm cache is linted without spaCy, so the
first keystroke would otherwise wait for all of it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from schemas.finding import Finding, WriteNext
from toolkit import __version__
from toolkit.config import Config, LintSettings, load_config
from toolkit.corpus import SCENARIO_SPEC, Corpus, Text, load_corpus, resolve_locations
from base.errors import AmygdalaError
from toolkit.lint.cache import LintCache, key_of
from toolkit.lint.engine import display_path, lint_cache_dir, lint_corpus, open_cache
from toolkit.lint.rules import BY_CODE
from toolkit.lint.selection import validate
from toolkit.lint.textutil import count_words

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
    settings: LintSettings = dataclasses.field(default_factory=LintSettings)


def length_hint(linted: Linted, body: str) -> str:
    """The buffer's word count against the range its rule allows: "87 words (stories 40–120)".

    A story or baseline is held to LN001's ``story-words``; a paired variant to LN002's
    tolerance around its baseline on disk ("52 words (baseline 60: 48–72)").
    """
    n = count_words(body)
    counted = f"{n} word{'' if n == 1 else 's'}"
    if linted.text.kind == "variant" and linted.text.scenario is not None:
        scenario = linted.corpus.scenario(linted.text.scenario)
        baseline = scenario.baseline if scenario is not None else None
        target = count_words(baseline.text or "") if baseline is not None else 0
        if not target:
            return f"{counted} (no baseline yet)"
        tolerance = linted.settings.paired_tolerance
        low, high = math.ceil(target * (1 - tolerance)), math.floor(target * (1 + tolerance))
        return f"{counted} (baseline {target}: {low}–{high})"
    low, high = linted.settings.story_words
    kind = "baseline" if linted.text.kind == "baseline" else "stories"
    return f"{counted} ({kind} {low}–{high})"


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


def _keep_read_texts(fresh: Corpus, previous: dict[str, Text]) -> None:
    """Put the previous scan's Text in place of each fresh one with the same path, size and mtime,
    so a rescan (on every open and save) does not read every file again for DU001."""

    def same(text: Text) -> Text:
        old = previous.get(text.rel)
        return old if old is not None and (old.size, old.mtime_ns) == (text.size, text.mtime_ns) else text

    fresh.stories[:] = [same(t) for t in fresh.stories]
    for scenario in fresh.scenarios:
        if scenario.baseline is not None:
            scenario.baseline = same(scenario.baseline)
        scenario.variants[:] = [same(t) for t in scenario.variants]


class BufferLinter:
    """Lints buffers against the corpus on disk, with one warm in-memory cache per corpus."""

    def __init__(self) -> None:
        self._caches: dict[tuple[Any, ...], LintCache] = {}
        self._buffer_keys: dict[str, str] = {}
        self._scans: dict[tuple[Path, Path], tuple[float, Corpus]] = {}
        # The texts of the last scan, whose content (once read) a rescan keeps for unchanged files.
        self._texts: dict[tuple[Path, Path], dict[str, Text]] = {}

    def forget_scans(self) -> None:
        """Scan the corpus again on the next lint (a file was opened, saved or changed on disk)."""
        self._scans.clear()

    def _scan(self, root: Path, manifest: Path) -> Corpus:
        """The corpus on disk, scanned again when the last scan is older than ``RESCAN_SECONDS``:
        while a writer types, the other files are read once, not on every keystroke."""
        now = time.monotonic()
        scanned = self._scans.get((root, manifest))
        if scanned is None or now - scanned[0] > RESCAN_SECONDS:
            fresh = load_corpus(root, manifest)
            previous = self._texts.get((root, manifest))
            if previous is not None:
                _keep_read_texts(fresh, previous)
            self._texts[root, manifest] = {t.rel: t for t in fresh.texts()}
            scanned = self._scans[root, manifest] = (now, fresh)
        return scanned[1]

    def _workspace(self, folder: Path) -> tuple[Corpus, LintSettings, LintCache]:
        """The corpus (as scanned), lint settings and warm cache of the workspace at ``folder``."""
        config = load_config(start=folder)
        root, manifest = resolve_locations(config, start=folder)
        corpus = self._scan(root.resolve(), manifest.resolve())
        settings = config.settings.lint
        validate(settings)
        return corpus, settings, self._cache(corpus, config, settings)

    def warm_up(self, folder: Path) -> None:
        """Everything the first edit would otherwise wait for: spaCy, its lookup tables, the
        matchers of the workspace's manifest, the corpus scan and the lint cache.

        A story opened from a warm lint cache is linted without spaCy, so without this the first
        keystroke after opening it paid for all of that (2-3 s). An unusable workspace (no
        corpus, a broken manifest) is left for the first lint to report.
        """
        from toolkit.lint.lexicon import build_lexicon
        from toolkit.lint.nlp import language, matchers
        from toolkit.lint.spelling import speller

        language()
        speller()
        try:
            corpus, settings, cache = self._workspace(folder)
            lint_corpus(corpus, settings, cache=cache)
            # The first edit changes the corpus, so DU001 compares the buffer with every text:
            # read them now (a rescan keeps what was read).
            for text in corpus.texts():
                text.text  # noqa: B018  (the cached property reads the file)
        except (AmygdalaError, OSError):
            return
        matchers(build_lexicon(corpus.manifest).phrases)

    def write_next(self, folder: Path) -> tuple[Path, WriteNext] | None:
        """The workspace corpus's manifest and its "what to write next" summary (texts as on disk);
        None when ``folder`` holds no usable corpus."""
        try:
            corpus, settings, cache = self._workspace(folder)
            result = lint_corpus(corpus, settings.model_copy(update={"select": ["CV001"]}), cache=cache)
        except (AmygdalaError, OSError):
            return None
        return (corpus.manifest_path, result.write_next) if result.write_next is not None else None

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
        return Linted(corpus=corpus, text=text, findings=mine, settings=settings)

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
    # The explanation is Markdown already (`code`, lists, indented examples): shown as it is, not fenced.
    return f"**{rule.code} {rule.name}** ({rule.severity})\n\n{rule.summary}\n\n{rule.explanation.rstrip()}"


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


@server.feature(types.INITIALIZE)
def _initialize(ls: AmygdalaServer, params: types.InitializeParams) -> None:
    # Answered once the NLP is loaded: the writer's first keystroke must not wait for it.
    root = ls.workspace.root_path
    ls.linter.warm_up(Path(root) if root else Path.cwd())


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
def _code_actions(ls: AmygdalaServer, params: types.CodeActionParams) -> list[types.CodeAction | types.Command]:
    linted = ls.last.get(params.text_document.uri)
    if linted is None:
        return []
    actions: list[types.CodeAction | types.Command] = []
    for diagnostic in params.context.diagnostics:
        if diagnostic.source != SOURCE:
            continue
        action: types.CodeAction | types.Command | None = None
        if diagnostic.code == "ST006":
            action = _rename_action(linted, diagnostic)
        elif diagnostic.code == "AN002":
            action = _anchor_action(ls, linted, diagnostic)
        elif diagnostic.code in ("KW001", "KW002"):
            action = _family_action(linted, diagnostic)
        elif diagnostic.code == "SP001":
            actions.extend(_spelling_actions(params.text_document.uri, diagnostic))
        if action is not None:
            actions.append(action)
    return actions


_SUGGESTED = re.compile(r"did you mean (.+)\?")


def _spelling_actions(uri: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
    """SP001: replace the word with each suggestion its message names."""
    match = _SUGGESTED.search(diagnostic.message)
    if match is None:
        return []
    words = re.findall(r"'([^']+)'", match.group(1))
    return [
        types.CodeAction(
            title=f"Change to '{word}'",
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic],
            is_preferred=i == 0,
            edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(range=diagnostic.range, new_text=word)]}),
        )
        for i, word in enumerate(words)
    ]


SHOW_FAMILY = "amygdala.showFamily"


def _family_action(linted: Linted, diagnostic: types.Diagnostic) -> types.Command | None:
    """KW001 and KW002 have no mechanical fix (the sentence must be rewritten): the action (a bare
    command, as clients parse it most reliably) says which words the text must avoid and how the
    rule wants it shown."""
    concept = linted.text.concept
    if concept is None or concept not in linted.corpus.manifest.concepts:
        return None
    return types.Command(
        title=f"Show the words a {concept} text avoids, and how to show the emotion instead",
        command=SHOW_FAMILY,
        arguments=[concept, str(diagnostic.code)],
    )


def family_message(linted_corpus: Corpus, concept: str, code: str) -> str:
    """What the KW001/KW002 action shows: the concept's keyword family and the rule's good example."""
    keywords = linted_corpus.manifest.concepts[concept].keywords
    rule = BY_CODE.get(code) or BY_CODE["KW001"]
    good = rule.explanation.rsplit("Good", 1)[-1].strip(" :`\n")
    good = " ".join(line.strip() for line in good.splitlines() if line.strip())
    return f"{concept}: avoid {', '.join(keywords)} (and their forms). Show it, e.g.: {good}"


@server.command(SHOW_FAMILY)
def _show_family(ls: AmygdalaServer, concept: str, code: str) -> None:
    linted = next((l for l in ls.last.values() if concept in l.corpus.manifest.concepts), None)
    if linted is None:
        return
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=family_message(linted.corpus, concept, code)))


@server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
def _inlay_hints(ls: AmygdalaServer, params: types.InlayHintParams) -> list[types.InlayHint]:
    """The live word count at the end of the text: "87 words (stories 40–120)"."""
    linted = ls.last.get(params.text_document.uri)
    if linted is None:
        return []
    body = ls.workspace.get_text_document(params.text_document.uri).source
    lines = body.rstrip("\n").split("\n")
    end = types.Position(len(lines) - 1, _utf16(lines[-1], len(lines[-1]) + 1))
    return [types.InlayHint(position=end, label=f" {length_hint(linted, body)}", padding_left=True)]


def write_next_diagnostics(summary: WriteNext, listed: int = 6) -> list[types.Diagnostic]:
    """One Information diagnostic per cluster still missing concepts, on the manifest's first line."""
    out = []
    for c in summary.clusters:
        if not c.missing:
            continue
        names = ", ".join(c.missing[:listed]) + (f" and {len(c.missing) - listed} more" if len(c.missing) > listed else "")
        out.append(
            types.Diagnostic(
                range=types.Range(types.Position(0, 0), types.Position(0, 1)),
                message=f"write next in {c.cluster} ({c.with_text}/{c.concepts} concepts have a text): {names}",
                severity=types.DiagnosticSeverity.Information,
                code="CV001",
                source=SOURCE,
            )
        )
    return out


def _summary(ls: AmygdalaServer) -> tuple[str, list[types.Diagnostic]] | None:
    root = ls.workspace.root_path
    found = ls.linter.write_next(Path(root) if root else Path.cwd())
    if found is None:
        return None
    manifest, summary = found
    return from_fs_path(str(manifest)) or "", write_next_diagnostics(summary)


@server.feature(
    types.TEXT_DOCUMENT_DIAGNOSTIC,
    types.DiagnosticOptions(identifier=SOURCE, inter_file_dependencies=True, workspace_diagnostics=True),
)
def _document_diagnostic(ls: AmygdalaServer, params: types.DocumentDiagnosticParams) -> types.RelatedFullDocumentDiagnosticReport:
    # A text's own findings are pushed as it is edited; pulled reports carry only the corpus-wide
    # "what to write next", on the manifest, so a client that pulls shows nothing twice.
    summary = _summary(ls)
    items = summary[1] if summary is not None and summary[0] == params.text_document.uri else []
    return types.RelatedFullDocumentDiagnosticReport(items=items)


@server.feature(types.WORKSPACE_DIAGNOSTIC)
def _workspace_diagnostic(ls: AmygdalaServer, params: types.WorkspaceDiagnosticParams) -> types.WorkspaceDiagnosticReport:
    """What to write next, as workspace diagnostics on the manifest (one per cluster with concepts to write)."""
    summary = _summary(ls)
    if summary is None:
        return types.WorkspaceDiagnosticReport(items=[])
    uri, items = summary
    return types.WorkspaceDiagnosticReport(items=[types.WorkspaceFullDocumentDiagnosticReport(uri=uri, items=items, version=None)])


def serve() -> None:
    """Serve over stdin/stdout until the client exits."""
    server.start_io()
